"""Taught answers: a correction (or a +1) given back at once when the question comes again,
with the real index, embedder and database and a tiny random model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gptchat.answer.retriever import Retriever, RetrieverOptions
from gptchat.answer.session import ChatSession
from gptchat.answer.taught import CLOSE_COSINE, SAME_COSINE, TaughtAnswers, taught_name
from gptchat.index.document_index import DocumentIndex
from gptchat.index.indexer import Indexer
from gptchat.log.store import AppStore
from gptchat.model.generator import Generator
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
    for asked in (
        QUESTION,
        "green tea: how long is it steeped?",
        "How LONG is green tea steeped",
        "Could you please tell me how long green tea is steeped?",
    ):
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


class PlacedEmbedder:
    """Puts the taught question at (1, 0) and every other text at `cosine` from it, so a
    threshold is tested exactly on both of its sides."""

    name = "placed"

    def __init__(self, cosine: float) -> None:
        self.cosine = cosine

    def encode(self, texts: list[str]) -> np.ndarray:
        taught = np.array([1.0, 0.0], dtype=np.float32)
        other = np.array([self.cosine, np.sqrt(1 - self.cosine**2)], dtype=np.float32)
        return np.stack([taught if t == QUESTION else other for t in texts])


def taught_directly(store: AppStore, question: str, answer: str) -> None:
    """Teach `answer` to `question` the way the app does: a correction of a logged answer."""
    conversation = store.new_conversation("taught", "default")
    asked = store.add_message(conversation, "user", question)
    replied = store.add_message(conversation, "assistant", "", "streaming", reply_to=asked)
    store.finish_answer(replied, "wrong", "wrong", "complete", "m", "prompt", {}, [])
    store.set_feedback(replied, correction=answer)


@pytest.mark.parametrize(
    ("asked", "threshold", "same"),
    [
        ("Green tea, how long steeped", SAME_COSINE, True),  # the same words, reordered
        ("How long is green tea steeped at home?", CLOSE_COSINE, False),  # one word more
    ],
)
def test_the_thresholds_on_both_sides(
    store: AppStore, index: DocumentIndex, asked: str, threshold: float, same: bool
) -> None:
    """The same content words are given back above SAME_COSINE; a question that adds a word
    is shown the taught answer as a source above CLOSE_COSINE; below, neither."""
    taught_directly(store, QUESTION, CORRECTION)
    vector = PlacedEmbedder(threshold + 0.01).encode([asked])[0]
    above = TaughtAnswers(store, PlacedEmbedder(threshold + 0.01), index, "default")  # type: ignore[arg-type]
    match = above.nearest(asked, vector)
    assert match is not None and match.same is same and match.taught.answer == CORRECTION
    vector = PlacedEmbedder(threshold - 0.01).encode([asked])[0]
    below = TaughtAnswers(store, PlacedEmbedder(threshold - 0.01), index, "default")  # type: ignore[arg-type]
    assert below.nearest(asked, vector) is None
    # Three new words is another question, however close in meaning.
    wordier = "How long is green tea steeped at home on winter nights?"
    assert above.nearest(wordier, PlacedEmbedder(0.99).encode([wordier])[0]) is None


def test_taught_question_vectors_are_kept(store: AppStore, index: DocumentIndex) -> None:
    taught_directly(store, QUESTION, CORRECTION)
    TaughtAnswers(store, PlacedEmbedder(0.5), index, "default").ranking(np.ones(2))  # type: ignore[arg-type]
    [kept] = store.taught_questions("default")
    assert kept.vector_model == "placed" and kept.question_vector is not None

    class Counting(PlacedEmbedder):
        def encode(self, texts: list[str]) -> np.ndarray:
            raise AssertionError(f"embedded again: {texts}")

    again = TaughtAnswers(store, Counting(0.5), index, "default")  # type: ignore[arg-type]
    assert again.nearest(QUESTION, np.array([1.0, 0.0], dtype=np.float32)) is not None


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
    assert code == 0 and "[given back: your answer of" in out and "(taught #1)]" in out
    code, out, _ = run_cli(monkeypatch, capsys, "taught", "--forget", "1")
    assert code == 0 and out.startswith("Forgotten: #1")
    code, out, _ = run_cli(monkeypatch, capsys, "taught")
    assert "Nothing taught yet" in out
    code, _, err = run_cli(monkeypatch, capsys, "taught", "--forget", "1")
    assert code != 0 and "nothing taught has number 1" in err


def test_a_close_question_reads_the_taught_answer_as_its_first_source(
    monkeypatch, capsys, session: ChatSession, store: AppStore
) -> None:
    taught_once(session, store)
    [taught] = store.taught_answers()
    close = "How long is green tea steeped at home?"  # a word more: the model answers
    answer = answered(session, close)
    assert answer.taught is None and answer.relevant
    first = answer.sources[0]
    assert first.taught_id == taught.id and first.text == "Two minutes, at 80 degrees."
    assert first.location == taught_name(taught)
    prompt = store.message(answer.message_id).prompt
    assert prompt is not None and f"[1] {taught_name(taught)} — asked: {QUESTION}" in prompt
    assert any(s.taught_id == taught.id for s in store.sources(answer.message_id))
    assert sources_lines(answer)[1].startswith(f"[1] {taught_name(taught)}")
    # Forgotten, it is no source any more.
    store.forget_taught(taught.id)
    again = answered(session, close)
    assert all(source.taught_id is None for source in again.sources)


def teaching_docs(folder: Path) -> Path:
    """Two passages where "brew green tea" finds the kettle first and the answer second."""
    folder.mkdir()
    (folder / "kettle.md").write_text(
        "# Kettle\n\nThe kettle boils the water for your tea in three minutes and switches"
        " itself off.\n"
    )
    (folder / "sencha.md").write_text(
        "# Sencha\n\nSencha wants water at 80 degrees and two minutes in the pot.\n"
    )
    return folder


def first_file(session: ChatSession, question: str) -> str:
    return Path(session.retriever.retrieve(question, 3).hits[0].path).name


def test_a_correction_teaches_retrieval_which_passage_answers(
    tmp_path: Path,
    workspace,
    embedder,
    tiny_model_dir: Path,
    store: AppStore,
) -> None:
    docs = teaching_docs(tmp_path / "teaching")

    def session_over_fresh_index() -> tuple[ChatSession, DocumentIndex]:
        index = DocumentIndex.open(workspace.index_dir("default"), create=True, start_over=True)
        Indexer(index, embedder).run([docs])
        generator = Generator(tiny_model_dir, name="tiny")
        # Passages of one short sentence are far from a question by closeness; whether they
        # cover it is not what is tested, which passage comes first is.
        retriever = Retriever(index, embedder, RetrieverOptions(min_similarity=0.3))
        return ChatSession(retriever, generator, store, "default", k=3), index

    session, index = session_over_fresh_index()
    taught_on = "How long should I brew green tea?"
    nearby = "For how many minutes is green tea brewed?"
    assert first_file(session, taught_on) == first_file(session, nearby) == "kettle.md"
    answer = answered(session, taught_on)
    sencha = next(n for n, h in enumerate(answer.sources, 1) if h.path.endswith("sencha.md"))
    store.set_feedback(answer.message_id, correction=f"Two minutes [{sencha}].")
    # Another wording, not close enough to be given the taught answer: its search learned.
    assert first_file(session, nearby) == "sencha.md"
    assert answered(session, nearby).taught is None
    index.close()
    # A rebuilt index (new chunk ids) keeps what retrieval was taught: it lives in gptchat.db.
    session, index = session_over_fresh_index()
    assert first_file(session, nearby) == "sencha.md"
    [taught] = store.taught_answers()
    store.forget_taught(taught.id)
    assert first_file(session, nearby) == "kettle.md"
    index.close()


def test_editing_what_was_taught(
    monkeypatch, capsys, session: ChatSession, store: AppStore
) -> None:
    taught_once(session, store)
    code, out, _ = run_cli(monkeypatch, capsys, "taught", "--edit", "1", "Three minutes [1].")
    assert code == 0 and "Three minutes [1]." in out
    assert answered(session, QUESTION).text == "Three minutes [1]."
    code, _, err = run_cli(monkeypatch, capsys, "taught", "--edit", "1", "  ")
    assert code != 0 and "the taught answer is empty" in err
    assert store.taught_answer(1).answer == "Three minutes [1]."


def test_ask_gives_it_back_with_its_sources(
    monkeypatch, capsys, session: ChatSession, store: AppStore, tiny_model_dir: Path
) -> None:
    taught_once(session, store)
    model = ["--model", str(tiny_model_dir)]
    code, out, _ = run_cli(monkeypatch, capsys, "ask", QUESTION, *model)
    assert code == 0 and out.startswith(CORRECTION)
    assert "Given back: your answer of" in out and "tea.txt" in out
    code, out, _ = run_cli(monkeypatch, capsys, "ask", QUESTION, "--json", *model)
    result = json.loads(out)
    assert result["answer"] == CORRECTION and result["taught"] == 1
    assert result["given_back"].startswith("your answer of")
    assert any(source["path"].endswith("tea.txt") for source in result["sources"])


def test_what_is_taught_is_versioned(store: AppStore) -> None:
    """Matching rereads the taught questions only when something was taught, edited or
    forgotten; keeping their embeddings is no change."""
    states = [store.taught_state()]
    taught_directly(store, QUESTION, CORRECTION)
    states.append(store.taught_state())
    store.set_taught_vectors("placed", [(1, np.ones(2, dtype=np.float32).tobytes())])
    assert store.taught_state() == states[-1]
    store.edit_taught(1, "Three minutes.")
    states.append(store.taught_state())
    store.forget_taught(1)
    states.append(store.taught_state())
    assert len(set(states)) == len(states)
