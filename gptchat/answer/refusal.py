"""When to say "not covered": the refusal weighed against how close the sources are."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gptchat.answer.retriever import Hit


@dataclass(frozen=True)
class RefusalPenalty:
    """Nats taken off the refusal's first token when an answer starts, by how similar the best
    source shown is to the question: the model alone refuses answerable questions too often,
    and retrieval's similarity tells the two cases apart far better (BENCHMARKS.md, "Refusal
    penalty"; the values were chosen by benchmarks/refusal_calibration.py)."""

    similar: float = 0.45  # cosine from which the sources count as close to the question
    close: float = 3.0  # penalty when they are: answer unless the model is quite sure
    distant: float = 0.0  # when they are not (negative would make the refusal likelier)

    def for_similarity(self, similarity: float) -> float:
        return self.close if similarity >= self.similar else self.distant

    def for_sources(self, sources: Sequence[Hit]) -> float:
        """The penalty for a prompt showing `sources`."""
        return self.for_similarity(best_similarity(sources))


def best_similarity(sources: Sequence[Hit]) -> float:
    """The highest cosine to the question among `sources` (keyword-only hits have none)."""
    return max((hit.similarity for hit in sources if hit.similarity is not None), default=0.0)
