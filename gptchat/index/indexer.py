"""`gptchat index`: bring an index in step with the files under a path."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gptchat.errors import BadInput
from gptchat.index.document_index import DocumentIndex, IndexRecipe
from gptchat.index.embedder import Embedder
from gptchat.index.store import FileRecord, FileState
from gptchat.ingest.chunker import Chunk, Chunker, ChunkOptions
from gptchat.ingest.documents import UnreadableDocument
from gptchat.ingest.loaders import load_document
from gptchat.ingest.walker import Candidate, Skipped, Walk, discover, special_kind
from gptchat.progress import NO_PROGRESS, Progress
from gptchat.scratch import remove_leftovers

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MAX_FILE_BYTES = 50_000_000
# Chunks gathered across files before one embedding call and its commits: larger batches pad
# less, smaller ones commit sooner (about 8 s of embedding on a 2-core laptop).
EMBED_BATCH_CHUNKS = 256


@dataclass
class IndexReport:
    """What one run did, for the closing summary."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # indexed, parts left out
    empty_roots: list[str] = field(default_factory=list)  # given paths with nothing to index
    kept: list[KeptFiles] = field(default_factory=list)  # indexed files whose folder went unread
    guide_left: bool = False  # the bundled guide made way for the user's first documents
    chunks_written: int = 0
    chunks_embedded: int = 0
    seconds: float = 0.0
    runtime: str = ""  # what ran the embedder, when anything was embedded
    runtime_min_cosine: float = 1.0  # its least cosine to PyTorch's vectors on the probe


class EmbeddingStopped(Exception):
    """Raised in the embedding thread to drop a batch when the run stops early."""


@dataclass(frozen=True)
class KeptFiles:
    """Indexed files left as they were because their folder could not be read this run."""

    place: str  # the folder (or file) that could not be read
    reason: str
    files: int


# Why a recorded root is not walked: what the index holds of it stays until it is back.
ROOT_MISSING = "no longer there (moved, renamed, or on a drive that is not mounted)"
ROOT_BARE = "the folder is empty, not even hidden files (a drive that is not mounted?)"


@dataclass
class _Pending:
    """A changed file, chunked, waiting for its new texts to be embedded."""

    state: FileState
    chunks: list[Chunk]
    is_update: bool
    size: int  # bytes on disk, as counted by the progress total


@dataclass
class _Batch:
    """Pending files whose new texts are being embedded while the next files are read."""

    files: list[_Pending]
    size: int  # their bytes on disk, as counted by the progress total
    missing: list[str]  # text hashes sent to the embedder, in order
    vectors: Future[np.ndarray]
    shown: list[int]  # bytes of this batch already reported (advanced by the embedding thread)


