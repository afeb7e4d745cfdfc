"""Which model answers: the base model, or a fine-tuned version with its chain of parents."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from gptchat.errors import BadInput
from gptchat.log.store import AppStore, ModelVersion
from gptchat.model.catalog import DEFAULT_MODEL, CatalogModel, catalog_model, find_model
from gptchat.model.provision import check_adapter_dir, check_model_dir, is_pulled
from gptchat.workspace import Workspace

# The base_model a version records when it was trained on a catalog model (":NAME" follows
# for any but the default): "default" on the plain model, "starter" on it and its starter.
DEFAULT_BASE = "default"
STARTER_BASE = "starter"
STARTER_STATE = "starter"  # app_state key: "off" once `models use base` turned it off
GENERATOR_STATE = "generator"  # app_state key: the catalog model `models use NAME` chose
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelChoice:
    """A base model folder (None: the catalog model `generator`, fetched on first use) and
    LoRA adapters to merge, in order."""

    base: Path | None
    adapters: tuple[Path, ...] = ()
    version: int | None = None
    starter: bool = False  # the generator's shipped starter adapter is the first of `adapters`
    generator: str = DEFAULT_MODEL

    @property
    def name(self) -> str:
        """How logs and the app name it: `SmolLM2-135M-Instruct+starter@v2`."""
        name = self.generator if self.base is None else self.base.name
        name = f"{name}+starter" if self.starter else name
        return name if self.version is None else f"{name}@v{self.version}"

    @property
    def root(self) -> str:
        """What a version trained from this choice records as its base_model."""
        if self.base is not None:
            return str(self.base)
        kind = STARTER_BASE if self.starter else DEFAULT_BASE
        return kind if self.generator == DEFAULT_MODEL else f"{kind}:{self.generator}"


def default_choice(starter: bool = True, generator: str = DEFAULT_MODEL) -> ModelChoice:
    """The catalog model `generator`, with its starter adapter on top when asked and shipped."""
    model = catalog_model(generator)
    if starter and model.starter_available:
        return ModelChoice(None, (model.starter,), starter=True, generator=model.name)
    return ModelChoice(None, generator=model.name)


def active_generator(store: AppStore) -> str:
    """The catalog model chosen with `models use NAME` (the default until one is)."""
    chosen = store.state(GENERATOR_STATE)
    if chosen is None:
        return DEFAULT_MODEL
    model = find_model(chosen)
    if model is None:
        log.warning("the chosen model %r is not in the catalog; using %s", chosen, DEFAULT_MODEL)
        return DEFAULT_MODEL
    return model.name


def root_choice(store: AppStore) -> ModelChoice:
    """What answers with no version active: the chosen catalog model and, unless turned off,
    its starter adapter."""
    return default_choice(store.state(STARTER_STATE) != "off", active_generator(store))


def catalog_root(root: str) -> tuple[bool, str] | None:
    """(on the starter, catalog model) for a version's recorded base_model; None for a folder."""
    kind, _, generator = root.partition(":")
    model = find_model(generator or DEFAULT_MODEL)
    if kind not in (DEFAULT_BASE, STARTER_BASE) or model is None:
        return None
    return kind == STARTER_BASE, model.name


def version_dir(workspace: Workspace, version: int) -> Path:
    return workspace.models_dir / f"v{version}"


def version_target(text: str) -> int | str | None:
    """What `models use` and `/model` name: 2 for "2" or "v2", "starter", "base", or a catalog
    model's name; None for anything else (digits in ASCII only: a superscript two or an
    Arabic-Indic one is no version)."""
    if text in ("base", "starter"):
        return text
    model = find_model(text)
    if model is not None:
        return model.name
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
    on_catalog = catalog_root(root)
    starter, generator = on_catalog or (False, DEFAULT_MODEL)
    model = catalog_model(generator)
    if starter and not model.starter_available:
        raise BadInput(f"v{version.id} was trained on the starter adapter, which is not installed")
    base = None if on_catalog else Path(root)
    adapters: list[Path] = [model.starter] if starter and model.starter else []
    for step in chain:
        folder = version_dir(workspace, step.id)
        if step.method == "full":
            base, adapters = folder / "model", []
        else:
            adapters.append(folder / "adapter")
    return ModelChoice(base, tuple(adapters), version.id, starter, generator)


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
    """Make a version, "starter", "base" or a catalog model the one that answers; says what
    changed."""
    if store is None:
        with AppStore(workspace.app_db_path) as opened:
            return use_model_version(workspace, target, opened)
    generator = active_generator(store)
    if target == "base":
        store.activate_model_version(None)
        store.set_state(STARTER_STATE, "off")
        return f"The base model ({generator}) answers now (no starter adapter)."
    if target == "starter":
        if not catalog_model(generator).starter_available:
            raise BadInput(f"this install has no starter adapter for {generator}")
        store.activate_model_version(None)
        store.set_state(STARTER_STATE, "on")
        return f"The starter ({generator}) answers now."
    if isinstance(target, str):
        return _use_catalog_model(store, catalog_model(target))
    assert isinstance(target, int)
    chosen = store.model_version(target)
    if chosen is None:
        raise BadInput(f"no model version {target} (see `gptchat models`)")
    # Every folder of the chain is checked before switching: a broken version is refused.
    checked(choice_for(workspace, store, chosen))
    store.activate_model_version(target)
    return f"v{target} answers now."


def _use_catalog_model(store: AppStore, model: CatalogModel) -> str:
    """Answer with the catalog model `model` as shipped: with its starter adapter, if any."""
    store.activate_model_version(None)
    store.set_state(GENERATOR_STATE, model.name)
    store.set_state(STARTER_STATE, "on")
    said = f"{model.name}{' with its starter adapter' if model.starter_available else ''}"
    if is_pulled(model):
        return f"{said} answers now."
    return (
        f"{said} answers from the next question; it is fetched then ({model.download_mb} MB),"
        f" or now with `gptchat models pull {model.alias}`."
    )


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
    on_catalog = catalog_root(active.base_model)
    if on_catalog is None:  # trained from a folder given with --model
        return use_model_version(workspace, "base")
    starter, generator = on_catalog
    with AppStore(workspace.app_db_path) as store:
        store.set_state(GENERATOR_STATE, generator)
        return use_model_version(workspace, "starter" if starter else "base", store)
