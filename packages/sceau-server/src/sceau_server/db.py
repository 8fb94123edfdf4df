# SPDX-License-Identifier: Apache-2.0
"""The SQLAlchemy declarative base shared by every table of the server, and its driver path."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session

_DRIVER = "sceau.driver"
_PINNED = "sceau.connection"
_CLIENT_CURSOR = "sceau.client_cursor"

BEGIN_PENDING = "sceau.begin_pending"
"""Key of a PostgreSQL connection's ``info``: its transaction has begun for SQLAlchemy, but the
``BEGIN`` waits to travel with the transaction's first statement (the connection is in
autocommit mode: see ``storage.database``)."""

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every table; constraint names are stable across SQLite and PostgreSQL."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def pin_connection(session: Session, connection: Connection) -> None:
    """Tell the driver path that ``session`` runs on ``connection``, already in its transaction.

    The transactions of :class:`~sceau_server.storage.database.Database` are opened on a
    connection first and join a session to it, which begins only if some code asks it for
    something: a transaction whose statements all go through the driver never begins one. Its
    statements share one driver cursor (creating a psycopg cursor costs more than using one).
    """
    session.info[_PINNED] = [
        connection.connection.driver_connection,
        connection.dialect,
        None,
        connection.connection.info,
    ]


def unpin_connection(session: Session) -> None:
    """Close the shared cursor of a session given to :func:`pin_connection`."""
    pinned = session.info.pop(_PINNED, None)
    if pinned is not None and pinned[2] is not None:
        pinned[2].close()


def driver_cursor(
    session: Session, sql: str, parameters: tuple[Any, ...], *, for_update: bool = False
) -> Any:
    """A driver cursor that ran one statement (``?`` placeholders) in the session's transaction.

    Hot-path statements go straight through the driver: a few microseconds of CPU there against
    a few hundred through the ORM. The session's pending changes are flushed first, as an ORM
    query would; the statement bypasses the identity map, so it returns plain values and must not
    change a row that the session holds as an object. ``for_update`` locks the rows it selects
    (``FOR UPDATE`` on PostgreSQL; a SQLite write transaction already excludes other writers).
    Close the cursor after use. Driver errors
    are raised as SQLAlchemy's (``IntegrityError``, ``OperationalError``…), as through the ORM.
    """
    session.flush()  # returns at once when the session holds no change
    driver, dialect, info = _driver(session)
    if dialect.name == "postgresql" and info.get(BEGIN_PENDING):
        return _BorrowedCursor(_begin_with(driver, dialect, sql, parameters, for_update, info))
    cursor = driver.cursor()
    try:
        _execute(cursor, dialect, sql, parameters, for_update)
    except BaseException:
        cursor.close()
        raise
    return cursor


class _BorrowedCursor:
    """A connection's kept cursor, lent for one statement: closing it only gives it back."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def close(self) -> None:
        """Nothing to release: the cursor stays with its connection."""


def _execute(
    cursor: Any, dialect: Dialect, sql: str, parameters: tuple[Any, ...], for_update: bool
) -> None:
    if dialect.name == "postgresql":
        sql = _postgres_sql(sql, for_update)
    try:
        cursor.execute(sql, parameters)
    except dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(
            sql, parameters, error, dialect.loaded_dbapi.Error, dialect=dialect
        ) from error


def _begin_with(
    driver: Any,
    dialect: Dialect,
    sql: str,
    parameters: tuple[Any, ...],
    for_update: bool,
    info: dict[Any, Any],
) -> Any:
    """Send ``BEGIN`` and a transaction's first statement in one round trip (PostgreSQL).

    Two statements travel together only in the simple query protocol, so the values are bound
    on the client (psycopg's literal quoting); the cursor is positioned on the statement's
    result. If the statement fails on the server, the transaction is left aborted and the
    caller rolls it back, as after any failed statement; if it is refused before it leaves (a
    value psycopg cannot bind), the ``BEGIN`` stays pending for the transaction's next statement.
    """
    del info[BEGIN_PENDING]
    sql = _postgres_sql(sql, for_update)
    cursor = info.get(_CLIENT_CURSOR)
    if cursor is None or cursor.connection is not driver:
        cursor = info[_CLIENT_CURSOR] = psycopg.ClientCursor(driver)
    try:
        cursor.execute("BEGIN;" + sql, parameters)
        cursor.nextset()
    except dialect.loaded_dbapi.Error as error:
        if driver.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            # Refused on the client (binding), the BEGIN never left: the next statement takes it.
            info[BEGIN_PENDING] = True
        raise DBAPIError.instance(
            sql, parameters, error, dialect.loaded_dbapi.Error, dialect=dialect
        ) from error
    return cursor


@contextmanager
def _statement(
    session: Session, sql: str, parameters: tuple[Any, ...], for_update: bool
) -> Iterator[Any]:
    """A cursor that ran one statement: the shared one of a pinned session, else its own."""
    session.flush()  # returns at once when the session holds no change
    pinned = session.info.get(_PINNED)
    if pinned is None:
        cursor = driver_cursor(session, sql, parameters, for_update=for_update)
        try:
            yield cursor
        finally:
            cursor.close()
        return
    if pinned[3].get(BEGIN_PENDING) and pinned[1].name == "postgresql":
        yield _begin_with(pinned[0], pinned[1], sql, parameters, for_update, pinned[3])
        return
    if pinned[2] is None:
        pinned[2] = pinned[0].cursor()
    _execute(pinned[2], pinned[1], sql, parameters, for_update)
    yield pinned[2]


@functools.lru_cache(maxsize=512)
def _postgres_sql(sql: str, for_update: bool) -> str:
    """``sql`` with psycopg's placeholders (the hot path's statements are a few constants)."""
    sql = sql.replace("?", "%s")
    return sql + " FOR UPDATE" if for_update else sql


def _driver(session: Session) -> tuple[Any, Dialect, dict[Any, Any]]:
    """The driver connection of the session's transaction, and its dialect.

    Kept in the session for the transaction: asking the session each time costs more than the
    statement.
    """
    pinned = session.info.get(_PINNED)
    if pinned is not None:
        return pinned[0], pinned[1], pinned[3]
    transaction = session.get_transaction()
    cached = session.info.get(_DRIVER)
    if (
        cached is not None
        and transaction is not None
        and cached[0] is transaction
        and transaction.is_active
    ):
        return cached[1], cached[2], cached[3]
    connection = session.connection()
    driver = connection.connection.driver_connection
    info = connection.connection.info
    session.info[_DRIVER] = (session.get_transaction(), driver, connection.dialect, info)
    return driver, connection.dialect, info


def is_postgresql(session: Session) -> bool:
    """Whether the session's transaction runs on PostgreSQL."""
    pinned = session.info.get(_PINNED)
    dialect: Dialect = pinned[1] if pinned is not None else session.get_bind().dialect
    return dialect.name == "postgresql"


def driver_rowcount(session: Session, sql: str, parameters: tuple[Any, ...]) -> int:
    """Run one statement through the driver (see :func:`driver_cursor`); its row count."""
    with _statement(session, sql, parameters, False) as cursor:
        count: int = cursor.rowcount
        return count


def driver_rows(
    session: Session, sql: str, parameters: tuple[Any, ...], *, for_update: bool = False
) -> list[Any]:
    """Run one statement through the driver (see :func:`driver_cursor`); every row it returns."""
    with _statement(session, sql, parameters, for_update) as cursor:
        return list(cursor.fetchall())
