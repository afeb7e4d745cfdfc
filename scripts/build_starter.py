"""Rebuild the starter adapter that ships in gptchat/model/starter/ from public SQuAD articles.

    python scripts/build_starter.py --squad ../shared/eval/squad-dev --work /tmp/starter

The squad-dev articles are split by article: the TRAIN ones are indexed and their questions
become `finetune --from-qa` examples (the app's own prompts, gold answer + [n], refusals);
the HELD_OUT ones are never trained on and are what benchmarks/answer_benchmark.py measures.
claude-docs is never training data. The adapter is saved in bf16 with its provenance.

With --on-starter, a second stage is trained on top of the shipped starter, on training
questions its recipe never drew, and stacked with it into one adapter (scripts/stacking.py);
version.json then lists every stage's command, settings and scores.

With --sentence-answers, questions that ask how or why are answered with the article's whole
sentence that holds the gold span (SQuAD's spans are a few words; an explanation is not).
The defaults are the recipe of the shipped adapter (its version.json records them); the
variant measured in BENCHMARKS.md ("A second recipe") is
`--negatives 0.10 --misses skip --sentence-answers`.

With --model NAME, the adapter is trained on another model of the catalog (for example
Qwen2.5-Coder-0.5B-Instruct, fetched with `gptchat models pull qwen`) and written to that
model's own starter folder, gptchat/model/starter/NAME/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gptchat.answer.quoting import asks_for_explanation, sentence_holding  # noqa: E402
from gptchat.model.catalog import DEFAULT_MODEL, find_model  # noqa: E402
from gptchat.model.starter import (  # noqa: E402
    HELD_OUT_ARTICLES,
    STARTER_DIR,
    starter_provenance,
)
from scripts.stacking import CONFIG, WEIGHTS, stack_adapters  # noqa: E402


def answer_sentence(question: str, answers: list[str], article: str) -> str | None:
    """The article's sentence holding a gold span that shares most words with the question."""
    found = sentence_holding(answers, question, [article])
    return found[1] if found else None


def choose_questions(
    rows: list[dict], docs: Path, sample: int, seed: int, sentences: bool = True
) -> list[dict]:
    """A seeded sample of the questions, plus (with `sentences`) every explanatory one with
    its sentence answer."""
    chosen = random.Random(seed).sample(rows, min(sample, len(rows)))
    if not sentences:
        return chosen
    ids = {row["id"] for row in chosen}
    articles: dict[str, str] = {}
    for row in rows:
        if not asks_for_explanation(row["question"]):
            continue
        name = row["sources"][0]
        article = articles.setdefault(name, (docs / name).read_text(encoding="utf-8"))
        sentence = answer_sentence(row["question"], row["answers"], article)
        if sentence is None:
            continue
        if row["id"] in ids:
            chosen = [r for r in chosen if r["id"] != row["id"]]
        chosen.append({**row, "answers": [sentence]})
    return chosen


def starter_stages(recipe: dict) -> list[dict]:
    """The settings of each stage the starter was trained in (a one-stage recipe: its own)."""
    return [stage["settings"] for stage in recipe.get("stages", [])] or [recipe["settings"]]


def trained_by_starter(rows: list[dict], docs: Path, folder: Path = STARTER_DIR) -> set[str]:
    """Ids of the questions the starter in `folder` trained on, redrawn stage by stage as
    its recipe drew them (each stage samples from what the ones before left)."""
    recipe = starter_provenance(folder)
    if recipe is None:
        raise SystemExit(f"no starter adapter in {folder}")
    seen: set[str] = set()
    for stage in starter_stages(recipe):
        pool = [row for row in rows if row["id"] not in seen]
        sample = stage.get("sampled", stage["questions"])
        sentences = bool(stage.get("sentence_answers"))
        seen |= {
            row["id"] for row in choose_questions(pool, docs, sample, stage["seed"], sentences)
        }
    return seen


