# SPDX-License-Identifier: Apache-2.0
"""PostgreSQL write transactions whose BEGIN travels with their first statement: the paths where
that statement does not reach the server, and what then becomes of the transaction's next ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from sceau_server.db import driver_rowcount
from sceau_server.storage.database import Database
from tests.databases import POSTGRES_URL, postgres_databases

pytestmark = pytest.mark.skipif(POSTGRES_URL is None, reason="the test command starts PostgreSQL")

_INSERT = "INSERT INTO sms_outbox (phone, kind, message, created_at) VALUES (?, ?, ?, ?)"


class Failed(Exception):
    """The failure a test raises inside a transaction."""


@pytest.fixture
def database() -> Iterator[tuple[Database, psycopg.Connection[Any]]]:
    """A server database on a fresh PostgreSQL database, and an outside observer of its rows."""
    url = postgres_databases().create()
    db = Database(url, pool_size=1)
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
