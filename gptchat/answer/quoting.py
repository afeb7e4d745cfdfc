"""Explanations answered in the sources' own words: the sentence a short answer is from, and
the sentences closest to the question.

Asked "How do I leave files out of an index?", the starter model answers with a span
("`.gptchatignore` [1]."): it names the thing but not what to do with it. A question that asks
how, why, what to do, what differs or two things at once is answered instead with the sentence
of a source that holds that span word for word, then that passage's sentences that share most
words with the question (three at most; with no such sentence, any shown passage's), each
citing its source; the model's words stay in the log as the raw answer. Quoting, not
rewriting, keeps it grounded: a 135M model taught to write such sentences copied them with the
wrong verb (BENCHMARKS.md, "A second recipe").
"""

from __future__ import annotations

import re

from gptchat.answer.attribution import meaningful_words, split_end
from gptchat.answer.citations import CITATION, normalize_answer, strip_citations
from gptchat.ingest.chunker import SENTENCE_STOP

# "How did ...", "Why ...", "What does X mean?", "What happens ...", "Explain ..." ask for an
# explanation; "how many/much/long ..." for a quantity, and other "what" questions for a name.
EXPLANATORY = re.compile(
    r"^\W*(why\b|how (?!many|much|long|old|far|large|often|big|tall|few|high|fast|deep|wide"
    r"|early|soon|common)\w+|what (?:does|do)\b.*\bmean\b|what happens\b|explain\b"
    r"|describe\b"
    # what differs, what it is for, and lists of several things ("What are the key ...")
    r"|what (?:is|are|was|were) (?:the )?(?:difference|differences|purpose|role|benefits?"
    r"|advantages?|reasons?|relationship)\b|what (?:are|were) (?:some|the (?:key|main|major))\b)",
    re.IGNORECASE,
)
# A question that asks two things at once ("What model ..., and how does it compare?") or
# what to do is answered by no span alone, wherever those words stand in it.
SEVERAL_OR_STEPS = re.compile(
    r",? and (?:how|what|why|which|when|where|who|is|are|was|were|does|do|did|can|could"
    r"|should|would)\b|\bwhat (?:should|can|could|must) (?:you|i|one|we) do\b",
    re.IGNORECASE,
)
# In a source, a sentence ends before a capital, a digit or markup (not at "e.g." or "i.e.").
_SENTENCE_END = re.compile(SENTENCE_STOP + r"\s+(?=[A-Z0-9`\"'(*_\[])")
_ENDS_A_STATEMENT = re.compile(r"[.!?][)\"'\u201d\u2019]*$")
_LINE_MARKUP = re.compile(r"^\s*(?:#+\s+|>\s*|[-*+]\s+|\d+[.)]\s+)+")
MAX_QUOTE_WORDS = 45  # longer "sentences" are tables or lists run together, not one statement
MIN_QUOTE_WORDS = 4  # shorter ones are headings or labels
MAX_QUOTED_SENTENCES = 3
MAX_ANSWER_WORDS = 80  # a quoted answer stays a paragraph, not a page
MIN_SHARED_WORDS = 2  # of the question's, for a sentence that does not hold the model's answer
_WORD = re.compile(r"^[(\"'\u201c]?[A-Za-z][A-Za-z'\u2019-]*[,.;:!?)\"'\u201d]*$")
MIN_PROSE_SHARE = 0.6  # of a sentence's tokens plain words: below, it is code or a command


def asks_for_explanation(question: str) -> bool:
    """Whether `question` asks how, why, what something means, what differs, what to do, or
    two things at once (not how many, how long, who, when, ...)."""
    stripped = question.strip()
    return bool(EXPLANATORY.match(stripped) or SEVERAL_OR_STEPS.search(stripped))


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


def quotable(sentence: str) -> bool:
    """Whether a source sentence can be quoted: one statement in words, not code or a label."""
    return MIN_QUOTE_WORDS <= len(sentence.split()) <= MAX_QUOTE_WORDS and is_prose(sentence)


