"""One file of every malformed kind beside good ones: each reported, none stops the run."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from benchmarks.malformed_inputs import FAILED, INDEXED, PARTLY, SKIPPED, build, can_make_devices
from gptchat.control_chars import strip_controls, visible
from gptchat.index.document_index import DocumentIndex
from gptchat.index.indexer import Indexer
from gptchat.ingest.chunker import Chunker, ChunkOptions
from gptchat.ingest.loaders import load_document

REASONS = {
    "links/loop-a-0.md": "symlink loop",
    "links/self-0.md": "symlink loop",
    "links/broken-0.md": "broken symlink",
    "special/pipe-0.md": "not a regular file (a named pipe)",
    "special/zero-0.txt": "not a regular file (a character device)",
    "names/bad-\\xff-0.md": "file name is not valid UTF-8",
    "docx/junk-types-0.docx": "corrupt DOCX (XMLSyntaxError",
    "docx/junk-document-0.docx": "corrupt DOCX (XMLSyntaxError",
    "docx/deep-0.docx": "corrupt DOCX",
    "pdf/garbage-page-0.pdf": "page 2: Error -3 while decompressing",
}


def test_every_malformed_kind_is_reported_and_the_good_files_are_indexed(
    tmp_path: Path, index: DocumentIndex, indexer: Indexer
) -> None:
    folder = tmp_path / "malformed"
    folder.mkdir()
    (folder / "before.md").write_text("The storedbefore text.\n")
    indexer.run([folder])
    cases = build(folder)
    report = indexer.run([folder])
    root = folder.resolve()
    reasons = {
        **{s.path: s.reason for s in report.skipped},
        **dict(report.failed),
        **dict(report.warnings),
    }
    stored = index.files_under(str(root))
    assert str(root / "before.md") in stored  # stored before the bad run, still there
    for case in cases:
        path = str(root / case.name)
        if case.expect in (SKIPPED, FAILED):
            assert path in reasons and path not in stored, case
        if case.expect == PARTLY:
            assert path in reasons and path in stored, case
        if case.expect == INDEXED:
            assert path in stored, case
        if case.marker:
            found = index.chunks([i for i, _ in index.keyword_search(case.marker, 5)])
            assert path in {chunk.path for chunk in found}, case
        if case.name in REASONS:
            assert REASONS[case.name] in reasons[path], (case, reasons[path])
    if not can_make_devices():
        assert not (folder / "special/zero-0.txt").exists()  # skipped: needs root to create


def test_documents_lose_their_escape_sequences_and_chunks_their_endless_words() -> None:
    text = "Plain \x1b[2J\x1b]0;PWNED\x07words\x00 and\ttabs\n"
    assert strip_controls(text) == "Plain words and\ttabs\n"
    assert visible("a\x1b[2Jb\x07") == "a\u241b[2Jb\u2407"
    document = load_document(Path("page.html"), b"<p>clear&#27;[2J me</p>")
    # The parser drops the control character reference (HTML forbids it), leaving inert text.
    assert document.blocks[0].text == "clear[2J me"
    from gptchat.index.embedder import Embedder

    chunker = Chunker(Embedder().token_counter(), ChunkOptions())
    endless = load_document(Path("a.txt"), b"Intro.\n\n" + b"x" * 200_000 + b"\n\nTail.")
    chunks = chunker.chunk(endless)
    assert max(len(c.text) for c in chunks) <= chunker.max_chars
    assert sum(c.text.count("x") for c in chunks) == 200_000  # cut, not dropped or repeated
    assert chunks[0].text.startswith("Intro.") and chunks[-1].text.endswith("Tail.")


def test_a_character_device_is_skipped_not_read(tmp_path: Path, indexer: Indexer) -> None:
    if not can_make_devices():
        pytest.skip("creating a character device needs root (os.mknod)")
    folder = tmp_path / "devices"
    folder.mkdir()
    os.mknod(folder / "zero.txt", 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # /dev/zero
    (folder / "fine.txt").write_text("Fine text.\n")
    report = indexer.run([folder])
    assert [Path(p).name for p in report.added] == ["fine.txt"]
    assert [(Path(s.path).name, s.reason) for s in report.skipped] == [
        ("zero.txt", "not a regular file (a character device)")
    ]
