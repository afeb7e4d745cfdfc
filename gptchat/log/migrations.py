"""The app database schema (conversations, messages, retrievals), as numbered migrations."""

from __future__ import annotations

import sqlite3

from gptchat.sqlite import Migrations

app_migrations = Migrations("gptchat.app")

_M001 = [
    """CREATE TABLE conversations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL,
        index_name TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    # An assistant message keeps the exact prompt, the model and the timings that produced it,
    # so any exchange can be replayed and later used for training.
    """CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        reply_to INTEGER REFERENCES messages(id),
        model TEXT,
        prompt TEXT,
        timings TEXT
    )""",
    "CREATE INDEX messages_conversation ON messages(conversation_id)",
    """CREATE TABLE retrievals (
        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        rank INTEGER NOT NULL,
        source_number INTEGER,
        chunk_ids TEXT NOT NULL,
        location TEXT NOT NULL,
        heading TEXT NOT NULL,
        score REAL NOT NULL,
        similarity REAL,
        text TEXT NOT NULL,
        PRIMARY KEY (message_id, rank)
    )""",
]


@app_migrations()
def m001_conversations(db: sqlite3.Connection) -> None:
    for statement in _M001:
        db.execute(statement)


@app_migrations()
def m002_eval_runs(db: sqlite3.Connection) -> None:
    # One row per `gptchat eval` run: the user's own record of how quality moved.
    db.execute(
        """CREATE TABLE eval_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            qa_file TEXT NOT NULL,
            index_name TEXT NOT NULL,
            model TEXT,
            questions INTEGER NOT NULL,
            metrics TEXT NOT NULL
        )"""
    )


@app_migrations()
def m003_feedback(db: sqlite3.Connection) -> None:
    # One row per rated answer, holding its latest state: training reads the answer's prompt
    # from messages, so what the model saw is what it learns from.
    db.execute(
        """CREATE TABLE feedback (
            message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
            rating INTEGER CHECK (rating IN (-1, 1)),
            correction TEXT,
            comment TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    # Small key-value state of the app, e.g. the conversation it was showing when closed.
    db.execute("CREATE TABLE app_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    # The source's file on its own, so a corrected answer can name its gold sources.
    db.execute("ALTER TABLE retrievals ADD COLUMN path TEXT")


@app_migrations()
def m004_model_versions(db: sqlite3.Connection) -> None:
    # One row per fine-tuned version; at most one is active (none: the base model answers).
    # Version N lives in the workspace's models/vN/.
    db.execute(
        """CREATE TABLE model_versions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            source TEXT NOT NULL,
            method TEXT NOT NULL,
            base_model TEXT NOT NULL,
            parent INTEGER REFERENCES model_versions(id),
            examples INTEGER NOT NULL,
            metrics TEXT NOT NULL,
            config TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 0
        )"""
    )


@app_migrations()
def m005_checked_citations(db: sqlite3.Connection) -> None:
    # content holds the answer with checked citations; raw_content what the model wrote.
    db.execute("ALTER TABLE messages ADD COLUMN raw_content TEXT")
    # The sentence of a cited source that supports the answer, to mark in the app.
    db.execute("ALTER TABLE retrievals ADD COLUMN evidence TEXT")


@app_migrations()
def m006_message_search(db: sqlite3.Connection) -> None:
    # `history -q TEXT`: full-text search over questions and answers, kept in step by triggers.
    db.execute(
        "CREATE VIRTUAL TABLE messages_fts USING fts5("
        "content, content='messages', content_rowid='id', tokenize='porter unicode61')"
    )
    db.execute(
        """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
        END"""
    )
    db.execute(
        """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content)
            VALUES ('delete', old.id, old.content);
        END"""
    )
    db.execute(
        """CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content)
            VALUES ('delete', old.id, old.content);
            INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
        END"""
    )
    db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")


@app_migrations()
def m007_answer_writer(db: sqlite3.Connection) -> None:
    # The process streaming an answer: one killed mid-answer leaves it "streaming", and the
    # next open marks it interrupted when that process is gone.
    db.execute("ALTER TABLE messages ADD COLUMN writer_pid INTEGER")


@app_migrations()
def m008_taught_answers(db: sqlite3.Connection) -> None:
    # What the user taught: a corrected (or approved) answer, given back at once to the same
    # question asked again. Its question, answer and cited passages are copied here, so it
    # outlives its conversation and any rebuild of the index.
    db.execute(
        """CREATE TABLE taught (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id INTEGER UNIQUE REFERENCES messages(id) ON DELETE SET NULL,
            conversation_id INTEGER,
            index_name TEXT NOT NULL,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            sources TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    # The taught answer an answer was given from, for history.
    db.execute("ALTER TABLE messages ADD COLUMN taught_id INTEGER")


@app_migrations()
def m009_taught_question_vectors(db: sqlite3.Connection) -> None:
    # Each taught question's embedding, kept so thousands of taught answers are compared
    # with a new question without embedding them again at every start; `vector_model` names
    # the embedder that made it (another index may embed with another).
    db.execute("ALTER TABLE taught ADD COLUMN question_vector BLOB")
    db.execute("ALTER TABLE taught ADD COLUMN vector_model TEXT")
    # A source that was the user's own taught answer, not a passage of the documents.
    db.execute("ALTER TABLE retrievals ADD COLUMN taught_id INTEGER")


@app_migrations()
def m010_taught_version(db: sqlite3.Connection) -> None:
    # A number that changes whenever what is taught changes (taught, edited, forgotten), so
    # every question can ask "anything new?" in one row read instead of scanning the table.
    db.execute("CREATE TABLE taught_version (number INTEGER NOT NULL)")
    db.execute("INSERT INTO taught_version(number) VALUES (0)")
    for event in ("INSERT", "UPDATE OF question, answer, sources, index_name", "DELETE"):
        name = event.split()[0].lower()
        db.execute(
            f"CREATE TRIGGER taught_{name}_counted AFTER {event} ON taught"
            " BEGIN UPDATE taught_version SET number = number + 1; END"
        )
