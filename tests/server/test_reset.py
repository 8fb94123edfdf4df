# SPDX-License-Identifier: Apache-2.0
"""The forgotten code ("Code oublié", brief L3) over real HTTP: both ways, and every refusal.

Each refusal leaves the activation as it was (its keys, attempts and lock); the reset's own
attempt counter, the audit log and the SMS outbox are the records a refusal extends by rule.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from sceau_core.encoding import b64url_encode
from sceau_core.keys import encode_public_key, generate_private_key
from sceau_core.knowledge import CodeEvaluation, start_code_evaluation
from sceau_core.signatures import sign_code_reset, sign_key_registration, sign_key_renewal
from sceau_server.services.events import customer_time
from tests.password_verifier import PASSWORD, PATH, FixedPasswordVerifier
from tests.server.conftest import RelyingPartyClient, ServerHandle
from tests.server.device_double import TestDevice

LOGIN: dict[str, Any] = {"type": "login", "data": {}}
ACTIVATION_COLUMNS = (
    "status, knowledge_public_key, inherence_public_key, failures, locks, locked_until, blocked_at"
)


def problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:sceau:problem:{kind}"
    return body


def activation_state(server: ServerHandle, device: TestDevice) -> Any:
    (row,) = server.rows(
        f"SELECT {ACTIVATION_COLUMNS} FROM activations WHERE id = :id",  # noqa: S608
        id=device.activation_id,
    )
    return tuple(row)


def start(device: TestDevice, method: str) -> httpx.Response:
    return device.call("POST", "/v1/device/reset", {"method": method})


def started(device: TestDevice, method: str) -> dict[str, Any]:
    response = start(device, method)
    assert response.status_code == 201, response.text
    value: dict[str, Any] = response.json()
    assert value["method"] == method
    return value


def reset_sms_code(server: ServerHandle, phone: str) -> str:
    """The last reset code the outbox holds for ``phone``."""
    messages = [message for kind, message in server.outbox(phone) if kind == "reset_code"]
    assert messages, server.outbox(phone)
    found = re.findall(r"\b(\d{6})\b", messages[-1])
    assert found, messages[-1]
    return str(found[0])


def evaluate(
    device: TestDevice,
    reset: dict[str, Any],
    new_code: str,
    *,
    sms_code: str | None = None,
    password: str | None = None,
    inherence_key: Any = None,
) -> tuple[httpx.Response, CodeEvaluation]:
    """Prove the second element and ask for the new code's evaluation."""
    evaluation = start_code_evaluation(new_code, rng=os.urandom)
    blinded = b64url_encode(evaluation.blinded_element)
    counter = device.next_counter()
    body: dict[str, Any] = {"blinded_element": blinded}
    if inherence_key is not None:
        body["inherence_signature"] = sign_code_reset(
            inherence_key,
            activation_id=device.activation_id,
            reset_id=reset["reset_id"],
            challenge=reset["challenge"],
            counter=counter,
            blinded_element=blinded,
        )
    if sms_code is not None:
        body["sms_code"] = sms_code
    if password is not None:
        body["password"] = password
    response = device.call(
        "POST", f"/v1/device/reset/{reset['reset_id']}/evaluate", body, counter=counter
    )
    return response, evaluation


def commit(
    device: TestDevice,
    reset: dict[str, Any],
    answer: httpx.Response,
    evaluation: CodeEvaluation,
    *,
    challenge: str | None = None,
) -> httpx.Response:
    """Register the new knowledge key, signed over the reset's challenge (or ``challenge``)."""
    key = device._finish(evaluation, answer.json())
    return device.call(
        "POST",
        f"/v1/device/reset/{reset['reset_id']}/commit",
        {
            "knowledge_public_key": encode_public_key(key.public_key()),
            "knowledge_signature": sign_key_renewal(
                key, activation_id=device.activation_id, challenge=challenge or reset["challenge"]
            ),
        },
    )


