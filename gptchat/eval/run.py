"""`gptchat eval`: score an index and its model on a question set, and record the run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gptchat.answer.reranker import bundled_reranker
from gptchat.answer.retriever import Retriever
from gptchat.answer.session import ChatSession
from gptchat.errors import BadInput
from gptchat.eval.evaluate import QuestionResult, evaluate, judged_feedback
from gptchat.eval.qa_set import load_qa_set
from gptchat.index.catalog import index_embedder, open_searchable_index
from gptchat.log.store import AppStore
from gptchat.model.loading import ModelOptions, load_generator
from gptchat.progress import NO_PROGRESS, Progress
from gptchat.workspace import DEFAULT_INDEX, DEFAULT_K, Workspace

if TYPE_CHECKING:
    from gptchat.eval.evaluate import QuestionResult


@dataclass(frozen=True)
class EvalOptions:
    """The knobs of `gptchat eval`."""

    index_name: str = DEFAULT_INDEX
    k: int = DEFAULT_K
    limit: int | None = None
    retrieval_only: bool = False
    model: ModelOptions = field(default_factory=ModelOptions)
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
    progress: Progress = NO_PROGRESS,
) -> EvalOutcome:
    """Evaluate the index (and the model, unless retrieval-only) on a question set."""
    import random
    import tempfile

    if options.record_feedback and options.retrieval_only:
        raise BadInput("--record-feedback needs answers; drop --retrieval-only")
    qa_set = load_qa_set(qa_file)
    items = qa_set.items
    if options.limit and options.limit < len(items):
        items = random.Random(0).sample(items, options.limit)  # seeded: runs compare
    model_name = None
    # Answers go to a scratch database, so an eval does not flood the user's history, unless
    # they are recorded as feedback, which lives beside the user's own.
    with (
        open_searchable_index(workspace, options.index_name) as index,
        tempfile.TemporaryDirectory(prefix="gptchat-eval-") as scratch_dir,
        AppStore(
            workspace.app_db_path if options.record_feedback else Path(scratch_dir) / "eval.db"
        ) as answers,
    ):
        retriever = Retriever(index, index_embedder(index), reranker=bundled_reranker())
        session = None
        if not options.retrieval_only:
            generator = load_generator(options.model, report, workspace)
            model_name = generator.name
            session = ChatSession(retriever, generator, answers, options.index_name, options.k)
            if options.max_tokens:
                session.decode = replace(session.decode, max_new_tokens=options.max_tokens)
        progress.start(len(items), "Evaluating", "questions")

        def on_result(result: QuestionResult) -> None:
            if options.record_feedback and result.message_id is not None:
                rating, correction = judged_feedback(result)
                answers.set_feedback(result.message_id, rating=rating, correction=correction)
            progress.advance()

        metrics, results = evaluate(items, retriever, session, on_result)
    with AppStore(workspace.app_db_path) as store:
        run_id = store.add_eval_run(
            str(qa_file.resolve()), options.index_name, model_name, len(items), metrics
        )
    return EvalOutcome(run_id, model_name, metrics, qa_set.problems, results)
