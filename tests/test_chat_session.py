"""ChatSession end to end with the real index and a tiny random model: the log holds it all."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from gptchat.answer.prompt import NOT_COVERED
from gptchat.answer.session import ChatSession
from gptchat.errors import BadInput
from gptchat.log.store import AppStore
from gptchat.model.generator import DecodeOptions, Generator
from gptchat.workspace import Workspace


def test_an_answer_streams_and_its_exchange_is_logged(session: ChatSession, store: AppStore):
    answer = session.ask("How long should green tea steep?")
    pieces = list(answer)
    assert len(pieces) >= 1 and answer.status == "complete"
    assert answer.raw_text == "".join(pieces).strip()
    # Eight random tokens end mid-sentence: the final text says it was cut.
    assert answer.timings["stopped_by"] == "length" and answer.cut
    assert answer.text.endswith(" …") or answer.text.endswith((".", "!", "?"))
    assert Path(answer.sources[0].path).name == "tea.txt"

    (conversation,) = store.conversations()
    assert conversation.title == "How long should green tea steep?"
    question, reply = store.messages(conversation.id)
    assert (question.role, question.content) == ("user", "How long should green tea steep?")
    assert reply.reply_to == question.id and reply.content == answer.text
    assert reply.raw_content == answer.raw_text
    assert reply.model == "tiny" and reply.status == "complete"
    assert "[1] " in reply.prompt and "Green tea is steeped" in reply.prompt
    assert reply.prompt.endswith("<|im_start|>assistant\n")
    for key in ("retrieval_ms", "first_token_ms", "decode_tokens_per_s", "prompt_tokens"):
        assert key in reply.timings
    logged = store.sources(reply.id)
    assert [s.rank for s in logged] == list(range(1, len(answer.hits) + 1))
    assert logged[0].source_number == 1 and logged[0].location.endswith("tea.txt:1-3")
    assert logged[0].chunk_ids == list(answer.hits[0].chunk_ids)


def test_a_follow_up_sees_the_earlier_turn(session: ChatSession, store: AppStore) -> None:
    first = session.ask("How long should green tea steep?")
    list(first)
    second = session.ask("And black tea?", first.conversation_id)
    list(second)
    assert second.conversation_id == first.conversation_id
    reply = store.messages(first.conversation_id)[-1]
    assert "How long should green tea steep?" in reply.prompt
    assert len(store.conversations()) == 1


def test_cancelling_keeps_the_partial_answer_marked(session: ChatSession, store: AppStore):
    session.decode = DecodeOptions(max_new_tokens=300)
    cancel = threading.Event()
    answer = session.ask("How long should green tea steep?", cancel=cancel)
    for _ in answer:
        cancel.set()
    assert answer.status == "interrupted"
    reply = store.messages(answer.conversation_id)[-1]
    assert reply.status == "interrupted" and reply.content == answer.text
    assert reply.timings["new_tokens"] < 300


def test_a_reader_that_stops_early_still_logs(session: ChatSession, store: AppStore) -> None:
    session.decode = DecodeOptions(max_new_tokens=300)
    answer = session.ask("How long should green tea steep?")
    pieces = iter(answer)
    next(pieces)
    pieces.close()  # what Ctrl-C in the middle of printing does
    reply = store.messages(answer.conversation_id)[-1]
    assert reply.status == "interrupted" and reply.content


def test_questions_the_documents_do_not_cover_get_no_invented_answer(
    session: ChatSession, store: AppStore
) -> None:
    answer = session.ask("Who won the 1998 football world cup?")
    assert "".join(answer) == NOT_COVERED
    assert answer.status == "no_answer" and not answer.relevant and answer.hits
    reply = store.messages(answer.conversation_id)[-1]
    assert reply.status == "no_answer" and reply.prompt is None and reply.model is None


def test_bad_questions_and_conversations(session: ChatSession, store: AppStore) -> None:
    with pytest.raises(BadInput, match="empty"):
        session.ask("  ")
    with pytest.raises(BadInput, match="no conversation 99"):
        session.ask("Hi?", conversation_id=99)
    assert store.conversations() == []


def test_a_locked_database_fails_before_any_work(
    session: ChatSession, workspace: Workspace
) -> None:
    import sqlite3

    session.store = AppStore(workspace.app_db_path, busy_timeout_s=0.2)
    other = sqlite3.connect(workspace.app_db_path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            session.ask("How long should green tea steep?")
    finally:
        other.execute("ROLLBACK")
        other.close()
    answer = session.ask("How long should green tea steep?")
    list(answer)
    assert answer.status == "complete"
    session.store.close()


class _Scripted(Generator):
    """The tiny model's tokenizer and template, but a fixed reply: wording matters here."""

    def __init__(self, model_dir: Path, reply: str) -> None:
        super().__init__(model_dir, name="scripted")
        self.reply = reply

    def stream(self, prompt, settings=None, cancel=None, plain=False):
        from gptchat.model.generator import Generation, GenerationStats

        words = self.reply.split(" ")
        pieces = iter([w + " " for w in words[:-1]] + [words[-1]])
        return Generation(pieces, GenerationStats(prompt_tokens=1, stopped_by="eos"))


