"""The app database, gptchat.db: conversations, messages and what each answer retrieved."""

from __future__ import annotations

import functools
import json
import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TypeVar

from gptchat.errors import BadInput
from gptchat.log.migrations import app_migrations
from gptchat.scratch import process_running
from gptchat.sqlite import (
    Closing,
    Transaction,
    copy_into_memory,
    is_disk_full,
    now_iso,
    open_database,
)

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    index_name: str
    created_at: str
    updated_at: str
    message_count: int


@dataclass(frozen=True)
class StoredSource:
    """A retrieved passage as logged with an answer."""

    rank: int
    source_number: int | None  # its [n] in the prompt, None if the budget left it out
    chunk_ids: list[int]
    location: str
    heading: str
    score: float
    similarity: float | None
    text: str
    path: str | None = None  # None in answers logged before paths were kept
    evidence: str | None = None  # its sentence that supports the answer, when cited
    taught_id: int | None = None  # the user's own taught answer, shown as a source


@dataclass(frozen=True)
class EvalRun:
    id: int
    created_at: str
    qa_file: str
    index_name: str
    model: str | None
    questions: int
    metrics: dict[str, float]


@dataclass(frozen=True)
class Feedback:
    """What the user said of one answer: a rating, a better answer, a comment."""

    message_id: int
    rating: int | None  # +1, -1, or None when only corrected or commented
    correction: str | None
    comment: str | None
    updated_at: str


@dataclass(frozen=True)
class FeedbackExample:
    """A rated answer with the question and exact prompt that produced it."""

    feedback: Feedback
    question: str
    answer: str
    prompt: str | None
    model: str | None
    sources: list[StoredSource]
    status: str = "complete"  # the answer's: "interrupted" when it was stopped before its end
    # An answer given in another language than its prompt's: the answer in the prompt's.
    documents_answer: str | None = None


@dataclass(frozen=True)
class ModelVersion:
    """A fine-tuned version of the model: where it is, what made it, how it scored."""

    id: int
    created_at: str
    source: str  # feedback or docs
    method: str  # lora or full
    base_model: str  # the base model folder it was trained on top of
    parent: int | None  # the version it was trained from, None for the base model
    examples: int
    metrics: dict
    config: dict
    active: bool


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: int
    role: str
    content: str
    status: str  # complete, interrupted, no_answer, error
    created_at: str
    reply_to: int | None
    model: str | None
    prompt: str | None
    timings: dict | None
    raw_content: str | None = None  # what the model wrote, before its citations were checked
    taught_id: int | None = None  # the taught answer it was given from, if it was


@dataclass(frozen=True)
class TaughtAnswer:
    """An answer the user corrected or approved, with the question it answers and the
    passages it cites (copied, so it outlives its conversation and any index rebuild)."""

    id: int
    message_id: int | None  # the answer it was taught on; None once that is deleted
    index_name: str  # the index its passages are from: it answers questions asked of that one
    question: str
    answer: str
    sources: list[StoredSource]
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class TaughtQuestion:
    """A taught question as matching needs it: its embedding, once made, is kept."""

    id: int
    question: str
    question_vector: bytes | None  # float32, unit length
    vector_model: str | None  # the embedder that made it


def _without_nul(text: str) -> str:
    """Stored text without NUL: it ends strings in C, so tools would show a cut question."""
    return text.replace("\x00", "")


def _with_words(text: str | None, empty: str) -> str | None:
    """`text` without the blank around it; BadInput(`empty`) if nothing else is left."""
    if text is None:
        return None
    if not text.strip():
        raise BadInput(empty)
    return text.strip()


def conversation_title(first_message: str) -> str:
    """A conversation's title: its first message, cut to 60 characters."""
    text = " ".join(first_message.split())
    return text if len(text) <= 60 else text[:57].rstrip() + "..."


def _unsaved_when_disk_is_full(method: Callable[..., R]) -> Callable[..., R]:
    """A write that finds the disk full goes on in an in-memory copy of the database, as on
    a read-only workspace: the user gets the answer, and is told it is not saved."""

    @functools.wraps(method)
    def write(self: AppStore, *args: object, **kwargs: object) -> R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.OperationalError as exc:
            if not is_disk_full(exc) or self.unsaved:
                raise
            log.warning("the disk is full: nothing more from this session is saved (%s)", exc)
            self._conn = copy_into_memory(self._conn)
            self._conn.row_factory = sqlite3.Row
            self.unsaved = True
            return method(self, *args, **kwargs)

    return write


