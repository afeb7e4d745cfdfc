"""Turn a file's bytes into a Document, choosing the loader by file name."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from gptchat.control_chars import strip_controls
from gptchat.ingest.documents import Block, Document, LoadedText
from gptchat.ingest.loaders.docx import load_docx
from gptchat.ingest.loaders.html import load_html
from gptchat.ingest.loaders.pdf import load_pdf
from gptchat.ingest.loaders.text import load_markdown, load_plain, load_rst, text_encoding

# A loader returns the file's blocks, or LoadedText when it read only part of the file.
Loader = Callable[[bytes], list[Block] | LoadedText]

_BY_SUFFIX: dict[str, tuple[str, Loader]] = {
    ".md": ("markdown", load_markdown),
    ".markdown": ("markdown", load_markdown),
    ".mdx": ("markdown", load_markdown),
    ".rst": ("rst", load_rst),
    ".txt": ("text", load_plain),
    ".text": ("text", load_plain),
    ".html": ("html", load_html),
    ".htm": ("html", load_html),
    ".xhtml": ("html", load_html),
    ".pdf": ("pdf", load_pdf),
    ".docx": ("docx", load_docx),
}

# Source code and configuration: indexed as plain text, split on blank lines.
_CODE_SUFFIXES = frozenset(
    [
        ".py",
        ".pyi",
        ".js",
        ".jsx",
        ".ts",
        ".tsx",
        ".mjs",
        ".cjs",
        ".java",
        ".kt",
        ".kts",
        ".scala",
        ".go",
        ".rs",
        ".c",
        ".h",
        ".cc",
        ".cpp",
        ".hpp",
        ".cxx",
        ".cs",
        ".swift",
        ".rb",
        ".php",
        ".pl",
        ".lua",
        ".r",
        ".jl",
        ".sh",
        ".bash",
        ".zsh",
        ".fish",
        ".ps1",
        ".sql",
        ".css",
        ".scss",
        ".vue",
        ".svelte",
        ".toml",
        ".yaml",
        ".yml",
        ".json",
        ".ini",
        ".cfg",
        ".conf",
        ".xml",
        ".csv",
        ".tsv",
        ".tex",
        ".org",
        ".adoc",
        ".proto",
        ".graphql",
        ".tf",
        ".gradle",
        ".cmake",
        ".dockerfile",
        ".el",
        ".ex",
        ".exs",
        ".erl",
        ".hs",
        ".ml",
        ".clj",
        ".dart",
        ".zig",
        ".nim",
    ]
)
_CODE_NAMES = frozenset(
    [
        "Makefile",
        "Dockerfile",
        "Containerfile",
        "Justfile",
        "Rakefile",
        "Gemfile",
        "Procfile",
        "CMakeLists.txt",
        "LICENSE",
        "README",
        "CHANGELOG",
    ]
)


# Kinds read through decode_text, whose encoding is worth a word when it is not UTF.
_TEXT_KINDS = frozenset(["markdown", "rst", "text", "html", "code"])


def document_kind(path: Path) -> str | None:
    """The kind of document `path` holds, or None when gptchat does not read it."""
    suffix = path.suffix.lower()
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix][0]
    if suffix in _CODE_SUFFIXES or path.name in _CODE_NAMES:
        return "code"
    return None


def load_document(path: Path, data: bytes) -> Document:
    """Parse `data` (the bytes of `path`); raises UnreadableDocument with the reason.

    Escape sequences and control characters are dropped from every format (HTML entities and
    DOCX runs can carry them too): documents are data, never commands to a terminal.
    """
    suffix = path.suffix.lower()
    kind, loader = _BY_SUFFIX.get(suffix, ("code", load_plain))
    loaded = loader(data)
    if not isinstance(loaded, LoadedText):
        loaded = LoadedText(loaded)
    if kind in _TEXT_KINDS and not data.isascii():
        encoding = text_encoding(data)
        if not encoding.startswith("utf"):
            loaded.problems.append(f"read as {encoding} (not UTF-8)")
    blocks = []
    for block in loaded.blocks:
        text = strip_controls(block.text)
        if text.strip():
            blocks.append(dataclasses.replace(block, text=text) if text != block.text else block)
    return Document(path=path, kind=kind, blocks=blocks, problems=loaded.problems)
