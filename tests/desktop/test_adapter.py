# SPDX-License-Identifier: Apache-2.0
"""The desktop application on the real SDK: AuthenticatorDesk against the device tests' server.

The fake server of ``tests/device`` speaks the device API with the protocol core; the batch
lines endpoint, which the real server does not offer yet, is served here by a hook with the
shape the SDK proposes (``GET /v1/device/operations/{id}/lines`` → ``{"lines": [...]}``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from keyrings.alt.file import PlaintextKeyring
from textual.widgets import DataTable, Input, Static

from sceau_core.operations import BatchLine, BatchTransferData, Operation, OperationType
from sceau_device.activation import ActivationSession
from sceau_device.authenticator import Authenticator
from sceau_device.desktop.adapter import AuthenticatorDesk
from sceau_device.desktop.app import OperationScreen, SceauDesktop
from sceau_device.desktop.simulation import demo_batch_lines
from sceau_device.errors import DeviceError, InputError, TamperedOperation
from sceau_device.keystore import Keystore
from tests.device.fake_server import FakeServer, event

CODE = "4826"
DEBTOR = "FR7630004012340098765432178"


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def authenticator(tmp_path: Path, server: FakeServer) -> Iterator[Authenticator]:
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring_pass.cfg")  # type: ignore[misc]
    keystore = Keystore(tmp_path / "device-keystore.json", keyring_backend=backend)
    session = ActivationSession.start(keystore, server.qr_uri(), transport=server.transport)
    session.register("Poste de la comptabilité", server.sms_code)
    device = session.choose_code(CODE)
    yield device
    device.close()


def add_batch(server: FakeServer, lines: Sequence[BatchLine]) -> Operation:
    data = BatchTransferData.for_lines(debtor_iban=DEBTOR, lines=lines)
    return server.add_operation(OperationType.BATCH_TRANSFER, data.to_json())


def serve_lines(server: FakeServer, lines: Sequence[BatchLine]) -> list[httpx.Request]:
    """Answer the proposed lines endpoint with ``lines``; return the requests it received."""
    seen: list[httpx.Request] = []

    def hook(request: httpx.Request) -> httpx.Response | None:
        parts = request.url.path.split("/")
        if request.method != "GET" or parts[-1] != "lines":
            return None
        seen.append(request)
        return httpx.Response(200, json={"lines": [line.to_json() for line in lines]})

    server.before.append(hook)
    return seen


def test_batch_lines_are_fetched_signed_and_checked(
    server: FakeServer, authenticator: Authenticator
) -> None:
    lines = demo_batch_lines(120)
    operation = add_batch(server, lines)
    requests = serve_lines(server, lines)
    desk = AuthenticatorDesk(authenticator)
    verified = authenticator.pending().operations[0]
    assert tuple(desk.batch_lines(verified)) == lines
    (request,) = requests
    assert request.url.path == f"/v1/device/operations/{operation.id}/lines"
    assert {"signature", "signature-input", "sceau-counter"} <= set(request.headers)


def test_one_changed_line_is_refused(server: FakeServer, authenticator: Authenticator) -> None:
    lines = list(demo_batch_lines(120))
    add_batch(server, lines)
    lines[77] = dataclasses.replace(lines[77], reference="Facture F2026-99999")
    serve_lines(server, lines)
    desk = AuthenticatorDesk(authenticator)
    with pytest.raises(TamperedOperation, match="lines_digest: does not match"):
        desk.batch_lines(authenticator.pending().operations[0])
    transfer = server.add_operation()
    with pytest.raises(InputError):
        desk.batch_lines(transfer)


def test_decisions_go_through_the_sdk(server: FakeServer, authenticator: Authenticator) -> None:
    server.add_operation()
    server.add_operation()
    desk = AuthenticatorDesk(authenticator)
    first, second = authenticator.pending().operations
    assert desk.device_name == "Poste de la comptabilité"
    decided = desk.approve(first, CODE)
    assert (decided.status, server.final) == ("approved", {first.id: "approved"})
    assert desk.not_me(second).status == "not_me"


def test_the_subscription_follows_the_event_stream(
    server: FakeServer, authenticator: Authenticator
) -> None:
    first = server.add_operation()
    later: list[Operation] = []
    server.event_scripts = [
        [lambda: later.append(server.add_operation()), lambda: event(later[0].id)]
    ]
    received: list[str] = []
    problems: list[DeviceError] = []
    both = threading.Event()

    def arrived(operation: Operation) -> None:
        received.append(operation.id)
        if len(received) == 2:
            both.set()

    unsubscribe = AuthenticatorDesk(authenticator).subscribe(arrived, print, problems.append)
    try:
        assert both.wait(10)
    finally:
        unsubscribe()
    assert received == [first.id, later[0].id]


def test_the_application_on_the_real_sdk(server: FakeServer, authenticator: Authenticator) -> None:
    lines = demo_batch_lines(60)
    operation = add_batch(server, lines)
    serve_lines(server, lines)
    desk = AuthenticatorDesk(authenticator)

    async def main() -> None:
        app = SceauDesktop(desk, desk)
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(100):
                await pilot.pause(0.05)
                if app.pending:
                    break
            table = app.screen.query_one("#pending", DataTable)
            assert table.row_count == 1
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, OperationScreen)
            await pilot.press("l")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.screen.query_one("#batch-lines", DataTable).row_count == 50
            await pilot.press("escape")
            await pilot.pause()
            app.screen.query_one("#code", Input).value = CODE
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert str(app.screen.query_one("#outcome", Static).visual) == "Opération validée."

    asyncio.run(main())
    assert server.final == {operation.id: "approved"}
