"""Indexing for real: SQLite, FAISS and MiniLM; incremental runs; bad input loses nothing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from gptchat.errors import BadInput, IndexMismatch
from gptchat.index.document_index import VECTORS_FILE, DocumentIndex
from gptchat.index.embedder import Embedder
from gptchat.index.indexer import Indexer
from gptchat.index.vectors import VectorCache
from gptchat.ingest.chunker import ChunkOptions
from gptchat.workspace import Workspace
from tests.conftest import write_paragraphs


def top_path(index: DocumentIndex, embedder: Embedder, question: str) -> str:
    """Path of the best dense hit for `question`."""
    ((chunk_id, _),) = index.dense_search(embedder.encode([question])[0], 1)
    return Path(index.chunks([chunk_id])[0].path).name


def bump_mtime(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_index_makes_every_format_searchable(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path
) -> None:
    report = indexer.run([docs])
    assert sorted(Path(p).name for p in report.added) == [
        "bikes.rst",
        "page.html",
        "solar.md",
        "tea.txt",
    ]
    assert report.failed == [] and report.unchanged == 0
    assert top_path(index, embedder, "how long should green tea steep?") == "tea.txt"
    assert top_path(index, embedder, "when to oil a bicycle chain") == "bikes.rst"
    assert top_path(index, embedder, "what is lava") == "page.html"
    (hit,) = index.chunks([index.keyword_search("batteries night", 1)[0][0]])
    assert hit.heading == "Solar power > Storage" and hit.line_start == 7
    counts = index.store.counts()
    assert len(index.vectors()) == counts.chunks == counts.embeddings
    assert "hidden" not in " ".join(c.text for c in index.chunks(list(range(1, 50))))


def test_a_second_run_with_no_changes_does_nothing(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path
) -> None:
    indexer.run([docs])
    version = index.store.data_version()
    report = Indexer(index, embedder).run([docs])
    assert report.unchanged == 4
    assert report.added == report.updated == report.removed == []
    assert report.chunks_embedded == 0
    assert index.store.data_version() == version


def test_touched_but_identical_files_are_unchanged(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path
) -> None:
    indexer.run([docs])
    bump_mtime(docs / "tea.txt")
    report = Indexer(index, embedder).run([docs])
    assert report.unchanged == 4 and report.updated == []


def test_a_changed_file_embeds_only_its_new_text(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path
) -> None:
    indexer.run([docs])
    solar = docs / "solar.md"
    solar.write_text(solar.read_text() + "\n## Costs\n\nPanel prices fell ninety percent.\n")
    bump_mtime(solar)
    report = Indexer(index, embedder).run([docs])
    assert [Path(p).name for p in report.updated] == ["solar.md"]
    assert report.unchanged == 3
    assert report.chunks_written == 3 and report.chunks_embedded == 1
    assert top_path(index, embedder, "how much did panel prices drop?") == "solar.md"
    counts = index.store.counts()
    assert len(index.vectors()) == counts.chunks == counts.embeddings


def test_a_deleted_file_leaves_sqlite_and_faiss(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path
) -> None:
    indexer.run([docs])
    chunks_before = index.store.counts().chunks
    (docs / "tea.txt").unlink()
    report = Indexer(index, embedder).run([docs])
    assert [Path(p).name for p in report.removed] == ["tea.txt"]
    counts = index.store.counts()
    assert counts.files == 3 and counts.chunks == chunks_before - 1
    assert counts.embeddings == counts.chunks  # the orphaned vector is gone too
    assert index.vectors().ids() == set(index.store.chunk_ids())
    assert index.keyword_search("steeped", 5) == []
    reopened = VectorCache.load(index.directory / VECTORS_FILE)
    assert reopened.ids() == index.vectors().ids()


def test_faiss_is_rebuilt_from_sqlite_without_reembedding(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path
) -> None:
    indexer.run([docs])
    query = embedder.encode(["sunlight into electricity"])[0]
    expected = index.dense_search(query, 3)
    (index.directory / VECTORS_FILE).unlink()
    with DocumentIndex.open(index.directory) as fresh:
        got = fresh.dense_search(query, 3)
        assert [i for i, _ in got] == [i for i, _ in expected]
        assert np.allclose([s for _, s in got], [s for _, s in expected])
        assert (index.directory / VECTORS_FILE).is_file()


def test_bad_files_are_reported_and_the_rest_is_indexed(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path
) -> None:
    indexer.run([docs])
    (docs / "binary.txt").write_bytes(b"\x00\x01\x02\x03" * 100)
    (docs / "latin1.md").write_bytes("caf\xe9".encode("latin-1"))
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a pdf")
    (docs / "huge.md").write_text("big " * 300_000)
    (docs / "fresh.md").write_text("Otters hold hands while they sleep.\n")
    (docs / "tea.txt").write_text("Oolong tea is partly oxidised.\n")
    bump_mtime(docs / "tea.txt")
    report = Indexer(index, embedder, max_file_bytes=1_000_000).run([docs])
    failed = {Path(p).name: reason for p, reason in report.failed}
    assert failed.keys() == {"binary.txt", "broken.pdf"}
    assert "binary" in failed["binary.txt"]
    assert "PDF" in failed["broken.pdf"]
    assert {Path(s.path).name: s.reason for s in report.skipped} == {
        "huge.md": "larger than the 1 MB limit"
    }
    # Latin-1 text is read (cp1252 decodes it alike) and the summary says so.
    assert [Path(p).name for p in report.added] == ["fresh.md", "latin1.md"]
    assert [(Path(p).name, w) for p, w in report.warnings] == [
        ("latin1.md", "read as cp1252 (not UTF-8)")
    ]
    assert index.keyword_search("café", 1)
    assert top_path(index, embedder, "do otters hold hands?") == "fresh.md"
    assert top_path(index, embedder, "what is the bicycle chain oil interval") == "bikes.rst"


def test_a_file_that_turns_bad_keeps_its_last_good_version(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path
) -> None:
    indexer.run([docs])
    (docs / "tea.txt").write_bytes(b"\xff\xfe\x00\x00garbage")
    bump_mtime(docs / "tea.txt")
    report = Indexer(index, embedder).run([docs])
    assert [Path(p).name for p, _ in report.failed] == ["tea.txt"]
    assert top_path(index, embedder, "green tea steeping temperature") == "tea.txt"


def test_a_file_deleted_during_the_run_is_reported(
    index: DocumentIndex, embedder: Embedder, docs: Path
) -> None:
    victim = docs / "zzz-last.md"
    victim.write_text("This file disappears mid-run.\n")

    class DeleteOnFirstFile:
        def start(self, total: int, label: str, unit: str = "") -> None:
            pass

        def advance(self, steps: int = 1, note: str = "") -> None:
            victim.unlink(missing_ok=True)

    report = Indexer(index, embedder, progress=DeleteOnFirstFile(), embed_batch_chunks=1).run(
        [docs]
    )
    assert report.failed == [(str(victim.resolve()), "deleted during the run")]
    assert len(report.added) == 4


def test_other_embedder_or_chunk_settings_need_rebuild(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path
) -> None:
    indexer.run([docs])
    other = Indexer(index, embedder, ChunkOptions(max_tokens=128, overlap_tokens=16))
    with pytest.raises(IndexMismatch, match="--rebuild"):
        other.run([docs])
    assert index.store.counts().files == 4  # nothing lost by the refusal
    report = other.run([docs], rebuild=True)
    assert len(report.added) == 4
    assert report.chunks_embedded == 0  # same embedder, same texts: vectors are reused
    settings = index.settings()
    assert settings is not None and settings.max_tokens == 128


def test_a_missing_path_is_bad_input(indexer: Indexer, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such file or folder"):
        indexer.run([tmp_path / "nope"])


def test_run_without_paths_refreshes_known_roots(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path
) -> None:
    indexer.run([docs])
    (docs / "new.md").write_text("Penguins live in the southern hemisphere.\n")
    report = Indexer(index, embedder).run([])
    assert [Path(p).name for p in report.added] == ["new.md"] and report.unchanged == 4


def test_two_folders_share_an_index_without_removing_each_other(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "owls.md").write_text("Owls can turn their heads 270 degrees.\n")
    indexer.run([docs])
    report = Indexer(index, embedder).run([other])
    assert report.removed == [] and index.store.counts().files == 5


def test_workspace_lists_indexes(workspace: Workspace, indexer: Indexer, docs: Path) -> None:
    indexer.run([docs])
    assert workspace.index_names() == ["default"]


def test_a_full_disk_stops_the_run_and_loses_nothing(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path
) -> None:
    import sqlite3

    indexer.run([docs])
    for number in range(30):
        (docs / f"more-{number}.md").write_text(f"Extra note {number}. " + "filler " * 150)
    # SQLite's own page limit raises the very error a full disk does (SQLITE_FULL).
    pages = index.store._conn.execute("PRAGMA page_count").fetchone()[0]
    index.store._conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    with pytest.raises(sqlite3.OperationalError, match="full"):
        Indexer(index, embedder).run([docs])
    assert index.store.integrity_ok()
    assert top_path(index, embedder, "green tea steeping time") == "tea.txt"
    index.store._conn.execute("PRAGMA max_page_count = 1073741823")
    report = Indexer(index, embedder).run([docs])
    assert index.store.counts().files == 34 and report.failed == []


def test_a_rebuild_with_a_mistyped_path_keeps_the_index(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path, tmp_path: Path
) -> None:
    indexer.run([docs])
    with pytest.raises(BadInput):
        Indexer(index, embedder).run([tmp_path / "dcos"], rebuild=True)
    assert index.store.counts().files == 4


def test_a_reader_sees_what_another_process_indexed(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path
) -> None:
    indexer.run([docs])
    with DocumentIndex.open(index.directory) as reader:
        assert top_path(reader, embedder, "green tea") == "tea.txt"
        (docs / "otters.md").write_text("Sea otters hold hands while they sleep.\n")
        Indexer(index, embedder).run([docs])
        assert top_path(reader, embedder, "do sea otters hold hands?") == "otters.md"


class _RecordingProgress:
    def __init__(self) -> None:
        self.total = -1
        self.unit = ""
        self.steps: list[tuple[int, str]] = []

    def start(self, total: int, label: str, unit: str = "") -> None:
        self.total, self.unit = total, unit

    def advance(self, steps: int = 1, note: str = "") -> None:
        self.steps.append((steps, note))


def test_progress_counts_bytes_as_batches_embed_and_ends_at_the_total(
    index: DocumentIndex, embedder: Embedder, docs: Path, tmp_path: Path
) -> None:
    write_paragraphs(docs / "long.md", 2500, "rivers")  # several embedding slices of its own
    progress = _RecordingProgress()
    Indexer(index, embedder, progress=progress).run([docs])
    sizes = sum(p.stat().st_size for p in docs.rglob("*") if p.is_file())
    assert progress.unit == "bytes" and progress.total == sizes
    assert sum(steps for steps, _ in progress.steps) == progress.total  # 100 % at the end
    # The bar moves while the batch embeds, not only once its files are committed.
    assert len([steps for steps, _ in progress.steps if steps > 0]) >= 4
    assert progress.steps[-1][1].endswith("/s") and " chunks, " in progress.steps[-1][1]
    again = _RecordingProgress()
    Indexer(index, embedder, progress=again).run([docs])
    assert again.total == 0 and sum(steps for steps, _ in again.steps) == 0  # nothing to read
