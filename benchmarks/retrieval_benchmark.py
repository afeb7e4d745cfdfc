"""Retrieval benchmark: hit@k and MRR@10 on squad-dev, dense vs BM25 vs fused, and latency.

python benchmarks/retrieval_benchmark.py                      # all squad-dev questions
python benchmarks/retrieval_benchmark.py --workspace DIR      # keep/reuse the built index
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gptchat.answer.retriever import Retriever, RetrieverOptions
from gptchat.eval.metrics import contains_answer, first_relevant_rank, hit_at, reciprocal_rank
from gptchat.index.document_index import DocumentIndex
from gptchat.index.embedder import Embedder
from gptchat.index.store import FileState
from gptchat.ingest.chunker import Chunk

SQUAD = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "squad-dev"
OFF_TOPIC = SQUAD.parent / "claude-docs" / "qa.jsonl"
MODES = ("dense", "keyword", "fused")


def build_index(workspace: Path) -> DocumentIndex:
    directory = workspace / "indexes" / "default"
    if not (directory / "index.db").is_file():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "gptchat",
                "--home",
                str(workspace),
                "index",
                str(SQUAD / "docs"),
            ],
            check=True,
        )
    return DocumentIndex.open(directory)


def quality(index: DocumentIndex, embedder: Embedder, rows: list[dict], k: int) -> None:
    print(f"questions: {len(rows)}; chunks: {index.store.counts().chunks}")
    print("| retrieval | hit@1 | hit@5 | hit@10 | MRR@10 |")
    print("|---|---|---|---|---|")
    for mode in MODES:
        retriever = Retriever(index, embedder, RetrieverOptions(mode=mode))
        ranks = []
        for row in rows:
            hits = retriever.rank(row["question"], k)
            ranks.append(
                first_relevant_rank([contains_answer(h.text, row["answers"]) for h in hits])
            )
        print(
            f"| {mode} | {statistics.mean(hit_at(r, 1) for r in ranks):.3f} "
            f"| {statistics.mean(hit_at(r, 5) for r in ranks):.3f} "
            f"| {statistics.mean(hit_at(r, 10) for r in ranks):.3f} "
            f"| {statistics.mean(reciprocal_rank(r, 10) for r in ranks):.3f} |"
        )


def relevance_floor(index: DocumentIndex, embedder: Embedder, rows: list[dict]) -> None:
    """How the closeness floor splits squad-dev questions from off-topic ones (claude-docs):
    the best cosine of a sentence of the k=3 hits to the question."""
    off_topic = [json.loads(line) for line in OFF_TOPIC.read_text().splitlines() if line]
    retriever = Retriever(index, embedder)

    def closeness(questions: list[str]) -> np.ndarray:
        return np.array([retriever.retrieve(question, 3).closeness for question in questions])

    on = closeness([row["question"] for row in rows[:300]])
    off = closeness([row["question"] for row in off_topic])
    print(
        f"| closeness floor | squad-dev questions answered (of {len(on)}) "
        f"| claude-docs questions refused (of {len(off)}) |"
    )
    print("|---|---|---|")
    for floor in (0.35, 0.40, 0.45, 0.50, 0.55):
        marker = " (default)" if floor == RetrieverOptions().min_similarity else ""
        print(f"| {floor:.2f}{marker} | {(on >= floor).mean():.3f} | {(off < floor).mean():.3f} |")


def latency(index: DocumentIndex, embedder: Embedder, questions: list[str], label: str) -> None:
    retriever = Retriever(index, embedder)
    retriever.retrieve(questions[0])  # load FAISS and warm up
    times = [retriever.retrieve(q, 5).milliseconds for q in questions]
    quantiles = statistics.quantiles(times, n=20)
    print(
        f"| {label} | {index.store.counts().chunks} | {statistics.median(times):.1f} ms "
        f"| {quantiles[18]:.1f} ms |"
    )


def add_filler(index: DocumentIndex, total_chunks: int, seed: int = 0) -> None:
    """Synthetic chunks until the index holds `total_chunks`: random unit vectors, and words
    drawn from squad-dev's own text at their natural frequencies, so BM25 walks posting lists
    as long as real English gives ("the", "of", "what" ...)."""
    rng = np.random.default_rng(seed)
    text = " ".join(p.read_text() for p in sorted((SQUAD / "docs").glob("*.md")))
    vocabulary = re.findall(r"\w+", text)
    dimension = index.settings().dimension
    per_file = 500
    file_number = len(index.store.files_under("/filler"))
    while index.store.counts().chunks < total_chunks:
        chunks = []
        for _ in range(per_file):
            words = rng.choice(vocabulary, size=150)
            chunks.append(Chunk(" ".join(words), "", 1, 1, None, 150))
        vectors = rng.normal(size=(per_file, dimension)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        state = FileState(f"/filler/{file_number}.txt", 0, 0, str(file_number), "text")
        index.store.replace_file(
            state, chunks, dict(zip([c.text_hash for c in chunks], vectors, strict=True))
        )
        file_number += 1
    index.rebuild_vectors()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, help="where to build (or find) the index")
    parser.add_argument("--limit", type=int, help="sample this many questions (seed 0)")
    parser.add_argument("--filler", type=int, default=100_000, help="chunks for the latency run")
    parser.add_argument("--latency-only", action="store_true", help="skip the quality tables")
    args = parser.parse_args()
    rows = [json.loads(line) for line in (SQUAD / "qa.jsonl").read_text().splitlines() if line]
    if args.limit:
        rows = random.Random(0).sample(rows, args.limit)
    with tempfile.TemporaryDirectory(prefix="gptchat-bench-") as temp:
        workspace = args.workspace or Path(temp)
        index = build_index(workspace)
        embedder = Embedder()
        if not args.latency_only:
            started = time.perf_counter()
            quality(index, embedder, rows, 10)
            print(f"({time.perf_counter() - started:.0f} s)")
            print()
            relevance_floor(index, embedder, rows)
        questions = [row["question"] for row in random.Random(1).sample(rows, min(500, len(rows)))]
        print()
        print("| index | chunks | p50 | p95 |")
        print("|---|---|---|---|")
        latency(index, embedder, questions, "squad-dev")
        index.close()
        # Filler goes into a copy (kept in --workspace for the next run), so the squad-dev
        # index stays as built.
        filler_dir = workspace / "filler-index"
        if not filler_dir.is_dir():
            shutil.copytree(workspace / "indexes" / "default", filler_dir)
        filler = DocumentIndex.open(filler_dir)
        for size in (2_000, args.filler):
            if filler.store.counts().chunks > size * 1.1:
                continue  # an index kept from an earlier run is already past this size
            add_filler(filler, size)
            latency(filler, embedder, questions, "squad-dev + synthetic filler")
        filler.close()


if __name__ == "__main__":
    main()
