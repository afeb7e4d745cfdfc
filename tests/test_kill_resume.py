"""`kill -9` in the middle of an indexing run: nothing committed is lost, the next run resumes."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from gptchat.index.document_index import DocumentIndex
from gptchat.index.embedder import Embedder
from gptchat.index.indexer import Indexer
from gptchat.workspace import INDEX_DB
from tests.conftest import write_paragraphs

FILES = 150
RUN_INDEXER = """
import sys
from pathlib import Path
from gptchat.index.document_index import DocumentIndex
from gptchat.index.embedder import Embedder
from gptchat.index.indexer import Indexer

index = DocumentIndex.open(Path(sys.argv[1]), create=True)
Indexer(index, Embedder(), embed_batch_chunks=2).run([Path(sys.argv[2])])
"""


def committed_files(db_path: Path) -> int:
    if not db_path.is_file():
        return 0
    try:
        with sqlite3.connect(db_path, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM files").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # schema not created yet


def test_kill_9_mid_run_keeps_committed_files_and_resumes(
    tmp_path: Path, embedder: Embedder
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for number in range(FILES):
        write_paragraphs(docs / f"note-{number:03}.md", 2, f"animal{number}")
    index_dir = tmp_path / "index"
    process = subprocess.Popen([sys.executable, "-c", RUN_INDEXER, str(index_dir), str(docs)])
    deadline = time.monotonic() + 120
    while committed_files(index_dir / INDEX_DB) < 10 and time.monotonic() < deadline:
        assert process.poll() is None, "the indexing run ended before it could be killed"
        time.sleep(0.05)
    assert process.poll() is None, "the indexing run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    survivors = committed_files(index_dir / INDEX_DB)
    assert 10 <= survivors < FILES

    with DocumentIndex.open(index_dir) as index:
        assert index.store.integrity_ok()
        committed = sorted(index.store.files_under(str(docs.resolve())))
        first = Path(committed[0]).stem.split("-")[1]
        hits = index.chunks([i for i, _ in index.keyword_search(f"animal{int(first)}", 3)])
        assert Path(hits[0].path).name == f"note-{first}.md"
        query = embedder.encode([f"Paragraph 1 about animal{int(first)}"])[0]
        dense_hits = index.chunks([i for i, _ in index.dense_search(query, 5)])
        assert f"note-{first}.md" in {Path(h.path).name for h in dense_hits}

        report = Indexer(index, embedder).run([docs])
        assert report.unchanged == survivors
        assert len(report.added) == FILES - survivors
        assert report.failed == []
        counts = index.store.counts()
        assert counts.files == FILES
        assert len(index.vectors()) == counts.chunks
