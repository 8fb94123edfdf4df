# SPDX-License-Identifier: Apache-2.0
"""Attacks on Sceau Pro (issue 8): each test is an attack that must fail, through the real API."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.server.conftest import RelyingPartyClient, ServerHandle
from tests.server.device_double import SignedCall, TestDevice
from tests.server.test_pro import EXECUTION, IBAN, setup_company, transfer

OTHER_IBAN = "FR7630006000011234567890189"


def _rights(bank: RelyingPartyClient) -> dict[str, list[str]]:
    members = bank.http.get(f"/v1/accounts/{IBAN}").json()["members"]
    return {m["member"]: m["rights"] for m in members}


def _audited(server: ServerHandle, event: str) -> list[Any]:
    return server.rows("SELECT * FROM audit_entries WHERE event = :e ORDER BY seq", e=event)


def test_a_rights_change_does_not_apply_once_its_approver_is_no_longer_administrator(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    devices, members = setup_company(server, bank)
    asked = bank.http.post(
        f"/v1/accounts/{IBAN}/rights",
        json={"member": members["bob"], "rights": ["view"], "admin": "alice"},
    )
    assert asked.status_code == 201, asked.text
    demoted = bank.http.put(
        "/v1/organisations/acme/members/alice", json={"display_name": "Alice", "admin": False}
    )
    assert demoted.status_code == 200, demoted.text
    devices["alice"].approve(asked.json()["id"])
    assert _rights(bank)[members["bob"]] == ["view", "validate"]
    assert _audited(server, "rights.changed") == []
    (entry,) = _audited(server, "rights.not_changed")
    assert "administrator" in entry.data


def test_a_transfer_on_an_account_cannot_debit_another_account(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    devices, _ = setup_company(server, bank)
    before = server.snapshot()
    answer = bank.create_operation(
        user="alice",
        type="transfer",
        account=IBAN,
        data={
            "amount": {"value": "50.00", "currency": "EUR"},
            "payee_name": "Imprimerie du Centre",
            "payee_iban": "DE89370400440532013000",
            "debtor_iban": OTHER_IBAN,
        },
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert "debtor_iban" in answer.json()["detail"]
    assert server.snapshot() == before
    # The account's own IBAN, in any spelling, is accepted.
    same = transfer(bank, "50.00")
    assert same.status_code == 201, same.text
    spelled = bank.create_operation(
        user="alice",
        type="transfer",
        account=IBAN,
        data={
            "amount": {"value": "50.00", "currency": "EUR"},
            "payee_name": "Imprimerie du Centre",
            "payee_iban": "DE89370400440532013000",
            "debtor_iban": IBAN.lower(),
        },
    )
    assert spelled.status_code == 201, spelled.text
    assert devices["bob"].pending()


def test_a_personal_operation_cannot_debit_a_shared_account(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """Leaving out ``account`` must not turn a two-validator account into a one-signature one."""
    devices, _ = setup_company(server, bank)
    line = {
        "payee_name": "Imprimerie du Centre",
        "payee_iban": "DE89370400440532013000",
        "amount": {"value": "50.00", "currency": "EUR"},
    }
    before = server.snapshot()
    personal_transfer = bank.create_operation(
        user="alice", type="transfer", data={**line, "debtor_iban": IBAN.lower()}
    )
    personal_batch = bank.create_operation(
        user="alice",
        type="batch_transfer",
        data={"debtor_iban": IBAN, "execution_date": EXECUTION.isoformat(), "lines": [line, line]},
    )
    for answer in (personal_transfer, personal_batch):
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert "shared account" in answer.json()["detail"]
    assert server.snapshot() == before
    assert devices["alice"].pending() == []
    # A personal transfer from another account is unaffected.
    mine = bank.create_operation(
        user="alice", type="transfer", data={**line, "debtor_iban": OTHER_IBAN}
    )
    assert mine.status_code == 201, mine.text


def test_a_second_member_cannot_borrow_a_members_name(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """Rights changes and "Signature obligatoire de" name members: one name, one member."""
    _, members = setup_company(server, bank)
    server.enrol(bank, "bob2", phone="+33630000055")
    before = server.snapshot()
    for name in ("Bob", "BOB", "bob"):
        answer = bank.http.put("/v1/organisations/acme/members/bob2", json={"display_name": name})
        assert answer.status_code == 409, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert "already" in answer.json()["detail"]
    assert server.snapshot() == before
    # The member keeps their own name, and is the same member when put again.
    again = bank.http.put(
        "/v1/organisations/acme/members/bob", json={"display_name": "Bob", "admin": False}
    )
    assert (again.status_code, again.json()["id"]) == (200, members["bob"])
    other = bank.http.put("/v1/organisations/acme/members/bob2", json={"display_name": "Bob L."})
    assert other.status_code == 201, other.text
    assert other.json()["id"] not in members.values()


def test_a_member_without_validate_trying_to_decide_is_audited_and_changes_nothing(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    devices, members = setup_company(server, bank, rights={"carol": ["view", "prepare"]})
    created = transfer(bank, "20.00", user="carol").json()
    before = server.snapshot()
    for step, body in (("evaluate", {"blinded_element": "A" * 43}), ("decision", {})):
        path = f"/v1/device/operations/{created['id']}/{step}"
        answer = devices["carol"].call("POST", path, body)
        assert answer.status_code == 403, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    assert server.snapshot() == before
    entries = _audited(server, "approval.forbidden")
    assert [entry.subject for entry in entries] == [created["id"]] * 2
    assert devices["carol"].activation_id in entries[0].data
    assert bank.operation(created["id"])["approvals"] == []
    assert members["carol"] not in str(bank.operation(created["id"]))


def _ready(device: TestDevice, operation_id: str) -> SignedCall:
    """Everything up to the decision: the code evaluated, the approval signed, not sent."""
    operation = device.operation(operation_id)
    response, knowledge_key = device.evaluate(operation_id, "4826")
    assert knowledge_key is not None, response.text
    signed = device.sign(operation, knowledge_key=knowledge_key, counter=device.next_counter())
    return device.decision_call(operation_id, signed)


def _race(*sends: tuple[TestDevice, SignedCall]) -> list[httpx.Response]:
    """Send the decisions at the same time, each on its own connection."""

    def send(pair: tuple[TestDevice, SignedCall]) -> httpx.Response:
        with httpx.Client(timeout=30) as client:
            return pair[0].send(pair[1], client)

    with ThreadPoolExecutor(len(sends)) as pool:
        return list(pool.map(send, sends))


def test_two_last_approvals_racing_finalize_once(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    devices, members = setup_company(server, bank)
    created = transfer(bank, "80.00").json()
    calls = [(devices[name], _ready(devices[name], created["id"])) for name in ("bob", "carol")]
    answers = _race(*calls)
    assert sorted(answer.json()["status"] for answer in answers) == ["approved", "pending"]
    view = bank.operation(created["id"])
    assert view["status"] == "approved"
    assert server.verify_result(view).signers == tuple(sorted([members["bob"], members["carol"]]))
    assert len(_audited(server, "operation.approved")) == 1


def test_one_members_two_devices_racing_count_once(make_server: Any) -> None:
    server = make_server(max_devices=2)
    bank = server.relying_party()
    devices, members = setup_company(server, bank)
    second = server.device("Tablette")
    activation = bank.create_activation("alice")
    second.activate(
        activation["code"], sms_code=server.sms_code("+33630000000"), pin="4826", status="on_hold"
    )
    (hold,) = devices["alice"].pending()
    assert devices["alice"].approve(hold.id).status_code == 200
    created = transfer(bank, "80.00").json()
    calls = [(device, _ready(device, created["id"])) for device in (devices["alice"], second)]
    answers = _race(*calls)
    assert sorted(answer.status_code for answer in answers) == [200, 409]
    view = bank.operation(created["id"])
    assert (view["status"], view["still_needed"]) == ("pending", 1)
    assert [approval["member"] for approval in view["approvals"]] == [members["alice"]]


def test_a_rights_change_needs_its_administrator_and_applies_once(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    devices, members = setup_company(server, bank)
    body = {"member": members["bob"], "rights": ["view"], "admin": "alice"}
    first = bank.http.post(f"/v1/accounts/{IBAN}/rights", json=body).json()
    second = bank.http.post(f"/v1/accounts/{IBAN}/rights", json=body).json()
    # Nobody but the administrator's devices decides it, and a relying party cannot forge one.
    path = f"/v1/device/operations/{first['id']}/evaluate"
    assert devices["bob"].call("POST", path, {"blinded_element": "A" * 43}).status_code == 404
    forged = bank.create_operation(
        user="alice", type="rights_change", data=first["operation"]["data"]
    )
    assert forged.status_code == 422, forged.text
    assert devices["alice"].approve(first["id"]).json()["status"] == "approved"
    again = f"/v1/device/operations/{first['id']}/evaluate"
    assert devices["alice"].call("POST", again, {"blinded_element": "A" * 43}).status_code == 409
    assert _rights(bank)[members["bob"]] == ["view"]
    # The same change approved again finds the rights moved: recorded, not applied twice.
    assert devices["alice"].approve(second["id"]).json()["status"] == "approved"
    assert len(_audited(server, "rights.changed")) == 1
    (entry,) = _audited(server, "rights.not_changed")
    assert second["id"] in entry.data
    assert "changed since" in entry.data


def test_an_amount_in_another_currency_than_the_accounts_is_refused(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    setup_company(server, bank)
    before = server.snapshot()
    answer = bank.create_operation(
        user="alice",
        type="transfer",
        account=IBAN,
        data={
            "amount": {"value": "50.00", "currency": "USD"},
            "payee_name": "Imprimerie du Centre",
            "payee_iban": "DE89370400440532013000",
        },
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert "differs from the account currency EUR" in answer.json()["detail"]
    line = {
        "payee_name": "Imprimerie du Centre",
        "payee_iban": "DE89370400440532013000",
        "amount": {"value": "50.00", "currency": "USD"},
    }
    batch = bank.create_operation(
        user="alice",
        type="batch_transfer",
        account=IBAN,
        data={"debtor_iban": IBAN, "execution_date": EXECUTION.isoformat(), "lines": [line]},
    )
    assert batch.status_code == 422, batch.text
    assert batch.json()["line"] == 1
    assert server.snapshot() == before


def test_a_pending_operation_that_a_rights_change_makes_impossible_is_refused_at_once(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    rule = {"v": 1, "currency": "EUR", "tiers": [{"above": "0.00", "validators": 3}]}
    devices, members = setup_company(server, bank, rule=rule)
    created = transfer(bank, "90.00").json()
    assert devices["bob"].approve(created["id"]).json()["still_needed"] == 2
    loosened = {**rule, "tiers": [{"above": "0.00", "validators": 2}]}
    answer = bank.http.put(
        f"/v1/accounts/{IBAN}",
        json={
            "organisation": "acme",
            "currency": "EUR",
            "name": "Compte courant",
            "rule": loosened,
        },
    )
    assert answer.status_code == 200, answer.text
    change = bank.http.post(
        f"/v1/accounts/{IBAN}/rights",
        json={"member": members["carol"], "rights": ["view"], "admin": "alice"},
    ).json()
    assert devices["alice"].approve(change["id"]).json()["status"] == "approved"
    # Three signatures out of two validators: nobody is asked to sign in vain.
    view = bank.operation(created["id"])
    assert view["status"] == "rejected"
    assert [approval["member"] for approval in view["approvals"]] == [members["bob"]]
    assert created["id"] not in {operation.id for operation in devices["alice"].pending()}
    assert server.verify_result(view).signers == ()


def test_a_large_batch_body_is_read_only_from_an_authenticated_caller(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """The batch path takes up to 16 MiB: a stranger's body is never parsed.

    The body ends in a syntax error: parsed before authentication, it would be a 400.
    """
    with httpx.Client(base_url=server.url, timeout=30) as stranger:
        for headers in ({}, {"Authorization": "Bearer sk_not-a-key"}):
            answer = stranger.post(
                "/v1/operations/batch",
                content=b"[" + b"{}," * 100_000 + b"{",
                headers={"Content-Type": "application/json", **headers},
            )
            assert answer.status_code == 401, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
    # The authenticated caller gets the usual problems.
    malformed = bank.http.post(
        "/v1/operations/batch", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["detail"] == "The request body is not valid JSON."
    invalid = bank.http.post("/v1/operations/batch", json={"user": "alice", "type": "batch"})
    assert invalid.status_code == 422
    assert ["body", "type"] in [error["loc"] for error in invalid.json()["errors"]]
    assert ["body", "data"] in [error["loc"] for error in invalid.json()["errors"]]
