# SPDX-License-Identifier: Apache-2.0
"""The relying party's read of an operation, served on the event loop on SQLite.

On SQLite ``GET /v1/operations/{id}`` reads in WAL mode on the event loop itself, without a
worker-thread hand-off: a reader never waits for the writer. It must still answer the last
committed state, never a write in progress, and an operation whose time is up is still
finalized (a write, in a worker thread) before it is answered.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import pytest

from tests.server.conftest import ServerHandle


@pytest.fixture
def backend() -> str:
    return "sqlite"


def _database(server: ServerHandle) -> str:
    url = server.settings.database_url
    assert url.startswith("sqlite:///")
    return url.removeprefix("sqlite:///")


def test_a_read_answers_the_last_committed_state_while_a_write_is_open(
    make_server: Any,
) -> None:
    server: ServerHandle = make_server(sweep_interval=3600)
    bank = server.relying_party()
    device = server.enrol(bank, "alice")
    created = bank.create_operation(user="alice", type="login", data={})
    assert created.status_code == 201, created.text
    operation = created.json()
    path = f"/v1/operations/{operation['id']}"

    writer = sqlite3.connect(_database(server), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE operations SET status = 'rejected' WHERE id = ?", (operation["id"],))
        # The database's write lock is held and the change is not committed: the read neither
        # waits for it nor sees it.
        during = bank.http.get(path)
        assert during.status_code == 200, during.text
        assert during.json() == operation
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    approved = device.approve(operation["id"], match=operation["match"])
    assert approved.status_code == 200, approved.text
    # The approval was answered after its COMMIT: the next read sees it.
    final = bank.http.get(path)
    assert final.status_code == 200
    assert final.json()["status"] == "approved"
    assert server.verify_result(final.json()).status == "approved"
    assert bank.http.get("/v1/operations/op_unknown").status_code == 404


def test_a_read_after_the_operation_expired_finalizes_it_first(make_server: Any) -> None:
    server: ServerHandle = make_server(sweep_interval=3600)
    bank = server.relying_party()
    server.enrol(bank, "bob")
    operation = bank.create_operation(user="bob", type="login", data={}).json()

    server.ctx.clock = lambda: operation["expires_at"] + 1.0
    try:
        read = bank.http.get(f"/v1/operations/{operation['id']}")
    finally:
        server.ctx.clock = time.time
    assert read.status_code == 200, read.text
    assert read.json()["status"] == "expired"
    (row,) = server.rows("SELECT status FROM operations WHERE id = :id", id=operation["id"])
    assert row.status == "expired"
    assert server.verify_result(read.json()).status == "expired"
