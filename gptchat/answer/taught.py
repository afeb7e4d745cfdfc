"""Taught answers given back: a question asked again gets the user's own corrected answer.

The rule was chosen on data (BENCHMARKS.md, "When is a question the one a correction
answered?"): the embedder's cosine alone takes hundreds of other questions about the same
article for the same one ("… the AFC …" / "… the NFC …" at 0.98), so a question counts as the
taught one when it says nothing the taught one did not (the same content words, in any order)
and is close in meaning (cosine ≥ SAME_COSINE). On 1,100 questions that rule took no other
question, and kept 70-92 % of rule-made rewordings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gptchat.answer.attribution import meaningful_words
from gptchat.log.store import AppStore, TaughtAnswer

SAME_COSINE = 0.85

Embed = Callable[[list[str]], np.ndarray]  # texts -> unit vectors, one row each


def wording(question: str) -> frozenset[str]:
    """A question's content words, order and stop words aside."""
    return frozenset(meaningful_words(question))


@dataclass(frozen=True)
class TaughtMatch:
    taught: TaughtAnswer
    similarity: float


class TaughtAnswers:
    """Finds the taught answer to a question: taught questions are grouped by their wording
    (kept in memory, regrouped when something is taught or forgotten), and only those of the
    same wording are embedded and compared."""

    def __init__(self, store: AppStore, embed: Embed, index_name: str) -> None:
        self.store = store
        self.embed = embed
        self.index_name = index_name  # taught on another index, an answer cites other passages
        self._state: tuple[int, int] | None = None  # the store's taught_state, when grouped
        self._by_wording: dict[frozenset[str], list[tuple[int, str]]] = defaultdict(list)
        self._vectors: dict[tuple[int, str], np.ndarray] = {}

    def match(self, question: str) -> TaughtMatch | None:
        """The taught answer to `question`, if one was taught for it."""
        self._refresh()
        candidates = self._by_wording.get(wording(question), [])
        if not candidates:
            return None  # the common case: no embedding at all
        missing = [c for c in candidates if c not in self._vectors]
        for key, vector in zip(missing, self.embed([q for _, q in missing]), strict=True):
            self._vectors[key] = vector
        similarities = np.stack([self._vectors[c] for c in candidates]) @ self.embed([question])[0]
        best = int(np.argmax(similarities))
        if similarities[best] < SAME_COSINE:
            return None
        return TaughtMatch(self.store.taught_answer(candidates[best][0]), float(similarities[best]))

    def _refresh(self) -> None:
        """Bring the wording groups up to what is taught now (added or forgotten)."""
        state = self.store.taught_state()
        if state == self._state:
            return
        self._by_wording.clear()
        for key in self.store.taught_questions(self.index_name):
            self._by_wording[wording(key[1])].append(key)
        self._state = state
