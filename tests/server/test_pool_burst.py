# SPDX-License-Identifier: Apache-2.0
"""A burst of hot requests never waits for a PostgreSQL connection (issue 7, overload safety).

The hot requests run on threads of their own besides anyio's; each may hold a pooled
connection. There are never more of them than the pool can give: here the pool is told never to
wait (a checkout finding no connection fails at once), so a burst far larger than the threads
that serve it is answered in full only if no thread ever asked for a connection the pool did not
have.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.databases import POSTGRES_URL
from tests.server.conftest import ServerHandle

BURST = 64
POOL_SIZE = 2


@pytest.mark.skipif(POSTGRES_URL is None, reason="the test command starts PostgreSQL")
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_burst_larger_than_the_pool_is_served_without_waiting_for_a_connection(
    make_server: Callable[..., ServerHandle],
) -> None:
    server = make_server(db_pool_size=POOL_SIZE, operations_per_minute=1000)
    bank = server.relying_party()
    server.enrol(bank, "burst")
    created = bank.create_operation(user="burst", type="login", data={})
    assert created.status_code == 201, created.text
    operation_id = created.json()["id"]
    server.ctx.db.engine.pool._timeout = 0  # type: ignore[attr-defined]

    def read(_: int) -> int:
        return bank.http.get(f"/v1/operations/{operation_id}").status_code

    def create(_: int) -> int:
        return bank.create_operation(user="burst", type="login", data={}).status_code

    with ThreadPoolExecutor(BURST) as clients:
        reads = list(clients.map(read, range(BURST)))
        creations = list(clients.map(create, range(BURST // 4)))

    assert reads == [200] * BURST
    assert creations == [201] * (BURST // 4)
