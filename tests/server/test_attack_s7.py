# SPDX-License-Identifier: Apache-2.0
"""A hostile client's attacks on the server's API that broke it once, each now refused cleanly.

Every test plays the attack over real HTTP against a real server (SQLite, and PostgreSQL when
the test command runs one) and checks what the attacker sees and that nothing was written.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from sceau_server.api.rp import STREAMS_PER_OPERATION
from tests.server.conftest import RelyingPartyClient, ServerHandle, wait_until
from tests.server.test_attacks import TRANSFER


def problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:sceau:problem:{kind}"
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


HIDDEN = ["Camille\u0000Martin", "Camille \u202enitraM", "Camille\nMartin", "Camille\u200bMartin"]
"""Names with a NUL (PostgreSQL cannot store it: it was a 500), a bidirectional override, a
line break, an invisible space: none is a name a person reads."""


@pytest.mark.parametrize("name", HIDDEN)
def test_a_user_name_with_control_or_invisible_characters_is_refused(
    server: ServerHandle, bank: RelyingPartyClient, name: str
) -> None:
    bank.put_user("ines")
    before = server.snapshot()
    for external_id in ("ines", "jules"):
        body = {"phone": "+33612345678", "display_name": name, "locale": "fr"}
        answer = bank.http.put(f"/v1/users/{external_id}", json=body)
        refused = problem(answer, 422, "invalid-request")
        assert refused["errors"][0]["loc"] == ["body", "display_name"]
        assert name not in str(refused)
    assert server.snapshot() == before


@pytest.mark.parametrize("field", ["operator", "reason", "identity_check"])
def test_an_operator_action_with_control_characters_is_refused_and_not_audited(
    server: ServerHandle, bank: RelyingPartyClient, field: str
) -> None:
    device = server.enrol(bank, "karim")
    admin = server.relying_party("Back-office", scopes=["admin"])
    before = server.snapshot()
    audited = server.rows("SELECT count(*) FROM audit_entries")
    body = {"operator": "Agent 12", "reason": "Appel client", "identity_check": "Agence, CNI"}
    body[field] = "Agent\u0000 12 \u202e"
    path = f"/v1/admin/devices/{device.activation_id}/revoke"
    refused = problem(admin.http.post(path, json=body), 422, "invalid-request")
    assert refused["errors"][0]["loc"] == ["body", field]
    assert server.snapshot() == before
    assert server.rows("SELECT count(*) FROM audit_entries") == audited
    assert device.call("GET", "/v1/device/status").json()["status"] == "active"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/operations/"),
        ("GET", "/v1/operations/op_3kq/"),
        ("PUT", "/v1/users/ines/"),
        ("GET", "/healthz/"),
    ],
)
def test_a_trailing_slash_is_not_redirected_to_the_host_the_client_named(
    server: ServerHandle, bank: RelyingPartyClient, method: str, path: str
) -> None:
    """A 307 to ``http://<Host header>/…`` sent a bank client that follows redirects, with its
    request body, to whatever host a proxy or an attacker put in ``Host``."""
    before = server.snapshot()
    answer = bank.http.request(
        method, path, headers={"Host": "evil.example"}, json={"user": "ines"}
    )
    problem(answer, 404, "not-found")
    assert "location" not in answer.headers
    assert server.snapshot() == before


@pytest.mark.parametrize("field", ["data", "context"])
def test_deeply_nested_operation_data_is_refused_as_invalid(
    server: ServerHandle, bank: RelyingPartyClient, field: str
) -> None:
    """900 nested objects parse as JSON but broke the server's own serialisation: a 500."""
    server.enrol(bank, "luc")
    before = server.snapshot()
    nested = '{"a":' * 900 + "1" + "}" * 900
    parts = {"data": "{}", "context": "{}", field: nested}
    content = f'{{"user": "luc", "type": "login", "data": {parts["data"]}, '
    content += f'"context": {parts["context"]}}}'
    for headers in ({}, {"Idempotency-Key": "profond-1"}):
        answer = bank.http.post(
            "/v1/operations",
            content=content,
            headers={"Content-Type": "application/json", **headers},
        )
        refused = problem(answer, 422, "invalid-request")
        assert refused["errors"][0]["loc"] == ["body", field]
    assert server.snapshot() == before


