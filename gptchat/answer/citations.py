"""Citation marks in answer text, and the word normalisation that compares answers."""

from __future__ import annotations

import re
import string

CITATION = re.compile(r"\[(\d+)\]")
_CITATION_WITH_SPACE = re.compile(r"\s*\[\d+\]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def cited_numbers(text: str) -> set[int]:
    """The source numbers an answer cites as [n]."""
    return {int(n) for n in CITATION.findall(text)}


def strip_citations(text: str) -> str:
    """`text` without its [n] citation marks."""
    return _CITATION_WITH_SPACE.sub("", text)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces.

    Citation marks go first: "[1]" says where an answer is from, it is not part of it.
    """
    text = _ARTICLES.sub(" ", strip_citations(text).lower().translate(_PUNCTUATION))
    return " ".join(text.split())
