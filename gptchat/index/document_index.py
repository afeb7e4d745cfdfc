"""One named index: its SQLite store (the truth) and its FAISS cache, kept in step."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gptchat.errors import BadInput, DamagedIndex, IndexMismatch
from gptchat.index.store import ChunkRecord, FileRecord, FileState, IndexStore, StoreCounts
from gptchat.index.vectors import APPROXIMATE_FROM, VectorCache, list_count
from gptchat.ingest.chunker import Chunk
from gptchat.safe_files import refuse_link
from gptchat.sqlite import Closing, now_iso
from gptchat.workspace import INDEX_DB

if TYPE_CHECKING:
    from collections.abc import Iterable

    from gptchat.index.vectors import VectorCache
    from gptchat.ingest.chunker import Chunk

VECTORS_FILE = "vectors.faiss"
VECTOR_SEARCH = ("auto", "exact", "approximate")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexRecipe:
    """What an index's vectors and chunks depend on; a mismatch needs --rebuild."""

    embedder: str
    dimension: int
    max_tokens: int
    overlap_tokens: int

    def describe(self) -> str:
        return (
            f"embedder {self.embedder} ({self.dimension}-d), "
            f"chunks of {self.max_tokens} tokens with {self.overlap_tokens} overlap"
        )


@dataclass(frozen=True)
class IndexSummary:
    """One line of `gptchat index --list`."""

    name: str
    files: int
    chunks: int
    embedder: str
    size_bytes: int
    updated: str | None
    problem: str = ""  # why the index cannot be read, when it cannot
    runtime: str = ""  # what last ran the embedder for it


