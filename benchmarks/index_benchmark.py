"""Indexing benchmark: end-to-end `gptchat index` against raw SentenceTransformer.encode.

One command, one run, every figure beside its baseline:

    python benchmarks/index_benchmark.py                 # ../shared/eval docs
    python benchmarks/index_benchmark.py --synthetic-mb 200   # peak RSS on a 200 MB folder
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

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


def run_index(home: Path, paths: list[Path]) -> RunResult:
    """Run `gptchat index` in a fresh process, as a user would; time it and read its peak RSS."""
    command = [sys.executable, "-m", "gptchat", "--home", str(home), "index", *map(str, paths)]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"gptchat index failed:\n{output}")
    return RunResult(seconds, usage.ru_maxrss / 1024, output)


def embedded_texts(home: Path) -> tuple[list[str], int, int]:
    """The distinct texts the index embedded, and its file and chunk counts."""
    with sqlite3.connect(home / "indexes" / "default" / "index.db") as conn:
        rows = conn.execute(
            "SELECT heading, text FROM chunks"
            " WHERE id IN (SELECT min(id) FROM chunks GROUP BY text_hash)"
        ).fetchall()
        files = conn.execute("SELECT count(*) FROM files").fetchone()[0]
        chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    return [f"{h}\n{t}" if h else t for h, t in rows], files, chunks


def raw_encode_seconds(texts: list[str]) -> float:
    """The ceiling: SentenceTransformer.encode on exactly the texts the index embedded."""
    from gptchat.index.embedder import Embedder

    embedder = Embedder()
    embedder.encode(texts[:8])  # load the model and warm up outside the timed part
    started = time.perf_counter()
    embedder.encode(texts)
    return time.perf_counter() - started


def eval_benchmark(paths: list[Path]) -> None:
    missing = [p for p in paths if not p.is_dir()]
    if missing:
        raise SystemExit(f"missing eval folder(s): {', '.join(map(str, missing))}")
    with tempfile.TemporaryDirectory(prefix="gptchat-bench-") as temp:
        home = Path(temp)
        first = run_index(home, paths)
        texts, files, chunks = embedded_texts(home)
        second = run_index(home, paths)
        encode = raw_encode_seconds(texts)
    print(
        f"corpus: {', '.join(p.parent.name for p in paths)}: {files} files, {chunks} chunks, "
        f"{len(texts)} distinct texts embedded"
    )
    print(first.output.strip())
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| full run, wall clock (process start to exit) | {first.seconds:.1f} s |")
    print(f"| end-to-end chunks/s (chunks written / wall) | {chunks / first.seconds:.1f} |")
    print(f"| end-to-end files/s | {files / first.seconds:.2f} |")
    print(f"| end-to-end embedded texts/s | {len(texts) / first.seconds:.1f} |")
    print(
        f"| baseline: raw SentenceTransformer.encode texts/s (same texts) | "
        f"{len(texts) / encode:.1f} |"
    )
    print(f"| ratio end-to-end / raw encode (floor 0.90) | {encode / first.seconds:.2f} |")
    print(
        f"| no-change re-run | {second.seconds:.2f} s = "
        f"{100 * second.seconds / first.seconds:.1f} % of the full run (floor 2 %) |"
    )
    print(f"| peak RSS, full run | {first.peak_rss_mb:.0f} MB |")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic-mb", type=int, help="index a synthetic folder this large")
    parser.add_argument("--pool", type=int, default=5000, help="distinct paragraphs (synthetic)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    if args.synthetic_mb:
        synthetic_benchmark(args.synthetic_mb, args.pool)
    else:
        eval_benchmark(EVAL_DOCS)


if __name__ == "__main__":
    main()
