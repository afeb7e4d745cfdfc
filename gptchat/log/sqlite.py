"""What both SQLite stores share: the clock they stamp rows with, and real transactions."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from types import TracebackType
from typing import Self


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
