"""Reranking retrieval's candidates by a learned score of what retrieval knows of each: its
place in the fused ranking, its cosine to the question, and the share of the question's
content words it holds. The weights are trained by scripts/build_reranker.py on squad-dev's
training articles and ship in reranker.json with how they were made (BENCHMARKS.md, "A
trained reranker")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gptchat.answer.attribution import meaningful_words, share_found
from gptchat.answer.citations import normalize_answer
from gptchat.errors import GptchatError

RERANKER_FILE = Path(__file__).parent / "reranker.json"
FEATURES = ("fused rank", "cosine", "word share")


class Candidate(Protocol):
    """What the reranker reads of a retrieved passage."""

    heading: str
    text: str
    similarity: float | None


def rerank_features(question: str, candidates: list[Candidate]) -> list[tuple[float, ...]]:
    """Per candidate, in fused order: 1/rank, cosine to the question (a passage keyword search
    alone found gets the lowest cosine of the others: it was below dense search's cut), and
    the share of the question's content words in its heading and text."""
    words = meaningful_words(question)
    known = [c.similarity for c in candidates if c.similarity is not None]
    floor = min(known, default=0.0)
    return [
        (
            1.0 / rank,
            floor if candidate.similarity is None else candidate.similarity,
            passage_word_share(words, candidate.heading, candidate.text),
        )
        for rank, candidate in enumerate(candidates, start=1)
    ]


def passage_word_share(words: list[str], heading: str, text: str) -> float:
    """The share of `words` (a question's content words) a passage's heading and text hold."""
    return share_found(words, set(normalize_answer(f"{heading} {text}").split()))


@dataclass(frozen=True)
class Reranker:
    """A linear score over FEATURES; the highest-scoring candidate goes first."""

    weights: tuple[float, ...]
    candidates: int  # how many fused hits it reorders

    @classmethod
    def load(cls, path: Path | None = None) -> Reranker:
        """The weights in a reranker file (by default, the bundled one)."""
        path = path or RERANKER_FILE
        try:
            saved = json.loads(path.read_text())
            weights = tuple(float(saved["weights"][name]) for name in FEATURES)
            return cls(weights, int(saved["candidates"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise GptchatError(f"{path}: not a reranker file ({exc})") from exc

    def order(self, question: str, candidates: list[Candidate]) -> list[int]:
        """The candidates' indexes, best first; a tie keeps the fused order."""
        features = rerank_features(question, candidates)
        scores = [sum(w * f for w, f in zip(self.weights, row, strict=True)) for row in features]
        return sorted(range(len(candidates)), key=lambda i: -scores[i])


def bundled_reranker() -> Reranker | None:
    """The reranker that ships with gptchat, or None where its file is not installed."""
    return Reranker.load() if RERANKER_FILE.is_file() else None