class Indexer:
    """Walks, loads, chunks and embeds; commits file by file so a killed run loses little."""

    embeds_here = True  # the embedder runs in this process (not so on a cluster)

    def __init__(
        self,
        index: DocumentIndex,
        embedder: Embedder,
        chunk_settings: ChunkOptions | None = None,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        progress: Progress | None = None,
        embed_batch_chunks: int = EMBED_BATCH_CHUNKS,
        vector_search: str | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.chunk_settings = chunk_settings or ChunkOptions(
            max_tokens=embedder.max_tokens - 2  # room for [CLS] and [SEP]
        )
        self.max_file_bytes = max_file_bytes
        self.progress = progress or NO_PROGRESS
        self.embed_batch_chunks = embed_batch_chunks
        self.vector_search = vector_search  # None: keep the index's own choice
        self._chunker: Chunker | None = None
        self._pending: list[_Pending] = []
        self._embedding: _Batch | None = None
        # One thread embeds (the runtime's own threads use the cores) while this one walks,
        # reads and chunks the next files; SQLite is written from this thread only.
        self._embedder_thread: ThreadPoolExecutor | None = None
        self._report = IndexReport()
        self._started = time.perf_counter()  # of the current run's reading, for the rate
        # Set when the run stops early (Ctrl-C, an error): the embedding thread gives up at
        # its next slice of texts instead of finishing a batch nobody will commit.
        self._stopping = threading.Event()

    def settings(self) -> IndexRecipe:
        return IndexRecipe(
            embedder=self.embedder.name,
            dimension=self.embedder.dimension,
            max_tokens=self.chunk_settings.max_tokens,
            overlap_tokens=self.chunk_settings.overlap_tokens,
        )

    def run(self, paths: list[Path], rebuild: bool = False) -> IndexReport:
        """Index `paths` (all recorded roots when empty); `rebuild` starts the index over."""
        started = time.perf_counter()
        self._report = IndexReport()
        self._pending = []
        # Check every path before touching the index: a typo must not cost a rebuilt index.
        recorded = self.index.roots()
        roots = [resolve_root(p) for p in paths] or [Path(r) for r in recorded]
        if not roots:
            raise BadInput("no PATH given and this index has no folders yet")
        if self.vector_search is not None:
            self.index.set_vector_search(self.vector_search)
        # A run killed while saving the FAISS cache leaves its temporary file behind.
        remove_leftovers(self.index.directory, "vectors")
        settings = self.settings()
        if rebuild or self.index.settings() is None:
            self.index.adopt_settings(settings)
        else:
            self.index.check_settings(settings)
        if self.embedder.is_custom:
            # Asking needs the same embedder; its folder is where to find it.
            self.index.set_manifest({"embedder_path": str(self.embedder.path)})
        # A runtime with vectors of its own is part of the embedder: questions need it too.
        own_vectors = settings.embedder != self.embedder.base_name
        self.index.set_manifest(
            {"embedder_runtime": self.embedder.wanted_runtime if own_vectors else "auto"}
        )
        found: list[tuple[Path, Walk]] = []
        for root in roots:
            walk = discover(root, self.max_file_bytes)
            self._report.skipped.extend(walk.skipped)
            if self._keep_unseen_root(root, walk):
                continue  # its own warning says why
            found.append((root, walk))
            if not walk.candidates and not walk.unread:
                self._report.empty_roots.append(str(root))
        # Progress counts the bytes of the files to read (embedding time follows their text),
        # advanced as each embedding batch finishes, so the time left is a real estimate.
        self._started = time.perf_counter()
        to_read = self._bytes_to_read(found)
        self.progress.start(to_read, "Indexing", "bytes")
        self._stopping.clear()
        with ThreadPoolExecutor(1, thread_name_prefix="gptchat-embed") as thread:
            self._embedder_thread = thread
            # The model loads while the first files are read; a failure shows at the first encode.
            loading = thread.submit(self.embedder.load) if to_read and self.embeds_here else None
            try:
                for root, walk in found:
                    self._sync_root(root, walk)
                self._flush()
                self._commit_embedded()
                # Only now: a root whose first run was interrupted is not refreshed by every
                # later plain `gptchat index` (its committed files stay searchable).
                for root, _ in found:
                    if str(root) not in recorded:
                        self.index.add_root(str(root))
            except BaseException:
                self._stopping.set()  # leaving the block waits for the thread: make it short
                raise
            finally:
                self._embedder_thread = None
            failed = loading.exception() if loading is not None else None
            if failed is not None and not self._report.chunks_embedded:
                log.warning("the embedder did not load (nothing needed it): %s", failed)
        if self._changed():
            self.index.drop_unused_embeddings()
            self.index.save_vectors()
        else:
            # Loads and checks the cache: one left stale by a crash or damaged is rebuilt now,
            # and so is one of the other kind than --vectors asks for.
            self.index.vectors()
            if self.index.vectors_need_rebuild():
                self.index.rebuild_vectors()
        self._report.seconds = time.perf_counter() - started
        return self._report

    def _keep_unseen_root(self, root: Path, walk: Walk) -> bool:
        """Whether a recorded root is gone or bare, so that its files are kept, not synced.

        A moved folder or an unmounted drive must not empty the index: files leave it only
        when their folder was read and they were not there. A single-file root whose folder
        is still there was deleted, and leaves as any deleted file does.
        """
        known = self.index.files_under(str(root))
        if not known:
            return False
        if not os.path.lexists(root):
            was_file = list(known) == [str(root)]
            if was_file and os.path.isdir(root.parent) and _can_read(root.parent):
                return False
            reason = ROOT_MISSING
        elif walk.root_is_bare:
            reason = ROOT_BARE
        else:
            return False
        self._report.kept.append(KeptFiles(str(root), reason, len(known)))
        return True

    def _bytes_to_read(self, found: list[tuple[Path, Walk]]) -> int:
        """Bytes of the files whose size or time changed: the ones a run reads and embeds."""
        total = 0
        for root, walk in found:
            known = self.index.files_under(str(root))
            for candidate in walk.candidates:
                if not _looks_unchanged(candidate, known.get(str(candidate.path))):
                    total += candidate.size
        return total

    def _advance(self, size: int) -> None:
        """Report `size` more bytes done, with the chunks written so far and their rate."""
        chunks = self._report.chunks_written
        seconds = max(time.perf_counter() - self._started, 1e-6)
        self.progress.advance(size, f"{chunks} chunks, {chunks / seconds:.0f}/s")

    def _sync_root(self, root: Path, walk: Walk) -> None:
        known = self.index.files_under(str(root))
        for candidate in walk.candidates:
            self._sync_file(candidate, known.pop(str(candidate.path), None))
        kept: Counter[Path] = Counter()
        for path in known:
            place = walk.unread_place(Path(path))
            if place is None:
                self._remove(path)
            else:
                kept[place] += 1
        self._report.kept.extend(
            KeptFiles(str(place), walk.unread[place], count) for place, count in kept.items()
        )

    def _sync_file(self, candidate: Candidate, record: FileRecord | None) -> None:
        if _looks_unchanged(candidate, record):
            self._report.unchanged += 1
            return
        self._read_changed(candidate, record)

    def _read_changed(self, candidate: Candidate, record: FileRecord | None) -> None:
        """Read a file whose size or time changed: unchanged content is touched, new content
        chunked and queued for embedding."""
        try:
            data = candidate.path.read_bytes()
        except FileNotFoundError:
            if record is None:
                return self._done_failed(candidate, "deleted during the run")
            self._remove(record.path)
            self._advance(candidate.size)
            return
        except OSError as exc:
            return self._done_failed(candidate, f"cannot read ({exc.strerror})")
        content_hash = hashlib.sha256(data).hexdigest()
        if record is not None and record.content_hash == content_hash:
            self.index.touch_file(record.id, len(data), candidate.mtime_ns)
            self._report.unchanged += 1
            self._advance(candidate.size)
            return
        try:
            chunks = self._chunks(candidate.path, data)
        except UnreadableDocument as exc:
            # A file that turns unreadable keeps its last good version in the index.
            return self._done_failed(candidate, str(exc))
        state = FileState(
            str(candidate.path), len(data), candidate.mtime_ns, content_hash, candidate.kind
        )
        self._pending.append(_Pending(state, chunks, record is not None, candidate.size))
        if sum(len(p.chunks) for p in self._pending) >= self.embed_batch_chunks:
            self._flush()

    def _done_failed(self, candidate: Candidate, reason: str) -> None:
        self._report.failed.append((str(candidate.path), reason))
        self._advance(candidate.size)

    def _chunks(self, path: Path, data: bytes) -> list[Chunk]:
        if self._chunker is None:
            self._chunker = Chunker(self.embedder.token_counter(), self.chunk_settings)
        document = load_document(path, data)
        self._report.warnings.extend((str(path), problem) for problem in document.problems)
        return self._chunker.chunk(document)

    def _flush(self) -> None:
        """Send the pending files' new texts to the embedding thread; commit the batch before."""
        if not self._pending:
            return
        self._commit_embedded()  # its vectors are stored: the next batch never embeds them again
        texts: dict[str, str] = {}
        for pending in self._pending:
            for chunk in pending.chunks:
                texts.setdefault(chunk.text_hash, chunk.embed_text)
        missing = sorted(self.index.missing_hashes(texts))
        files, self._pending = self._pending, []
        batch_bytes = sum(p.size for p in files)
        shown = [0]

        def embedded(done: int) -> None:
            if self._stopping.is_set():
                raise EmbeddingStopped
            # Until the commits, the batch's bytes follow the share of its texts embedded.
            share = batch_bytes * done // max(len(missing), 1)
            self._advance(share - shown[0])
            shown[0] = share

        assert self._embedder_thread is not None  # batches are flushed inside run() only
        to_embed = [texts[h] for h in missing]
        vectors = self._embedder_thread.submit(self.embedder.encode, to_embed, embedded)
        self._embedding = _Batch(files, batch_bytes, missing, vectors, shown)

    def _commit_embedded(self) -> None:
        """Wait for the batch being embedded, then commit it file by file."""
        batch, self._embedding = self._embedding, None
        if batch is None:
            return
        encoded = batch.vectors.result()
        self._report.chunks_embedded += len(batch.missing)
        if batch.missing:
            choice = self.embedder.choice()
            self._note_runtime(choice.runtime, choice.min_cosine)
        vectors_by_hash = dict(zip(batch.missing, encoded, strict=True))
        unstored = set(batch.missing)
        for pending in batch.files:
            hashes = {chunk.text_hash for chunk in pending.chunks}
            to_store = {h: vectors_by_hash[h] for h in hashes & unstored}
            self._store_file(
                pending.state, pending.chunks, to_store, vectors_by_hash, pending.is_update
            )
            unstored -= to_store.keys()
        self._advance(batch.size - batch.shown[0])

    def _store_file(
        self,
        state: FileState,
        chunks: list[Chunk],
        new_vectors: dict[str, np.ndarray],
        known: dict[str, np.ndarray],
        is_update: bool,
    ) -> None:
        """Commit one file's chunks (see DocumentIndex.replace_file) and count it."""
        self.index.replace_file(state, chunks, new_vectors, known)
        done = self._report.updated if is_update else self._report.added
        done.append(state.path)
        self._report.chunks_written += len(chunks)

    def _note_runtime(self, runtime: str, min_cosine: float) -> None:
        """Record what embedded (in the report and the manifest) when it changes."""
        if self._report.runtime != runtime:
            self._report.runtime = runtime
            self._report.runtime_min_cosine = min_cosine
            self.index.set_manifest({"embedded_with": runtime})

    def _remove(self, path: str) -> None:
        self.index.delete_file(path)
        self._report.removed.append(path)

    def _changed(self) -> bool:
        report = self._report
        return bool(report.added or report.updated or report.removed)


def resolve_root(path: Path) -> Path:
    """A PATH given to `gptchat index`, resolved; BadInput if it cannot be indexed."""
    if not path.exists():
        raise BadInput(f"{path}: no such file or folder")
    resolved = path.resolve()
    if not (resolved.is_file() or resolved.is_dir()):
        kind = special_kind(resolved.stat().st_mode)
        raise BadInput(f"{path}: not a regular file or folder ({kind})")
    if not _can_read(resolved):
        raise BadInput(f"{path}: not readable")
    return resolved


def _looks_unchanged(candidate: Candidate, record: FileRecord | None) -> bool:
    """Same size and modification time as when indexed: not even read again."""
    return record is not None and (record.size, record.mtime_ns) == (
        candidate.size,
        candidate.mtime_ns,
    )


def _can_read(path: Path) -> bool:
    return os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0))
