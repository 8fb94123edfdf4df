# SPDX-License-Identifier: Apache-2.0
"""An approval that ``sceau serve`` acknowledged on SQLite survives a kill -9 of the server.

The server commits its SQLite write transactions in groups (one fsync for several requests);
none may be acknowledged before the COMMIT that covers it. Several devices approve at once so
that their transactions share COMMITs, and the server is killed (SIGKILL: no shutdown, no last
write) while approvals are still in flight. Every approval answered 200 must then be in the
database file, with its operation approved.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import CODE, serving, wait_until
from tests.server.device_double import TestDevice

DEVICES = 6
OPERATIONS_PER_DEVICE = 6


def _approve_until_stopped(
    device: TestDevice, operations: list[dict[str, Any]], acknowledged: list[str]
) -> None:
    for operation in operations:
        try:
            answer = device.approve(operation["id"], CODE, match=operation["match"])
        except httpx.TransportError:
            return  # The server was killed.
        if answer.status_code == 200:
            acknowledged.append(operation["id"])


@pytest.mark.slow
def test_approvals_acknowledged_before_a_kill_9_are_all_kept(tmp_path: Path) -> None:
    home = tmp_path / "server"
    with serving(home) as (bank, server):
        work: list[tuple[TestDevice, list[dict[str, Any]]]] = []
        for index in range(DEVICES):
            user, phone = bank.new_user(f"durable-{index}")
            activation = bank.new_activation(user)
            device = TestDevice(base_url=bank.url)
            device.activate(activation["code"], sms_code=bank.sms_code(phone), pin=CODE)
            created = [bank.create(user, "login", {}) for _ in range(OPERATIONS_PER_DEVICE)]
            work.append((device, created))

        acknowledged: list[str] = []
        threads = [
            threading.Thread(target=_approve_until_stopped, args=(device, created, acknowledged))
            for device, created in work
        ]
        for thread in threads:
            thread.start()
        wait_until(
            lambda: len(acknowledged) >= DEVICES * OPERATIONS_PER_DEVICE // 2,
            timeout=120,
            what="half of the approvals to be acknowledged",
        )
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        for thread in threads:
            thread.join(timeout=60)
        kept = list(acknowledged)

    with sqlite3.connect(home / "sceau.db") as database:
        marks = ",".join("?" * len(kept))
        statuses = dict(
            database.execute(f"SELECT id, status FROM operations WHERE id IN ({marks})", kept)  # noqa: S608
        )
        approved = {
            operation_id
            for (operation_id,) in database.execute(
                f"SELECT operation_id FROM approvals WHERE operation_id IN ({marks})",  # noqa: S608
                kept,
            )
        }
    assert statuses == dict.fromkeys(kept, "approved")
    assert approved == set(kept)
