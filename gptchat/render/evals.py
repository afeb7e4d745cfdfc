"""Plain-text and JSON renderings of `gptchat eval` results."""

from __future__ import annotations

from dataclasses import asdict

from gptchat.eval.run import EvalOutcome
from gptchat.log.store import EvalRun

_LABELS = {
    "questions": "questions",
    "retrieval_unscored": "questions retrieval cannot score (long answer, no sources), left out",
    "hit@1": "retrieval hit@1",
    "hit@5": "retrieval hit@5",
    "hit@10": "retrieval hit@10",
    "mrr@10": "retrieval MRR@10",
    "dense hit@1": "baseline: dense alone hit@1",
    "dense hit@5": "baseline: dense alone hit@5",
    "dense hit@10": "baseline: dense alone hit@10",
    "dense mrr@10": "baseline: dense alone MRR@10",
    "keyword hit@1": "baseline: BM25 alone hit@1",
    "keyword hit@5": "baseline: BM25 alone hit@5",
    "keyword hit@10": "baseline: BM25 alone hit@10",
    "keyword mrr@10": "baseline: BM25 alone MRR@10",
    "exact_match": "answer exact match",
    "token_f1": "answer token F1",
    "contains_gold": "answers that contain a gold answer",
    "model_token_f1": "answer token F1 of the model's own words, before quoting",
    "rouge_l_recall": "answer ROUGE-L recall (long answers)",
    "model_rouge_l_recall": "answer ROUGE-L recall of the model's own words",
    "not_in_documents_rate": "'not in the documents' replies",
    "answers_with_citation": "answers with a citation (not counting 'not covered')",
    "model_cited": "answers the model cited itself, before checking",
    "quoted": "explanations given in the sources' sentences",
    "cited_sources_gold": "cited sources that are gold",
    "retrieval_ms_p50": "retrieval ms p50",
    "retrieval_ms_p95": "retrieval ms p95",
    "first_token_ms_p50": "time to first token ms p50",
    "first_token_ms_p95": "time to first token ms p95",
    "prompt_tokens_p50": "prompt tokens p50",
    "prompt_tokens_p95": "prompt tokens p95",
    "answer_words_p50": "answer words p50",
    "answer_words_p95": "answer words p95",
    "answer_tokens_p50": "answer tokens p50",
    "answer_tokens_p95": "answer tokens p95",
    "answer_ms_p50": "answer ms p50 (after retrieval)",
    "answer_ms_p95": "answer ms p95 (after retrieval)",
    "decode_tok_s_p50": "decode tok/s p50",
    "decode_tok_s_p95": "decode tok/s p95",
}


def metrics_table(outcome: EvalOutcome) -> list[str]:
    """The Markdown table `gptchat eval` prints."""
    lines = ["| metric | value |", "|---|---|"]
    for key, label in _LABELS.items():
        if key in outcome.metrics:
            value = outcome.metrics[key]
            counts = ("questions", "retrieval_unscored")
            shown = f"{value:.0f}" if key in counts else f"{value:.3f}"
            lines.append(f"| {label} | {shown} |")
    return lines


def outcome_json(outcome: EvalOutcome) -> dict:
    """The JSON report: metrics, skipped rows and every question's result."""
    return {
        "run_id": outcome.run_id,
        "model": outcome.model,
        "metrics": outcome.metrics,
        "problems": outcome.problems,
        "questions": [
            {
                **{k: v for k, v in asdict(r).items() if k not in ("item", "sources")},
                **asdict(r.item),
                # Where each cited [n] points, not the passages' text (the log has that).
                "sources": [hit.location for hit in r.sources],
            }
            for r in outcome.results
        ],
    }


def history_table(runs: list[EvalRun]) -> list[str]:
    """`gptchat eval --history`: how quality moved, one run per row."""
    if not runs:
        return ["No eval runs yet. Run one: gptchat eval QA.jsonl"]
    lines = [
        "| run | date | questions | index | model | hit@5 | MRR@10 | F1 | ROUGE-L | file |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        m = run.metrics

        def cell(key: str, m: dict = m) -> str:
            return f"{m[key]:.3f}" if key in m else "-"

        lines.append(
            f"| {run.id} | {run.created_at} | {run.questions} | {run.index_name} "
            f"| {run.model or 'retrieval only'} | {cell('hit@5')} | {cell('mrr@10')} "
            f"| {cell('token_f1')} | {cell('rouge_l_recall')} | {run.qa_file} |"
        )
    return lines
