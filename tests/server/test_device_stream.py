# SPDX-License-Identifier: Apache-2.0
"""A device's event stream: its events, and its subscription released when the device leaves.

The stream writes each event to the connection itself (``api.streams.EventStream``); a device
that closes its connection must not keep its place among the process's streams until the next
keep-alive finds the connection gone.
"""

from __future__ import annotations

import contextlib
import json

from tests.server.conftest import RelyingPartyClient, ServerHandle, wait_until
from tests.server.test_hardening import next_event, open_stream, transfer


def _streams(server: ServerHandle) -> int:
    count: int = server.ctx.notifier.listener_count("device:")
    return count


def test_a_stream_carries_the_signed_operation_and_ends_when_the_device_leaves(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    device = server.enrol(bank, "yves")
    with contextlib.ExitStack() as stack:
        response, lines = stack.enter_context(open_stream(stack, device))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        assert _streams(server) == 1
        created = transfer(bank, "yves")
        assert next_event(lines) == "operation"
        data = next(lines)
        assert data.startswith("data: ")
        event = json.loads(data.removeprefix("data: "))
        assert event["id"] == created["id"]
        assert "signed" in event
    # The connection is closed well before the next keep-alive: the process lets the stream go.
    wait_until(lambda: _streams(server) == 0, timeout=10)
    with contextlib.ExitStack() as stack:
        response, lines = stack.enter_context(open_stream(stack, device))
        assert response.status_code == 200
        assert _streams(server) == 1
