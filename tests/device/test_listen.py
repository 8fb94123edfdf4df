# SPDX-License-Identifier: Apache-2.0
"""Listening: server-sent events, reconnection with backoff, catch-up, nothing unverified shown."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sceau_core.operations import Operation
from sceau_device.authenticator import Authenticator, RefusedOperation
from sceau_device.errors import DeviceError, DeviceRevoked
from tests.device.fake_server import FakeServer, event


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    """A stop event that a watchdog sets after 10 s, so a bug cannot hang the suite."""
    flag = threading.Event()
    watchdog = threading.Timer(10, flag.set)
    watchdog.start()
    yield flag
    watchdog.cancel()


def test_events_reconnection_and_catch_up(
    server: FakeServer, device: Authenticator, stop: threading.Event
) -> None:
    first = server.add_operation()
    second: list[Operation] = []
    missed: list[Operation] = []
    server.event_scripts = [
        [
            lambda: second.append(server.add_operation()),
            lambda: event(second[0].id),
            # The connection drops; meanwhile an operation is created, its event is lost.
            lambda: missed.append(server.add_operation()),
            httpx.ReadError("connection reset"),
        ],
        [],
    ]
    received: list[str] = []
    disconnects: list[tuple[DeviceError, float]] = []

    def on_operation(operation: Operation) -> None:
        received.append(operation.id)
        if len(received) == 3:
            stop.set()

    device.listen(
        on_operation,
        stop=stop,
        on_disconnect=lambda error, delay: disconnects.append((error, delay)),
        initial_backoff=0.01,
    )
    assert received == [first.id, second[0].id, missed[0].id]
    assert len(disconnects) == 1
    assert disconnects[0][1] <= 0.01


def test_a_tampered_operation_is_reported_never_shown(
    server: FakeServer, device: Authenticator, stop: threading.Event
) -> None:
    genuine = server.add_operation()
    forged = server.add_operation()

    def resign(signed: dict[str, Any]) -> dict[str, Any]:
        if signed["operation"]["id"] == forged.id:
            signed["operation"]["display"][1] = "Montant : 1,00 €"
        return signed

    server.tamper = resign
    server.event_scripts = [[event(forged.id), event(genuine.id)]]
    shown: list[str] = []
    refused: list[RefusedOperation] = []

    def on_operation(operation: Operation) -> None:
        shown.append(operation.id)

    def on_refused(item: RefusedOperation) -> None:
        refused.append(item)
        stop.set()

    device.listen(on_operation, stop=stop, on_refused=on_refused, initial_backoff=0.01)
    assert shown == [genuine.id]
    assert [item.operation_id for item in refused] == [forged.id]


def test_gone_operations_are_reported(
    server: FakeServer, device: Authenticator, stop: threading.Event
) -> None:
    operation = server.add_operation()

    def decide_elsewhere() -> None:
        server.final[operation.id] = "cancelled"

    server.event_scripts = [[event(operation.id)]]
    server.event_scripts[0].insert(0, decide_elsewhere)
    gone: list[str] = []

    def on_gone(operation_id: str) -> None:
        gone.append(operation_id)
        stop.set()

    device.listen(lambda _op: None, stop=stop, on_gone=on_gone, initial_backoff=0.01)
    assert gone == [operation.id]


def test_an_event_carrying_its_signed_operation_is_shown_without_a_request(
    server: FakeServer, device: Authenticator, stop: threading.Event
) -> None:
    announced: list[Operation] = []
    server.event_scripts = [
        [
            lambda: announced.append(server.add_operation()),
            lambda: server.signed_event(announced[0].id),
        ]
    ]
    shown: list[str] = []

    def on_operation(operation: Operation) -> None:
        shown.append(operation.id)
        stop.set()

    device.listen(on_operation, stop=stop, initial_backoff=0.01)
    assert shown == [announced[0].id]
    assert len(server.requests_to("/v1/device/operations")) == 1  # the catch-up on connecting


def test_an_event_carrying_a_tampered_operation_is_refused_never_shown(
    server: FakeServer, device: Authenticator, stop: threading.Event
) -> None:
    forged: list[Operation] = []

    def resign(signed: dict[str, Any]) -> dict[str, Any]:
        signed["operation"]["display"][1] = "Montant : 1,00 €"
        return signed

    def forge() -> bytes:
        server.tamper = resign
        return server.signed_event(forged[0].id)

    server.event_scripts = [[lambda: forged.append(server.add_operation()), forge]]
    shown: list[str] = []
    refused: list[RefusedOperation] = []

    def on_refused(item: RefusedOperation) -> None:
        refused.append(item)
        stop.set()

    device.listen(
        lambda operation: shown.append(operation.id),
        stop=stop,
        on_refused=on_refused,
        initial_backoff=0.01,
    )
    assert shown == []
    assert [item.operation_id for item in refused] == [forged[0].id]


def test_an_event_carrying_an_end_reports_the_operation_gone_without_a_request(
    server: FakeServer, device: Authenticator, stop: threading.Event
) -> None:
    operation = server.add_operation()
    server.event_scripts = [[event(operation.id, "approved")]]
    gone: list[str] = []

    def on_gone(operation_id: str) -> None:
        gone.append(operation_id)
        stop.set()

    device.listen(lambda _op: None, stop=stop, on_gone=on_gone, initial_backoff=0.01)
    assert gone == [operation.id]
    assert len(server.requests_to("/v1/device/operations")) == 1


def test_a_revoked_event_ends_listening(server: FakeServer, device: Authenticator) -> None:
    server.event_scripts = [[b"event: revoked\ndata: {}\n\n"]]
    with pytest.raises(DeviceRevoked) as caught:
        device.listen(lambda _op: None, initial_backoff=0.01)
    assert "n’est plus actif" in caught.value.message("fr")


def test_backoff_grows_when_the_server_keeps_failing(
    server: FakeServer, device: Authenticator, stop: threading.Event
) -> None:
    def unavailable(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/events"):
            raise httpx.ConnectError("refused")
        return None

    server.before.append(unavailable)
    delays: list[float] = []

    def on_disconnect(_error: DeviceError, delay: float) -> None:
        delays.append(delay)
        if len(delays) == 5:
            stop.set()

    device.listen(
        lambda _op: None,
        stop=stop,
        on_disconnect=on_disconnect,
        initial_backoff=0.001,
        max_backoff=0.004,
    )
    bounds = [0.001, 0.002, 0.004, 0.004, 0.004]
    assert all(bound / 2 <= delay <= bound for delay, bound in zip(delays, bounds, strict=True))
