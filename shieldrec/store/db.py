"""Opening the profile database: one function, used by everything that touches it.

Every thread gets its own SQLite connection (a connection shared across threads would run
one thread's reads inside another's transaction, and see its writes before they commit or
roll back). Writes take the write lock when their transaction begins (`BEGIN IMMEDIATE`),
so a transaction that reads before it writes never has to upgrade a read lock another
writer is waiting on; SQLite's busy timeout makes a writer wait for the lock, a few retries
with back-off cover a writer that held it longer, and one that still cannot get it is a
`DatabaseBusy` message, never a traceback, with nothing written.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from shieldrec.errors import ShieldRecError
from shieldrec.paths import ensure_dir, get_paths
from shieldrec.store.migrations import migrations

BUSY_TIMEOUT_MS = 5000
BEGIN_RETRIES = 4  # after the busy timeout: back-off 0.1, 0.2, 0.4, 0.8 s (plus jitter)
_BACKOFF = 0.1


class CorruptDatabase(ShieldRecError):
    pass


class DatabaseBusy(ShieldRecError):
    """Another process held the profile database's write lock for too long; nothing was written."""


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _busy_message(path: Path) -> str:
    return (
        f"the profile database ({path}) is busy: another ShieldRec process kept writing to it for "
        f"more than {BUSY_TIMEOUT_MS * (BEGIN_RETRIES + 1) // 1000} seconds. Nothing was changed; "
        "try again in a moment"
    )


class ProfileDatabase(Database):
    """A sqlite-utils `Database` whose `conn` is the calling thread's own connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()  # in-process writers queue here, not on SQLite's busy loop
        self._local = threading.local()
        # Each thread's connection, closed when the store closes or once its thread has ended.
        self._open: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]] = []
        self._open_lock = threading.Lock()
        super().__init__(self._connect())

    @property  # type: ignore[override]
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @conn.setter
    def conn(self, value: sqlite3.Connection) -> None:
        self._local.conn = value

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are begun by `tx`, never implicitly by the driver.
        conn = sqlite3.connect(
            str(self.path), check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA recursive_triggers = ON")
            # Deleted rows are overwritten on disk, so 'forget' leaves nothing in free pages.
            conn.execute("PRAGMA secure_delete = ON")
        except sqlite3.DatabaseError:
            conn.close()
            raise
        with self._open_lock:
            ended = [c for t, c in self._open if (thread := t()) is None or not thread.is_alive()]
            self._open = [(t, c) for t, c in self._open if c not in ended]
            self._open.append((weakref.ref(threading.current_thread()), conn))
        for old in ended:
            old.close()
        return conn

    def close(self) -> None:
        """Close this thread's connection and those of threads that have ended. A connection
        another live thread may be using (the background learner, a ranking worker) is only let
        go of: closing it under a running statement crashes the interpreter, so it closes when
        its thread drops its last reference to it."""
        me = threading.current_thread()
        with self._open_lock:
            idle = [c for t, c in self._open if (thread := t()) is None or thread is me or not thread.is_alive()]
            self._open = []
        for conn in idle:
            conn.close()
        self._local = threading.local()


def open_db(path: Path | None = None) -> ProfileDatabase:
    """Open (creating if needed) the profile database and bring its schema up to date."""
    path = path or get_paths().database
    ensure_dir(path.parent)
    new = not path.exists()
    try:
        db = ProfileDatabase(path)
    except sqlite3.DatabaseError as exc:
        raise CorruptDatabase(_corrupt_message(path, exc)) from exc
    if new:
        os.chmod(path, 0o600)
    try:
        if db.journal_mode != "wal":
            db.enable_wal()
        if migrations.pending(db):
            with db.lock, _migrating(path):
                migrations.apply(db)  # pending again: another process may have applied them meanwhile
    except sqlite3.OperationalError as exc:
        db.close()
        if _busy(exc):
            raise DatabaseBusy(_busy_message(path)) from None
        raise CorruptDatabase(_corrupt_message(path, exc)) from exc
    except sqlite3.DatabaseError as exc:
        db.close()
        raise CorruptDatabase(_corrupt_message(path, exc)) from exc
    return db


@contextmanager
def _migrating(path: Path) -> Iterator[None]:
    """Across processes, one applies the migrations at a time: two that both read the same
    migration as pending would otherwise both run it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no second process at the first start, in practice
        yield
        return
    with open(path.with_name(path.name + ".migrating"), "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _corrupt_message(path: Path, exc: Exception) -> str:
    return (
        f"the profile database at {path} cannot be read ({exc}); "
        "move it aside and run the command again to start a fresh one"
    )


def _begin(conn: sqlite3.Connection, path: Path) -> None:
    for attempt in range(BEGIN_RETRIES + 1):
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not _busy(exc) or attempt == BEGIN_RETRIES:
                if _busy(exc):
                    raise DatabaseBusy(_busy_message(path)) from None
                raise
        time.sleep(_BACKOFF * 2**attempt * (1 + random.random()))


@contextmanager
def tx(db: Database) -> Iterator[sqlite3.Connection]:
    """One write transaction (a savepoint when nested), holding the write lock from its start.

    Keep the body short: everything inside runs with every other writer waiting."""
    lock = getattr(db, "lock", None) or threading.RLock()
    path = Path(getattr(db, "path", "") or "the profile database")
    with lock:
        conn = db.conn
        if conn.in_transaction:
            name = f"sp_{threading.get_ident()}_{time.monotonic_ns()}"
            conn.execute(f"SAVEPOINT {name}")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                    conn.execute(f"RELEASE SAVEPOINT {name}")
                raise
            conn.execute(f"RELEASE SAVEPOINT {name}")
            return
        _begin(conn, path)
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError) and _busy(exc):
                raise DatabaseBusy(_busy_message(path)) from None
            raise
