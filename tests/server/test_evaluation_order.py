# SPDX-License-Identifier: Apache-2.0
"""A code evaluation is answered only once its attempt has committed (brief K3).

The server counts the attempt, commits, and only then computes the VOPRF evaluation. An
evaluation that fails after the commit (here: the activation's wrapped OPRF key damaged on
purpose) has been counted all the same: no fault on the server's side gives a free attempt.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import text

from sceau_core.encoding import b64url_encode
from sceau_core.knowledge import start_code_evaluation
from tests.server.test_attacks import problem, transfer


def _set_wrapped_key(server: Any, activation_id: str, wrapped: str) -> None:
    with server.ctx.db.engine.begin() as connection:
        connection.execute(
            text("UPDATE activations SET oprf_key_wrapped = :wrapped WHERE id = :id"),
            {"wrapped": wrapped, "id": activation_id},
        )


def test_an_evaluation_that_fails_once_counted_stays_counted(make_server: Any) -> None:
    server = make_server(max_failures=5)
    bank = server.relying_party()
    device = server.enrol(bank, "jade", phone="+33644444444")
    created = transfer(bank, "jade")
    ((wrapped,),) = server.rows(
        "SELECT oprf_key_wrapped FROM activations WHERE id = :id", id=device.activation_id
    )
    damaged = wrapped[:-4] + ("AAAA" if not wrapped.endswith("AAAA") else "BBBB")
    _set_wrapped_key(server, device.activation_id, damaged)

    response, _ = device.evaluate(created["id"], "4826")
    problem(response, 500, "internal-error")
    assert "oprf" not in response.text.lower()
    attempts = server.rows("SELECT locked FROM attempts WHERE operation_id = :op", op=created["id"])
    assert [bool(locked) for (locked,) in attempts] == [False]
    ((failures,),) = server.rows(
        "SELECT failures FROM activations WHERE id = :id", id=device.activation_id
    )
    assert failures == 1

    _set_wrapped_key(server, device.activation_id, wrapped)
    response, knowledge_key = device.evaluate(created["id"], "4826")
    assert response.status_code == 200, response.text
    assert response.json()["attempts_left"] == 3
    assert knowledge_key is not None


def test_a_malformed_blinded_element_is_refused_before_anything_is_counted(
    make_server: Any,
) -> None:
    server = make_server()
    bank = server.relying_party()
    device = server.enrol(bank, "lina", phone="+33655555555")
    created = transfer(bank, "lina")
    before = server.snapshot()
    identity = "A" * 43  # 32 zero bytes: the identity element, which no blinding gives
    response = device.call(
        "POST",
        f"/v1/device/operations/{created['id']}/evaluate",
        {"blinded_element": identity},
    )
    assert problem(response, 422, "invalid-request")["detail"] == (
        "blinded_element is not a valid ristretto255 element."
    )
    assert server.snapshot() == before


def test_a_code_change_evaluation_that_fails_once_counted_stays_counted(make_server: Any) -> None:
    server = make_server(max_failures=5)
    bank = server.relying_party()
    device = server.enrol(bank, "noah", phone="+33666666666")
    ((wrapped,),) = server.rows(
        "SELECT oprf_key_wrapped FROM activations WHERE id = :id", id=device.activation_id
    )
    damaged = wrapped[:-4] + ("AAAA" if not wrapped.endswith("AAAA") else "BBBB")
    _set_wrapped_key(server, device.activation_id, damaged)

    def code_evaluate() -> Any:
        evaluation = start_code_evaluation("4826", rng=os.urandom)
        return device.call(
            "POST",
            "/v1/device/code/evaluate",
            {"blinded_element": b64url_encode(evaluation.blinded_element)},
        )

    problem(code_evaluate(), 500, "internal-error")
    ((failures,),) = server.rows(
        "SELECT failures FROM activations WHERE id = :id", id=device.activation_id
    )
    assert failures == 1
    _set_wrapped_key(server, device.activation_id, wrapped)
    answer = code_evaluate()
    assert answer.status_code == 200, answer.text
    assert answer.json()["attempts_left"] == 3