def scripted_session(session: ChatSession, tiny_model_dir: Path, reply: str) -> ChatSession:
    session.generator = _Scripted(tiny_model_dir, reply)
    return session


def test_citations_are_checked_and_both_texts_logged(
    session: ChatSession, store: AppStore, tiny_model_dir: Path
) -> None:
    reply = "Green tea is steeped at 80 degrees for two minutes [3]."
    answer = scripted_session(session, tiny_model_dir, reply).ask("How long does green tea steep?")
    assert "".join(answer) == reply
    tea = next(n for n, hit in enumerate(answer.sources, 1) if hit.path.endswith("tea.txt"))
    assert (
        tea != 3 and answer.text == f"Green tea is steeped at 80 degrees for two minutes [{tea}]."
    )
    message = store.messages(answer.conversation_id)[-1]
    assert (message.content, message.raw_content) == (answer.text, reply)
    logged = {s.source_number: s for s in store.sources(message.id)}
    assert logged[tea].evidence == "Green tea is steeped at 80 degrees for two minutes."
    assert all(s.evidence is None for n, s in logged.items() if n != tea)


def test_a_model_refusal_is_a_not_covered_answer(
    session: ChatSession, store: AppStore, tiny_model_dir: Path
) -> None:
    answer = scripted_session(session, tiny_model_dir, "The documents do not cover this.").ask(
        "How long does green tea steep?"
    )
    list(answer)
    assert answer.status == "no_answer" and answer.text == "The documents do not cover this."
    assert store.messages(answer.conversation_id)[-1].status == "no_answer"


def test_a_follow_up_is_retrieved_with_the_question_before_it(session: ChatSession) -> None:
    first = session.ask("How long should green tea steep?")
    list(first)
    assert first.query == "How long should green tea steep?"
    alone = session.retriever.retrieve("And at what temperature?", 3)
    follow_up = session.ask("And at what temperature?", first.conversation_id)
    list(follow_up)
    assert follow_up.query == "How long should green tea steep? And at what temperature?"
    assert Path(follow_up.hits[0].path).name == "tea.txt"
    # Alone, the follow-up does not find the tea passage first (or finds nothing relevant).
    assert not alone.relevant or Path(alone.hits[0].path).name != "tea.txt"


def test_a_full_disk_still_answers_and_says_nothing_is_saved(
    session: ChatSession, store: AppStore, caplog: pytest.LogCaptureFixture
) -> None:
    first = session.ask("How long is green tea steeped?")
    "".join(first)
    store._conn = DiskFullOnNewMessages(store._conn)
    answer = session.ask("What is lava?")
    assert "".join(answer) and answer.status in ("complete", "no_answer", "interrupted")
    assert store.unsaved and "the disk is full" in caplog.text
    assert store.message(answer.message_id) is not None  # kept in memory for this session
    with AppStore(store.path) as on_disk:  # what was saved before stays
        assert [m.role for m in on_disk.messages(first.conversation_id)] == ["user", "assistant"]


class DiskFullOnNewMessages:
    """A connection whose disk fills up: adding a message fails as SQLite does (SQLITE_FULL),
    and the statement's transaction is rolled back, as SQLite rolls it back itself."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql.startswith("INSERT INTO messages"):
            self._conn.execute("ROLLBACK")
            full = sqlite3.OperationalError("database or disk is full")
            full.sqlite_errorcode = sqlite3.SQLITE_FULL
            raise full
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self._conn, name)


def test_a_question_that_stands_alone_is_searched_alone(session: ChatSession) -> None:
    """'How do I stream responses?' after 'What does a 529 error mean?' found only error
    pages: a new topic must not be searched together with the last one."""
    first = session.ask("How long should green tea steep?")
    list(first)
    new_topic = session.ask("What is magma that reaches the surface called?", first.conversation_id)
    list(new_topic)
    assert new_topic.query == "What is magma that reaches the surface called?"
    assert Path(new_topic.hits[0].path).name == "page.html"


@pytest.mark.parametrize(
    ("question", "leans"),
    [
        ("How do I retry it?", True),
        ("And for staging?", True),
        ("Why?", True),
        ("What about black tea?", True),
        ("How do I stream responses?", False),
        ("What does a 529 error mean?", False),
        ("How long should green tea steep?", False),
    ],
)
def test_which_questions_lean_on_the_turn_before(question: str, leans: bool) -> None:
    from gptchat.answer.session import leans_on_previous_turn

    assert leans_on_previous_turn(question) is leans


def test_a_stop_before_the_first_token_generates_nothing(
    session: ChatSession, store: AppStore
) -> None:
    """Escape while "Reading 3 sources…": no partial answer may follow it."""
    cancel = threading.Event()
    answer = session.ask("How long should green tea steep?", cancel=cancel)
    cancel.set()
    assert "".join(answer) == "" and answer.status == "interrupted"
    reply = store.messages(answer.conversation_id)[-1]
    assert reply.status == "interrupted" and reply.content == ""
