"""`gptchat eval`: retrieval, answer, citation and speed quality on a question set."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from gptchat.answer.citations import cited_numbers, strip_citations
from gptchat.answer.retriever import Hit, Retriever
from gptchat.answer.session import ChatSession
from gptchat.eval.metrics import (
    contains_answer,
    exact_match,
    first_relevant_rank,
    hit_at,
    reciprocal_rank,
    rouge_l_recall,
    token_f1,
)
from gptchat.eval.qa_set import QAItem, cited_target, is_long, supports

BASELINES = ("dense", "keyword")  # each measured alone beside the fused retrieval
# A long answer that recalls this much of a reference (as ROUGE-L) is as good as a match.
LONG_ANSWER_MATCH = 0.8


@dataclass
class QuestionResult:
    """What happened to one question."""

    item: QAItem
    rank: int | None  # of the first relevant hit among the top 10
    retrieval_ms: float
    answer: str | None = None
    message_id: int | None = None
    status: str | None = None
    exact_match: float | None = None
    token_f1: float | None = None
    # A verbose right answer and a terse wrong one are told apart by these two.
    contains_gold: bool | None = None  # holds a gold answer (SQuAD normalisation)
    answer_words: int | None = None  # its words, citations aside
    rouge_l: float | None = None
    citations: list[bool] = field(default_factory=list)  # per cited source: is it gold?
    model_cited: bool = False  # the model wrote a citation itself, before they were checked
    quoted: bool = False  # answered with the sources' sentences (gptchat.answer.quoting)
    model_score: float | None = None  # token F1 or ROUGE-L of the model's own words
    first_token_ms: float | None = None
    prompt_tokens: int | None = None
    answer_tokens: int | None = None
    answer_ms: float | None = None
    decode_tokens_per_s: float | None = None
    baseline_ranks: dict[str, int | None] = field(default_factory=dict)  # dense, keyword alone
    # A long answer without source files gives retrieval nothing to match: not a miss.
    retrieval_scored: bool = True
    sources: list[Hit] = field(default_factory=list)  # the numbered sources of the answer


def retrieval_scorable(item: QAItem) -> bool:
    """Whether a hit can be judged: a short answer string, or gold source files to match."""
    return not is_long(item) or bool(item.sources)


def evaluate_question(
    item: QAItem, retriever: Retriever, session: ChatSession | None
) -> QuestionResult:
    """Score one question: its retrieval always, its answer when a session is given."""
    main_mode = retriever.settings.mode
    # Scored by rank alone: whether the hits cover the question is the answer's to judge.
    retrievals = retriever.retrieve_modes(item.question, 10, (main_mode, *BASELINES), judge=False)
    ranks = {
        mode: first_relevant_rank([supports(hit, item) for hit in retrieval.hits])
        for mode, retrieval in retrievals.items()
    }
    result = QuestionResult(item, ranks[main_mode], retrievals[main_mode].milliseconds)
    result.baseline_ranks = {mode: ranks[mode] for mode in BASELINES}
    result.retrieval_scored = retrieval_scorable(item)
    if session is None:
        return result
    answer = session.ask(item.question)
    list(answer)
    result.answer, result.status = answer.text, answer.status
    result.sources = list(answer.sources)
    result.message_id = answer.message_id
    result.quoted = answer.quoted
    if is_long(item):
        result.rouge_l = max(rouge_l_recall(answer.text, gold) for gold in item.answers)
        result.model_score = max(rouge_l_recall(answer.raw_text, gold) for gold in item.answers)
    else:
        result.exact_match = exact_match(answer.text, item.answers)
        result.token_f1 = token_f1(answer.text, item.answers)
        result.contains_gold = contains_answer(answer.text, item.answers)
        result.model_score = token_f1(answer.raw_text, item.answers)
    result.answer_words = len(strip_citations(answer.text).split())
    cited = cited_numbers(answer.text)
    result.model_cited = bool(cited_numbers(answer.raw_text))
    result.citations = [
        supports(answer.sources[n - 1], item) for n in sorted(cited) if 0 < n <= len(answer.sources)
    ]
    result.first_token_ms = answer.timings.get("first_token_ms")
    result.prompt_tokens = answer.timings.get("prompt_tokens")
    result.answer_tokens = answer.timings.get("new_tokens")
    result.answer_ms = answer.timings.get("total_ms")
    result.decode_tokens_per_s = answer.timings.get("decode_tokens_per_s")
    return result


def evaluate(
    items: list[QAItem],
    retriever: Retriever,
    session: ChatSession | None,
    on_result: Callable[[QuestionResult], None] = lambda result: None,
) -> tuple[dict[str, float], list[QuestionResult]]:
    """Every question's result and the aggregate metrics."""
    results = []
    for item in items:
        results.append(evaluate_question(item, retriever, session))
        on_result(results[-1])
    return summarize(results), results


