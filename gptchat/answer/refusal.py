"""When to say "not covered": the refusal weighed against how close the sources are."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gptchat.answer.closeness import best_closeness
from gptchat.answer.retriever import Hit, Retrieval


@dataclass(frozen=True)
class RefusalPenalty:
    """Nats taken off the refusal's first token when an answer starts, by how close the sources
    shown are to the question (their closest sentence's cosine): the model alone refuses
    answerable questions too often, and that closeness tells the two cases apart far better
    (BENCHMARKS.md, "Refusal penalty" and "Closeness: a passage's closest sentence"; the
    values were chosen by benchmarks/refusal_calibration.py)."""

    similar: float = 0.45  # closeness from which the sources count as close to the question
    close: float = 4.0  # penalty when they are: answer unless the model is quite sure
    distant: float = -0.5  # when they are not: a bonus, the refusal is likelier
    # A model taught to refuse is shown passages down to this closeness (retrieval's own
    # floor is for a model that never learned to say "not covered"); below it, and without the
    # question's words in a passage, the app refuses without asking the model.
    floor: float = 0.0  # 0: the model judges every question itself

    def shows_model(self, retrieval: Retrieval, learned_refusal: bool) -> bool:
        """Whether the model reads what `retrieval` found, or the app says "not covered"
        itself: a model taught to refuse judges passages further from the question than
        retrieval's floor, which is set for a model that never learned to refuse."""
        if not learned_refusal:
            return retrieval.relevant
        return retrieval.relevant or (bool(retrieval.hits) and self.reaches(retrieval.closeness))

    def reaches(self, closeness: float) -> bool:
        """Whether passages `closeness` close to the question are close enough for a model
        taught to refuse to read, though retrieval found them too far."""
        return closeness >= self.floor

    def for_closeness(self, closeness: float) -> float:
        """The penalty for sources `closeness` close to the question."""
        return self.close if closeness >= self.similar else self.distant

    def for_sources(self, sources: Sequence[Hit]) -> float:
        """The penalty for a prompt showing `sources`."""
        return self.for_closeness(best_closeness(sources))
