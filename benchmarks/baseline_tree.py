"""The code of another commit, checked out beside this one for a before/after in one run."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def code_at(revision: str, tree: Path) -> Iterator[Path]:
    """Work in a checkout of `revision` at `tree`: `python -m gptchat` run from there imports
    that code (the installed packages are shared); removed afterwards."""
    git = ["git", "-C", str(REPO), "worktree"]
    subprocess.run([*git, "add", "-q", str(tree), revision], check=True)
    here = Path.cwd()
    try:
        os.chdir(tree)
        yield tree
    finally:
        os.chdir(here)
        subprocess.run([*git, "remove", "--force", str(tree)], check=False)
