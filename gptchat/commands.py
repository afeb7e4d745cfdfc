"""What the CLI commands do, apart from parsing arguments and printing."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from gptchat.errors import BadInput
from gptchat.index.document_index import DocumentIndex
from gptchat.workspace import DEFAULT_INDEX, DEFAULT_K, Workspace

if TYPE_CHECKING:
    from gptchat.answer.session import ChatSession
    from gptchat.eval.evaluate import QuestionResult
    from gptchat.index.embedder import Embedder
    from gptchat.index.indexer import IndexProgress
    from gptchat.log.store import AppStore
    from gptchat.model.generator import Generator


@dataclass(frozen=True)
class IndexOptions:
    """The knobs of `gptchat index`."""

    name: str = DEFAULT_INDEX
    rebuild: bool = False
    max_file_bytes: int = 50_000_000
    embedder_path: Path | None = None
    chunk_tokens: int | None = None
    overlap_tokens: int = 32


def guide_path() -> Path:
    """The user guide shipped inside the package, indexed on first run."""
    return Path(str(resources.files("gptchat") / "guide"))


def run_index(
    workspace: Workspace,
    paths: list[Path],
    options: IndexOptions,
    progress: IndexProgress | None = None,
) -> list[str]:
    """Index `paths` into the named index; returns the summary lines."""
    from gptchat.cli.index_text import report_lines
    from gptchat.index.embedder import Embedder
    from gptchat.index.indexer import Indexer
    from gptchat.ingest.chunker import ChunkSettings

    embedder = Embedder(options.embedder_path)
    readable = embedder.max_tokens - 2  # [CLS] and [SEP] take two of the model's positions
    if options.chunk_tokens and options.chunk_tokens > readable:
        raise BadInput(
            f"--chunk-tokens {options.chunk_tokens} is more than {embedder.name} reads ({readable})"
        )
    chunk_settings = ChunkSettings(
        max_tokens=options.chunk_tokens or readable, overlap_tokens=options.overlap_tokens
    )
    directory = workspace.index_dir(options.name)
    # Refreshing (no paths) needs an existing index; adding paths may create one.
    with DocumentIndex.open(directory, create=bool(paths)) as index:
        indexer = Indexer(index, embedder, chunk_settings, options.max_file_bytes, progress)
        report = indexer.run(paths, rebuild=options.rebuild)
    return report_lines(report, options.name)


def run_index_with_bar(workspace: Workspace, paths: list[Path], options: IndexOptions) -> list[str]:
    """run_index with a progress bar on stderr."""
    from gptchat.cli.progress import IndexProgressBar

    with IndexProgressBar(f"Indexing '{options.name}'") as bar:
        return run_index(workspace, paths, options, bar)


def list_indexes(workspace: Workspace) -> list[str]:
    """The `gptchat index --list` table."""
    from gptchat.cli.index_text import index_table

    summaries = []
    for name in workspace.index_names():
        with DocumentIndex.open(workspace.index_dir(name)) as index:
            summaries.append(index.summary())
    return index_table(summaries)


def open_default_index(workspace: Workspace) -> list[str]:
    """The bare `gptchat`: make sure the default index exists, seeding it with the guide."""
    lines: list[str] = []
    if DEFAULT_INDEX not in workspace.index_names() or _is_empty(workspace, DEFAULT_INDEX):
        lines.append(f"First run in {workspace.root}: indexing the gptchat user guide.")
        lines.extend(run_index_with_bar(workspace, [guide_path()], IndexOptions()))
    lines.extend(list_indexes(workspace))
    lines.append('Ask it something:  gptchat ask "How do I leave files out of an index?"')
    lines.append("Add your documents: gptchat index PATH")
    return lines


def _is_empty(workspace: Workspace, name: str) -> bool:
    with DocumentIndex.open(workspace.index_dir(name)) as index:
        return index.store.counts().files == 0


@dataclass(frozen=True)
class ModelOptions:
    """Which generator to run and how."""

    path: Path | None = None  # None: the default model, provisioned on first use
    int8: bool = False


def load_generator(
    options: ModelOptions, report: Callable[[str], None], workspace: Workspace | None = None
) -> Generator:
    """The generator for `options`: a given folder, else the workspace's active version."""
    from gptchat.model.generator import Generator
    from gptchat.model.provision import DEFAULT_MODEL, ensure_default_model
    from gptchat.model.versions import ModelChoice, active_choice

    if options.path is not None:
        return Generator(options.path, int8=options.int8)
    choice = active_choice(workspace) if workspace is not None else ModelChoice(None)
    base = choice.base or ensure_default_model(report)
    base_name = DEFAULT_MODEL if choice.base is None else choice.base.name
    return Generator(base, name=choice.name(base_name), int8=options.int8, adapters=choice.adapters)


