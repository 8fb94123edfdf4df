# SPDX-License-Identifier: Apache-2.0
"""The PostgreSQL round trips of each request of a validation, pinned.

Each round trip is a wait of the server for PostgreSQL: on this machine it costs more than the
statement it carries (both processes wake up). The server's pooled connections are traced with
libpq's own protocol trace while the test drives a card payment over HTTP: the RP creates the
operation, the device evaluates its code and sends its decision, the RP reads the result. The
counts are pinned with ``==``: a change that adds a round trip fails here, and one that removes
one updates this test on purpose.

A round trip ends at each ``Sync`` (extended protocol) or ``Query`` (simple protocol) the
client sends. psycopg prepares a statement on its fifth execution on a connection in a round trip
of its own (``Parse`` alone), once per connection and statement: those are left out, so the
counts do not depend on which pooled connection served a request.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from psycopg.pq import Trace
from sqlalchemy import event

from sceau_server.api import deps
from tests.databases import POSTGRES_URL
from tests.server.conftest import RelyingPartyClient, ServerHandle, wait_until
from tests.server.device_double import TestDevice
from tests.server.test_flows import OPERATIONS

pytestmark = pytest.mark.skipif(POSTGRES_URL is None, reason="the test command starts PostgreSQL")

# Today's counts (card payment, knowledge + possession). Change them only with the change that
# moves them, and say so in docs/performance.md.
PINNED = {"create": 5, "evaluate": 5, "decision": 8, "read": 1}


class RoundTrips:
    """Traces every connection the server checks out of its pool; counts their round trips."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self._done: list[list[str]] = []
        self._traced: dict[int, int] = {}
        self._recording = False

    def checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        # Registered after the engine's own checkout listener: its liveness ping is not traced.
        if not self._recording:
            return
        fd, path = tempfile.mkstemp(prefix="sceau-trace-")
        os.unlink(path)
        pgconn = dbapi_connection.pgconn
        pgconn.trace(fd)
        pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
        self._traced[id(dbapi_connection)] = fd

    def checkin(self, dbapi_connection: Any, _record: Any) -> None:
        fd = self._traced.pop(id(dbapi_connection), None)
        if fd is None:
            return
        dbapi_connection.pgconn.untrace()  # flushes the trace
        os.lseek(fd, 0, os.SEEK_SET)
        with os.fdopen(fd, encoding="utf-8", errors="replace") as trace:
            text = trace.read()
        with self._lock:
            self._done.append(_round_trips(text))

    def start(self) -> None:
        """Count from now on (once the pool rests: nothing before is counted)."""
        wait_until(lambda: self._pool.checkedout() == 0)
        with self._lock:
            self._done = []
        self._recording = True

    def stop(self, response: httpx.Response) -> list[str]:
        """The round trips since :meth:`start`, once ``response`` answered and the pool rests
        (what a request does after its answer is its own too)."""
        assert response.status_code in (200, 201), response.text
        wait_until(lambda: self._pool.checkedout() == 0)
        self._recording = False
        with self._lock:
            return [trip for trips in self._done for trip in trips]


def _round_trips(trace: str) -> list[str]:
    """Each round trip of a traced connection, as the statements it carried."""
    trips: list[str] = []
    sent: list[tuple[str, str]] = []
    for line in trace.splitlines():
        fields = line.split("\t")
        if len(fields) < 3 or fields[0] != "F":
            continue
        message = fields[2]
        detail = fields[3].strip().removeprefix('"" ') if len(fields) > 3 else ""
        if message == "Query":
            trips.append(detail[:120])
            sent = []
        elif message == "Sync":
            if any(kind == "Execute" for kind, _ in sent):
                parsed = [text for kind, text in sent if kind == "Parse"]
                trips.append(parsed[0][:120] if parsed else "(a prepared statement)")
            sent = []
        else:
            sent.append((message, detail))
    return trips


@pytest.fixture
def traced(make_server: Callable[..., ServerHandle]) -> Iterator[tuple[ServerHandle, RoundTrips]]:
    """A PostgreSQL server without background work in the way, its pool traced."""
    server = make_server(sweep_interval=3600.0, webhook_interval=3600.0)
    engine = server.ctx.db.engine
    trips = RoundTrips(engine.pool)
    event.listen(engine, "checkout", trips.checkout)
    event.listen(engine, "checkin", trips.checkin)
    try:
        yield server, trips
    finally:
        event.remove(engine, "checkout", trips.checkout)
        event.remove(engine, "checkin", trips.checkin)


def _validation(
    trips: RoundTrips, bank: RelyingPartyClient, device: TestDevice
) -> dict[str, list[str]]:
    """One card payment, approved with the code; the round trips of each of its requests."""
    counted: dict[str, list[str]] = {}
    trips.start()
    created = bank.create_operation(
        user="client-aller-retour", type="card_payment", data=OPERATIONS["card_payment"]
    )
    counted["create"] = trips.stop(created)
    operation_id = created.json()["id"]
    operation = device.operation(operation_id)
    trips.start()
    evaluated, knowledge_key = device.evaluate(operation_id, "4826")
    counted["evaluate"] = trips.stop(evaluated)
    signed = device.sign(operation, knowledge_key=knowledge_key, counter=device.next_counter())
    trips.start()
    decided = device.send(device.decision_call(operation_id, signed))
    counted["decision"] = trips.stop(decided)
    trips.start()
    read = bank.http.get(f"/v1/operations/{operation_id}")
    counted["read"] = trips.stop(read)
    assert read.json()["status"] == "approved"
    return counted


@pytest.mark.parametrize("backend", ["postgresql"])
def test_each_request_of_a_card_payment_takes_its_pinned_round_trips(
    traced: tuple[ServerHandle, RoundTrips], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, trips = traced
    # The RP key's row is read once per RP_CACHE_SECONDS: the counts pinned are those of a
    # key found in memory, however long a loaded machine takes between two requests.
    monkeypatch.setattr(deps, "RP_CACHE_SECONDS", 3600.0)
    bank = server.relying_party()
    device = server.enrol(bank, "client-aller-retour")
    validations = [_validation(trips, bank, device) for _ in range(3)]

    # The first validation may read what later ones find cached; from the second on, each
    # request takes as many round trips.
    counts = [{name: len(trips) for name, trips in v.items()} for v in validations]
    assert counts[1] == counts[2]
    assert counts[2] == PINNED, "\n".join(
        f"{name}: {len(statements)}\n  " + "\n  ".join(statements)
        for name, statements in validations[2].items()
    )
