# SPDX-License-Identifier: Apache-2.0
"""The one mapping of failures to RFC 9457 problems, for the cases HTTP tests cannot provoke."""

from __future__ import annotations

import json
import logging

import pytest

from sceau_server.errors import AuthenticationFailed, problem_response, to_problem


def test_an_unexpected_exception_is_a_bare_500(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="sceau.server"):
        problem = to_problem(RuntimeError("database password is hunter2"))
    response = problem_response(problem)
    body = json.loads(response.body)
    assert response.status_code == 500
    assert response.media_type == "application/problem+json"
    assert body == {
        "type": "urn:sceau:problem:internal-error",
        "title": "Internal server error",
        "status": 500,
        "detail": "The server could not complete the request.",
    }
    assert "hunter2" not in response.body.decode()
    assert "unexpected error" in caplog.text


def test_authentication_failures_are_generic_and_bilingual() -> None:
    body = AuthenticationFailed(attempts_left=2).body()
    assert body["message_fr"] == "Authentification refusée. Il vous reste 2 essais"
    assert body["message_en"] == "Authentication failed. 2 attempts left"
    locked = AuthenticationFailed(attempts_left=0, locked_until=1_800_000_000).body()
    assert locked["message_fr"] == "Authentification refusée"
    assert locked["locked_until"] == 1_800_000_000
    assert AuthenticationFailed().body()["detail"] == locked["detail"]
