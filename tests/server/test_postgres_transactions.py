# SPDX-License-Identifier: Apache-2.0
"""PostgreSQL transactions whose BEGIN travels with their first statement, and reads without one.

The server's PostgreSQL connections are in autocommit mode; a write transaction sends its
``BEGIN`` with its first statement (through the driver) or just before it (through
SQLAlchemy). Either way the transaction is one: nobody sees its rows before its COMMIT, and a
failure keeps none of them. A read opens no transaction at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from sceau_server.db import driver_rowcount, driver_rows
from sceau_server.storage.database import Database
from sceau_server.storage.models import SmsMessage
from tests.databases import POSTGRES_URL, postgres_databases

pytestmark = pytest.mark.skipif(POSTGRES_URL is None, reason="the test command starts PostgreSQL")

_INSERT = "INSERT INTO sms_outbox (phone, kind, message, created_at) VALUES (?, ?, ?, ?)"


class Failed(Exception):
    """The failure a test raises inside a transaction."""


@pytest.fixture
def database() -> Iterator[tuple[Database, psycopg.Connection[Any]]]:
    """A server database on a fresh PostgreSQL database, and an outside observer of its rows."""
    url = postgres_databases().create()
    db = Database(url, pool_size=2)
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    observer = psycopg.connect(conninfo, autocommit=True)
    try:
        yield db, observer
    finally:
        observer.close()
        db.dispose()
        postgres_databases().drop(url)


def _messages(observer: psycopg.Connection[Any]) -> list[str]:
    return [row[0] for row in observer.execute("SELECT message FROM sms_outbox ORDER BY id")]


def _driver_insert(session: Session, message: str) -> None:
    driver_rowcount(session, _INSERT, ("+33600000001", "k", message, 1))


def _orm_insert(session: Session, message: str) -> None:
    session.add(SmsMessage(phone="+33600000001", kind="k", message=message, created_at=1))
    session.flush()


@pytest.mark.parametrize("first", [_driver_insert, _orm_insert], ids=["driver", "orm"])
def test_a_write_shows_nothing_before_its_commit_and_keeps_nothing_when_it_fails(
    database: tuple[Database, psycopg.Connection[Any]], first: Any
) -> None:
    db, observer = database
    with db.write() as session:
        first(session, "l'un")
        _driver_insert(session, "l'autre")
        assert _messages(observer) == []
    assert _messages(observer) == ["l'un", "l'autre"]

    def fail() -> None:
        with db.write() as session:
            first(session, "perdu")
            assert _messages(observer) == ["l'un", "l'autre"]
            raise Failed

    with pytest.raises(Failed):
        fail()
    assert _messages(observer) == ["l'un", "l'autre"]


def test_a_failed_first_statement_fails_the_transaction_and_leaves_the_connection_usable(
    database: tuple[Database, psycopg.Connection[Any]],
) -> None:
    db, observer = database
    with pytest.raises(Exception, match="sms_outbox_nope"), db.write() as session:
        driver_rows(session, "SELECT 1 FROM sms_outbox_nope WHERE id = ?", (1,))
    for _ in range(3):  # every pooled connection
        with db.write() as session:
            _driver_insert(session, "après")
    assert _messages(observer) == ["après"] * 3


def test_values_bound_with_the_begin_arrive_intact(
    database: tuple[Database, psycopg.Connection[Any]],
) -> None:
    db, observer = database
    tricky = "l'apostrophe \\ ; COMMIT; -- é 𝄞 %s ?"
    with db.write() as session:
        _driver_insert(session, tricky)
        rows = driver_rows(session, "SELECT message FROM sms_outbox WHERE message = ?", (tricky,))
        assert rows == [(tricky,)]
    assert _messages(observer) == [tricky]


def test_a_read_opens_no_transaction(database: tuple[Database, psycopg.Connection[Any]]) -> None:
    db, observer = database
    with db.write() as session:
        _driver_insert(session, "lu")
    with db.read() as session:
        assert [m.message for m in session.scalars(select(SmsMessage))] == ["lu"]
        assert driver_rows(session, "SELECT message FROM sms_outbox", ()) == [("lu",)]
        states = observer.execute(
            "SELECT state FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        ).fetchall()
        assert states
        assert all(state == ("idle",) for state in states)


def test_a_first_statement_refused_before_it_is_sent_leaves_the_next_ones_in_the_transaction(
    database: tuple[Database, psycopg.Connection[Any]],
) -> None:
    db, observer = database

    def write() -> None:
        with db.write() as session:
            with pytest.raises(DBAPIError):
                driver_rowcount(session, _INSERT, ("+33600000001", "k", "nul\x00", 1))
            driver_rowcount(session, _INSERT, ("+33600000001", "k", "après", 1))
            assert _messages(observer) == []  # not committed yet
            raise Failed

    with pytest.raises(Failed):
        write()
    assert _messages(observer) == []
