"""What the user taught, put to use at once: given back, shown as a source, and searched.

Three uses of a taught answer, from the surest to the loosest, with rules chosen on data
(BENCHMARKS.md, "When is a question the one a correction answered?" and "A correction works
at once"):
- the same question (the same content words, in any order, and cosine ≥ SAME_COSINE): the
  taught answer is given back as it is. The embedder's cosine alone takes hundreds of other
  questions about the same article for the same one ("… the AFC …" / "… the NFC …" at 0.98);
  no new content word is what tells them apart;
- a close question (cosine ≥ CLOSE_COSINE, every taught content word in it, at most
  CLOSE_NEW_WORDS more): the taught answer is the model's first source, labelled as the
  user's, so a question that adds a qualifier is answered by the model, not by the taught text;
- any question near a taught one (cosine ≥ RETRIEVAL_COSINE): the passages the taught answer
  cites are ranked for it beside dense and keyword search, so they come first more often.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from gptchat.answer.attribution import meaningful_words, share_found
from gptchat.answer.citations import cited_numbers, normalize_answer, strip_citations
from gptchat.answer.retriever import Hit
from gptchat.index.document_index import DocumentIndex
from gptchat.index.embedder import Embedder
from gptchat.log.store import AppStore, StoredSource, TaughtAnswer

SAME_COSINE = 0.85
CLOSE_COSINE = 0.90
CLOSE_NEW_WORDS = 2
RETRIEVAL_COSINE = 0.80
RETRIEVAL_TAUGHT = 5  # taught questions whose passages one search ranks, the nearest first
# An uncited answer teaches the passage that holds this share of its content words.
HELD_SHARE = 0.5


# Words of asking, not of what is asked ("Could you tell me: …", "What's …" without its
# apostrophe): a question said with or without them is the same question.
_ASKING_WORDS = frozenset("please kindly tell me whats wheres whos hows whens whys".split())


def wording(question: str) -> frozenset[str]:
    """A question's content words, order, stop words and words of asking aside."""
    return frozenset(w for w in meaningful_words(question) if w not in _ASKING_WORDS)


@dataclass(frozen=True)
class TaughtMatch:
    taught: TaughtAnswer
    similarity: float
    same: bool  # the same question: given back as it is; else close: shown as a source


def taught_name(taught: TaughtAnswer) -> str:
    """What a taught answer is called where it is used: "your answer of 5 Dec (taught #3)"."""
    when = datetime.fromisoformat(taught.created_at)
    return f"your answer of {when.day} {when:%b} (taught #{taught.id})"


def taught_source(match: TaughtMatch) -> Hit:
    """A taught answer as a source for the model: named as the user's, with the question it
    answered as its heading; its own [n] marks go (they number another answer's sources)."""
    taught = match.taught
    return Hit(
        path=taught_name(taught),
        heading=f"asked: {taught.question}",
        text=strip_citations(taught.answer).strip(),
        line_start=None,
        line_end=None,
        page=None,
        chunk_ids=(),
        score=0.0,
        similarity=match.similarity,
        taught_id=taught.id,
    )


def taught_passages(taught: TaughtAnswer) -> list[StoredSource]:
    """The document passages a taught answer says answer its question: those it cites, else
    the one that holds most of its words (none if no passage holds HELD_SHARE of them)."""
    documents = [s for s in taught.sources if s.taught_id is None and s.path]
    cited = cited_numbers(taught.answer)
    chosen = [s for s in documents if s.source_number in cited]
    if chosen or not documents:
        return chosen
    words = meaningful_words(taught.answer)
    shares = [share_found(words, set(normalize_answer(s.text).split())) for s in documents]
    best = int(np.argmax(shares))
    return [documents[best]] if shares[best] >= HELD_SHARE else []


def still_indexed(index: DocumentIndex, source: StoredSource) -> tuple[int, ...]:
    """The chunks of the index that make up a stored passage as it was (a passage may be
    several chunks merged; any of them unchanged counts); none once it changed or left."""
    if source.path is None:
        return ()
    return tuple(
        chunk.id
        for chunk in index.file_chunks(source.path)
        if chunk.text in source.text or source.text in chunk.text
    )


