"""What loaders produce and the chunker consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Block:
    """A run of text from a document: a paragraph, a code block, a heading."""

    text: str
    line_start: int | None = None
    line_end: int | None = None
    page: int | None = None
    heading_level: int = 0  # 0 for body text, 1..6 for a heading of that level


@dataclass
class Document:
    """A loaded file: its kind and its text as blocks in reading order."""

    path: Path
    kind: str
    blocks: list[Block] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # parts left out: "page 3: reason"


@dataclass
class LoadedText:
    """What a loader read when it could read only part of a file: the blocks it has, and
    what it left out ("page 3: reason"). A loader that reads all or nothing returns blocks."""

    blocks: list[Block] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class UnreadableDocument(Exception):
    """A file that cannot be turned into text; the message is the reason shown to the user."""
