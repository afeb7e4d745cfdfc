"""`gptchat index --ray`: workers read, chunk and embed on a Ray cluster; this process alone
writes the index, file by file, as the local path does."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from gptchat.errors import BadInput
from gptchat.index.embedder import Embedder
from gptchat.index.indexer import Indexer
from gptchat.index.store import FileRecord, FileState
from gptchat.ingest.chunker import Chunk, Chunker, ChunkOptions
from gptchat.ingest.documents import UnreadableDocument
from gptchat.ingest.loaders import load_document
from gptchat.ingest.walker import Candidate

if TYPE_CHECKING:
    import numpy as np


log = logging.getLogger(__name__)

LOCAL = "local"  # start a Ray instance on this machine for the run
DEFAULT_WORKERS = 2
# Files a worker embeds in one call: enough texts to batch well, few enough to stream.
FILES_PER_EMBED_BATCH = 8
INSTALL_HINT = "Ray is not installed: pip install 'gptchat[ray]'"
CONNECT_SECONDS = 5  # for the head node to accept a connection


@dataclass(frozen=True)
class ClusterOptions:
    """Where to run and with how many embedding workers."""

    address: str = LOCAL  # LOCAL, "auto" (the cluster this machine belongs to), host:port, ray://
    workers: int | None = None  # embedding actors; None: one per GPU, else DEFAULT_WORKERS


@dataclass(frozen=True)
class FileTask:
    """A file whose size or time changed: what a worker needs to read and chunk it."""

    path: str
    size: int
    mtime_ns: int
    kind: str
    record_id: int | None  # the file's row in the index; None for a new file
    known_hash: str | None  # content hash in the index: the same content is not chunked again
    known_texts: frozenset[str]  # text hashes already embedded for this file's chunks


@dataclass
class FileResult:
    """What a worker made of one file."""

    path: str
    status: str  # "chunked", "unchanged", "deleted" or "failed"
    reason: str = ""
    state: FileState | None = None
    chunks: list[Chunk] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # parts left out, as Document.problems
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # text hash -> embedding
    runtime: str = ""  # what embedded them, and its least cosine to PyTorch's vectors
    min_cosine: float = 1.0


def read_and_chunk(task: FileTask, embedder_path: Path, settings: ChunkOptions) -> FileResult:
    """Read one file on a worker: its content hash, then its chunks unless unchanged."""

    path = Path(task.path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return FileResult(task.path, "deleted")
    except OSError as exc:
        return FileResult(task.path, "failed", f"cannot read ({exc.strerror})")
    content_hash = hashlib.sha256(data).hexdigest()
    state = FileState(task.path, len(data), task.mtime_ns, content_hash, task.kind)
    if content_hash == task.known_hash:
        return FileResult(task.path, "unchanged", state=state)
    try:
        document = load_document(path, data)
        chunks = _chunker(embedder_path, settings).chunk(document)
    except UnreadableDocument as exc:
        return FileResult(task.path, "failed", str(exc))
    return FileResult(task.path, "chunked", state=state, chunks=chunks, problems=document.problems)


_chunkers: dict[tuple[Path, ChunkOptions], Chunker] = {}


def _chunker(embedder_path: Path, settings: ChunkOptions) -> Chunker:
    """One chunker per worker process (Ray reuses them for tasks): its tokenizer loads once,
    not once a file."""
    key = (embedder_path, settings)
    if key not in _chunkers:
        _chunkers[key] = Chunker(Embedder(embedder_path).token_counter(), settings)
    return _chunkers[key]


def chunk_row(row: dict[str, Any], embedder_path: Path, settings: ChunkOptions) -> dict[str, Any]:
    """Ray Data stage one, as tasks: a row holding a pickled FileTask in, the task and its
    FileResult out."""
    task: FileTask = pickle.loads(row["task"])
    try:
        result = read_and_chunk(task, embedder_path, settings)
    except Exception as exc:
        # A traceback raised here would end the whole cluster run; the local path's loaders
        # report such a file as failed, and so does this one, with the error.
        log.exception("reading %s failed", task.path)
        result = FileResult(task.path, "failed", f"{type(exc).__name__}: {exc}")
    return {"result": pickle.dumps((task, result))}


class EmbedStage:
    """Ray Data stage two, an actor pool: each actor holds one Embedder (on its GPU if it has
    one) and embeds the new texts of a few files at a time."""

    def __init__(self, embedder_path: Path | None, runtime: str, cache_root: Path | None) -> None:

        # No path: the bundled default model; no cache root: the node's own cache folder.
        self.embedder = Embedder(embedder_path, runtime=runtime, cache_root=cache_root)
        self.embedder.load()

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        pairs = [pickle.loads(blob) for blob in batch["result"]]
        texts: dict[str, str] = {}
        for task, result in pairs:
            for chunk in result.chunks:
                if chunk.text_hash not in task.known_texts:
                    texts.setdefault(chunk.text_hash, chunk.embed_text)
        hashes = list(texts)
        vectors = dict(zip(hashes, self.embedder.encode([texts[h] for h in hashes]), strict=True))
        choice = self.embedder.choice() if hashes else None
        out = []
        for task, result in pairs:
            wanted = {c.text_hash for c in result.chunks} - task.known_texts
            result.vectors = {h: vectors[h] for h in wanted}
            if choice is not None:
                result.runtime, result.min_cosine = choice.runtime, choice.min_cosine
            out.append(pickle.dumps((task, result)))
        return {"result": out}


def import_ray() -> ModuleType:
    """Ray, or a one-line BadInput saying how to install it."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise BadInput(INSTALL_HINT) from exc
    return ray


