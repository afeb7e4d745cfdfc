"""The scoring conventions of ../shared/eval, checked against hand-computed values."""

from __future__ import annotations

import pytest

from gptchat.eval.metrics import (
    contains_answer,
    exact_match,
    first_relevant_rank,
    hit_at,
    normalize_answer,
    reciprocal_rank,
    token_f1,
)


def test_squad_normalisation() -> None:
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert normalize_answer("an apple, a pear") == "apple pear"


def test_exact_match_takes_the_best_gold_answer() -> None:
    assert exact_match("the Denver Broncos.", ["Broncos", "Denver Broncos"]) == 1.0
    assert exact_match("Denver", ["Denver Broncos"]) == 0.0


def test_token_f1_by_hand() -> None:
    # prediction: denver broncos won (3 tokens); gold: denver broncos (2): common 2
    # precision 2/3, recall 1, F1 = 2 * (2/3) / (5/3) = 0.8
    assert token_f1("Denver Broncos won", ["Denver Broncos"]) == pytest.approx(0.8)
    assert token_f1("Carolina", ["Denver Broncos", "Carolina Panthers"]) == pytest.approx(2 / 3)
    assert token_f1("nothing alike", ["Denver"]) == 0.0


def test_answer_containment_respects_word_boundaries() -> None:
    assert contains_answer("They met in Santa Clara, California.", ["Santa Clara, California"])
    assert not contains_answer("The cathedral is old.", ["the cat"])


def test_ranks_hits_and_reciprocal_ranks() -> None:
    rank = first_relevant_rank([False, False, True, True])
    assert rank == 3
    assert (hit_at(rank, 1), hit_at(rank, 3), hit_at(rank, 10)) == (0.0, 1.0, 1.0)
    assert reciprocal_rank(rank, 10) == pytest.approx(1 / 3)
    assert reciprocal_rank(rank, 2) == 0.0
    assert first_relevant_rank([False]) is None and hit_at(None, 5) == 0.0
