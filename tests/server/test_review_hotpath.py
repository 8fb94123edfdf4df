# SPDX-License-Identifier: Apache-2.0
"""Findings of the adversarial review of the hot-path rewrite (issue 7), through the real API."""

from __future__ import annotations

from sceau_core.approval import Decision
from tests.server.conftest import RelyingPartyClient, ServerHandle
from tests.server.test_device_lifecycle import new_device_operation, second_device
from tests.server.test_pro import IBAN, setup_company


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