class TaughtAnswers:
    """The taught questions of one index as a matrix of unit vectors (kept in gptchat.db,
    made once each), compared with every new question in one product."""

    def __init__(
        self,
        store: AppStore,
        embedder: Embedder,
        index: DocumentIndex,
        name: str,
        retrieval_cosine: float = RETRIEVAL_COSINE,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.index = index
        self.index_name = name  # taught on another index, an answer cites other passages
        self.retrieval_cosine = retrieval_cosine
        self._state: int | None = None  # the store's taught_state, when last read
        self._ids: list[int] = []
        self._wordings: list[frozenset[str]] = []
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._passages: dict[int, tuple[int, tuple[int, ...]]] = {}  # id -> (data version, chunks)

    def nearest(self, question: str, vector: np.ndarray) -> TaughtMatch | None:
        """The taught answer that answers `question` (unit `vector`), or one close enough to
        be shown as a source; the same question is preferred to a closer-worded other."""
        self._refresh()
        if not self._ids:
            return None
        similarities = self._vectors @ vector
        asked = wording(question)
        best: tuple[float, int, bool] | None = None
        for position in np.flatnonzero(similarities >= min(SAME_COSINE, CLOSE_COSINE)):
            similarity, taught = float(similarities[position]), self._wordings[position]
            same = taught == asked and similarity >= SAME_COSINE
            close = similarity >= CLOSE_COSINE and _adds_little(taught, asked)
            if (same or close) and (best is None or (same, similarity) > (best[2], best[0])):
                best = (similarity, int(position), same)
        if best is None:
            return None
        similarity, position, same = best
        return TaughtMatch(self.store.taught_answer(self._ids[position]), similarity, same)

    def ranking(self, vector: np.ndarray) -> list[tuple[int, float]]:
        """(chunk id, cosine) of the passages taught for the questions nearest `vector`,
        nearest first: what the taught questions add to a search."""
        self._refresh()
        if not self._ids:
            return []
        similarities = self._vectors @ vector
        near = np.flatnonzero(similarities >= self.retrieval_cosine)
        ranked: dict[int, float] = {}
        for position in near[np.argsort(-similarities[near])][:RETRIEVAL_TAUGHT]:
            for chunk_id in self._chunks(self._ids[position]):
                ranked.setdefault(chunk_id, float(similarities[position]))
        return list(ranked.items())

    def _chunks(self, taught_id: int) -> tuple[int, ...]:
        """The chunks a taught answer's passages are now, found again after any re-index."""
        version = self.index.store.data_version()
        known = self._passages.get(taught_id)
        if known is None or known[0] != version:
            taught = self.store.taught_answer(taught_id)
            chunks = [c for s in taught_passages(taught) for c in still_indexed(self.index, s)]
            known = self._passages[taught_id] = (version, tuple(dict.fromkeys(chunks)))
        return known[1]

    def _refresh(self) -> None:
        """Bring the matrix up to what is taught now (added, edited or forgotten); embed
        and keep the questions that have no vector from this embedder yet."""
        state = self.store.taught_state()
        if state == self._state:
            return
        questions = self.store.taught_questions(self.index_name)
        model = self.embedder.name
        missing = [q for q in questions if q.question_vector is None or q.vector_model != model]
        made: dict[int, np.ndarray] = {}
        if missing:
            vectors = self.embedder.encode([q.question for q in missing]).astype(np.float32)
            made = dict(zip([q.id for q in missing], vectors, strict=True))
            self.store.set_taught_vectors(model, [(i, v.tobytes()) for i, v in made.items()])
        self._ids = [q.id for q in questions]
        self._wordings = [wording(q.question) for q in questions]
        rows = [
            made[q.id] if q.id in made else np.frombuffer(q.question_vector, dtype=np.float32)
            for q in questions
        ]
        self._vectors = np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
        self._passages.clear()  # an edited answer may cite other passages
        self._state = state


def _adds_little(taught: frozenset[str], asked: frozenset[str]) -> bool:
    """Every content word of the taught question is in the asked one, with few more."""
    return taught <= asked and len(asked - taught) <= CLOSE_NEW_WORDS
