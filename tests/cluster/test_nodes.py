# SPDX-License-Identifier: Apache-2.0
"""Two server nodes on one PostgreSQL database behind nginx (issue 7).

A device connected to one node is told of an operation created on the other (fan-out through
PostgreSQL LISTEN/NOTIFY, never process memory); a relying party waiting on one node wakes when
the decision lands on the other; concurrent approvals on both nodes give exactly one success;
killing a node with SIGKILL loses nothing that was acknowledged.
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from sceau_core.encoding import b64url_encode
from sceau_core.knowledge import start_code_evaluation
from sceau_core.operations import Operation
from sceau_core.results import verify_result
from sceau_core.signatures import verify_signed_operation
from tests.cluster.conftest import Cluster, wait_until
from tests.server.device_double import TestDevice

# One worker runs the module (--dist loadgroup), so that its shared cluster starts once.
pytestmark = pytest.mark.xdist_group("cluster-nodes")

TRANSFER = {
    "amount": {"value": "250.00", "currency": "EUR"},
    "payee_name": "Jean Dupont",
    "payee_iban": "FR7630006000011234567890189",
}


def _create(bank: httpx.Client, user: str, kind: str = "transfer") -> dict[str, Any]:
    data = TRANSFER if kind == "transfer" else {}
    answer = bank.post("/v1/operations", json={"user": user, "type": kind, "data": data})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _fetch(cluster: Cluster, node: str, device: TestDevice, operation_id: str) -> Operation:
    answer = cluster.send(node, device.prepare("GET", "/v1/device/operations"))
    assert answer.status_code == 200, answer.text
    assert device.server_public_key is not None
    for item in answer.json()["operations"]:
        if item["operation"]["id"] == operation_id:
            return verify_signed_operation(item, public_key=device.server_public_key)
    raise AssertionError(f"{operation_id} is not pending")


def _knowledge(cluster: Cluster, node: str, device: TestDevice, operation_id: str) -> Any:
    evaluation = start_code_evaluation("4826", rng=os.urandom)
    answer = cluster.send(
        node,
        device.prepare(
            "POST",
            f"/v1/device/operations/{operation_id}/evaluate",
            {"blinded_element": b64url_encode(evaluation.blinded_element)},
        ),
    )
    assert answer.status_code == 200, answer.text
    return device._finish(evaluation, answer.json())


def _approve_via(
    cluster: Cluster, node: str, device: TestDevice, operation_id: str
) -> httpx.Response:
    operation = _fetch(cluster, node, device, operation_id)
    knowledge = _knowledge(cluster, node, device, operation_id)
    signed = device.sign(operation, knowledge_key=knowledge, counter=device.next_counter())
    return cluster.send(node, device.decision_call(operation_id, signed))


def _waiters(node: str) -> float:
    text = httpx.get(f"{node}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith("sceau_waiters "):
            return float(line.split()[1])
    return 0.0


def _verify(cluster: Cluster, view: dict[str, Any]) -> None:
    jwks = cluster.http().get("/.well-known/jwks.json").json()
    claims = verify_result(
        view["result"],
        jwks_document=jwks,
        expected_operation_id=view["id"],
        expected_issuer=cluster.public_url,
        expected_digest=view["digest"],
    )
    assert claims.status.value == view["status"]


def test_a_device_on_one_node_hears_of_an_operation_created_on_the_other(
    cluster: Cluster,
) -> None:
    node_a, node_b = cluster.node_urls
    device = cluster.enrol("ana", "+33611000001")
    call = device.prepare("GET", "/v1/device/events")
    connected = threading.Event()
    seen: list[str] = []

    def listen() -> None:
        with (
            httpx.Client(base_url=node_a, timeout=30) as http,
            http.stream("GET", call.path, headers=call.headers) as response,
        ):
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith(": connected"):
                    connected.set()
                elif line.startswith("data: "):
                    seen.append(json.loads(line.removeprefix("data: "))["id"])
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert connected.wait(20)
    created = _create(cluster.bank(node_b), "ana")
    thread.join(timeout=20)
    assert seen == [created["id"]]


def test_a_wait_on_one_node_wakes_when_the_decision_lands_on_the_other(
    cluster: Cluster,
) -> None:
    node_a, node_b = cluster.node_urls
    device = cluster.enrol("bea", "+33611000002")
    created = _create(cluster.bank(node_a), "bea")
    result: dict[str, Any] = {}

    def wait() -> None:
        started = time.monotonic()
        answer = cluster.bank(node_a).get(
            f"/v1/operations/{created['id']}/wait", params={"timeout": 30}
        )
        result["view"] = answer.json()
        result["seconds"] = time.monotonic() - started

    before = _waiters(node_a)
    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    wait_until(lambda: _waiters(node_a) > before, what="the wait to start on node A")
    assert _approve_via(cluster, node_b, device, created["id"]).status_code == 200
    thread.join(timeout=30)
    assert result["view"]["status"] == "approved"
    assert result["seconds"] < 20, "woken by the notification, not by the timeout"
    _verify(cluster, result["view"])


def test_concurrent_approvals_on_both_nodes_give_exactly_one_success(cluster: Cluster) -> None:
    device = cluster.enrol("cleo", "+33611000003")
    created = _create(cluster.bank(), "cleo")
    operation = _fetch(cluster, cluster.node_urls[0], device, created["id"])
    knowledge = _knowledge(cluster, cluster.node_urls[1], device, created["id"])
    # Two genuine approvals (two counters) and replays of each, on both nodes at once.
    calls = [
        device.decision_call(
            created["id"],
            device.sign(operation, knowledge_key=knowledge, counter=device.next_counter()),
        )
        for _ in range(2)
    ]

    def send(index: int) -> int:
        node = cluster.node_urls[index % 2]
        return cluster.send(node, calls[(index // 2) % 2]).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(send, range(16)))
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 401, 409}, statuses
    approvals = cluster.rows(
        "SELECT decision FROM approvals WHERE operation_id = :id", id=created["id"]
    )
    assert len(approvals) == 1
    view = cluster.bank().get(f"/v1/operations/{created['id']}").json()
    assert view["status"] == "approved"
    _verify(cluster, view)


def test_killing_a_node_loses_nothing_acknowledged(fresh_cluster: Cluster) -> None:
    cluster = fresh_cluster
    node_1, node_2 = cluster.node_urls
    device = cluster.enrol("dora", "+33611000004")
    created = _create(cluster.bank(), "dora")
    outcome: dict[str, Any] = {}

    def wait_on_node_1() -> None:
        try:
            answer = cluster.bank(node_1).get(
                f"/v1/operations/{created['id']}/wait", params={"timeout": 30}
            )
            outcome["view"] = answer.json()
        except httpx.TransportError as error:
            outcome["error"] = error

    before = _waiters(node_1)
    waiting = threading.Thread(target=wait_on_node_1, daemon=True)
    waiting.start()
    wait_until(lambda: _waiters(node_1) > before, what="the wait to start on node 1")

    # The approval is acknowledged by node 1, which is then killed at once.
    assert _approve_via(cluster, node_1, device, created["id"]).status_code == 200
    cluster.kill(1)
    waiting.join(timeout=30)
    assert "view" in outcome or "error" in outcome

    # The bank still gets the final, signed result, through nginx and the surviving node.
    view = cluster.bank().get(f"/v1/operations/{created['id']}").json()
    assert view["status"] == "approved"
    _verify(cluster, view)
    assert len(cluster.rows("SELECT id FROM approvals WHERE operation_id = :id", id=view["id"]))

    # The cluster goes on: a new operation is created and approved through nginx.
    second = _create(cluster.bank(), "dora", kind="login")
    operation = _fetch(cluster, cluster.public_url, device, second["id"])
    knowledge = _knowledge(cluster, node_2, device, second["id"])
    signed = device.sign(
        operation, knowledge_key=knowledge, counter=device.next_counter(), match=second["match"]
    )
    assert cluster.send(cluster.public_url, device.decision_call(second["id"], signed)).is_success
    final = cluster.bank().get(f"/v1/operations/{second['id']}/wait").json()
    assert final["status"] == "approved"
