"""How close a passage is to a question: the cosine of its closest sentence, not the whole
passage's, whose other sentences on other topics pull the cosine down."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol, TypeVar

import numpy as np

from gptchat.answer.attribution import split_sentences

if TYPE_CHECKING:
    from gptchat.index.embedder import Embedder


class Measured(Protocol):
    """A passage as retrieval scores it (gptchat.answer.retriever.Hit)."""

    text: str
    similarity: float | None
    closest_sentence: float | None


PassageT = TypeVar("PassageT", bound=Measured)

# A passage merged from neighbouring chunks can be long: its sentences beyond this many are
# not embedded, so that a search's time stays bounded.
MAX_SENTENCES = 24


def passage_sentences(text: str) -> list[str]:
    """The sentences of a passage, line breaks read as spaces."""
    return split_sentences(" ".join(text.split()))[:MAX_SENTENCES]


def with_closeness(
    embedder: Embedder, question: np.ndarray, hits: Sequence[PassageT]
) -> list[PassageT]:
    """`hits`, each with the cosine of its sentence closest to the question (`question`: its
    embedding), all sentences embedded in one batch."""
    sentences = [passage_sentences(hit.text) for hit in hits]
    flat = [sentence for group in sentences for sentence in group]
    if not flat:
        return list(hits)
    cosines = embedder.encode(flat) @ question
    closest: list[PassageT] = []
    start = 0
    for hit, group in zip(hits, sentences, strict=True):
        end = start + len(group)
        best = float(cosines[start:end].max()) if group else None
        closest.append(replace(hit, closest_sentence=best))
        start = end
    return closest


def closeness(hit: Measured) -> float | None:
    """How close `hit` is to its question: its closest sentence's cosine where it was
    measured, else the whole passage's (a taught answer's: its question's to this one)."""
    return hit.closest_sentence if hit.closest_sentence is not None else hit.similarity


def best_closeness(hits: Sequence[Measured]) -> float:
    """The closest any of `hits` is to the question (0 when none was measured)."""
    found = [value for hit in hits if (value := closeness(hit)) is not None]
    return max(found, default=0.0)
