"""Writing into the workspace without following a link planted there.

The workspace is often the current folder, so a downloaded folder can hold a link named like a
file or folder gptchat writes (`eval/run-1.json`, `exports/`, `gptchat.db`). Files are written
new beside their target and renamed over it, which replaces a link instead of writing through
it; folders and databases that are links are refused.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from gptchat.errors import BadInput
from gptchat.scratch import scratch_prefix


def refuse_link(path: Path) -> None:
    """BadInput if `path` is a symbolic link: gptchat would write wherever it leads."""
    if path.is_symlink():
        raise BadInput(
            f"{path} is a symbolic link; gptchat writes only inside its workspace and does "
            "not follow it (remove or rename the link)"
        )


def make_folder(root: Path, folder: Path) -> Path:
    """Create `folder` (at or below `root`) and the folders between, refusing any that is a
    link or not a folder; returns `folder`."""
    current = root
    for part in folder.relative_to(root).parts:
        current = current / part
        with contextlib.suppress(FileExistsError):  # the checks below see what is there
            current.mkdir()
        refuse_link(current)
        if not stat.S_ISDIR(current.lstat().st_mode):
            raise BadInput(f"{current} is in the way: gptchat needs a folder there")
    return folder


def write_replacing(path: Path, data: str | bytes) -> None:
    """Write `data` to a new file beside `path`, created exclusively (never through a link),
    flushed to disk, then renamed over `path`: a reader sees the old file or the new one."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=scratch_prefix("write"), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
