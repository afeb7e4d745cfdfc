"""Approximate vector search for big indexes: an IVF cache trained from the stored vectors,
with measured recall against the exact scan, chosen by size or by option."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gptchat.answer.retriever import Retriever
from gptchat.index import document_index as document_index_module
from gptchat.index.catalog import index_embedder, open_searchable_index
from gptchat.index.document_index import VECTORS_FILE
from gptchat.index.vectors import VectorCache, list_count
from gptchat.workspace import Workspace
from tests.conftest import run_cli


def clustered(count: int, dimension: int = 32, clusters: int = 100, seed: int = 0) -> np.ndarray:
    """Unit vectors around random centres, as embeddings of related passages lie."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dimension))
    points = centres[rng.integers(0, clusters, count)] + 0.4 * rng.normal(size=(count, dimension))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def batches_of(ids: np.ndarray, vectors: np.ndarray, size: int = 1_000):
    return lambda: ((ids[i : i + size], vectors[i : i + size]) for i in range(0, len(ids), size))


def test_an_ivf_cache_finds_what_the_exact_scan_finds(tmp_path: Path) -> None:
    vectors = clustered(20_000)
    ids = np.arange(5, 20_005, dtype=np.int64)  # chunk ids need not start at 0
    exact = VectorCache.from_batches(32, batches_of(ids, vectors)())
    approximate = VectorCache.approximate_from(32, batches_of(ids, vectors), len(ids))
    assert approximate.approximate and not exact.approximate
    assert approximate.lists == list_count(20_000) and len(approximate) == 20_000
    queries = clustered(200, seed=1)
    recall = np.mean(
        [
            len({i for i, _ in exact.search(q, 10)} & {i for i, _ in approximate.search(q, 10)})
            / 10
            for q in queries
        ]
    )
    assert recall >= 0.9, recall
    # Kept in step like the exact cache: removals, additions, ids, a save and a load.
    approximate.remove([5, 6, 7])
    approximate.add(np.array([30_000], dtype=np.int64), vectors[:1])
    assert approximate.ids() == (set(ids.tolist()) - {5, 6, 7}) | {30_000}
    path = tmp_path / VECTORS_FILE
    approximate.save(path)
    loaded = VectorCache.load(path)
    assert loaded.approximate and len(loaded) == len(approximate)
    assert loaded.search(vectors[0], 1)[0][0] == 30_000  # the removed 5 held the same vector


def test_index_vectors_option_switches_the_cache_and_retrieval_still_finds(
    monkeypatch: pytest.MonkeyPatch, capsys, docs: Path, workspace: Workspace
) -> None:
    path = workspace.index_dir("default") / VECTORS_FILE
    assert run_cli(monkeypatch, capsys, "index", str(docs), "--vectors", "approximate")[0] == 0
    assert VectorCache.load(path).approximate

    def best_hit(question: str) -> str:
        with open_searchable_index(workspace, "default") as index:
            return Retriever(index, index_embedder(index)).retrieve(question).hits[0].path

    assert best_hit("What do batteries store?").endswith("solar.md")
    # New files go into the trained lists; the choice is kept without the option.
    (docs / "owls.md").write_text("# Owls\n\nOwls hunt at night and sleep by day.\n")
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    assert VectorCache.load(path).approximate
    assert best_hit("When do owls hunt?").endswith("owls.md")
    # Back to exact with nothing changed: the cache alone is rebuilt, nothing re-embedded.
    code, out, _ = run_cli(monkeypatch, capsys, "index", str(docs), "--vectors", "exact")
    assert code == 0 and "unchanged 5" in out and "embedded with" not in out
    assert not VectorCache.load(path).approximate


def test_auto_goes_approximate_once_the_index_is_big(
    monkeypatch: pytest.MonkeyPatch, capsys, docs: Path, workspace: Workspace
) -> None:
    monkeypatch.setattr(document_index_module, "APPROXIMATE_FROM", 6)  # a big index, in miniature
    path = workspace.index_dir("default") / VECTORS_FILE
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    assert not VectorCache.load(path).approximate  # 5 chunks: an exact scan
    (docs / "owls.md").write_text("# Owls\n\nOwls hunt at night and sleep by day.\n")
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    assert VectorCache.load(path).approximate  # 6 chunks: past the threshold
