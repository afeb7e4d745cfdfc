"""The starter adapter: teaches the base model short, cited answers and honest refusals.

Built by scripts/build_starter.py from SQuAD articles; its version.json says how.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

STARTER_DIR = Path(str(resources.files("gptchat.model.starter")))
# squad-dev articles the starter never trains on: benchmarks measure on them.
HELD_OUT_ARTICLES = (
    "apollo-program.md",
    "computational-complexity-theory.md",
    "fresno-california.md",
    "intergovernmental-panel-on-climate-change.md",
    "newcastle-upon-tyne.md",
    "pharmacy.md",
    "scottish-parliament.md",
    "yuan-dynasty.md",
)


def shipped(folder: Path) -> bool:
    """Whether this install ships the weights of the starter adapter in `folder`."""
    return (folder / "adapter_model.safetensors").is_file()


def starter_available() -> bool:
    """Whether this install ships the default model's starter adapter."""
    return shipped(STARTER_DIR)


def starter_provenance(folder: Path = STARTER_DIR) -> dict | None:
    """A starter's version.json (how it was made, and its scores), if it is installed."""
    if not shipped(folder):
        return None
    return json.loads((folder / "version.json").read_text())
