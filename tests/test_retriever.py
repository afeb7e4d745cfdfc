"""Hybrid retrieval over a real index: fusion, merging of overlaps, the relevance floor."""

from __future__ import annotations

from pathlib import Path

import pytest

from gptchat.answer.retriever import Retriever, RetrieverOptions, fuse
from gptchat.index.document_index import DocumentIndex
from gptchat.index.embedder import Embedder
from gptchat.index.indexer import Indexer


def test_reciprocal_rank_fusion_matches_hand_computation() -> None:
    dense = [(1, 0.9), (2, 0.8), (3, 0.7)]
    keyword = [(3, 12.0), (4, 9.0)]
    fused = dict(fuse([dense, keyword], rrf_k=60))
    assert fused[1] == pytest.approx(1 / 61)
    assert fused[2] == pytest.approx(1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[4] == pytest.approx(1 / 62)
    assert next(iter(fuse([dense, keyword], 60)))[0] == 3


@pytest.fixture
def indexed(indexer: Indexer, docs: Path) -> DocumentIndex:
    indexer.run([docs])
    return indexer.index


def test_fused_retrieval_finds_the_right_passage(indexed: DocumentIndex, embedder: Embedder):
    retrieval = Retriever(indexed, embedder).retrieve("How long do I steep green tea?", k=3)
    assert retrieval.relevant
    top = retrieval.hits[0]
    assert Path(top.path).name == "tea.txt" and top.location.endswith("tea.txt:1-3")
    assert top.similarity is not None and top.similarity > 0.3
    assert retrieval.milliseconds > 0
    assert len({h.chunk_ids for h in retrieval.hits}) == len(retrieval.hits)


def test_each_mode_alone_also_works(indexed: DocumentIndex, embedder: Embedder) -> None:
    for mode in ("dense", "keyword"):
        retriever = Retriever(indexed, embedder, RetrieverOptions(mode=mode))
        (top, *_) = retriever.retrieve("bicycle chain oil", k=2).hits
        assert Path(top.path).name == "bikes.rst"


def test_unrelated_questions_fall_below_the_relevance_floor(
    indexed: DocumentIndex, embedder: Embedder
) -> None:
    retrieval = Retriever(indexed, embedder).retrieve("Who won the 1998 football world cup?")
    assert not retrieval.relevant
    assert retrieval.hits  # the closest passages are still there to show


def test_overlapping_chunks_of_one_paragraph_merge_into_one_hit(
    index: DocumentIndex, embedder: Embedder, tmp_path: Path
) -> None:
    folder = tmp_path / "long"
    folder.mkdir()
    sentences = [f"The lighthouse keeper logged storm number {n} at dawn." for n in range(60)]
    (folder / "log.txt").write_text(" ".join(sentences) + "\n")
    Indexer(index, embedder).run([folder])
    assert index.store.counts().chunks >= 3
    retrieval = Retriever(index, embedder).retrieve("lighthouse keeper storm log", k=5)
    (merged,) = retrieval.hits
    assert len(merged.chunk_ids) == index.store.counts().chunks
    assert merged.location.endswith("log.txt:1")
    for sentence in sentences:
        assert merged.text.count(sentence) == 1


def test_keyword_search_skips_stop_words_unless_nothing_else_is_left(
    indexed: DocumentIndex,
) -> None:
    (top, *_) = indexed.chunks([i for i, _ in indexed.keyword_search("What is the lava?", 3)])
    assert Path(top.path).name == "page.html"
    only_stop_words = indexed.keyword_search("what is that", 5)
    assert only_stop_words and all(score > 0 for _, score in only_stop_words)
    assert indexed.keyword_search("?!", 5) == []


def test_terms_common_to_most_chunks_leave_large_index_queries(
    index: DocumentIndex, embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gptchat.index import store as index_store

    folder = tmp_path / "rivers"
    folder.mkdir()
    for n in range(4):
        (folder / f"r{n}.md").write_text(f"# River {n}\n\nThe river number {n} flows east.\n")
    (folder / "otters.md").write_text("# Otters\n\nOtters swim in the river at night.\n")
    Indexer(index, embedder).run([folder])
    # Pretend the index is large: any term in over 30 % of chunks is too common.
    monkeypatch.setattr(index_store, "COMMON_TERM_FLOOR", 0)
    monkeypatch.setattr(index_store, "COMMON_TERM_SHARE", 0.3)
    assert index.store._query_terms("Where do the otters swim in rivers?") == ["otter", "swim"]
    assert index.store._query_terms("rivers") == ["river"]  # nothing rarer: the rarest stays
    (top,) = index.chunks([index.keyword_search("otters in the river", 1)[0][0]])
    assert Path(top.path).name == "otters.md"


def test_a_question_whose_words_all_stand_in_one_passage_is_covered(
    indexed: DocumentIndex, embedder: Embedder
) -> None:
    # A floor no cosine reaches: only the question's words can decide.
    by_words = RetrieverOptions(min_similarity=1.01, min_word_share=0.8)
    covered = Retriever(indexed, embedder, by_words).retrieve("What is called lava?")
    assert covered.word_share == 1.0 and covered.relevant  # "called", "lava": both there
    best = max(h.similarity for h in covered.hits if h.similarity is not None)
    assert covered.best_similarity >= best
    # Each hit shown is measured by its closest sentence; the retrieval by its closest hit.
    assert all(h.closest_sentence is not None for h in covered.hits)
    assert covered.closeness == max(h.closest_sentence or 0.0 for h in covered.hits) > 0
    # Ranked alone, as evaluation scores retrieval: the same hits, no sentence embedded.
    ranked = Retriever(indexed, embedder, by_words).retrieve_modes(
        "What is called lava?", 3, ("fused",), judge=False
    )["fused"]
    assert [h.chunk_ids for h in ranked.hits] == [h.chunk_ids for h in covered.hits]
    assert all(h.closest_sentence is None for h in ranked.hits) and not ranked.relevant
    # `rank`, for callers that read the order alone, is that ranking.
    ranks = Retriever(indexed, embedder, by_words).rank("What is called lava?", 3)
    assert ranks == ranked.hits
    unrelated = Retriever(indexed, embedder, by_words).retrieve("Who won the football cup?")
    assert unrelated.word_share < 0.8 and not unrelated.relevant
    by_cosine_only = RetrieverOptions(min_similarity=1.01, min_word_share=float("inf"))
    assert (
        not Retriever(indexed, embedder, by_cosine_only).retrieve("What is called lava?").relevant
    )


def test_a_question_of_stop_words_alone_shares_no_words_with_any_passage(
    indexed: DocumentIndex, embedder: Embedder
) -> None:
    by_words = RetrieverOptions(min_similarity=1.01, min_word_share=0.1)
    retrieval = Retriever(indexed, embedder, by_words).retrieve("How is it?")
    assert retrieval.word_share == 0.0 and not retrieval.relevant
