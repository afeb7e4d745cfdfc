"""Hybrid retrieval: FAISS dense top-k and FTS5/BM25 top-k, fused by reciprocal rank."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from gptchat.answer.attribution import meaningful_words
from gptchat.answer.closeness import best_closeness, with_closeness
from gptchat.answer.reranker import Reranker, passage_word_share
from gptchat.index.document_index import DocumentIndex
from gptchat.index.embedder import Embedder
from gptchat.index.store import ChunkRecord, Passage
from gptchat.workspace import DEFAULT_K

PARAGRAPH_BREAK = "\n\n"


@dataclass(frozen=True)
class Hit(Passage):
    """A retrieved passage (one chunk, or overlapping chunks merged) with its scores."""

    chunk_ids: tuple[int, ...]
    score: float  # fused score, higher is better
    similarity: float | None  # cosine similarity to the question, when dense search found it
    taught_id: int | None = None  # the user's own taught answer, shown as a source
    # The cosine of its sentence closest to the question (gptchat.answer.closeness).
    closest_sentence: float | None = None


@dataclass(frozen=True)
class Retrieval:
    """The hits for one question, whether any is relevant, and how long it took."""

    hits: list[Hit]
    relevant: bool
    milliseconds: float
    best_similarity: float = 0.0  # the best cosine of any dense candidate to the question
    word_share: float = 0.0  # of the question's content words, most found in one hit
    closeness: float = 0.0  # the best cosine of one sentence of the hits to the question


@dataclass(frozen=True)
class RetrieverOptions:
    """Knobs of hybrid retrieval; defaults measured on ../shared/eval (see BENCHMARKS.md)."""

    candidates: int = 30  # taken from each of dense and keyword search before fusion
    rrf_k: int = 60  # the constant of reciprocal-rank fusion (Cormack et al. 2009)
    # Below this cosine of the hits' closest sentence, the documents do not cover it...
    min_similarity: float = 0.5
    # ...unless one hit holds this share of the question's content words: a question ("What did
    # historians do in the absence of census figures?", passage cosine 0.33) can be far in
    # meaning yet all there.
    min_word_share: float = 1.0  # both chosen by benchmarks/relevance_calibration.py
    mode: str = "fused"  # or "dense" or "keyword", for measuring each alone

    def covers(self, closeness: float, word_share: float) -> bool:
        """Whether passages this close, holding this share of the question's words, cover it."""
        return closeness >= self.min_similarity or word_share >= self.min_word_share


class TaughtRanking(Protocol):
    """Passages the user taught for questions near a query (gptchat.answer.taught)."""

    def ranking(self, vector: np.ndarray) -> list[tuple[int, float]]: ...


