"""The indexes of a workspace: build one, list them, open one to search."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gptchat.errors import BadInput, DamagedIndex
from gptchat.index.cluster import ClusterOptions, RayIndexer
from gptchat.index.document_index import DocumentIndex, IndexSummary
from gptchat.index.embedder import Embedder
from gptchat.index.indexer import Indexer, IndexReport, resolve_root
from gptchat.ingest.chunker import ChunkOptions
from gptchat.progress import Progress
from gptchat.workspace import DEFAULT_INDEX, Workspace, guide_path

if TYPE_CHECKING:
    from gptchat.index.cluster import ClusterOptions
    from gptchat.index.embedder import Embedder
    from gptchat.index.indexer import IndexReport
    from gptchat.progress import Progress


@dataclass(frozen=True)
class IndexOptions:
    """The knobs of `gptchat index`."""

    name: str = DEFAULT_INDEX
    rebuild: bool = False
    max_file_bytes: int = 50_000_000
    embedder_path: Path | None = None
    chunk_tokens: int | None = None
    overlap_tokens: int = 32
    runtime: str = "auto"  # what runs the embedder: auto, or a name from runtimes.RUNTIMES
    vector_search: str | None = None  # auto, exact or approximate; None keeps the index's
    cluster: ClusterOptions | None = None  # read, chunk and embed on Ray (None: here)


def run_index(
    workspace: Workspace,
    paths: list[Path],
    options: IndexOptions,
    progress: Progress | None = None,
) -> IndexReport:
    """Index `paths` into the named index; returns what it did."""

    for path in paths:  # a mistyped path creates nothing, not even an empty index
        resolve_root(path)

    embedder = Embedder(options.embedder_path, runtime=options.runtime)
    readable = embedder.max_tokens - 2  # [CLS] and [SEP] take two of the model's positions
    if options.chunk_tokens and options.chunk_tokens > readable:
        raise BadInput(
            f"--chunk-tokens {options.chunk_tokens} is more than {embedder.name} reads ({readable})"
        )
    chunk_settings = ChunkOptions(
        max_tokens=options.chunk_tokens or readable, overlap_tokens=options.overlap_tokens
    )
    directory = workspace.index_dir(options.name)
    is_new = options.name not in workspace.index_names()
    # Refreshing (no paths) needs an existing index; adding paths may create one.
    opened = DocumentIndex.open(directory, create=bool(paths), start_over=options.rebuild)
    settings = (chunk_settings, options.max_file_bytes, progress)
    with opened as index:
        roots_before = index.roots()
        if options.cluster is None:
            indexer = Indexer(index, embedder, *settings, vector_search=options.vector_search)
        else:
            indexer = RayIndexer(
                index,
                embedder,
                *settings,
                vector_search=options.vector_search,
                cluster=options.cluster,
            )
        report = indexer.run(paths, rebuild=options.rebuild)
        if report.added:  # the user's documents are in: the guide can make way
            report.guide_left = _guide_steps_aside(index, paths, roots_before)
        empty = index.counts().files == 0
    if is_new and empty:  # nothing gptchat reads was there: no empty index to list
        shutil.rmtree(directory)
    return report


def _guide_steps_aside(index: DocumentIndex, paths: list[Path], roots_before: list[str]) -> bool:
    """Drop the bundled guide from an index that held nothing else, once the user's own
    documents are in: its passages would turn up as sources for questions about them."""
    guide = str(guide_path().resolve())
    given = [str(path.resolve()) for path in paths]
    if not given or guide in given or roots_before != [guide]:
        return False
    _forget(index, [guide])
    return True


def forget_paths(workspace: Workspace, name: str, paths: list[Path]) -> list[str]:
    """Drop what index `name` holds at or below `paths` without reading them (a folder moved
    away for good, a drive retired); returns the files dropped."""
    if name not in workspace.index_names():
        raise BadInput(f"no index named '{name}' (see `gptchat index --list`)")
    with DocumentIndex.open(workspace.index_dir(name)) as index:
        # Roots are stored resolved; a path that is gone resolves as far as it still exists.
        places = [str(path.expanduser().resolve()) for path in paths]
        held = [place for place in places if index.files_under(place) or place in index.roots()]
        unknown = sorted(set(places) - set(held))
        if unknown:
            raise BadInput(f"index '{name}' holds nothing at or below {unknown[0]}")
        return _forget(index, held)


def _forget(index: DocumentIndex, places: list[str]) -> list[str]:
    """Drop what `index` holds at or below `places`, its unused vectors, and save the cache;
    returns the files dropped."""
    dropped = [path for place in places for path in index.forget_under(place)]
    index.drop_unused_embeddings()
    index.save_vectors()
    return dropped


def index_summaries(workspace: Workspace) -> list[IndexSummary]:
    """Every index of the workspace, summarized."""
    summaries = []
    for name in workspace.index_names():
        try:
            with DocumentIndex.open(workspace.index_dir(name)) as index:
                summaries.append(index.summary())
        except DamagedIndex as exc:  # one damaged index must not hide the healthy ones
            summaries.append(IndexSummary(name, 0, 0, "-", 0, None, problem=str(exc)))
    return summaries


def is_empty(workspace: Workspace, name: str) -> bool:
    """Whether the named index holds no file."""
    with DocumentIndex.open(workspace.index_dir(name)) as index:
        return index.counts().files == 0


def open_searchable_index(workspace: Workspace, index_name: str) -> DocumentIndex:
    """An existing index with something in it, else a one-line BadInput."""
    if index_name not in workspace.index_names():
        raise BadInput(f"no index named '{index_name}' (build it with `gptchat index PATH`)")
    index = DocumentIndex.open(workspace.index_dir(index_name))
    if index.counts().chunks == 0:
        index.close()
        raise BadInput(f"index '{index_name}' is empty (add documents with `gptchat index PATH`)")
    return index


def index_embedder(index: DocumentIndex) -> Embedder:
    """The embedder an index was built with."""

    manifest = index.manifest()
    path = manifest.get("embedder_path")
    # An index built by a runtime with other vectors must be searched with the same runtime.
    return Embedder(Path(path) if path else None, runtime=manifest.get("embedder_runtime", "auto"))
