# SPDX-License-Identifier: Apache-2.0
"""An operation is built in the language its customer has when it is created, and refused in a
fixed order. What the RP reads, what the device is sent and what the device signs are the same
operation, in the customer's language, however often the customer changes it.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from sceau_core.signatures import verify_signed_operation
from tests.server.conftest import RelyingPartyClient, ServerHandle
from tests.server.test_attacks import problem
from tests.server.test_hardening import next_event, open_stream, transfer

HEADINGS = {"fr": "Virement", "en": "Transfer"}


def test_each_operation_is_in_the_language_the_customer_has_when_it_is_created(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    device = server.enrol(bank, "zoe", phone="+33677777777")
    with contextlib.ExitStack() as stack:
        response, lines = stack.enter_context(open_stream(stack, device))
        assert response.status_code == 200
        for locale in ("en", "en", "fr", "en", "fr", "fr"):
            bank.put_user("zoe", phone="+33677777777", locale=locale)
            created = transfer(bank, "zoe")
            assert created["operation"]["display"][0] == HEADINGS[locale]
            assert next_event(lines) == "operation"
            event = json.loads(next(lines).removeprefix("data: "))
            assert event["id"] == created["id"]
            sent = verify_signed_operation(event["signed"], public_key=server.ctx.public_key)
            assert sent.display[0] == HEADINGS[locale]
            assert sent.digest == created["digest"]
            assert device.operation(created["id"]).digest == created["digest"]


def test_refusals_come_in_a_fixed_order(server: ServerHandle, bank: RelyingPartyClient) -> None:
    """An unknown customer is said before bad data; bad data before a missing device."""
    bad_iban = {"amount": {"value": "10.00", "currency": "EUR"}, "payee_name": "X"}
    bad_iban["payee_iban"] = "FR7630006000011234567890188"
    unknown = bank.create_operation(user="nobody", type="transfer", data=bad_iban)
    problem(unknown, 404, "not-found")
    bank.put_user("yann", phone="+33688888888")
    refused = bank.create_operation(user="yann", type="transfer", data=bad_iban)
    assert "payee_iban" in problem(refused, 422, "invalid-operation")["detail"]
    good: dict[str, Any] = {**bad_iban, "payee_iban": "FR7630006000011234567890189"}
    no_device = bank.create_operation(user="yann", type="transfer", data=good)
    problem(no_device, 409, "conflict")
    assert server.rows("SELECT count(*) FROM operations")[0][0] == 0
