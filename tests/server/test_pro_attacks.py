# SPDX-License-Identifier: Apache-2.0
"""Attacks on Sceau Pro (issue 8): each test is an attack that must fail, through the real API."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import RelyingPartyClient, ServerHandle
from tests.server.test_pro import IBAN, setup_company, transfer

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
        user="alice", type="batch_transfer", data={"debtor_iban": IBAN, "lines": [line, line]}
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
