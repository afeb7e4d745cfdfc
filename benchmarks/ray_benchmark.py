"""Indexing on Ray against the plain path, on the same folder in one run: the same index?
how fast? and what would ten million chunks take?

    python benchmarks/ray_benchmark.py [--workers 2] [--synthetic-mb N]

Both runs are real `gptchat index` processes into fresh workspaces (the plain one first, then
`--ray --ray-workers N` on a local Ray instance the run starts). While each runs, index.db is
polled for committed chunks, which gives the time to the first commit (start-up) and the
steady rate after it. Then the two indexes are compared chunk by chunk (file, position, text
hash, file hash) and by vector counts. Last, the writer's own ceiling: how many chunks a second
one process commits to SQLite and FAISS when the vectors are at hand, which bounds any
cluster, however many workers it has.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from index_benchmark import EVAL_DOCS, synthetic_folder  # noqa: E402

from gptchat.index.document_index import DocumentIndex  # noqa: E402
from gptchat.index.embedder import Embedder  # noqa: E402
from gptchat.index.store import FileState  # noqa: E402
from gptchat.ingest.chunker import Chunker, ChunkOptions  # noqa: E402
from gptchat.ingest.loaders import load_document  # noqa: E402
from gptchat.ingest.walker import discover  # noqa: E402
from gptchat.workspace import INDEX_DB  # noqa: E402

TEN_MILLION = 10_000_000


@dataclass
class Timeline:
    """Chunks committed over time, as seen from outside the process."""

    seconds: float = 0.0
    points: list[tuple[float, int]] = field(default_factory=list)
    output: str = ""

    @property
    def first_commit(self) -> float:
        return next(t for t, chunks in self.points if chunks > 0)

    def steady_rate(self) -> float:
        """Chunks a second from the first commit to the last."""
        first = self.first_commit
        last_time, last_chunks = self.points[-1]
        first_chunks = next(c for t, c in self.points if t == first)
        return (last_chunks - first_chunks) / max(last_time - first, 1e-6)


def committed_chunks(db_path: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not created yet, or busy for a moment


def timed_index(home: Path, folder: Path, *extra: str) -> Timeline:
    """`gptchat index FOLDER` in a new process, polled every 0.2 s."""
    command = [sys.executable, "-m", "gptchat", "--home", str(home), "index", str(folder)]
    timeline = Timeline()
    db_path = home / "indexes" / "default" / INDEX_DB
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.append(process.stdout.read()))
    reader.start()
    while process.poll() is None:
        timeline.points.append((time.perf_counter() - started, committed_chunks(db_path)))
        time.sleep(0.2)
    reader.join()
    timeline.seconds = time.perf_counter() - started
    timeline.points.append((timeline.seconds, committed_chunks(db_path)))
    timeline.output = "".join(output)
    if process.returncode != 0:
        raise SystemExit(f"gptchat index {' '.join(extra)} failed:\n{timeline.output}")
    return timeline


def contents(home: Path) -> tuple[list[tuple], int, int]:
    """Every chunk as (file, position, text hash, file hash); stored and FAISS vector counts."""
    with DocumentIndex.open(home / "indexes" / "default") as index:
        rows = index.store._conn.execute(
            "SELECT files.path, chunks.ord, chunks.text_hash, files.content_hash"
            " FROM chunks JOIN files ON files.id = chunks.file_id ORDER BY 1, 2"
        ).fetchall()
        return rows, index.counts().embeddings, len(index.vectors())


def writer_ceiling(
    folder: Path, built: Path, scratch: Path, copies: int
) -> tuple[int, float, float]:
    """Chunks a second the single writer commits when workers hand it chunks and vectors:
    the folder's files committed `copies` times under new names, so the index grows as a big
    one does (its texts are embedded once; rows and full-text entries grow). Returns chunks
    written, their seconds, and the rate of the last copy (at the largest size)."""
    embedder = Embedder()
    chunker = Chunker(embedder.token_counter(), ChunkOptions(max_tokens=embedder.max_tokens - 2))
    with DocumentIndex.open(built) as source:
        files = []
        for candidate in discover(folder, 50_000_000).candidates:
            data = candidate.path.read_bytes()
            chunks = chunker.chunk(load_document(candidate.path, data))
            hashes = sorted({c.text_hash for c in chunks})
            vectors = source.store.vectors_for_hashes(hashes, embedder.dimension)
            files.append((str(candidate.path), len(data), chunks, vectors))
        settings = source.settings()
    written, last_rate = 0, 0.0
    with DocumentIndex.open(scratch, create=True) as target:
        target.adopt_settings(settings)
        started = time.perf_counter()
        for copy in range(copies):
            copy_started, copy_chunks = time.perf_counter(), 0
            for path, size, chunks, vectors in files:
                state = FileState(f"{path}.copy{copy}", size, 0, f"hash-{copy}", "text")
                missing = target.missing_hashes(vectors)
                new = {h: v for h, v in vectors.items() if h in missing}
                target.replace_file(state, chunks, new, dict(vectors))
                copy_chunks += len(chunks)
            written += copy_chunks
            last_rate = copy_chunks / (time.perf_counter() - copy_started)
        target.save_vectors()
        seconds = time.perf_counter() - started
    return written, seconds, last_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="embedding workers on Ray")
    parser.add_argument("--synthetic-mb", type=int, help="a synthetic folder instead of eval")
    parser.add_argument(
        "--writer-copies", type=int, default=100, help="copies of the folder the writer commits"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gptchat-ray-bench-") as temp:
        root = Path(temp)
        folder = root / "docs"
        if args.synthetic_mb:
            synthetic_folder(folder, args.synthetic_mb, pool_size=20_000)
        else:  # the eval documents, copied so both runs index the very same paths
            for source in EVAL_DOCS:
                shutil.copytree(source, folder / source.parent.name)
        plain = timed_index(root / "plain", folder)
        on_ray = timed_index(root / "ray", folder, "--ray", "--ray-workers", str(args.workers))
        plain_rows, plain_stored, plain_faiss = contents(root / "plain")
        ray_rows, ray_stored, ray_faiss = contents(root / "ray")
        written, commit_seconds, writer_rate = writer_ceiling(
            folder, root / "ray" / "indexes" / "default", root / "ceiling", args.writer_copies
        )

    chunks = len(ray_rows)
    source = f"synthetic {args.synthetic_mb} MB" if args.synthetic_mb else "eval docs"
    print(f"folder: {source}, {chunks} chunks")
    print("| run | wall s | first commit s | steady chunks/s | chunks | vectors: stored | FAISS |")
    print("|---|---|---|---|---|---|---|")
    for label, run, rows, stored, faiss in (
        ("plain", plain, plain_rows, plain_stored, plain_faiss),
        (f"Ray, {args.workers} workers", on_ray, ray_rows, ray_stored, ray_faiss),
    ):
        print(
            f"| {label} | {run.seconds:.1f} | {run.first_commit:.1f} | {run.steady_rate():.0f} "
            f"| {len(rows)} | {stored} | {faiss} |"
        )
    print(f"Ray / plain wall time: {on_ray.seconds / plain.seconds:.2f}x")
    print(f"identical chunks (file, position, text hash, file hash): {ray_rows == plain_rows}")
    print(f"identical vector counts: {(ray_stored, ray_faiss) == (plain_stored, plain_faiss)}")
    print(
        f"single writer: {written} chunks committed in {commit_seconds:.1f} s "
        f"({written / commit_seconds:.0f} chunks/s), the last {len(ray_rows)} at "
        f"{writer_rate:.0f} chunks/s: the ceiling used below"
    )
    per_worker = on_ray.steady_rate() / args.workers
    print(f"per-worker rate on this machine's workers: {per_worker:.0f} chunks/s")
    print("projection for 10M chunks (workers like these; the writer caps the rate):")
    for workers in (2, 8, 32, 128):
        rate = min(workers * per_worker, writer_rate)
        hours = (on_ray.first_commit + TEN_MILLION / rate) / 3600
        capped = " (writer-bound)" if rate == writer_rate else ""
        print(f"  {workers:>4} workers: {rate:,.0f} chunks/s, {hours:.1f} h{capped}")
    print(f"  the writer alone, however many workers: {TEN_MILLION / writer_rate / 3600:.1f} h")


if __name__ == "__main__":
    main()
