"""Vector search at scale: gptchat's exact FAISS cache against its approximate (IVF) one.

    python benchmarks/vector_benchmark.py                 # 1,000,000 vectors
    python benchmarks/vector_benchmark.py --vectors 250000

Embedding a million real passages takes hours here, so the vectors are made from real ones:
the 2,013 all-MiniLM-L6-v2 embeddings of the ../shared/eval chunks, each copied many times with
Gaussian noise (cosine about 0.8 to its original) and normalised, so they cluster by topic as
real passages do. Queries are real: squad-dev questions, embedded by gptchat's embedder. For
each cache: build seconds, bytes on disk, process RSS after building, single-question search
latency p50/p95 (k=10), and recall@10 against the exact scan's top 10.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.index_benchmark import EVAL_DOCS, run_index, stored_vectors  # noqa: E402
from gptchat.index.embedder import Embedder  # noqa: E402
from gptchat.index.vectors import NPROBE, VectorCache, list_count  # noqa: E402

NOISE = 0.04  # per dimension: |noise| ≈ 0.78, cosine to the original ≈ 0.79


def synthetic_vectors(seeds: np.ndarray, count: int, noise: float, seed: int = 0):
    """A batches() factory: `count` noisy copies of the seed vectors, in 50,000-row batches."""

    def batches():
        rng = np.random.default_rng(seed)
        for start in range(0, count, 50_000):
            rows = min(50_000, count - start)
            picked = seeds[rng.integers(0, len(seeds), rows)]
            noisy = picked + noise * rng.standard_normal(picked.shape, dtype=np.float32)
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            yield np.arange(start, start + rows, dtype=np.int64), noisy.astype(np.float32)

    return batches


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def latencies(cache: VectorCache, queries: np.ndarray) -> tuple[list[list[int]], list[float]]:
    found, times = [], []
    cache.search(queries[0], 10)  # warm-up
    for query in queries:
        started = time.perf_counter()
        hits = cache.search(query, 10)
        times.append((time.perf_counter() - started) * 1000)
        found.append([i for i, _ in hits])
    return found, times


def row(name: str, build: float, size: int, rss: float, times: list[float], recall: str) -> str:
    p95 = statistics.quantiles(times, n=20)[18]
    return (
        f"| {name} | {build:.1f} s | {size / 1e6:.0f} MB | {rss:.0f} MB | "
        f"{statistics.median(times):.2f} ms | {p95:.2f} ms | {recall} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument(
        "--noise", type=float, default=NOISE, help="per dimension; 0.08: cosine about 0.5"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gptchat-vectors-") as temp:
        home = Path(temp) / "home"
        run_index(home, EVAL_DOCS)
        seeds = np.stack(list(stored_vectors(home).values()))
        qa = (EVAL_DOCS[0].parent / "qa.jsonl").read_text().splitlines()[: args.queries]
        queries = Embedder().encode([json.loads(line)["question"] for line in qa])
        batches = synthetic_vectors(seeds, args.vectors, args.noise)
        print(
            f"{args.vectors:,} vectors from {len(seeds):,} real ones "
            f"(noise {args.noise}/dimension); "
            f"{len(queries)} real questions; k=10; IVF: {list_count(args.vectors)} lists"
        )
        print("| cache | build | on disk | peak RSS so far | search p50 | search p95 | recall@10 |")
        print("|---|---|---|---|---|---|---|")
        started = time.perf_counter()
        exact = VectorCache.from_batches(seeds.shape[1], batches())
        build = time.perf_counter() - started
        exact.save(Path(temp) / "exact.faiss")
        truth, times = latencies(exact, queries)
        size = (Path(temp) / "exact.faiss").stat().st_size
        print(row("exact (flat scan)", build, size, rss_mb(), times, "1 (the reference)"))
        del exact
        started = time.perf_counter()
        approximate = VectorCache.approximate_from(seeds.shape[1], batches, args.vectors)
        build = time.perf_counter() - started
        approximate.save(Path(temp) / "ivf.faiss")
        size = (Path(temp) / "ivf.faiss").stat().st_size
        for nprobe in sorted({8, NPROBE, 128}):
            approximate._index.nprobe = nprobe  # the benchmark's knob; gptchat uses NPROBE
            found, times = latencies(approximate, queries)
            recall = statistics.mean(
                len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)
            )
            label = f"IVF, nprobe {nprobe}" + (" (gptchat's)" if nprobe == NPROBE else "")
            print(row(label, build, size, rss_mb(), times, f"{recall:.3f}"))


if __name__ == "__main__":
    main()
