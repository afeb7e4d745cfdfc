"""Structure-aware chunking: sections, then paragraphs, then sentences, then token windows."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from gptchat.errors import BadInput
from gptchat.ingest.documents import Block, Document

# Where a sentence may end: after . ! or ?, but not after "e.g." or "i.e.", which go on.
SENTENCE_STOP = r"(?<=[.!?])(?<!\be\.g\.)(?<!\bi\.e\.)"
_SENTENCE_END = re.compile(SENTENCE_STOP + r"\s+(?=\S)")
HEADING_SEPARATOR = " > "
# A chunk's characters are bounded as well as its tokens: the tokenizer reads any word over
# 100 characters as one [UNK], so a 2 MB run without spaces would count as a single token.
# Real text averages 4-5 characters a token; 8 leaves room for code and URLs.
MAX_CHARS_PER_TOKEN = 8


class TokenCounter(Protocol):
    """The embedder's tokenizer, as the chunker needs it."""

    def count(self, texts: list[str]) -> list[int]: ...

    def windows(self, text: str, max_tokens: int, overlap: int) -> list[str]: ...


@dataclass(frozen=True)
class ChunkOptions:
    """How documents are cut; stored in the index manifest."""

    max_tokens: int = 254  # all-MiniLM-L6-v2 reads 256 word pieces, two of them [CLS] and [SEP]
    overlap_tokens: int = 32

    def __post_init__(self) -> None:
        if not 0 <= self.overlap_tokens < self.max_tokens // 2:
            raise BadInput(
                f"overlap of {self.overlap_tokens} tokens must be under half the chunk size "
                f"({self.max_tokens})"
            )


@dataclass(frozen=True)
class Chunk:
    """A piece of a document small enough to embed whole, with where it came from."""

    text: str
    heading: str
    line_start: int | None
    line_end: int | None
    page: int | None
    token_count: int

    @property
    def embed_text(self) -> str:
        """What the embedder and the full-text index see: the heading trail, then the text."""
        return f"{self.heading}\n{self.text}" if self.heading else self.text

    @cached_property
    def text_hash(self) -> str:
        return hashlib.sha256(self.embed_text.encode()).hexdigest()


@dataclass(frozen=True)
class _Piece:
    text: str
    tokens: int
    line_start: int | None
    line_end: int | None


