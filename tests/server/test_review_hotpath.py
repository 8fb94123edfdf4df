# SPDX-License-Identifier: Apache-2.0
"""Findings of the adversarial review of the hot-path rewrite (issue 7), through the real API."""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session

from sceau_core.approval import Decision
from sceau_server.audit import TABLES, record_event, verify_audit_log
from sceau_server.db import Base
from tests.server.conftest import RelyingPartyClient, ServerHandle, wait_until
from tests.server.test_audit import T0, sqlite_engine
from tests.server.test_device_lifecycle import new_device_operation, second_device
from tests.server.test_pro import IBAN, setup_company
from tests.server.test_pro import transfer as shared_transfer


def _actors(server: ServerHandle, event: str) -> list[str]:
    rows = server.rows(
        "SELECT actor FROM audit_entries WHERE event = :event ORDER BY seq", event=event
    )
    return [row.actor for row in rows]


def test_the_device_that_approves_a_new_device_is_the_actor_of_its_activation(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """The audit log names the device that let the new one in, not "server" (brief L5, R4)."""
    phone = "+33620000091"
    old = server.enrol(bank, "hugo", phone=phone)
    new = second_device(server, bank, "hugo", phone)
    assert old.approve(new_device_operation(old).id, "4826").status_code == 200
    activated = server.rows(
        "SELECT actor FROM audit_entries WHERE event = 'activation.activated' AND subject = :id",
        id=new.activation_id,
    )
    assert [row.actor for row in activated] == [old.activation_id]
    # The device it replaces is revoked in that same device's name.
    assert _actors(server, "activation.revoked")[-1] == old.activation_id


def test_the_device_that_refuses_a_new_device_is_the_actor_of_its_cancellation(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    phone = "+33620000092"
    old = server.enrol(bank, "ines", phone=phone)
    new = second_device(server, bank, "ines", phone)
    assert old.refuse(new_device_operation(old).id, Decision.NOT_ME).status_code == 200
    revoked = server.rows(
        "SELECT actor FROM audit_entries WHERE event = 'activation.revoked' AND subject = :id",
        id=new.activation_id,
    )
    assert [row.actor for row in revoked] == [old.activation_id]


def test_the_administrator_device_that_approves_a_rights_change_is_its_actor(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    devices, members = setup_company(server, bank)
    asked = bank.http.post(
        f"/v1/accounts/{IBAN}/rights",
        json={"member": members["bob"], "rights": ["view"], "admin": "alice"},
    )
    assert asked.status_code == 201, asked.text
    assert devices["alice"].approve(asked.json()["id"]).json()["status"] == "approved"
    assert _actors(server, "rights.changed") == [devices["alice"].activation_id]


@pytest.mark.parametrize(
    ("number", "accepted"),
    [(2.0**53, False), (-(2.0**60), False), (1e20, False), (2.0**53 - 1, True), (1e21, True)],
)
def test_an_event_the_log_accepts_is_one_its_verification_recomputes(
    tmp_path: Path, number: float, accepted: bool
) -> None:
    """The append hashes the data's JCS text as is; the verification parses it back first.

    A whole float from 2**53 to 1e21 is written by JCS as digits, read back as an integer that
    JCS refuses: such an entry, once accepted, reads as a broken chain forever after.
    """
    engine = sqlite_engine(tmp_path / "audit.db")
    Base.metadata.create_all(engine, tables=list(TABLES))
    key = ec.generate_private_key(ec.SECP256R1())
    try:
        with Session(engine) as session, session.begin():
            record_event(session, event="x", now=T0, actor="a", subject="s", data={"n": 1})
        with (
            Session(engine) as session,
            session.begin(),
            contextlib.nullcontext() if accepted else pytest.raises(ValueError, match="beyond 2"),
        ):
            record_event(session, event="x", now=T0, actor="a", subject="s", data={"n": number})
        with Session(engine) as session:
            report = verify_audit_log(session, public_key=key.public_key())
        assert report.entries == (2 if accepted else 1)
    finally:
        engine.dispose()


def test_a_validator_stream_gets_a_shared_operation_by_id_alone_and_no_one_elses(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """Bob validates the company account: its operations reach his stream as an id to read
    through his own pending list (his rights and votes decide); Alice's own operations never."""
    devices, _ = setup_company(server, bank)
    bob = devices["bob"]
    call = bob.prepare("GET", "/v1/device/events")
    seen: list[dict[str, Any]] = []
    two = threading.Event()

    def listen() -> None:
        with (
            server.client() as http,
            http.stream("GET", call.path, headers=call.headers) as response,
        ):
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith("data: "):
                    seen.append(json.loads(line.removeprefix("data: ")))
                    if len(seen) == 2:
                        two.set()
                        return

    thread = threading.Thread(target=listen)
    thread.start()
    wait_until(lambda: server.ctx.notifier.has_listeners(f"device:{bob.activation_id}"))  # type: ignore[attr-defined]
    shared = shared_transfer(bank, "40.00").json()
    personal = bank.create_operation(user="alice", type="login", data={})
    assert personal.status_code == 201, personal.text
    later = shared_transfer(bank, "41.00").json()
    assert two.wait(10)
    thread.join(timeout=10)
    assert seen == [{"id": shared["id"]}, {"id": later["id"]}]