def unseen_by_starter(rows: list[dict], docs: Path, folder: Path = STARTER_DIR) -> list[dict]:
    """The questions the starter in `folder` never trained on."""
    seen = trained_by_starter(rows, docs, folder)
    return [row for row in rows if row["id"] not in seen]


def unseen_training_rows(squad: Path, docs: Path, folder: Path = STARTER_DIR) -> list[dict]:
    """The questions of `squad`'s training articles (`docs` holds them) that the starter in
    `folder` never trained on, in file order, as its recipe drew from them."""
    rows = [json.loads(line) for line in (squad / "qa.jsonl").read_text().splitlines() if line]
    training = [row for row in rows if row["sources"][0] not in HELD_OUT_ARTICLES]
    return unseen_by_starter(training, docs, folder)


def split(squad: Path, work: Path) -> dict[str, Path]:
    """Write the train and held-out docs folders and question files under `work`."""
    articles = sorted(p.name for p in (squad / "docs").glob("*.md"))
    missing = set(HELD_OUT_ARTICLES) - set(articles)
    if missing:
        raise SystemExit(f"{squad} lacks the held-out articles {sorted(missing)}")
    rows = [json.loads(line) for line in (squad / "qa.jsonl").read_text().splitlines() if line]
    paths = {}
    for part in ("train", "held-out"):
        docs = work / f"{part}-docs"
        shutil.rmtree(docs, ignore_errors=True)
        docs.mkdir(parents=True)
        chosen = [a for a in articles if (a in HELD_OUT_ARTICLES) == (part == "held-out")]
        for name in chosen:
            shutil.copy(squad / "docs" / name, docs / name)
        part_rows = [r for r in rows if r["sources"][0] in chosen]
        qa = work / f"{part}-qa.jsonl"
        qa.write_text("".join(json.dumps(r) + "\n" for r in part_rows))
        paths[f"{part}-docs"], paths[f"{part}-qa"] = docs, qa
    return paths


