# SPDX-License-Identifier: Apache-2.0
"""The SDK's credential lifecycle against the real server (in-process, real HTTP and SQLite):
the forgotten code both ways, biometrics changes, device replacement, hold and removal."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path
from typing import Any

import pytest
from keyrings.alt.file import PlaintextKeyring

from sceau_device.activation import ActivationSession
from sceau_device.authenticator import Authenticator
from sceau_device.biometrics import SimulatedBiometrics
from sceau_device.errors import (
    AuthenticationRefused,
    BiometricsInvalidated,
    InputError,
    RequestRefused,
)
from sceau_device.keystore import Keystore
from tests.device.conftest import file_keyring
from tests.password_verifier import PASSWORD, PATH
from tests.server import conftest as server_fixtures
from tests.server.conftest import RelyingPartyClient, ServerHandle

# The real server of tests/server, started in this process for each test that asks for it.
backend = server_fixtures.backend
make_server = server_fixtures.make_server

TRANSFER = {
    "amount": {"value": "42.00", "currency": "EUR"},
    "payee_name": "Jean Dupont",
    "payee_iban": "FR7630006000011234567890189",
}


class Phone:
    """One computer with its keystore, file keyring and simulated biometrics."""

    def __init__(self, directory: Path) -> None:
        self.keyring: PlaintextKeyring = file_keyring(directory)
        self.keystore = Keystore(directory / "keystore.json", keyring_backend=self.keyring)
        self.notices = io.StringIO()
        self.biometrics = SimulatedBiometrics(directory / "biometrics.json", out=self.notices)


def activate(
    server: ServerHandle,
    bank: RelyingPartyClient,
    user: str,
    phone_number: str,
    phone: Phone,
    *,
    name: str = "Téléphone",
    biometrics: bool = True,
) -> tuple[Authenticator, ActivationSession]:
    bank.put_user(user, phone=phone_number)
    activation = bank.create_activation(user)
    session = ActivationSession.start(phone.keystore, activation["qr_uri"])
    session.register(name, server.sms_code(phone_number))
    device = session.choose_code("4826", biometrics=phone.biometrics if biometrics else None)
    return device, session


def approve_transfer(bank: RelyingPartyClient, device: Authenticator, user: str, code: str) -> str:
    created = bank.create_operation(user=user, type="transfer", data=TRANSFER).json()
    operation = device.operation(created["id"])
    return device.approve_with_code(operation, code).status


def reset_code_from_outbox(server: ServerHandle, phone: str) -> str:
    (message,) = [m for kind, m in server.outbox(phone) if kind == "reset_code"][-1:]
    found = re.search(r"\b(\d{6})\b", message)
    assert found is not None
    return found.group(1)


def test_biometric_reset_and_a_new_fingerprint(make_server: Any, tmp_path: Path) -> None:
    server = make_server()
    bank = server.relying_party()
    phone = Phone(tmp_path / "phone")
    device, _ = activate(server, bank, "alice", "+33630000001", phone)
    with pytest.raises(InputError) as trivial:
        device.reset_code_with_biometrics("1234")  # trivial (K5): refused before anything
    assert "suite de chiffres" in trivial.value.message("fr")
    assert server.rows("SELECT id FROM code_resets") == []
    device.reset_code_with_biometrics("5193")
    assert approve_transfer(bank, device, "alice", "5193") == "approved"
    with pytest.raises(AuthenticationRefused):
        approve_transfer(bank, device, "alice", "4826")
    # A fingerprint is added in the phone's settings: the biometric key is gone.
    phone.biometrics.add_fingerprint()
    created = bank.create_operation(user="alice", type="transfer", data=TRANSFER).json()
    operation = device.operation(created["id"])
    with pytest.raises(BiometricsInvalidated):
        device.approve_with_biometrics(operation)
    with pytest.raises(BiometricsInvalidated) as invalidated:
        device.reset_code_with_biometrics("2684")
    assert "Réinitialisez-le par SMS" in invalidated.value.message("fr")
    assert device.approve_with_code(operation, "5193").status == "approved"
    # Enrolling biometrics again needs the code.
    with pytest.raises(AuthenticationRefused):
        device.enable_biometrics("1397", phone.biometrics)
    device.enable_biometrics("5193", phone.biometrics)
    created = bank.create_operation(user="alice", type="transfer", data=TRANSFER).json()
    assert device.approve_with_biometrics(device.operation(created["id"])).status == "approved"
    device.disable_biometrics("5193")
    assert device.status().inherence is False
    device.close()


def test_sms_reset_needs_the_password(make_server: Any, tmp_path: Path) -> None:
    server = make_server(password_verifier=PATH)
    bank = server.relying_party()
    number = "+33630000002"
    device, _ = activate(server, bank, "bruno", number, Phone(tmp_path / "p"), biometrics=False)
    reset = device.start_code_reset("sms")
    code = reset_code_from_outbox(server, number)
    with pytest.raises(RequestRefused) as refused:
        device.finish_code_reset(reset, "5193", sms_code=code, password=None)
    assert refused.value.reason == "password_required"
    with pytest.raises(AuthenticationRefused) as wrong:
        device.finish_code_reset(reset, "5193", sms_code=code, password="devine")
    assert wrong.value.attempts_left == 2
    device.finish_code_reset(reset, "5193", sms_code=code, password=PASSWORD)
    assert approve_transfer(bank, device, "bruno", "5193") == "approved"
    # A phone number changed yesterday holds the SMS reset, and the customer is told why.
    answer = bank.http.put(
        "/v1/users/bruno",
        json={
            "phone": number,
            "display_name": "Bruno",
            "phone_changed_at": int(time.time()) - 86_400,
        },
    )
    assert answer.status_code == 200
    with pytest.raises(RequestRefused) as held:
        device.start_code_reset("sms")
    assert held.value.reason == "phone_recently_changed"
    assert held.value.held_until is not None
    assert "numéro de téléphone" in held.value.message("fr")
    device.close()


def test_replacing_a_device_approved_from_the_old_one(make_server: Any, tmp_path: Path) -> None:
    server = make_server()
    bank = server.relying_party()
    number = "+33630000003"
    old, _ = activate(server, bank, "carla", number, Phone(tmp_path / "old"), name="Ancien")
    new, session = activate(server, bank, "carla", number, Phone(tmp_path / "new"), name="Neuf")
    assert session.hold_until is not None
    held = new.status()
    assert (held.status, held.hold_until) == ("on_hold", session.hold_until)
    listed = {(d.device_name, d.status, d.current, d.hold_until) for d in old.devices()}
    assert listed == {
        ("Ancien", "active", True, None),
        ("Neuf", "on_hold", False, session.hold_until),
    }
    operation = old.device_approval()
    assert operation.display[0] == "Nouvel appareil Sceau"
    assert old.approve_with_code(operation, "4826").status == "approved"
    active = new.status()
    assert (active.status, active.hold_until) == ("active", None)
    with pytest.raises(AuthenticationRefused):
        old.status()
    old.close()
    new.close()


def test_cancelling_a_held_device_and_removing_one(make_server: Any, tmp_path: Path) -> None:
    server = make_server(max_devices=2)
    bank = server.relying_party()
    number = "+33630000004"
    first, _ = activate(server, bank, "dora", number, Phone(tmp_path / "a"), name="Téléphone")
    intruder, _ = activate(server, bank, "dora", number, Phone(tmp_path / "b"), name="Inconnu")
    cancelled = first.cancel_device()
    assert cancelled.device_name == "Inconnu"
    with pytest.raises(AuthenticationRefused):
        intruder.status()
    with pytest.raises(InputError):
        first.cancel_device()  # nothing left on hold
    tablet, _ = activate(server, bank, "dora", number, Phone(tmp_path / "c"), name="Tablette")
    assert first.approve_with_code(first.device_approval(), "4826").status == "approved"
    assert {d.device_name for d in first.devices()} == {"Téléphone", "Tablette"}
    with pytest.raises(InputError) as itself:
        first.remove_device("Téléphone")
    assert "cet appareil-ci" in itself.value.message("fr")
    with pytest.raises(InputError) as unknown:
        first.remove_device("Montre")
    assert "Aucun appareil « Montre »" in unknown.value.message("fr")
    assert first.remove_device("tablette").device_name == "Tablette"
    with pytest.raises(AuthenticationRefused):
        tablet.status()
    for device in (first, intruder, tablet):
        device.close()
