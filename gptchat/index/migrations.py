"""The index database schema, as numbered migrations applied on open."""

from __future__ import annotations

import sqlite3

from gptchat.sqlite import Migrations

index_migrations = Migrations("gptchat.index")

_M001 = [
    "CREATE TABLE manifest (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE roots (path TEXT PRIMARY KEY, added_at TEXT NOT NULL)",
    """CREATE TABLE files (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        kind TEXT NOT NULL,
        chunk_count INTEGER NOT NULL,
        indexed_at TEXT NOT NULL
    )""",
    # AUTOINCREMENT: a chunk id is never reused, so a logged citation never points elsewhere.
    """CREATE TABLE chunks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        ord INTEGER NOT NULL,
        heading TEXT NOT NULL,
        text TEXT NOT NULL,
        line_start INTEGER,
        line_end INTEGER,
        page INTEGER,
        token_count INTEGER NOT NULL,
        text_hash TEXT NOT NULL
    )""",
    "CREATE INDEX chunks_file_id ON chunks(file_id)",
    "CREATE INDEX chunks_text_hash ON chunks(text_hash)",
    # Keyed by the embedded text, so a text seen before is never embedded twice.
    "CREATE TABLE embeddings (text_hash TEXT PRIMARY KEY, vector BLOB NOT NULL)",
    """CREATE VIRTUAL TABLE chunks_fts USING fts5(
        heading, text, content='chunks', content_rowid='id', tokenize='porter unicode61'
    )""",
    """CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
        INSERT INTO chunks_fts(rowid, heading, text) VALUES (new.id, new.heading, new.text);
    END""",
    """CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts(chunks_fts, rowid, heading, text)
        VALUES ('delete', old.id, old.heading, old.text);
    END""",
]


@index_migrations()
def m001_initial(db: sqlite3.Connection) -> None:
    # One statement at a time: executescript() would commit the migration's transaction early.
    for statement in _M001:
        db.execute(statement)


@index_migrations()
def m002_term_statistics(db: sqlite3.Connection) -> None:
    # Document frequency of every indexed term, read to leave very common terms out of queries.
    db.execute("CREATE VIRTUAL TABLE chunks_vocab USING fts5vocab(chunks_fts, 'row')")
