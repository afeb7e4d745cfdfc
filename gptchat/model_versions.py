"""Which model answers: the base model, or a fine-tuned version with its chain of parents."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gptchat.app_store import AppStore, ModelVersion
from gptchat.errors import BadInput
from gptchat.workspace import Workspace

DEFAULT_BASE = "default"  # base_model of versions trained on the provisioned default model


@dataclass(frozen=True)
class ModelChoice:
    """A base model folder (None: the default model) and LoRA adapters to merge, in order."""

    base: Path | None
    adapters: tuple[Path, ...] = ()
    version: int | None = None

    def name(self, base_name: str) -> str:
        return base_name if self.version is None else f"{base_name}@v{self.version}"


def version_dir(workspace: Workspace, version: int) -> Path:
    return workspace.models_dir / f"v{version}"


def version_chain(store: AppStore, version: ModelVersion) -> list[ModelVersion]:
    """`version` and the versions it was trained from, oldest first."""
    chain = [version]
    while chain[0].parent is not None:
        parent = store.model_version(chain[0].parent)
        if parent is None:
            raise BadInput(
                f"model version v{chain[0].id} names a missing parent v{chain[0].parent}"
            )
        chain.insert(0, parent)
    return chain


def choice_for(workspace: Workspace, store: AppStore, version: ModelVersion | None) -> ModelChoice:
    """How to load `version` (None: the base model)."""
    if version is None:
        return ModelChoice(None)
    chain = version_chain(store, version)
    root = chain[0].base_model
    base = None if root == DEFAULT_BASE else Path(root)
    adapters: list[Path] = []
    for step in chain:
        folder = version_dir(workspace, step.id)
        if step.method == "full":
            base, adapters = folder / "model", []
        else:
            adapters.append(folder / "adapter")
    return ModelChoice(base, tuple(adapters), version.id)


def active_choice(workspace: Workspace) -> ModelChoice:
    """The workspace's active version, or the base model when none is active."""
    if not workspace.app_db_path.exists():
        return ModelChoice(None)
    store = AppStore(workspace.app_db_path)
    try:
        return choice_for(workspace, store, store.active_model_version())
    finally:
        store.close()