@dataclass
class OpenSession:
    """A ChatSession with the index and database it holds open."""

    session: ChatSession
    index: DocumentIndex
    store: AppStore

    def close(self) -> None:
        self.index.close()
        self.store.close()


def open_chat_session(
    workspace: Workspace,
    index_name: str,
    model: ModelOptions,
    k: int,
    report: Callable[[str], None],
) -> OpenSession:
    """A ChatSession over the named index and the workspace's app database."""
    from gptchat.answer.retriever import Retriever
    from gptchat.answer.session import ChatSession
    from gptchat.log.store import AppStore

    index = open_searchable_index(workspace, index_name)
    try:
        embedder = index_embedder(index)
        generator = load_generator(model, report, workspace)
        store = AppStore(workspace.app_db_path)
    except BaseException:
        index.close()
        raise
    session = ChatSession(Retriever(index, embedder), generator, store, index_name, k=k)
    return OpenSession(session, index, store)


def open_searchable_index(workspace: Workspace, index_name: str) -> DocumentIndex:
    """An existing index with something in it, else a one-line BadInput."""
    if index_name not in workspace.index_names():
        raise BadInput(f"no index named '{index_name}' (build it with `gptchat index PATH`)")
    index = DocumentIndex.open(workspace.index_dir(index_name))
    if index.store.counts().chunks == 0:
        index.close()
        raise BadInput(f"index '{index_name}' is empty (add documents with `gptchat index PATH`)")
    return index


def index_embedder(index: DocumentIndex) -> Embedder:
    """The embedder an index was built with."""
    from gptchat.index.embedder import Embedder

    path = index.store.manifest().get("embedder_path")
    return Embedder(Path(path) if path else None)


@dataclass(frozen=True)
class EvalOptions:
    """The knobs of `gptchat eval`."""

    index_name: str = DEFAULT_INDEX
    k: int = DEFAULT_K
    limit: int | None = None
    retrieval_only: bool = False
    model: ModelOptions = ModelOptions()
    # Ask through the user's own log and rate each answer as a user would (+1 or a correction).
    record_feedback: bool = False
    max_tokens: int | None = None  # answer length cap; None: the prompt budget's default


@dataclass
class EvalOutcome:
    run_id: int
    model: str | None
    metrics: dict[str, float]
    problems: list[str]
    results: list[QuestionResult]


