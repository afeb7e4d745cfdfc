"""Find the files under a folder that gptchat should index, and say why others are skipped."""

from __future__ import annotations

import errno
import os
import stat as stat_mode
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
            if not _is_utf8_name(entry.name):
                # The index stores paths as text: such a name cannot be stored or shown.
                skipped.append(Skipped(_shown(path), "file name is not valid UTF-8 (rename it)"))
                continue
            relative = path.relative_to(root).as_posix()
            is_dir = entry.is_dir(follow_symlinks=False)
            if ignore and ignore.match_file(relative + ("/" if is_dir else "")):
                continue
            if entry.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except RuntimeError:  # Python < 3.13 raises this for a loop
                    skipped.append(Skipped(str(path), "symlink loop"))
                    continue
                except OSError as exc:
                    reason = "symlink loop" if exc.errno == errno.ELOOP else "broken symlink"
                    skipped.append(Skipped(str(path), reason))
                    continue
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
    elif not stat_mode.S_ISREG(stat.st_mode):
        # Reading a FIFO blocks forever and a device never ends: regular files only.
        skipped.append(Skipped(str(path), f"not a regular file ({special_kind(stat.st_mode)})"))
    elif stat.st_size > max_bytes:
        limit_mb = max_bytes / 1_000_000
        skipped.append(Skipped(str(path), f"larger than the {limit_mb:g} MB limit"))
    else:
        candidates.append(Candidate(path, kind, stat.st_size, stat.st_mtime_ns))


def special_kind(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    kinds = [
        (stat_mode.S_ISFIFO, "a named pipe"),
        (stat_mode.S_ISCHR, "a character device"),
        (stat_mode.S_ISBLK, "a block device"),
        (stat_mode.S_ISSOCK, "a socket"),
        (stat_mode.S_ISDIR, "a folder"),
    ]
    return next((name for test, name in kinds if test(mode)), "a special file")


def _is_utf8_name(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes arrive as surrogate escapes
        return False
    return True


def _shown(path: Path) -> str:
    """A path with undecodable bytes written as \\xNN, so it can be printed and stored."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _ignore_spec(root: Path) -> pathspec.PathSpec | None:
    ignore_file = root / IGNORE_FILE
    if not ignore_file.is_file():
        return None
    return pathspec.GitIgnoreSpec.from_lines(ignore_file.read_text(errors="replace").splitlines())
