"""Databases and caches after crashes, damage and races: repaired or reported, never a traceback."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from gptchat.index.document_index import DocumentIndex
from gptchat.workspace import Workspace
from tests.conftest import run_cli

RACE = """
import sys, time
from pathlib import Path
from gptchat.index.store import IndexStore
from gptchat.log.store import AppStore
folder, start = Path(sys.argv[1]), float(sys.argv[2])
while time.time() < start:
    pass
IndexStore(folder / "index.db").close()
AppStore(folder / "gptchat.db").close()
"""


def test_commands_started_together_on_new_databases_all_succeed(tmp_path: Path) -> None:
    start = time.time() + 4  # every process imported and waiting when the moment comes
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", RACE, str(tmp_path), str(start)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    errors = [run.communicate(timeout=120)[1] for run in runs]
    assert [run.returncode for run in runs] == [0] * 6, errors


@pytest.fixture
def indexed(monkeypatch, capsys, docs: Path, workspace: Workspace) -> Path:
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    return workspace.index_dir("default")


@pytest.mark.parametrize("damage", [b"", b"junk, not a FAISS index", "truncated"])
def test_a_damaged_vector_cache_is_rebuilt_from_the_database(
    monkeypatch, capsys, indexed: Path, tiny_model_dir: Path, damage: bytes | str
) -> None:
    cache = indexed / "vectors.faiss"
    good = cache.read_bytes()
    cache.write_bytes(good[: len(good) // 2] if damage == "truncated" else damage)
    code, out, err = run_cli(
        monkeypatch, capsys, "ask", "What is lava?", "--model", str(tiny_model_dir)
    )
    assert code == 0 and "Sources:" in out
    assert "vectors.faiss is damaged" in err and "rebuilt from index.db" in err
    assert cache.read_bytes() == good  # saved again, whole


def test_an_index_run_repairs_a_stale_cache_and_removes_leftovers(
    monkeypatch, capsys, indexed: Path, docs: Path, workspace: Workspace
) -> None:
    old = (indexed / "vectors.faiss").read_bytes()
    (docs / "tea.txt").write_text("Oolong tea is steeped for three minutes.\n")
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    fresh = (indexed / "vectors.faiss").read_bytes()
    # A crash after the commit, before the cache was saved: the old cache is on disk.
    (indexed / "vectors.faiss").write_bytes(old)
    with DocumentIndex.open(indexed) as index:
        index.store.set_manifest({"vectors_version": "0"})
    (indexed / ".vectors-999999999-abc.tmp").write_bytes(b"half a cache")
    (indexed / ".vectors-old.tmp").write_bytes(b"from an older run")
    workspace.models_dir.mkdir(parents=True, exist_ok=True)
    (workspace.models_dir / ".new-version-999999999-x").mkdir()
    code, out, _ = run_cli(monkeypatch, capsys, "index", str(docs))
    assert code == 0 and "unchanged 4" in out
    with DocumentIndex.open(indexed) as index:
        assert index.vectors_saved()
    assert (indexed / "vectors.faiss").read_bytes() == fresh
    assert not list(indexed.glob(".vectors-*"))
    mine = indexed / ".vectors-1-in-use.tmp"  # pid 1 is running: its file is left alone
    mine.write_bytes(b"")
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0 and mine.exists()
