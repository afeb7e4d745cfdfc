"""Temporary files and folders named after their process, so a killed run's can be removed."""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

log = logging.getLogger(__name__)


def scratch_prefix(kind: str) -> str:
    """The name prefix for this process's temporary `kind` files: `.kind-PID-`."""
    return f".{kind}-{os.getpid()}-"


def remove_leftovers(folder: Path, kind: str) -> list[Path]:
    """Delete the `.kind-*` files and folders in `folder` that no running process owns."""
    removed: list[Path] = []
    pattern = re.compile(rf"^\.{re.escape(kind)}-(?:(\d+)-)?")
    for path in folder.glob(f".{kind}-*") if folder.is_dir() else []:
        match = pattern.match(path.name)
        pid = int(match.group(1)) if match and match.group(1) else None
        if pid is not None and process_running(pid):
            continue  # another run is writing it right now
        try:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        except OSError as exc:
            log.warning("cannot remove the leftover %s (%s)", path, exc.strerror or exc)
            continue
        removed.append(path)
    return removed


def process_running(pid: int) -> bool:
    """Whether a process with this id is alive (ours or another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, and someone else's
        return True
    return True