def gptchat(work: Path, *args: str) -> None:
    command = [sys.executable, "-m", "gptchat", "--home", str(work), *args]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def export(
    work: Path,
    settings: dict,
    command: list[str],
    seconds: float,
    peak_rss_mb: int,
    stack: bool,
    out: Path,
    base_model: str,
) -> None:
    """Copy the trained adapter to `out` (the package's starter folder) in bf16, with where it
    came from; with `stack`, as one adapter with the shipped starter it was trained on."""
    import torch
    from safetensors.torch import load_file, save_file

    version = work / "models" / "v1"
    stage = {
        "command": " ".join(command),
        "settings": settings,
        "training": json.loads((version / "version.json").read_text()),
        "seconds_end_to_end": round(seconds),
        "peak_rss_mb": peak_rss_mb,
    }
    stages = [stage]
    if stack:  # one adapter doing what the shipped starter and then the new one do
        shipped = starter_provenance()
        weights, config = stack_adapters(STARTER_DIR, version / "adapter")
        stages = shipped.get("stages") or [{key: shipped[key] for key in stage}]
        stages.append(stage)
    else:
        weights = load_file(version / "adapter" / WEIGHTS)
        config = json.loads((version / "adapter" / CONFIG).read_text())
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("adapter_*"):
        old.unlink()
    bf16 = {name: tensor.to(torch.bfloat16).contiguous() for name, tensor in weights.items()}
    save_file(bf16, out / WEIGHTS)
    (out / CONFIG).write_text(json.dumps(config, indent=2) + "\n")
    provenance = {
        "name": "starter",
        "base_model": base_model,
        # The last stage's command, settings and scores; `stages` holds every stage's, in order.
        **stage,
        "data": {
            "source": "SQuAD v1.1 dev set, even-numbered articles (CC BY-SA 4.0), ../shared/eval",
            "train_articles": sorted(p.name for p in (work / "train-docs").iterdir()),
            "held_out_articles": list(HELD_OUT_ARTICLES),
            "never": "claude-docs, and the held-out articles' text and questions",
        },
        "weights": f"LoRA, rank {config['r']}, saved in bf16"
        + (f" ({len(stages)} stages stacked into one adapter)" if len(stages) > 1 else ""),
    }
    if len(stages) > 1:
        provenance["stages"] = stages
    (out / "version.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(f"starter adapter written to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=REPO.parent / "shared/eval/squad-dev")
    parser.add_argument("--work", type=Path, default=Path("/tmp/gptchat-starter"))
    parser.add_argument("--examples", type=int, default=800, help="questions sampled")
    parser.add_argument("--negatives", type=float, default=0.15)
    parser.add_argument("--misses", choices=["refuse", "skip"], default="refuse")
    parser.add_argument(
        "--sentence-answers",
        action="store_true",
        help="answer how/why questions with the article's sentence holding the gold span",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--on-starter",
        action="store_true",
        help="train a second stage on top of the shipped starter, on questions it never saw",
    )
    parser.add_argument("--held-out", type=float, default=0.05, help="share for the gate")
    parser.add_argument(
        "--model", help="train another catalog model (or a model folder) than the default"
    )
    parser.add_argument("--out", type=Path, help="where the adapter goes (default: its model's)")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    if args.on_starter and args.model:
        raise SystemExit("--on-starter stacks on the default model's starter: not with --model")
    random.seed(args.seed)
    started = time.time()
    args.work.mkdir(parents=True, exist_ok=True)
    paths = split(args.squad, args.work)
    if not args.dry_run:  # a fresh model registry: the new version is v1
        shutil.rmtree(args.work / "models", ignore_errors=True)
        for database in args.work.glob("gptchat.db*"):
            database.unlink()
    rows = [json.loads(line) for line in paths["train-qa"].read_text().splitlines()]
    if args.on_starter:
        rows = unseen_by_starter(rows, paths["train-docs"])
    chosen = choose_questions(
        rows, paths["train-docs"], args.examples, args.seed, args.sentence_answers
    )
    by_id = {row["id"]: row for row in rows}
    questions = args.work / "train-questions.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in chosen))
    sentences = sum(1 for r in chosen if r["answers"] != by_id[r["id"]]["answers"])
    print(f"{len(chosen)} questions, {sentences} of them answered with a sentence", flush=True)
    gptchat(args.work, "index", str(paths["train-docs"]))
    # Stage one trains from the plain base model; stage two on top of the shipped starter.
    gptchat(args.work, "models", "use", "starter" if args.on_starter else "base")
    settings = {
        "k": 3,
        "questions": len(chosen),
        "sampled": args.examples,
        "sentence_answers": sentences,
        "negatives": args.negatives,
        "misses": args.misses,
        "seed": args.seed,
        "held_out": args.held_out,
        "method": "lora",
        "epochs": 1,
    }
    finetune = [
        "finetune",
        "--from-qa",
        str(questions),
        "--k",
        "3",
        "--negatives",
        str(args.negatives),
        "--misses",
        args.misses,
        "--seed",
        str(args.seed),
        "--held-out",
        str(args.held_out),
        "--force",
        *(["--model", str(args.model)] if args.model else []),
    ]
    if args.dry_run:
        gptchat(args.work, *finetune, "--dry-run")
        return
    gptchat(args.work, *finetune)
    command = ["python", "scripts/build_starter.py", *sys.argv[1:]]
    # The largest child process: the fine-tune (ru_maxrss is in KB on Linux).
    peak_rss_mb = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    named = find_model(args.model or DEFAULT_MODEL)
    base_model = (
        f"{named.name} ({', '.join(p.requirement for p in named.parts)}, converted from GGUF)"
        if named
        else f"{Path(args.model).name} (converted from GGUF)"
    )
    out = args.out or (named.starter if named and named.starter else STARTER_DIR)
    export(
        args.work,
        settings,
        command,
        time.time() - started,
        peak_rss_mb,
        args.on_starter,
        out,
        base_model,
    )


if __name__ == "__main__":
    main()
