# SPDX-License-Identifier: Apache-2.0
"""Each operation type end to end: the bank asks, the device approves, the bank verifies the JWS."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sceau_core.approval import Decision
from sceau_core.results import ResultStatus
from sceau_core.signatures import verify_signed_operation
from tests.server.conftest import RelyingPartyClient, ServerHandle, wait_until
from tests.server.test_pro import EXECUTION

IBAN = "FR7630006000011234567890189"

OPERATIONS: dict[str, dict[str, Any]] = {
    "login": {},
    "card_payment": {
        "acs_transaction_id": "8a880dc0-d2d2-4067-bcb1-b08d1690b26e",
        "merchant_name": "Librairie du Centre",
        "merchant_url": "https://librairie.example/panier",
        "amount": {"value": "42.90", "currency": "EUR"},
        "card_last4": "4242",
    },
    "transfer": {
        "amount": {"value": "1234.56", "currency": "EUR"},
        "payee_name": "Jean Dupont",
        "payee_iban": "FR76 3000 6000 0112 3456 7890 189",
        "reference": "Loyer novembre",
    },
    "add_payee": {"payee_name": "Marie Curie", "payee_iban": "DE89370400440532013000"},
    "e_signature": {
        "document_title": "Offre de prêt immobilier",
        "document_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "document_pages": 12,
    },
    "batch_transfer": {
        "debtor_iban": IBAN,
        "execution_date": EXECUTION.isoformat(),
        "lines": [
            {
                "payee_name": "Fournisseur A",
                "payee_iban": "DE89370400440532013000",
                "amount": {"value": "100.00", "currency": "EUR"},
            },
            {
                "payee_name": "Fournisseur B",
                "payee_iban": "DE89370400440532013000",
                "amount": {"value": "200.00", "currency": "EUR"},
                "reference": "Facture 12",
            },
        ],
        "count": 2,
        "total": {"value": "300.00", "currency": "EUR"},
    },
}


@pytest.mark.parametrize("kind", sorted(OPERATIONS))
def test_each_operation_type_end_to_end(
    server: ServerHandle, bank: RelyingPartyClient, kind: str
) -> None:
    device = server.enrol(bank, f"client-{kind}")
    response = bank.create_operation(
        user=f"client-{kind}",
        type=kind,
        data=OPERATIONS[kind],
        context={"ip": "203.0.113.7", "channel": "web", "user_agent": "Mozilla/5.0 Firefox/128.0"},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "pending"
    match = created.get("match")
    assert (match is not None) == (kind == "login")

    operation = device.operation(created["id"])
    assert operation.digest == created["digest"]
    assert "match" not in operation.to_json()  # brief D6: the device never receives the number
    assert operation.display[0]

    answer = device.approve(created["id"], match=match)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "approved"

    view = bank.operation(created["id"])
    assert view["status"] == "approved"
    claims = server.verify_result(view)
    assert claims.status is ResultStatus.APPROVED
    assert claims.factors == ("knowledge", "possession")
    assert claims.signers == (device.activation_id,)
    assert claims.operation_type == kind


def test_transfer_display_is_french_and_masked(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    device = server.enrol(bank, "alice")
    created = bank.create_operation(user="alice", type="transfer", data=OPERATIONS["transfer"])
    operation = device.operation(created.json()["id"])
    assert operation.display[0] == "Virement"
    assert "Montant\u00a0: 1\u202f234,56\u00a0€" in operation.display
    assert "IBAN\u00a0: FR76 •••• •••• 0189" in operation.display


def test_refusal_and_not_me(server: ServerHandle, bank: RelyingPartyClient) -> None:
    device = server.enrol(bank, "bob")
    first = bank.create_operation(user="bob", type="add_payee", data=OPERATIONS["add_payee"])
    second = bank.create_operation(user="bob", type="add_payee", data=OPERATIONS["add_payee"])
    assert device.refuse(first.json()["id"]).status_code == 200
    assert device.refuse(second.json()["id"], Decision.NOT_ME).status_code == 200

    refused = bank.operation(first.json()["id"])
    assert refused["status"] == "rejected"
    assert server.verify_result(refused).factors == ("possession",)
    fraud = bank.operation(second.json()["id"])
    assert fraud["status"] == "not_me"
    assert fraud["suspected_fraud"] is True
    assert server.verify_result(fraud).status is ResultStatus.NOT_ME
    user = bank.http.get("/v1/users/bob").json()
    assert user["fraud_flagged_at"] is not None


def test_wrong_login_number_refuses_the_login_without_a_code_failure(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    device = server.enrol(bank, "carol")
    created = bank.create_operation(user="carol", type="login", data={}).json()
    wrong = f"{(int(created['match']) + 1) % 90 + 10}"
    answer = device.approve(created["id"], match=wrong)
    assert answer.status_code == 401
    assert answer.json()["type"] == "urn:sceau:problem:authentication-failed"
    view = bank.operation(created["id"])
    assert view["status"] == "rejected"
    (activation,) = server.rows("SELECT failures FROM activations WHERE status = 'active'")
    assert activation.failures == 0  # brief K3: a wrong number is not a code failure


def test_long_poll_and_events_see_the_result(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    import threading

    device = server.enrol(bank, "dave")
    created = bank.create_operation(user="dave", type="login", data={}).json()
    results: dict[str, Any] = {}
    first_event = threading.Event()

    def wait() -> None:
        results["wait"] = bank.http.get(f"/v1/operations/{created['id']}/wait?timeout=20").json()

    def stream() -> None:
        events = []
        with (
            server.client(headers=dict(bank.http.headers)) as http,
            http.stream("GET", f"/v1/operations/{created['id']}/events") as response,
        ):
            for line in response.iter_lines():
                if line.startswith("data: "):
                    events.append(line[6:])
                    first_event.set()
        results["events"] = events

    threads = [threading.Thread(target=wait), threading.Thread(target=stream)]
    for thread in threads:
        thread.start()
    # Both are listening: the stream has sent its first state, the long poll is subscribed.
    assert first_event.wait(20)
    channel = f"operation:{created['id']}"
    wait_until(lambda: server.ctx.notifier.listener_count(channel) >= 2)  # type: ignore[attr-defined]
    assert device.approve(created["id"], match=created["match"]).status_code == 200
    for thread in threads:
        thread.join(timeout=20)
    assert results["wait"]["status"] == "approved"
    assert '"status":"pending"' in results["events"][0]
    assert '"status":"approved"' in results["events"][-1]


def test_device_event_stream_carries_the_signed_operation_then_its_end(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    import threading

    device = server.enrol(bank, "erin")
    call = device.prepare("GET", "/v1/device/events")
    seen: list[dict[str, Any]] = []
    first = threading.Event()

    def listen() -> None:
        with (
            server.client() as http,
            http.stream("GET", call.path, headers=call.headers) as response,
        ):
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith("data: "):
                    seen.append(json.loads(line.removeprefix("data: ")))
                    first.set()
                    if len(seen) == 2:
                        return

    thread = threading.Thread(target=listen)
    thread.start()
    wait_until(lambda: server.ctx.notifier.has_listeners(f"device:{device.activation_id}"))  # type: ignore[attr-defined]
    created = bank.create_operation(user="erin", type="login", data={}).json()
    assert first.wait(10)
    assert (seen[0]["id"], seen[0]["status"]) == (created["id"], "pending")
    # Signed as in the pending list: the device shows it without asking (brief D8).
    operation = verify_signed_operation(seen[0]["signed"], public_key=server.ctx.public_key)
    assert (operation.id, operation.digest) == (created["id"], created["digest"])
    assert device.approve(created["id"], match=created["match"]).status_code == 200
    thread.join(timeout=10)
    assert seen[1] == {"id": created["id"], "status": "approved"}


def test_evidence_bundle_of_an_approved_operation(
    server: ServerHandle, bank: RelyingPartyClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sceau_server import audit, cli

    device = server.enrol(bank, "fred")
    created = bank.create_operation(user="fred", type="add_payee", data=OPERATIONS["add_payee"])
    operation_id = created.json()["id"]
    assert device.approve(operation_id).status_code == 200
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
    bundle = server.tmp_path / "evidence.json"
    assert cli.main(["admin", "evidence", operation_id, "--out", str(bundle)]) == 0
    evidence = json.loads(bundle.read_text())
    assert evidence["operation"]["id"] == operation_id
    assert evidence["approvals"][0]["approval"]["decision"] == "approve"
    events = [entry["event"] for entry in evidence["chain"]]
    assert "operation.created" in events
    assert "operation.approved" in events
    public_key = audit.checkpoint_public_key_path(settings.checkpoint_key_path)
    assert audit.cli_verify_evidence(bundle, public_key) == 0


def test_biometric_approval_and_the_lock_stopping_it(make_server: Any) -> None:
    from sceau_core.keys import generate_private_key

    server = make_server(max_failures=1, lock_durations=(60,))
    bank = server.relying_party()
    bank.put_user("gail", phone="+33688888888")
    device = server.device()
    device.inherence_key = generate_private_key(__import__("os").urandom)
    device.activate(
        bank.create_activation("gail")["code"], sms_code=server.sms_code("+33688888888"), pin="4826"
    )
    first = bank.create_operation(user="gail", type="login", data={}).json()
    operation = device.operation(first["id"])
    signed = device.sign(operation, counter=device.next_counter(), match=first["match"])
    assert device.send(device.decision_call(first["id"], signed)).status_code == 200
    claims = server.verify_result(bank.operation(first["id"]))
    assert claims.factors == ("inherence", "possession")

    # One wrong code locks (max_failures=1): biometrics are stopped too (brief K3).
    second = bank.create_operation(user="gail", type="login", data={}).json()
    third = bank.create_operation(user="gail", type="login", data={}).json()
    response, _ = device.evaluate(second["id"], "1111")
    assert response.json()["locked_until"] is not None
    operation = device.operation(third["id"])
    signed = device.sign(operation, counter=device.next_counter(), match=third["match"])
    response = device.send(device.decision_call(third["id"], signed))
    assert response.status_code == 401
    assert response.json()["locked_until"] is not None
    assert bank.operation(third["id"])["status"] == "pending"