def judged_feedback(result: QuestionResult) -> tuple[int, str | None]:
    """The feedback a user would give: +1 when it matches a gold answer, else a correction
    that cites the source holding the gold answer, as a careful user's would."""
    matched = result.exact_match == 1.0 or (result.rouge_l or 0.0) >= LONG_ANSWER_MATCH
    if matched:
        return 1, None
    return -1, cited_target(result.item, result.sources) or result.item.answers[0]


def summarize(results: list[QuestionResult]) -> dict[str, float]:
    """Aggregate metrics, named as in ../shared/eval's README; absent when not measurable."""
    metrics: dict[str, float] = {"questions": len(results)}
    scored = [r for r in results if r.retrieval_scored]
    if len(scored) < len(results):
        metrics["retrieval_unscored"] = len(results) - len(scored)
    if scored:
        metrics.update(_rank_metrics("", [r.rank for r in scored]))
        for mode in BASELINES:
            ranks = [r.baseline_ranks.get(mode) for r in scored]
            metrics.update(_rank_metrics(f"{mode} ", ranks))
    metrics.update(_spread("retrieval_ms", [r.retrieval_ms for r in results]))
    answered = [r for r in results if r.answer is not None]
    if not answered:
        return metrics
    short = [r for r in answered if r.exact_match is not None]
    long = [r for r in answered if r.rouge_l is not None]
    if short:
        metrics["exact_match"] = statistics.mean(r.exact_match for r in short)
        metrics["token_f1"] = statistics.mean(r.token_f1 for r in short)
        metrics["contains_gold"] = statistics.mean(bool(r.contains_gold) for r in short)
    if long:
        metrics["rouge_l_recall"] = statistics.mean(r.rouge_l for r in long)
    for name, part in (("model_token_f1", short), ("model_rouge_l_recall", long)):
        own = [r.model_score for r in part if r.model_score is not None]
        if own:
            metrics[name] = statistics.mean(own)
    metrics["not_in_documents_rate"] = statistics.mean(r.status == "no_answer" for r in answered)
    # A "not covered" reply cites nothing by design: citations are counted on real answers.
    replies = [r for r in answered if r.status != "no_answer"]
    if replies:
        metrics["answers_with_citation"] = statistics.mean(bool(r.citations) for r in replies)
        metrics["model_cited"] = statistics.mean(r.model_cited for r in replies)
        metrics["quoted"] = statistics.mean(r.quoted for r in replies)
    cited = [gold for r in answered for gold in r.citations]
    if cited:
        metrics["cited_sources_gold"] = statistics.mean(cited)
    metrics.update(_spread("first_token_ms", [r.first_token_ms for r in answered]))
    metrics.update(_spread("prompt_tokens", [r.prompt_tokens for r in answered]))
    metrics.update(_spread("answer_words", [r.answer_words for r in answered]))
    metrics.update(_spread("answer_tokens", [r.answer_tokens for r in answered]))
    metrics.update(_spread("answer_ms", [r.answer_ms for r in answered]))
    metrics.update(_spread("decode_tok_s", [r.decode_tokens_per_s for r in answered]))
    return metrics


def _rank_metrics(prefix: str, ranks: list[int | None]) -> dict[str, float]:
    return {
        f"{prefix}hit@1": statistics.mean(hit_at(rank, 1) for rank in ranks),
        f"{prefix}hit@5": statistics.mean(hit_at(rank, 5) for rank in ranks),
        f"{prefix}hit@10": statistics.mean(hit_at(rank, 10) for rank in ranks),
        f"{prefix}mrr@10": statistics.mean(reciprocal_rank(rank, 10) for rank in ranks),
    }


def _spread(name: str, values: list[float | None]) -> dict[str, float]:
    present = [v for v in values if v]
    if not present:
        return {}
    # Inclusive: with few questions the default method put p95 above the largest value.
    p95 = (
        statistics.quantiles(present, n=20, method="inclusive")[18]
        if len(present) > 1
        else present[0]
    )
    return {f"{name}_p50": statistics.median(present), f"{name}_p95": p95}
