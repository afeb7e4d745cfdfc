"""`gptchat finetune`: examples in, a scored model version out, activated only if not worse."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gptchat.app_store import AppStore
from gptchat.errors import BadInput, GptchatError
from gptchat.finetune import TrainConfig, TrainingProgress, TrainingRun
from gptchat.training_data import (
    TrainingExample,
    dataset_from_feedback,
    dataset_from_texts,
    split_held_out,
)
from gptchat.workspace import DEFAULT_INDEX, Workspace

MIN_EXAMPLES = 10


@dataclass(frozen=True)
class FinetuneOptions:
    source: str = "feedback"  # feedback or docs
    index_name: str = DEFAULT_INDEX  # for docs
    config: TrainConfig = field(default_factory=TrainConfig)
    force: bool = False
    dry_run: bool = False
    base_model: Path | None = None  # train from this folder instead of the active version
    min_examples: int = MIN_EXAMPLES


@dataclass
class FinetuneOutcome:
    examples: list[TrainingExample]
    preference_pairs: int
    skipped: dict[str, int]
    held_out: int = 0
    version: int | None = None
    activated: bool = False
    before: dict[str, float] = field(default_factory=dict)
    after: dict[str, float] = field(default_factory=dict)
    run: TrainingRun | None = None


@dataclass
class FinetuneHooks:
    """What the CLI shows while it works."""

    report: Callable[[str], None] = lambda message: None
    training: TrainingProgress = field(default_factory=TrainingProgress)
    # scoring(label, total) returns what to call after each held-out example
    scoring: Callable[[str, int], Callable[[], None]] = lambda label, total: lambda: None


def collect_examples(workspace: Workspace, options: FinetuneOptions) -> FinetuneOutcome:
    """The training examples, and what was left out and why."""
    store = AppStore(workspace.app_db_path)
    try:
        if options.source == "feedback":
            dataset = dataset_from_feedback(store.feedback_examples())
            return FinetuneOutcome(dataset.examples, len(dataset.pairs), dict(dataset.skipped))
    finally:
        store.close()
    from gptchat.commands import open_searchable_index

    index = open_searchable_index(workspace, options.index_name)
    try:
        ids = index.store.chunk_ids()
        texts = [chunk.text for chunk in index.chunks(ids)]
    finally:
        index.close()
    return FinetuneOutcome(dataset_from_texts(texts), 0, {})


def build_version(
    workspace: Workspace, options: FinetuneOptions, hooks: FinetuneHooks
) -> FinetuneOutcome:
    """Train a new version from the active one; the active model changes only on success."""
    from gptchat.finetune import load_for_training, not_worse, score, train
    from gptchat.model_provision import check_model_dir, ensure_default_model
    from gptchat.model_versions import DEFAULT_BASE, ModelChoice, active_choice, version_dir

    config = options.config
    config.check()
    outcome = collect_examples(workspace, options)
    if len(outcome.examples) < options.min_examples:
        what = "rated or corrected answers" if options.source == "feedback" else "indexed passages"
        raise BadInput(
            f"only {len(outcome.examples)} usable {what}; at least {options.min_examples} are"
            " needed (rate with + or correct with e in the app)"
        )
    if options.dry_run:
        return outcome
    train_set, held_out = split_held_out(outcome.examples, config.held_out, config.seed)
    outcome.held_out = len(held_out)
    if options.base_model is not None:
        choice = ModelChoice(check_model_dir(options.base_model))
    else:
        choice = active_choice(workspace)
    base = choice.base or ensure_default_model(hooks.report)
    hooks.report(f"Loading {choice.name(base.name)} for training")
    model, tokenizer = load_for_training(base, choice.adapters)
    answers = options.source == "feedback"
    outcome.before = score(
        model, tokenizer, held_out, config, answers, hooks.scoring("Scoring current", len(held_out))
    )
    model, outcome.run = train(model, tokenizer, train_set, config, hooks.training)
    outcome.after = score(
        model, tokenizer, held_out, config, answers, hooks.scoring("Scoring new", len(held_out))
    )
    passed = not_worse(outcome.before, outcome.after)
    folder = _save(workspace, model, tokenizer, config, outcome)
    store = AppStore(workspace.app_db_path)
    try:
        version = store.add_model_version(
            source=options.source,
            method=config.method,
            base_model=str(choice.base) if choice.base else DEFAULT_BASE,
            parent=choice.version,
            examples=len(train_set),
            metrics={"before": outcome.before, "after": outcome.after, "passed_gate": passed},
            config=config.as_dict(),
        )
        folder.rename(version_dir(workspace, version))
        if passed or options.force:
            store.activate_model_version(version)
    finally:
        store.close()
    outcome.version, outcome.activated = version, passed or options.force
    return outcome


def _save(workspace: Workspace, model, tokenizer, config: TrainConfig, outcome) -> Path:
    """Write the version into a fresh folder beside the others; nothing half-written remains."""
    workspace.models_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".new-version-", dir=workspace.models_dir))
    try:
        if config.method == "lora":
            model.save_pretrained(folder / "adapter")
        else:
            model.save_pretrained(folder / "model")
            tokenizer.save_pretrained(folder / "model")
        summary = {
            "config": config.as_dict(),
            "run": asdict(outcome.run) if outcome.run else None,
            "data": {
                "examples": len(outcome.examples),
                "held_out": outcome.held_out,
                "preference_pairs": outcome.preference_pairs,
                "skipped": outcome.skipped,
            },
            "metrics": {"before": outcome.before, "after": outcome.after},
        }
        (folder / "version.json").write_text(json.dumps(summary, indent=2))
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise GptchatError(
            f"could not save the new version ({exc.strerror or exc}); the active model is unchanged"
        ) from exc
    return folder
