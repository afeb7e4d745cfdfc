"""How and why questions answered in the source's own words: the sentence a short answer is from.

Asked "How do I leave files out of an index?", the starter model answers with a span
("`.gptchatignore` [1]."): it names the thing but not what to do with it. When that span stands
word for word in one sentence of a source, the sentence is the answer, citing that source; the
model's words stay in the log as the raw answer. Quoting, not rewriting, keeps it grounded: a
135M model taught to write such sentences copied them with the wrong verb (BENCHMARKS.md, "A
second recipe").
"""

from __future__ import annotations

import re

from gptchat.answer.attribution import split_end
from gptchat.answer.citations import CITATION, normalize_answer, strip_citations

# "How did ...", "Why ...", "What does X mean?", "What happens ...", "Explain ..." ask for an
# explanation; "how many/much/long ..." for a quantity, and other "what" questions for a name.
EXPLANATORY = re.compile(
    r"^\W*(why\b|how (?!many|much|long|old|far|large|often|big|tall|few|high|fast|deep|wide"
    r"|early|soon|common)\w+|what (?:does|do)\b.*\bmean\b|what happens\b|explain\b"
    r"|describe\b)",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`\"'(*_\[])")
_LINE_MARKUP = re.compile(r"^\s*(?:#+\s+|>\s*|[-*+]\s+|\d+[.)]\s+)+")
MAX_QUOTE_WORDS = 45  # longer "sentences" are tables or lists run together, not one statement
_WORD = re.compile(r"^[(\"'\u201c]?[A-Za-z][A-Za-z'\u2019-]*[,.;:!?)\"'\u201d]*$")
MIN_PROSE_SHARE = 0.6  # of a sentence's tokens plain words: below, it is code or a command


def asks_for_explanation(question: str) -> bool:
    """Whether `question` asks how, why or what something means (not how many, how long, ...)."""
    return bool(EXPLANATORY.match(question.strip()))


def is_prose(sentence: str) -> bool:
    """Whether a sentence reads as words, not as code ("curl https://… --header …")."""
    tokens = sentence.split()
    return bool(tokens) and sum(bool(_WORD.match(t)) for t in tokens) / len(tokens) >= (
        MIN_PROSE_SHARE
    )


def source_sentences(text: str) -> list[str]:
    """The sentences of a passage: wrapped lines joined, list and heading markup removed,
    fenced code left out."""
    blocks: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            blocks.append("")
        elif fenced:
            continue
        elif not line.strip():
            blocks.append("")  # a blank line ends a paragraph
        elif _LINE_MARKUP.match(line) or not blocks or not blocks[-1]:
            blocks.append(_LINE_MARKUP.sub("", line).strip())
        else:
            blocks[-1] += " " + line.strip()
    return [part.strip() for block in blocks for part in _SENTENCE_END.split(block) if part.strip()]


def sentence_holding(spans: list[str], question: str, texts: list[str]) -> tuple[int, str] | None:
    """(index into `texts`, sentence) of the sentence that holds one of `spans` word for word
    and shares most words with `question`; None when no sentence of at most MAX_QUOTE_WORDS
    words says more than the span itself."""
    wanted = [f" {words} " for words in map(normalize_answer, spans) if words]
    asked = set(normalize_answer(question).split())
    best: tuple[int, str] | None = None
    best_overlap = -1
    for index, text in enumerate(texts):
        for sentence in source_sentences(text):
            words = normalize_answer(sentence)
            if len(sentence.split()) > MAX_QUOTE_WORDS or not is_prose(sentence):
                continue
            if not any(span in f" {words} " and span != f" {words} " for span in wanted):
                continue
            overlap = len(asked & set(words.split()))
            if overlap > best_overlap:
                best, best_overlap = (index, sentence), overlap
    return best


def quoted_answer(question: str, answer: str, sources: list[str]) -> str | None:
    """For a how or why question, the sentence of a source that holds the short `answer`,
    citing it (the sources the answer cited are searched first); None to keep the answer."""
    if not asks_for_explanation(question):
        return None
    span = strip_citations(answer).strip()
    claimed = dict.fromkeys(int(n) for n in CITATION.findall(answer))
    cited = [n for n in claimed if 0 < n <= len(sources)]
    for numbers in (cited, range(1, len(sources) + 1)):
        found = sentence_holding([span], question, [sources[n - 1] for n in numbers])
        if found is not None:
            index, sentence = found
            body, end = split_end(sentence)
            return f"{body} [{numbers[index]}]{end or '.'}"
    return None
