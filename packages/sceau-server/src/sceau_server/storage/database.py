# SPDX-License-Identifier: Apache-2.0
"""The database engine and transactions, for SQLite (default) and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL`` on every connection, so an acknowledged write
survives a crash and a power loss. Write transactions start with ``BEGIN IMMEDIATE``: they take
the write lock first, so a read-then-update (a counter, a status) cannot interleave with another
writer. On PostgreSQL the same code takes row locks with ``SELECT … FOR UPDATE`` (the SQLite
dialect omits that clause) and relies on conditional ``UPDATE … WHERE`` statements.

SQLite has one writer at a time, and each durable COMMIT costs an fsync (a few milliseconds).
A writer that finds the lock taken sleeps in SQLite's busy handler with growing sleeps (up to
100 ms each), so the write transactions of one process queue on a lock of their own instead (the
busy timeout still covers writers in other processes: ``sceau admin``). And they commit in groups:
the write transactions that queue while one runs join one SQLite transaction on one connection,
each in a SAVEPOINT of its own, and one COMMIT (one fsync) covers them all. A job sees every
earlier job's writes, as after ``BEGIN IMMEDIATE``; a job that raises rolls back to its savepoint
and gets its exception, and the others go on. No job returns before the COMMIT that covers its
work has succeeded (its after-commit callbacks run only then); if that COMMIT fails, every job of
the group fails with :class:`CommitFailed`. The job that finds nobody queued behind it commits.

A PostgreSQL connection is checked for liveness (one ``SELECT 1``) only when it comes out of the
pool after resting there for ``ping_after_idle`` seconds, not on every checkout: a connection in
steady use has just proved itself alive, and under load that saves a round trip per transaction.
A connection found dead is replaced before the transaction starts. If the server goes away while
connections are in use, the first statement on each fails, SQLAlchemy recognizes the disconnect
and invalidates the whole pool, and the next transactions open new connections.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session
from sqlalchemy.orm.session import JoinTransactionMode

from sceau_server.db import BEGIN_PENDING, pin_connection, unpin_connection

__all__ = ["WITH_COMMIT", "CommitFailed", "Database", "after_commit"]

_BUSY_TIMEOUT_MS = 30_000
_PING_AFTER_IDLE_S = 1.0
_RECYCLE_S = 1800
_IDLE_SINCE = "sceau.idle_since"
_AFTER_COMMIT = "sceau.after_commit"
_AUTOCOMMIT_READ = "sceau.autocommit_read"
_MAX_GROUP = 32
_OTHER_THREADS = 40
"""anyio's worker threads (FastAPI's other endpoints, the background tasks): the PostgreSQL
pool's overflow, so that they and the hot requests' threads (``SCEAU_DB_POOL_SIZE`` at most,
``api.hot``) never wait for a connection."""
_SAVEPOINT = "SAVEPOINT sceau_job"
_RELEASE = "RELEASE SAVEPOINT sceau_job"
_ROLLBACK = "ROLLBACK TO SAVEPOINT sceau_job"
_log = logging.getLogger("sceau.database")


class CommitFailed(Exception):
    """The COMMIT that was to cover a write transaction failed: none of its work was kept."""


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
        # Straight to the driver: the statement needs none of the engine's machinery. A read
        # is begun on the driver; a session joining it finds it begun.
        driver = connection.connection.driver_connection
        if not driver.in_transaction:
            driver.execute(begin)

    # The same for the savepoint of each grouped write transaction: the dialect would compile
    # a clause for each (a third of the cost of a small write transaction).
    dialect: Any = engine.dialect
    for method, statement in (
        ("do_savepoint", "SAVEPOINT {}"),
        ("do_release_savepoint", "RELEASE SAVEPOINT {}"),
        ("do_rollback_to_savepoint", "ROLLBACK TO SAVEPOINT {}"),
    ):
        setattr(dialect, method, _driver_statement(statement))
    return engine


def _driver_statement(statement: str) -> Callable[[Connection, str], None]:
    """A dialect method that runs ``statement`` for a savepoint name straight on the driver."""

    def run(connection: Connection, name: str) -> None:
        connection.connection.driver_connection.execute(statement.format(name))  # type: ignore[union-attr]

    return run


WITH_COMMIT = "sceau.with_commit"
"""Key of a PostgreSQL connection's ``info``: statements (bytes, each ending with ``;``, every
value a literal) that the COMMIT of its transaction sends in the same round trip, before it.
Dropped if the transaction rolls back. Only on engines whose dialect has :data:`WITH_COMMIT`
set (:func:`_postgres_engine`)."""


def _pop_with_commit(connection: Any) -> tuple[list[bytes] | None, bool]:
    """The statements to send with the COMMIT, and whether the transaction sent its BEGIN."""
    # The bare connection that the dialect sees on a first connect has no ``info``.
    with contextlib.suppress(NotImplementedError):
        info = connection.info
        statements: list[bytes] | None = info.pop(WITH_COMMIT, None)
        return statements, not info.pop(BEGIN_PENDING, False)
    return None, True


def _commit_with_statements(connection: Any) -> None:
    statements, begun = _pop_with_commit(connection)
    if not statements:
        connection.commit()  # psycopg sends nothing when no transaction is open
        return
    # One simple-protocol query: if a statement fails, PostgreSQL skips the COMMIT and the
    # error is the commit's, so the transaction rolls back and nothing is acknowledged.
    with connection.driver_connection.cursor() as cursor:
        cursor.execute(b"".join(statements) + (b"COMMIT" if begun else b""), prepare=False)


def _postgres_engine(url: str, *, pool_size: int, ping_after_idle: float) -> Engine:
    """The PostgreSQL engine: its connections are in autocommit mode, and a transaction's
    ``BEGIN`` is sent only with its first statement.

    psycopg would send the ``BEGIN`` of each transaction in a round trip of its own. Here a
    transaction that SQLAlchemy begins is only marked (:data:`~sceau_server.db.BEGIN_PENDING`):
    a statement on the driver path takes the ``BEGIN`` with it in one round trip
    (:mod:`sceau_server.db`), a statement through SQLAlchemy sends it just before. A transaction
    that ran no statement sends nothing at all, not even its ``COMMIT`` or ``ROLLBACK`` (psycopg
    sends them only when the server has a transaction open). Reads (:meth:`Database.read`) send
    no ``BEGIN``: each of their statements sees the rows committed when it starts, as it would
    in a ``READ COMMITTED`` transaction.
    """
    engine = create_engine(
        url, pool_size=pool_size, max_overflow=_OTHER_THREADS, pool_recycle=_RECYCLE_S
    )
    dialect: Any = engine.dialect
    rollback = dialect.do_rollback

    def _rollback(connection: Any) -> None:
        _pop_with_commit(connection)
        rollback(connection)

    dialect.do_commit = _commit_with_statements
    dialect.do_rollback = _rollback
    setattr(dialect, WITH_COMMIT, True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            dbapi_connection.rollback()
        dbapi_connection.autocommit = True

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        info = connection.connection.info
        if not info.get(_AUTOCOMMIT_READ):
            info[BEGIN_PENDING] = True

    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(
        connection: Connection, cursor: Any, *_statement: Any, **_options: Any
    ) -> None:
        if connection.connection.info.pop(BEGIN_PENDING, False):
            cursor.execute(b"BEGIN", prepare=False)

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


def _create_private(path: Path) -> None:
    """Create a new SQLite file readable by its owner only (an empty file is an empty database).

    It holds the wrapped server keys, the customers' phone numbers and the audit log; SQLite
    gives its ``-wal`` and ``-shm`` files the same permissions.
    """
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


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
                _create_private(Path(database))
            self._write_engine = _sqlite_engine(url, immediate=True, pool_size=pool_size)
            self._read_engine = _sqlite_engine(url, immediate=False, pool_size=pool_size)
        else:
            self._write_engine = _postgres_engine(
                url, pool_size=pool_size, ping_after_idle=ping_after_idle
            )
            self._read_engine = self._write_engine
        self._group = _GroupCommit(self._write_engine) if self.is_sqlite else None
        self._readers: list[Connection] = []
        self._keep_readers = pool_size

    @property
    def engine(self) -> Engine:
        """The engine used for writes and migrations."""
        return self._write_engine

    def idle_read_connections(self) -> int:
        """Read connections resting in the pool, ready to be checked out without waiting."""
        pool: Any = self._read_engine.pool
        idle: int = pool.checkedin()
        return idle + len(self._readers)

    @property
    def queued_writes(self) -> int:
        """Write transactions waiting for their turn (SQLite; always 0 on PostgreSQL)."""
        return self._group.queued if self._group is not None else 0

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success.

        On SQLite it may share its COMMIT with other write transactions (see the module's
        documentation); it returns only once that COMMIT has succeeded.
        """
        if self._group is not None:
            with self._group.job() as (session, callbacks):
                yield session
        else:
            with self._write_engine.connect() as connection:
                connection.begin()
                session = _joined_session(connection, "rollback_only")
                try:
                    yield session
                    _end_session(session, commit=True)
                    connection.commit()
                except BaseException:
                    _end_session(session, commit=False)
                    connection.rollback()
                    raise
                callbacks = session.info.pop(_AFTER_COMMIT, [])
        for callback in callbacks:
            try:
                callback()
            except Exception:
                _log.exception("an after-commit callback failed")

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction, rolled back at the end."""
        if self.is_sqlite:
            with self._sqlite_read() as session:
                yield session
            return
        with self._read_engine.connect() as connection:
            # No BEGIN: each statement reads what is committed, as in a READ COMMITTED
            # transaction, without the BEGIN and ROLLBACK round trips (see _postgres_engine).
            info = connection.connection.info
            info[_AUTOCOMMIT_READ] = True
            session = _joined_session(connection, "rollback_only")
            try:
                yield session
            finally:
                _close_read(session)
                del info[_AUTOCOMMIT_READ]

    @contextmanager
    def _sqlite_read(self) -> Iterator[Session]:
        """A read on an idle connection kept checked out (a pool checkout costs more than it)."""
        try:
            connection = self._readers.pop()
        except IndexError:
            connection = self._read_engine.connect()
        reusable = False
        try:
            driver: Any = connection.connection.driver_connection
            driver.execute("BEGIN")
            session = _joined_session(connection, "rollback_only")
            try:
                yield session
            finally:
                _close_read(session)
                if driver.in_transaction:
                    driver.rollback()
            reusable = not connection.invalidated and not connection.in_transaction()
        finally:
            if reusable and len(self._readers) < self._keep_readers:
                self._readers.append(connection)
            else:
                connection.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        while self._readers:
            self._readers.pop().close()
        if self._group is not None:
            self._group.close()
        self._write_engine.dispose()
        if self._read_engine is not self._write_engine:
            self._read_engine.dispose()


def _joined_session(connection: Connection, mode: JoinTransactionMode) -> Session:
    """A session for the transaction that ``connection`` is in, which begins only if asked.

    The hot paths run every statement through the driver (:func:`sceau_server.db.driver_cursor`)
    on the connection itself; a session's begin, savepoint, commit and close cost more than
    their statements, so they happen only in the code paths that use the ORM.
    """
    session = Session(bind=connection, join_transaction_mode=mode, expire_on_commit=False)
    pin_connection(session, connection)
    return session


def _close_read(session: Session) -> None:
    """End a read's session: closed, not rolled back, since a rollback would expire the objects
    read, which callers use once the read is over."""
    unpin_connection(session)
    session.close()


def _end_session(session: Session, *, commit: bool) -> None:
    """Commit (flush) or roll back what the session began, if it began, and close it.

    A session that only holds objects (the admission's activation row) began without a
    statement of its own: with nothing to flush and no savepoint, closing it is its commit.
    """
    unpin_connection(session)
    if session.in_transaction():
        if not commit:
            session.rollback()
        elif session.new or session.deleted or session.dirty or _has_savepoint(session):
            session.commit()
        session.close()
    elif session.identity_map or session.new:
        session.close()


def _has_savepoint(session: Session) -> bool:
    connection: Connection = session.bind  # type: ignore[assignment]
    return connection.in_nested_transaction()


@dataclass(eq=False)
class _Group:
    """Write transactions sharing one SQLite transaction, and so one COMMIT."""

    committed: threading.Event = field(default_factory=threading.Event)
    jobs: int = 0
    """Jobs whose work the transaction holds (a job that raised holds none)."""
    error: BaseException | None = None


class _GroupCommit:
    """The SQLite write transactions of one process, committed in groups."""

    def __init__(self, engine: Engine, max_jobs: int = _MAX_GROUP) -> None:
        self._engine = engine
        self._max_jobs = max_jobs
        self._turn = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queued = 0
        self._connection: Connection | None = None
        self._group: _Group | None = None
        self._inside = threading.local()

    @property
    def queued(self) -> int:
        """Jobs waiting for their turn."""
        return self._queued

    @contextmanager
    def job(self) -> Iterator[tuple[Session, list[Callable[[], None]]]]:
        """One write transaction: a session in a savepoint of the group's transaction.

        Yields the session and the list that receives its after-commit callbacks once the
        COMMIT covering the job has succeeded.
        """
        if getattr(self._inside, "active", False):
            # The job would wait for its own group to commit.
            raise RuntimeError("a write transaction cannot start inside another one")
        with self._queue_lock:
            self._queued += 1
        self._turn.acquire()
        with self._queue_lock:
            self._queued -= 1
        try:
            group, connection = self._join()
        except BaseException:
            self._turn.release()
            raise
        self._inside.active = True
        driver = self._driver(connection)
        callbacks: list[Callable[[], None]] = []
        try:
            driver.execute(_SAVEPOINT)
            session = _joined_session(connection, "create_savepoint")
        except BaseException as error:
            self._inside.active = False
            self._job_failed(None, group, connection, error)
            raise
        try:
            yield session, callbacks
            _end_session(session, commit=True)
            driver.execute(_RELEASE)
        except BaseException as error:
            self._inside.active = False
            self._job_failed(session, group, connection, error)
            raise
        self._inside.active = False
        callbacks.extend(session.info.pop(_AFTER_COMMIT, ()))
        group.jobs += 1
        self._end_turn(group)
        group.committed.wait()
        if group.error is not None:
            raise CommitFailed("the write transaction was not committed") from group.error

    def _join(self) -> tuple[_Group, Connection]:
        """The open group and its connection, beginning them if there are none (turn held).

        The connection stays in one SQLAlchemy transaction for its whole life, so that a session
        that begins inside a job always takes a savepoint of it (and never commits the group);
        each group is one transaction of the driver under it, begun and committed on the driver
        (through SQLAlchemy they cost more than the small write transactions they cover).
        """
        if self._group is not None and self._connection is not None:
            return self._group, self._connection
        try:
            if self._connection is None:
                self._connection = self._engine.connect()
                self._connection.begin()  # BEGIN IMMEDIATE, from the engine's begin event
            else:
                self._on_driver(self._connection, "BEGIN IMMEDIATE")
        except BaseException:
            self._discard_connection()
            raise
        self._group = _Group()
        return self._group, self._connection

    @staticmethod
    def _on_driver(connection: Connection, statement: str) -> None:
        """Run ``statement`` on the driver, its errors raised as SQLAlchemy's."""
        dialect = connection.dialect
        try:
            connection.connection.driver_connection.execute(statement)  # type: ignore[union-attr]
        except dialect.loaded_dbapi.Error as error:
            raise DBAPIError.instance(
                statement, (), error, dialect.loaded_dbapi.Error, dialect=dialect
            ) from error

    def _job_failed(
        self,
        session: Session | None,
        group: _Group,
        connection: Connection,
        error: BaseException,
    ) -> None:
        """Roll the job back to its savepoint; fail the whole group if that cannot be done."""
        intact = False
        try:
            if session is not None:
                _end_session(session, commit=False)
            driver = self._driver(connection)
            # Some errors (disk full, I/O) make SQLite roll the whole transaction back.
            if driver.in_transaction:
                driver.execute(_ROLLBACK)
                driver.execute(_RELEASE)
                intact = bool(driver.in_transaction)
        except Exception:
            _log.exception("a failed write transaction could not be rolled back to its savepoint")
        if intact:
            self._end_turn(group)
            return
        group.error = error
        self._discard_connection()
        self._group = None
        group.committed.set()
        self._turn.release()

    def _end_turn(self, group: _Group) -> None:
        """Let the next queued job join the group, or commit the group if none is queued."""
        with self._queue_lock:
            queued = self._queued
        if queued and group.jobs < self._max_jobs:
            self._turn.release()
            return
        connection = self._connection
        assert connection is not None
        try:
            self._on_driver(connection, "COMMIT" if group.jobs else "ROLLBACK")
        except BaseException as error:
            group.error = error
            self._discard_connection()
        finally:
            self._group = None
            group.committed.set()
            self._turn.release()

    @staticmethod
    def _driver(connection: Connection) -> Any:
        return connection.connection.driver_connection

    def _discard_connection(self) -> None:
        """Close the connection after a failure, rolling back what it still holds."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.invalidate()
            connection.close()
        except Exception:
            _log.exception("a failed write connection could not be closed")

    def close(self) -> None:
        """Close the connection, once no job is running."""
        with self._turn:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
