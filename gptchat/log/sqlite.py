"""What both SQLite stores share: the clock they stamp rows with, and real transactions."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception.

    The stores open SQLite in autocommit mode (isolation_level=None), where `with conn:`
    opens no transaction and each statement commits alone; this one makes a write of
    several statements all or nothing.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


class Closing:
    """`with Store(...) as store:` closes the store at the end of the block."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_database(path: str, migrations: Migrations, timeout_s: float) -> sqlite3.Connection:
    """A WAL-mode connection with every migration applied, safe against a second opener.

    Two commands started at once on a new database would both create its tables; the
    migrations run under one write lock (the second waits, then finds nothing to do), and
    the switch to WAL, which takes no busy handler, is retried.
    """
    conn = sqlite3.connect(path, timeout=timeout_s, isolation_level=None, check_same_thread=False)
    try:
        _retry_while_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"), timeout_s)
        conn.execute("PRAGMA foreign_keys=ON")
        db = Database(conn)
        if migrations.pending(db):  # read-only when nothing is pending: readers take no lock
            with Transaction(conn):
                migrations.apply(db)
    except BaseException:
        conn.close()
        raise
    return conn


def _retry_while_locked(statement, timeout_s: float) -> None:  # statement: () -> object
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            statement()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
