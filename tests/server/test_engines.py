# SPDX-License-Identifier: Apache-2.0
"""The same schema and the same behaviour on SQLite and PostgreSQL (brief: storage)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError

from sceau_server.db import Base
from sceau_server.storage.database import Database
from sceau_server.storage.models import SmsMessage
from tests.databases import BACKENDS, POSTGRES_URL, postgres_databases
from tests.server.conftest import RelyingPartyClient, ServerHandle

COUNTER_BEYOND_32_BITS = 2**40


@pytest.mark.skipif(POSTGRES_URL is None, reason="the test command starts PostgreSQL")
def test_migrations_match_the_models_on_postgresql() -> None:
    url = postgres_databases().create()
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
        postgres_databases().drop(url)
    assert differences == [], "the migrations and the models differ on PostgreSQL"


def _count_users(database: Database) -> int:
    with database.read() as session:
        return int(session.execute(text("SELECT count(*) FROM users")).scalar_one())


def _terminate_other_backends(url: str) -> None:
    """What a PostgreSQL restart does to the pooled connections of a node: closes them."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        engine.dispose()


@pytest.mark.skipif(POSTGRES_URL is None, reason="the test command starts PostgreSQL")
def test_pooled_connections_closed_by_the_server_are_replaced_after_a_rest() -> None:
    url = postgres_databases().create()
    rested = Database(url, pool_size=2, ping_after_idle=0)
    never_rested = Database(url, pool_size=2, ping_after_idle=3600)
    try:
        assert _count_users(rested) == _count_users(never_rested) == 0
        _terminate_other_backends(url)
        assert _count_users(rested) == 0  # Pinged on checkout, found dead, replaced.
        # Without the ping, only the in-flight transaction fails; the pool is renewed after it.
        with pytest.raises(OperationalError):
            _count_users(never_rested)
        assert _count_users(never_rested) == 0
    finally:
        rested.dispose()
        never_rested.dispose()
        postgres_databases().drop(url)


def test_counters_and_times_beyond_32_bits(server: ServerHandle, bank: RelyingPartyClient) -> None:
    """A device counter may reach 2**53 - 1 (docs/protocol.md): both engines store it."""
    device = server.enrol(bank, "counter-client")
    device.counter = COUNTER_BEYOND_32_BITS
    response = device.call("GET", "/v1/device/status")
    assert response.status_code == 200, response.text
    assert response.json()["counter"] == COUNTER_BEYOND_32_BITS + 1
    created = bank.create_operation(user="counter-client", type="login", data={})
    assert created.status_code == 201, created.text
    operation = created.json()
    approved = device.approve(operation["id"], match=operation["match"])
    assert approved.status_code == 200, approved.text
    (counter,) = server.rows(
        "SELECT counter FROM attempts WHERE operation_id = :id", id=operation["id"]
    )[0]
    assert counter > COUNTER_BEYOND_32_BITS


@pytest.mark.parametrize("backend", BACKENDS)
def test_objects_read_or_written_keep_their_values_once_the_transaction_ends(
    backend: str, tmp_path: Path
) -> None:
    # The demo's SMS page reads the outbox in a read transaction and uses the rows after it.
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'objects.db'}"
        Base.metadata.create_all(create_engine(url))
    else:
        url = postgres_databases().create()
    database = Database(url)
    try:
        with database.write() as session:
            written = SmsMessage(phone="+33600000001", kind="k", message="écrit", created_at=1)
            session.add(written)
        with database.read() as session:
            found = session.scalars(select(SmsMessage)).one()
        with database.write() as session:
            changed = session.scalars(select(SmsMessage)).one()
            changed.message = "changé"
        assert (written.message, found.message, changed.message) == ("écrit", "écrit", "changé")
    finally:
        database.dispose()
