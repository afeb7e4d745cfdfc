"""The reranker: its features by hand, the bundled weights, and how retrieval uses it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from gptchat.answer import reranker as reranker_module
from gptchat.answer.reranker import FEATURES, Reranker, bundled_reranker, rerank_features
from gptchat.answer.retriever import Retriever
from gptchat.errors import GptchatError
from gptchat.index.document_index import DocumentIndex
from gptchat.index.embedder import Embedder
from gptchat.index.indexer import Indexer

QUESTION = "How long is green tea steeped?"


@dataclass(frozen=True)
class Passage:
    heading: str
    text: str
    similarity: float | None


def test_features_by_hand() -> None:
    passages = [
        Passage("", "Black tea takes boiling water.", 0.6),
        Passage("Green tea", "It is steeped for two minutes.", None),  # keyword search alone
        Passage("", "A chain needs oil.", 0.2),
    ]
    features = rerank_features(QUESTION, passages)
    # Content words of the question: long, green, tea, steeped.
    assert features[0] == pytest.approx((1.0, 0.6, 1 / 4))
    assert features[1] == pytest.approx((1 / 2, 0.2, 3 / 4))  # the lowest cosine of the others
    assert features[2] == pytest.approx((1 / 3, 0.2, 0.0))


def test_the_bundled_reranker_puts_the_passage_with_the_questions_words_first() -> None:
    shipped = bundled_reranker()
    assert shipped is not None and len(shipped.weights) == len(FEATURES)
    assert shipped.candidates >= 1
    passages = [
        Passage("", "Tea is a drink made in many countries.", 0.55),
        Passage("", "Green tea is steeped at 80 degrees for two minutes.", 0.5),
    ]
    assert shipped.order(QUESTION, passages) == [1, 0]


def test_a_damaged_or_missing_reranker_file(tmp_path: Path, monkeypatch) -> None:
    damaged = tmp_path / "reranker.json"
    damaged.write_text('{"weights": {"fused rank": 1}}')
    with pytest.raises(GptchatError, match="not a reranker file"):
        Reranker.load(damaged)
    monkeypatch.setattr(reranker_module, "RERANKER_FILE", tmp_path / "absent.json")
    assert bundled_reranker() is None  # retrieval then goes on without one


def test_retrieval_reorders_only_its_own_candidates(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path
) -> None:
    indexer.run([docs])
    plain = Retriever(index, embedder).retrieve(QUESTION, 4).hits
    reversing = Reranker((-1.0, 0.0, 0.0), candidates=4)  # the fused order, backwards
    reranked = Retriever(index, embedder, reranker=reversing).retrieve(QUESTION, 2).hits
    assert [hit.chunk_ids for hit in reranked] == [hit.chunk_ids for hit in plain[::-1][:2]]


class TaughtFor:
    """A taught ranking that names one chunk, as TaughtAnswers does for a near question."""

    def __init__(self, chunk_id: int) -> None:
        self.chunk_id = chunk_id

    def ranking(self, vector) -> list[tuple[int, float]]:
        return [(self.chunk_id, 0.9)]


def test_a_taught_passage_stays_first_whatever_the_reranker_says(
    indexer: Indexer, index: DocumentIndex, embedder: Embedder, docs: Path
) -> None:
    indexer.run([docs])
    fused = Retriever(index, embedder).retrieve(QUESTION, 4).hits
    # Taught, the last passage is fused first; reversed, it would go last, but it stays first.
    taught = fused[-1].chunk_ids[0]
    reversing = Reranker((-1.0, 0.0, 0.0), candidates=4)
    retriever = Retriever(index, embedder, taught=TaughtFor(taught), reranker=reversing)
    assert taught in retriever.retrieve(QUESTION, 4).hits[0].chunk_ids
