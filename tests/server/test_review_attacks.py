# SPDX-License-Identifier: Apache-2.0
"""Small findings of the adversarial reviews, each an attack that must fail through the real API."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
from schwifty import IBAN as SCHWIFTY_IBAN

from sceau_core.activation import ActivationCode
from sceau_server.api.rp import STREAMS_PER_OPERATION
from tests.server.conftest import RelyingPartyClient, ServerHandle, wait_until
from tests.server.test_pro import EXECUTION, IBAN, setup_company


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def test_an_iban_spelled_with_non_ascii_letters_is_refused_and_names_its_field(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """ "ß".upper() is "SS" and "ı".upper() is "I": neither may make a valid IBAN."""
    valid = str(SCHWIFTY_IBAN.generate("GB", bank_code="SSIS123456", account_code="12345678"))
    bank.put_user("alice")
    assert bank.http.put("/v1/organisations/acme", json={"name": "ACME"}).status_code == 201
    before = server.snapshot()
    for spoofed in (valid.replace("SS", "\u00df", 1), valid.replace("I", "\u0131", 1)):
        assert spoofed.upper() == valid
        payment = bank.create_operation(
            user="alice",
            type="transfer",
            data={
                "amount": {"value": "10.00", "currency": "EUR"},
                "payee_name": "Imprimerie du Centre",
                "payee_iban": spoofed,
            },
        )
        assert _problem(payment, 422)["detail"].startswith(
            "data.payee_iban: must contain only ASCII"
        )
        account = bank.http.put(
            f"/v1/accounts/{spoofed}",
            json={"organisation": "acme", "currency": "EUR", "name": "Compte courant"},
        )
        errors = _problem(account, 422)["errors"]
        assert ["path", "iban"] in [error["loc"] for error in errors]
    assert server.snapshot() == before


def test_a_retried_rights_change_with_its_idempotency_key_makes_one_operation(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    devices, members = setup_company(server, bank)
    path = f"/v1/accounts/{IBAN}/rights"
    body = {"member": members["bob"], "rights": ["view"], "admin": "alice"}
    key = {"Idempotency-Key": "rights-bob-1"}
    first = bank.http.post(path, json=body, headers=key)
    assert first.status_code == 201, first.text
    before = server.snapshot()
    retried = bank.http.post(path, json=body, headers=key)
    assert retried.status_code == 200, retried.text
    assert retried.json() == first.json()
    for other in (
        {**body, "rights": ["view", "prepare"]},
        {**body, "member": members["carol"]},
    ):
        problem = _problem(bank.http.post(path, json=other, headers=key), 409)
        assert problem["type"] == "urn:sceau:problem:idempotency-key-reused"
    assert server.snapshot() == before
    # A key an operation already used is not free for a rights change either.
    taken = {"Idempotency-Key": "transfer-1"}
    made = bank.http.post(
        "/v1/operations",
        json={
            "user": "alice",
            "type": "transfer",
            "data": {
                "amount": {"value": "10.00", "currency": "EUR"},
                "payee_name": "Imprimerie du Centre",
                "payee_iban": "DE89370400440532013000",
            },
        },
        headers=taken,
    )
    assert made.status_code == 201, made.text
    before = server.snapshot()
    reused = _problem(bank.http.post(path, json=body, headers=taken), 409)
    assert reused["type"] == "urn:sceau:problem:idempotency-key-reused"
    assert server.snapshot() == before
    assert [operation.id for operation in devices["alice"].pending()].count(first.json()["id"]) == 1
    assert devices["alice"].approve(first.json()["id"]).json()["status"] == "approved"
    # Once applied, the retry still answers the same operation, and applies nothing twice.
    again = bank.http.post(path, json=body, headers=key)
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    assert again.json()["status"] == "approved"
    rights_changes = server.rows("SELECT id FROM operations WHERE type = 'rights_change'")
    assert len(rights_changes) == 1


def test_a_member_without_validate_cannot_learn_that_a_batch_exists_from_its_lines(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    rights = {"carol": ["view", "prepare"]}
    devices, _ = setup_company(server, bank, rights=rights)
    stranger = server.enrol(bank, "dave", phone="+33630000077")
    line = {
        "payee_name": "Imprimerie du Centre",
        "payee_iban": "DE89370400440532013000",
        "amount": {"value": "50.00", "currency": "EUR"},
    }
    created = bank.create_operation(
        user="alice",
        type="batch_transfer",
        account=IBAN,
        data={"debtor_iban": IBAN, "execution_date": EXECUTION.isoformat(), "lines": [line, line]},
    )
    assert created.status_code == 201, created.text
    path = f"/v1/device/operations/{created.json()['id']}/lines"
    assert len(devices["bob"].call("GET", path).json()["lines"]) == 2
    unknown = "/v1/device/operations/op_AAAAAAAAAAAAAAAAAAAAAA/lines"
    missing = _problem(devices["bob"].call("GET", unknown), 404)
    before = server.snapshot()
    for device in (devices["carol"], stranger):
        answer = _problem(device.call("GET", path), 404)
        assert (answer["type"], answer["detail"]) == (missing["type"], missing["detail"])
    assert server.snapshot() == before
    # Deciding still says why: the member is one, without the right (docs/api.md).
    evaluate = f"/v1/device/operations/{created.json()['id']}/evaluate"
    refused = devices["carol"].call("POST", evaluate, {"blinded_element": "A" * 43})
    assert _problem(refused, 403)["type"] == "urn:sceau:problem:forbidden"


def _login(bank: RelyingPartyClient, user: str) -> dict[str, Any]:
    created = bank.create_operation(user=user, type="login", data={})
    assert created.status_code == 201, created.text
    result: dict[str, Any] = created.json()
    return result


def _follow(
    stack: contextlib.ExitStack, bank: RelyingPartyClient, operation_id: str
) -> tuple[httpx.Response, Iterator[str]]:
    """An RP event stream on the operation."""
    client = stack.enter_context(
        httpx.Client(base_url=bank.http.base_url, timeout=20, headers=dict(bank.http.headers))
    )
    response = stack.enter_context(client.stream("GET", f"/v1/operations/{operation_id}/events"))
    lines = response.iter_lines()
    if response.status_code != 200:
        response.read()
    return response, lines


def _next_status(lines: Iterator[str]) -> str:
    for line in lines:
        if line.startswith("data: "):
            status: str = httpx.Response(200, content=line[6:]).json()["status"]
            return status
    return "closed"


def test_the_process_cap_applies_to_the_rps_operation_streams(make_server: Any) -> None:
    """At SCEAU_MAX_STREAMS a relying party's new stream is a 503 problem with Retry-After;
    the streams already open keep working."""
    server = make_server(max_streams=2)
    bank = server.relying_party()
    device = server.enrol(bank, "ada")
    first, second = _login(bank, "ada"), _login(bank, "ada")
    with contextlib.ExitStack() as stack:
        held = [_follow(stack, bank, first["id"]) for _ in range(2)]
        assert all(response.status_code == 200 for response, _ in held)
        assert [_next_status(lines) for _, lines in held] == ["pending"] * len(held)
        refused, _ = _follow(stack, bank, second["id"])
        assert _problem(refused, 503)["type"] == "urn:sceau:problem:unavailable"
        assert refused.headers["retry-after"]
        assert device.approve(first["id"], match=first["match"]).status_code == 200
        for _, lines in held:
            assert _next_status(lines) == "approved"


def test_one_operation_is_followed_by_a_bounded_number_of_rp_streams(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    device = server.enrol(bank, "ada")
    created, other = _login(bank, "ada"), _login(bank, "ada")
    with contextlib.ExitStack() as stack:
        held = [_follow(stack, bank, created["id"]) for _ in range(STREAMS_PER_OPERATION)]
        assert all(response.status_code == 200 for response, _ in held)
        assert [_next_status(lines) for _, lines in held] == ["pending"] * len(held)
        refused, _ = _follow(stack, bank, created["id"])
        assert _problem(refused, 429)["type"] == "urn:sceau:problem:rate-limited"
        assert refused.headers["retry-after"]
        # Another operation is followed as usual.
        elsewhere, _ = _follow(stack, bank, other["id"])
        assert elsewhere.status_code == 200
        assert device.approve(created["id"], match=created["match"]).status_code == 200
        for _, lines in held:
            assert _next_status(lines) == "approved"
    # Streams that ended free their places.
    with contextlib.ExitStack() as stack:
        again, lines = _follow(stack, bank, created["id"])
        assert (again.status_code, _next_status(lines)) == (200, "approved")


def test_the_sweep_ends_a_registered_activation_once_its_code_expired(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """Registered but never committed, an activation cannot be finished after its code's
    expiry: the sweep ends it then, and destroys its keys, not a whole TTL after registration."""
    phone = "+33655558888"
    bank.put_user("ines", phone=phone)
    # The code was issued 100 s ago, so its expiry comes well before "registration + TTL".
    server.ctx.clock = lambda: time.time() - 100
    created = bank.create_activation("ines")
    server.ctx.clock = time.time
    code = ActivationCode.parse(created["code"])
    device = server.device("inachevé")
    found = device.http.get(f"{server.url}/v1/device/activation/{code.lookup_id()}").json()
    device.activation_id = found["activation_id"]
    assert device.register(code, server.sms_code(phone)).status_code == 200
    (row,) = server.rows("SELECT status, registered_at FROM activations")
    assert row.status == "registered"
    assert created["expires_at"] < row.registered_at + server.settings.activation_ttl

    server.ctx.clock = lambda: created["expires_at"] + 1.0

    def ended() -> bool:
        return bool(server.rows("SELECT id FROM activations WHERE status = 'expired'"))

    wait_until(ended, timeout=15)
    (row,) = server.rows(
        "SELECT registration_key_wrapped, oprf_key_wrapped, sms_digest, end_reason FROM activations"
    )
    assert (row.registration_key_wrapped, row.oprf_key_wrapped, row.sms_digest) == ("", "", "")
    assert row.end_reason == "not_finished_in_time"
    (entry,) = server.rows(
        "SELECT subject, data FROM audit_entries WHERE event = 'activation.expired'"
    )
    assert entry.subject == device.activation_id
    assert "registered" in entry.data
