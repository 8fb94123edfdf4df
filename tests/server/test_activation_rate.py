# SPDX-License-Identifier: Apache-2.0
"""New activations are capped per user over a sliding hour: each one sends an SMS, so a buggy
or hijacked relying-party integration must not be able to flood a customer's phone."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sceau_server.settings import ConfigurationError, Settings
from tests.server.conftest import RelyingPartyClient, ServerHandle

PHONE = "+33611112222"


def _activation_sms(server: ServerHandle, phone: str = PHONE) -> int:
    return sum(kind == "activation_code" for kind, _ in server.outbox(phone))


def _audit_entries(server: ServerHandle) -> int:
    (row,) = server.rows("SELECT count(*) AS n FROM audit_entries")
    return int(row.n)


def test_the_sixth_activation_in_an_hour_is_refused_without_sms(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    assert server.settings.activations_per_hour == 5
    bank.put_user("alice", phone=PHONE)
    start = time.time()
    now = [start]
    server.ctx.clock = lambda: now[0]
    try:
        created = []
        for minute in range(5):
            now[0] = start + 60 * minute
            created.append(bank.create_activation("alice"))
        assert _activation_sms(server) == 5

        now[0] = start + 600
        before, audited = server.snapshot(), _audit_entries(server)
        for _ in range(3):
            refused = bank.http.post("/v1/users/alice/activations")
            assert refused.status_code == 429, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            # The first activation leaves the window at start + 3600.
            assert refused.headers["retry-after"] == "3000"
            body = refused.json()
            assert body["type"] == "urn:sceau:problem:rate-limited"
            assert body["retry_after"] == 3000
            assert body["message_fr"].startswith("Trop de demandes d’activation")
            assert body["message_en"]
        # Nothing sent, nothing written: the last activation given is still the one that works.
        assert _activation_sms(server) == 5
        assert server.snapshot() == before
        assert _audit_entries(server) == audited
        (last,) = server.rows(
            "SELECT status FROM activations WHERE id = :id", id=created[-1]["activation_id"]
        )
        assert last.status == "pending"

        # The cap is per user.
        bank.put_user("bob", phone="+33633334444")
        assert bank.http.post("/v1/users/bob/activations").status_code == 201

        # Once the first one is an hour old there is room for one more; the refused attempts
        # did not count.
        now[0] = start + 3600
        assert bank.http.post("/v1/users/alice/activations").status_code == 201
        again = bank.http.post("/v1/users/alice/activations")
        assert again.status_code == 429
        assert again.headers["retry-after"] == "60"
        assert _activation_sms(server) == 6
    finally:
        server.ctx.clock = time.time


def test_the_cap_is_a_setting() -> None:
    assert Settings.from_env({}).activations_per_hour == 5
    assert Settings.from_env({"SCEAU_ACTIVATIONS_PER_HOUR": "12"}).activations_per_hour == 12
    for wrong in ("0", "five"):
        with pytest.raises(ConfigurationError, match="SCEAU_ACTIVATIONS_PER_HOUR"):
            Settings.from_env({"SCEAU_ACTIVATIONS_PER_HOUR": wrong})


def test_a_raised_cap_allows_more(make_server: Any) -> None:
    server: ServerHandle = make_server(activations_per_hour=7)
    bank = server.relying_party()
    bank.put_user("alice", phone=PHONE)
    statuses = [bank.http.post("/v1/users/alice/activations").status_code for _ in range(8)]
    assert statuses == [201] * 7 + [429]
    assert _activation_sms(server) == 7