def enrol_with_biometrics(
    server: ServerHandle, bank: RelyingPartyClient, user: str, phone: str
) -> TestDevice:
    bank.put_user(user, phone=phone)
    device = server.device()
    device.inherence_key = generate_private_key(os.urandom)
    device.activate(
        bank.create_activation(user)["code"], sms_code=server.sms_code(phone), pin="4826"
    )
    return device


def lock(bank: RelyingPartyClient, device: TestDevice, user: str) -> None:
    """Lock the activation with wrong codes (the policy of these servers: 2 failures)."""
    created = bank.create_operation(user=user, **LOGIN).json()
    for _ in range(2):
        response, _ = device.evaluate(created["id"], "1397")
    assert response.json()["locked_until"] is not None


def assert_code_works(bank: RelyingPartyClient, device: TestDevice, user: str, code: str) -> None:
    created = bank.create_operation(user=user, **LOGIN).json()
    response = device.approve(created["id"], code, match=created["match"])
    assert response.status_code == 200, response.text


def test_biometric_reset_unlocks_and_the_new_code_works_at_once(make_server: Any) -> None:
    server = make_server(max_failures=2, lock_durations=(600,))
    bank = server.relying_party()
    phone = "+33610000001"
    device = enrol_with_biometrics(server, bank, "alice", phone)
    lock(bank, device, "alice")
    before = activation_state(server, device)
    reset = started(device, "biometric")
    assert reset["attempts_left"] == 3
    answer, evaluation = evaluate(device, reset, "5193", inherence_key=device.inherence_key)
    assert answer.status_code == 200, answer.text
    done = commit(device, reset, answer, evaluation)
    assert done.status_code == 200, done.text
    assert done.json()["locked_until"] is None
    after = activation_state(server, device)
    assert after[1] != before[1]  # a new knowledge key
    assert (after[3], after[4], after[5]) == (0, 0, None)  # attempts cleared, lock lifted
    (open_attempts,) = server.rows(
        "SELECT count(*) AS n FROM attempts WHERE cleared_at IS NULL AND activation_id = :id",
        id=device.activation_id,
    )
    assert open_attempts.n == 0
    # The old code is useless, the new one works at once.
    created = bank.create_operation(user="alice", **LOGIN).json()
    assert device.approve(created["id"], "4826", match=created["match"]).status_code == 401
    assert device.approve(created["id"], "5193", match=created["match"]).status_code == 200
    kinds = [kind for kind, _ in server.outbox(phone)]
    assert "code_reset" in kinds
    events = [row.event for row in server.rows("SELECT event FROM audit_entries ORDER BY seq")]
    assert {"code.reset_started", "code.reset_authorized", "activation.code_reset"} <= set(events)
    # The commit is single use.
    assert commit(device, reset, answer, evaluation).status_code == 401


def test_sms_and_password_reset(make_server: Any) -> None:
    FixedPasswordVerifier.checked.clear()
    server = make_server(password_verifier=PATH)
    bank = server.relying_party()
    phone = "+33610000002"
    device = server.enrol(bank, "bruno", phone=phone)
    reset = started(device, "sms")
    code = reset_sms_code(server, phone)
    answer, evaluation = evaluate(device, reset, "5193", sms_code=code, password=PASSWORD)
    assert answer.status_code == 200, answer.text
    assert commit(device, reset, answer, evaluation).status_code == 200
    assert FixedPasswordVerifier.checked[-1] == "bruno"
    assert_code_works(bank, device, "bruno", "5193")
    # Neither the SMS code nor the password is in the audit log.
    for row in server.rows("SELECT data FROM audit_entries"):
        assert PASSWORD not in row.data
        assert code not in row.data


def test_device_key_and_sms_code_alone_are_refused(make_server: Any) -> None:
    server = make_server(password_verifier=PATH)
    bank = server.relying_party()
    phone = "+33610000003"
    device = server.enrol(bank, "carla", phone=phone)
    before = activation_state(server, device)
    reset = started(device, "sms")
    code = reset_sms_code(server, phone)
    for password in (None, ""):
        answer, _ = evaluate(device, reset, "5193", sms_code=code, password=password)
        body = problem(answer, 403, "reset-refused")
        assert body["reason"] == "password_required"
        assert "mot de passe" in body["message_fr"]
    assert activation_state(server, device) == before
    (row,) = server.rows("SELECT status, attempts FROM code_resets")
    assert (row.status, row.attempts) == ("open", 0)  # not even counted: nothing was checked
    assert_code_works(bank, device, "carla", "4826")


