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
from gptchat.ingest.loaders.text import decode_text, load_markdown, load_plain, load_rst

# A text loader reads the decoded text; a binary one the bytes, and returns LoadedText when it
# read only part of the file.
TextLoader = Callable[[str], list[Block]]
BinaryLoader = Callable[[bytes], list[Block] | LoadedText]

# Text formats are decoded once, in load_document, which says so when they are not UTF.
_TEXT_BY_SUFFIX: dict[str, tuple[str, TextLoader]] = {
    ".md": ("markdown", load_markdown),
    ".markdown": ("markdown", load_markdown),
    ".mdx": ("markdown", load_markdown),
    ".rst": ("rst", load_rst),
    ".txt": ("text", load_plain),
    ".text": ("text", load_plain),
    ".html": ("html", load_html),
    ".htm": ("html", load_html),
    ".xhtml": ("html", load_html),
}
_BINARY_BY_SUFFIX: dict[str, tuple[str, BinaryLoader]] = {
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


def document_kind(path: Path) -> str | None:
    """The kind of document `path` holds, or None when gptchat does not read it."""
    suffix = path.suffix.lower()
    if suffix in _TEXT_BY_SUFFIX:
        return _TEXT_BY_SUFFIX[suffix][0]
    if suffix in _BINARY_BY_SUFFIX:
        return _BINARY_BY_SUFFIX[suffix][0]
    if suffix in _CODE_SUFFIXES or path.name in _CODE_NAMES:
        return "code"
    return None


def load_document(path: Path, data: bytes) -> Document:
    """Parse `data` (the bytes of `path`); raises UnreadableDocument with the reason.

    Escape sequences and control characters are dropped from every format (HTML entities and
    DOCX runs can carry them too): documents are data, never commands to a terminal.
    """
    suffix = path.suffix.lower()
    if suffix in _BINARY_BY_SUFFIX:
        kind, read_bytes = _BINARY_BY_SUFFIX[suffix]
        loaded = read_bytes(data)
        if not isinstance(loaded, LoadedText):
            loaded = LoadedText(loaded)
    else:
        kind, read_text = _TEXT_BY_SUFFIX.get(suffix, ("code", load_plain))
        decoded = decode_text(data)
        loaded = LoadedText(read_text(decoded.text))
        if not decoded.encoding.startswith("utf"):
            loaded.problems.append(f"read as {decoded.encoding} (not UTF-8)")
    blocks = []
    for block in loaded.blocks:
        text = strip_controls(block.text)
        if text.strip():
            blocks.append(dataclasses.replace(block, text=text) if text != block.text else block)
    return Document(path=path, kind=kind, blocks=blocks, problems=loaded.problems)
