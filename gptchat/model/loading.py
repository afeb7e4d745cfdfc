"""Which generator answers: a catalog model or folder given with --model, else the
workspace's active version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gptchat.model.catalog import CatalogModel, catalog_model, find_model
from gptchat.model.generator import Generator
from gptchat.model.provision import check_model_dir, ensure_model
from gptchat.model.versions import ModelChoice, active_choice, default_choice
from gptchat.workspace import Workspace

if TYPE_CHECKING:
    from gptchat.log.store import AppStore


@dataclass(frozen=True)
class ModelOptions:
    """Which generator to run and how."""

    # None: the active version; else a catalog model's name (as shipped, with its starter
    # adapter) or a local model folder.
    path: Path | None = None
    int8: bool = False


def named_model(path: Path | None) -> CatalogModel | None:
    """The catalog model that --model names, when it names one and no folder of that name."""
    if path is None or path.exists():
        return None
    return find_model(str(path))


def chosen_model(
    options: ModelOptions, workspace: Workspace | None = None, store: AppStore | None = None
) -> ModelChoice:
    """What `options` pick: a catalog model, a checked folder, or the active version (read
    through `store` when the caller holds gptchat.db open)."""
    named = named_model(options.path)
    if named is not None:
        return default_choice(generator=named.name)
    if options.path is not None:
        return ModelChoice(check_model_dir(options.path))
    return active_choice(workspace, store) if workspace is not None else ModelChoice(None)


def base_folder(choice: ModelChoice, report: Callable[[str], None]) -> Path:
    """The folder of `choice`'s base model, fetching a catalog model on first use."""
    return choice.base or ensure_model(catalog_model(choice.generator), report)


def model_translates(choice: ModelChoice) -> bool:
    """Whether `choice`'s base model translates: the catalog says for its models; a folder
    the user chose is taken at its word."""
    return choice.base is not None or catalog_model(choice.generator).translates


def load_generator(
    options: ModelOptions,
    report: Callable[[str], None],
    workspace: Workspace | None = None,
    store: AppStore | None = None,
) -> Generator:
    """The generator for `options`: a catalog model or folder, else the workspace's active
    version."""
    choice = chosen_model(options, workspace, store)
    catalog = catalog_model(choice.generator) if choice.base is None else None
    return Generator(
        base_folder(choice, report),
        name=choice.name,
        int8=options.int8,
        adapters=choice.adapters,
        learned_refusal=choice.starter,
        bf16=catalog is not None and catalog.bf16,
        translates=model_translates(choice),
    )
