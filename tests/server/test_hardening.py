# SPDX-License-Identifier: Apache-2.0
"""The findings of the adversarial review of the server, each closed over real HTTP.

Each test drives a real server (uvicorn, real SQLite file or PostgreSQL) as a relying party
and as a device would, and checks what they would see: answers, SMS, audit entries, rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx

from tests.server.conftest import RelyingPartyClient, ServerHandle
from tests.server.device_double import TestDevice

TRANSFER = {
    "amount": {"value": "1234.56", "currency": "EUR"},
    "payee_name": "Jean Dupont",
    "payee_iban": "FR7630006000011234567890189",
}


def transfer(bank: RelyingPartyClient, user: str, **extra: Any) -> dict[str, Any]:
    response = bank.create_operation(user=user, type="transfer", data=TRANSFER, **extra)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:sceau:problem:{kind}"
    assert "Traceback" not in response.text
    return body


def events(server: ServerHandle) -> list[str]:
    return [row.event for row in server.rows("SELECT event FROM audit_entries ORDER BY seq")]


# --- 1. event streams per device and per process ------------------------------------------------


@contextlib.contextmanager
def open_stream(
    stack: contextlib.ExitStack, device: TestDevice
) -> Iterator[tuple[httpx.Response, Iterator[str]]]:
    call = device.prepare("GET", "/v1/device/events")
    client = stack.enter_context(httpx.Client(timeout=20))
    response = stack.enter_context(
        client.stream("GET", device.base_url + call.path, headers=call.headers)
    )
    lines = response.iter_lines()
    if response.status_code == 200:
        assert next(lines) == ": connected"
    yield response, lines


def next_event(lines: Iterator[str]) -> str:
    for line in lines:
        if line.startswith("event: "):
            return line.removeprefix("event: ")
    return "closed"


def test_a_device_keeps_only_its_newest_event_streams(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """Five streams opened by one device: the three oldest are told they were replaced and
    end; only the two newest are fed the next operation."""
    device = server.enrol(bank, "xena")
    with contextlib.ExitStack() as stack:
        streams = [stack.enter_context(open_stream(stack, device)) for _ in range(5)]
        assert all(response.status_code == 200 for response, _ in streams)
        created = transfer(bank, "xena")
        for _, lines in streams[:3]:
            assert next_event(lines) == "replaced"
            assert next_event(lines) == "closed"
        for _, lines in streams[3:]:
            assert next_event(lines) == "operation"
            assert created["id"] in next(lines)


def test_the_process_cap_on_event_streams_is_a_429_problem(make_server: Any) -> None:
    """At the process cap a new stream is refused with 429 problem+json and Retry-After; the
    streams already open keep working."""
    server = make_server(max_streams=2)
    bank = server.relying_party()
    first = server.enrol(bank, "ada")
    second = server.enrol(bank, "bob")
    with contextlib.ExitStack() as stack:
        held = [stack.enter_context(open_stream(stack, first)) for _ in range(2)]
        refused, _ = stack.enter_context(open_stream(stack, second))
        refused.read()
        problem(refused, 429, "rate-limited")
        assert refused.headers["retry-after"]
        created = transfer(bank, "ada")
        for _, lines in held:
            assert next_event(lines) == "operation"
            assert created["id"] in next(lines)