def test_three_wrong_sms_codes_end_the_reset_and_change_nothing(make_server: Any) -> None:
    server = make_server(password_verifier=PATH)
    bank = server.relying_party()
    phone = "+33610000004"
    device = server.enrol(bank, "dora", phone=phone)
    before = activation_state(server, device)
    reset = started(device, "sms")
    right = reset_sms_code(server, phone)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    bodies = []
    for left in (2, 1, 0):
        answer, _ = evaluate(device, reset, "5193", sms_code=wrong, password=PASSWORD)
        body = problem(answer, 401, "authentication-failed")
        assert body["attempts_left"] == left
        bodies.append(body)
    answer, _ = evaluate(device, reset, "5193", sms_code=right, password=PASSWORD)
    assert problem(answer, 401, "authentication-failed")["attempts_left"] == 0
    assert activation_state(server, device) == before
    (row,) = server.rows("SELECT status, attempts FROM code_resets")
    assert (row.status, row.attempts) == ("failed", 3)
    assert server.outbox(phone)[-1][0] == "reset_failed"
    assert_code_works(bank, device, "dora", "4826")


def test_a_wrong_password_fails_like_a_wrong_sms_code(make_server: Any) -> None:
    server = make_server(password_verifier=PATH)
    bank = server.relying_party()
    phone = "+33610000005"
    device = server.enrol(bank, "emma", phone=phone)
    reset = started(device, "sms")
    right = reset_sms_code(server, phone)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    by_password, _ = evaluate(device, reset, "5193", sms_code=right, password="devine")
    by_sms, _ = evaluate(device, reset, "5193", sms_code=wrong, password=PASSWORD)
    first = problem(by_password, 401, "authentication-failed")
    second = problem(by_sms, 401, "authentication-failed")
    del first["attempts_left"], second["attempts_left"]
    assert {k: v for k, v in first.items() if k not in ("message_fr", "message_en")} == {
        k: v for k, v in second.items() if k not in ("message_fr", "message_en")
    }  # brief K4: nothing says which element failed
    assert first["message_fr"].startswith("Authentification refusée")


def test_a_recent_phone_change_holds_the_sms_reset(make_server: Any) -> None:
    server = make_server(password_verifier=PATH)
    bank = server.relying_party()
    phone = "+33610000006"
    device = enrol_with_biometrics(server, bank, "fanny", phone)
    yesterday = int(time.time()) - 86_400
    answer = bank.http.put(
        "/v1/users/fanny",
        json={"phone": phone, "display_name": "Fanny", "phone_changed_at": yesterday},
    )
    assert answer.status_code == 200, answer.text
    before = activation_state(server, device)
    body = problem(start(device, "sms"), 403, "reset-refused")
    assert body["reason"] == "phone_recently_changed"
    assert body["held_until"] == yesterday + server.settings.reset_phone_hold
    held_until = body["held_until"]
    assert f"changé le {customer_time(server.ctx, yesterday, 'fr')}. " in body["message_fr"]
    assert f"à partir du {customer_time(server.ctx, held_until, 'fr')}. " in body["message_fr"]
    assert f"from {customer_time(server.ctx, held_until, 'en')}. " in body["message_en"]
    assert "reset_code" not in [kind for kind, _ in server.outbox(phone)]
    assert server.rows("SELECT id FROM code_resets") == []
    assert activation_state(server, device) == before
    events = server.rows("SELECT data FROM audit_entries WHERE event = 'code.reset_refused'")
    assert "phone_recently_changed" in events[-1].data
    # Biometrics do not depend on the phone number: that reset is not held.
    reset = started(device, "biometric")
    answer, evaluation = evaluate(device, reset, "5193", inherence_key=device.inherence_key)
    assert commit(device, reset, answer, evaluation).status_code == 200