def check_address(address: str) -> str:
    """The address as Ray takes it, its head node answering; a folder name given after --ray
    is a misplaced PATH."""
    if address in (LOCAL, "auto"):
        return address
    if address.startswith("ray://") or ":" in address:
        _check_reachable(address)
        return address
    where = "a folder" if Path(address).exists() else "not a Ray address"
    raise BadInput(
        f"--ray took '{address}' as the cluster address ({where}): put PATH before --ray, or "
        "give the address as --ray=HOST:PORT, --ray=ray://HOST:PORT or --ray=auto"
    )


class RayIndexer(Indexer):
    """The Indexer with reading, chunking and embedding on Ray; SQLite and FAISS are written
    here only, one file per transaction, as results stream back."""

    embeds_here = False

    def __init__(self, *args: Any, cluster: ClusterOptions | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cluster = cluster or ClusterOptions()
        self._tasks: list[FileTask] = []

    def _read_changed(self, candidate: Candidate, record: FileRecord | None) -> None:
        # Queued for the workers: only files whose size or time changed leave this process.
        path = str(candidate.path)
        known_texts = frozenset(self.index.file_text_hashes(path)) if record else frozenset()
        self._tasks.append(
            FileTask(
                path,
                candidate.size,
                candidate.mtime_ns,
                candidate.kind,
                record.id if record else None,
                record.content_hash if record else None,
                known_texts,
            )
        )

    def _flush(self) -> None:
        """Run the queued files through the cluster, committing each result as it comes."""
        tasks, self._tasks = self._tasks, []
        if not tasks:
            return
        for task, result in self._run_on_ray(tasks):
            self._commit_result(task, result)

    def _run_on_ray(self, tasks: list[FileTask]) -> Iterator[tuple[FileTask, FileResult]]:
        ray = import_ray()
        started_here = not ray.is_initialized()
        if started_here:
            # Seconds pass before the first file is back: say what they are spent on.
            self.progress.advance(0, "starting Ray")
            _init_ray(ray, self.cluster)
        try:
            workers = self._worker_count(ray)
            gpus = 1 if ray.cluster_resources().get("GPU", 0) >= workers else 0
            context = ray.data.DataContext.get_current()
            context.enable_progress_bars = False  # the run has its own progress
            context.verbose_progress = False
            # Blocks of a batch's files each, so that every worker has work from the start.
            blocks = -(-len(tasks) // FILES_PER_EMBED_BATCH)
            rows = ray.data.from_items(
                [{"task": pickle.dumps(t)} for t in tasks], override_num_blocks=blocks
            )
            chunked = rows.map(
                chunk_row,
                fn_kwargs={"embedder_path": self.embedder.path, "settings": self.chunk_settings},
                # As many readers as embedders: chunking is the lighter stage, and each new
                # worker process costs a second of imports.
                compute=ray.data.TaskPoolStrategy(size=workers),
                num_cpus=0.5,
            )
            embedded = chunked.map_batches(
                EmbedStage,
                fn_constructor_kwargs=self._embed_settings(
                    on_this_machine=started_here and self.cluster.address == LOCAL
                ),
                batch_size=FILES_PER_EMBED_BATCH,
                compute=ray.data.ActorPoolStrategy(size=workers),
                num_cpus=0 if gpus else 1,
                num_gpus=gpus,
            )
            for row in embedded.iter_rows():
                yield pickle.loads(row["result"])
        finally:
            if started_here:
                ray.shutdown()

    def _worker_count(self, ray) -> int:
        if self.cluster.workers is not None:
            return self.cluster.workers
        gpus = int(ray.cluster_resources().get("GPU", 0))
        return gpus or DEFAULT_WORKERS

    def _embed_settings(self, on_this_machine: bool) -> dict[str, Any]:
        """The Embedder every worker builds. A Ray instance of our own runs on this machine:
        measure the runtime here once and hand the choice over, with this machine's cache;
        nodes of a cluster measure their own (auto only ever picks an equivalent runtime)."""
        path = self.embedder.path if self.embedder.is_custom else None
        if not on_this_machine:
            return {
                "embedder_path": path,
                "runtime": self.embedder.wanted_runtime,
                "cache_root": None,
            }
        return {
            "embedder_path": path,
            "runtime": self.embedder.runtime,  # measured once on this machine, then cached
            "cache_root": self.embedder.cache_root,
        }

    def _commit_result(self, task: FileTask, result: FileResult) -> None:
        if result.status == "failed":
            self._report.failed.append((result.path, result.reason))
        elif result.status == "deleted":
            if task.record_id is not None:
                self._remove(task.path)
        elif result.status == "unchanged":
            assert task.record_id is not None and result.state is not None  # known files only
            self.index.touch_file(task.record_id, result.state.size, result.state.mtime_ns)
            self._report.unchanged += 1
        else:
            assert result.state is not None
            self._report.warnings.extend((result.path, p) for p in result.problems)
            missing = self.index.missing_hashes(result.vectors)
            new_vectors = {h: v for h, v in result.vectors.items() if h in missing}
            self._store_file(
                result.state,
                result.chunks,
                new_vectors,
                dict(result.vectors),
                task.record_id is not None,
            )
            self._report.chunks_embedded += len(new_vectors)
            if result.runtime:
                self._note_runtime(result.runtime, result.min_cosine)
        self._advance(task.size)


def _init_ray(ray, cluster: ClusterOptions) -> None:
    """Connect to the cluster, or start a local instance for this run."""
    # Ray's own notes (execution plans, deprecations) would bury the run's progress and
    # summary; its errors still show, and failed files are in the summary.
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
    try:
        if cluster.address == LOCAL:
            workers = cluster.workers or DEFAULT_WORKERS
            # Room for the embedding actors plus the readers, whatever the core count.
            cpus = max(os.cpu_count() or 1, workers + 1)
            ray.init(num_cpus=cpus, include_dashboard=False, **quiet)
        else:
            ray.init(address=cluster.address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise BadInput(f"cannot reach the Ray cluster at {cluster.address}: {exc}") from exc


def _check_reachable(address: str) -> None:
    """A one-line error now for a head node that does not answer: Ray itself retries for a
    minute or more and then ends the process."""
    if address == "auto":
        return  # Ray finds the cluster of this machine itself, or says there is none
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS):
            pass
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BadInput(f"cannot reach the Ray cluster at {address}: {reason}") from exc
