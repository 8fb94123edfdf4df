# SPDX-License-Identifier: Apache-2.0
"""A customer's journey with the real server and the real ``sceau-device`` command."""

from __future__ import annotations

import datetime
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from sceau_core.money import Amount
from sceau_core.operations import BatchLine
from tests.e2e.conftest import CODE, Bank, Device, activate

IBAN = "FR7630006000011234567890189"


def _batch() -> dict[str, Any]:
    lines = [
        BatchLine(
            payee_name="Fournisseur A", payee_iban=IBAN, amount=Amount.parse("1200.00", "EUR")
        ),
        BatchLine(
            payee_name="Fournisseur B",
            payee_iban="DE89370400440532013000",
            amount=Amount.parse("34.50", "EUR"),
        ),
    ]
    return {
        "debtor_iban": IBAN,
        "execution_date": (datetime.date.today() + datetime.timedelta(days=7)).isoformat(),
        "lines": [line.to_json() for line in lines],
        "batch_reference": "Paie novembre",
    }


OPERATIONS: dict[str, dict[str, Any]] = {
    "login": {},
    "card_payment": {
        "acs_transaction_id": "5f0e3c1a-2b4d-4e6f-8a9b-0c1d2e3f4a5b",
        "merchant_name": "Librairie du Centre",
        "merchant_url": "https://librairie.example/panier",
        "amount": {"value": "42.90", "currency": "EUR"},
        "card_last4": "4242",
    },
    "transfer": {
        "amount": {"value": "1234.56", "currency": "EUR"},
        "payee_name": "Jean Dupont",
        "payee_iban": IBAN,
        "reference": "Loyer novembre",
    },
    "add_payee": {"payee_name": "Jean Dupont", "payee_iban": IBAN},
    "e_signature": {
        "document_title": "Contrat de prêt immobilier",
        "document_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "document_pages": 12,
    },
    "batch_transfer": {},  # filled by _batch() at run time
}
CONTEXT = {
    "ip": "203.0.113.7",
    "channel": "web",
    "user_agent": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
    ),
    "location": "Lyon, France",
}


def test_activation_pins_the_server_and_stores_no_code(
    bank: Bank, customer: tuple[str, Device]
) -> None:
    _, device = customer
    profiles = device.run("profiles")
    assert profiles.code == 0
    (profile,) = profiles.json["profiles"]
    assert profile["state"] == "active"
    assert profile["server_url"] == bank.url
    keystore = device.keystore
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
    assert CODE.encode() not in keystore.read_bytes()
    status = device.run("status")
    assert status.code == 0, status.err
    assert status.json["status"] == "active"
    assert status.json["attempts_left"] == 5


@pytest.mark.parametrize("kind", list(OPERATIONS))
def test_approve_each_operation_type(bank: Bank, customer: tuple[str, Device], kind: str) -> None:
    user, device = customer
    data = _batch() if kind == "batch_transfer" else OPERATIONS[kind]
    created = bank.create(user, kind, data, context=CONTEXT)
    match = ["--match", created["match"]] if kind == "login" else []
    approved = device.run("approve", created["id"], "--code-stdin", *match, stdin=f"{CODE}\n")
    assert approved.code == 0, approved.err
    assert approved.json["status"] == "approved"
    # The customer was shown exactly the lines the server signed, and the reminder.
    assert approved.json["display"] == created["operation"]["display"]
    for line in created["operation"]["display"]:
        assert line in approved.err
    assert "Votre banque ne vous demandera jamais" in approved.err
    claims = bank.verified_result(created["id"])
    assert claims.status.value == "approved"
    assert set(claims.factors) == {"knowledge", "possession"}
    assert claims.operation_type == kind


def test_refusal(bank: Bank, customer: tuple[str, Device]) -> None:
    user, device = customer
    created = bank.create(user, "transfer", OPERATIONS["transfer"])
    shown = device.run("show", created["id"])
    assert shown.code == 0, shown.err
    assert shown.json["operation"]["display"] == created["operation"]["display"]
    refused = device.run("reject", created["id"])
    assert refused.code == 0, refused.err
    assert refused.json["status"] == "rejected"
    assert bank.verified_result(created["id"]).status.value == "rejected"
    again = device.run("approve", created["id"], "--code-stdin", stdin=f"{CODE}\n")
    assert again.code == 7  # no longer pending


def test_wrong_code_then_right_code(bank: Bank, customer: tuple[str, Device]) -> None:
    user, device = customer
    created = bank.create(user, "add_payee", OPERATIONS["add_payee"])
    wrong = device.run("approve", created["id"], "--code-stdin", stdin="1397\n")
    assert wrong.code == 1
    assert wrong.json["attempts_left"] == 4
    assert "Authentification refusée. Il vous reste 4 essais." in wrong.err
    assert bank.operation(created["id"])["status"] == "pending"
    right = device.run("approve", created["id"], "--code-stdin", stdin=f"{CODE}\n")
    assert right.code == 0, right.err
    assert bank.verified_result(created["id"]).status.value == "approved"


