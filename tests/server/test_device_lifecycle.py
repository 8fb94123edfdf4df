# SPDX-License-Identifier: Apache-2.0
"""Devices after activation over real HTTP (brief L2, L4, I1): replacement, hold, removal,
the operator's actions, activation hygiene and biometrics changes."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import httpx
import pytest

from sceau_core.approval import Decision
from sceau_core.encoding import b64url_encode
from sceau_core.keys import encode_public_key, generate_private_key
from sceau_core.knowledge import start_code_evaluation
from sceau_core.operations import OperationType
from sceau_core.signatures import sign_inherence_registration, verify_key_registration
from sceau_server.services.accounts import ADMIN_SCOPE, ALL_SCOPES, create_rp
from sceau_server.services.events import customer_time
from tests.server.conftest import RelyingPartyClient, ServerHandle, wait_until
from tests.server.device_double import TestDevice

NBSP = "\u00a0"
TRANSFER = {
    "amount": {"value": "1234.56", "currency": "EUR"},
    "payee_name": "Jean Dupont",
    "payee_iban": "FR7630006000011234567890189",
}
OPERATOR = {
    "operator": "Claire Martin",
    "reason": "Téléphone perdu, signalé en agence",
    "identity_check": "agence Lyon Bellecour, carte d’identité vérifiée",
}


def transfer(bank: RelyingPartyClient, user: str) -> dict[str, Any]:
    response = bank.create_operation(user=user, type="transfer", data=TRANSFER)
    assert response.status_code == 201, response.text
    value: dict[str, Any] = response.json()
    return value


def second_device(
    server: ServerHandle,
    bank: RelyingPartyClient,
    user: str,
    phone: str,
    *,
    name: str = "Nouveau téléphone",
    status: str = "on_hold",
) -> TestDevice:
    device = server.device(name)
    activation = bank.create_activation(user)
    device.activate(activation["code"], sms_code=server.sms_code(phone), pin="2468", status=status)
    return device


def new_device_operation(device: TestDevice) -> Any:
    (operation,) = [op for op in device.pending() if op.type is OperationType.NEW_DEVICE]
    return operation


def status(device: TestDevice) -> httpx.Response:
    return device.call("GET", "/v1/device/status")


def events(server: ServerHandle) -> list[str]:
    return [row.event for row in server.rows("SELECT event FROM audit_entries ORDER BY seq")]


def test_replacement_approved_by_the_old_device_and_its_in_flight_approval_fails(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    phone = "+33620000001"
    old = server.enrol(bank, "alice", phone=phone)
    pending = transfer(bank, "alice")
    in_flight = old.operation(pending["id"])
    _, knowledge = old.evaluate(pending["id"], "4826")  # the old device is approving it…
    new = second_device(server, bank, "alice", phone)
    held = status(new).json()
    assert held["status"] == "on_hold"
    assert held["hold_until"] is not None
    assert new.call("GET", "/v1/device/operations").status_code == 401  # nothing to approve yet
    operation = new_device_operation(old)
    assert operation.display == (
        "Nouvel appareil Sceau",
        f"Appareil{NBSP}: Nouveau téléphone",
        f"Remplace{NBSP}: Téléphone de test",
        f"Attention{NBSP}: validez seulement si vous activez vous-même cet appareil",
    )
    assert operation.data.to_json()["activation_id"] == new.activation_id
    kind, message = server.outbox(phone)[-1]
    assert kind == "device_on_hold"
    # The hold ends at a time the customer reads in the bank's time zone, named.
    until = customer_time(server.ctx, held["hold_until"], "fr")
    assert until.endswith(" (heure de Paris)")
    assert f"il le sera le {until}." in message
    # The old device approves the new one as an operation (with its code: SCA).
    approved = old.approve(operation.id, "4826")
    assert approved.status_code == 200, approved.text
    assert server.outbox(phone)[-1][0] == "new_device"
    assert status(new).json()["status"] == "active"
    assert status(old).status_code == 401
    # …and its in-flight approval of the transfer now fails (brief L4).
    signed = old.sign(in_flight, knowledge_key=knowledge, counter=old.next_counter())
    assert old.send(old.decision_call(pending["id"], signed)).status_code == 401
    assert bank.operation(pending["id"])["status"] == "pending"
    assert new.approve(pending["id"], "2468").status_code == 200
    devices = bank.http.get("/v1/users/alice").json()["devices"]
    assert [(d["device_name"], d["status"]) for d in devices] == [("Nouveau téléphone", "active")]
    log = events(server)
    assert {"activation.on_hold", "activation.activated", "activation.revoked"} <= set(log)
    (revoked,) = server.rows(
        "SELECT end_reason FROM activations WHERE id = :id", id=old.activation_id
    )
    assert revoked.end_reason == "replaced_by_new_device"


def test_a_held_device_is_cancelled_from_the_old_device(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    phone = "+33620000002"
    old = server.enrol(bank, "bruno", phone=phone)
    new = second_device(server, bank, "bruno", phone)
    operation = new_device_operation(old)
    listed = old.call("GET", "/v1/device/devices").json()["devices"]
    assert [(d["device_name"], d["status"], d["current"]) for d in listed] == [
        ("Téléphone de test", "active", True),
        ("Nouveau téléphone", "on_hold", False),
    ]
    removed = old.call("DELETE", f"/v1/device/devices/{new.activation_id}")
    assert removed.status_code == 204, removed.text
    assert status(new).status_code == 401
    assert bank.operation(operation.id)["status"] == "cancelled"
    assert server.outbox(phone)[-1][0] == "device_cancelled"
    assert status(old).json()["status"] == "active"
    # A device that is not the customer's is not found.
    assert old.call("DELETE", "/v1/device/devices/act_unknown").status_code == 404


@pytest.mark.parametrize("decision", [Decision.REJECT, Decision.NOT_ME])
def test_refusing_the_new_device_operation_cancels_the_device(
    server: ServerHandle, bank: RelyingPartyClient, decision: Decision
) -> None:
    phone = "+33620000003"
    user = f"carla-{decision.value}"
    old = server.enrol(bank, user, phone=phone)
    new = second_device(server, bank, user, phone)
    operation = new_device_operation(old)
    assert old.refuse(operation.id, decision).status_code == 200
    assert status(new).status_code == 401
    assert status(old).json()["status"] == "active"
    flagged = bank.http.get(f"/v1/users/{user}").json()["fraud_flagged_at"]
    assert (flagged is not None) is (decision is Decision.NOT_ME)


def test_without_an_answer_the_hold_ends_and_the_new_device_replaces_the_old(
    make_server: Any,
) -> None:
    server = make_server(device_hold=1)
    bank = server.relying_party()
    phone = "+33620000004"
    old = server.enrol(bank, "dora", phone=phone)
    new = second_device(server, bank, "dora", phone)
    wait_until(lambda: status(new).json()["status"] == "active", timeout=15)
    assert status(old).status_code == 401
    rows = server.rows("SELECT data FROM audit_entries WHERE event = 'activation.activated'")
    assert ["hold_ended" in row.data for row in rows] == [False, True]


def test_several_named_devices_when_the_bank_allows_them(make_server: Any) -> None:
    server = make_server(max_devices=2)
    bank = server.relying_party()
    phone = "+33620000005"
    first = server.enrol(bank, "emma", phone=phone)
    time.sleep(1.05)  # so that "the oldest device" is told apart by its creation second
    second = second_device(server, bank, "emma", phone, name="Tablette")
    operation = new_device_operation(first)
    assert not any(line.startswith("Remplace") for line in operation.display)  # an addition
    assert first.approve(operation.id, "4826").status_code == 200
    assert status(first).json()["status"] == "active"
    assert status(second).json()["status"] == "active"
    # A third one replaces the oldest, and says so in the signed lines.
    third = second_device(server, bank, "emma", phone, name="Ordinateur")
    operation = new_device_operation(second)
    assert f"Remplace{NBSP}: Téléphone de test" in operation.display
    assert second.approve(operation.id, "2468").status_code == 200
    assert status(first).status_code == 401
    names = [d["device_name"] for d in third.call("GET", "/v1/device/devices").json()["devices"]]
    assert sorted(names) == ["Ordinateur", "Tablette"]
    # The customer removes one device from another.
    assert third.call("DELETE", f"/v1/device/devices/{second.activation_id}").status_code == 204
    assert status(second).status_code == 401
    assert server.outbox(phone)[-1][0] == "device_removed"


def test_relying_parties_cannot_create_new_device_operations(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    server.enrol(bank, "fanny")
    response = bank.create_operation(
        user="fanny",
        type="new_device",
        data={"activation_id": "act_x", "device_name": "Pirate"},
    )
    assert response.status_code == 422
    assert response.json()["type"] == "urn:sceau:problem:invalid-operation"
    assert "new_device" not in ALL_SCOPES
    with pytest.raises(ValueError, match="unknown scopes"):
        create_rp(server.ctx, name="Pirate", scopes=["new_device"], callback_allow=[])


def test_operator_lists_revokes_and_unblocks_with_a_reason(make_server: Any) -> None:
    server = make_server(max_failures=1, max_locks=1)
    bank = server.relying_party()
    phone = "+33620000006"
    device = server.enrol(bank, "gina", phone=phone)
    admin = server.relying_party("Back-office", scopes=[ADMIN_SCOPE])
    assert bank.http.get("/v1/admin/users/gina/devices").status_code == 403
    listing = admin.http.get("/v1/admin/users/gina/devices").json()
    assert [d["activation_id"] for d in listing["devices"]] == [device.activation_id]
    # Blocked for good after one lock (this policy): the operator unblocks.
    created = transfer(bank, "gina")
    assert device.evaluate(created["id"], "1397")[0].json()["blocked"] is True
    incomplete = admin.http.post(
        f"/v1/admin/devices/{device.activation_id}/unblock", json={"operator": "Claire"}
    )
    assert incomplete.status_code == 422
    unblocked = admin.http.post(f"/v1/admin/devices/{device.activation_id}/unblock", json=OPERATOR)
    assert unblocked.status_code == 200, unblocked.text
    assert unblocked.json()["blocked"] is False
    assert server.outbox(phone)[-1][0] == "unlocked"
    assert device.approve(created["id"], "4826").status_code == 200
    (entry,) = server.rows(
        "SELECT actor, data FROM audit_entries WHERE event = 'activation.unlocked' "
        "AND actor = :actor",
        actor=admin.rp.id,
    )
    assert "Claire Martin" in entry.data
    assert "carte d’identité vérifiée" in entry.data
    # Revocation: the keys stop working at once; the customer is told.
    revoked = admin.http.post(f"/v1/admin/devices/{device.activation_id}/revoke", json=OPERATOR)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert status(device).status_code == 401
    assert server.outbox(phone)[-1][0] == "device_revoked"
    again = admin.http.post(f"/v1/admin/devices/{device.activation_id}/revoke", json=OPERATOR)
    assert again.status_code == 404
    (entry,) = server.rows(
        "SELECT data FROM audit_entries WHERE event = 'activation.revoked' ORDER BY seq DESC"
    )
    assert "revoked_by_operator" in entry.data
    assert "Téléphone perdu" in entry.data


def test_unfinished_activations_expire_and_their_keys_are_destroyed(make_server: Any) -> None:
    server = make_server(activation_ttl=1)
    bank = server.relying_party()
    bank.put_user("hana", phone="+33620000007")
    unused = bank.create_activation("hana")
    wait_until(
        lambda: (
            server.rows(
                "SELECT status FROM activations WHERE id = :id", id=unused["activation_id"]
            )[0].status
            == "expired"
        ),
        timeout=15,
    )
    (row,) = server.rows(
        "SELECT registration_key_wrapped, oprf_key_wrapped, end_reason FROM activations"
    )
    assert (row.registration_key_wrapped, row.oprf_key_wrapped) == ("", "")
    assert row.end_reason == "not_finished_in_time"
    assert "activation.expired" in events(server)


def test_a_new_activation_supersedes_the_unused_code_with_an_audit_entry(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    bank.put_user("ines", phone="+33620000008")
    first = bank.create_activation("ines")
    bank.create_activation("ines")
    (row,) = server.rows(
        "SELECT status, registration_key_wrapped FROM activations WHERE id = :id",
        id=first["activation_id"],
    )
    assert row.status == "superseded"
    assert row.registration_key_wrapped == ""
    assert "activation.superseded" in events(server)


def _biometrics(
    device: TestDevice, code: str, inherence_public_key: str | None
) -> tuple[httpx.Response, httpx.Response]:
    """Evaluate the code (counted), then sign the biometric key's registration or removal."""
    evaluation = start_code_evaluation(code, rng=os.urandom)
    answer = device.call(
        "POST",
        "/v1/device/code/evaluate",
        {"blinded_element": b64url_encode(evaluation.blinded_element)},
    )
    assert answer.status_code == 200, answer.text
    knowledge = device._finish(evaluation, answer.json())
    counter = device.next_counter()
    signature = sign_inherence_registration(
        knowledge,
        activation_id=device.activation_id,
        counter=counter,
        inherence_public_key=inherence_public_key,
    )
    changed = device.call(
        "POST",
        "/v1/device/biometrics",
        {"inherence_public_key": inherence_public_key, "knowledge_signature": signature},
        counter=counter,
    )
    return answer, changed


