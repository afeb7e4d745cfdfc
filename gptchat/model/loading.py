"""Which generator answers: a given folder, else the workspace's active version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gptchat.log.store import AppStore
from gptchat.model.generator import Generator
from gptchat.model.provision import ensure_default_model
from gptchat.model.versions import ModelChoice, active_choice
from gptchat.workspace import Workspace

if TYPE_CHECKING:
    from gptchat.log.store import AppStore
    from gptchat.model.generator import Generator


@dataclass(frozen=True)
class ModelOptions:
    """Which generator to run and how."""

    path: Path | None = None  # None: the default model, provisioned on first use
    int8: bool = False


def load_generator(
    options: ModelOptions,
    report: Callable[[str], None],
    workspace: Workspace | None = None,
    store: AppStore | None = None,
) -> Generator:
    """The generator for `options`: a given folder, else the workspace's active version
    (read through `store` when the caller holds gptchat.db open)."""

    if options.path is not None:
        return Generator(options.path, int8=options.int8)
    choice = active_choice(workspace, store) if workspace is not None else ModelChoice(None)
    base = choice.base or ensure_default_model(report)
    return Generator(
        base,
        name=choice.name,
        int8=options.int8,
        adapters=choice.adapters,
        learned_refusal=choice.starter,
    )
