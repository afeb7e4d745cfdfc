"""Indexing benchmark: end-to-end `gptchat index` per embedding runtime against raw
SentenceTransformer.encode, with each runtime's cosine to PyTorch's vectors and hit@5.

One command, one run, every figure beside its baseline:

    python benchmarks/index_benchmark.py                 # ../shared/eval docs, every runtime
    python benchmarks/index_benchmark.py --synthetic-mb 200   # peak RSS on a 200 MB folder
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
EVAL_DOCS = [
    REPO.parent / "shared" / "eval" / "squad-dev" / "docs",
    REPO.parent / "shared" / "eval" / "claude-docs" / "docs",
]


@dataclass
class RunResult:
    seconds: float
    peak_rss_mb: float
    output: str


def run_index(home: Path, paths: list[Path], runtime: str = "auto") -> RunResult:
    """Run `gptchat index` in a fresh process, as a user would; time it and read its peak RSS."""
    command = [sys.executable, "-m", "gptchat", "--home", str(home), "index", *map(str, paths)]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "--runtime", runtime],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"gptchat index failed:\n{output}")
    return RunResult(seconds, usage.ru_maxrss / 1024, output)


def index_db(home: Path) -> Path:
    return home / "indexes" / "default" / "index.db"


def embedded_texts(home: Path) -> tuple[list[str], int, int]:
    """The distinct texts the index embedded, and its file and chunk counts."""
    with sqlite3.connect(index_db(home)) as conn:
        rows = conn.execute(
            "SELECT heading, text FROM chunks"
            " WHERE id IN (SELECT min(id) FROM chunks GROUP BY text_hash)"
        ).fetchall()
        files = conn.execute("SELECT count(*) FROM files").fetchone()[0]
        chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    return [f"{h}\n{t}" if h else t for h, t in rows], files, chunks


def stored_vectors(home: Path) -> dict[str, np.ndarray]:
    with sqlite3.connect(index_db(home)) as conn:
        rows = conn.execute("SELECT text_hash, vector FROM embeddings").fetchall()
    return {h: np.frombuffer(v, dtype=np.float32) for h, v in rows}


def cosines(reference: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> np.ndarray:
    """Cosine of each text's vector to PyTorch's (both unit length), over the shared texts."""
    shared = sorted(reference.keys() & other.keys())
    return np.array([float(reference[h] @ other[h]) for h in shared])


def raw_encode_seconds(texts: list[str]) -> float:
    """The baseline: SentenceTransformer.encode (PyTorch, float32) on the texts the index
    embedded, with the batch size gptchat uses, the model loaded and warmed up first."""
    from sentence_transformers import SentenceTransformer

    from gptchat.index.embedder import default_embedder_path

    model = SentenceTransformer(str(default_embedder_path()), device="cpu")
    model.encode(texts[:16], batch_size=16)
    started = time.perf_counter()
    model.encode(texts, batch_size=16, normalize_embeddings=True)
    return time.perf_counter() - started


def hit_at_5(home: Path, qa_file: Path, limit: int | None) -> float:
    """Retrieval hit@5 of `gptchat eval --retrieval-only` on the index in `home`."""
    command = [sys.executable, "-m", "gptchat", "--home", str(home), "eval", str(qa_file)]
    command += ["--retrieval-only", "--json", *(["--limit", str(limit)] if limit else [])]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(json.loads(done.stdout)["metrics"]["hit@5"])


def warm_runtime(runtime: str) -> str:
    """Measure and export `runtime` before the timed run (done once per machine in real use);
    returns why it cannot run here, or an empty string."""
    from gptchat.errors import BadInput
    from gptchat.index.embedder import Embedder

    try:
        embedder = Embedder(runtime=runtime)
        embedder.choice()
        embedder.load()
    except BadInput as exc:
        return str(exc)
    return ""


def load_and_query(runtime: str, questions: list[str]) -> tuple[float, float]:
    """Seconds to load the runtime from the cache, and the median ms to embed one question
    (what each question costs before retrieval)."""
    from gptchat.index.embedder import Embedder

    started = time.perf_counter()
    embedder = Embedder(runtime=runtime)
    embedder.load()
    load_seconds = time.perf_counter() - started
    embedder.encode(questions[:3])
    times = []
    for question in questions:
        begun = time.perf_counter()
        embedder.encode([question])
        times.append((time.perf_counter() - begun) * 1000)
    return load_seconds, statistics.median(times)


def eval_benchmark(paths: list[Path], runtimes: list[str], squad_limit: int) -> None:
    missing = [p for p in paths if not p.is_dir()]
    if missing:
        raise SystemExit(f"missing eval folder(s): {', '.join(map(str, missing))}")
    qa_files = {p.parent.name: p.parent / "qa.jsonl" for p in paths}
    questions = [
        json.loads(line)["question"]
        for line in (paths[0].parent / "qa.jsonl").read_text().splitlines()[:200]
    ]
    rows = []
    with tempfile.TemporaryDirectory(prefix="gptchat-bench-") as temp:
        reference: dict[str, np.ndarray] | None = None
        texts: list[str] = []
        for runtime in ["torch", *(r for r in runtimes if r != "torch")]:
            reason = warm_runtime(runtime)
            if reason:
                rows.append((runtime, reason))
                continue
            home = Path(temp) / runtime
            first = run_index(home, paths, runtime)
            said = next(line for line in first.output.splitlines() if "embedded with" in line)
            vectors = stored_vectors(home)
            if reference is None:
                reference = vectors
                texts, files, chunks = embedded_texts(home)
                second = run_index(home, paths, runtime)
            cos = cosines(reference, vectors)
            hits = {
                name: hit_at_5(home, qa, squad_limit if name == "squad-dev" else None)
                for name, qa in qa_files.items()
            }
            loading = load_and_query(runtime, questions)
            rows.append((runtime, first, said.strip(), cos, hits, loading))
        encode = raw_encode_seconds(texts)
    raw_rate = len(texts) / encode
    print(
        f"corpus: {', '.join(qa_files)}: {files} files, {chunks} chunks, "
        f"{len(texts)} distinct texts embedded; squad-dev hit@5 on a seeded sample of "
        f"{squad_limit} questions, claude-docs on all"
    )
    print(
        f"baseline: raw SentenceTransformer.encode (PyTorch float32, batch 16): "
        f"{raw_rate:.1f} texts/s"
    )
    print(f"no-change re-run: {second.seconds:.2f} s\n")
    names = list(qa_files)
    print(
        "| runtime | full run | end-to-end chunks/s | embedded texts/s | x raw PyTorch encode "
        "| cosine to PyTorch mean / min | "
        + " | ".join(f"hit@5 {n}" for n in names)
        + " | peak RSS | model load (libraries imported) | one question embedded (p50) |"
    )
    print("|---|---|---|---|---|---|" + "---|" * len(names) + "---|---|---|")
    for row in rows:
        if len(row) == 2:
            print(f"| {row[0]} | not run: {row[1]} |")
            continue
        runtime, run, said, cos, hits, (load_seconds, query_ms) = row
        rate = len(texts) / run.seconds
        print(
            f"| {runtime} | {run.seconds:.1f} s | {chunks / run.seconds:.1f} | {rate:.1f} "
            f"| {rate / raw_rate:.2f} | {cos.mean():.6f} / {cos.min():.6f} | "
            + " | ".join(f"{hits[n]:.3f}" for n in names)
            + f" | {run.peak_rss_mb:.0f} MB | {load_seconds:.2f} s | {query_ms:.1f} ms |"
        )
    print()
    for row in rows:
        if len(row) > 2:
            print(f"{row[0]}: {row[2]}")


def synthetic_folder(root: Path, megabytes: int, pool_size: int, seed: int = 0) -> int:
    """Write `megabytes` of .txt files whose paragraphs come from a pool of distinct ones.

    Each paragraph is long enough (over half a chunk) to be a chunk of its own, so the index
    holds one chunk per paragraph occurrence while only `pool_size` texts need embedding.
    """
    rng = random.Random(seed)
    words = [
        f"{rng.choice('bcdfghklmnprstvz')}{rng.choice('aeiou')}{rng.choice('lmnrst')}"
        f"{rng.choice('aeiou')}{i}"
        for i in range(20_000)
    ]
    pool = [
        " ".join(rng.choice(words) for _ in range(rng.randint(45, 60))) + "."
        for _ in range(pool_size)
    ]
    target = megabytes * 1_000_000
    written = 0
    number = 0
    while written < target:
        folder = root / f"part-{number // 500:03}"
        folder.mkdir(parents=True, exist_ok=True)
        text = "\n\n".join(rng.choice(pool) for _ in range(rng.randint(40, 120))) + "\n"
        (folder / f"doc-{number:05}.txt").write_text(text)
        written += len(text.encode())
        number += 1
    return number


def synthetic_benchmark(megabytes: int, pool_size: int) -> None:
    with tempfile.TemporaryDirectory(prefix="gptchat-bench-") as temp:
        docs = Path(temp) / "docs"
        files = synthetic_folder(docs, megabytes, pool_size)
        size = sum(p.stat().st_size for p in docs.rglob("*.txt"))
        home = Path(temp) / "home"
        first = run_index(home, [docs])
        texts, _, chunks = embedded_texts(home)
        second = run_index(home, [docs])
        index_size = sum(p.stat().st_size for p in (home / "indexes" / "default").iterdir())
        shutil.rmtree(docs)
        keyword_ms, dense_ms, kind = search_latencies(home)
    print(
        f"synthetic folder: {files} files, {size / 1e6:.0f} MB, {chunks} chunks, "
        f"{len(texts)} distinct texts embedded; index on disk {index_size / 1e6:.0f} MB"
    )
    print(first.output.strip())
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| full run, wall clock | {first.seconds:.0f} s |")
    print(f"| peak RSS, full run (floor 2 GB) | {first.peak_rss_mb:.0f} MB |")
    print(f"| no-change re-run | {second.seconds:.1f} s, peak RSS {second.peak_rss_mb:.0f} MB |")
    for name, times in (("keyword (FTS5 BM25, k=10)", keyword_ms), (f"dense ({kind})", dense_ms)):
        p95 = statistics.quantiles(times, n=20)[18]
        print(f"| {name} search p50 / p95 | {statistics.median(times):.1f} / {p95:.1f} ms |")


def search_latencies(home: Path, queries: int = 200) -> tuple[list[float], list[float], str]:
    """Keyword and dense search times on the built index: questions of 4 words drawn from
    random stored chunks, and stored vectors as query vectors."""
    from gptchat.index.document_index import DocumentIndex

    rng = random.Random(1)
    with DocumentIndex.open(home / "indexes" / "default") as index:
        ids = index.chunk_ids()
        picked = [rng.choice(ids) for _ in range(queries)]
        with sqlite3.connect(index_db(home)) as conn:
            rows = [
                conn.execute(
                    "SELECT chunks.text, embeddings.vector FROM chunks JOIN embeddings"
                    " ON embeddings.text_hash = chunks.text_hash WHERE chunks.id = ?",
                    (chunk_id,),
                ).fetchone()
                for chunk_id in picked
            ]
        cache = index.vectors()  # loaded before timing, as an open session holds it
        kind = f"IVF, {cache.lists} lists" if cache.approximate else "exact scan"
        keyword, dense = [], []
        for text, vector in rows:
            words = text.split()
            question = " ".join(rng.sample(words, min(4, len(words))))
            started = time.perf_counter()
            index.keyword_search(question, 10)
            keyword.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            index.dense_search(np.frombuffer(vector, dtype=np.float32), 10)
            dense.append((time.perf_counter() - started) * 1000)
    return keyword, dense, kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic-mb", type=int, help="index a synthetic folder this large")
    parser.add_argument("--pool", type=int, default=5000, help="distinct paragraphs (synthetic)")
    parser.add_argument(
        "--runtimes",
        default="auto,torch-bf16,openvino,openvino-f32,torch-int8",
        help="embedding runtimes to compare with torch (comma-separated)",
    )
    parser.add_argument("--squad-limit", type=int, default=1000, help="squad-dev questions")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    if args.synthetic_mb:
        synthetic_benchmark(args.synthetic_mb, args.pool)
    else:
        eval_benchmark(EVAL_DOCS, args.runtimes.split(","), args.squad_limit)


if __name__ == "__main__":
    main()
