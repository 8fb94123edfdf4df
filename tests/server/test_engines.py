# SPDX-License-Identifier: Apache-2.0
"""The same schema and the same behaviour on SQLite and PostgreSQL (brief: storage)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from sceau_server.db import Base
from tests.databases import POSTGRES_URL, postgres_databases
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
