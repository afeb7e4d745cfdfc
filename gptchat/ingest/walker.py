"""Find the files under a folder that gptchat should index, and say why others are skipped."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pathspec

from gptchat.ingest.loaders import document_kind

IGNORE_FILE = ".gptchatignore"


@dataclass(frozen=True)
class Candidate:
    """A file to index, as found on disk."""

    path: Path
    kind: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Skipped:
    """A file left out, and why."""

    path: str
    reason: str


UNSUPPORTED = "unsupported file type"


def discover(root: Path, max_bytes: int) -> tuple[list[Candidate], list[Skipped]]:
    """Files under `root` (a resolved folder or file) to index, and those skipped with reasons.

    Hidden files and folders and `.gptchatignore` matches are left out without a word, like git;
    symlinks are followed only while they stay inside `root`.
    """
    candidates: list[Candidate] = []
    skipped: list[Skipped] = []
    if root.is_file():
        _consider(root, root.stat(), max_bytes, candidates, skipped)
        return candidates, skipped
    ignore = _ignore_spec(root)
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            skipped.append(Skipped(str(folder), f"unreadable folder ({exc.strerror})"))
            continue
        subfolders: list[Path] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            relative = path.relative_to(root).as_posix()
            is_dir = entry.is_dir(follow_symlinks=False)
            if ignore and ignore.match_file(relative + ("/" if is_dir else "")):
                continue
            if entry.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(root):
                    skipped.append(Skipped(str(path), "symlink leads outside the indexed folder"))
                    continue
                if target.is_dir():
                    skipped.append(Skipped(str(path), "symlink to a folder indexed at its target"))
                    continue
            if is_dir:
                subfolders.append(path)
                continue
            try:
                stat = path.stat()
            except OSError as exc:
                skipped.append(Skipped(str(path), f"cannot read ({exc.strerror})"))
                continue
            _consider(path, stat, max_bytes, candidates, skipped)
        stack.extend(reversed(subfolders))
    return candidates, skipped


def _consider(
    path: Path,
    stat: os.stat_result,
    max_bytes: int,
    candidates: list[Candidate],
    skipped: list[Skipped],
) -> None:
    kind = document_kind(path)
    if kind is None:
        skipped.append(Skipped(str(path), UNSUPPORTED))
    elif stat.st_size > max_bytes:
        limit_mb = max_bytes / 1_000_000
        skipped.append(Skipped(str(path), f"larger than the {limit_mb:g} MB limit"))
    else:
        candidates.append(Candidate(path, kind, stat.st_size, stat.st_mtime_ns))


def _ignore_spec(root: Path) -> pathspec.PathSpec | None:
    ignore_file = root / IGNORE_FILE
    if not ignore_file.is_file():
        return None
    return pathspec.GitIgnoreSpec.from_lines(ignore_file.read_text(errors="replace").splitlines())
