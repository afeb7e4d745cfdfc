"""Citations checked after the answer: each sentence cites the sources that support it.

A small model forgets to cite, or cites a number at random. Once an answer is complete,
every sentence is compared with every source by word overlap and, when an embedder is given,
by meaning; a citation to a source that does not support its sentence is dropped, and a
sentence left without one gets the best-supporting source's [n].
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gptchat.answer.citations import CITATION, normalize_answer, strip_citations

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
# Words that say nothing of where a sentence is from.
_STOP_WORDS = frozenset(
    "is are was were be been being of in on at to for from by with and or as it its this that"
    " these those which who whom what when where how why do does did has have had not no can"
    " will would should could may might also than then there their they them he she his her"
    " i you we our your one".split()
)
MIN_OVERLAP = 0.6  # share of a sentence's words found in a source that make it support it
MIN_MEANING_OVERLAP = 0.3  # a lower share is enough when the meaning is close too
MIN_COSINE = 0.5

Embed = Callable[[list[str]], np.ndarray]  # texts -> unit vectors, one row each


@dataclass(frozen=True)
class CitedSentence:
    """One sentence of the answer, the sources it cites after checking, and the sentence of
    each cited source that supports it best."""

    text: str  # as the model wrote it, its own citation marks removed
    cited: tuple[int, ...]
    evidence: dict[int, str]  # source number -> its best-matching sentence


@dataclass(frozen=True)
class Attribution:
    text: str  # the answer with checked citations
    sentences: list[CitedSentence]
    inserted: int  # citations added where the model left none
    dropped: int  # citations removed: their source does not support the sentence

    @property
    def cited(self) -> set[int]:
        return {n for sentence in self.sentences for n in sentence.cited}


def split_sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text.strip()) if part.strip()]


def meaningful_words(text: str) -> list[str]:
    """The normalised words of `text` that carry meaning, none if it has only stop words."""
    return [w for w in normalize_answer(text).split() if w not in _STOP_WORDS]


def content_words(text: str) -> list[str]:
    """The normalised words of `text` that carry meaning (all of them if none does)."""
    return meaningful_words(text) or normalize_answer(text).split()


def overlap(sentence: str, vocabulary: set[str]) -> float:
    """Share of the sentence's content words found in a source's (normalised) words."""
    return share_found(content_words(sentence), vocabulary)


def share_found(words: list[str], vocabulary: set[str]) -> float:
    """Share of `words` found in `vocabulary` (0 for no words)."""
    return sum(w in vocabulary for w in words) / len(words) if words else 0.0


def attribute(answer: str, sources: list[str], embed: Embed | None = None) -> Attribution:
    """`answer` with each sentence citing the sources (numbered from 1) that support it."""
    sentences = split_sentences(answer)
    if not sentences or not sources:
        return Attribution(answer.strip(), [], 0, 0)
    plain = [strip_citations(s).strip() for s in sentences]
    vocabularies = [set(normalize_answer(source).split()) for source in sources]
    overlaps = np.array([[overlap(s, words) for words in vocabularies] for s in plain])
    cosines = np.zeros_like(overlaps)
    if embed is not None:
        vectors = embed(plain + sources)
        cosines = vectors[: len(plain)] @ vectors[len(plain) :].T
    supported = (overlaps >= MIN_OVERLAP) | (
        (overlaps >= MIN_MEANING_OVERLAP) & (cosines >= MIN_COSINE)
    )
    strength = overlaps + cosines
    result: list[CitedSentence] = []
    inserted = dropped = 0
    for row, (written, text) in enumerate(zip(sentences, plain, strict=True)):
        claimed = [int(n) for n in CITATION.findall(written)]
        kept = tuple(
            dict.fromkeys(n for n in claimed if 0 < n <= len(sources) and supported[row, n - 1])
        )
        dropped += len(set(claimed)) - len(kept)
        if not kept and supported[row].any():
            kept = (int(np.argmax(np.where(supported[row], strength[row], -np.inf))) + 1,)
            inserted += 1
        evidence = {n: _best_sentence(text, sources[n - 1]) for n in kept}
        result.append(CitedSentence(text, kept, evidence))
    return Attribution(_render(result), result, inserted, dropped)


def _render(sentences: list[CitedSentence]) -> str:
    parts = []
    for sentence in sentences:
        if not sentence.cited:
            parts.append(sentence.text)
            continue
        body, end = split_end(sentence.text)
        marks = "".join(f"[{n}]" for n in sentence.cited)
        parts.append(f"{body} {marks}{end}")
    return " ".join(parts)


def split_end(text: str) -> tuple[str, str]:
    """The sentence without its final punctuation, and that punctuation."""
    stripped = text.rstrip()
    end = len(stripped)
    while end and stripped[end - 1] in ".!?":
        end -= 1
    return stripped[:end].rstrip(), stripped[end:]


def _best_sentence(sentence: str, source: str) -> str:
    """The sentence of `source` that shares most words with `sentence`."""
    candidates = split_sentences(source.replace("\n", " ")) or [source]
    words = set(content_words(sentence))
    return max(candidates, key=lambda c: len(words & set(normalize_answer(c).split())))


def complete_sentences(text: str) -> tuple[str, bool]:
    """`text` cut after its last complete sentence, and whether anything was cut.

    For an answer that hit the token cap: a sentence cut mid-way is worse than none. With no
    complete sentence at all the text stays, and the caller marks it as cut.
    """
    stripped = text.rstrip()
    if not stripped or stripped[-1] in ".!?" or re.search(r"\[\d+\]$", stripped):
        return stripped, False
    ends = [m.end() for m in re.finditer(r"[.!?](?:\s*\[\d+\])*(?=\s|$)", stripped)]
    if not ends:
        return stripped, True
    return stripped[: ends[-1]].rstrip(), True
