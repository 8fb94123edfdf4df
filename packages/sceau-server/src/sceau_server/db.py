# SPDX-License-Identifier: Apache-2.0
"""The SQLAlchemy declarative base shared by every table of the server, and its driver path."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session

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
    session.flush()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
        if for_update:
            sql += " FOR UPDATE"
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    dialect = connection.dialect
    try:
        cursor.execute(sql, parameters)
    except dialect.loaded_dbapi.Error as error:
        cursor.close()
        raise DBAPIError.instance(
            sql, parameters, error, dialect.loaded_dbapi.Error, dialect=dialect
        ) from error
    except BaseException:
        cursor.close()
        raise
    return cursor


def driver_rowcount(session: Session, sql: str, parameters: tuple[Any, ...]) -> int:
    """Run one statement through the driver (see :func:`driver_cursor`); its row count."""
    cursor = driver_cursor(session, sql, parameters)
    try:
        count: int = cursor.rowcount
        return count
    finally:
        cursor.close()


def driver_rows(
    session: Session, sql: str, parameters: tuple[Any, ...], *, for_update: bool = False
) -> list[Any]:
    """Run one statement through the driver (see :func:`driver_cursor`); every row it returns."""
    cursor = driver_cursor(session, sql, parameters, for_update=for_update)
    try:
        return list(cursor.fetchall())
    finally:
        cursor.close()
