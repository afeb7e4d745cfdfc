"""Question sets for `gptchat eval`: JSONL (../shared/eval format) or SQuAD v1.1 JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gptchat.answer.citations import strip_citations
from gptchat.errors import BadInput
from gptchat.eval.metrics import contains_answer
from gptchat.index.store import Passage


@dataclass(frozen=True)
class QAItem:
    """One question with its gold answers and, when known, the files that hold them."""

    id: str
    question: str
    answers: list[str]
    sources: list[str] = field(default_factory=list)


LONG_ANSWER_WORDS = 12  # longer gold answers are judged by source file, not by string


def is_long(item: QAItem) -> bool:
    """Whether a gold answer is a long reference rather than a short span."""
    return max(len(answer.split()) for answer in item.answers) > LONG_ANSWER_WORDS


def from_gold_file(hit: Passage, item: QAItem) -> bool:
    """Whether `hit` comes from one of the item's gold source files."""
    return any(hit.path == s or hit.path.endswith("/" + s) for s in item.sources)


def supports(hit: Passage, item: QAItem) -> bool:
    """A gold passage: from a gold source file for long answers, else holding a gold answer."""
    if is_long(item) and item.sources:
        return from_gold_file(hit, item)
    return contains_answer(hit.text, item.answers)


def cited_target(item: QAItem, sources: Sequence[Passage]) -> str | None:
    """The gold answer with the [n] of the first source that supports it, else None.

    A source holding the answer word for word comes first, so a long answer quoted from a
    passage cites that passage rather than any other passage of its file.
    """
    numbered = list(enumerate(sources, start=1))
    verbatim = [(n, hit) for n, hit in numbered if contains_answer(hit.text, item.answers)]
    for number, hit in verbatim or [(n, hit) for n, hit in numbered if supports(hit, item)]:
        # The first gold variant the source holds word for word; long answers are not spans.
        held = [a for a in item.answers if contains_answer(hit.text, [a])]
        # A golden file's answers cite the numbers of their own prompt: renumber for this one.
        answer = strip_citations((held or item.answers)[0]).strip().rstrip(".")
        return f"{answer} [{number}]."
    return None


@dataclass
class QASet:
    items: list[QAItem]
    problems: list[str]  # "line N: what is wrong", for rows that were left out


def load_qa_set(path: Path) -> QASet:
    """Read a question set; bad rows are reported and skipped, an empty set is an error."""
    if not path.is_file():
        raise BadInput(f"{path}: no such question file")
    # utf-8-sig: a file saved with a BOM keeps its first row.
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    qa_set = _squad_json(text, path) if path.suffix.lower() == ".json" else _jsonl(text)
    if not qa_set.items:
        first = f" (first problem: {qa_set.problems[0]})" if qa_set.problems else ""
        raise BadInput(f"{path}: no usable questions{first}")
    return qa_set


def _jsonl(text: str) -> QASet:
    items: list[QAItem] = []
    problems: list[str] = []
    # JSON Lines end at \n only: splitlines() would also cut at a U+2028 inside a string.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: invalid JSON ({exc.msg})")
            continue
        problem = _row_problem(row)
        if problem:
            problems.append(f"line {number}: {problem}")
            continue
        items.append(
            QAItem(
                id=str(row.get("id", number)),
                question=row["question"].strip(),
                answers=[a for a in row["answers"] if a.strip()],
                sources=list(row.get("sources", [])),
            )
        )
    return QASet(items, problems)


def _row_problem(row: object) -> str | None:
    if not isinstance(row, dict):
        return "not a JSON object"
    question, answers = row.get("question"), row.get("answers")
    if not isinstance(question, str) or not question.strip():
        return "missing 'question'"
    if not isinstance(answers, list) or not any(isinstance(a, str) and a.strip() for a in answers):
        return "missing 'answers' (a list of strings)"
    if not all(isinstance(a, str) for a in answers):
        return "'answers' must all be strings"
    sources = row.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        return "'sources' must be a list of file paths"
    return None


def _squad_json(text: str, path: Path) -> QASet:
    """SQuAD v1.1: data -> paragraphs -> qas; each level checked, bad entries reported."""
    try:
        data = json.loads(text)["data"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise BadInput(f"{path}: not SQuAD v1.1 JSON ({type(exc).__name__}: {exc})") from exc
    if not isinstance(data, list):
        raise BadInput(f"{path}: not SQuAD v1.1 JSON ('data' is not a list of articles)")
    items: list[QAItem] = []
    problems: list[str] = []
    for number, article in enumerate(data, start=1):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            problems.append(f"article {number}: no 'paragraphs' list")
            continue
        for paragraph in paragraphs:
            qas = paragraph.get("qas") if isinstance(paragraph, dict) else None
            if not isinstance(qas, list):
                problems.append(f"article {number}: a paragraph without a 'qas' list")
                continue
            for qa in qas:
                if not isinstance(qa, dict):
                    problems.append(f"article {number}: a question that is not a JSON object")
                    continue
                found = qa.get("answers")
                answers = (
                    [a.get("text") for a in found if isinstance(a, dict)]
                    if isinstance(found, list)
                    else found
                )
                row = {"question": qa.get("question"), "answers": answers}
                problem = _row_problem(row)
                if problem:
                    problems.append(f"question {qa.get('id', '?')}: {problem}")
                    continue
                answers = [a for a in answers if a.strip()]
                items.append(QAItem(str(qa.get("id")), qa["question"].strip(), answers))
    return QASet(items, problems)
