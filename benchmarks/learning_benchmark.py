"""Does gptchat learn from its user? Feedback on one half of squad-dev, scored on the other.

    python benchmarks/learning_benchmark.py [--use 300] [--test 100] [--workspace DIR]

Every step is the real command a user would run, in its own process:
1. index ../shared/eval/squad-dev/docs;
2. split the questions by article (alternate articles in sorted order: "use" and "held out"),
   seeded samples of --use and --test questions;
3. `gptchat eval test.jsonl` with the model a new user has (the shipped starter, unless
   `models use base`): the baseline, measured in this run; with --starter-held-out both halves
   come from the articles the starter never trained on;
4. `gptchat eval use.jsonl --record-feedback`: each question asked through the conversation
   log and corrected with its gold answer (or rated +1 when right), as a user would;
5. `gptchat finetune --from-feedback` (LoRA, defaults): time, tokens/s, peak RSS;
6. `gptchat eval test.jsonl` again, now answered by the new active version.
Answers are capped at --max-tokens (64: SQuAD answers are short; the cap is the same before
and after) and recorded answers at --record-tokens (the correction, not the untuned answer, is
what is trained on), to fit the run into an hour of this 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gptchat.model.starter import HELD_OUT_ARTICLES  # noqa: E402

SQUAD = REPO.parent / "shared" / "eval" / "squad-dev"
# Runs the CLI and reports its own peak RSS on the last stderr line.
_MEASURED_CLI = (
    "import resource, sys\n"
    "from gptchat.main import main\n"
    "try:\n    main()\n"
    "finally:\n"
    "    print('peak_rss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"
)


def gptchat(home: Path, *args: str) -> tuple[str, float, float]:
    """Run one command; returns its stdout, seconds and peak RSS in MB."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED_CLI, "--home", str(home), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdin=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"gptchat {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    rss = re.findall(r"peak_rss_kb (\d+)", done.stderr)
    return done.stdout, seconds, int(rss[-1]) / 1024 if rss else float("nan")


def split_by_article(
    squad: Path, use: int, test: int, seed: int, only: tuple[str, ...] = ()
) -> tuple[list[dict], list[dict]]:
    rows = [json.loads(line) for line in (squad / "qa.jsonl").read_text().splitlines()]
    if only:
        rows = [row for row in rows if row["sources"][0] in only]
    articles = sorted({row["sources"][0] for row in rows})
    use_articles = set(articles[0::2])
    use_rows = [row for row in rows if row["sources"][0] in use_articles]
    test_rows = [row for row in rows if row["sources"][0] not in use_articles]
    rng = random.Random(seed)
    return rng.sample(use_rows, use), rng.sample(test_rows, test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--use", type=int, default=300, help="questions answered and corrected")
    parser.add_argument("--test", type=int, default=100, help="held-out questions scored")
    parser.add_argument("--k", type=int, default=3, help="passages per prompt")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--record-tokens", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workspace", type=Path, help="keep everything here (default: temp)")
    parser.add_argument("--squad", type=Path, default=SQUAD, help="the squad-dev eval folder")
    parser.add_argument(
        "--starter-held-out",
        action="store_true",
        help="only the articles the starter never trained on (both halves), to measure "
        "learning on top of the starter",
    )
    args = parser.parse_args()
    if not args.squad.is_dir():
        sys.exit(f"{args.squad} is missing")

    with tempfile.TemporaryDirectory(prefix="gptchat-learning-") as temp:
        home = args.workspace or Path(temp)
        home.mkdir(parents=True, exist_ok=True)
        only = HELD_OUT_ARTICLES if args.starter_held_out else ()
        use_rows, test_rows = split_by_article(args.squad, args.use, args.test, args.seed, only)
        use_file, test_file = home / "use.jsonl", home / "test.jsonl"
        use_file.write_text("".join(json.dumps(row) + "\n" for row in use_rows))
        test_file.write_text("".join(json.dumps(row) + "\n" for row in test_rows))
        k, cap = ("--k", str(args.k)), ("--max-tokens", str(args.max_tokens))

        _, seconds, _ = gptchat(home, "index", str(args.squad / "docs"))
        print(f"indexed squad-dev docs in {seconds:.0f} s", flush=True)
        before, seconds, _ = gptchat(home, "eval", str(test_file), *k, *cap, "--json")
        before = json.loads(before)["metrics"]
        print(f"before: F1 {before['token_f1']:.3f} ({seconds:.0f} s)", flush=True)
        _, seconds, _ = gptchat(
            home,
            "eval",
            str(use_file),
            *k,
            "--max-tokens",
            str(args.record_tokens),
            "--record-feedback",
        )
        print(f"recorded feedback on {len(use_rows)} questions in {seconds:.0f} s", flush=True)
        trained, train_seconds, train_rss = gptchat(home, "finetune", "--from-feedback", "--force")
        print(trained, flush=True)
        after, seconds, _ = gptchat(home, "eval", str(test_file), *k, *cap, "--json")
        after = json.loads(after)["metrics"]
        print(f"after: F1 {after['token_f1']:.3f} ({seconds:.0f} s)", flush=True)

    run = re.search(r"Trained on (\d+) examples: (\d+) steps, (\d+) s, (\d+) tokens/s", trained)
    assert run, trained
    print(f"\n{len(use_rows)} feedback questions, {len(test_rows)} held-out questions from other")
    print(f"articles; k={args.k}, answers capped at {args.max_tokens} tokens\n")
    print("| held-out squad-dev | before (the default model) | after finetune --from-feedback |")
    print("|---|---|---|")
    for name in ("token_f1", "exact_match", "hit@5", "answers_with_citation"):
        print(f"| {name} | {before.get(name, 0):.3f} | {after.get(name, 0):.3f} |")
    if run:
        examples, steps, secs, rate = run.groups()
        print(
            f"\ntraining: {examples} examples, {steps} steps, {secs} s wall-clock,"
            f" {rate} tokens/s; finetune command {train_seconds:.0f} s in all,"
            f" peak RSS {train_rss:.0f} MB"
        )


if __name__ == "__main__":
    main()
