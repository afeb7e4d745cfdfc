"""Translating a whole text or Markdown file block by block: the structure, code and tables
stay as they are, headings, list items, quotes and paragraphs are translated."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from gptchat.answer.attribution import split_sentences
from gptchat.answer.translate import Translator
from gptchat.errors import BadInput
from gptchat.ingest.documents import UnreadableDocument
from gptchat.ingest.loaders import load_document
from gptchat.ingest.loaders.text import decode_text
from gptchat.language.languages import Language
from gptchat.progress import NO_PROGRESS, Progress

# Read as they are, Markdown and all; other formats are read as the index reads them.
_RAW_SUFFIXES = {".md", ".markdown", ".mdx", ".txt", ".text", ".rst", ""}

_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_HEADING = re.compile(r"^(#{1,6}\s+)(.*)$")
_ITEM = re.compile(r"^(\s*(?:[-*+]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?)(.*)$")
_QUOTE = re.compile(r"^(\s*>\s?)(.*)$")
# Kept verbatim: table rows, rules, HTML lines, and link definitions.
_KEPT_LINE = re.compile(r"^\s*(\||<|(?:[-*_]\s*){3,}$|\[[^\]]+\]:\s)")
_INDENTED_CODE = re.compile(r"^( {4}|\t)")
MAX_PIECE_TOKENS = 300  # a longer paragraph is translated a few sentences at a time


@dataclass(frozen=True)
class Block:
    """A run of lines: Markdown to keep (`text` is None) or text to translate after `prefix`."""

    lines: tuple[str, ...]
    prefix: str = ""
    text: str | None = None

    @property
    def translated(self) -> bool:
        return self.text is not None


def markdown_blocks(document: str) -> list[Block]:
    """`document` cut into blocks that, rendered in order one per line, give it back."""
    lines = document.split("\n")
    blocks: list[Block] = []
    i = 0
    if lines and lines[0].strip() == "---":  # front matter: metadata, kept
        end = next((j for j in range(1, len(lines)) if lines[j].strip() == "---"), None)
        if end is not None:
            blocks.append(Block(tuple(lines[: end + 1])))
            i = end + 1
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            end = next(
                (j for j in range(i + 1, len(lines)) if lines[j].lstrip().startswith(fence[1])),
                len(lines) - 1,
            )
            blocks.append(Block(tuple(lines[i : end + 1])))
            i = end + 1
            continue
        if not line.strip() or _KEPT_LINE.match(line) or _INDENTED_CODE.match(line):
            blocks.append(Block((line,)))
            i += 1
            continue
        heading = _HEADING.match(line)
        if heading:
            blocks.append(Block((line,), heading[1], heading[2]))
            i += 1
            continue
        for pattern in (_ITEM, _QUOTE):
            start = pattern.match(line)
            if start:
                end = (
                    _quote_end(lines, i + 1) if pattern is _QUOTE else _paragraph_end(lines, i + 1)
                )
                joined = " ".join([start[2], *(_unquoted(part) for part in lines[i + 1 : end])])
                blocks.append(Block(tuple(lines[i:end]), start[1], joined))
                i = end
                break
        else:
            end = _paragraph_end(lines, i + 1)
            text = " ".join(part.strip() for part in lines[i:end])
            blocks.append(Block(tuple(lines[i:end]), "", text))
            i = end
    return blocks


def _one_line(tokens: Iterator[str], after_text: bool) -> Iterator[str]:
    """A translation's tokens kept on one line (a block is one line), leading space dropped;
    a space first when it follows the translation of the piece before."""
    started = False
    for token in tokens:
        token = token.replace("\n", " ")
        if not started:
            token = token.lstrip()
            if not token:
                continue
            started = True
            if after_text:
                token = f" {token}"
        yield token


def _quote_end(lines: list[str], start: int) -> int:
    """The first line from `start` that does not go on with the quote before it."""
    end = start
    while end < len(lines) and _QUOTE.match(lines[end]) and lines[end].strip(" >"):
        end += 1
    return end


def _unquoted(line: str) -> str:
    """A continuation line's text, without a quote's `>`."""
    quoted = _QUOTE.match(line)
    return (quoted[2] if quoted else line).strip()


def _paragraph_end(lines: list[str], start: int) -> int:
    """The first line from `start` that does not continue the paragraph before it."""
    end = start
    while end < len(lines):
        line = lines[end]
        if (
            not line.strip()
            or _FENCE.match(line)
            or _HEADING.match(line)
            or _ITEM.match(line)
            or _QUOTE.match(line)
            or _KEPT_LINE.match(line)
        ):
            return end
        end += 1
    return end


class DocumentTranslator:
    """Streams the translation of a document: kept blocks as they are, the rest translated
    (a paragraph at a time, a long one a few sentences at a time)."""

    def __init__(self, translator: Translator) -> None:
        self.translator = translator

    def stream(
        self,
        document: str,
        target: Language,
        source: Language | None = None,
        cancel: threading.Event | None = None,
        progress: Progress = NO_PROGRESS,
    ) -> Iterator[str]:
        """The translated document, piece by piece; `progress` hears of each block."""
        cancel = cancel or threading.Event()
        blocks = markdown_blocks(document)
        progress.start(sum(block.translated for block in blocks), "Translating", "blocks")
        for number, block in enumerate(blocks):
            if cancel.is_set():
                return
            if number:
                yield "\n"
            if block.text is None:
                yield "\n".join(block.lines)
                continue
            yield block.prefix
            for n, piece in enumerate(self._pieces(block.text)):
                yield from _one_line(self.translator.stream(piece, target, source, cancel), n > 0)
            progress.advance()

    def _pieces(self, text: str) -> list[str]:
        """`text` in pieces of whole sentences short enough to translate in one prompt."""
        count = self.translator.generator.count_tokens
        if count(text) <= MAX_PIECE_TOKENS:
            return [text]
        pieces: list[str] = []
        for sentence in split_sentences(text):
            if pieces and count(f"{pieces[-1]} {sentence}") <= MAX_PIECE_TOKENS:
                pieces[-1] = f"{pieces[-1]} {sentence}"
            else:
                pieces.append(sentence)
        return pieces


def translated_points(
    points: Iterable[str],
    translator: DocumentTranslator,
    target: Language,
    cancel: threading.Event | None = None,
) -> Iterator[str]:
    """Each piece of `points` (a summary's, as it streams) translated as soon as it arrives."""
    for point in points:
        yield from translator.stream(point, target, cancel=cancel)


def readable_text(path: Path) -> str:
    """The text of the file at `path` to translate: Markdown and plain text as written, other
    formats (PDF, DOCX, HTML) as the index reads them; BadInput with the reason otherwise."""
    if path.is_dir():
        raise BadInput(f"{path} is a folder; translate one file at a time")
    if not path.is_file():
        raise BadInput(f"{path} is not a regular file")
    try:
        data = path.read_bytes()
        if path.suffix.lower() in _RAW_SUFFIXES:
            return decode_text(data).text
        document = load_document(path, data)
    except UnreadableDocument as exc:
        raise BadInput(f"{path}: cannot read it: {exc}") from exc
    except OSError as exc:
        raise BadInput(f"{path}: cannot read it: {exc.strerror or exc}") from exc
    return "\n\n".join(block.text for block in document.blocks)