def test_listen_shows_incoming_operations(bank: Bank, customer: tuple[str, Device]) -> None:
    user, device = customer
    listener = device.start("listen", "--count", "1", "--timeout", "30")
    try:
        created = bank.create(user, "card_payment", OPERATIONS["card_payment"], context=CONTEXT)
        out, err = listener.communicate(timeout=40)
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait(timeout=10)
    assert listener.returncode == 0, err
    shown = json.loads(out.splitlines()[-1])
    assert shown["id"] == created["id"]
    assert shown["verified"] is True
    assert shown["display"] == created["operation"]["display"]
    done = device.run("reject", created["id"])
    assert done.code == 0


def test_not_me(bank: Bank, customer: tuple[str, Device]) -> None:
    user, device = customer
    created = bank.create(user, "transfer", OPERATIONS["transfer"])
    reported = device.run("not-me", created["id"])
    assert reported.code == 0, reported.err
    assert reported.json["status"] == "not_me"
    view = bank.operation(created["id"])
    assert view["suspected_fraud"] is True
    assert bank.verified_result(created["id"]).status.value == "not_me"


def test_lock_after_five_wrong_codes(bank: Bank, tmp_path: Path) -> None:
    device = Device(tmp_path / "bob-laptop")
    activate(bank, device, "bob", typed=True)
    created = bank.create("bob", "transfer", OPERATIONS["transfer"])
    for left in (4, 3, 2, 1):
        wrong = device.run("approve", created["id"], "--code-stdin", stdin="1397\n")
        assert wrong.code == 1, wrong.err
        assert wrong.json["attempts_left"] == left
    locked = device.run("approve", created["id"], "--code-stdin", stdin="1397\n")
    assert locked.code == 4, locked.err
    assert locked.json["locked_until"] is not None
    assert "bloquée" in locked.err
    assert "jusqu’au" in locked.err
    right = device.run("approve", created["id"], "--code-stdin", stdin=f"{CODE}\n")
    assert right.code == 4  # the right code too, until the lock ends
    status = device.run("status")
    assert status.json["locked_until"] is not None
    assert bank.operation(created["id"])["status"] == "pending"


def test_code_change(bank: Bank, tmp_path: Path) -> None:
    device = Device(tmp_path / "carol-laptop")
    activate(bank, device, "carol")
    changed = device.run("change-code", "--code-stdin", stdin=f"{CODE}\n5193\n")
    assert changed.code == 0, changed.err
    created = bank.create("carol", "transfer", OPERATIONS["transfer"])
    old = device.run("approve", created["id"], "--code-stdin", stdin=f"{CODE}\n")
    assert old.code == 1
    new = device.run("approve", created["id"], "--code-stdin", stdin="5193\n")
    assert new.code == 0, new.err


def test_device_removal(bank: Bank, tmp_path: Path) -> None:
    device = Device(tmp_path / "dan-laptop")
    activation = activate(bank, device, "dan")
    removed = device.run("remove", "--yes")
    assert removed.code == 0, removed.err
    assert removed.json["server_confirmed"] is True
    assert not device.keystore.exists()
    devices = bank.http.get("/v1/users/dan").json()["devices"]
    assert activation["activation_id"] not in [
        d["activation_id"] for d in devices if d["status"] == "active"
    ]
    refused = bank.http.post(
        "/v1/operations", json={"user": "dan", "type": "transfer", "data": OPERATIONS["transfer"]}
    )
    assert refused.status_code == 409  # no active device any more
    after = device.run("status")
    assert after.code == 6
    assert "sceau-device activate" in after.err


def test_approve_with_simulated_biometrics_says_it_is_a_simulation(
    bank: Bank, tmp_path: Path
) -> None:
    user, phone = bank.new_user("erin")
    activation = bank.new_activation(user)
    device = Device(tmp_path / "erin-laptop")
    activated = device.run(
        "activate",
        activation["qr_uri"],
        "--name",
        "Ordinateur d’Erin",
        "--sms-code",
        bank.sms_code(phone),
        "--code-stdin",
        "--biometrics",
        stdin=f"{CODE}\n",
    )
    assert activated.code == 0, activated.err
    assert activated.json["biometrics"] is True
    created = bank.create(user, "transfer", OPERATIONS["transfer"])
    approved = device.run("approve", created["id"], "--biometrics")
    assert approved.code == 0, approved.err
    assert "SIMULATION : biométrie simulée par logiciel" in approved.err
    claims = bank.verified_result(created["id"])
    assert claims.status.value == "approved"
    assert set(claims.factors) == {"inherence", "possession"}
