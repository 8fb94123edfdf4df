# SPDX-License-Identifier: Apache-2.0
"""The attacks of issue 3, each refused over real HTTP with the server's state left unchanged.

"State" is every row of the server's tables (see ``STATE_TABLES`` in conftest); the audit log
and the SMS outbox are append-only records that a refusal may extend by rule.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from sceau_core.approval import Approval, Decision, Factor, sign_approval
from sceau_core.encoding import b64url_encode, canonical_json, sha256_b64url
from sceau_core.keys import generate_private_key
from sceau_core.knowledge import start_code_evaluation
from sceau_server.services.events import customer_time
from tests.server.conftest import RelyingPartyClient, ServerHandle, wait_until
from tests.server.device_double import SignedCall, TestDevice

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


def send_alone(device: TestDevice, call: SignedCall) -> httpx.Response:
    """Send ``call`` on its own connection, as a parallel client would."""
    with httpx.Client(timeout=30) as client:
        return device.send(call, client)


def problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:sceau:problem:{kind}"
    assert body["status"] == status
    assert "Traceback" not in response.text
    return body


def test_replayed_approval_is_refused_without_suspension(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    device = server.enrol(bank, "alice")
    created = transfer(bank, "alice")
    operation = device.operation(created["id"])
    _, knowledge = device.evaluate(created["id"], "4826")
    call = device.decision_call(
        created["id"],
        device.sign(operation, knowledge_key=knowledge, counter=device.next_counter()),
    )
    assert device.send(call).status_code == 200
    before = server.snapshot()
    body = problem(device.send(call), 401, "authentication-failed")
    assert body["message_fr"] == "Authentification refusée"
    assert server.snapshot() == before
    assert bank.operation(created["id"])["status"] == "approved"
    # The same approval carried by a fresh request (new nonce, higher counter) is refused too.
    again = device.prepare("POST", call.path, json.loads(call.body))
    problem(device.send(again), 409, "operation-not-pending")
    assert device.pending() == []  # still active: a replay does not suspend


@pytest.mark.parametrize("change", ["one_cent", "one_iban_digit"])
def test_change_after_signing_invalidates_the_approval(
    server: ServerHandle, bank: RelyingPartyClient, change: str
) -> None:
    device = server.enrol(bank, "bob")
    created = transfer(bank, "bob")
    operation = device.operation(created["id"])
    _, knowledge = device.evaluate(created["id"], "4826")
    shown = operation.to_json()
    if change == "one_cent":
        shown["data"]["amount"]["value"] = "1234.57"
    else:
        shown["data"]["payee_iban"] = "FR7630006000011234567890188"
    counter = device.next_counter()
    approval = Approval(
        activation=device.activation_id,
        operation_id=operation.id,
        digest=sha256_b64url(canonical_json(shown)),
        challenge=operation.challenge,
        decision=Decision.APPROVE,
        factors=(Factor.KNOWLEDGE, Factor.POSSESSION),
        counter=counter,
    )
    signed = sign_approval(
        approval, {Factor.POSSESSION: device.device_key, Factor.KNOWLEDGE: knowledge}
    )
    before = server.snapshot()
    body = problem(
        device.send(device.decision_call(created["id"], signed)), 401, "authentication-failed"
    )
    assert body["attempts_left"] == 4
    assert server.snapshot() == before
    assert bank.operation(created["id"])["status"] == "pending"


def test_approval_signed_by_another_activation_is_refused(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    victim = server.enrol(bank, "carol")
    attacker = server.enrol(bank, "mallory", code="7391")
    created = transfer(bank, "carol")
    operation = victim.operation(created["id"])
    _, attacker_knowledge = attacker.evaluate(created["id"], "7391")
    assert attacker_knowledge is None  # the attacker's device cannot even see the operation

    _, victim_knowledge = victim.evaluate(created["id"], "4826")
    before = server.snapshot()
    # The attacker's own request for the victim's operation: not found for it.
    counter = attacker.next_counter()
    forged = attacker.sign(
        operation,
        knowledge_key=victim_knowledge,
        counter=counter,
        activation_id=victim.activation_id,
    )
    problem(attacker.send(attacker.decision_call(created["id"], forged)), 404, "not-found")
    # Carried by the victim's device, an approval signed with another device key fails as well.
    counter = victim.next_counter()
    forged = victim.sign(
        operation, knowledge_key=victim_knowledge, counter=counter, device_key=attacker.device_key
    )
    problem(victim.send(victim.decision_call(created["id"], forged)), 401, "authentication-failed")
    assert server.snapshot() == before


def test_approval_after_expiry_does_nothing(make_server: Any) -> None:
    server = make_server()
    bank = server.relying_party()
    device = server.enrol(bank, "dave")
    created = transfer(bank, "dave", ttl=2)
    operation = device.operation(created["id"])
    _, knowledge = device.evaluate(created["id"], "4826")
    signed = device.sign(operation, knowledge_key=knowledge, counter=device.next_counter())
    wait_until(lambda: bank.operation(created["id"])["status"] == "expired", timeout=10)
    before = server.snapshot()
    body = problem(
        device.send(device.decision_call(created["id"], signed)), 409, "operation-not-pending"
    )
    assert body["operation_status"] == "expired"
    assert body["message_fr"] == "Opération expirée"
    assert server.snapshot() == before
    view = bank.operation(created["id"])
    assert server.verify_result(view).status.value == "expired"


def test_twenty_concurrent_approvals_exactly_one_wins(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    device = server.enrol(bank, "erin")
    created = transfer(bank, "erin")
    operation = device.operation(created["id"])
    _, knowledge = device.evaluate(created["id"], "4826")
    call = device.decision_call(
        created["id"],
        device.sign(operation, knowledge_key=knowledge, counter=device.next_counter()),
    )
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda _: send_alone(device, call).status_code, range(20)))
    assert statuses.count(200) == 1
    assert sorted(set(statuses)) == [200, 401]
    assert len(server.rows("SELECT * FROM approvals")) == 1
    assert bank.operation(created["id"])["status"] == "approved"


def test_cancel_racing_an_approval_gives_one_final_state(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    device = server.enrol(bank, "frank")
    created = transfer(bank, "frank")
    operation = device.operation(created["id"])
    _, knowledge = device.evaluate(created["id"], "4826")
    call = device.decision_call(
        created["id"],
        device.sign(operation, knowledge_key=knowledge, counter=device.next_counter()),
    )

    def act(index: int) -> int:
        if index == 5:
            return send_alone(device, call).status_code
        with server.client(headers=dict(bank.http.headers)) as http:
            return http.post(f"/v1/operations/{created['id']}/cancel").status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(act, range(10)))
    assert statuses.count(200) == 1
    final = bank.operation(created["id"])
    assert final["status"] in ("approved", "cancelled")
    assert (
        len(
            server.rows(
                "SELECT * FROM audit_entries WHERE subject = :s AND event IN "
                "('operation.approved', 'operation.cancelled')",
                s=created["id"],
            )
        )
        == 1
    )


def test_five_wrong_codes_lock_until_the_unlock_time(make_server: Any) -> None:
    server = make_server(lock_durations=(3, 60))
    bank = server.relying_party()
    device = server.enrol(bank, "gina", phone="+33611111111")
    created = transfer(bank, "gina")
    operation = device.operation(created["id"])
    left = []
    for wrong in ("1111", "2222", "3333", "4444", "5555"):
        response, knowledge = device.evaluate(created["id"], wrong)
        assert response.status_code == 200
        left.append(response.json()["attempts_left"])
        signed = device.sign(operation, knowledge_key=knowledge, counter=device.next_counter())
        refused = problem(
            device.send(device.decision_call(created["id"], signed)), 401, "authentication-failed"
        )
    assert left == [4, 3, 2, 1, 0]
    locked_until = refused["locked_until"]
    assert locked_until is not None
    before = server.snapshot()
    # The right code is refused until then: no evaluation is even answered.
    response, knowledge = device.evaluate(created["id"], "4826")
    body = problem(response, 401, "authentication-failed")
    assert body["locked_until"] == locked_until
    assert body["attempts_left"] == 0
    assert server.snapshot() == before
    kinds = [kind for kind, _ in server.outbox("+33611111111")]
    assert kinds.count("code_failure") == 4
    assert kinds.count("locked") == 1
    (locked_sms,) = [text for kind, text in server.outbox("+33611111111") if kind == "locked"]
    until = customer_time(server.ctx, locked_until, "fr")
    assert locked_sms.endswith(f"bloquée jusqu’au {until}.")
    # After the unlock time, the right code works again.
    wait_until(
        lambda: device.call("GET", "/v1/device/status").json()["locked_until"] is None, timeout=10
    )
    assert device.approve(created["id"]).status_code == 200


def test_locks_grow_then_become_permanent_with_a_warning(make_server: Any) -> None:
    server = make_server(lock_durations=(1, 2), max_locks=3, max_failures=1)
    bank = server.relying_party()
    device = server.enrol(bank, "hugo", phone="+33622222222")
    durations = []
    for _ in range(3):
        created = transfer(bank, "hugo")
        wait_until(lambda: device.call("GET", "/v1/device/status").json()["locked_until"] is None)
        response, _ = device.evaluate(created["id"], "1111")
        assert response.status_code == 200
        answer = response.json()
        if answer["blocked"]:
            durations.append(None)
        else:
            (attempt,) = server.rows("SELECT max(created_at) AS at FROM attempts")
            durations.append(answer["locked_until"] - attempt.at)
        bank.http.post(f"/v1/operations/{created['id']}/cancel")
    first, second, third = durations
    assert first is not None
    assert second is not None
    assert third is None
    assert (first, second) == (1, 2)
    kinds = [kind for kind, _ in server.outbox("+33622222222")]
    assert kinds[-3:] == ["locked", "lock_warning", "blocked"]
    created = transfer(bank, "hugo")
    response, _ = device.evaluate(created["id"], "4826")
    assert problem(response, 401, "authentication-failed")["blocked"] is True


@pytest.mark.parametrize("max_locks", [5, 1], ids=["temporary_lock", "permanent_block"])
def test_biometrics_cannot_approve_the_operation_whose_code_evaluation_locked(
    make_server: Any, max_locks: int
) -> None:
    server = make_server(max_locks=max_locks)
    bank = server.relying_party()
    bank.put_user("lena", phone="+33611110001")
    device = server.device()
    device.inherence_key = generate_private_key(os.urandom)
    device.activate(
        bank.create_activation("lena")["code"], sms_code=server.sms_code("+33611110001"), pin="4826"
    )
    created = transfer(bank, "lena")
    operation = device.operation(created["id"])
    for _ in range(5):
        response, _ = device.evaluate(created["id"], "1397")
        assert response.status_code == 200
    state = response.json()
    assert state["locked_until"] is not None or state["blocked"]
    signed = device.sign(operation, counter=device.next_counter())  # biometrics, no code
    refused = device.send(device.decision_call(created["id"], signed))
    assert refused.status_code == 401, refused.text
    assert bank.operation(created["id"])["status"] == "pending"


def test_twenty_parallel_evaluations_answer_at_most_five(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    device = server.enrol(bank, "ivan")
    created = transfer(bank, "ivan")
    blinded = b64url_encode(start_code_evaluation("4826", rng=os.urandom).blinded_element)
    calls = [
        device.prepare(
            "POST",
            f"/v1/device/operations/{created['id']}/evaluate",
            {"blinded_element": blinded},
        )
        for _ in range(20)
    ]
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda call: send_alone(device, call), calls))
    answered = [r for r in responses if r.status_code == 200]
    assert 1 <= len(answered) <= 5
    attempts = server.rows("SELECT * FROM attempts")
    assert len(attempts) == len(answered)
    (activation,) = server.rows(
        "SELECT failures, locks FROM activations WHERE id = :i", i=device.activation_id
    )
    assert activation.failures + 5 * activation.locks == len(answered)


def test_an_evaluation_never_followed_by_a_signature_stays_counted(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    device = server.enrol(bank, "jane", phone="+33633333333")
    first = transfer(bank, "jane")
    response, _ = device.evaluate(first["id"], "4826")
    assert response.json()["attempts_left"] == 4
    bank.http.post(f"/v1/operations/{first['id']}/cancel")
    second = transfer(bank, "jane")
    response, _ = device.evaluate(second["id"], "4826")
    assert response.json()["attempts_left"] == 3
    kinds = [kind for kind, _ in server.outbox("+33633333333")]
    assert kinds.count("code_failure") == 1  # the customer is told of the abandoned evaluation


def test_an_evaluation_serves_only_the_approval_of_its_own_operation(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    # Brief K3: an attempt is bound to one operation; the code evaluated for one operation
    # neither approves another one nor is cleared by it.
    device = server.enrol(bank, "leo", phone="+33633333334")
    first, second = transfer(bank, "leo"), transfer(bank, "leo")
    response, knowledge_key = device.evaluate(first["id"], "4826")
    assert response.json()["attempts_left"] == 4
    signed = device.sign(
        device.operation(second["id"]), knowledge_key=knowledge_key, counter=device.next_counter()
    )
    problem(device.send(device.decision_call(second["id"], signed)), 401, "authentication-failed")
    assert bank.operation(second["id"])["status"] == "pending"
    response, _ = device.evaluate(second["id"], "4826")
    assert response.json()["attempts_left"] == 3


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/hooks/sceau",
        "https://bank.example/hooks/sceau-evil",
        "https://bank.example:8443/hooks/sceau",
        "http://bank.example/hooks/sceau",
        "https://user@bank.example/hooks/sceau",
        "https://bank.example/hooks/sceau/../../admin",
        "https://bank.example/hooks/sceau/%2e%2e/admin",
        "https://bank.example.evil.example/hooks/sceau",
        # Encoded slashes and backslashes: a receiver that decodes before normalizing posts
        # to /admin; controls: urlsplit drops them, so another URL would be checked.
        "https://bank.example/hooks/sceau/..%2fadmin",
        "https://bank.example/hooks/sceau/x/..%2F..%2Fadmin",
        "https://bank.example/hooks/sceau/..%5Cadmin",
        "https://bank.example/hooks/sceau/%252e%252e/admin",
        "https://bank.exa\tmple/hooks/sceau",
        "https://bank.example/hooks/sceau/\r\nx",
        "https://bank.example/hooks/sceau/%0d%0ax",
    ],
)
def test_callback_outside_the_allowlist_is_refused(make_server: Any, url: str) -> None:
    server = make_server()
    bank = server.relying_party(callback_allow=["https://bank.example/hooks/sceau"])
    server.enrol(bank, "kate")
    before = server.snapshot()
    response = bank.create_operation(user="kate", type="transfer", data=TRANSFER, callback_url=url)
    problem(response, 422, "callback-not-allowed")
    assert server.snapshot() == before


def test_revoked_device_is_refused(server: ServerHandle, bank: RelyingPartyClient) -> None:
    device = server.enrol(bank, "liam")
    created = transfer(bank, "liam")
    operation = device.operation(created["id"])
    _, knowledge = device.evaluate(created["id"], "4826")
    signed = device.sign(operation, knowledge_key=knowledge, counter=device.next_counter())
    response = bank.http.delete(f"/v1/users/liam/activations/{device.activation_id}")
    assert response.status_code == 204
    before = server.snapshot()
    problem(device.send(device.decision_call(created["id"], signed)), 401, "authentication-failed")
    problem(device.call("GET", "/v1/device/operations"), 401, "authentication-failed")
    assert server.snapshot() == before
    assert bank.http.get("/v1/users/liam").json()["devices"] == []


def test_device_removing_itself_makes_its_keys_useless(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    device = server.enrol(bank, "maya")
    assert device.call("DELETE", "/v1/device/activation").status_code == 204
    before = server.snapshot()
    problem(device.call("GET", "/v1/device/status"), 401, "authentication-failed")
    assert server.snapshot() == before
    problem(bank.create_operation(user="maya", type="login", data={}), 409, "conflict")


def test_one_rp_cannot_read_another_rps_operation(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    server.enrol(bank, "nina")
    created = transfer(bank, "nina")
    other = server.relying_party("Service de signature")
    before = server.snapshot()
    problem(other.http.get(f"/v1/operations/{created['id']}"), 404, "not-found")
    problem(other.http.get(f"/v1/operations/{created['id']}/wait?timeout=0"), 404, "not-found")
    problem(other.http.get(f"/v1/operations/{created['id']}/events"), 404, "not-found")
    problem(other.http.post(f"/v1/operations/{created['id']}/cancel"), 404, "not-found")
    problem(other.http.get("/v1/operations/op_doesnotexist"), 404, "not-found")
    assert server.snapshot() == before


def test_counter_regression_suspends_and_alerts(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    device = server.enrol(bank, "omar", phone="+33644444444")
    assert device.call("GET", "/v1/device/status").status_code == 200
    clone = TestDevice(
        base_url=device.base_url,
        device_key=device.device_key,
        device_secret=device.device_secret,
        activation_id=device.activation_id,
        counter=1,
    )
    server.clients.append(clone.http)
    problem(clone.call("GET", "/v1/device/status"), 401, "authentication-failed")
    (row,) = server.rows(
        "SELECT status, end_reason FROM activations WHERE id = :i", i=device.activation_id
    )
    assert (row.status, row.end_reason) == ("suspended", "counter_regression")
    assert server.outbox("+33644444444")[-1][0] == "suspended"
    events = server.rows(
        "SELECT event FROM audit_entries WHERE subject = :i", i=device.activation_id
    )
    assert ("activation.suspended",) in [tuple(e) for e in events]
    # The genuine device is refused too until the bank acts.
    problem(device.call("GET", "/v1/device/status"), 401, "authentication-failed")


def test_a_counter_equal_to_the_last_accepted_one_counts_as_a_clone(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    # Strictly increasing (brief P3): a copy that reuses the genuine device's last counter with
    # a fresh nonce is a clone, not a replay.
    device = server.enrol(bank, "ines", phone="+33644444445")
    assert device.call("GET", "/v1/device/status").status_code == 200
    problem(
        device.call("GET", "/v1/device/status", counter=device.counter),
        401,
        "authentication-failed",
    )
    (row,) = server.rows(
        "SELECT status, end_reason FROM activations WHERE id = :i", i=device.activation_id
    )
    assert (row.status, row.end_reason) == ("suspended", "counter_regression")
    assert server.outbox("+33644444445")[-1][0] == "suspended"


@pytest.mark.parametrize(
    ("content", "status", "kind"),
    [
        (b'{"user": "pat", "type": "login", "data": {}', 400, "malformed-request"),
        (b"not json at all", 400, "malformed-request"),
        (b'{"user": "pat", "type": "login", "data": {}, "admin": true}', 422, "invalid-request"),
        (b'{"user": "pat", "type": "login", "data": []}', 422, "invalid-request"),
        (b'{"user": 42, "type": "login", "data": {}}', 422, "invalid-request"),
        (b'{"user": "pat", "type": "wire", "data": {}}', 422, "invalid-request"),
        (b'{"user": "pat", "type": "login", "data": {}, "ttl": "300"}', 422, "invalid-request"),
        (
            b'{"user": "pat", "type": "transfer", "data": {"amount": {"value": 12.3, '
            b'"currency": "EUR"}, "payee_name": "A", "payee_iban": "FR7630006000011234567890189"}}',
            422,
            "invalid-operation",
        ),
        (
            b'{"user": "pat", "type": "add_payee", "data": {"payee_name": "A", '
            b'"payee_iban": "FR7630006000011234567890188"}}',
            422,
            "invalid-operation",
        ),
        (b'{"user": "pat", "type": "login", "data": {"x": 1}}', 422, "invalid-operation"),
        (b"{" + b'"a": "' + b"x" * 70_000 + b'"}', 413, "payload-too-large"),
    ],
)
def test_bad_requests_are_problems_and_change_nothing(
    server: ServerHandle, bank: RelyingPartyClient, content: bytes, status: int, kind: str
) -> None:
    server.enrol(bank, "pat")
    before = server.snapshot()
    response = bank.http.post(
        "/v1/operations", content=content, headers={"Content-Type": "application/json"}
    )
    problem(response, status, kind)
    assert server.snapshot() == before


def test_bad_device_requests_change_nothing(server: ServerHandle, bank: RelyingPartyClient) -> None:
    device = server.enrol(bank, "quinn")
    created = transfer(bank, "quinn")
    before = server.snapshot()
    path = f"/v1/device/operations/{created['id']}/evaluate"
    problem(
        device.call("POST", path, {"blinded_element": "AAAA", "extra": 1}), 422, "invalid-request"
    )
    problem(device.call("POST", path, {"blinded_element": 12}), 422, "invalid-request")
    problem(device.call("POST", path, {"blinded_element": "A" * 43}), 422, "invalid-request")
    unsigned = device.http.post(device.base_url + path, json={"blinded_element": "A" * 43})
    problem(unsigned, 401, "authentication-failed")
    oversize = device.prepare("POST", path, {"blinded_element": "A" * 100_000})
    problem(device.send(oversize), 413, "payload-too-large")
    problem(
        device.call("POST", f"/v1/device/operations/{created['id']}/decision", {"approval": {}}),
        422,
        "invalid-request",
    )
    stale = device.prepare("GET", "/v1/device/status")
    device.clock_skew = -3600
    problem(device.call("GET", "/v1/device/status"), 401, "authentication-failed")
    device.clock_skew = 0
    assert server.snapshot() == before
    # None of the refused requests was admitted (their bodies or signatures were refused first),
    # so the request signed before them still has a counter above the last one admitted.
    assert device.send(stale).status_code == 200


def test_unknown_routes_and_methods_are_problems(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    problem(bank.http.get("/v1/nothing"), 404, "not-found")
    problem(bank.http.delete("/v1/operations"), 405, "method-not-allowed")
    problem(server.client().get("/v1/users/x"), 401, "unauthorized")
    bad = server.client(headers={"Authorization": "Bearer sceau_sk_wrong"})
    problem(bad.get("/v1/users/x"), 401, "unauthorized")


def test_a_chunked_oversize_body_is_refused(server: ServerHandle, bank: RelyingPartyClient) -> None:
    server.enrol(bank, "rita")
    before = server.snapshot()
    chunks = iter([b'{"user": "rita", "type": "login", "data": {"x": "', b"y" * 70_000, b'"}}'])
    response = bank.http.post(
        "/v1/operations", content=chunks, headers={"Content-Type": "application/json"}
    )
    problem(response, 413, "payload-too-large")
    assert server.snapshot() == before


def test_a_request_never_seen_with_a_stale_counter_counts_as_a_clone(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    # The server cannot tell a request withheld by someone on the path from a clone's: both
    # carry a counter that did not increase and a nonce it never saw. Whatever their signing
    # time, it suspends (brief P3): trusting the signing time let a clone that dates its
    # requests a few seconds ahead go unnoticed (tests/server/test_clone_detection.py).
    device = server.enrol(bank, "sam")
    device.clock_skew = -5
    withheld = device.prepare("GET", "/v1/device/status")  # signed 5 s ago, never delivered
    device.clock_skew = 0
    assert device.call("GET", "/v1/device/status").status_code == 200
    problem(device.send(withheld), 401, "authentication-failed")
    (row,) = server.rows("SELECT status FROM activations WHERE id = :i", i=device.activation_id)
    assert row.status == "suspended"
