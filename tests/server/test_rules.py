# SPDX-License-Identifier: Apache-2.0
"""Rules around operations and activations: idempotency, rate limit, webhooks, the ceremony."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sceau_core.activation import ActivationCode
from sceau_core.encoding import b64url_encode
from sceau_core.knowledge import start_code_evaluation
from sceau_core.results import verify_result
from tests.server.conftest import RelyingPartyClient, ServerHandle, wait_until

LOGIN: dict[str, Any] = {"user": "alice", "type": "login", "data": {}}


def test_idempotency_key_replays_or_conflicts(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    server.enrol(bank, "alice")
    first = bank.create_operation(**LOGIN, idempotency_key="k-1")
    again = bank.create_operation(**LOGIN, idempotency_key="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    before = server.snapshot()
    other = bank.create_operation(
        user="alice", type="login", data={}, ttl=60, idempotency_key="k-1"
    )
    assert other.status_code == 409
    assert other.json()["type"] == "urn:sceau:problem:idempotency-key-reused"
    assert server.snapshot() == before
    # Keys are per relying party.
    other_rp = server.relying_party("ACS 3-D Secure")
    assert other_rp.create_operation(**LOGIN, idempotency_key="k-1").status_code == 201


def test_rate_limit_on_new_operations(make_server: Any) -> None:
    server = make_server(operations_per_minute=3)
    bank = server.relying_party()
    server.enrol(bank, "alice")
    statuses = [bank.create_operation(**LOGIN).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    limited = bank.create_operation(**LOGIN)
    assert limited.headers["retry-after"] == "60"
    assert limited.json()["type"] == "urn:sceau:problem:rate-limited"


def test_scopes_limit_operation_types(server: ServerHandle) -> None:
    bank = server.relying_party(scopes=["users", "activations", "login"])
    server.enrol(bank, "alice")
    response = bank.create_operation(
        user="alice",
        type="add_payee",
        data={"payee_name": "A", "payee_iban": "DE89370400440532013000"},
    )
    assert response.status_code == 403
    acs = server.relying_party("ACS 3-D Secure", scopes=["card_payment"])
    assert (
        acs.http.put("/v1/users/x", json={"phone": "+33600000000", "display_name": "X"}).status_code
        == 403
    )


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]
    fail_first: int

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append({"headers": dict(self.headers), "body": body})
        status = 503 if len(self.received) <= self.fail_first else 204
        self.send_response(status)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        return None


@pytest.fixture
def receiver() -> Any:
    handler = type("Receiver", (_Receiver,), {"received": [], "fail_first": 1})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, handler
    httpd.shutdown()
    httpd.server_close()


def test_webhook_is_signed_retried_and_delivered_once(server: ServerHandle, receiver: Any) -> None:
    httpd, handler = receiver
    hook = f"http://127.0.0.1:{httpd.server_address[1]}/hooks/sceau"
    bank = server.relying_party(callback_allow=[hook])
    device = server.enrol(bank, "alice")
    created = bank.create_operation(**LOGIN, callback_url=hook + "/login").json()
    assert device.approve(created["id"], match=created["match"]).status_code == 200

    wait_until(
        lambda: server.rows("SELECT 1 FROM deliveries WHERE status = 'delivered'"), timeout=15
    )
    assert len(handler.received) == 2  # one 503, then acknowledged
    first, second = handler.received
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    headers, body = second["headers"], second["body"]
    secret = base64.b64decode(bank.rp.webhook_secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.digest(secret, signed, hashlib.sha256)).decode()
    assert hmac.compare_digest(headers["webhook-signature"], expected)
    payload = json.loads(body)
    assert payload["status"] == "approved"
    assert payload["operation"] == created["id"]
    claims = verify_result(
        payload["result"],
        jwks_document=server.jwks(),
        expected_operation_id=created["id"],
        expected_issuer=server.url,
    )
    assert claims.status.value == "approved"
    # Acknowledged: never sent again, even across further sweeps.
    (delivery,) = server.rows("SELECT attempts FROM deliveries")
    assert delivery.attempts == 2
    bank.create_operation(**LOGIN)  # more activity, more worker rounds
    wait_until(lambda: len(server.rows("SELECT 1 FROM operations")) == 2)
    assert len(handler.received) == 2


def test_expired_operations_are_finalized_by_the_sweep(make_server: Any, receiver: Any) -> None:
    httpd, handler = receiver
    handler.fail_first = 0
    hook = f"http://127.0.0.1:{httpd.server_address[1]}/hooks"
    server = make_server()
    bank = server.relying_party(callback_allow=[hook])
    server.enrol(bank, "alice")
    created = bank.create_operation(**LOGIN, ttl=1, callback_url=hook).json()
    wait_until(lambda: handler.received, timeout=10)  # nobody read it: the sweep expired it
    assert json.loads(handler.received[0]["body"])["status"] == "expired"
    assert bank.operation(created["id"])["status"] == "expired"


def test_wrong_sms_code_three_times_kills_the_activation(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    bank.put_user("alice", phone="+33655555555")
    activation = bank.create_activation("alice")
    code = ActivationCode.parse(activation["code"])
    device = server.device()
    found = device.http.get(f"{server.url}/v1/device/activation/{code.lookup_id()}").json()
    device.activation_id = found["activation_id"]
    right = server.sms_code("+33655555555")
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    lefts = [device.register(code, wrong).json().get("attempts_left") for _ in range(3)]
    assert lefts == [2, 1, 0]
    assert device.register(code, right).status_code == 401
    assert (
        device.http.get(f"{server.url}/v1/device/activation/{code.lookup_id()}").status_code == 404
    )


def test_registration_needs_the_activation_code(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    bank.put_user("alice", phone="+33666666666")
    activation = bank.create_activation("alice")
    code = ActivationCode.parse(activation["code"])
    device = server.device()
    device.activation_id = device.http.get(
        f"{server.url}/v1/device/activation/{code.lookup_id()}"
    ).json()["activation_id"]
    impostor = ActivationCode.generate(__import__("os").urandom)
    before = server.rows("SELECT status, sms_attempts FROM activations")
    # Without the activation code, no SMS attempt is spent: whoever learns an activation id
    # (the RP, a log) cannot end the customer's activation (three tries would).
    for _ in range(3):
        assert device.register(impostor, server.sms_code("+33666666666")).status_code == 401
    after = server.rows("SELECT status, sms_attempts FROM activations")
    assert [tuple(r) for r in after] == [tuple(r) for r in before]
    (refused,) = server.rows(
        "SELECT data FROM audit_entries WHERE event = 'device.signature_refused'"
    )  # recorded, at most once a minute: impostors cannot flood the audit log
    assert '"registration_proof"' in refused.data
    assert device.register(code, server.sms_code("+33666666666")).status_code == 200


def test_new_activation_supersedes_the_unused_one_and_new_device_waits_on_hold(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    old_device = server.enrol(bank, "alice", phone="+33677777777")
    first = bank.create_activation("alice")
    second = bank.create_activation("alice")
    lookup = ActivationCode.parse(first["code"]).lookup_id()
    assert server.client().get(f"/v1/device/activation/{lookup}").status_code == 404
    new_device = server.device("Nouveau téléphone")
    new_device.activate(
        second["code"], sms_code=server.sms_code("+33677777777"), pin="2468", status="on_hold"
    )
    # The old device keeps working until the new one is approved or its hold ends (brief L2).
    assert old_device.call("GET", "/v1/device/status").status_code == 200
    devices = bank.http.get("/v1/users/alice").json()["devices"]
    assert [(d["device_name"], d["status"]) for d in devices] == [
        ("Téléphone de test", "active"),
        ("Nouveau téléphone", "on_hold"),
    ]
    assert server.outbox("+33677777777")[-1][0] == "device_on_hold"


def test_registration_evaluation_and_commit_need_the_registered_state(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    device = server.enrol(bank, "alice")
    blinded = b64url_encode(
        start_code_evaluation("4826", rng=__import__("os").urandom).blinded_element
    )
    response = device.call("POST", "/v1/device/activation/oprf", {"blinded_element": blinded})
    assert response.status_code == 401


def test_jwks_and_openapi(server: ServerHandle) -> None:
    keys = server.jwks()["keys"]
    (key,) = keys
    assert key["alg"] == "ES256"
    assert "d" not in key
    document = server.client().get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert "/v1/operations" in document["paths"]


def test_an_approval_arriving_after_expiry_finalizes_the_operation_as_expired(
    make_server: Any,
) -> None:
    server = make_server(sweep_interval=60.0)  # no sweep: the late approval itself expires it
    bank = server.relying_party()
    device = server.enrol(bank, "alice")
    created = bank.create_operation(**LOGIN, ttl=2).json()
    operation = device.operation(created["id"])
    _, knowledge = device.evaluate(created["id"], "4826")
    wait_until(lambda: server.ctx.now() >= created["expires_at"], timeout=5)
    signed = device.sign(
        operation, knowledge_key=knowledge, counter=device.next_counter(), match=created["match"]
    )
    response = device.send(device.decision_call(created["id"], signed))
    assert response.status_code == 409
    assert response.json()["operation_status"] == "expired"
    (row,) = server.rows("SELECT status, result_jws FROM operations")
    assert row.status == "expired"
    assert server.verify_result({**created, "result": row.result_jws}).status.value == "expired"


def _change_code(device: Any, old: str, new: str) -> Any:
    """The SDK's code change, step by step, with the core."""
    import os

    from sceau_core.keys import encode_public_key
    from sceau_core.signatures import sign_code_change, sign_key_renewal

    old_evaluation = start_code_evaluation(old, rng=os.urandom)
    answer = device.call(
        "POST",
        "/v1/device/code/evaluate",
        {"blinded_element": b64url_encode(old_evaluation.blinded_element)},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["attempts_left"] == 4
    old_key = device._finish(old_evaluation, answer.json())
    new_evaluation = start_code_evaluation(new, rng=os.urandom)
    blinded = b64url_encode(new_evaluation.blinded_element)
    counter = device.next_counter()
    signature = sign_code_change(
        old_key, activation_id=device.activation_id, counter=counter, blinded_element=blinded
    )
    answer = device.call(
        "POST",
        "/v1/device/code/change",
        {"blinded_element": blinded, "knowledge_signature": signature},
        counter=counter,
    )
    if answer.status_code != 200:
        return answer
    new_key = device._finish(new_evaluation, answer.json())
    return device.call(
        "POST",
        "/v1/device/code/commit",
        {
            "knowledge_public_key": encode_public_key(new_key.public_key()),
            "knowledge_signature": sign_key_renewal(
                new_key, activation_id=device.activation_id, challenge=answer.json()["challenge"]
            ),
        },
    )


def test_code_change_knowing_the_old_code(server: ServerHandle, bank: RelyingPartyClient) -> None:
    device = server.enrol(bank, "alice", phone="+33699999999")
    assert _change_code(device, "4826", "5193").status_code == 200
    assert server.outbox("+33699999999")[-1][0] == "code_changed"
    created = bank.create_operation(**LOGIN).json()
    old = device.approve(created["id"], "4826", match=created["match"])
    assert old.status_code == 401
    new = device.approve(created["id"], "5193", match=created["match"])
    assert new.status_code == 200
    (row,) = server.rows("SELECT failures FROM activations WHERE status = 'active'")
    assert row.failures == 0


def test_the_old_codes_knowledge_key_is_refused_by_a_server_that_used_it_before(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """The server keeps each activation's keys decoded; once the code has changed, the old
    knowledge key, which it accepted a moment ago, approves nothing (brief K1, P1)."""
    device = server.enrol(bank, "alice", phone="+33697979797")
    warm = bank.create_operation(**LOGIN).json()
    _, old_key = device.evaluate(warm["id"], "4826")
    assert old_key is not None
    signed = device.sign(
        device.operation(warm["id"]),
        knowledge_key=old_key,
        counter=device.next_counter(),
        match=warm["match"],
    )
    assert device.send(device.decision_call(warm["id"], signed)).status_code == 200
    assert _change_code(device, "4826", "5193").status_code == 200
    created = bank.create_operation(**LOGIN).json()
    operation = device.operation(created["id"])
    answer, new_key = device.evaluate(created["id"], "5193")
    assert answer.status_code == 200, answer.text
    signed = device.sign(
        operation, knowledge_key=old_key, counter=device.next_counter(), match=created["match"]
    )
    refused = device.send(device.decision_call(created["id"], signed))
    assert refused.status_code == 401, refused.text
    (row,) = server.rows("SELECT status FROM operations WHERE id = :id", id=created["id"])
    assert row.status == "pending"
    signed = device.sign(
        operation, knowledge_key=new_key, counter=device.next_counter(), match=created["match"]
    )
    assert device.send(device.decision_call(created["id"], signed)).status_code == 200


def test_code_change_with_a_wrong_old_code_is_a_counted_failure(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    device = server.enrol(bank, "alice", phone="+33698989898")
    before = server.rows("SELECT knowledge_public_key FROM activations WHERE status = 'active'")
    refused = _change_code(device, "1357", "5193")
    assert refused.status_code == 401
    assert refused.json()["attempts_left"] == 4
    after = server.rows("SELECT knowledge_public_key FROM activations WHERE status = 'active'")
    assert before == after
    assert server.outbox("+33698989898")[-1][0] == "code_failure"
    commit = device.call(
        "POST",
        "/v1/device/code/commit",
        {"knowledge_public_key": before[0][0], "knowledge_signature": "A" * 86},
    )
    assert commit.status_code == 401
