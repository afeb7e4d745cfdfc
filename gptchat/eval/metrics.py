"""Scoring conventions of ../shared/eval: SQuAD normalisation, EM, token F1, hit@k, MRR."""

from __future__ import annotations

from collections import Counter

# Scoring, retrieval relevance and citation checks judge answers by the same words.
from gptchat.answer.citations import normalize_answer


def exact_match(prediction: str, golds: list[str]) -> float:
    return float(any(normalize_answer(prediction) == normalize_answer(g) for g in golds))


def token_f1(prediction: str, golds: list[str]) -> float:
    """Best token-overlap F1 of `prediction` against any gold answer."""
    best = 0.0
    predicted = normalize_answer(prediction).split()
    for gold in golds:
        expected = normalize_answer(gold).split()
        common = sum((Counter(predicted) & Counter(expected)).values())
        if common == 0:
            continue
        precision, recall = common / len(predicted), common / len(expected)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def contains_answer(passage: str, golds: list[str]) -> bool:
    """Whether a passage holds a gold answer string (DPR's top-k retrieval accuracy)."""
    normalized = normalize_answer(passage)
    return any(
        normalize_answer(g) and f" {normalize_answer(g)} " in f" {normalized} " for g in golds
    )


def first_relevant_rank(relevance: list[bool]) -> int | None:
    """1-based rank of the first relevant item, or None."""
    return next((rank for rank, ok in enumerate(relevance, start=1) if ok), None)


def hit_at(rank: int | None, k: int) -> float:
    return float(rank is not None and rank <= k)


def reciprocal_rank(rank: int | None, k: int) -> float:
    return 1.0 / rank if rank is not None and rank <= k else 0.0


def rouge_l_recall(prediction: str, reference: str) -> float:
    """Longest common subsequence of normalised tokens, over the reference's length."""
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not expected:
        return 0.0
    previous = [0] * (len(predicted) + 1)
    for token in expected:
        current = [0]
        for j, other in enumerate(predicted, start=1):
            current.append(previous[j - 1] + 1 if token == other else max(previous[j], current[-1]))
        previous = current
    return previous[-1] / len(expected)