def sentence_holding(spans: list[str], question: str, texts: list[str]) -> tuple[int, str] | None:
    """(index into `texts`, sentence) of the sentence that holds one of `spans` word for word
    and shares most words with `question`; None when no quotable sentence says more than the
    span itself."""
    wanted = [f" {words} " for words in map(normalize_answer, spans) if words]
    asked = set(normalize_answer(question).split())
    best: tuple[int, str] | None = None
    best_overlap = -1
    for index, text in enumerate(texts):
        for sentence in source_sentences(text):
            words = normalize_answer(sentence)
            if not quotable(sentence):
                continue
            if not any(span in f" {words} " and span != f" {words} " for span in wanted):
                continue
            overlap = len(asked & set(words.split()))
            if overlap > best_overlap:
                best, best_overlap = (index, sentence), overlap
    return best


def closest_sentences(question: str, sources: list[str]) -> list[tuple[float, int, int, str]]:
    """(closeness, source index, position, sentence) of every quotable, ended sentence sharing
    at least MIN_SHARED_WORDS of the question's words, closest first.

    Closeness is shared words over the root of the sentence's length, so a sentence that says
    the question's words densely beats one that mentions them in passing.
    """
    asked = set(meaningful_words(question))
    found = []
    for index, text in enumerate(sources):
        for position, sentence in enumerate(source_sentences(text)):
            # Only whole statements: a line that does not end is a heading or a page's menu.
            if not quotable(sentence) or not _ENDS_A_STATEMENT.search(sentence):
                continue
            words = set(meaningful_words(sentence))
            shared = len(asked & words)
            if shared >= MIN_SHARED_WORDS:
                found.append((shared / (1 + len(words) ** 0.5), index, position, sentence))
    return sorted(found, key=lambda row: -row[0])


def _lead_sentence(answer: str, question: str, sources: list[str]) -> tuple[int, str] | None:
    """(source index, sentence) holding the model's short answer; the sources it cited are
    searched first."""
    span = strip_citations(answer).strip()
    claimed = dict.fromkeys(int(n) for n in CITATION.findall(answer))
    cited = [n - 1 for n in claimed if 0 < n <= len(sources)]
    for indexes in (cited, range(len(sources))):
        found = sentence_holding([span], question, [sources[i] for i in indexes])
        if found is not None:
            return indexes[found[0]], found[1]
    return None


def quoted_answer(question: str, answer: str, sources: list[str]) -> str | None:
    """For a question that asks for an explanation, the sentence of a source that holds the
    short `answer`, then that source's sentences closest to the question (with no such sentence,
    any source's), each citing its source (at most MAX_QUOTED_SENTENCES and MAX_ANSWER_WORDS);
    None to keep the answer as it is."""
    if not asks_for_explanation(question):
        return None
    lead = _lead_sentence(answer, question, sources)
    chosen = [(lead[0], -1, lead[1])] if lead else []
    words = len(lead[1].split()) if lead else 0
    said = [f" {normalize_answer(lead[1])} "] if lead else []
    # With a lead, the rest comes from its passage: one place to read, and every citation
    # points where the answer stands.
    near = [sources[lead[0]]] if lead else sources
    for _, index, position, sentence in closest_sentences(question, near):
        index = lead[0] if lead else index
        if len(chosen) == MAX_QUOTED_SENTENCES:
            break
        length, words_of = len(sentence.split()), f" {normalize_answer(sentence)} "
        # Pages repeat themselves: a sentence already said, or said within another, once.
        if any(words_of in other or other in words_of for other in said):
            continue
        if words + length > MAX_ANSWER_WORDS:
            continue
        chosen.append((index, position, sentence))
        said.append(words_of)
        words += length
    if not chosen:
        return None
    # The lead first, the rest in the order the sources and their sentences came.
    ordered = chosen[:1] + sorted(chosen[1:]) if lead else sorted(chosen)
    parts = []
    for index, _, sentence in ordered:
        body, end = split_end(sentence)
        parts.append(f"{body} [{index + 1}]{end or '.'}")
    quote = " ".join(parts)
    return None if normalize_answer(quote) == normalize_answer(answer) else quote
