"""Where a workspace's indexes, database and models live."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from gptchat.errors import BadInput

HOME_ENV = "GPTCHAT_HOME"
CACHE_ENV = "GPTCHAT_CACHE_DIR"
DEFAULT_INDEX = "default"
INDEX_DB = "index.db"  # the file that makes a folder under indexes/ an index
# Passages shown to the model: three fit a short prompt and hold the answer for 9 in 10
# questions (BENCHMARKS.md); the starter model was trained on prompts of three.
DEFAULT_K = 3
_INDEX_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def workspace_home(explicit: Path | None = None) -> Path:
    """The workspace folder: --home, else $GPTCHAT_HOME, else the current directory."""
    if explicit is not None:
        return explicit.expanduser().resolve()
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return Path.cwd().resolve()


def check_index_name(name: str) -> str:
    """Return `name` if it is a usable index name, else raise BadInput."""
    if not _INDEX_NAME.match(name):
        raise BadInput(
            f"invalid index name {name!r}: "
            "use letters, digits, '-', '_' or '.', up to 64 characters"
        )
    return name


@dataclass(frozen=True)
class Workspace:
    """The folder layout of one workspace (see README, "Where data lives")."""

    root: Path

    @property
    def indexes_dir(self) -> Path:
        return self.root / "indexes"

    @property
    def app_db_path(self) -> Path:
        return self.root / "gptchat.db"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def eval_dir(self) -> Path:
        """Eval reports, one JSON file a run."""
        return self.root / "eval"

    @property
    def exports_dir(self) -> Path:
        """Conversations exported as Markdown."""
        return self.root / "exports"

    def index_dir(self, name: str) -> Path:
        return self.indexes_dir / check_index_name(name)

    def index_names(self) -> list[str]:
        """Names of the indexes that exist in this workspace, sorted."""
        if not self.indexes_dir.is_dir():
            return []
        return sorted(p.name for p in self.indexes_dir.iterdir() if (p / INDEX_DB).is_file())


def guide_path() -> Path:
    """The user guide shipped inside the package, indexed on first run."""
    return Path(str(resources.files("gptchat") / "guide"))


def cache_dir() -> Path:
    """Base models and their exports, shared by all workspaces: $GPTCHAT_CACHE_DIR, else the
    user cache dir."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("gptchat"))
