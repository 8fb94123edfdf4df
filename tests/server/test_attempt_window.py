# SPDX-License-Identifier: Apache-2.0
"""The rolling window of failed code attempts (brief K3): a lock outlives the lock that ended.

Besides the consecutive failures (``max_failures``), at most ``window_failures`` uncleared
attempts count within ``window_seconds``, whatever locks came between: the attempt that fills
the window locks the activation until its oldest attempt leaves the window.
"""

from __future__ import annotations

from typing import Any

from tests.server.conftest import wait_until
from tests.server.test_attacks import problem, transfer


def test_the_attempt_that_fills_the_window_locks_until_its_oldest_attempt_leaves_it(
    make_server: Any,
) -> None:
    server = make_server(
        max_failures=2, window_failures=3, window_seconds=3600, lock_durations=(1, 2)
    )
    bank = server.relying_party()
    device = server.enrol(bank, "iris", phone="+33633333333")
    created = transfer(bank, "iris")
    answers = []
    for wrong in ("1111", "2222"):
        response, _ = device.evaluate(created["id"], wrong)
        assert response.status_code == 200, response.text
        answers.append(response.json())
    assert [a["attempts_left"] for a in answers] == [1, 0]
    assert answers[1]["locked_until"] is not None  # the second failure in a row: a short lock
    wait_until(
        lambda: device.call("GET", "/v1/device/status").json()["locked_until"] is None, timeout=10
    )

    # One failure in a row only, but the third of the window: locked until the first leaves it.
    response, _ = device.evaluate(created["id"], "3333")
    assert response.status_code == 200, response.text
    third = response.json()
    attempts = server.rows(
        "SELECT created_at, locked FROM attempts WHERE operation_id = :op ORDER BY id",
        op=created["id"],
    )
    assert [bool(locked) for _, locked in attempts] == [False, True, True]
    assert third["attempts_left"] == 0
    assert third["locked_until"] == attempts[0][0] + 3600
    (state,) = server.rows(
        "SELECT failures, locks, locked_until FROM activations WHERE id = :id",
        id=device.activation_id,
    )
    assert tuple(state) == (0, 2, attempts[0][0] + 3600)
    locks = server.rows(
        "SELECT count(*) FROM audit_entries WHERE event = 'activation.locked' AND subject = :id",
        id=device.activation_id,
    )
    assert locks[0][0] == 2

    # While locked, the right code is not even evaluated, and nothing is counted.
    before = server.snapshot()
    response, _ = device.evaluate(created["id"], "4826")
    assert problem(response, 401, "authentication-failed")["locked_until"] == third["locked_until"]
    assert server.snapshot() == before