def run_eval(
    workspace: Workspace,
    qa_file: Path,
    options: EvalOptions,
    report: Callable[[str], None],
    show_progress: bool,
) -> EvalOutcome:
    """Evaluate the index (and the model, unless retrieval-only) on a question set."""
    import random
    import tempfile

    from gptchat.answer.retriever import Retriever
    from gptchat.answer.session import ChatSession
    from gptchat.cli.progress import CountProgressBar
    from gptchat.eval.evaluate import evaluate, judged_feedback
    from gptchat.eval.qa_set import load_qa_set
    from gptchat.log.store import AppStore

    if options.record_feedback and options.retrieval_only:
        raise BadInput("--record-feedback needs answers; drop --retrieval-only")
    qa_set = load_qa_set(qa_file)
    items = qa_set.items
    if options.limit and options.limit < len(items):
        items = random.Random(0).sample(items, options.limit)  # seeded: runs compare
    index = open_searchable_index(workspace, options.index_name)
    model_name = None
    try:
        retriever = Retriever(index, index_embedder(index))
        # Answers go to a scratch database, so an eval does not flood the user's history,
        # unless they are recorded as feedback, which lives beside the user's own.
        with tempfile.TemporaryDirectory(prefix="gptchat-eval-") as scratch_dir:
            db_path = Path(scratch_dir) / "eval.db"
            with AppStore(workspace.app_db_path if options.record_feedback else db_path) as answers:
                session = None
                if not options.retrieval_only:
                    generator = load_generator(options.model, report, workspace)
                    model_name = generator.name
                    session = ChatSession(
                        retriever, generator, answers, options.index_name, options.k
                    )
                    if options.max_tokens:
                        session.decode = replace(session.decode, max_new_tokens=options.max_tokens)
                bar = CountProgressBar("Evaluating", len(items)) if show_progress else None

                def on_result(result: QuestionResult) -> None:
                    if options.record_feedback and result.message_id is not None:
                        rating, correction = judged_feedback(result)
                        answers.set_feedback(
                            result.message_id, rating=rating, correction=correction
                        )
                    if bar:
                        bar.advance()

                with bar if bar else contextlib.nullcontext():
                    metrics, results = evaluate(items, retriever, session, on_result)
    finally:
        index.close()
    with AppStore(workspace.app_db_path) as store:
        run_id = store.add_eval_run(
            str(qa_file.resolve()), options.index_name, model_name, len(items), metrics
        )
    return EvalOutcome(run_id, model_name, metrics, qa_set.problems, results)


def export_feedback_golden(workspace: Workspace, path: Path) -> int:
    """Write the user's approved and corrected answers as a QA file; returns the row count."""
    from gptchat.eval.golden import export_golden
    from gptchat.log.store import AppStore

    with AppStore(workspace.app_db_path) as store:
        examples = store.feedback_examples()
    if not examples:
        raise BadInput("no rated or corrected answers yet: rate answers in the app first")
    return export_golden(examples, path)


def use_model_version(workspace: Workspace, target: int | str) -> str:
    """Make a version, "starter" or "base" the one that answers; says what changed."""
    from gptchat.log.store import AppStore
    from gptchat.model.provision import check_adapter_dir, check_model_dir
    from gptchat.model.starter import starter_available
    from gptchat.model.versions import STARTER_STATE, choice_for

    with AppStore(workspace.app_db_path) as store:
        if target == "base":
            store.activate_model_version(None)
            store.set_state(STARTER_STATE, "off")
            return "The base model answers now (no starter adapter)."
        if target == "starter":
            if not starter_available():
                raise BadInput("this install has no starter adapter (see scripts/build_starter.py)")
            store.activate_model_version(None)
            store.set_state(STARTER_STATE, "on")
            return "The starter answers now."
        assert isinstance(target, int)
        chosen = store.model_version(target)
        if chosen is None:
            raise BadInput(f"no model version {target} (see `gptchat models`)")
        choice = choice_for(workspace, store, chosen)
        # Every folder of the chain is checked before switching: a broken version is refused.
        if choice.base is not None:
            check_model_dir(choice.base)
        for adapter in choice.adapters:
            check_adapter_dir(adapter)
        store.activate_model_version(target)
        return f"v{target} answers now."


def rollback_model_version(workspace: Workspace) -> str:
    """Activate the parent of the active version (its root, starter or base, for a first)."""
    from gptchat.log.store import AppStore
    from gptchat.model.versions import STARTER_BASE

    with AppStore(workspace.app_db_path) as store:
        active = store.active_model_version()
    if active is None:
        raise BadInput(
            "no fine-tuned version is answering; nothing to roll back"
            " (`gptchat models use base` turns the starter off)"
        )
    if active.parent is not None:
        return use_model_version(workspace, active.parent)
    return use_model_version(workspace, "starter" if active.base_model == STARTER_BASE else "base")
