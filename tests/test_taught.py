"""Taught answers: a correction (or a +1) given back at once when the question comes again,
with the real index, embedder and database and a tiny random model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gptchat.answer.session import ChatSession
from gptchat.answer.taught import SAME_COSINE, TaughtAnswers
from gptchat.index.indexer import Indexer
from gptchat.log.store import AppStore
from gptchat.render.answers import sources_lines
from tests.conftest import run_cli

QUESTION = "How long is green tea steeped?"
CORRECTION = "Two minutes, at 80 degrees [1]."


def answered(session: ChatSession, question: str):
    answer = session.ask(question)
    list(answer)
    return answer


def taught_once(session: ChatSession, store: AppStore) -> int:
    """Ask QUESTION, correct its answer; returns the answer's message id."""
    first = answered(session, QUESTION)
    store.set_feedback(first.message_id, correction=CORRECTION)
    return first.message_id


def no_generation(session: ChatSession, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the model was asked")

    monkeypatch.setattr(session.generator, "stream", refuse)


def test_a_correction_is_given_back_when_asked_again_in_other_words(
    session: ChatSession, store: AppStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    message_id = taught_once(session, store)
    [taught] = store.taught_answers()
    assert taught.question == QUESTION and taught.answer == CORRECTION
    assert any(Path(s.path).name == "tea.txt" for s in taught.sources if s.path)
    no_generation(session, monkeypatch)
    for asked in (QUESTION, "green tea: how long is it steeped?", "How LONG is green tea steeped"):
        again = answered(session, asked)
        assert again.taught == taught and again.text == CORRECTION
        assert again.status == "complete" and not again.stale
        stored = store.message(again.message_id)
        assert stored is not None and stored.taught_id == taught.id and stored.prompt is None
    lines = sources_lines(again)
    assert lines[0].startswith("Given back: your answer of") and f"taught #{taught.id}" in lines[0]
    assert any("tea.txt" in line for line in lines[1:])
    assert message_id != again.message_id


def test_another_question_is_not_answered_from_it(session: ChatSession, store: AppStore) -> None:
    taught_once(session, store)
    # Close in meaning and wording, but a word more or another word: another question.
    for other in ("How long is black tea steeped?", "How long is green tea steeped in Japan?"):
        answer = answered(session, other)
        assert answer.taught is None and answer.text != CORRECTION
    # Asked of another index, the same question is answered from that index's passages.
    elsewhere = ChatSession(session.retriever, session.generator, store, "notes", k=3)
    assert answered(elsewhere, QUESTION).taught is None


def test_the_threshold_on_both_sides() -> None:
    """The same wording decides who is compared; the cosine then decides, at SAME_COSINE."""

    class Store:
        def taught_state(self):
            return (1, 1)

        def taught_questions(self, index_name: str):
            return [(1, "How long is green tea steeped?")]

        def taught_answer(self, taught_id: int):
            return f"taught {taught_id}"

    def embed_at(cosine: float):
        def embed(texts: list[str]) -> np.ndarray:
            taught = np.array([1.0, 0.0])
            asked = np.array([cosine, np.sqrt(1 - cosine**2)])
            return np.stack([asked if "steeped?" not in t else taught for t in texts])

        return embed

    above = TaughtAnswers(Store(), embed_at(SAME_COSINE + 0.01), "default")  # type: ignore[arg-type]
    below = TaughtAnswers(Store(), embed_at(SAME_COSINE - 0.01), "default")  # type: ignore[arg-type]
    match = above.match("Green tea, how long steeped")
    assert match is not None and match.taught == "taught 1"
    assert below.match("Green tea, how long steeped") is None


def test_taking_back_and_forgetting(session: ChatSession, store: AppStore) -> None:
    first = answered(session, QUESTION)
    store.toggle_rating(first.message_id, 1)  # a +1 on a complete answer teaches it as it is
    [taught] = store.taught_answers()
    assert taught.answer == first.text
    store.toggle_rating(first.message_id, 1)  # taken back
    assert store.taught_answers() == []
    store.set_feedback(first.message_id, correction=CORRECTION)
    [taught] = store.taught_answers()
    # A given-back answer corrected again changes what was taught, not a second copy.
    again = answered(session, QUESTION)
    store.set_feedback(again.message_id, correction="Three minutes [1].")
    [changed] = store.taught_answers()
    assert changed.id == taught.id and changed.answer == "Three minutes [1]."
    store.forget_taught(taught.id)
    assert answered(session, QUESTION).taught is None


def test_a_changed_passage_marks_it_out_of_date(
    session: ChatSession, store: AppStore, indexer: Indexer, docs: Path
) -> None:
    taught_once(session, store)
    (docs / "tea.txt").write_text("Green tea is now steeped at 70 degrees for one minute.\n")
    indexer.run([docs])
    again = answered(session, QUESTION)
    assert again.taught is not None and again.stale
    assert "possibly out of date" in sources_lines(again)[0]


def test_the_taught_command_lists_and_forgets(
    monkeypatch, capsys, session: ChatSession, store: AppStore
) -> None:
    taught_once(session, store)
    answered(session, QUESTION)
    code, out, _ = run_cli(monkeypatch, capsys, "taught")
    assert code == 0 and "#1  " in out and QUESTION in out and CORRECTION in out
    code, out, _ = run_cli(monkeypatch, capsys, "history", "2")
    assert code == 0 and "[your taught answer #1]" in out
    code, out, _ = run_cli(monkeypatch, capsys, "taught", "--forget", "1")
    assert code == 0 and out.startswith("Forgotten: #1")
    code, out, _ = run_cli(monkeypatch, capsys, "taught")
    assert "Nothing taught yet" in out
    code, _, err = run_cli(monkeypatch, capsys, "taught", "--forget", "1")
    assert code != 0 and "nothing taught has number 1" in err
