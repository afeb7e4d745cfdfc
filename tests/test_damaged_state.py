"""Databases and caches after crashes, damage and races: repaired or reported, never a traceback."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
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


def test_a_damaged_index_is_named_listed_apart_and_rebuilt(
    monkeypatch, capsys, indexed: Path, docs: Path
) -> None:
    assert run_cli(monkeypatch, capsys, "index", str(docs), "--name", "notes")[0] == 0
    database = indexed / "index.db"
    damaged = bytearray(database.read_bytes())
    damaged[100:4000] = b"\xaa" * 3900  # the schema page overwritten
    database.write_bytes(bytes(damaged))
    code, _, err = run_cli(monkeypatch, capsys, "ask", "What is lava?")
    assert code == 1 and f"{database} is damaged" in err and "--rebuild --name default" in err
    assert "Traceback" not in err
    code, out, _ = run_cli(monkeypatch, capsys, "index", "--list")
    assert code == 0 and "DAMAGED" in out and "notes    4" in out
    code, out, err = run_cli(monkeypatch, capsys, "index", str(docs), "--rebuild")
    assert code == 0 and "added 4" in out and "kept as index.db.damaged-" in err
    [kept] = indexed.glob("index.db.damaged-*")
    assert kept.read_bytes() == bytes(damaged)  # set aside, not deleted
    database.write_bytes(b"")
    code, out, err = run_cli(monkeypatch, capsys, "index", str(docs))
    assert code == 0 and "is empty (0 bytes)" in err and "added 4" in out


def test_a_read_only_workspace_and_index_can_still_be_asked(
    monkeypatch, capsys, indexed: Path, workspace: Workspace, tiny_model_dir: Path
) -> None:
    assert (
        run_cli(monkeypatch, capsys, "ask", "What is lava?", "--model", str(tiny_model_dir))[0] == 0
    )
    # Root writes through any mode bits: the commands run as `nobody` then, from a copy
    # of the workspace every user can read.
    as_nobody: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: mode bits do not stop root")
        as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    shared = Path(tempfile.mkdtemp(prefix="gptchat-read-only-"))
    try:
        home, model = shared / "home", shared / "model"
        shutil.copytree(workspace.root, home)
        shutil.copytree(tiny_model_dir, model)
        for folder in [shared, *[p for p in shared.rglob("*") if p.is_dir()]]:
            folder.chmod(0o555)
        for file in (p for p in shared.rglob("*") if p.is_file()):
            file.chmod(0o444)
        run = functools.partial(
            subprocess.run,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "HOME": str(shared)},
        )
        gptchat = [*as_nobody, sys.executable, "-m", "gptchat", "--home", str(home)]
        asked = run([*gptchat, "ask", "What is magma?", "--model", str(model)])
        assert asked.returncode == 0 and "Sources:" in asked.stdout, asked.stderr
        assert "is read-only: nothing from this session is saved" in asked.stderr
        listed = run([*gptchat, "history"])
        assert listed.returncode == 0 and "What is lava?" in listed.stdout, listed.stderr
    finally:
        for path in [shared, *shared.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(shared)