def test_without_a_bank_verifier_sms_resets_are_unavailable(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    phone = "+33610000007"
    device = server.enrol(bank, "gina", phone=phone)
    body = problem(start(device, "sms"), 403, "reset-refused")
    assert body["reason"] == "sms_reset_unavailable"
    assert "biométrie" in body["message_fr"]
    assert "reset_code" not in [kind for kind, _ in server.outbox(phone)]
    body = problem(start(device, "biometric"), 403, "reset-refused")
    assert body["reason"] == "no_biometrics"


def test_biometric_reset_with_a_wrong_key_is_counted_and_ends_after_three(
    make_server: Any,
) -> None:
    server = make_server()
    bank = server.relying_party()
    device = enrol_with_biometrics(server, bank, "hana", "+33610000008")
    before = activation_state(server, device)
    reset = started(device, "biometric")
    impostor = generate_private_key(os.urandom)
    lefts = []
    for _ in range(3):
        answer, _ = evaluate(device, reset, "5193", inherence_key=impostor)
        lefts.append(problem(answer, 401, "authentication-failed")["attempts_left"])
    assert lefts == [2, 1, 0]
    answer, _ = evaluate(device, reset, "5193", inherence_key=device.inherence_key)
    assert answer.status_code == 401
    # A signature without biometrics, or replayed at another counter, is refused too.
    reset = started(device, "biometric")
    answer, _ = evaluate(device, reset, "5193")
    assert answer.status_code == 401
    assert activation_state(server, device) == before


def test_resets_are_rate_limited_and_refused_once_blocked(make_server: Any) -> None:
    server = make_server(resets_per_day=2, max_failures=1, max_locks=1)
    bank = server.relying_party()
    device = enrol_with_biometrics(server, bank, "ines", "+33610000009")
    first = started(device, "biometric")
    second = started(device, "biometric")  # supersedes the first
    statuses = {row.id: row.status for row in server.rows("SELECT id, status FROM code_resets")}
    assert statuses == {first["reset_id"]: "superseded", second["reset_id"]: "open"}
    refused = start(device, "biometric")
    body = problem(refused, 429, "rate-limited")
    assert int(refused.headers["Retry-After"]) > 0
    assert "réinitialisation" in body["message_fr"]
    # Blocked for good (max_locks=1): only the bank can unblock, no reset.
    created = bank.create_operation(user="ines", **LOGIN).json()
    response, _ = device.evaluate(created["id"], "1397")
    assert response.json()["blocked"] is True
    server2 = make_server(max_failures=1, max_locks=1)
    bank2 = server2.relying_party()
    other = enrol_with_biometrics(server2, bank2, "jade", "+33610000010")
    created = bank2.create_operation(user="jade", **LOGIN).json()
    assert other.evaluate(created["id"], "1397")[0].json()["blocked"] is True
    body = problem(start(other, "biometric"), 403, "reset-refused")
    assert body["reason"] == "blocked"


def test_an_old_registration_cannot_roll_the_code_back(make_server: Any) -> None:
    server = make_server()
    bank = server.relying_party()
    device = enrol_with_biometrics(server, bank, "karl", "+33610000011")
    # First reset to 5193, keeping what the network saw of it.
    first = started(device, "biometric")
    answer, evaluation = evaluate(device, first, "5193", inherence_key=device.inherence_key)
    first_key = device._finish(evaluation, answer.json())
    captured = {
        "knowledge_public_key": encode_public_key(first_key.public_key()),
        "knowledge_signature": sign_key_renewal(
            first_key, activation_id=device.activation_id, challenge=first["challenge"]
        ),
    }
    assert (
        device.call("POST", f"/v1/device/reset/{first['reset_id']}/commit", captured).status_code
        == 200
    )
    # A second reset to 2684; its commit replaced by the captured one (or the activation's
    # registration, signed without any challenge) is refused.
    second = started(device, "biometric")
    answer, evaluation = evaluate(device, second, "2684", inherence_key=device.inherence_key)
    assert answer.status_code == 200
    path = f"/v1/device/reset/{second['reset_id']}/commit"
    assert device.call("POST", path, captured).status_code == 401
    registration = {
        "knowledge_public_key": captured["knowledge_public_key"],
        "knowledge_signature": sign_key_registration(first_key, activation_id=device.activation_id),
    }
    assert device.call("POST", path, registration).status_code == 401
    assert commit(device, second, answer, evaluation).status_code == 200
    assert_code_works(bank, device, "karl", "2684")


def test_a_reset_belongs_to_its_device_and_needs_its_steps_in_order(make_server: Any) -> None:
    server = make_server()
    bank = server.relying_party()
    device = enrol_with_biometrics(server, bank, "lena", "+33610000012")
    other = enrol_with_biometrics(server, bank, "marc", "+33610000013")
    reset = started(device, "biometric")
    # Another customer's device cannot use it.
    answer, _ = evaluate(other, reset, "5193", inherence_key=other.inherence_key)
    assert answer.status_code == 401
    # No commit before the second element was proved.
    evaluation = start_code_evaluation("5193", rng=os.urandom)
    key = generate_private_key(os.urandom)
    early = device.call(
        "POST",
        f"/v1/device/reset/{reset['reset_id']}/commit",
        {
            "knowledge_public_key": encode_public_key(key.public_key()),
            "knowledge_signature": sign_key_renewal(
                key, activation_id=device.activation_id, challenge=reset["challenge"]
            ),
        },
    )
    assert early.status_code == 401
    del evaluation
    unknown = device.call(
        "POST", "/v1/device/reset/rst_unknown/evaluate", {"blinded_element": "A" * 43}
    )
    assert unknown.status_code == 401


@pytest.mark.parametrize("method", ["biometric", "sms"])
def test_reset_start_validates_its_method(
    server: ServerHandle, bank: RelyingPartyClient, method: str
) -> None:
    device = server.enrol(bank, f"nina-{method}")
    response = device.call("POST", "/v1/device/reset", {"method": "courrier"})
    assert response.status_code == 422


def test_an_abandoned_reset_evaluation_stays_a_counted_failure(make_server: Any) -> None:
    server = make_server()
    bank = server.relying_party()
    device = enrol_with_biometrics(server, bank, "olga", "+33610000014")
    reset = started(device, "biometric")
    answer, _ = evaluate(device, reset, "5193", inherence_key=device.inherence_key)
    assert answer.status_code == 200
    rows = server.rows(
        "SELECT cleared_at FROM attempts WHERE activation_id = :id", id=device.activation_id
    )
    assert [row.cleared_at for row in rows] == [None]  # until a commit clears it (brief K3)
    assert device.call("GET", "/v1/device/operations").json()["attempts_left"] == 4


def test_the_sms_code_is_kept_as_a_keyed_digest_and_expires(make_server: Any) -> None:
    server = make_server(password_verifier=PATH)
    bank = server.relying_party()
    phone = "+33610000021"
    device = server.enrol(bank, "paula", phone=phone)
    before = activation_state(server, device)
    asked = int(time.time())
    reset = started(device, "sms")
    assert asked + 300 <= reset["expires_at"] <= int(time.time()) + 300  # 5 minutes
    code = reset_sms_code(server, phone)
    (row,) = server.rows("SELECT sms_digest FROM code_resets")
    assert code not in row.sms_digest
    assert row.sms_digest == server.ctx.digest("reset-sms", reset["reset_id"], code)
    # Five minutes later (the row's expiry moved back rather than waiting), the code is refused.
    with server.ctx.db.engine.begin() as connection:
        connection.execute(
            text("UPDATE code_resets SET expires_at = :past WHERE id = :id"),
            {"past": int(time.time()) - 1, "id": reset["reset_id"]},
        )
    answer, _ = evaluate(device, reset, "5193", sms_code=code, password=PASSWORD)
    assert problem(answer, 401, "authentication-failed")["attempts_left"] == 0
    assert activation_state(server, device) == before
    assert_code_works(bank, device, "paula", "4826")