class Chunker:
    """Cuts a Document into Chunks of at most `settings.max_tokens` embedder tokens."""

    def __init__(self, counter: TokenCounter, settings: ChunkOptions) -> None:
        self.counter = counter
        self.settings = settings

    @property
    def max_chars(self) -> int:
        return self.settings.max_tokens * MAX_CHARS_PER_TOKEN

    def chunk(self, document: Document) -> list[Chunk]:
        """All chunks of `document`, in reading order."""
        chunks: list[Chunk] = []
        for heading, blocks in _sections(document.blocks):
            chunks.extend(self._chunk_section(heading, blocks))
        return chunks

    def _chunk_section(self, heading: str, blocks: list[Block]) -> list[Chunk]:
        heading, budget = self._fit_heading(heading)
        page = blocks[0].page
        pieces = self._pieces(blocks, budget)
        chunks: list[Chunk] = []
        current: list[_Piece] = []
        for piece in pieces:
            too_many_tokens = sum(p.tokens for p in current) + piece.tokens > budget
            too_long = sum(len(p.text) + 2 for p in current) + len(piece.text) > self.max_chars
            if current and (too_many_tokens or too_long):
                chunks.append(_join(current, heading, page, self._heading_tokens(heading)))
                room_chars = self.max_chars - len(piece.text) - 2
                current = self._overlap(current, budget - piece.tokens, room_chars)
            current.append(piece)
        if current:
            chunks.append(_join(current, heading, page, self._heading_tokens(heading)))
        return chunks

    def _overlap(self, previous: list[_Piece], room: int, room_chars: int) -> list[_Piece]:
        """Trailing pieces of the previous chunk to repeat, within the overlap and the room left."""
        limit = min(self.settings.overlap_tokens, room)
        char_limit = min(self.settings.overlap_tokens * MAX_CHARS_PER_TOKEN, room_chars)
        carried: list[_Piece] = []
        total = chars = 0
        for piece in reversed(previous):
            if total + piece.tokens > limit or chars + len(piece.text) > char_limit:
                break
            carried.insert(0, piece)
            total += piece.tokens
            chars += len(piece.text)
        return carried

    def _pieces(self, blocks: list[Block], budget: int) -> list[_Piece]:
        """Blocks as pieces that each fit the budget: whole, by sentences, or by token windows."""
        counts = self.counter.count([b.text for b in blocks])
        pieces: list[_Piece] = []
        for block, tokens in zip(blocks, counts, strict=True):
            if tokens <= budget and len(block.text) <= self.max_chars:
                pieces.append(_Piece(block.text, tokens, block.line_start, block.line_end))
            else:
                pieces.extend(self._split(block, budget))
        return pieces

    def _split(self, block: Block, budget: int) -> list[_Piece]:
        sentences = [s for s in _SENTENCE_END.split(block.text) if s.strip()]
        texts: list[str] = []
        for sentence, tokens in zip(sentences, self.counter.count(sentences), strict=True):
            if tokens <= budget:
                windows = [sentence]
            else:
                windows = self.counter.windows(sentence, budget, self.settings.overlap_tokens)
            for window in windows:
                texts.extend(_character_slices(window, self.max_chars))
        pieces: list[_Piece] = []
        cursor = 0
        for text, tokens in zip(texts, self.counter.count(texts), strict=True):
            # Each piece's lines follow from where its text sits in the block.
            found = block.text.find(text, cursor)
            start = found if found >= 0 else cursor
            cursor = max(cursor, start)
            pieces.append(
                _Piece(
                    text,
                    tokens,
                    _line_at(block, start),
                    _line_at(block, start + len(text.rstrip())),
                )
            )
        return pieces

    def _fit_heading(self, heading: str) -> tuple[str, int]:
        """The heading trail, shortened if needed, and the token budget it leaves for text."""
        quarter = self.settings.max_tokens // 4
        while self._heading_tokens(heading) > quarter and HEADING_SEPARATOR in heading:
            heading = heading.split(HEADING_SEPARATOR, 1)[1]
        if self._heading_tokens(heading) > quarter:
            heading = self.counter.windows(heading, quarter, 0)[0]
        return heading, self.settings.max_tokens - self._heading_tokens(heading)

    def _heading_tokens(self, heading: str) -> int:
        return self.counter.count([heading])[0] if heading else 0


def _sections(blocks: list[Block]) -> list[tuple[str, list[Block]]]:
    """Group body blocks under their heading trail; a new page also starts a new section."""
    sections: list[tuple[str, list[Block]]] = []
    trail: list[str] = []
    current: list[Block] = []

    def close() -> None:
        if current:
            sections.append((HEADING_SEPARATOR.join(trail), list(current)))
            current.clear()

    for block in blocks:
        if block.heading_level:
            close()
            trail = [*trail[: block.heading_level - 1], block.text.replace("\n", " ")]
        else:
            if current and block.page != current[-1].page:
                close()
            current.append(block)
    close()
    return sections


def _character_slices(text: str, max_chars: int) -> list[str]:
    """`text` cut into pieces of at most `max_chars`, at a space where one is near the end."""
    slices: list[str] = []
    while len(text) > max_chars:
        cut = text.rfind(" ", max_chars * 3 // 4, max_chars)
        cut = cut if cut > 0 else max_chars
        slices.append(text[:cut])
        text = text[cut:].lstrip(" ")
    if text:
        slices.append(text)
    return slices


def _line_at(block: Block, offset: int) -> int | None:
    if block.line_start is None:
        return None
    return block.line_start + block.text.count("\n", 0, offset)


def _join(pieces: list[_Piece], heading: str, page: int | None, heading_tokens: int) -> Chunk:
    starts = [p.line_start for p in pieces if p.line_start is not None]
    ends = [p.line_end for p in pieces if p.line_end is not None]
    return Chunk(
        text="\n\n".join(p.text for p in pieces),
        heading=heading,
        line_start=min(starts) if starts else None,
        line_end=max(ends) if ends else None,
        page=page,
        token_count=heading_tokens + sum(p.tokens for p in pieces),
    )
