"""Find the files under a folder that gptchat should index, and say why others are skipped."""

from __future__ import annotations

import errno
import os
import stat as stat_mode
from dataclasses import dataclass, field
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


@dataclass
class Walk:
    """What one walk under a root found."""

    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    # Folders that could not be listed and files that could not be looked at, with the reason:
    # what the index holds of them is unknown, not gone, so it must stay.
    unread: dict[Path, str] = field(default_factory=dict)
    # The root folder held no entry at all, hidden ones included: what an unmounted drive's
    # mount point looks like.
    root_is_bare: bool = False

    def unread_place(self, path: Path) -> Path | None:
        """The unread folder (or file) that hides `path`, if any: only a path the walk could
        have seen and did not is gone."""
        return next((place for place in self.unread if path.is_relative_to(place)), None)

    def skip_unread(self, place: Path, reason: str) -> None:
        self.skipped.append(Skipped(str(place), reason))
        self.unread[place] = reason


UNSUPPORTED = "unsupported file type"


def discover(root: Path, max_bytes: int) -> Walk:
    """Files under `root` (a resolved folder or file) to index, those skipped with reasons,
    and the places that could not be read.

    Hidden files and folders and `.gptchatignore` matches are left out without a word, like git;
    symlinks are followed only while they stay inside `root`.
    """
    walk = Walk()
    candidates, skipped = walk.candidates, walk.skipped
    if not os.path.lexists(root):
        return walk  # whether its folder was read, and so whether it is gone, is the caller's
    if os.path.isfile(root):  # never raises, also under an unreadable parent
        try:
            stat = root.stat()
        except OSError as exc:
            walk.skip_unread(root, f"cannot read ({exc.strerror})")
            return walk
        _consider(root, stat, max_bytes, candidates, skipped)
        return walk
    try:
        ignore = _ignore_spec(root)
    except OSError as exc:
        # Without its ignore rules, reading the folder could index what it means to leave out.
        walk.skip_unread(root, f"cannot read its {IGNORE_FILE} ({exc.strerror})")
        return walk
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            walk.skip_unread(folder, f"unreadable folder ({exc.strerror})")
            continue
        if folder == root and not entries:
            walk.root_is_bare = True
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
                walk.skip_unread(path, f"cannot read ({exc.strerror})")
                continue
            _consider(path, stat, max_bytes, candidates, skipped)
        stack.extend(reversed(subfolders))
    return walk


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
