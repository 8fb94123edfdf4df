# SPDX-License-Identifier: Apache-2.0
"""Review of the event that carries its operation (issue 7): malformed events end in a catch-up
or a refusal, never in a crash or an operation shown unverified."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from sceau_core.operations import Operation
from sceau_device.authenticator import Authenticator, RefusedOperation
from tests.device.fake_server import FakeServer


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    flag = threading.Event()
    watchdog = threading.Timer(10, flag.set)
    watchdog.start()
    yield flag
    watchdog.cancel()


def _raw(data: object) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    return f"event: operation\ndata: {text}\n\n".encode()


def test_malformed_operation_events_are_read_again_or_refused_never_shown(
    server: FakeServer, device: Authenticator, stop: threading.Event
) -> None:
    genuine = server.add_operation()
    other = server.add_operation()
    signed_other = json.loads(server.signed_event(other.id).split(b"data: ", 1)[1])["signed"]
    script: list[object] = [
        _raw("not json"),
        _raw(["a", "list"]),
        _raw({"id": 7, "status": "pending"}),
        _raw({"id": genuine.id, "status": 3}),
        _raw({"id": genuine.id, "status": "pending"}),  # no signed operation: read the list
        _raw({"id": "op_forged", "status": "pending", "signed": "not an object"}),
        _raw({"id": "op_forged", "status": "pending", "signed": {"operation": {}, "x": 1}}),
        # A genuine signature, under another operation's id: read the list, show nothing new.
        _raw({"id": genuine.id, "status": "pending", "signed": signed_other}),
        lambda: stop.set(),
    ]
    server.event_scripts = [script]  # type: ignore[list-item]
    shown: list[str] = []
    refused: list[RefusedOperation] = []

    def on_operation(operation: Operation) -> None:
        shown.append(operation.id)

    device.listen(on_operation, stop=stop, on_refused=refused.append, initial_backoff=0.01)
    assert sorted(shown) == sorted([genuine.id, other.id])  # each once, from the pending list
    assert len(refused) == 1  # the two unreadable ones name no operation: reported once
    assert refused[0].operation_id is None
