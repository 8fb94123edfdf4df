# SPDX-License-Identifier: Apache-2.0
"""The credential lifecycle end to end (issue 5): real ``sceau serve``, real ``sceau-device``.

"Code oublié" both ways, the refusals that protect it (only possession factors, wrong SMS codes,
a phone number changed yesterday), replacing a device with or without the old one, and the lock
policy up to the permanent block that only the bank's operator lifts.

The session's server (``conftest.bank``) has the test double of the bank's password check
(``tests.password_verifier``); the lock escalation runs on a server of its own with a short
policy (1 failure locks, 2-second locks, the 3rd lock permanent), so that it takes seconds.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from tests.e2e.conftest import CODE, SCEAU, SCEAU_DEVICE, Bank, Device, Outcome, serving
from tests.password_verifier import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
TRANSFER = {
    "amount": {"value": "250.00", "currency": "EUR"},
    "payee_name": "Jean Dupont",
    "payee_iban": "FR7630006000011234567890189",
}
SECOND_CODE = "3719"
PHONES = iter(range(613_000_001, 613_999_999))
OPERATOR = [
    "--operator",
    "Claire Martin",
    "--reason",
    "Cliente bloquée, rappelée sur son numéro",
    "--identity-check",
    "agence, carte d’identité vérifiée",
]


_ENGINES: dict[str, Engine] = {}


def outbox(bank: Bank, phone: str) -> list[tuple[str, str]]:
    """The SMS the server wrote for ``phone``, oldest first, as ``(kind, message)``.

    Read from the server's database rather than with ``sceau admin outbox`` (which the journey
    tests use), to spare a process start per read.
    """
    url = bank.env["SCEAU_DATABASE_URL"]
    if url not in _ENGINES:
        _ENGINES[url] = create_engine(url, poolclass=NullPool)
    with _ENGINES[url].connect() as connection:
        rows = connection.execute(
            text("SELECT kind, message FROM sms_outbox WHERE phone = :phone ORDER BY id"),
            {"phone": phone},
        ).all()
    return [(row.kind, row.message) for row in rows]


def last_code(bank: Bank, phone: str, kind: str) -> str:
    """The 6-digit code of the last SMS of ``kind`` sent to ``phone``."""
    messages = [message for found, message in outbox(bank, phone) if found == kind]
    assert messages, outbox(bank, phone)
    code = re.search(r"\b(\d{6})\b", messages[-1])
    assert code is not None, messages[-1]
    return code.group(1)


@pytest.fixture(scope="module")
def strict_bank(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bank]:
    """A server whose locks escalate in seconds: the 3rd lock is permanent."""
    with serving(
        tmp_path_factory.mktemp("strict"),
        SCEAU_SWEEP_INTERVAL="0.2",
        SCEAU_MAX_FAILURES="1",
        SCEAU_LOCK_DURATIONS="2",
        SCEAU_MAX_LOCKS="3",
    ) as (bank, _server):
        yield bank


def enrol(bank: Bank, device: Device, user: str, *extra: str) -> tuple[str, dict[str, Any]]:
    """Provision ``user`` and activate ``device`` with the code 4826; return the phone too."""
    phone = f"+33{next(PHONES)}"
    answer = bank.http.put(f"/v1/users/{user}", json={"phone": phone, "display_name": user})
    assert answer.status_code in (200, 201), answer.text
    activation = bank.new_activation(user)
    outcome = device.run(
        "activate",
        activation["qr_uri"],
        "--name",
        f"Téléphone de {user}",
        "--sms-code",
        last_code(bank, phone, "activation_code"),
        "--code-stdin",
        *extra,
        stdin=f"{CODE}\n",
    )
    assert outcome.code == 0, outcome.err
    value: dict[str, Any] = outcome.json
    assert value["status"] == "active"  # a first device
    return phone, value


def again(bank: Bank, device: Device, user: str, phone: str, name: str) -> dict[str, Any]:
    """Activate a second device for an existing customer."""
    activation = bank.new_activation(user)
    outcome = device.run(
        "activate",
        activation["qr_uri"],
        "--name",
        name,
        "--sms-code",
        last_code(bank, phone, "activation_code"),
        "--code-stdin",
        stdin=f"{SECOND_CODE}\n",
    )
    assert outcome.code == 0, outcome.err
    value: dict[str, Any] = outcome.json
    return value


def approve(device: Device, operation_id: str, code: str) -> Outcome:
    return device.run("approve", operation_id, "--code-stdin", stdin=f"{code}\n")


def sms_reset(bank: Bank, device: Device, phone: str, new_code: str, *attempts: str) -> Outcome:
    """``sceau-device reset-code --sms``: the new code first, then, once the SMS has arrived,
    one SMS code and one password per attempt (``{sms}`` stands for the code received)."""
    process = subprocess.Popen(
        [SCEAU_DEVICE, "reset-code", "--sms", "--code-stdin", "--json"],
        env=device.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    assert process.stderr is not None
    try:
        process.stdin.write(f"{new_code}\n")
        process.stdin.flush()
        seen = []
        while not seen or "SMS" not in seen[-1]:  # "Un code vient de vous être envoyé par SMS."
            line = process.stderr.readline()
            if not line:
                break
            seen.append(line)
        received = last_code(bank, phone, "reset_code") if "SMS" in "".join(seen[-1:]) else "0"
        rest = "".join(line.format(sms=received) + "\n" for line in attempts)
        out, err = process.communicate(input=rest, timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    err = "".join(seen) + err
    assert "Traceback" not in err, err
    return Outcome(process.returncode, out, err)


def test_forgotten_code_with_biometrics_then_by_sms(bank: Bank, tmp_path: Path) -> None:
    device = Device(tmp_path / "lc-alice")
    phone, _ = enrol(bank, device, "lc-alice", "--biometrics")
    # With biometrics: the new code is usable at once and the old one fails.
    done = device.run("reset-code", "--biometric", "--code-stdin", stdin="5193\n")
    assert done.code == 0, done.err
    assert "utilisable dès maintenant" in done.err
    created = bank.create("lc-alice", "transfer", TRANSFER)
    old = approve(device, created["id"], CODE)
    assert old.code == 1, old.err
    assert approve(device, created["id"], "5193").code == 0
    # A fingerprint is added on the phone: biometrics stop, the device asks for the code.
    changed = device.run("biometrics", "simulate-change")
    assert changed.code == 0, changed.err
    created = bank.create("lc-alice", "transfer", TRANSFER)
    fallback = device.run("approve", created["id"], "--biometrics", "--code-stdin", stdin="5193\n")
    assert fallback.code == 0, fallback.err
    assert "Validez avec votre code" in fallback.err
    refused = device.run("reset-code", "--biometric", "--code-stdin", stdin="2684\n")
    assert refused.code == 1
    assert "Réinitialisez-le par SMS" in refused.err
    # By SMS code and the online-banking password.
    done = sms_reset(bank, device, phone, "2684", "{sms}", PASSWORD)
    assert done.code == 0, done.err
    assert done.json["method"] == "sms"
    created = bank.create("lc-alice", "transfer", TRANSFER)
    assert approve(device, created["id"], "5193").code == 1  # the old code fails after a reset
    assert approve(device, created["id"], "2684").code == 0


def test_sms_resets_that_must_fail(bank: Bank, tmp_path: Path) -> None:
    device = Device(tmp_path / "lc-bruno")
    phone, _ = enrol(bank, device, "lc-bruno")
    # The device key and the right SMS code alone: two possession elements, refused.
    alone = sms_reset(bank, device, phone, "5193", "{sms}", "")
    assert alone.code == 1, alone.err
    assert alone.json["reason"] == "password_required"
    assert "mot de passe de votre banque en ligne" in alone.err
    # Three wrong SMS codes stop the reset; nothing changed.
    wrong = sms_reset(bank, device, phone, "5193", *_wrong(3))
    assert wrong.code == 1, wrong.err
    assert wrong.json["attempts_left"] == 0
    assert wrong.err.count("Authentification refusée") == 3
    created = bank.create("lc-bruno", "transfer", TRANSFER)
    assert approve(device, created["id"], CODE).code == 0  # the old code still works
    status = device.run("status")
    assert status.json["attempts_left"] == 5
    assert status.json["locked_until"] is None
    # A phone number changed yesterday holds the SMS reset, and the customer is told why.
    yesterday = int(time.time()) - 86_400
    answer = bank.http.put(
        "/v1/users/lc-bruno",
        json={"phone": phone, "display_name": "lc-bruno", "phone_changed_at": yesterday},
    )
    assert answer.status_code == 200, answer.text
    held = device.run("reset-code", "--sms", "--code-stdin", stdin="5193\n")
    assert held.code == 1
    assert held.json["reason"] == "phone_recently_changed"
    assert held.json["held_until"] == yesterday + 3 * 86_400
    assert "numéro de téléphone a été changé" in held.err


def _wrong(count: int) -> list[str]:
    lines = []
    for _ in range(count):
        lines += ["000000", PASSWORD]
    return lines


def test_a_new_device_approved_by_the_old_one_replaces_it(bank: Bank, tmp_path: Path) -> None:
    old = Device(tmp_path / "carla-old")
    phone, _ = enrol(bank, old, "lc-carla")
    pending = bank.create("lc-carla", "transfer", TRANSFER)
    new = Device(tmp_path / "carla-new")
    held = again(bank, new, "lc-carla", phone, "Nouveau téléphone")
    assert held["status"] == "on_hold"
    approved = old.run("approve-device", "--code-stdin", stdin=f"{CODE}\n")
    assert approved.code == 0, approved.err
    assert "Nouvel appareil Sceau" in approved.err
    assert "Nouveau téléphone" in approved.err
    # The old device is replaced: its pending approval fails; the new one approves.
    late = approve(old, pending["id"], CODE)
    assert late.code != 0
    assert bank.operation(pending["id"])["status"] == "pending"
    assert approve(new, pending["id"], SECOND_CODE).code == 0
    devices = new.run("devices")
    assert [d["device_name"] for d in devices.json["devices"]] == ["Nouveau téléphone"]


def test_a_new_device_without_approval_waits_and_the_old_one_cancels_it(
    bank: Bank, tmp_path: Path
) -> None:
    old = Device(tmp_path / "dora-old")
    phone, _ = enrol(bank, old, "lc-dora")
    new = Device(tmp_path / "dora-new")
    held = again(bank, new, "lc-dora", phone, "Téléphone inconnu")
    assert held["status"] == "on_hold"
    assert held["hold_until"] >= time.time() + 71 * 3600  # 72 hours by default
    assert "En attente jusqu’au" in new.run("status").err
    # Both the old device and the SMS channel were alerted.
    assert outbox(bank, phone)[-1][0] == "device_on_hold"
    listed = old.run("devices")
    assert [(d["device_name"], d["status"]) for d in listed.json["devices"]] == [
        ("Téléphone de lc-dora", "active"),
        ("Téléphone inconnu", "on_hold"),
    ]
    cancelled = old.run("cancel-device", "--yes")
    assert cancelled.code == 0, cancelled.err
    assert cancelled.json["cancelled"]["device_name"] == "Téléphone inconnu"
    assert new.run("status").code != 0
    created = bank.create("lc-dora", "transfer", TRANSFER)
    assert approve(old, created["id"], CODE).code == 0


def test_the_bank_releases_the_hold_of_a_customer_who_lost_the_old_device(
    bank: Bank, tmp_path: Path
) -> None:
    old = Device(tmp_path / "fanny-old")
    phone, enrolled = enrol(bank, old, "lc-fanny")
    new = Device(tmp_path / "fanny-new")
    held = again(bank, new, "lc-fanny", phone, "Téléphone de remplacement")
    assert held["status"] == "on_hold"
    status = new.run("status")
    assert status.json["hold_until"] == held["hold_until"]
    assert "En attente jusqu’au" in status.err
    # The old phone is lost: the customer calls the bank, which checks who calls and releases.
    released = bank.admin("devices", "release", held["activation_id"], *OPERATOR)
    assert "is active" in released
    twice = subprocess.run(
        [SCEAU, "admin", "devices", "release", held["activation_id"], *OPERATOR],
        env=bank.env,
        cwd=bank.cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert twice.returncode == 1
    assert "is not on hold" in twice.stderr
    status = new.run("status")
    assert status.json["status"] == "active"
    assert status.json["hold_until"] is None
    assert old.run("status").code != 0  # the device it replaces is revoked
    kind, message = outbox(bank, phone)[-1]
    assert kind == "device_released"
    assert "Téléphone de remplacement" in message
    listing = bank.admin("devices", "list", "lc-fanny")
    assert f"{enrolled['activation_id']}  Téléphone de lc-fanny  [revoked" in listing
    created = bank.create("lc-fanny", "transfer", TRANSFER)
    assert approve(new, created["id"], SECOND_CODE).code == 0


def test_locks_then_the_warning_then_the_permanent_block_and_the_operator(
    strict_bank: Bank, tmp_path: Path
) -> None:
    device = Device(tmp_path / "lc-emma")
    phone, activation = enrol(strict_bank, device, "lc-emma")
    created = strict_bank.create("lc-emma", "transfer", TRANSFER)
    # Each wrong code locks (this policy); the first two locks last 2 seconds. The refusal says
    # "locked" (exit 4) unless the lock already ended when the approval arrived (a slow machine).
    for lock in (1, 2):
        wrong = approve(device, created["id"], "1397")
        assert wrong.code in (1, 4), wrong.err
        assert wrong.json.get("blocked") is not True
        if wrong.code == 4:  # the device shows the warning with the lock that precedes the last
            assert wrong.json["next_lock_final"] is (lock == 2)
            assert ("au prochain blocage" in wrong.err) is (lock == 2)
        status = device.run("status")
        assert status.json["next_lock_final"] is (lock == 2)
        assert ("Attention\u00a0: au prochain blocage" in status.err) is (lock == 2)
        time.sleep(2.2)
    sent = outbox(strict_bank, phone)
    assert [kind for kind, _ in sent[-2:]] == ["locked", "lock_warning"]
    assert "au prochain blocage, il sera définitif" in sent[-1][1]  # warned before it is final
    third = approve(device, created["id"], "1397")
    assert third.code == 4
    assert third.json["blocked"] is True
    assert "définitivement" in third.err
    right = approve(device, created["id"], CODE)
    assert right.code == 4  # even the right code, until the bank unblocks
    unblocked = strict_bank.admin("unblock", activation["activation_id"], *OPERATOR)
    assert "unblocked" in unblocked
    assert outbox(strict_bank, phone)[-1][0] == "unlocked"
    assert device.run("status").json["next_lock_final"] is False
    assert approve(device, created["id"], CODE).code == 0
