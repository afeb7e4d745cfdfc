"""A user's own golden QA set: approved and corrected answers written as QA rows."""

from __future__ import annotations

import json
from pathlib import Path

from gptchat.answer.citations import cited_numbers
from gptchat.errors import BadInput
from gptchat.log.store import AppStore, FeedbackExample, StoredSource
from gptchat.safe_files import write_replacing
from gptchat.workspace import Workspace


def golden_row(example: FeedbackExample) -> dict | None:
    """The QA row for a corrected or +1 answer, else None."""
    feedback = example.feedback
    if feedback.correction:
        answer = feedback.correction
    elif feedback.rating == 1 and example.answer:
        answer = example.answer
    else:
        return None
    return {
        "id": f"feedback-{feedback.message_id}",
        "question": example.question,
        "answers": [answer],
        "sources": _gold_sources(answer, example.answer, example.sources),
    }


def _gold_sources(answer: str, original: str, sources: list[StoredSource]) -> list[str]:
    """Files of the sources the answer cites, else of every source the model was shown."""
    shown = {s.source_number: s for s in sources if s.source_number is not None}
    cited = (cited_numbers(answer) or cited_numbers(original)) & shown.keys()
    chosen = [shown[n] for n in sorted(cited)] if cited else list(shown.values())
    return list(dict.fromkeys(s.path or s.location for s in chosen))


def export_golden(examples: list[FeedbackExample], path: Path) -> int:
    """Write the golden rows as JSONL; returns how many were written."""
    rows = [row for row in map(golden_row, examples) if row is not None]
    if not rows:
        raise BadInput(f"none of the {len(examples)} rated answers is approved (+1) or corrected")
    write_replacing(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    return len(rows)


def export_feedback_golden(workspace: Workspace, path: Path) -> int:
    """Write the user's approved and corrected answers as a QA file; returns the row count."""
    with AppStore(workspace.app_db_path) as store:
        examples = store.feedback_examples()
    if not examples:
        raise BadInput("no rated or corrected answers yet: rate answers in the app first")
    return export_golden(examples, path)