def test_parallel_retries_with_one_idempotency_key_answer_the_one_operation(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """A bank retrying while its first request is still in flight gets that operation (200),
    or ``idempotency-key-reused`` for another body; on PostgreSQL they were ``conflict``s."""
    server.enrol(bank, "maud")
    body = {"user": "maud", "type": "transfer", "data": TRANSFER}

    def create(key: str, reference: str | None) -> httpx.Response:
        data = TRANSFER if reference is None else {**TRANSFER, "reference": reference}
        with server.client(headers={"Authorization": f"Bearer {bank.rp.api_key}"}) as http:
            barrier.wait()
            return http.post(
                "/v1/operations", json={**body, "data": data}, headers={"Idempotency-Key": key}
            )

    barrier = threading.Barrier(10)
    with ThreadPoolExecutor(10) as pool:
        same = list(pool.map(lambda _: create("virement-1", None), range(10)))
    assert sorted(answer.status_code for answer in same) == [200] * 9 + [201]
    assert len({answer.json()["id"] for answer in same}) == 1

    barrier = threading.Barrier(10)
    with ThreadPoolExecutor(10) as pool:
        others = list(pool.map(lambda i: create("virement-2", f"Loyer {i}"), range(10)))
    created = [answer for answer in others if answer.status_code == 201]
    assert len(created) == 1
    for answer in others:
        if answer is not created[0]:
            problem(answer, 409, "idempotency-key-reused")
    assert server.rows("SELECT count(*) FROM operations")[0][0] == 2


def test_parallel_puts_of_a_new_user_all_succeed(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """PUT is idempotent: a bank's retry racing its first request is answered 200, not a 409
    conflict (as it was on PostgreSQL), and one user exists."""
    barrier = threading.Barrier(8)

    def put(index: int) -> httpx.Response:
        with server.client(headers={"Authorization": f"Bearer {bank.rp.api_key}"}) as http:
            barrier.wait()
            body = {"phone": f"+3361234567{index}", "display_name": "Nina", "locale": "fr"}
            return http.put("/v1/users/nina", json=body)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(put, range(8)))
    assert sorted(answer.status_code for answer in answers) == [200] * 7 + [201]
    assert server.rows("SELECT count(*) FROM users WHERE external_id = 'nina'")[0][0] == 1


@pytest.mark.parametrize("path", ["/hooks/..;/admin", "/hooks/.;/x", "/hooks/..;jsessionid=1/x"])
def test_a_callback_climbing_out_of_its_prefix_with_a_path_parameter_is_refused(
    server: ServerHandle, path: str
) -> None:
    """Tomcat and Spring read ``/hooks/..;/admin`` as ``/admin``: outside the allowlisted
    ``/hooks`` of the bank's Java back-end, where the signed webhook would then be posted."""
    bank = server.relying_party(callback_allow=["https://back.ma-banque.example/hooks"])
    server.enrol(bank, "odile")
    before = server.snapshot()
    answer = bank.create_operation(
        user="odile",
        type="login",
        data={},
        callback_url=f"https://back.ma-banque.example{path}",
    )
    problem(answer, 422, "callback-not-allowed")
    assert server.snapshot() == before


def _held_waits(
    server: ServerHandle, bank: RelyingPartyClient, operation_id: str, count: int
) -> tuple[ThreadPoolExecutor, list[Future[httpx.Response]]]:
    """``count`` long polls on the operation, each on its own connection, all listening."""
    pool = ThreadPoolExecutor(count)
    before = server.ctx.notifier.listener_count(f"operation:{operation_id}")

    def wait() -> httpx.Response:
        with server.client(headers={"Authorization": f"Bearer {bank.rp.api_key}"}) as http:
            return http.get(f"/v1/operations/{operation_id}/wait", params={"timeout": 60})

    futures = [pool.submit(wait) for _ in range(count)]
    wait_until(
        lambda: server.ctx.notifier.listener_count(f"operation:{operation_id}") == before + count
    )
    return pool, futures


def test_long_polls_on_one_operation_are_capped_like_its_streams(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    """Long polls had no cap: a relying party could hold any number of them on one operation
    (each a connection and a listener for up to a minute)."""
    server.enrol(bank, "paul")
    created = bank.create_operation(user="paul", type="login", data={}).json()
    pool, futures = _held_waits(server, bank, created["id"], STREAMS_PER_OPERATION)
    with pool:
        refused = bank.http.get(f"/v1/operations/{created['id']}/wait", params={"timeout": 60})
        body = problem(refused, 429, "rate-limited")
        assert refused.headers["retry-after"] == str(body["retry_after"])
        assert bank.http.post(f"/v1/operations/{created['id']}/cancel").status_code == 200
        assert {future.result().json()["status"] for future in futures} == {"cancelled"}
    # Ended long polls free their places.
    again = bank.http.get(f"/v1/operations/{created['id']}/wait", params={"timeout": 0})
    assert again.json()["status"] == "cancelled"


def test_long_polls_count_toward_the_process_cap(make_server: Any) -> None:
    server = make_server(max_streams=2)
    bank = server.relying_party()
    server.enrol(bank, "rose")
    first, second = (
        bank.create_operation(user="rose", type="login", data={}).json() for _ in range(2)
    )
    pool, futures = _held_waits(server, bank, first["id"], 2)
    with pool:
        refused = bank.http.get(f"/v1/operations/{second['id']}/wait", params={"timeout": 60})
        problem(refused, 503, "unavailable")
        assert refused.headers["retry-after"]
        assert bank.http.post(f"/v1/operations/{first['id']}/cancel").status_code == 200
        assert {future.result().json()["status"] for future in futures} == {"cancelled"}
