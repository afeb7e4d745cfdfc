"""The FAISS cache of chunk vectors: inner product over unit vectors, ids are chunk ids."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from gptchat.scratch import scratch_prefix


class VectorCache:
    """An `IndexIDMap2(IndexFlatIP)`; a cache that SQLite can always rebuild."""

    def __init__(self, dimension: int, index=None) -> None:  # index: faiss.IndexIDMap2
        import faiss

        self.dimension = dimension
        self._index = index or faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    @classmethod
    def load(cls, path: Path) -> VectorCache:
        import faiss

        index = faiss.read_index(str(path))
        return cls(index.d, index)

    @classmethod
    def from_batches(cls, dimension: int, batches: Iterable[tuple[np.ndarray, np.ndarray]]):
        cache = cls(dimension)
        for ids, vectors in batches:
            cache.add(ids, vectors)
        return cache

    def __len__(self) -> int:
        return self._index.ntotal

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            )

    def remove(self, ids: list[int]) -> None:
        if ids:
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top-k (chunk id, cosine similarity) for one unit-length query vector."""
        if len(self) == 0 or k <= 0:
            return []
        scores, ids = self._index.search(query.reshape(1, -1).astype(np.float32), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def ids(self) -> set[int]:
        import faiss

        return set(faiss.vector_to_array(self._index.id_map).tolist())

    def save(self, path: Path) -> None:
        """Write atomically: a temp file in the same folder, fsynced, then renamed over."""
        import faiss

        fd, temp = tempfile.mkstemp(
            dir=path.parent, prefix=scratch_prefix("vectors"), suffix=".tmp"
        )
        os.close(fd)
        try:
            faiss.write_index(self._index, temp)
            with open(temp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
