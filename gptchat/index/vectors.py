"""The FAISS cache of chunk vectors: inner product over unit vectors, ids are chunk ids.
Exact (a flat scan) for ordinary indexes; approximate (IVF) for big ones."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from gptchat.scratch import scratch_prefix

# From this many chunks on, `auto` searches approximately: there an exact scan takes about
# 140 ms a question on 2 cores, while below it building the lists (a minute, and about 0.4 GB
# more at the peak than the flat cache) costs more than it saves (benchmarks/vector_benchmark.py).
APPROXIMATE_FROM = 1_000_000
# Lists of the inverted file each question visits: the recall/speed trade-off.
NPROBE = 32
# FAISS's k-means wants at least this many training points a list...
MIN_POINTS_PER_LIST = 39
# ...and more gives steadier lists.
TRAINING_POINTS_PER_LIST = 64

Batches = Iterable[tuple[np.ndarray, np.ndarray]]


def list_count(vectors: int) -> int:
    """Inverted lists for `vectors` vectors: about 4·√n, never fewer than
    MIN_POINTS_PER_LIST points each."""
    return max(1, min(int(4 * math.sqrt(vectors)), vectors // MIN_POINTS_PER_LIST))


class VectorCache:
    """`IndexIDMap2(IndexFlatIP)` (exact) or `IndexIVFFlat` (approximate); a cache that
    SQLite can always rebuild."""

    def __init__(self, dimension: int, index=None) -> None:  # index: a faiss index
        import faiss

        self.dimension = dimension
        self._index = index or faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        if self.approximate:
            self._index.nprobe = min(NPROBE, self._index.nlist)

    @classmethod
    def load(cls, path: Path) -> VectorCache:
        import faiss

        index = faiss.read_index(str(path))
        return cls(index.d, index)

    @classmethod
    def from_batches(cls, dimension: int, batches: Batches) -> VectorCache:
        """An exact cache of every (ids, vectors) batch."""
        cache = cls(dimension)
        for ids, vectors in batches:
            cache.add(ids, vectors)
        return cache

    @classmethod
    def approximate_from(
        cls, dimension: int, batches: Callable[[], Batches], total: int
    ) -> VectorCache:
        """An IVF cache of `total` vectors: lists trained on an even sample of them (one pass
        over `batches()`), then every vector added (a second pass)."""
        import faiss

        lists = list_count(total)
        step = max(1, total // (lists * TRAINING_POINTS_PER_LIST))
        # Copies, not views: a view would keep its whole batch alive, all of them at once.
        picked = [
            vectors[(-offset) % step :: step].copy() for offset, (_, vectors) in _offsets(batches())
        ]
        sample = np.concatenate(picked or [np.zeros((0, dimension), dtype=np.float32)])
        del picked
        index = faiss.IndexIVFFlat(
            faiss.IndexFlatIP(dimension), dimension, lists, faiss.METRIC_INNER_PRODUCT
        )
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        del sample  # gone before the vectors are added: the peak is the lists, not both
        cache = cls(dimension, index)
        for ids, vectors in batches():
            cache.add(ids, vectors)
        return cache

    @property
    def approximate(self) -> bool:
        import faiss

        return isinstance(self._index, faiss.IndexIVF)

    @property
    def lists(self) -> int:
        """Inverted lists (0 for an exact cache)."""
        return int(self._index.nlist) if self.approximate else 0

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

        if not self.approximate:
            return set(faiss.vector_to_array(self._index.id_map).tolist())
        lists = self._index.invlists
        found: set[int] = set()
        for number in range(self._index.nlist):
            size = lists.list_size(number)
            if size:
                found.update(faiss.rev_swig_ptr(lists.get_ids(number), size).tolist())
        return found

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


def _offsets(batches: Batches) -> Iterable[tuple[int, tuple[np.ndarray, np.ndarray]]]:
    """Each batch with the number of vectors before it."""
    offset = 0
    for ids, vectors in batches:
        yield offset, (ids, vectors)
        offset += len(ids)