class AppStore(Closing):
    """Owns every SQL statement on gptchat.db; returns dataclasses."""

    def __init__(self, db_path: Path, busy_timeout_s: float = 5.0) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self.path = db_path
        self.unsaved = False  # True once a full disk moved this session into memory
        # check_same_thread off: the app logs answers from the worker thread that streams them.
        self._conn = open_database(db_path, app_migrations, busy_timeout_s, copy_if_read_only=True)
        # Rows are read by column name: a new column cannot shift what a field receives.
        self._conn.row_factory = sqlite3.Row
        self._close_orphaned_answers()

    def _close_orphaned_answers(self) -> None:
        """Mark "interrupted" the answers still "streaming" whose process is gone (killed)."""
        rows = self._conn.execute(
            "SELECT id, writer_pid FROM messages WHERE status = 'streaming'"
        ).fetchall()
        orphans = [
            (row["id"],)
            for row in rows
            if row["writer_pid"] is None or not process_running(row["writer_pid"])
        ]
        if orphans:
            with Transaction(self._conn):
                self._conn.executemany(
                    "UPDATE messages SET status = 'interrupted' WHERE id = ?", orphans
                )

    @classmethod
    def reading(cls, db_path: Path) -> AppStore:
        """The log to read from: `db_path`, or an empty one in memory while there is none,
        so that listing history or versions in a new folder creates no gptchat.db."""
        return cls(db_path if db_path.exists() or db_path.is_symlink() else Path(":memory:"))

    def close(self) -> None:
        self._conn.close()

    @_unsaved_when_disk_is_full
    def new_conversation(self, title: str, index_name: str) -> int:
        now = now_iso()
        with Transaction(self._conn):
            cursor = self._conn.execute(
                "INSERT INTO conversations(title, index_name, created_at, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (_without_nul(title), index_name, now, now),
            )
        return int(cursor.lastrowid)

    def conversation(self, conversation_id: int) -> Conversation | None:
        rows = self._conversations("WHERE c.id = ?", (conversation_id,))
        return rows[0] if rows else None

    def existing_conversation(self, conversation_id: int) -> Conversation:
        """The conversation with this id; BadInput, naming where to look, if there is none."""
        found = self.conversation(conversation_id)
        if found is None:
            raise BadInput(f"no conversation {conversation_id} (see `gptchat history`)")
        return found

    def conversations(self, matching: str = "", limit: int | None = None) -> list[Conversation]:
        """Newest first; `matching`: only those with a message holding all of its words."""
        where, args = "", ()
        if matching.strip():
            # Each word quoted: the user's text is searched for, never parsed as FTS syntax.
            query = " ".join('"' + word.replace('"', '""') + '"' for word in matching.split())
            where = (
                "WHERE c.id IN (SELECT m.conversation_id FROM messages_fts"
                " JOIN messages m ON m.id = messages_fts.rowid WHERE messages_fts MATCH ?)"
            )
            args = (query,)
        return self._conversations(where, args, limit)

    def _conversations(
        self, where: str, args: tuple, limit: int | None = None
    ) -> list[Conversation]:
        sql = (
            "SELECT c.id, c.title, c.index_name, c.created_at, c.updated_at,"
            " (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count"
            f" FROM conversations c {where} ORDER BY c.updated_at DESC, c.id DESC"
        )
        if limit:
            sql, args = f"{sql} LIMIT ?", (*args, limit)
        return [_record(Conversation, row) for row in self._conn.execute(sql, args)]

    @_unsaved_when_disk_is_full
    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str,
        status: str = "complete",
        reply_to: int | None = None,
    ) -> int:
        now = now_iso()
        writer = os.getpid() if status == "streaming" else None
        with Transaction(self._conn):
            cursor = self._conn.execute(
                "INSERT INTO messages(conversation_id, role, content, status, created_at,"
                " reply_to, writer_pid) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, role, _without_nul(content), status, now, reply_to, writer),
            )
            self._conn.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id)
            )
        return int(cursor.lastrowid)

    @_unsaved_when_disk_is_full
    def finish_answer(
        self,
        message_id: int,
        content: str,
        raw_content: str,
        status: str,
        model: str | None,
        prompt: str | None,
        timings: dict,
        sources: list[StoredSource],
    ) -> None:
        """Record an answer's text, prompt, model, timings and retrieved sources at once."""
        with Transaction(self._conn):
            self._conn.execute(
                "UPDATE messages SET content = ?, raw_content = ?, status = ?, model = ?,"
                " prompt = ?, timings = ? WHERE id = ?",
                (content, raw_content, status, model, prompt, json.dumps(timings), message_id),
            )
            self._conn.executemany(
                "INSERT INTO retrievals(message_id, rank, source_number, chunk_ids, location,"
                " heading, score, similarity, text, path, evidence, taught_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        message_id,
                        s.rank,
                        s.source_number,
                        json.dumps(s.chunk_ids),
                        s.location,
                        s.heading,
                        s.score,
                        s.similarity,
                        s.text,
                        s.path,
                        s.evidence,
                        s.taught_id,
                    )
                    for s in sources
                ],
            )

    @_unsaved_when_disk_is_full
    def rename_conversation(self, conversation_id: int, title: str) -> None:
        title = _with_words(title, "a conversation needs a title")
        with Transaction(self._conn):
            self._conn.execute(
                "UPDATE conversations SET title = ? WHERE id = ?",
                (_without_nul(title), conversation_id),
            )

    @_unsaved_when_disk_is_full
    def delete_conversation(self, conversation_id: int) -> None:
        """Delete a conversation with its messages, sources and feedback."""
        with Transaction(self._conn):
            self._conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def message(self, message_id: int) -> Message | None:
        rows = self._messages("WHERE id = ?", (message_id,))
        return rows[0] if rows else None

    def messages(self, conversation_id: int) -> list[Message]:
        return self._messages("WHERE conversation_id = ?", (conversation_id,))

    def _messages(self, where: str, args: tuple) -> list[Message]:
        rows = self._conn.execute(
            "SELECT id, conversation_id, role, content, status, created_at, reply_to, model,"
            f" prompt, timings, raw_content, taught_id FROM messages {where} ORDER BY id",
            args,
        )
        return [
            _record(Message, row, timings=json.loads(row["timings"]) if row["timings"] else None)
            for row in rows
        ]

    def sources(self, message_id: int) -> list[StoredSource]:
        rows = self._conn.execute(
            "SELECT rank, source_number, chunk_ids, location, heading, score, similarity, text,"
            " path, evidence, taught_id FROM retrievals WHERE message_id = ? ORDER BY rank",
            (message_id,),
        )
        return [_record(StoredSource, row, chunk_ids=json.loads(row["chunk_ids"])) for row in rows]

    def add_eval_run(
        self, qa_file: str, index_name: str, model: str | None, questions: int, metrics: dict
    ) -> int:
        with Transaction(self._conn):
            cursor = self._conn.execute(
                "INSERT INTO eval_runs(created_at, qa_file, index_name, model, questions, metrics)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (now_iso(), qa_file, index_name, model, questions, json.dumps(metrics)),
            )
        return int(cursor.lastrowid)

    def eval_runs(self) -> list[EvalRun]:
        """Every recorded eval run, oldest first."""
        rows = self._conn.execute(
            "SELECT id, created_at, qa_file, index_name, model, questions, metrics"
            " FROM eval_runs ORDER BY id"
        )
        return [_record(EvalRun, row, metrics=json.loads(row["metrics"])) for row in rows]

    @_unsaved_when_disk_is_full
    def set_feedback(
        self,
        message_id: int,
        *,
        rating: int | None = None,
        correction: str | None = None,
        comment: str | None = None,
    ) -> Feedback:
        """Record feedback on an answer; fields left None keep what was stored before. The
        rules are here, for every caller: a rating is +1 or -1, a correction or a comment has
        words (kept without the blank around them)."""
        if rating not in (None, -1, 1):
            raise ValueError(f"a rating is +1 or -1, not {rating}")
        correction = _with_words(correction, "the correction is empty")
        comment = _with_words(comment, "the comment is empty")
        message = self.message(message_id)
        if message is None or message.role != "assistant":
            raise LookupError(f"no answer with id {message_id}")
        now = now_iso()
        with Transaction(self._conn):
            self._conn.execute(
                "INSERT INTO feedback(message_id, rating, correction, comment, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(message_id) DO UPDATE SET"
                " rating = coalesce(excluded.rating, rating),"
                " correction = coalesce(excluded.correction, correction),"
                " comment = coalesce(excluded.comment, comment),"
                " updated_at = excluded.updated_at",
                (message_id, rating, correction, comment, now, now),
            )
        feedback = self.feedback(message_id)
        assert feedback is not None  # just written, in this connection
        self._keep_taught(message_id, feedback)
        return feedback

    @_unsaved_when_disk_is_full
    def toggle_rating(self, message_id: int, rating: int) -> Feedback:
        """Rate an answer +1 or -1; the same rating given again takes it back."""
        current = self.feedback(message_id)
        if current is None or current.rating != rating:
            return self.set_feedback(message_id, rating=rating)
        with Transaction(self._conn):
            self._conn.execute(
                "UPDATE feedback SET rating = NULL, updated_at = ? WHERE message_id = ?",
                (now_iso(), message_id),
            )
        cleared = self.feedback(message_id)
        assert cleared is not None  # the row stays for its correction or comment
        self._keep_taught(message_id, cleared)
        return cleared

    # -- taught answers --------------------------------------------------------------------

    def _keep_taught(self, message_id: int, feedback: Feedback) -> None:
        """A correction, or a +1 on an answer that ran to its end and was answered from the
        documents, is taught; taking the +1 back (with no correction) untaught it."""
        message = self.message(message_id)
        asked = self.message(message.reply_to) if message and message.reply_to else None
        # A question asked in another language was searched as translated, and answered in
        # the documents' language before that answer was translated: both are taught so, as
        # the next asking is matched and the model reads its sources.
        timings = (message.timings if message else None) or {}
        answer = feedback.correction
        if answer is None and feedback.rating == 1 and message and message.status == "complete":
            answered = timings.get("documents_language_answer") or message.content
            answer = answered if message.prompt is not None else None
        with Transaction(self._conn):
            if message is not None and message.taught_id is not None:
                # A given-back answer corrected again: the taught answer itself is changed.
                if feedback.correction:
                    self._conn.execute(
                        "UPDATE taught SET answer = ?, updated_at = ? WHERE id = ?",
                        (feedback.correction, now_iso(), message.taught_id),
                    )
                return
            if answer is None or message is None or asked is None:
                self._conn.execute("DELETE FROM taught WHERE message_id = ?", (message_id,))
                return
            conversation = self.conversation(message.conversation_id)
            index_name = conversation.index_name if conversation else ""
            # Every numbered source, with its number: the answer's [n] keep pointing at them.
            numbered = [s for s in self.sources(message_id) if s.source_number is not None]
            now = now_iso()
            self._conn.execute(
                "INSERT INTO taught(message_id, conversation_id, index_name, question, answer,"
                " sources, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(message_id) DO UPDATE SET answer = excluded.answer,"
                " sources = excluded.sources, updated_at = excluded.updated_at",
                (
                    message_id,
                    message.conversation_id,
                    index_name,
                    timings.get("translated_question") or asked.content,
                    answer,
                    json.dumps([asdict(source) for source in numbered]),
                    now,
                    now,
                ),
            )

    def taught_answers(self) -> list[TaughtAnswer]:
        """Everything taught, oldest first."""
        return self._taught("", ())

    def _taught(self, where: str, args: tuple) -> list[TaughtAnswer]:
        rows = self._conn.execute(
            "SELECT id, message_id, index_name, question, answer, sources, created_at,"
            f" updated_at FROM taught {where} ORDER BY id",
            args,
        )
        return [
            _record(
                TaughtAnswer,
                row,
                sources=[StoredSource(**source) for source in json.loads(row["sources"])],
            )
            for row in rows
        ]

    def taught_state(self) -> int:
        """A number that changes whenever anything is taught, edited or forgotten."""
        return int(self._conn.execute("SELECT number FROM taught_version").fetchone()[0])

    def taught_questions(self, index_name: str) -> list[TaughtQuestion]:
        """The questions taught on index `index_name`, with their stored embeddings: all
        that matching needs."""
        rows = self._conn.execute(
            "SELECT id, question, question_vector, vector_model FROM taught"
            " WHERE index_name = ? ORDER BY id",
            (index_name,),
        )
        return [_record(TaughtQuestion, row) for row in rows]

    def set_taught_vectors(self, vector_model: str, vectors: list[tuple[int, bytes]]) -> None:
        """Keep the embeddings of taught questions (id, float32 bytes), made by `vector_model`.

        A cache: a disk too full to keep them costs only their recomputation next time."""
        try:
            with Transaction(self._conn):
                self._conn.executemany(
                    "UPDATE taught SET question_vector = ?, vector_model = ? WHERE id = ?",
                    [(vector, vector_model, taught_id) for taught_id, vector in vectors],
                )
        except sqlite3.OperationalError as error:
            if not is_disk_full(error):
                raise
            log.warning("taught question embeddings not kept: %s", error)

    def taught_answer(self, taught_id: int) -> TaughtAnswer:
        """The taught answer `taught_id`; BadInput if there is none."""
        found = self._taught("WHERE id = ?", (taught_id,))
        if not found:
            raise BadInput(f"nothing taught has number {taught_id} (see `gptchat taught`)")
        return found[0]

    @_unsaved_when_disk_is_full
    def edit_taught(self, taught_id: int, answer: str) -> TaughtAnswer:
        """Change what a taught answer says; it is given back so from now on."""
        answer = _with_words(answer, "the taught answer is empty")
        self.taught_answer(taught_id)  # BadInput if there is none
        with Transaction(self._conn):
            self._conn.execute(
                "UPDATE taught SET answer = ?, updated_at = ? WHERE id = ?",
                (_without_nul(answer), now_iso(), taught_id),
            )
        return self.taught_answer(taught_id)

    @_unsaved_when_disk_is_full
    def forget_taught(self, taught_id: int) -> TaughtAnswer:
        """Forget a taught answer: it is never given back again (its feedback stays, for
        fine-tuning)."""
        taught = self.taught_answer(taught_id)
        with Transaction(self._conn):
            self._conn.execute("DELETE FROM taught WHERE id = ?", (taught_id,))
        return taught

    @_unsaved_when_disk_is_full
    def mark_taught_use(self, message_id: int, taught_id: int) -> None:
        with Transaction(self._conn):
            self._conn.execute(
                "UPDATE messages SET taught_id = ? WHERE id = ?", (taught_id, message_id)
            )

    def feedback(self, message_id: int) -> Feedback | None:
        row = self._conn.execute(
            "SELECT message_id, rating, correction, comment, updated_at FROM feedback"
            " WHERE message_id = ?",
            (message_id,),
        ).fetchone()
        return _record(Feedback, row) if row else None

    def feedback_examples(self) -> list[FeedbackExample]:
        """Every answer with feedback, oldest first, with its question and exact prompt."""
        rows = self._conn.execute(
            "SELECT f.message_id, f.rating, f.correction, f.comment, f.updated_at,"
            " q.content AS question, a.content AS answer, a.prompt, a.model, a.status,"
            " a.timings FROM feedback f JOIN messages a ON a.id = f.message_id"
            " JOIN messages q ON q.id = a.reply_to ORDER BY f.message_id"
        ).fetchall()
        return [
            _record(
                FeedbackExample,
                row,
                feedback=_record(Feedback, row),
                sources=self.sources(row["message_id"]),
                documents_answer=json.loads(row["timings"] or "{}").get(
                    "documents_language_answer"
                ),
            )
            for row in rows
        ]

    def state(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM app_state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @_unsaved_when_disk_is_full
    def set_state(self, key: str, value: str) -> None:
        with Transaction(self._conn):
            self._conn.execute(
                "INSERT INTO app_state(key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def add_model_version(
        self,
        source: str,
        method: str,
        base_model: str,
        parent: int | None,
        examples: int,
        metrics: dict,
        config: dict,
        lowest: int = 1,
        place: Callable[[int], None] | None = None,
    ) -> int:
        """Record a new, inactive version numbered `lowest` or above; returns its number.

        `place`, given the number, puts the version's files where they belong inside the same
        transaction: if it fails, nothing is recorded.
        """
        with Transaction(self._conn):
            (highest,) = self._conn.execute(
                "SELECT COALESCE(MAX(id), 0) FROM model_versions"
            ).fetchone()
            number = max(highest + 1, lowest)
            self._conn.execute(
                "INSERT INTO model_versions(id, created_at, source, method, base_model, parent,"
                " examples, metrics, config) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    number,
                    now_iso(),
                    source,
                    method,
                    base_model,
                    parent,
                    examples,
                    json.dumps(metrics),
                    json.dumps(config),
                ),
            )
            if place is not None:
                place(number)
        return number

    def model_versions(self) -> list[ModelVersion]:
        rows = self._conn.execute(
            "SELECT id, created_at, source, method, base_model, parent, examples, metrics, config,"
            " active FROM model_versions ORDER BY id"
        )
        return [
            _record(
                ModelVersion,
                row,
                metrics=json.loads(row["metrics"]),
                config=json.loads(row["config"]),
                active=bool(row["active"]),
            )
            for row in rows
        ]

    def model_version(self, version: int) -> ModelVersion | None:
        return next((v for v in self.model_versions() if v.id == version), None)

    def active_model_version(self) -> ModelVersion | None:
        return next((v for v in self.model_versions() if v.active), None)

    def activate_model_version(self, version: int | None) -> None:
        """Make `version` the one that answers (None: the base model)."""
        with Transaction(self._conn):
            self._conn.execute("UPDATE model_versions SET active = 0 WHERE active = 1")
            if version is not None:
                self._conn.execute("UPDATE model_versions SET active = 1 WHERE id = ?", (version,))


def _record(cls: type[T], row: sqlite3.Row, **decoded: object) -> T:
    """A `cls` from the row's columns of the same names; `decoded` gives the ones parsed."""
    columns = row.keys()
    values = {f.name: row[f.name] for f in fields(cls) if f.name in columns}
    return cls(**(values | decoded))