class DocumentIndex(Closing):
    """An index folder: `index.db` plus `vectors.faiss`, rebuilt from the database when stale."""

    def __init__(self, directory: Path, store: IndexStore) -> None:
        self.directory = directory
        self.store = store
        self._vectors: VectorCache | None = None
        self._vectors_version = -1  # the database version the in-memory cache matches

    @classmethod
    def open(cls, directory: Path, create: bool = False, start_over: bool = False) -> DocumentIndex:
        """Open an index folder; with `create`, make it if missing.

        With `start_over` (`index --rebuild`), a damaged index.db is set aside and a new one
        begun; otherwise it is a DamagedIndex error that says so.
        """
        db_path = directory / INDEX_DB
        for folder in (directory.parent, directory):  # indexes/ and indexes/NAME
            refuse_link(folder)
        if not db_path.is_file():
            if not create:
                raise BadInput(f"no index at {directory} (build one with `gptchat index PATH`)")
            directory.mkdir(parents=True, exist_ok=True)
        elif db_path.stat().st_size == 0:
            log.warning("%s is empty (0 bytes): it starts again as a new, empty index", db_path)
        try:
            return cls(directory, IndexStore(db_path))
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):  # locked, unreadable: not damage
                raise
            if not start_over:
                raise DamagedIndex(
                    f"{db_path} is damaged ({exc}); your documents can rebuild it: "
                    f"gptchat index PATH --rebuild --name {directory.name}"
                ) from exc
        aside = _set_aside(db_path)
        log.warning("%s was damaged; kept as %s, the index starts over", db_path, aside.name)
        return cls(directory, IndexStore(db_path))

    def close(self) -> None:
        self.store.close()

    @property
    def name(self) -> str:
        return self.directory.name

    # -- settings ---------------------------------------------------------------------------

    def settings(self) -> IndexRecipe | None:
        manifest = self.store.manifest()
        if "embedder" not in manifest:
            return None
        return IndexRecipe(
            embedder=manifest["embedder"],
            dimension=int(manifest["dimension"]),
            max_tokens=int(manifest["max_tokens"]),
            overlap_tokens=int(manifest["overlap_tokens"]),
        )

    def check_settings(self, wanted: IndexRecipe) -> None:
        """Raise IndexMismatch unless the index is new or was built with `wanted`."""
        current = self.settings()
        if current is not None and current != wanted:
            raise IndexMismatch(
                f"index '{self.name}' was built with {current.describe()}; this run uses "
                f"{wanted.describe()}. Run `gptchat index --name {self.name} --rebuild` "
                "to rebuild it with the new settings."
            )

    def adopt_settings(self, wanted: IndexRecipe) -> None:
        """Start over under new settings; embeddings survive if the embedder is unchanged."""
        current = self.settings()
        self.store.clear()
        if current is None or (current.embedder, current.dimension) != (
            wanted.embedder,
            wanted.dimension,
        ):
            self.store.clear_embeddings()
        self.store.set_manifest({key: str(value) for key, value in asdict(wanted).items()})

    # -- files: SQLite and FAISS kept in step ---------------------------------------------

    def replace_file(
        self,
        state: FileState,
        chunks: list[Chunk],
        new_vectors: dict[str, np.ndarray],
        known: dict[str, np.ndarray],
    ) -> None:
        """Store a file's chunks (one transaction) and update the FAISS cache to match.

        `new_vectors` are the embeddings not stored yet. `known` holds the vectors the caller
        has at hand, by text hash; the ones read from the database are added to it, so a text
        shared by the files of one batch is read once.
        """
        cache = self.vectors()  # loaded before the commit, so it matches the database it read
        removed, added = self.store.replace_file(state, chunks, new_vectors)
        cache.remove(removed)
        if added:
            stored = sorted({text_hash for _, text_hash in added} - known.keys())
            known.update(self.store.vectors_for_hashes(stored, cache.dimension))
            ids = np.array([chunk_id for chunk_id, _ in added], dtype=np.int64)
            cache.add(ids, np.stack([known[text_hash] for _, text_hash in added]))
        self.vectors_updated()

    def delete_file(self, path: str) -> None:
        """Forget a file in SQLite and in the FAISS cache."""
        cache = self.vectors()  # loaded before the delete commits, as above
        cache.remove(self.store.delete_file(path))
        self.vectors_updated()

    def forget_under(self, place: str) -> list[str]:
        """Drop the files and roots at or below `place`, read or not; returns the files."""
        cache = self.vectors()  # loaded before the delete commits, as above
        paths, removed = self.store.forget_under(place)
        cache.remove(removed)
        self.vectors_updated()
        return paths

    def touch_file(self, file_id: int, size: int, mtime_ns: int) -> None:
        self.store.touch_file(file_id, size, mtime_ns)

    def files_under(self, root: str) -> dict[str, FileRecord]:
        return self.store.files_under(root)

    def file_chunks(self, path: str) -> list[ChunkRecord]:
        return self.store.file_chunks(path)

    def file_text_hashes(self, path: str) -> set[str]:
        return self.store.file_text_hashes(path)

    def paths_ending(self, suffix: str) -> list[str]:
        return self.store.paths_ending(suffix)

    def missing_hashes(self, hashes: Iterable[str]) -> set[str]:
        return self.store.missing_hashes(hashes)

    def drop_unused_embeddings(self) -> int:
        return self.store.drop_unused_embeddings()

    # -- roots, manifest, counts -------------------------------------------------------------

    def roots(self) -> list[str]:
        return self.store.roots()

    def add_root(self, path: str) -> None:
        self.store.add_root(path)

    def manifest(self) -> dict[str, str]:
        return self.store.manifest()

    def set_manifest(self, values: dict[str, str]) -> None:
        self.store.set_manifest(values)

    def counts(self) -> StoreCounts:
        return self.store.counts()

    def chunk_ids(self) -> list[int]:
        return self.store.chunk_ids()

    # -- vectors ----------------------------------------------------------------------------

    def vectors(self) -> VectorCache:
        """The FAISS cache as of the database now: kept, loaded, or rebuilt from SQLite.

        Another process may have indexed since this one loaded it, so the version is checked
        on every call (one small query).
        """
        version = self.store.data_version()
        if self._vectors is None or self._vectors_version != version:
            path = self.directory / VECTORS_FILE
            if self.vectors_saved():
                try:
                    self._vectors = self._load_vectors(VectorCache, path)
                    self._vectors_version = version
                except (RuntimeError, OSError, ValueError) as exc:
                    # A cache: whatever is wrong with the file, SQLite holds every vector.
                    reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "empty"
                    log.warning("%s is damaged (%s); rebuilt from %s", path, reason, INDEX_DB)
                    self.rebuild_vectors()
            else:
                self.rebuild_vectors()
        return self._vectors

    def vectors_saved(self) -> bool:
        """Whether vectors.faiss was saved at the database's current version."""
        saved = self.store.manifest().get("vectors_version") == str(self.store.data_version())
        return saved and (self.directory / VECTORS_FILE).is_file()

    def _load_vectors(self, cache_type: type[VectorCache], path: Path) -> VectorCache:
        cache = cache_type.load(path)
        settings, chunks = self.settings(), self.counts().chunks
        if settings is not None and cache.dimension != settings.dimension:
            raise ValueError(f"{cache.dimension} dimensions, not {settings.dimension}")
        if len(cache) != chunks:
            raise ValueError(f"{len(cache)} vectors for {chunks} chunks")
        return cache

    def vectors_updated(self) -> None:
        """Say that the caller changed the cache in step with its last database commit."""
        self._vectors_version = self.store.data_version()

    def rebuild_vectors(self) -> VectorCache:
        """Rebuild the FAISS cache from the stored embeddings (no re-embedding) and save it."""

        settings = self.settings()
        if settings is None:
            raise BadInput(f"index '{self.name}' is empty: add documents with `gptchat index PATH`")
        version = self.store.data_version()
        dimension, total = settings.dimension, self.counts().chunks
        self._vectors = None  # a big old cache goes before the new one is built: half the peak
        if self.wants_approximate(total):
            cache = VectorCache.approximate_from(
                dimension, lambda: self.store.vectors(dimension), total
            )
        else:
            cache = VectorCache.from_batches(dimension, self.store.vectors(dimension))
        self._vectors, self._vectors_version = cache, version
        try:
            self._write_vectors()
        except (OSError, sqlite3.OperationalError) as exc:
            # A read-only folder can still be searched: the cache lives in memory this time.
            log.warning("cannot save %s (%s); using it from memory", VECTORS_FILE, exc)
        return cache

    def vector_search(self) -> str:
        """`exact`, `approximate`, or `auto` (approximate from APPROXIMATE_FROM chunks on)."""
        return self.manifest().get("vector_search", "auto")

    def set_vector_search(self, kind: str) -> None:
        if kind not in VECTOR_SEARCH:
            raise BadInput(f"vector search must be one of {', '.join(VECTOR_SEARCH)}, not {kind}")
        self.set_manifest({"vector_search": kind})

    def wants_approximate(self, chunks: int) -> bool:

        kind = self.vector_search()
        if chunks == 0:
            return False  # nothing to train the lists on yet
        return kind == "approximate" or (kind == "auto" and chunks >= APPROXIMATE_FROM)

    def save_vectors(self) -> None:
        """Write the FAISS cache; first rebuild it when it is no longer the kind wanted (the
        index grew past the threshold, or the option changed) or its lists are too few."""
        if self._vectors is None:
            return
        if self.vectors_need_rebuild():
            self.rebuild_vectors()
            return
        self._write_vectors()

    def vectors_need_rebuild(self) -> bool:
        """Whether the loaded cache is of the other kind than wanted, or an IVF outgrown."""

        cache = self._vectors
        if cache is None:
            return False
        approximate = self.wants_approximate(len(cache))
        outgrown = approximate and list_count(len(cache)) > 2 * cache.lists
        return cache.approximate != approximate or outgrown

    def _write_vectors(self) -> None:
        """Write the FAISS cache atomically and record which database version it holds."""
        if self._vectors is None:
            return
        version = self._vectors_version
        self._vectors.save(self.directory / VECTORS_FILE)
        self.store.set_manifest({"vectors_version": str(version)})

    # -- searching --------------------------------------------------------------------------

    def dense_search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        return self.vectors().search(query, k)

    def keyword_search(self, query: str, k: int) -> list[tuple[int, float]]:
        return self.store.keyword_search(query, k)

    def chunks(self, ids: list[int]) -> list[ChunkRecord]:
        return self.store.chunks(ids)

    # -- reporting --------------------------------------------------------------------------

    def summary(self) -> IndexSummary:
        counts = self.store.counts()
        settings = self.settings()
        size = sum(p.stat().st_size for p in self.directory.iterdir() if p.is_file())
        return IndexSummary(
            name=self.name,
            files=counts.files,
            chunks=counts.chunks,
            embedder=settings.embedder if settings else "-",
            size_bytes=size,
            updated=self.store.last_update(),
            runtime=self.manifest().get("embedded_with", ""),
        )


def _set_aside(db_path: Path) -> Path:
    """Rename a damaged database (and its WAL files) out of the way; nothing is deleted."""
    stamp = now_iso().replace(":", "")
    aside = db_path.with_name(f"{db_path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        part = db_path.with_name(db_path.name + suffix)
        if part.exists():
            part.rename(aside.with_name(aside.name + suffix))
    (db_path.parent / VECTORS_FILE).unlink(missing_ok=True)  # a cache of the old database
    return aside
