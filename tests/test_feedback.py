"""Feedback on answers, conversation upkeep and the golden-set export, on the real gptchat.db."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gptchat.errors import BadInput
from gptchat.eval.golden import export_golden, golden_row
from gptchat.log.store import AppStore, StoredSource
from gptchat.workspace import Workspace
from tests.conftest import stored_source as source


@pytest.fixture
def store(workspace: Workspace):
    opened = AppStore(workspace.app_db_path)
    yield opened
    opened.close()


def logged_answer(store: AppStore, answer: str, sources: list[StoredSource]) -> int:
    """A question and its finished answer, as ChatSession logs them."""
    conversation = store.new_conversation("Q", "default")
    question = store.add_message(conversation, "user", "What is it?")
    message = store.add_message(conversation, "assistant", "", "streaming", reply_to=question)
    store.finish_answer(message, answer, answer, "complete", "tiny", "<prompt>", {}, sources)
    return message


def test_feedback_merges_and_keeps_the_prompt(store: AppStore) -> None:
    message = logged_answer(store, "It is blue [1].", [source(1, "a.md")])
    store.set_feedback(message, rating=-1)
    merged = store.set_feedback(message, correction="It is green.")
    assert (merged.rating, merged.correction, merged.comment) == (-1, "It is green.", None)
    assert store.set_feedback(message, comment="too vague").rating == -1
    [example] = store.feedback_examples()
    assert example.question == "What is it?" and example.answer == "It is blue [1]."
    assert example.prompt == "<prompt>" and example.model == "tiny"
    assert example.feedback.correction == "It is green."
    assert example.sources[0].path == "a.md"


def test_feedback_needs_a_real_answer_and_a_real_rating(store: AppStore) -> None:
    message = logged_answer(store, "x", [])
    with pytest.raises(ValueError, match="rating"):
        store.set_feedback(message, rating=2)
    with pytest.raises(LookupError):
        store.set_feedback(message - 1)  # the question, not an answer
    with pytest.raises(LookupError):
        store.set_feedback(10_000)
    assert store.feedback(message) is None


def test_rename_delete_and_state(store: AppStore) -> None:
    message = logged_answer(store, "x", [source(1, "a.md")])
    store.set_feedback(message, rating=1)
    conversation = store.conversations()[0].id
    store.rename_conversation(conversation, "Colours")
    assert store.conversation(conversation).title == "Colours"
    store.delete_conversation(conversation)
    assert store.conversations() == [] and store.feedback_examples() == []
    assert store.sources(message) == []
    assert store.state("last_conversation") is None
    store.set_state("last_conversation", "3")
    store.set_state("last_conversation", "4")
    assert store.state("last_conversation") == "4"


def test_golden_rows_take_the_correction_and_the_cited_sources(store: AppStore) -> None:
    shown = [source(1, "a.md"), source(2, "b.md"), source(None, "c.md")]
    corrected = logged_answer(store, "Blue, see [2].", shown)
    approved = logged_answer(store, "Green.", shown)
    only_rated = logged_answer(store, "Red.", shown)
    store.set_feedback(corrected, rating=-1, correction="Green, as [1] says.")
    store.set_feedback(approved, rating=1)
    store.set_feedback(only_rated, rating=-1)
    rows = [golden_row(e) for e in store.feedback_examples()]
    assert rows[0] == {
        "id": f"feedback-{corrected}",
        "question": "What is it?",
        "answers": ["Green, as [1] says."],
        "sources": ["a.md"],
    }
    # Nothing cited: every source the model was shown (not the one the budget left out).
    assert rows[1]["answers"] == ["Green."] and rows[1]["sources"] == ["a.md", "b.md"]
    assert rows[2] is None


def test_export_writes_jsonl_and_refuses_an_empty_set(store: AppStore, tmp_path: Path) -> None:
    message = logged_answer(store, "Red.", [source(1, "a.md")])
    store.set_feedback(message, rating=-1)
    with pytest.raises(BadInput, match="none of the 1 rated answers"):
        export_golden(store.feedback_examples(), tmp_path / "golden.jsonl")
    store.set_feedback(message, correction="Blue.")
    assert export_golden(store.feedback_examples(), tmp_path / "golden.jsonl") == 1
    row = json.loads((tmp_path / "golden.jsonl").read_text())
    assert row["answers"] == ["Blue."] and row["sources"] == ["a.md"]
