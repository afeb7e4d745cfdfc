"""The index database: files, chunks, embeddings, full-text search and the manifest."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gptchat.index.migrations import index_migrations
from gptchat.ingest.chunker import Chunk
from gptchat.sqlite import Closing, Transaction, now_iso, open_database

_WORD = re.compile(r"\w+", re.UNICODE)
# A query term found in more chunks than this share (and than COMMON_TERM_FLOOR) is too common
# to be worth its posting list; on indexes under 40,000 chunks only stop words are left out.
COMMON_TERM_SHARE = 0.05
COMMON_TERM_FLOOR = 2_000
# Words too common to rank by. Left out of keyword queries (not of the index): their posting
# lists cover most chunks, so matching them costs time and adds almost no BM25 signal.
_STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves""".split()
)


@dataclass(frozen=True)
class FileRecord:
    """A file as last indexed."""

    id: int
    path: str
    size: int
    mtime_ns: int
    content_hash: str
    kind: str
    chunk_count: int


@dataclass(frozen=True)
class FileState:
    """A file as just read from disk, ready to be stored."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str
    kind: str


@dataclass(frozen=True)
class Passage:
    """Text from a document and where it sits: file, heading trail, lines or page."""

    path: str
    heading: str
    text: str
    line_start: int | None
    line_end: int | None
    page: int | None

    @property
    def location(self) -> str:
        """`path:12-30`, `path:12`, `path (page 3)` or just `path`."""
        if self.page is not None:
            return f"{self.path} (page {self.page})"
        if self.line_start is None:
            return self.path
        if self.line_end in (None, self.line_start):
            return f"{self.path}:{self.line_start}"
        return f"{self.path}:{self.line_start}-{self.line_end}"


@dataclass(frozen=True)
class ChunkRecord(Passage):
    """A stored chunk."""

    id: int


@dataclass(frozen=True)
class StoreCounts:
    files: int
    chunks: int
    embeddings: int


class IndexStore(Closing):
    """Owns every SQL statement on an index.db; returns dataclasses."""

    def __init__(self, db_path: Path) -> None:
        self.path = db_path
        # check_same_thread off: the app opens an index in one worker thread and searches it
        # from the next; it runs one search at a time.
        self._conn = open_database(db_path, index_migrations, timeout_s=30)
        self._conn.execute("PRAGMA synchronous=NORMAL")
        # A scratch table in this connection's temp schema: SQLite's own tokenizer turns a
        # question into the stemmed terms the index holds.
        self._conn.execute(
            "CREATE VIRTUAL TABLE temp.query_text USING fts5(text, tokenize='porter unicode61')"
        )
        self._conn.execute(
            "CREATE VIRTUAL TABLE temp.query_terms USING fts5vocab(temp, query_text, 'row')"
        )
        self._chunk_total: tuple[int, int] = (-1, 0)  # (data version, chunk count)

    def close(self) -> None:
        self._conn.close()

    # -- manifest ---------------------------------------------------------------------------

    def manifest(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT key, value FROM manifest"))

    def set_manifest(self, values: dict[str, str]) -> None:
        with self._transaction():
            self._conn.executemany(
                "INSERT INTO manifest(key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                list(values.items()),
            )

    def data_version(self) -> int:
        """Bumped by every change to chunks; the FAISS cache records the version it holds."""
        return int(self.manifest().get("data_version", "0"))

    # -- roots and files --------------------------------------------------------------------

    def add_root(self, path: str) -> None:
        with self._transaction():
            self._conn.execute(
                "INSERT OR IGNORE INTO roots(path, added_at) VALUES (?, ?)", (path, now_iso())
            )

    def roots(self) -> list[str]:
        return [row[0] for row in self._conn.execute("SELECT path FROM roots ORDER BY path")]

    def forget_under(self, place: str) -> tuple[list[str], list[int]]:
        """Drop the files at or below `place` and the roots there, in one transaction.

        Returns the paths of the files dropped and the ids of their chunks.
        """
        with self._transaction():
            paths = sorted(self.files_under(place))
            removed = [chunk_id for path in paths for chunk_id in self._delete_file(path)]
            self._conn.execute(f"DELETE FROM roots WHERE {_AT_OR_BELOW}", _at_or_below(place))
            self._bump_data_version()
        return paths, removed

    def files_under(self, root: str) -> dict[str, FileRecord]:
        """Indexed files at or below `root`, by path."""
        rows = self._conn.execute(
            "SELECT id, path, size, mtime_ns, content_hash, kind, chunk_count FROM files"
            f" WHERE {_AT_OR_BELOW}",
            _at_or_below(root),
        )
        return {row[1]: FileRecord(*row) for row in rows}

    def touch_file(self, file_id: int, size: int, mtime_ns: int) -> None:
        """Record a new size/mtime for a file whose content did not change."""
        with self._transaction():
            self._conn.execute(
                "UPDATE files SET size = ?, mtime_ns = ? WHERE id = ?", (size, mtime_ns, file_id)
            )

    def replace_file(
        self, state: FileState, chunks: list[Chunk], new_vectors: dict[str, np.ndarray]
    ) -> tuple[list[int], list[tuple[int, str]]]:
        """Store a file's chunks in place of its old ones, in one transaction.

        Returns the removed chunk ids and the (id, text hash) of each chunk added.
        """
        with self._transaction():
            removed = self._delete_file(state.path)
            cursor = self._conn.execute(
                "INSERT INTO files(path, size, mtime_ns, content_hash, kind, chunk_count,"
                " indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    state.path,
                    state.size,
                    state.mtime_ns,
                    state.content_hash,
                    state.kind,
                    len(chunks),
                    now_iso(),
                ),
            )
            file_id = cursor.lastrowid
            self._conn.executemany(
                "INSERT OR IGNORE INTO embeddings(text_hash, vector) VALUES (?, ?)",
                [(h, vector.astype(np.float32).tobytes()) for h, vector in new_vectors.items()],
            )
            added: list[tuple[int, str]] = []
            for ordinal, chunk in enumerate(chunks):
                cursor = self._conn.execute(
                    "INSERT INTO chunks(file_id, ord, heading, text, line_start, line_end, page,"
                    " token_count, text_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        file_id,
                        ordinal,
                        chunk.heading,
                        chunk.text,
                        chunk.line_start,
                        chunk.line_end,
                        chunk.page,
                        chunk.token_count,
                        chunk.text_hash,
                    ),
                )
                added.append((cursor.lastrowid, chunk.text_hash))
            self._bump_data_version()
        return removed, added

    def delete_file(self, path: str) -> list[int]:
        """Forget a file; returns the ids of its chunks."""
        with self._transaction():
            removed = self._delete_file(path)
            self._bump_data_version()
        return removed

    def _delete_file(self, path: str) -> list[int]:
        removed = [
            row[0]
            for row in self._conn.execute(
                "SELECT chunks.id FROM chunks JOIN files ON files.id = chunks.file_id"
                " WHERE files.path = ?",
                (path,),
            )
        ]
        self._conn.execute(
            "DELETE FROM chunks WHERE file_id IN (SELECT id FROM files WHERE path = ?)", (path,)
        )
        self._conn.execute("DELETE FROM files WHERE path = ?", (path,))
        return removed

    def clear(self) -> None:
        """Forget every file and chunk; embeddings stay for reuse by the same embedder."""
        with self._transaction():
            self._conn.execute("DELETE FROM chunks")
            self._conn.execute("DELETE FROM files")
            self._bump_data_version()

    def clear_embeddings(self) -> None:
        with self._transaction():
            self._conn.execute("DELETE FROM embeddings")

    def drop_unused_embeddings(self) -> int:
        """Delete embeddings no chunk uses any more; returns how many."""
        with self._transaction():
            cursor = self._conn.execute(
                "DELETE FROM embeddings WHERE text_hash NOT IN (SELECT text_hash FROM chunks)"
            )
        return cursor.rowcount

    # -- embeddings -------------------------------------------------------------------------

    def missing_hashes(self, hashes: Iterable[str]) -> set[str]:
        """The text hashes among `hashes` that have no stored embedding."""
        wanted = set(hashes)
        found: set[str] = set()
        batch = list(wanted)
        for start in range(0, len(batch), 500):
            part = batch[start : start + 500]
            marks = ",".join("?" * len(part))
            found.update(
                row[0]
                for row in self._conn.execute(
                    f"SELECT text_hash FROM embeddings WHERE text_hash IN ({marks})", part
                )
            )
        return wanted - found

    def vectors(
        self, dimension: int, batch: int = 20_000
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every chunk's (ids, vectors), in batches, for rebuilding the FAISS cache."""
        cursor = self._conn.execute(
            "SELECT chunks.id, embeddings.vector FROM chunks"
            " JOIN embeddings ON embeddings.text_hash = chunks.text_hash ORDER BY chunks.id"
        )
        while rows := cursor.fetchmany(batch):
            ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
            matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32)
            yield ids, matrix.reshape(len(rows), dimension)

    def vectors_for_hashes(self, hashes: list[str], dimension: int) -> dict[str, np.ndarray]:
        """Stored embeddings of the given text hashes."""
        result: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), 500):
            part = hashes[start : start + 500]
            marks = ",".join("?" * len(part))
            for text_hash, blob in self._conn.execute(
                f"SELECT text_hash, vector FROM embeddings WHERE text_hash IN ({marks})", part
            ):
                result[text_hash] = np.frombuffer(blob, dtype=np.float32, count=dimension)
        return result

    # -- reading ----------------------------------------------------------------------------

    def chunks(self, ids: list[int]) -> list[ChunkRecord]:
        """The chunks with these ids, in the order given (missing ids are left out)."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self._conn.execute(
            "SELECT files.path, heading, text, line_start, line_end, page, chunks.id"
            f" FROM chunks JOIN files ON files.id = chunks.file_id WHERE chunks.id IN ({marks})",
            ids,
        )
        by_id = {row[-1]: ChunkRecord(*row) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    def file_chunks(self, path: str) -> list[ChunkRecord]:
        """The chunks of one indexed file, in document order."""
        rows = self._conn.execute(
            "SELECT files.path, heading, text, line_start, line_end, page, chunks.id"
            " FROM chunks JOIN files ON files.id = chunks.file_id WHERE files.path = ?"
            " ORDER BY chunks.ord",
            (path,),
        )
        return [ChunkRecord(*row) for row in rows]

    def file_text_hashes(self, path: str) -> set[str]:
        """Text hashes of one indexed file's chunks (their embeddings are stored)."""
        rows = self._conn.execute(
            "SELECT text_hash FROM chunks JOIN files ON files.id = chunks.file_id"
            " WHERE files.path = ?",
            (path,),
        )
        return {row[0] for row in rows}

    def paths_ending(self, name: str) -> list[str]:
        """Indexed file paths equal to `name` or ending in `/name`."""
        tail = "/" + name
        rows = self._conn.execute(
            "SELECT path FROM files WHERE path = ? OR substr(path, -?) = ? ORDER BY path",
            (name, len(tail), tail),
        )
        return [row[0] for row in rows]

    def chunk_ids(self) -> list[int]:
        """Every chunk id, ascending."""
        return [row[0] for row in self._conn.execute("SELECT id FROM chunks ORDER BY id")]

    def keyword_search(self, query: str, k: int) -> list[tuple[int, float]]:
        """BM25 top-k chunk ids for `query` (any of its terms), best first, higher is better."""
        terms = self._query_terms(query)
        if not terms:
            return []
        match = " OR ".join(f'"{term}"' for term in terms)
        rows = self._conn.execute(
            "SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?",
            (match, k),
        )
        return [(row[0], -row[1]) for row in rows]

    def _query_terms(self, query: str) -> list[str]:
        """The query's stemmed terms worth matching, rarest first.

        Stop words go first; then, on a large index, terms found in more than
        COMMON_TERM_SHARE of the chunks, whose posting lists make a query slow while adding
        little to BM25.
        When that leaves nothing, the rarest terms found stay.
        """
        words = _WORD.findall(query.lower())
        words = [w for w in words if w not in _STOP_WORDS] or words
        if not words:
            return []
        self._conn.execute("DELETE FROM temp.query_text")
        self._conn.execute("INSERT INTO temp.query_text(text) VALUES (?)", (" ".join(words),))
        stems = [row[0] for row in self._conn.execute("SELECT term FROM temp.query_terms")]
        frequency = {}
        for stem in stems:
            row = self._conn.execute(
                "SELECT doc FROM chunks_vocab WHERE term = ?", (stem,)
            ).fetchone()
            if row:
                frequency[stem] = row[0]
        found = sorted(frequency, key=frequency.get)
        limit = max(COMMON_TERM_SHARE * self._chunk_count(), COMMON_TERM_FLOOR)
        return [t for t in found if frequency[t] <= limit] or found[:2]

    def _chunk_count(self) -> int:
        version = self.data_version()
        if self._chunk_total[0] != version:
            count = self._conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
            self._chunk_total = (version, count)
        return self._chunk_total[1]

    def counts(self) -> StoreCounts:
        files, chunks, embeddings = self._conn.execute(
            "SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM chunks),"
            " (SELECT count(*) FROM embeddings)"
        ).fetchone()
        return StoreCounts(files, chunks, embeddings)

    def last_update(self) -> str | None:
        return self._conn.execute("SELECT max(indexed_at) FROM files").fetchone()[0]

    def integrity_ok(self) -> bool:
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # -- internals --------------------------------------------------------------------------

    def _bump_data_version(self) -> None:
        self._conn.execute(
            "INSERT INTO manifest(key, value) VALUES ('data_version', '1')"
            " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def _transaction(self) -> Transaction:
        return Transaction(self._conn)


# A `path` column at or below a folder (or that file itself), with _at_or_below's arguments.
_AT_OR_BELOW = "path = ? OR substr(path, 1, ?) = ?"


def _at_or_below(place: str) -> tuple[str, int, str]:
    prefix = place.rstrip("/") + "/"
    return place, len(prefix), prefix
