"""What both SQLite stores share: the clock they stamp rows with, and real transactions."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from gptchat.errors import GptchatError
from gptchat.safe_files import refuse_link

log = logging.getLogger(__name__)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


Migration = Callable[[sqlite3.Connection], None]
# Where each database records the migrations applied to it: the table and columns that
# sqlite-utils kept, which earlier versions of gptchat used, so their databases read the same.
MIGRATIONS_TABLE = "_sqlite_migrations"


class Migrations:
    """A database's schema as named steps, in order: each applied once, and recorded."""

    def __init__(self, name: str) -> None:
        self.name = name  # the set's name in MIGRATIONS_TABLE: one table serves several sets
        self._steps: list[tuple[str, Migration]] = []

    def __call__(self) -> Callable[[Migration], Migration]:
        """`@migrations()` above a function adds it as the next step, named after it."""

        def add(step: Migration) -> Migration:
            self._steps.append((step.__name__, step))
            return step

        return add

    def pending(self, conn: sqlite3.Connection) -> list[str]:
        """The steps not applied yet, in order (reads only)."""
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (MIGRATIONS_TABLE,)
        ).fetchone()
        applied = (
            {
                row[0]
                for row in conn.execute(
                    f"SELECT name FROM {MIGRATIONS_TABLE} WHERE migration_set = ?", (self.name,)
                )
            }
            if exists
            else set()
        )
        return [name for name, _ in self._steps if name not in applied]

    def apply(self, conn: sqlite3.Connection) -> None:
        """Apply the pending steps and record each; the caller holds the transaction."""
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (id INTEGER PRIMARY KEY,"
            " migration_set TEXT, name TEXT, applied_at TEXT)"
        )
        conn.execute(
            f"CREATE UNIQUE INDEX IF NOT EXISTS idx_{MIGRATIONS_TABLE}_migration_set_name"
            f" ON {MIGRATIONS_TABLE} (migration_set, name)"
        )
        pending = set(self.pending(conn))
        for name, step in self._steps:
            if name in pending:
                step(conn)
                conn.execute(
                    f"INSERT INTO {MIGRATIONS_TABLE} (migration_set, name, applied_at)"
                    " VALUES (?, ?, ?)",
                    (self.name, name, str(datetime.now(UTC))),
                )


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
        if exc_type is None:
            self._conn.execute("COMMIT")
        elif self._conn.in_transaction:  # SQLITE_FULL and a few others roll back themselves
            self._conn.execute("ROLLBACK")


class Closing:
    """`with Store(...) as store:` closes the store at the end of the block."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_database(
    path: Path, migrations: Migrations, timeout_s: float, copy_if_read_only: bool = False
) -> sqlite3.Connection:
    """A WAL-mode connection with every migration applied, safe against a second opener.

    Two commands started at once on a new database would both create its tables; the
    migrations run under one write lock (the second waits, then finds nothing to do), and
    the switch to WAL, which takes no busy handler, is retried. Where the folder or file is
    read-only, the database is opened for reading; with `copy_if_read_only` it is copied
    into memory instead, so a session can still write (and keep nothing).
    """
    # SQLite follows links, and writes its -wal and -shm files beside the database.
    for name in ("", "-wal", "-shm", "-journal"):
        refuse_link(path.with_name(path.name + name))
    if not _writable(path):
        return _open_read_only(path, migrations, timeout_s, copy_if_read_only)
    try:
        conn = sqlite3.connect(
            path, timeout=timeout_s, isolation_level=None, check_same_thread=False
        )
    except sqlite3.OperationalError:
        if path.exists() or copy_if_read_only:  # a read-only file system stops even root
            return _open_read_only(path, migrations, timeout_s, copy_if_read_only)
        raise
    try:
        _retry_while_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"), timeout_s)
        conn.execute("PRAGMA foreign_keys=ON")
        if migrations.pending(conn):  # read-only when nothing is pending: readers take no lock
            with Transaction(conn):
                migrations.apply(conn)
    except sqlite3.OperationalError as exc:
        conn.close()
        if "readonly" in str(exc) or "unable to open" in str(exc):
            return _open_read_only(path, migrations, timeout_s, copy_if_read_only)
        raise
    except BaseException:
        conn.close()
        raise
    return conn


def _writable(path: Path) -> bool:
    """Whether SQLite can write `path` and its WAL files beside it (root may write anything)."""
    if os.geteuid() == 0:
        return True
    folder_ok = os.access(path.parent, os.W_OK | os.X_OK)
    return folder_ok and (not path.exists() or os.access(path, os.W_OK))


def _open_read_only(
    path: Path, migrations: Migrations, timeout_s: float, copy: bool
) -> sqlite3.Connection:
    if not path.exists():
        if not copy:
            raise GptchatError(f"{path} does not exist and its folder is read-only")
        log.warning("%s is read-only: nothing from this session is saved", path.parent)
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        with Transaction(conn):
            migrations.apply(conn)
        return conn
    # immutable: no -shm or -wal file can be made in a read-only folder, and no writer can
    # be at work in one; a closed WAL database has everything in its main file.
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    source = sqlite3.connect(uri, uri=True, timeout=timeout_s, check_same_thread=False)
    if migrations.pending(source):
        source.close()
        raise GptchatError(
            f"{path} needs an upgrade and is read-only: open it once with write access"
        )
    if not copy:
        source.isolation_level = None
        return source
    log.warning("%s is read-only: nothing from this session is saved", path)
    conn = copy_into_memory(source)
    source.close()
    return conn


def copy_into_memory(source: sqlite3.Connection) -> sqlite3.Connection:
    """An in-memory copy of a database, to go on with when its file cannot be written."""
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    source.backup(conn)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def is_disk_full(exc: sqlite3.Error) -> bool:
    """Whether SQLite failed for want of space (SQLITE_FULL)."""
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


def _retry_while_locked(statement: Callable[[], object], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            statement()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
