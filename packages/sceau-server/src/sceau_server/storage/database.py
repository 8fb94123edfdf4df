# SPDX-License-Identifier: Apache-2.0
"""The database engine and transactions, for SQLite (default) and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL`` on every connection, so an acknowledged write
survives a crash and a power loss. Write transactions start with ``BEGIN IMMEDIATE``: they take
the write lock first, so a read-then-update (a counter, a status) cannot interleave with another
writer. On PostgreSQL the same code takes row locks with ``SELECT … FOR UPDATE`` (the SQLite
dialect omits that clause) and relies on conditional ``UPDATE … WHERE`` statements.

SQLite has one writer at a time. A writer that finds the lock taken sleeps in SQLite's busy
handler with growing sleeps (up to 100 ms each) and polls again, which under load adds tens of
milliseconds to a request that only had to wait for one commit. So the write transactions of one
process queue on a lock of their own instead, and are woken as soon as the previous one commits;
the busy timeout still covers writers in other processes (``sceau admin``).

A PostgreSQL connection is checked for liveness (one ``SELECT 1``) only when it comes out of the
pool after resting there for ``ping_after_idle`` seconds, not on every checkout: a connection in
steady use has just proved itself alive, and under load that saves a round trip per transaction.
A connection found dead is replaced before the transaction starts. If the server goes away while
connections are in use, the first statement on each fails, SQLAlchemy recognizes the disconnect
and invalidates the whole pool, and the next transactions open new connections.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Database", "after_commit"]

_BUSY_TIMEOUT_MS = 30_000
_PING_AFTER_IDLE_S = 1.0
_RECYCLE_S = 1800
_IDLE_SINCE = "sceau.idle_since"
_AFTER_COMMIT = "sceau.after_commit"
_log = logging.getLogger("sceau.database")


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the write transaction of ``session`` has committed (metrics)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def _sqlite_engine(url: str, *, immediate: bool, pool_size: int) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": _BUSY_TIMEOUT_MS / 1000},
        pool_size=pool_size,
        max_overflow=30,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event, not the sqlite3 module, start transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cursor.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Straight to the driver: the statement needs none of the engine's machinery.
        connection.connection.driver_connection.execute(begin)

    return engine


def _postgres_engine(url: str, *, pool_size: int, ping_after_idle: float) -> Engine:
    engine = create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=_RECYCLE_S
    )

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < ping_after_idle:
            return  # A new connection, or one that has just worked.
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError("the pooled connection is gone") from error

    return engine


class Database:
    """The engines and session factories of one database URL."""

    def __init__(
        self, url: str, *, pool_size: int = 10, ping_after_idle: float = _PING_AFTER_IDLE_S
    ) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            database = parsed.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self._write_engine = _sqlite_engine(url, immediate=True, pool_size=pool_size)
            self._read_engine = _sqlite_engine(url, immediate=False, pool_size=pool_size)
        else:
            self._write_engine = _postgres_engine(
                url, pool_size=pool_size, ping_after_idle=ping_after_idle
            )
            self._read_engine = self._write_engine
        self._write = sessionmaker(self._write_engine, expire_on_commit=False)
        self._read = sessionmaker(self._read_engine, expire_on_commit=False)
        # Reentrant: a nested write would wait for itself; it fails on the busy timeout instead.
        self._writer: threading.RLock | None = threading.RLock() if self.is_sqlite else None

    @property
    def engine(self) -> Engine:
        """The engine used for writes and migrations."""
        return self._write_engine

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success."""
        with self._writer_turn(), self._write() as session:
            with session.begin():
                yield session
            callbacks = session.info.pop(_AFTER_COMMIT, ())
        for callback in callbacks:
            try:
                callback()
            except Exception:
                _log.exception("an after-commit callback failed")

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        if self._writer is None:
            yield
            return
        with self._writer:
            yield

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction, rolled back at the end."""
        with self._read() as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self._write_engine.dispose()
        if self._read_engine is not self._write_engine:
            self._read_engine.dispose()