def test_enrolling_and_removing_biometrics_need_the_code(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    phone = "+33620000009"
    device = server.enrol(bank, "jade", phone=phone)
    inherence = generate_private_key(os.urandom)
    public = encode_public_key(inherence.public_key())
    # A wrong code: the evaluation was counted, nothing changes.
    answer, changed = _biometrics(device, "1397", public)
    assert answer.json()["attempts_left"] == 4
    assert changed.status_code == 401
    assert changed.json()["attempts_left"] == 4
    assert status(device).json()["inherence"] is False
    assert server.outbox(phone)[-1][0] == "code_failure"
    # The right code enrols the biometric key; it approves at once.
    _, changed = _biometrics(device, "4826", public)
    assert changed.status_code == 200, changed.text
    assert changed.json()["inherence"] is True
    assert server.outbox(phone)[-1][0] == "biometrics_enabled"
    device.inherence_key = inherence
    created = transfer(bank, "jade")
    operation = device.operation(created["id"])
    signed = device.sign(operation, counter=device.next_counter())
    assert device.send(device.decision_call(created["id"], signed)).status_code == 200
    # Removing them needs the code too; biometric approvals then fail.
    _, changed = _biometrics(device, "4826", None)
    assert changed.status_code == 200
    assert changed.json()["inherence"] is False
    assert server.outbox(phone)[-1][0] == "biometrics_disabled"
    created = transfer(bank, "jade")
    operation = device.operation(created["id"])
    signed = device.sign(operation, counter=device.next_counter())
    assert device.send(device.decision_call(created["id"], signed)).status_code == 401
    # Without a fresh evaluation, no change at all.
    counter = device.next_counter()
    unsigned = device.call(
        "POST",
        "/v1/device/biometrics",
        {"inherence_public_key": public, "knowledge_signature": "A" * 86},
        counter=counter,
    )
    assert unsigned.status_code == 401


def test_the_operator_commands(
    server: ServerHandle,
    bank: RelyingPartyClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sceau_server import cli

    phone = "+33620000010"
    device = server.enrol(bank, "kate", phone=phone)
    settings = server.settings
    for name, value in {
        "SCEAU_DATABASE_URL": settings.database_url,
        "SCEAU_PUBLIC_URL": settings.public_url,
        "SCEAU_MASTER_KEY": settings.master_key,
        "SCEAU_SECRET": settings.secret,
        "SCEAU_CHECKPOINT_KEY": settings.checkpoint_key_path,
        "SCEAU_CHECKPOINT_JOURNAL": settings.checkpoint_journal_path,
    }.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["admin", "devices", "list", "kate"]) == 0
    listing = capsys.readouterr().out
    assert device.activation_id in listing
    assert "Téléphone de test" in listing
    assert "[active]" in listing
    operator = ["--operator", "Claire", "--reason", "perte", "--identity-check", "agence, CNI"]
    with pytest.raises(SystemExit):
        cli.main(["admin", "devices", "revoke", device.activation_id])  # the record is required
    capsys.readouterr()
    assert cli.main(["admin", "devices", "revoke", device.activation_id, *operator]) == 0
    assert "revoked" in capsys.readouterr().out
    assert status(device).status_code == 401
    assert server.outbox(phone)[-1][0] == "device_revoked"
    assert cli.main(["admin", "devices", "revoke", device.activation_id, *operator]) == 1
    assert cli.main(["admin", "unblock", device.activation_id, *operator]) == 1
    assert cli.main(["admin", "devices", "list", "nobody"]) == 1
    capsys.readouterr()
    assert cli.main(["admin", "devices", "list", "kate"]) == 0
    assert "revoked_by_operator" in capsys.readouterr().out


def test_the_password_verifier_setting() -> None:
    from sceau_server.services.verifier import RefuseAllVerifier, load_verifier
    from sceau_server.settings import ConfigurationError
    from tests.password_verifier import PATH, FixedPasswordVerifier

    assert isinstance(load_verifier(None), RefuseAllVerifier)
    assert isinstance(load_verifier(PATH), FixedPasswordVerifier)
    assert isinstance(load_verifier(PATH.replace(":", ".")), FixedPasswordVerifier)
    for wrong in ("tests.nowhere:Nothing", "tests.password_verifier:PASSWORD", "nodots"):
        with pytest.raises(ConfigurationError):
            load_verifier(wrong)


def test_the_operator_releases_a_hold_early_with_a_reason(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    phone = "+33620000011"
    old = server.enrol(bank, "lena", phone=phone)
    new = second_device(server, bank, "lena", phone)
    operation = new_device_operation(old)
    admin = server.relying_party("Back-office", scopes=[ADMIN_SCOPE])
    path = f"/v1/admin/devices/{new.activation_id}/release"
    assert bank.http.post(path, json=OPERATOR).status_code == 403
    assert admin.http.post(path, json={"operator": "Claire"}).status_code == 422
    assert status(new).json()["status"] == "on_hold"  # a refused request changed nothing
    released = admin.http.post(path, json=OPERATOR)
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "active"
    assert released.json()["hold_until"] is None
    assert status(new).json()["status"] == "active"
    assert status(old).status_code == 401  # the device it replaces is revoked
    assert bank.operation(operation.id)["status"] == "cancelled"
    kind, message = server.outbox(phone)[-1]
    assert kind == "device_released"
    assert "sans attendre la fin du délai de sécurité" in message
    (entry,) = server.rows(
        "SELECT actor, data FROM audit_entries WHERE event = 'activation.activated' "
        "AND subject = :subject",
        subject=new.activation_id,
    )
    assert entry.actor == admin.rp.id
    for recorded in ("released_by_operator", "Claire Martin", "Téléphone perdu", "agence Lyon"):
        assert recorded in entry.data
    # Only a device on hold can be released; an unknown one is not found.
    again = admin.http.post(path, json=OPERATOR)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    unknown = admin.http.post("/v1/admin/devices/act_unknown/release", json=OPERATOR)
    assert unknown.status_code == 404


def test_each_key_registration_is_an_audited_event_carrying_its_evidence(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    # Brief R3: the audit log shows which device key and which knowledge key were registered,
    # with the knowledge key's own signature, so that the server cannot register a key silently.
    device = server.enrol(bank, "alice")
    entries = {
        row.event: json.loads(row.data)
        for row in server.rows(
            "SELECT event, data FROM audit_entries WHERE subject = :subject ORDER BY seq",
            subject=device.activation_id,
        )
    }
    registered = entries["activation.registered"]
    assert registered["device_public_key"] == encode_public_key(device.device_key.public_key())
    committed = entries["activation.committed"]
    (stored,) = server.rows(
        "SELECT knowledge_public_key FROM activations WHERE id = :id", id=device.activation_id
    )
    assert committed["knowledge_public_key"] == stored.knowledge_public_key
    verify_key_registration(
        activation_id=device.activation_id,
        knowledge_public_key=committed["knowledge_public_key"],
        signature=committed["knowledge_signature"],
    )
