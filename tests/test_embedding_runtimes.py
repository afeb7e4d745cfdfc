"""Embedding runtimes: measured against PyTorch on real models, only equivalent ones share an
index, and a missing runtime falls back cleanly."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from gptchat.answer.retriever import Retriever
from gptchat.errors import BadInput
from gptchat.index import runtime_choice
from gptchat.index.catalog import index_embedder, open_searchable_index
from gptchat.index.embedder import Embedder, default_embedder_path
from gptchat.index.runtime_choice import EQUIVALENT_MIN_COSINE, choose, embedder_cache, measured
from gptchat.index.runtimes import load_runtime, unavailable_reason
from gptchat.workspace import Workspace
from tests.conftest import run_cli

MODEL = default_embedder_path()
FAST = [n for n in ("torch-bf16", "openvino", "openvino-f32") if not unavailable_reason(n, MODEL)]


@pytest.fixture(scope="module")
def measured_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache root where every runtime has been measured once (and OpenVINO exported)."""
    root = tmp_path_factory.mktemp("embedder-cache")
    measured(MODEL, embedder_cache(MODEL, root), (*runtime_choice.AUTO_CANDIDATES, "torch-int8"))
    return root


@pytest.fixture
def cache_root(measured_cache: Path, tmp_path: Path) -> Path:
    """A copy of the measured cache that a test may change."""
    return Path(shutil.copytree(measured_cache, tmp_path / "cache"))


def results(root: Path) -> dict:
    path = embedder_cache(MODEL, root) / "runtimes.json"
    return json.loads(path.read_text())["runtimes"]


def test_fast_runtimes_give_pytorchs_vectors_and_int8_does_not(measured_cache: Path) -> None:
    found = results(measured_cache)
    assert found["torch"]["min_cosine"] == 1.0
    for name in FAST:
        assert found[name]["reason"] == ""
        assert found[name]["min_cosine"] >= EQUIVALENT_MIN_COSINE, (name, found[name])
    int8 = found["torch-int8"]
    assert int8["reason"] == "" and int8["min_cosine"] < EQUIVALENT_MIN_COSINE
    # The check is real: the vectors themselves, on texts the probe never held.
    texts = ["Green tea is steeped at 80 degrees.", "Batteries store the surplus. " * 40]
    cache = embedder_cache(MODEL, measured_cache)
    reference = load_runtime("torch", MODEL, cache).encode(texts, 16)
    for name in FAST:
        vectors = load_runtime(name, MODEL, cache).encode(texts, 16)
        assert vectors.dtype == np.float32 and vectors.shape == reference.shape
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
        assert np.sum(vectors * reference, axis=1).min() >= EQUIVALENT_MIN_COSINE


def test_auto_picks_the_fastest_equivalent_runtime_and_keeps_the_embedder_name(
    cache_root: Path,
) -> None:
    found = results(cache_root)
    embedder = Embedder(cache_root=cache_root)
    chosen = embedder.runtime
    assert found[chosen]["min_cosine"] >= EQUIVALENT_MIN_COSINE
    equivalent = [n for n, m in found.items() if m["min_cosine"] >= EQUIVALENT_MIN_COSINE]
    fastest = max(equivalent, key=lambda n: found[n]["texts_per_s"])
    assert chosen in (fastest, "torch")
    assert embedder.name == "all-MiniLM-L6-v2"
    assert Embedder(cache_root=cache_root, runtime="torch-int8").name == (
        "all-MiniLM-L6-v2 (torch-int8)"
    )


def test_measurements_come_from_the_cache_and_are_redone_when_unreadable_or_stale(
    cache_root: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[list[str]] = []
    real_measure = runtime_choice.measure

    def counting_measure(model_dir: Path, cache: Path, names: list[str]) -> dict:
        calls.append(names)
        return real_measure(model_dir, cache, names)

    monkeypatch.setattr(runtime_choice, "measure", counting_measure)
    cache = embedder_cache(MODEL, cache_root)
    choose(MODEL, cache, "auto")
    assert calls == []  # read, not measured again
    path = cache / "runtimes.json"
    path.write_text("{ not json")
    choose(MODEL, cache, "auto")
    assert calls and "unreadable" in caplog.text
    stored = json.loads(path.read_text())
    stored["versions"]["torch"] = "0.0"  # measured under other libraries
    path.write_text(json.dumps(stored))
    calls.clear()
    choose(MODEL, cache, "auto")
    assert calls


def test_a_missing_runtime_falls_back_and_naming_it_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, docs: Path
) -> None:
    monkeypatch.setitem(sys.modules, "openvino", None)  # as if not installed
    assert "not installed" in (unavailable_reason("openvino", MODEL) or "")
    root = tmp_path / "cache"
    monkeypatch.setenv("GPTCHAT_CACHE_DIR", str(root))
    code, out, _ = run_cli(monkeypatch, capsys, "index", str(docs))
    assert code == 0 and "added 4" in out
    assert not results(root)["openvino"]["min_cosine"]  # recorded as not available
    assert "not installed" in results(root)["openvino"]["reason"]
    code, _, err = run_cli(monkeypatch, capsys, "index", str(docs), "--runtime", "openvino")
    assert code != 0 and "OpenVINO is not installed" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(BadInput, match="unknown embedding runtime"):
        Embedder(runtime="tensorflow").choice()


def test_only_equivalent_runtimes_share_an_index(
    cache_root: Path, monkeypatch: pytest.MonkeyPatch, capsys, docs: Path, workspace: Workspace
) -> None:
    monkeypatch.setenv("GPTCHAT_CACHE_DIR", str(cache_root))
    assert run_cli(monkeypatch, capsys, "index", str(docs), "--runtime", "torch")[0] == 0
    for name in FAST:  # the same embedder: new text goes into the same index
        (docs / f"{name}.md").write_text(f"# {name}\n\nThis note was embedded by {name}.\n")
        code, out, err = run_cli(monkeypatch, capsys, "index", str(docs), "--runtime", name)
        assert code == 0 and "added 1" in out and f"embedded with {name}" in out, err
    # Other vectors: refused, naming the way out, and nothing changes.
    code, _, err = run_cli(monkeypatch, capsys, "index", str(docs), "--runtime", "torch-int8")
    assert code == 3 and "--rebuild" in err and "torch-int8" in err
    code, out, _ = run_cli(
        monkeypatch, capsys, "index", str(docs), "--runtime", "torch-int8", "--rebuild"
    )
    assert code == 0 and "embedded with torch-int8" in out
    code, out, _ = run_cli(monkeypatch, capsys, "index", "--list")
    assert "all-MiniLM-L6-v2 (torch-int8)" in out
    # Questions are embedded by the index's own runtime, so they find its passages.
    with open_searchable_index(workspace, "default") as index:
        embedder = index_embedder(index)
        assert embedder.runtime == "torch-int8"
        [best, *_] = Retriever(index, embedder).retrieve("What do batteries store?").hits
        assert best.path.endswith("solar.md")
    # Back to the default: a plain run is refused until rebuilt, then names no runtime.
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 3
    assert run_cli(monkeypatch, capsys, "index", str(docs), "--rebuild")[0] == 0
    code, out, _ = run_cli(monkeypatch, capsys, "index", "--list")
    assert "(torch-int8)" not in out
