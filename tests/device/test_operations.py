# SPDX-License-Identifier: Apache-2.0
"""Operations on the device: verified before display (D8), decided with the right factors."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from sceau_core.approval import Approval
from sceau_core.hazmat import oprf
from sceau_core.keys import generate_private_key
from sceau_core.operations import OperationType
from sceau_device.authenticator import Authenticator
from sceau_device.biometrics import SIMULATION_NOTICE, SimulatedBiometrics
from sceau_device.errors import (
    AuthenticationRefused,
    BiometricsError,
    ExitCode,
    InputError,
    Locked,
    OperationUnavailable,
    SubstitutedEvaluation,
    TamperedOperation,
)
from sceau_device.keystore import Keystore
from tests.device.conftest import CODE, activate
from tests.device.fake_server import FakeServer


def _one_cent_more(signed: dict[str, Any]) -> dict[str, Any]:
    signed["operation"]["data"]["amount"]["value"] = "1234.57"
    return signed


def test_pending_operations_are_verified_with_the_pinned_key(
    server: FakeServer, device: Authenticator
) -> None:
    transfer = server.add_operation()
    login = server.add_operation(OperationType.LOGIN)
    pending = device.pending()
    assert [op.id for op in pending.operations] == [transfer.id, login.id]
    assert pending.operations[0] == transfer
    assert pending.refused == ()
    assert pending.attempts_left == 5
    assert device.operation(transfer.id).display == transfer.display


def test_a_tampered_operation_is_refused_before_display(
    server: FakeServer, device: Authenticator
) -> None:
    genuine = server.add_operation(OperationType.ADD_PAYEE, {
        "payee_name": "Jean Dupont", "payee_iban": "FR7630006000011234567890189"
    })  # fmt: skip
    tampered = server.add_operation()
    server.tamper = lambda signed: (
        _one_cent_more(signed) if signed["operation"]["id"] == tampered.id else signed
    )
    pending = device.pending()
    assert [op.id for op in pending.operations] == [genuine.id]
    assert [r.operation_id for r in pending.refused] == [tampered.id]
    with pytest.raises(TamperedOperation) as caught:
        device.operation(tampered.id)
    assert caught.value.exit_code is ExitCode.SECURITY
    assert "pas signée par votre banque" in caught.value.message("fr")


BATCH = {
    "debtor_iban": "FR7630004012340098765432178",
    "count": 120,
    "total": {"value": "230919.40", "currency": "EUR"},
    "lines_digest": "A" * 43,
    "batch_reference": "ARS-VIR-2026-0311",
    "execution_date": "2026-03-13",
}


def test_a_batch_shows_its_signed_execution_date_and_a_moved_date_is_refused(
    server: FakeServer, device: Authenticator
) -> None:
    genuine = server.add_operation(OperationType.BATCH_TRANSFER, BATCH)
    moved = server.add_operation(OperationType.BATCH_TRANSFER, BATCH)

    def move(signed: dict[str, Any]) -> dict[str, Any]:
        if signed["operation"]["id"] == moved.id:
            signed["operation"]["data"]["execution_date"] = "2026-03-27"
        return signed

    server.tamper = move
    pending = device.pending()
    assert [op.id for op in pending.operations] == [genuine.id]
    assert [r.operation_id for r in pending.refused] == [moved.id]
    shown = device.operation(genuine.id)
    assert "Date d\u2019exécution\u00a0: vendredi 13 mars 2026" in shown.display
    with pytest.raises(TamperedOperation):
        device.operation(moved.id)


def test_an_operation_signed_by_another_key_than_the_pinned_one_is_refused(
    server: FakeServer, device: Authenticator
) -> None:
    operation = server.add_operation()
    server.operation_key = generate_private_key(server.rng)
    assert device.pending().operations == ()
    with pytest.raises(TamperedOperation):
        device.operation(operation.id)


def test_approve_with_the_code(server: FakeServer, device: Authenticator) -> None:
    operation = server.add_operation()
    decided = device.approve_with_code(device.operation(operation.id), CODE)
    assert decided.status == "approved"
    assert [f.value for f in decided.factors] == ["knowledge", "possession"]
    assert server.final[operation.id] == "approved"
    approval = Approval.from_json(server.approvals[-1]["approval"])
    decision = server.requests_to(f"/operations/{operation.id}/decision")[-1]
    assert approval.counter == decision.counter  # the approval carries its request's counter


def test_a_wrong_code_then_the_right_one(server: FakeServer, device: Authenticator) -> None:
    operation = device.operation(server.add_operation().id)
    with pytest.raises(AuthenticationRefused) as caught:
        device.approve_with_code(operation, "1397")
    refusal = caught.value
    assert refusal.attempts_left == 4
    assert refusal.exit_code is ExitCode.REFUSED
    # Brief K4: the refusal never says which factor failed.
    assert refusal.message("fr") == "Authentification refusée. Il vous reste 4 essais."
    assert "code" not in refusal.message("fr").lower()
    assert device.approve_with_code(operation, CODE).status == "approved"


def test_five_wrong_codes_lock_with_the_unlock_time(
    server: FakeServer, device: Authenticator
) -> None:
    operation = device.operation(server.add_operation().id)
    for left in (4, 3, 2, 1):
        with pytest.raises(AuthenticationRefused) as caught:
            device.approve_with_code(operation, "1397")
        assert caught.value.attempts_left == left
    with pytest.raises(Locked) as locked:
        device.approve_with_code(operation, "1397")
    assert locked.value.locked_until is not None
    assert locked.value.exit_code is ExitCode.LOCKED
    assert "jusqu’au" in locked.value.message("fr")
    with pytest.raises(Locked):
        device.approve_with_code(operation, CODE)


def test_a_substituted_evaluation_is_refused_before_signing(
    server: FakeServer, device: Authenticator
) -> None:
    operation = device.operation(server.add_operation().id)
    server.substitute_oprf_key = oprf.generate_key_pair(server.rng)[0]
    with pytest.raises(SubstitutedEvaluation) as caught:
        device.approve_with_code(operation, CODE)
    assert caught.value.exit_code is ExitCode.SECURITY
    assert server.requests_to("/decision") == []
    assert server.approvals == []


def test_login_number_matching(server: FakeServer, device: Authenticator) -> None:
    login = device.operation(server.add_operation(OperationType.LOGIN).id)
    sent = len(server.log)
    with pytest.raises(InputError):
        device.approve_with_code(login, CODE)  # the number is required, asked before anything
    assert len(server.log) == sent
    with pytest.raises(AuthenticationRefused):
        device.approve_with_code(login, CODE, match="17")
    assert device.approve_with_code(login, CODE, match="42").status == "approved"
    assert server.approvals[-1]["approval"]["match"] == "42"
    transfer = device.operation(server.add_operation().id)
    with pytest.raises(InputError):
        device.approve_with_code(transfer, CODE, match="42")


def test_refuse_and_not_me_need_no_code(server: FakeServer, device: Authenticator) -> None:
    first = device.operation(server.add_operation().id)
    second = device.operation(server.add_operation(OperationType.CARD_PAYMENT, {
        "acs_transaction_id": "5f0e3c1a-2b4d-4e6f-8a9b-0c1d2e3f4a5b",
        "merchant_name": "Librairie du Centre", "amount": {"value": "42.90", "currency": "EUR"},
        "card_last4": "4242",
    }).id)  # fmt: skip
    assert device.reject(first).status == "rejected"
    decided = device.not_me(second)
    assert decided.status == "not_me"
    assert [a["approval"]["factors"] for a in server.approvals] == [["possession"]] * 2
    assert [a["approval"]["decision"] for a in server.approvals] == ["reject", "not_me"]
    with pytest.raises(OperationUnavailable) as caught:
        device.reject(first)
    assert caught.value.exit_code is ExitCode.UNAVAILABLE


def test_an_expired_operation_says_so(server: FakeServer, device: Authenticator) -> None:
    start = server.now()
    server.clock = lambda: start  # a loaded machine cannot expire it before the test does
    operation = device.operation(server.add_operation(ttl=1).id)
    server.clock = lambda: operation.expires_at + 1
    with pytest.raises(OperationUnavailable) as caught:
        device.approve_with_code(operation, CODE)
    assert caught.value.message("fr") == "Opération expirée."


def test_biometrics_unlock_a_separate_key(
    server: FakeServer, keystore: Keystore, tmp_path: Path
) -> None:
    out = io.StringIO()
    biometrics = SimulatedBiometrics(tmp_path / "bio.json", out=out)
    device = activate(server, keystore, biometrics=biometrics)
    assert server.inherence_key is not None
    assert device.profile.inherence == "simulated"
    operation = device.operation(server.add_operation().id)
    decided = device.approve_with_biometrics(operation)
    assert decided.status == "approved"
    assert server.approvals[-1]["approval"]["factors"] == ["inherence", "possession"]
    assert SIMULATION_NOTICE in out.getvalue()
    assert (tmp_path / "bio.json").stat().st_mode & 0o777 == 0o600
    # A new fingerprint enrolled: the biometric key is invalidated; the code still works.
    biometrics.change_enrollment()
    other = device.operation(server.add_operation().id)
    with pytest.raises(BiometricsError):
        device.approve_with_biometrics(other)
    assert device.approve_with_code(other, CODE).status == "approved"


def test_a_biometric_check_that_fails_signs_nothing(
    server: FakeServer, keystore: Keystore, tmp_path: Path
) -> None:
    biometrics = SimulatedBiometrics(
        tmp_path / "bio.json", presence=lambda _p: False, out=io.StringIO()
    )
    device = activate(server, keystore, biometrics=biometrics)
    operation = device.operation(server.add_operation().id)
    with pytest.raises(BiometricsError):
        device.approve_with_biometrics(operation)
    assert operation.id not in server.final


def test_change_code_knowing_the_old_one(server: FakeServer, device: Authenticator) -> None:
    with pytest.raises(InputError):
        device.change_code(CODE, "1234")  # trivial: refused before anything is sent
    with pytest.raises(AuthenticationRefused) as caught:
        device.change_code("1397", "5193")
    assert caught.value.attempts_left == 4
    device.change_code(CODE, "5193")
    operation = device.operation(server.add_operation().id)
    with pytest.raises(AuthenticationRefused):
        device.approve_with_code(operation, CODE)
    assert device.approve_with_code(operation, "5193").status == "approved"


def test_status_and_removal(server: FakeServer, device: Authenticator, keystore: Keystore) -> None:
    status = device.status()
    assert status.status == "active"
    assert status.device_name == "Ordinateur de test"
    removal = device.remove()
    assert removal.server_confirmed
    assert server.status == "revoked"
    assert not keystore.exists
    assert keystore.profiles() == []


def test_operation_json_for_scripts(server: FakeServer, device: Authenticator) -> None:
    from sceau_device.display import operation_json

    operation = device.operation(server.add_operation().id)
    value = operation_json(operation, now=device.now())
    assert value["verified"] is True
    assert value["display"][0] == "Virement"
    json.dumps(value)