class Retriever:
    """Finds the passages of an index that best answer a question."""

    def __init__(
        self,
        index: DocumentIndex,
        embedder: Embedder,
        settings: RetrieverOptions | None = None,
        taught: TaughtRanking | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings or RetrieverOptions()
        self.reranker = reranker
        # A third ranking fused with dense and keyword search: the passages the user's
        # corrections cited, for questions near the ones they were taught on.
        self.taught = taught

    def retrieve(
        self,
        question: str,
        k: int = DEFAULT_K,
        vector: np.ndarray | None = None,
        also: str | None = None,
    ) -> Retrieval:
        """The top `k` hits for `question` (its embedding `vector`, if made already),
        overlapping neighbours merged; `also`: the question as asked in another language,
        searched by keyword too and fused in."""
        mode = self.settings.mode
        return self.retrieve_modes(question, k, (mode,), vector, also)[mode]

    def rank(
        self,
        question: str,
        k: int = DEFAULT_K,
        vector: np.ndarray | None = None,
        also: str | None = None,
    ) -> list[Hit]:
        """The top `k` hits for `question`, as `retrieve` orders them, not judged for covering
        it: none of their sentences is embedded, for callers that read the order alone."""
        mode = self.settings.mode
        return self.retrieve_modes(question, k, (mode,), vector, also, judge=False)[mode].hits

    def retrieve_modes(
        self,
        question: str,
        k: int,
        modes: tuple[str, ...],
        vector: np.ndarray | None = None,
        also: str | None = None,
        judge: bool = True,
    ) -> dict[str, Retrieval]:
        """The top `k` hits of each mode ("fused", "dense", "keyword") for `question`.

        One query embedding and one search of each kind serve every mode asked for; each
        mode's time is that shared search plus its own ranking. `judge`: whether to tell if
        the hits cover the question, which embeds their sentences; hits scored by rank alone
        need not be (unjudged, a retrieval is not relevant and its closeness is 0).
        """
        started = time.perf_counter()
        settings = self.settings
        query = self.embedder.encode([question])[0] if vector is None else vector
        dense = self.index.dense_search(query, settings.candidates)
        keyword = self.index.keyword_search(question, settings.candidates)
        taught = self.taught.ranking(query) if self.taught and "fused" in modes else []
        # The question as asked, in its own language: names and numbers match as written, so
        # it is searched by keyword. Not by embedding: the embedder reads text in another
        # language as noise, and its passages crowded the translation's out of the top 5.
        # Relevance is judged on the translation.
        asked: list[list[tuple[int, float]]] = []
        if also:
            asked = [self.index.keyword_search(also, settings.candidates)]
        searched = time.perf_counter() - started
        similarity = dict(dense)
        best = max(similarity.values(), default=0.0)
        rankings = {
            "fused": lambda: fuse([dense, keyword, taught, *asked], settings.rrf_k),
            "dense": lambda: dense,
            "keyword": lambda: keyword,
        }
        results: dict[str, Retrieval] = {}
        for mode in modes:
            ranked_at = time.perf_counter()
            if mode == "fused" and self.reranker is not None:
                count = max(k, self.reranker.candidates)
                candidates = self._hits(rankings[mode](), similarity, count)
                hits = self._reranked(question, candidates, taught)[:k]
            else:
                hits = self._hits(rankings[mode](), similarity, k)
            if judge:
                hits = with_closeness(self.embedder, query, hits)
            share = question_word_share(question, hits)
            close = best_closeness(hits)
            # A passage taught for a question this near answered it: it covers this one.
            relevant = judge and (
                settings.covers(close, share) or (mode == "fused" and bool(taught))
            )
            seconds = searched + time.perf_counter() - ranked_at
            results[mode] = Retrieval(hits, relevant, seconds * 1000, best, share, close)
        return results

    def _reranked(
        self, question: str, hits: list[Hit], taught: list[tuple[int, float]]
    ) -> list[Hit]:
        """`hits` in the reranker's order; those holding a passage the user taught for a
        question this near stay first, as fusion ranked them: the user said they answer it."""
        assert self.reranker is not None
        chunks = {chunk_id for chunk_id, _ in taught}
        pinned = [hit for hit in hits if chunks.intersection(hit.chunk_ids)]
        rest = [hit for hit in hits if not chunks.intersection(hit.chunk_ids)]
        return pinned + [rest[i] for i in self.reranker.order(question, rest)]

    def _hits(
        self, ranked: list[tuple[int, float]], similarity: dict[int, float], k: int
    ) -> list[Hit]:
        """The first `k` hits of a ranking, overlapping neighbours merged."""
        records = {r.id: r for r in self.index.chunks([chunk_id for chunk_id, _ in ranked])}
        hits: list[Hit] = []
        for chunk_id, score in ranked:
            record = records.get(chunk_id)
            if record is None:
                continue
            hit = _hit(record, score, similarity.get(chunk_id))
            if _merge_into(hits, hit):
                continue
            if len(hits) == k:
                break
            hits.append(hit)
        return hits


def question_word_share(question: str, hits: list[Hit]) -> float:
    """The largest share of the question's content words that one hit (heading and text)
    holds; 0 for a question of stop words alone ("How are you?" says nothing of a topic)."""
    words = meaningful_words(question)
    return max((passage_word_share(words, h.heading, h.text) for h in hits), default=0.0)


def fuse(rankings: list[list[tuple[int, float]]], rrf_k: int) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion: each list adds 1 / (rrf_k + rank) to an id's score."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, (chunk_id, _) in enumerate(ranking, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (rrf_k + rank)
    return sorted(scores.items(), key=lambda item: item[1], reverse=True)


def _hit(record: ChunkRecord, score: float, similarity: float | None) -> Hit:
    return Hit(
        chunk_ids=(record.id,),
        path=record.path,
        heading=record.heading,
        text=record.text,
        line_start=record.line_start,
        line_end=record.line_end,
        page=record.page,
        score=score,
        similarity=similarity,
    )


def _merge_into(hits: list[Hit], new: Hit) -> bool:
    """Fold `new` into an earlier hit it overlaps (same file, overlapping lines); True if so."""
    for position, old in enumerate(hits):
        if old.path != new.path or old.page != new.page or old.line_start is None:
            continue
        if new.line_start is None or new.line_end is None or old.line_end is None:
            continue
        if new.line_start > old.line_end or old.line_start > new.line_end:
            continue
        # Chunk ids grow in reading order within a file; lines alone can tie.
        first, second = (old, new) if min(old.chunk_ids) < min(new.chunk_ids) else (new, old)
        hits[position] = replace(
            old,
            chunk_ids=tuple(sorted(old.chunk_ids + new.chunk_ids)),
            text=_join_overlapping(first.text, second.text),
            line_start=first.line_start,
            line_end=max(old.line_end, new.line_end),
            similarity=max(
                (s for s in (old.similarity, new.similarity) if s is not None), default=None
            ),
        )
        return True
    return False


def _join_overlapping(first: str, second: str) -> str:
    """Join two passages, dropping the paragraphs the second repeats from the first's end."""
    if second in first:
        return first
    head, tail = first.split(PARAGRAPH_BREAK), second.split(PARAGRAPH_BREAK)
    for size in range(min(len(head), len(tail)), 0, -1):
        if head[-size:] == tail[:size]:
            return PARAGRAPH_BREAK.join(head + tail[size:])
    return first + PARAGRAPH_BREAK + second
