"""A folder that cannot be read, moved away or unmounted keeps what the index holds of it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from gptchat.index.document_index import DocumentIndex
from gptchat.index.embedder import Embedder
from gptchat.index.indexer import ROOT_BARE, ROOT_MISSING, Indexer
from gptchat.ingest import walker
from gptchat.workspace import Workspace
from tests.conftest import run_cli, write_paragraphs


@pytest.fixture
def unreadable(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[Path]]:
    """Folders put in this set cannot be listed: mode 000, and for root (whom mode bits do
    not stop) listing them fails as it would for anyone else."""
    locked: set[Path] = set()
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if Path(path) in locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(walker.os, "scandir", scandir)
    yield locked


def lock(locked: set[Path], folder: Path) -> None:
    folder.chmod(0)
    locked.add(folder.resolve())


def indexed_names(index: DocumentIndex) -> list[str]:
    return sorted(Path(p).name for p in index.files_under("/"))


def test_an_unreadable_sub_folder_keeps_its_files(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path, unreadable: set[Path]
) -> None:
    indexer.run([docs])
    guides = docs / "guides"
    lock(unreadable, guides)
    try:
        (docs / "tea.txt").unlink()  # a file whose folder was read and is gone still leaves
        report = Indexer(index, embedder).run([docs])
    finally:
        guides.chmod(0o755)
    assert [Path(p).name for p in report.removed] == ["tea.txt"]
    assert indexed_names(index) == ["bikes.rst", "page.html", "solar.md"]
    (kept,) = report.kept
    assert kept.place == str(guides.resolve()) and kept.files == 2
    assert "unreadable folder (Permission denied)" in kept.reason
    # Readable again: nothing to redo, the files were never dropped.
    unreadable.clear()
    again = Indexer(index, embedder).run([])
    assert again.added == again.removed == [] and again.kept == [] and again.unchanged == 3


def test_an_unreadable_root_keeps_every_file(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path, unreadable: set[Path]
) -> None:
    indexer.run([docs])
    lock(unreadable, docs)
    try:
        report = Indexer(index, embedder).run([])
    finally:
        docs.chmod(0o755)
    assert report.removed == [] and len(indexed_names(index)) == 4
    assert [(k.place, k.files) for k in report.kept] == [(str(docs.resolve()), 4)]


def test_a_moved_folder_keeps_its_files_until_forgotten(
    indexer: Indexer,
    index: DocumentIndex,
    embedder: Embedder,
    docs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    indexer.run([docs])
    moved = docs.rename(tmp_path / "elsewhere")
    report = Indexer(index, embedder).run([])
    assert report.removed == [] and len(indexed_names(index)) == 4
    assert [(k.place, k.reason, k.files) for k in report.kept] == [
        (str(docs.resolve()), ROOT_MISSING, 4)
    ]
    assert report.empty_roots == []  # no "nothing to index" beside the warning that says why
    # Back where it was (a drive mounted again): nothing is read again.
    moved.rename(docs)
    back = Indexer(index, embedder).run([])
    assert back.kept == [] and back.unchanged == 4 and back.removed == []
    # Gone for good: the user drops it on purpose, without it being there.
    shutil.rmtree(docs)
    index.close()
    code, out, err = run_cli(monkeypatch, capsys, "index", "--forget", str(docs))
    assert code == 0, err
    assert "dropped 4 files" in out
    with DocumentIndex.open(index.directory) as reopened:
        assert reopened.roots() == [] and reopened.counts().chunks == 0
        assert len(reopened.vectors()) == 0
    code, _, err = run_cli(monkeypatch, capsys, "index", "--forget", str(docs))
    assert code == 2 and "holds nothing at or below" in err


def test_an_empty_mount_point_keeps_its_files(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path
) -> None:
    indexer.run([docs])
    for entry in docs.iterdir():  # what an unmounted drive's mount point looks like
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    report = Indexer(index, embedder).run([])
    assert report.removed == [] and len(indexed_names(index)) == 4
    assert [(k.reason, k.files) for k in report.kept] == [(ROOT_BARE, 4)]
    # A folder that still holds anything at all was read: what left it is gone.
    (docs / ".keep").write_text("")
    report = Indexer(index, embedder).run([])
    assert len(report.removed) == 4 and report.kept == []


def test_a_deleted_single_file_root_leaves_but_one_on_a_missing_drive_stays(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path, tmp_path: Path
) -> None:
    note = docs / "tea.txt"
    indexer.run([note, docs / "guides"])
    note.unlink()
    report = Indexer(index, embedder).run([])
    assert [Path(p).name for p in report.removed] == ["tea.txt"]
    (docs / "guides").rename(tmp_path / "away")
    report = Indexer(index, embedder).run([])
    assert report.removed == [] and indexed_names(index) == ["bikes.rst", "page.html"]


def test_an_interrupted_first_run_does_not_record_its_root(
    index: DocumentIndex, embedder: Embedder, docs: Path
) -> None:
    class InterruptAtFirstProgress:
        def start(self, total: int, label: str, unit: str = "") -> None:
            pass

        def advance(self, steps: int = 1, note: str = "") -> None:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Indexer(index, embedder, progress=InterruptAtFirstProgress()).run([docs])
    assert index.roots() == []
    Indexer(index, embedder).run([docs])
    assert index.roots() == [str(docs.resolve())]


@pytest.mark.skipif(
    os.geteuid() == 0 and shutil.which("setpriv") is None,
    reason="running as root without setpriv: mode bits do not stop root",
)
def test_chmod_000_on_a_folder_loses_nothing_from_the_command_line(docs: Path) -> None:
    """The reported case, end to end: `chmod 000 docs/sub`, then `gptchat index`."""
    as_user = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    shared = Path(tempfile.mkdtemp(prefix="gptchat-unreadable-"))
    try:
        home, folder = shared / "home", shared / "docs"
        home.mkdir()
        shutil.copytree(docs, folder)
        if os.geteuid() == 0:
            for path in [shared, *shared.rglob("*")]:
                os.chown(path, 65534, 65534)
        else:
            as_user = []
        env = {**os.environ, "HOME": str(shared)}
        gptchat = [*as_user, sys.executable, "-m", "gptchat", "--home", str(home), "index"]
        first = subprocess.run([*gptchat, str(folder)], capture_output=True, text=True, env=env)
        assert first.returncode == 0, first.stderr
        (folder / "guides").chmod(0)
        second = subprocess.run(gptchat, capture_output=True, text=True, env=env)
        assert second.returncode == 0, second.stderr
        assert "removed 0" in second.stdout
        assert f"kept 2 indexed files under {folder / 'guides'}" in second.stdout
        assert "--forget" in second.stdout
        with DocumentIndex.open(Workspace(home).index_dir("default")) as index:
            assert index.counts().files == 4
    finally:
        (shared / "docs" / "guides").chmod(0o755)
        shutil.rmtree(shared)


def test_ctrl_c_during_embedding_stops_within_a_slice_and_keeps_what_was_committed(
    index: DocumentIndex, embedder: Embedder, docs: Path, tmp_path: Path
) -> None:
    """Ctrl-C while a large batch embeds: the run stops at the next slice of texts, not at the
    end of the batch, and what was committed before stays."""
    import signal
    import threading

    Indexer(index, embedder).run([docs])
    big = tmp_path / "big"
    big.mkdir()
    write_paragraphs(big / "many.md", 6000, "lighthouses")  # about 10 slices
    slices_after_signal: list[int] = []
    signalled = threading.Event()
    main_thread = threading.main_thread().ident
    assert main_thread is not None

    class CtrlCAfterFirstSlice:
        def start(self, total: int, label: str, unit: str = "") -> None:
            pass

        def advance(self, steps: int = 1, note: str = "") -> None:
            if threading.get_ident() == main_thread:
                return
            if signalled.is_set():
                slices_after_signal.append(steps)
            else:
                signalled.set()
                signal.pthread_kill(main_thread, signal.SIGINT)

    indexer = Indexer(index, embedder, progress=CtrlCAfterFirstSlice(), embed_batch_chunks=10_000)
    # Python's own Ctrl-C handler, whatever an earlier test (Ray, the app) left installed.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            indexer.run([big])
    finally:
        signal.signal(signal.SIGINT, previous)
    assert signalled.is_set() and len(slices_after_signal) <= 1
    assert len(indexed_names(index)) == 4 and index.roots() == [str(docs.resolve())]
