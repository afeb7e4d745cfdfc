"""Which model answers: the base model, or a fine-tuned version with its chain of parents."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from gptchat.errors import BadInput
from gptchat.log.store import AppStore, ModelVersion
from gptchat.model.provision import DEFAULT_MODEL, check_adapter_dir, check_model_dir
from gptchat.model.starter import STARTER_DIR, starter_available
from gptchat.workspace import Workspace

DEFAULT_BASE = "default"  # base_model of versions trained on the provisioned default model
STARTER_BASE = "starter"  # base_model of versions trained on the default model + the starter
STARTER_STATE = "starter"  # app_state key: "off" once `models use base` turned it off
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelChoice:
    """A base model folder (None: the default model) and LoRA adapters to merge, in order."""

    base: Path | None
    adapters: tuple[Path, ...] = ()
    version: int | None = None
    starter: bool = False  # the shipped starter adapter is the first of `adapters`

    @property
    def name(self) -> str:
        """How logs and the app name it: `SmolLM2-135M-Instruct+starter@v2`."""
        name = DEFAULT_MODEL if self.base is None else self.base.name
        name = f"{name}+starter" if self.starter else name
        return name if self.version is None else f"{name}@v{self.version}"

    @property
    def root(self) -> str:
        """What a version trained from this choice records as its base_model."""
        if self.base is not None:
            return str(self.base)
        return STARTER_BASE if self.starter else DEFAULT_BASE


def default_choice(starter: bool = True) -> ModelChoice:
    """The default model, with the starter adapter on top when asked and installed."""
    if starter and starter_available():
        return ModelChoice(None, (STARTER_DIR,), starter=True)
    return ModelChoice(None)


def root_choice(store: AppStore) -> ModelChoice:
    """What answers with no version active: the default model and, unless turned off, the
    starter adapter."""
    return default_choice(store.state(STARTER_STATE) != "off")


def version_dir(workspace: Workspace, version: int) -> Path:
    return workspace.models_dir / f"v{version}"


def version_target(text: str) -> int | str | None:
    """What `models use` and `/model` name: 2 for "2" or "v2", "starter", "base"; None for
    anything else (digits in ASCII only: a superscript two or an Arabic-Indic one is no version)."""
    if text in ("base", "starter"):
        return text
    number = text.removeprefix("v")
    return int(number) if re.fullmatch(r"[0-9]{1,18}", number) else None


def first_free_version(workspace: Workspace) -> int:
    """The lowest version number above every `models/vN` on disk, folder, file or link."""
    taken = [
        int(match.group(1))
        for path in (workspace.models_dir.iterdir() if workspace.models_dir.is_dir() else [])
        if (match := re.fullmatch(r"v([0-9]+)", path.name))
    ]
    return max(taken, default=0) + 1


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
    """How to load `version` (None: the root, the default model with or without starter)."""
    if version is None:
        return root_choice(store)
    chain = version_chain(store, version)
    root = chain[0].base_model
    starter = root == STARTER_BASE
    if starter and not starter_available():
        raise BadInput(f"v{version.id} was trained on the starter adapter, which is not installed")
    base = None if root in (DEFAULT_BASE, STARTER_BASE) else Path(root)
    adapters: list[Path] = [STARTER_DIR] if starter else []
    for step in chain:
        folder = version_dir(workspace, step.id)
        if step.method == "full":
            base, adapters = folder / "model", []
        else:
            adapters.append(folder / "adapter")
    return ModelChoice(base, tuple(adapters), version.id, starter)


def active_choice(workspace: Workspace, store: AppStore | None = None) -> ModelChoice:
    """The workspace's active version, or the root when none is active.

    A version whose files are damaged is passed over for its parent, with a warning: the
    user still gets answers, and `models use` or `models rollback` can settle it.
    """
    if store is None:
        if not workspace.app_db_path.exists():
            return default_choice()
        with AppStore(workspace.app_db_path) as opened:
            return active_choice(workspace, opened)
    version = store.active_model_version()
    while version is not None:
        try:
            return checked(choice_for(workspace, store, version))
        except BadInput as exc:
            parent = store.model_version(version.parent) if version.parent else None
            instead = f"v{parent.id}" if parent else "the model it was trained from"
            log.warning("v%d cannot be loaded (%s); answering with %s", version.id, exc, instead)
            version = parent
    return root_choice(store)


def checked(choice: ModelChoice) -> ModelChoice:
    """`choice` if every folder it loads is whole, else a one-line BadInput."""

    if choice.base is not None:
        check_model_dir(choice.base)
    for adapter in choice.adapters:
        check_adapter_dir(adapter)
    return choice


def use_model_version(
    workspace: Workspace, target: int | str, store: AppStore | None = None
) -> str:
    """Make a version, "starter" or "base" the one that answers; says what changed."""
    if store is None:
        with AppStore(workspace.app_db_path) as opened:
            return use_model_version(workspace, target, opened)
    if target == "base":
        store.activate_model_version(None)
        store.set_state(STARTER_STATE, "off")
        return "The base model answers now (no starter adapter)."
    if target == "starter":
        if not starter_available():
            raise BadInput("this install has no starter adapter (see scripts/build_starter.py)")
        store.activate_model_version(None)
        store.set_state(STARTER_STATE, "on")
        return "The starter answers now."
    assert isinstance(target, int)
    chosen = store.model_version(target)
    if chosen is None:
        raise BadInput(f"no model version {target} (see `gptchat models`)")
    # Every folder of the chain is checked before switching: a broken version is refused.
    checked(choice_for(workspace, store, chosen))
    store.activate_model_version(target)
    return f"v{target} answers now."


def rollback_model_version(workspace: Workspace) -> str:
    """Activate the parent of the active version (its root, starter or base, for a first)."""
    with AppStore(workspace.app_db_path) as store:
        active = store.active_model_version()
    if active is None:
        raise BadInput(
            "no fine-tuned version is answering; nothing to roll back"
            " (`gptchat models use base` turns the starter off)"
        )
    if active.parent is not None:
        return use_model_version(workspace, active.parent)
    return use_model_version(workspace, "starter" if active.base_model == STARTER_BASE else "base")
