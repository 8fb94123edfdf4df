# SPDX-License-Identifier: Apache-2.0
"""P2/P3: a replayed request is refused and changes nothing; a clone is suspended.

Regression tests from an adversarial review: the server used to take "a counter that did not
increase, signed before the last accepted request" for a replay, which let a clone that dated its
requests a few seconds ahead go undetected, and let a replayed refused request suspend the
genuine device.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from sceau_core.httpsig import HttpRequest, sign_request
from tests.server.conftest import RelyingPartyClient, ServerHandle
from tests.server.device_double import SignedCall, TestDevice

IBAN = "FR7630006000011234567890189"
TRANSFER = {
    "amount": {"value": "1234.56", "currency": "EUR"},
    "payee_name": "Jean Dupont",
    "payee_iban": IBAN,
}


def transfer(bank: RelyingPartyClient, user: str, **extra: Any) -> dict[str, Any]:
    response = bank.create_operation(user=user, type="transfer", data=TRANSFER, **extra)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def prepare_at(
    device: TestDevice,
    method: str,
    path: str,
    body: Any = None,
    *,
    created: int,
    counter: int,
) -> SignedCall:
    """Sign a request with an explicit ``created`` time and counter (the signer controls both)."""
    raw = b"" if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = HttpRequest(method, device.base_url + path, headers, raw)
    signature = sign_request(
        request,
        private_key=device.device_key,
        key_id=device.activation_id,
        counter=counter,
        now=created,
        rng=os.urandom,
    )
    return SignedCall(method, path, raw, {**headers, **signature}, counter)


def _status(server: ServerHandle, activation_id: str) -> tuple[str, str | None]:
    (row,) = server.rows(
        "SELECT status, end_reason FROM activations WHERE id = :i", i=activation_id
    )
    return row.status, row.end_reason


def test_clone_signing_a_few_seconds_ahead_is_never_detected(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """A clone (device key copied) that jumps the counter and dates its requests ``now + 4``
    (inside the 5 s skew) makes every genuine request that follows look like "the replay of a
    refused request" (``created < last_signed_at`` in ``devices.admit``): the genuine device is
    refused, but the activation is never suspended and the customer never alerted (P3). A
    genuine phone whose clock is a few seconds behind the clone's gets the same treatment."""
    device = server.enrol(bank, "omar", phone="+33644440001")
    assert device.call("GET", "/v1/device/status").status_code == 200
    clone = TestDevice(
        base_url=device.base_url,
        device_key=device.device_key,
        device_secret=device.device_secret,
        activation_id=device.activation_id,
        counter=device.counter + 1000,
    )
    server.clients.append(clone.http)

    genuine_refusals = 0
    for _ in range(3):  # the clone keeps polling ahead of the genuine device
        clone.counter += 1
        call = prepare_at(
            clone,
            "GET",
            "/v1/device/operations",
            created=int(time.time()) + 4,
            counter=clone.counter,
        )
        assert clone.send(call).status_code == 200  # the clone is served
        response = device.call("GET", "/v1/device/status")  # genuine, counter regresses
        genuine_refusals += response.status_code == 401
        if _status(server, device.activation_id)[0] == "suspended":
            break
        time.sleep(1.1)

    assert genuine_refusals >= 1
    assert _status(server, device.activation_id) == ("suspended", "counter_regression"), (
        "the genuine device was refused for a counter regression but the activation was not "
        "suspended: the clone stays undetected"
    )
    assert server.outbox("+33644440001")[-1][0] == "suspended"


def test_replaying_a_refused_request_does_not_suspend_the_activation(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """A network attacker who captured a request the server *refused* (refused requests leave
    no nonce) replays it after the device's next accepted request signed in the same second:
    the replay is taken for a clone and suspends the genuine activation (P2: a replay must be
    refused and change nothing)."""
    device = server.enrol(bank, "pia", phone="+33644440002")
    created = transfer(bank, "pia")
    assert bank.http.post(f"/v1/operations/{created['id']}/cancel").status_code == 200
    now = int(time.time())
    first = device.next_counter()
    refused = prepare_at(  # e.g. an evaluation of an operation cancelled meanwhile: 409
        device,
        "POST",
        f"/v1/device/operations/{created['id']}/evaluate",
        {"blinded_element": "A" * 43},
        created=now,
        counter=first,
    )
    assert device.send(refused).status_code in (404, 409)
    accepted = prepare_at(
        device, "GET", "/v1/device/status", created=now, counter=device.next_counter()
    )
    assert device.send(accepted).status_code == 200

    replay = device.send(refused)  # the attacker's replay, byte for byte

    assert replay.status_code == 401
    assert _status(server, device.activation_id) == ("active", None), (
        "a byte-for-byte replay of a refused request suspended the genuine activation"
    )
