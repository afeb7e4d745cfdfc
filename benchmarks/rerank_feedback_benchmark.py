"""Would answers a user rated teach the reranker? Its weights refit on simulated feedback.

    python benchmarks/rerank_feedback_benchmark.py [--feedback 20 50 200] [--anchor 0 0.1]

Feedback is simulated on squad-dev's training articles, the reranker's own (indexed by
scripts/build_reranker.py into --work, or here if it has not been): questions that neither
trained the shipped reranker nor chose its settings, each with the passages holding its gold
answer as those a +1 answer would cite. From the shipped weights, scripts/build_reranker.py's
listwise loss on the feedback (with an L2 pull of strength --anchor toward the shipped weights)
refits the three weights. hit@1 among the shipped count of candidates is measured on the
reranker's 300 check questions of the same articles (never feedback): a user's later
questions about the same documents, the case most favourable to learning from them; and on
the feedback questions themselves. The shipped weights and fused order are measured in the
same run. Writes benchmarks/results/rerank_feedback_benchmark.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from build_reranker import (  # noqa: E402
    candidates,
    hit_at_1,
    index_articles,
    train,
    training_questions,
)

from gptchat.answer.reranker import FEATURES, Reranker  # noqa: E402
from gptchat.answer.retriever import Retriever  # noqa: E402
from gptchat.index.embedder import Embedder  # noqa: E402
from gptchat.model.starter import HELD_OUT_ARTICLES  # noqa: E402


def feedback_pool(squad: Path, used: set[str]) -> list[dict]:
    """The training articles' questions the shipped reranker never saw."""
    rows = [json.loads(line) for line in (squad / "qa.jsonl").read_text().splitlines() if line]
    return [r for r in rows if r["sources"][0] not in HELD_OUT_ARTICLES and r["id"] not in used]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", type=Path, default=REPO.parent / "shared/eval/squad-dev")
    parser.add_argument("--work", type=Path, default=Path("/tmp/gptchat-reranker"))
    parser.add_argument("--feedback", type=int, nargs="+", default=[20, 50, 200])
    parser.add_argument("--anchor", type=float, nargs="+", default=[0.0, 0.1])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()

    shipped = Reranker.load()
    weights = np.array(shipped.weights)
    count = shipped.candidates
    # The shipped reranker's own split (its command's defaults): these never are feedback.
    train_rows, check_rows, articles = training_questions(args.squad, 100, 300, 0)
    pool = feedback_pool(args.squad, {r["id"] for r in train_rows + check_rows})
    index = index_articles(args.squad, articles, args.work)
    rng = random.Random(args.seed)
    try:
        retriever = Retriever(index, Embedder())  # fused, as the reranker receives it
        check = candidates(retriever, check_rows, count)
        drawn = {n: candidates(retriever, rng.sample(pool, n), count) for n in args.feedback}
    finally:
        index.close()
    results: dict = {
        "candidates": count,
        "check questions": len(check),
        "check hit@1, fused order": hit_at_1(check, None, count),
        "check hit@1, shipped": hit_at_1(check, weights, count),
        "refits": [],
    }
    for n, feedback in drawn.items():
        for anchor in args.anchor:
            refit = train(feedback, args.steps, args.lr, start=weights, anchor=anchor)
            row = {
                "feedback": n,
                "anchor": anchor,
                "weights": dict(zip(FEATURES, np.round(refit, 3).tolist(), strict=True)),
                "check hit@1": hit_at_1(check, refit, count),
                "feedback hit@1, shipped": hit_at_1(feedback, weights, count),
                "feedback hit@1, refit": hit_at_1(feedback, refit, count),
            }
            results["refits"].append(row)
            print(json.dumps(row), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "rerank_feedback_benchmark.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "refits"}, indent=2))


if __name__ == "__main__":
    main()
