"""`gptchat finetune`: examples in, a scored model version out, activated only if not worse."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gptchat.answer.reranker import bundled_reranker
from gptchat.answer.retriever import Retriever
from gptchat.errors import BadInput, GptchatError
from gptchat.eval.qa_set import load_qa_set
from gptchat.index.catalog import index_embedder, open_searchable_index
from gptchat.learn.examples import (
    TrainingExample,
    dataset_from_feedback,
    dataset_from_texts,
    split_held_out,
)
from gptchat.learn.qa_examples import QAExampleOptions, dataset_from_qa
from gptchat.learn.train import TrainingRun, TrainOptions, not_worse, score, train
from gptchat.log.store import AppStore
from gptchat.model.generator import load_causal_lm
from gptchat.model.loading import ModelOptions, base_folder, chosen_model, load_generator
from gptchat.model.versions import (
    first_free_version,
    version_dir,
)
from gptchat.progress import NO_PROGRESS, Progress
from gptchat.safe_files import make_folder, refuse_link, write_replacing
from gptchat.scratch import remove_leftovers, scratch_prefix
from gptchat.workspace import DEFAULT_INDEX, Workspace

MIN_EXAMPLES = 10


@dataclass(frozen=True)
class FinetuneOptions:
    source: str = "feedback"  # feedback, qa or docs
    index_name: str = DEFAULT_INDEX  # for qa and docs
    qa_file: Path | None = None  # for qa
    qa_settings: QAExampleOptions = field(default_factory=QAExampleOptions)
    max_examples: int | None = None  # for qa: a seeded sample of the questions
    config: TrainOptions = field(default_factory=TrainOptions)
    force: bool = False
    dry_run: bool = False
    base_model: Path | None = None  # train from this folder instead of the active version
    min_examples: int = MIN_EXAMPLES


@dataclass
class FinetuneOutcome:
    examples: list[TrainingExample]
    skipped: dict[str, int]
    held_out: int = 0
    refusals: int = 0  # examples that teach the "not covered" reply
    needed: int = 0  # the fewest examples a run trains on
    version: int | None = None
    activated: bool = False
    before: dict[str, float] = field(default_factory=dict)
    after: dict[str, float] = field(default_factory=dict)
    run: TrainingRun | None = None


@dataclass
class FinetuneHooks:
    """What the face shows while it works: status lines, and progress for each phase."""

    report: Callable[[str], None] = lambda message: None
    progress: Progress = NO_PROGRESS


def collect_examples(
    workspace: Workspace, options: FinetuneOptions, hooks: FinetuneHooks | None = None
) -> FinetuneOutcome:
    """The training examples, and what was left out and why."""
    if options.source == "qa":
        return _qa_examples(workspace, options, hooks or FinetuneHooks())
    with AppStore(workspace.app_db_path) as store:
        if options.source == "feedback":
            dataset = dataset_from_feedback(store.feedback_examples())
            return FinetuneOutcome(dataset.examples, dict(dataset.skipped))

    with open_searchable_index(workspace, options.index_name) as index:
        texts = [chunk.text for chunk in index.chunks(index.chunk_ids())]
    return FinetuneOutcome(dataset_from_texts(texts), {})


def _qa_examples(
    workspace: Workspace, options: FinetuneOptions, hooks: FinetuneHooks
) -> FinetuneOutcome:
    """Examples from a question set, prompted exactly as the app prompts over the index."""
    import random

    if options.qa_file is None:
        raise BadInput("--from-qa needs a question file")
    qa_set = load_qa_set(options.qa_file)
    items = qa_set.items
    if options.max_examples and options.max_examples < len(items):
        items = random.Random(options.config.seed).sample(items, options.max_examples)
    skipped = {f"unreadable row, {problem}": 1 for problem in qa_set.problems}
    with open_searchable_index(workspace, options.index_name) as index:
        retriever = Retriever(index, index_embedder(index), reranker=bundled_reranker())
        # The model that will be trained: its chat template and tokenizer shape the prompts.
        model = load_generator(ModelOptions(options.base_model), hooks.report, workspace)
        hooks.progress.start(len(items), "Building prompts", "questions")
        dataset = dataset_from_qa(
            items, retriever, model, options.qa_settings, hooks.progress, model.learned_refusal
        )
    skipped.update(dataset.skipped)
    return FinetuneOutcome(dataset.examples, skipped, refusals=dataset.refusals)


def build_version(
    workspace: Workspace, options: FinetuneOptions, hooks: FinetuneHooks
) -> FinetuneOutcome:
    """Train a new version from the active one; the active model changes only on success."""

    config = options.config
    config.check()
    refuse_link(workspace.models_dir)  # now, not after an hour of training
    remove_leftovers(workspace.models_dir, "new-version")  # a killed run's half-saved version
    outcome = collect_examples(workspace, options, hooks)
    outcome.needed = options.min_examples
    # A dry run shows what there is, however little: it is how a user sees what is missing.
    if len(outcome.examples) < options.min_examples and not options.dry_run:
        what, hint = {
            "feedback": (
                "rated or corrected answers",
                " (rate with + or correct with e in the app)",
            ),
            "qa": ("question examples", " (`--dry-run` shows what was left out and why)"),
            "docs": ("indexed passages", ""),
        }[options.source]
        raise BadInput(
            f"only {len(outcome.examples)} usable {what}; at least {options.min_examples} are"
            f" needed{hint}"
        )
    if options.dry_run:
        return outcome
    train_set, held_out = split_held_out(outcome.examples, config.held_out, config.seed)
    outcome.held_out = len(held_out)
    choice = chosen_model(ModelOptions(options.base_model), workspace)
    base = base_folder(choice, hooks.report)
    hooks.report(f"Loading {choice.name} for training")
    model, tokenizer = load_causal_lm(base, choice.adapters)
    answers = options.source in ("feedback", "qa")
    outcome.before = score(
        model, tokenizer, held_out, config, answers, hooks.progress, "Scoring current"
    )
    model, outcome.run = train(model, tokenizer, train_set, config, hooks.progress)
    outcome.after = score(
        model, tokenizer, held_out, config, answers, hooks.progress, "Scoring new"
    )
    passed = not_worse(outcome.before, outcome.after)
    folder = _save(workspace, model, tokenizer, config, outcome)
    with AppStore(workspace.app_db_path) as store:
        # Recorded in the same transaction that moves the folder into place: no version
        # without its files, and a name already taken on disk (a leftover, a link) is skipped.
        version = store.add_model_version(
            source=options.source,
            method=config.method,
            base_model=choice.root,
            parent=choice.version,
            examples=len(train_set),
            metrics={"before": outcome.before, "after": outcome.after, "passed_gate": passed},
            config=config.as_dict(),
            lowest=first_free_version(workspace),
            place=lambda number: folder.rename(version_dir(workspace, number)),
        )
        if passed or options.force:
            store.activate_model_version(version)
    outcome.version, outcome.activated = version, passed or options.force
    return outcome


def _save(workspace: Workspace, model, tokenizer, config: TrainOptions, outcome) -> Path:
    """Write the version into a fresh folder beside the others; nothing half-written remains."""
    make_folder(workspace.root, workspace.models_dir)
    folder = Path(tempfile.mkdtemp(prefix=scratch_prefix("new-version"), dir=workspace.models_dir))
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
                "skipped": outcome.skipped,
            },
            "metrics": {"before": outcome.before, "after": outcome.after},
        }
        write_replacing(folder / "version.json", json.dumps(summary, indent=2))
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise GptchatError(
            f"could not save the new version ({exc.strerror or exc}); the active model is unchanged"
        ) from exc
    return folder
