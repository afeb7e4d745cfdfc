"""Plain-text renderings of model versions and fine-tuning results."""

from __future__ import annotations

from gptchat.learn.version_builder import FinetuneOutcome
from gptchat.log.store import ModelVersion
from gptchat.model.catalog import CATALOG, catalog_model
from gptchat.model.provision import is_pulled
from gptchat.model.starter import starter_provenance
from gptchat.model.versions import ModelChoice, catalog_root


def _metric(metrics: dict, name: str) -> str:
    value = metrics.get(name)
    return "-" if value is None else f"{value:.3f}"


def _scores(metrics: dict) -> str:
    """The F1 and loss cells, before → after."""
    before, after = metrics.get("before", {}), metrics.get("after", {})
    f1 = f"{_metric(before, 'token_f1')} → {_metric(after, 'token_f1')}"
    return f"{f1} | {_metric(before, 'loss')} → {_metric(after, 'loss')}"


def versions_table(versions: list[ModelVersion], root: ModelChoice) -> list[str]:
    """`gptchat models`: the base model, the starter, every version; the active one marked."""

    # With no version active, the root answers: the starter, or the base model without it.
    answering = None if any(v.active for v in versions) else "starter" if root.starter else "base"
    model = catalog_model(root.generator)
    lines = [
        "| version | created | from | method | examples | F1 before → after | loss before → after"
        " |",
        "|---|---|---|---|---|---|---|",
        f"| {'* ' if answering == 'base' else ''}base | - | {model.name} | - | - | - | - |",
    ]
    starter = starter_provenance(model.starter) if model.starter else None
    if starter is not None:
        training = starter.get("training", {})
        examples = training.get("data", {}).get("examples", "-")
        lines.append(
            f"| {'* ' if answering == 'starter' else ''}starter | shipped | base,"
            f" squad-dev QA | lora | {examples} | {_scores(training.get('metrics', {}))} |"
        )
    for v in versions:
        on_catalog = catalog_root(v.base_model)
        root_name = (
            f"{'starter' if on_catalog[0] else 'base'}, {on_catalog[1]}"
            if on_catalog
            else v.base_model
        )
        parent = f"v{v.parent}" if v.parent else root_name
        lines.append(
            f"| {'* ' if v.active else ''}v{v.id} | {v.created_at[:16]} | {parent}, {v.source}"
            f" | {v.method} | {v.examples} | {_scores(v.metrics)} |"
        )
    lines.append(
        "* answers now. Switch with `gptchat models use N` (or `starter`, or `base`), or"
        " `models rollback`."
    )
    return lines


def catalog_table(generator: str) -> list[str]:
    """`gptchat models`: the generators gptchat can fetch, which are here, which answers."""
    lines = [
        "| model | parameters | download | on disk | starter | licence | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for model in CATALOG:
        here = "fetched" if is_pulled(model) else f"`gptchat models pull {model.alias}`"
        lines.append(
            f"| {'* ' if model.name == generator else ''}{model.name} | {model.parameters}"
            f" | {model.download_mb} MB | {model.disk_mb} MB, {here}"
            f" | {'yes' if model.starter_available else 'no'} | {model.licence} | {model.note} |"
        )
    lines.append("* the base of what answers. Switch with `gptchat models use NAME`.")
    return lines


def dry_run_lines(outcome: FinetuneOutcome, shown: int = 3) -> list[str]:
    lines = [f"{len(outcome.examples)} training examples"]
    if len(outcome.examples) < outcome.needed:
        lines.append(f"  not enough to train yet: at least {outcome.needed} are needed")
    if outcome.refusals:
        lines.append(f"  {outcome.refusals} of them teach the 'not covered' reply")
    lines += [f"  left out, {reason}: {count}" for reason, count in outcome.skipped.items()]
    if len(outcome.examples) > shown:
        lines.append(f"The first {shown} of the {len(outcome.examples)}:")
    for example in outcome.examples[:shown]:
        prompt_end = example.prompt[-200:].replace("\n", " ⏎ ")
        lines += [f"--- prompt (last 200 of {len(example.prompt)} chars): …{prompt_end}"]
        lines += [f"    target: {example.target[:300]}"]
    return lines


def outcome_lines(outcome: FinetuneOutcome) -> list[str]:
    run = outcome.run
    lines = []
    if run is not None:
        lines.append(
            f"Trained on {run.examples} examples: {run.steps} steps, {run.seconds:.0f} s,"
            f" {run.tokens_per_s:.0f} tokens/s ({run.precision}), final loss {run.final_loss:.3f}"
        )
    lines += [
        f"| held-out ({outcome.held_out}) | before | after |",
        "|---|---|---|",
    ]
    for name in ("token_f1", "exact_match", "loss"):
        if name in outcome.before:
            lines.append(
                f"| {name} | {outcome.before[name]:.3f} | {outcome.after.get(name, 0.0):.3f} |"
            )
    if outcome.activated:
        lines.append(f"v{outcome.version} is now active: the app and `ask` answer with it.")
    else:
        lines.append(
            f"v{outcome.version} scored worse than the active model and was kept inactive;"
            f" `gptchat models use {outcome.version}` (or --force) activates it anyway."
        )
    return lines
