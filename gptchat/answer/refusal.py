"""When to say "not covered": the refusal weighed against how close the sources are."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gptchat.answer.retriever import Hit, Retrieval


@dataclass(frozen=True)
class RefusalPenalty:
    """Nats taken off the refusal's first token when an answer starts, by how similar the best
    source shown is to the question: the model alone refuses answerable questions too often,
    and retrieval's similarity tells the two cases apart far better (BENCHMARKS.md, "Refusal
    penalty" and "A model taught to refuse judges far passages itself"; the values were chosen
    by benchmarks/refusal_calibration.py)."""

    similar: float = 0.35  # cosine from which the sources count as close to the question
    close: float = 4.0  # penalty when they are: answer unless the model is quite sure
    distant: float = -1.0  # when they are not: a bonus, the refusal is likelier
    # A model taught to refuse is shown passages down to this best cosine (retrieval's own
    # floor is for a model that never learned to say "not covered"); below it, and without the
    # question's words in a passage, the app refuses without asking the model.
    floor: float = 0.0  # 0: the model judges every question itself

    def shows_model(self, retrieval: Retrieval, learned_refusal: bool) -> bool:
        """Whether the model reads what `retrieval` found, or the app says "not covered"
        itself: a model taught to refuse judges passages further from the question than
        retrieval's floor, which is set for a model that never learned to refuse."""
        if not learned_refusal:
            return retrieval.relevant
        return retrieval.relevant or (
            bool(retrieval.hits) and self.reaches(retrieval.best_similarity)
        )

    def reaches(self, best_similarity: float) -> bool:
        """Whether passages whose best cosine to the question is `best_similarity` are close
        enough for a model taught to refuse to read, though retrieval found them too far."""
        return best_similarity >= self.floor

    def for_similarity(self, similarity: float) -> float:
        return self.close if similarity >= self.similar else self.distant

    def for_sources(self, sources: Sequence[Hit]) -> float:
        """The penalty for a prompt showing `sources`."""
        return self.for_similarity(best_similarity(sources))


def best_similarity(sources: Sequence[Hit]) -> float:
    """The highest cosine to the question among `sources` (keyword-only hits have none)."""
    return max((hit.similarity for hit in sources if hit.similarity is not None), default=0.0)
