"""Does the shipped reranker put the right passage first? Retrieval with and without it.

    python benchmarks/rerank_benchmark.py [--squad 500] [--candidates 5 8 12 20]

squad-dev: a seeded sample of --squad questions of the 8 held-out articles (the reranker was
trained on the other 16: scripts/build_reranker.py), over an index of all 24 articles.
claude-docs: all 100 questions over its docs (never training data). A hit is a passage that
supports the answer, as `gptchat eval` judges it (holds a gold answer; for claude-docs' long
answers, comes from a gold file). For each number of candidates the reranker reorders, hit@1,
hit@3 (the passages the model reads by default) and hit@5, and what reranking adds to a
question's retrieval time (median and 95th percentile), against fused retrieval alone in the
same run. The shipped file's own count was chosen by scripts/build_reranker.py on questions of
the training articles; the other counts are shown for what they would give. Writes
benchmarks/results/rerank_benchmark.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gptchat.answer.reranker import Reranker  # noqa: E402
from gptchat.answer.retriever import Retriever  # noqa: E402
from gptchat.eval.metrics import first_relevant_rank, hit_at  # noqa: E402
from gptchat.eval.qa_set import QAItem, load_qa_set, supports  # noqa: E402
from gptchat.index.catalog import index_embedder  # noqa: E402
from gptchat.index.document_index import DocumentIndex  # noqa: E402
from gptchat.model.starter import HELD_OUT_ARTICLES  # noqa: E402

EVAL = REPO.parent / "shared" / "eval"
TOP = 5


def index_of(name: str, work: Path) -> DocumentIndex:
    home = work / name
    command = [
        sys.executable,
        "-m",
        "gptchat",
        "--home",
        str(home),
        "index",
        str(EVAL / name / "docs"),
    ]
    subprocess.run(command, check=True, capture_output=True)
    return DocumentIndex.open(home / "indexes" / "default")


def measure(retriever: Retriever, items: list[QAItem]) -> tuple[dict, list[float]]:
    """hit@1/3/5 of `retriever` on `items`, and each question's retrieval milliseconds."""
    ranks, times = [], []
    for item in items:
        started = time.perf_counter()
        hits = retriever.rank(item.question, TOP)
        times.append((time.perf_counter() - started) * 1000)
        ranks.append(first_relevant_rank([supports(hit, item) for hit in hits]))
    scores = {f"hit@{k}": round(statistics.mean(hit_at(r, k) for r in ranks), 3) for k in (1, 3, 5)}
    return scores, times


def measure_set(
    index: DocumentIndex, items: list[QAItem], counts: list[int], reranker: Reranker
) -> dict:
    embedder = index_embedder(index)
    plain = Retriever(index, embedder)
    plain.rank(items[0].question, TOP)  # load the embedder and FAISS before timing
    fused, base_times = measure(plain, items)
    result = {"questions": len(items), "fused": fused}
    for count in counts:
        retriever = Retriever(index, embedder, reranker=replace(reranker, candidates=count))
        reranked, times = measure(retriever, items)
        added = [after - before for after, before in zip(times, base_times, strict=True)]
        quantiles = statistics.quantiles(added, n=20)
        result[f"reranked, {count} candidates"] = {
            **reranked,
            "added ms, median": round(statistics.median(added), 1),
            "added ms, p95": round(quantiles[18], 1),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", type=int, default=500)
    parser.add_argument("--candidates", type=int, nargs="+", default=[5, 8, 12, 20])
    args = parser.parse_args()
    reranker = Reranker.load()
    print(f"shipped: {reranker.candidates} candidates, weights {reranker.weights}")
    squad = [
        item
        for item in load_qa_set(EVAL / "squad-dev" / "qa.jsonl").items
        if item.sources and item.sources[0] in HELD_OUT_ARTICLES
    ]
    squad = random.Random(0).sample(squad, min(args.squad, len(squad)))
    claude = load_qa_set(EVAL / "claude-docs" / "qa.jsonl").items
    results = {}
    with tempfile.TemporaryDirectory(prefix="gptchat-rerank-") as temp:
        for name, items in (("squad-dev", squad), ("claude-docs", claude)):
            index = index_of(name, Path(temp))
            try:
                results[name] = measure_set(index, items, args.candidates, reranker)
            finally:
                index.close()
            print(json.dumps({name: results[name]}, indent=2), flush=True)
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "rerank_benchmark.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
