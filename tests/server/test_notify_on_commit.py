# SPDX-License-Identifier: Apache-2.0
"""A transaction's notifications on PostgreSQL travel with its COMMIT, and only if it commits.

The server's engine sends the ``pg_notify`` calls of a write transaction in the COMMIT's round
trip. These tests listen through a real :class:`PostgresNotifier` on a real PostgreSQL server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from sceau_server.services.notifier import PostgresNotifier
from sceau_server.storage.database import Database
from tests.databases import POSTGRES_URL, postgres_databases

pytestmark = pytest.mark.skipif(POSTGRES_URL is None, reason="the test command starts PostgreSQL")

WAIT = 30.0  # Only bounds a failing test; no assertion depends on it.


@pytest.fixture
def node() -> Iterator[tuple[Database, PostgresNotifier]]:
    url = postgres_databases().create()
    database = Database(url, pool_size=1)  # Every transaction on the same connection.
    notifier = PostgresNotifier(url)
    notifier.start()
    with database.write() as session:
        session.execute(text("CREATE TABLE kept (v text)"))
    try:
        yield database, notifier
    finally:
        notifier.close()
        database.dispose()
        postgres_databases().drop(url)


def kept(database: Database) -> list[str]:
    with database.read() as session:
        return [row[0] for row in session.execute(text("SELECT v FROM kept ORDER BY v"))]


def write(
    database: Database, notifier: PostgresNotifier, value: str, notes: list[tuple[str, str]]
) -> None:
    with database.write() as session:
        session.execute(text("INSERT INTO kept VALUES (:v)"), {"v": value})
        notifier.publish_in_transaction(session, notes)


def test_notes_arrive_with_the_commit_intact_and_once(
    node: tuple[Database, PostgresNotifier],
) -> None:
    database, notifier = node
    odd = 'l\'opération \\ « 500,00 € » "x"\n𝄞'

    async def scenario() -> list[str | None]:
        async with notifier.subscribe("device:a") as device:
            await asyncio.to_thread(
                write,
                database,
                notifier,
                "one",
                [("device:a", odd), ("device:a", "second"), ("device:a", odd)],
            )
            return [await device.get(WAIT), await device.get(WAIT)]

    assert asyncio.run(scenario()) == [odd, "second"]  # Repeated notes are sent once.
    assert kept(database) == ["one"]


def test_a_rolled_back_transaction_sends_nothing(node: tuple[Database, PostgresNotifier]) -> None:
    database, notifier = node

    def failing() -> None:
        with database.write() as session:
            session.execute(text("INSERT INTO kept VALUES ('lost')"))
            notifier.publish_in_transaction(session, [("device:a", "never")])
            raise RuntimeError("the work fails after queuing its note")

    def rolled_back() -> None:
        with pytest.raises(RuntimeError):
            failing()

    async def scenario() -> str | None:
        async with notifier.subscribe("device:a") as device:
            await asyncio.to_thread(rolled_back)
            # The next transaction reuses the connection: it sends its own note only.
            await asyncio.to_thread(write, database, notifier, "next", [("device:a", "next")])
            return await device.get(WAIT)

    assert asyncio.run(scenario()) == "next"
    assert kept(database) == ["next"]


def test_a_note_the_database_refuses_fails_the_commit(
    node: tuple[Database, PostgresNotifier],
) -> None:
    database, notifier = node
    too_long = "x" * 9000  # PostgreSQL refuses payloads of 8000 bytes or more.

    async def scenario() -> str | None:
        async with notifier.subscribe("device:a") as device:
            with pytest.raises(DBAPIError):
                await asyncio.to_thread(
                    write, database, notifier, "refused", [("device:a", too_long)]
                )
            await asyncio.to_thread(write, database, notifier, "after", [("device:a", "after")])
            return await device.get(WAIT)

    assert asyncio.run(scenario()) == "after"
    assert kept(database) == ["after"]  # Nothing of the refused transaction was committed.
