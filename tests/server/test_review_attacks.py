# SPDX-License-Identifier: Apache-2.0
"""Small findings of the adversarial reviews, each an attack that must fail through the real API."""

from __future__ import annotations

from typing import Any

import httpx
from schwifty import IBAN as SCHWIFTY_IBAN

from tests.server.conftest import RelyingPartyClient, ServerHandle


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
