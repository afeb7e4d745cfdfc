"""`gptchat index --ray` on a real local Ray instance with two workers: the same index as the
plain path, incremental, bad files reported, kill -9 safe."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gptchat.index.document_index import DocumentIndex
from gptchat.workspace import INDEX_DB, Workspace
from tests.conftest import run_cli, write_paragraphs

pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'gptchat[ray]'")
pytestmark = pytest.mark.slow


def index_contents(workspace: Workspace) -> tuple[list[tuple], int, int]:
    """Every chunk as (file, position, text hash, file hash), stored vectors, FAISS vectors."""
    with DocumentIndex.open(workspace.index_dir("default")) as index:
        rows = index.store._conn.execute(
            "SELECT files.path, chunks.ord, chunks.text_hash, files.content_hash"
            " FROM chunks JOIN files ON files.id = chunks.file_id ORDER BY 1, 2"
        ).fetchall()
        return rows, index.counts().embeddings, len(index.vectors())


def summary(out: str) -> list[str]:
    """The summary lines without the run's time."""
    first, *rest = out.splitlines()
    return [first.split(":", 1)[1], *rest]


@pytest.fixture
def folder(tmp_path: Path, docs: Path) -> Path:
    """The shared small documents, a text two files share, a long file and a binary .txt."""
    for number in range(6):
        write_paragraphs(docs / f"note-{number}.md", 12, f"river{number}")
    shared = "The lighthouse keeper logs every passing ship in a ledger.\n"
    (docs / "copy-a.txt").write_text(shared)
    (docs / "copy-b.txt").write_text(shared)
    (docs / "broken.txt").write_bytes(b"\x00\xff\x00binary" * 50)
    return docs


def test_ray_builds_the_same_index_as_the_plain_path_and_stays_incremental(
    folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plain_home, ray_home = tmp_path / "plain", tmp_path / "ray"
    plain, on_ray = Workspace(plain_home), Workspace(ray_home)

    def both(*args: str) -> tuple[str, str]:
        code, plain_out, err = run_cli(monkeypatch, capsys, "--home", str(plain_home), *args)
        assert code == 0, err
        code, ray_out, err = run_cli(
            monkeypatch, capsys, "--home", str(ray_home), *args, "--ray", "--ray-workers", "2"
        )
        assert code == 0, err
        return plain_out, ray_out

    plain_out, ray_out = both("index", str(folder))
    assert summary(ray_out) == summary(plain_out)
    assert "added 12," in ray_out and "failed 1" in ray_out
    assert "broken.txt" in ray_out
    assert index_contents(on_ray) == index_contents(plain)
    rows, stored, in_faiss = index_contents(on_ray)
    assert len(rows) == in_faiss > 12 and stored == len({row[2] for row in rows})

    # An edit, a deletion, a touch with the same content, a new file: the same changes.
    write_paragraphs(folder / "note-0.md", 13, "river0")
    (folder / "note-1.md").unlink()
    os.utime(folder / "tea.txt", ns=(1, 1))
    (folder / "fresh.md").write_text("# Fresh\n\nA new page about tides.\n")
    plain_out, ray_out = both("index", str(folder))
    assert summary(ray_out) == summary(plain_out)
    assert "added 1, updated 1, removed 1, unchanged 10" in ray_out
    assert index_contents(on_ray) == index_contents(plain)

    plain_out, ray_out = both("index", str(folder))
    assert "added 0, updated 0, removed 0, unchanged 12" in ray_out
    assert index_contents(on_ray) == index_contents(plain)


def test_a_folder_after_ray_is_taken_for_a_misplaced_path(
    docs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run_cli(monkeypatch, capsys, "index", "--ray", str(docs))
    assert code == 2
    assert "put PATH before --ray" in err and len(err.strip().splitlines()) == 1


def test_a_cluster_that_does_not_answer_is_a_one_line_error(
    docs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, _out, err = run_cli(monkeypatch, capsys, "index", str(docs), f"--ray=127.0.0.1:{port}")
    assert code == 2
    assert f"cannot reach the Ray cluster at 127.0.0.1:{port}" in err
    assert len(err.strip().splitlines()) == 1


def test_without_ray_installed_the_error_says_how_to_install_it(
    docs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    code, _out, err = run_cli(monkeypatch, capsys, "index", str(docs), "--ray")
    assert code == 2
    assert "pip install 'gptchat[ray]'" in err


def committed_files(db_path: Path) -> int:
    try:
        with sqlite3.connect(db_path, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM files").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # no database or no schema yet


def test_kill_9_of_a_ray_run_keeps_what_was_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "many"
    docs.mkdir()
    for number in range(120):
        write_paragraphs(docs / f"note-{number:03}.md", 3, f"animal{number}")
    home = tmp_path / "killed"
    command = [sys.executable, "-m", "gptchat", "--home", str(home), "index", str(docs), "--ray"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db_path = Workspace(home).index_dir("default") / INDEX_DB
    deadline = time.monotonic() + 180
    while committed_files(db_path) < 5 and time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before it could be killed"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    survivors = committed_files(db_path)
    assert 5 <= survivors < 120

    code, out, err = run_cli(monkeypatch, capsys, "--home", str(home), "index", str(docs))
    assert code == 0, err
    assert f"added {120 - survivors}," in out and f"unchanged {survivors}," in out
    rows, _stored, in_faiss = index_contents(Workspace(home))
    assert len({row[0] for row in rows}) == 120 and len(rows) == in_faiss
