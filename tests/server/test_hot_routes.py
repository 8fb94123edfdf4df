# SPDX-License-Identifier: Apache-2.0
"""The four requests of a validation answer as FastAPI answered them, to the byte.

``sceau_server.api.hot`` serves ``POST /v1/operations``, ``GET /v1/operations/{id}``, ``POST
/v1/device/operations/{id}/evaluate`` and ``…/decision`` without FastAPI. Each request here goes
to two applications on the same database: one built with ``hot=False`` (every request through
FastAPI, as before) and the one ``sceau serve`` runs. Statuses, headers, bodies and the metrics
they record must be equal.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import URL

from sceau_server.api import create_app
from sceau_server.api.deps import request_path
from sceau_server.metrics import METRICS
from tests.server.conftest import RelyingPartyClient, ServerHandle, _free_socket, wait_until
from tests.server.device_double import TestDevice

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples() -> Samples:
    """The per-route response counts and duration counts of this process."""
    found: Samples = {}
    for metric in METRICS.registry.collect():
        for sample in metric.samples:
            if sample.name in (
                "sceau_http_responses_total",
                "sceau_http_request_duration_seconds_count",
            ):
                found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def _grown(before: Samples, after: Samples) -> Samples:
    return {
        key: value - before.get(key, 0.0)
        for key, value in after.items()
        if value != before.get(key, 0.0)
    }


class _Rerouted(httpx.HTTPTransport):
    """Sends every request to another port, with the URL and Host header it was made with
    (a device signs the server's public URL)."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(port=self.port)
        return super().handle_request(request)


class Pair:
    """The running server (hot routes), and FastAPI alone on the same server context."""

    def __init__(self, server: ServerHandle) -> None:
        self.server = server
        # The server under test runs what ``sceau serve`` runs: the hot routes.
        assert create_app(server.settings, context=server.ctx).hot is not None
        app = create_app(server.settings, context=server.ctx, hot=False)
        assert app.hot is None
        app.state.context = server.ctx
        sock = _free_socket()
        self.port = sock.getsockname()[1]
        self._uvicorn = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._uvicorn.serve(sockets=[sock])), daemon=True
        )
        self._thread.start()
        wait_until(lambda: self._uvicorn.started, timeout=20)
        self._clients: list[httpx.Client] = []
        self.legacy = self.rerouted()
        self.hot = httpx.Client(base_url=server.url, timeout=30)
        self._clients.append(self.hot)

    def rerouted(self) -> httpx.Client:
        """A client whose requests, made for the server's URL, reach FastAPI alone."""
        client = httpx.Client(base_url=self.server.url, timeout=30, transport=_Rerouted(self.port))
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._uvicorn.should_exit = True
        self._thread.join(timeout=10)

    def same(self, method: str, path: str, **options: Any) -> httpx.Response:
        """Send to both; the answers and the metrics they record must be equal."""
        start = _samples()
        legacy = self.legacy.request(method, path, **options)
        middle = _samples()
        hot = self.hot.request(method, path, **options)
        end = _samples()
        assert hot.status_code == legacy.status_code, (hot.text, legacy.text)
        assert _headers(hot) == _headers(legacy)
        assert hot.content == legacy.content
        assert _grown(middle, end) == _grown(start, middle)
        assert _grown(start, middle), "the request was counted"
        return hot


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    return [(name, value) for name, value in response.headers.multi_items() if name != "date"]


@pytest.fixture
def pair(server: ServerHandle) -> Iterator[Pair]:
    both = Pair(server)
    yield both
    both.close()


def _problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:sceau:problem:{slug}"
    return body


def test_operation_creation_refusals_are_unchanged(
    pair: Pair, server: ServerHandle, bank: RelyingPartyClient
) -> None:
    server.enrol(bank, "alice")
    key = {"Authorization": f"Bearer {bank.rp.api_key}"}
    good = {"user": "alice", "type": "login", "data": {}}
    raw = json.dumps(good).encode()
    json_type = {"Content-Type": "application/json"}

    _problem(pair.same("POST", "/v1/operations", json=good), 401, "unauthorized")
    _problem(
        pair.same("POST", "/v1/operations", json=good, headers={"Authorization": "Basic eDp5"}),
        401,
        "unauthorized",
    )
    _problem(
        pair.same("POST", "/v1/operations", json=good, headers={"Authorization": "Bearer nope"}),
        401,
        "unauthorized",
    )
    # The body is read before the key is checked: malformed JSON is a 400 even without a key.
    for headers in ({}, key):
        _problem(
            pair.same("POST", "/v1/operations", content=b"{", headers={**headers, **json_type}),
            400,
            "malformed-request",
        )
    _problem(
        pair.same("POST", "/v1/operations", content=b"\xff\xfe{", headers={**key, **json_type}),
        400,
        "malformed-request",
    )
    # Without a JSON content type the body is not parsed, and does not match the schema.
    for content_type in ({}, {"Content-Type": "text/plain"}):
        body = _problem(
            pair.same("POST", "/v1/operations", content=raw, headers={**key, **content_type}),
            422,
            "invalid-request",
        )
        assert body["errors"][0]["loc"] == ["body"]
    _problem(pair.same("POST", "/v1/operations", headers=key), 422, "invalid-request")
    body = _problem(
        pair.same(
            "POST",
            "/v1/operations",
            json={**good, "type": "nope", "extra": 1, "ttl": "5"},
            headers={**key, "Idempotency-Key": "a b" * 100},
        ),
        422,
        "invalid-request",
    )
    assert [error["loc"][0] for error in body["errors"]][:1] == ["header"]
    assert {tuple(error["loc"]) for error in body["errors"]} >= {
        ("body", "type"),
        ("body", "extra"),
    }
    # Any application/*+json type is parsed as JSON.
    unknown = json.dumps({**good, "user": "nobody"}).encode()
    _problem(
        pair.same(
            "POST",
            "/v1/operations",
            content=unknown,
            headers={**key, "Content-Type": "application/merge-patch+json; charset=utf-8"},
        ),
        404,
        "not-found",
    )


def test_a_ttl_above_the_server_maximum_is_refused_alike(make_server: Any) -> None:
    server = make_server(max_ttl=600)
    bank = server.relying_party()
    server.enrol(bank, "bob")
    both = Pair(server)
    try:
        body = _problem(
            both.same(
                "POST",
                "/v1/operations",
                json={"user": "bob", "type": "login", "data": {}, "ttl": 1000},
                headers={"Authorization": f"Bearer {bank.rp.api_key}"},
            ),
            422,
            "invalid-request",
        )
    finally:
        both.close()
    assert body["errors"][0]["loc"] == ["body", "ttl"]


def test_bodies_over_the_limit_are_refused_before_anything_else(
    pair: Pair, server: ServerHandle
) -> None:
    limit = server.settings.max_body_bytes
    big = b"x" * (limit + 1)

    def chunks() -> Iterator[bytes]:
        yield big[: limit // 2]
        yield big[limit // 2 :]

    for path in (
        "/v1/operations",
        "/v1/device/operations/op_x/evaluate",
        "/v1/device/operations/op_x/decision",
    ):
        _problem(pair.same("POST", path, content=big), 413, "payload-too-large")
    # Sent in chunks without a length: read up to the limit, then refused.
    legacy = pair.legacy.post("/v1/operations", content=chunks())
    hot = pair.hot.post("/v1/operations", content=chunks())
    assert (hot.status_code, hot.content) == (legacy.status_code, legacy.content)
    assert hot.status_code == 413
    # As before, a refused body is counted before any route is matched.
    before = _samples()
    pair.hot.post("/v1/operations", content=big)
    grown = _grown(before, _samples())
    assert (
        "sceau_http_responses_total",
        (("method", "POST"), ("route", "unmatched"), ("status", "413")),
    ) in grown


def test_other_methods_and_paths_near_the_hot_ones_answer_as_before(pair: Pair) -> None:
    _problem(pair.same("PUT", "/v1/operations"), 405, "method-not-allowed")
    _problem(pair.same("DELETE", "/v1/operations/op_x"), 405, "method-not-allowed")
    _problem(pair.same("GET", "/v1/device/operations/op_x/evaluate"), 405, "method-not-allowed")
    _problem(pair.same("PUT", "/v1/device/operations/op_x/decision"), 405, "method-not-allowed")
    _problem(pair.same("POST", "/v1/device/operations/op_x/approve"), 404, "not-found")
    _problem(pair.same("POST", "/v1/device/operations//evaluate"), 404, "not-found")
    _problem(pair.same("GET", "/v1/operations/op_x/more/parts"), 404, "not-found")
    for method, path in (
        ("POST", "/v1/operations/"),
        ("GET", "/v1/operations/"),
        ("HEAD", "/v1/operations/op_x"),
        ("POST", "/v1/device/operations/op_x/evaluate/"),
    ):
        pair.same(method, path)


def test_operation_reads_are_unchanged(
    pair: Pair, server: ServerHandle, bank: RelyingPartyClient
) -> None:
    key = {"Authorization": f"Bearer {bank.rp.api_key}"}
    device = server.enrol(bank, "carol")
    _problem(pair.same("GET", "/v1/operations/op_unknown", headers=key), 404, "not-found")
    _problem(pair.same("GET", "/v1/operations/op_unknown"), 401, "unauthorized")
    # The key is checked before the path parameter.
    _problem(pair.same("GET", "/v1/operations/bad%20id"), 401, "unauthorized")
    for bad in ("bad%20id", "x" * 65, "%C3%A9t%C3%A9"):
        body = _problem(
            pair.same("GET", f"/v1/operations/{bad}", headers=key), 422, "invalid-request"
        )
        assert body["errors"][0]["loc"] == ["path", "operation_id"]
    payment = {
        "acs_transaction_id": "8a880dc0-d2d2-4067-bcb1-b08d1690b26e",
        "merchant_name": "Boulangerie Ünïcode « test »",
        "merchant_url": "https://boulangerie.example/panier",
        "amount": {"value": "12.50", "currency": "EUR"},
        "card_last4": "4242",
    }
    created = bank.create_operation(
        user="carol", type="card_payment", data=payment, idempotency_key="k-1"
    )
    assert created.status_code == 201, created.text
    operation = created.json()
    pending = pair.same("GET", f"/v1/operations/{operation['id']}", headers=key)
    assert pending.json() == operation
    # The same Idempotency-Key again: the operation it made, 200, through either application.
    again = pair.same(
        "POST",
        "/v1/operations",
        json={"user": "carol", "type": "card_payment", "data": payment},
        headers={**key, "Idempotency-Key": "k-1"},
    )
    assert again.status_code == 200
    assert again.content == created.content
    assert device.approve(operation["id"]).status_code == 200
    final = pair.same("GET", f"/v1/operations/{operation['id']}", headers=key)
    assert final.json()["status"] == "approved"
    assert server.verify_result(final.json()).status == "approved"


def _signed_refusals(pair: Pair, device: TestDevice, operation_id: str) -> None:
    for action in ("evaluate", "decision"):
        path = f"/v1/device/operations/{operation_id}/{action}"
        # Unsigned: the generic refusal (brief K4).
        _problem(
            pair.same("POST", path, json={"blinded_element": "AAAA"}), 401, "authentication-failed"
        )
        _problem(
            pair.same("POST", path, content=b"[1,", headers={"Content-Type": "application/json"}),
            400,
            "malformed-request",
        )
        call = device.prepare("POST", path, {"blinded_element": "AAAA"})
        repeated = [*call.headers.items(), ("Signature", call.headers["Signature"])]
        _problem(
            pair.same("POST", path, content=call.body, headers=repeated), 400, "malformed-request"
        )
        # A bad id and a bad body are a 422 before any signature is checked.
        body = _problem(
            pair.same(
                "POST",
                f"/v1/device/operations/{'x' * 65}/{action}",
                content=b"[]",
                headers={"Content-Type": "application/json"},
            ),
            422,
            "invalid-request",
        )
        assert body["errors"][0]["loc"] == ["path", "operation_id"]
        assert body["errors"][1]["loc"][0] == "body"
        _problem(pair.same("POST", path), 422, "invalid-request")


def test_device_requests_answer_as_before(
    pair: Pair, server: ServerHandle, bank: RelyingPartyClient
) -> None:
    device = server.enrol(bank, "dave")
    first = bank.create_operation(user="dave", type="login", data={}).json()
    second = bank.create_operation(user="dave", type="login", data={}).json()
    _signed_refusals(pair, device, first["id"])

    answers = []
    hot_client = device.http
    for client, operation in ((pair.rerouted(), first), (hot_client, second)):
        device.http = client
        before = _samples()
        evaluated, knowledge_key = device.evaluate(operation["id"], "4826")
        assert evaluated.status_code == 200, evaluated.text
        signed = device.sign(
            device.operation(operation["id"]),
            knowledge_key=knowledge_key,
            counter=device.next_counter(),
            match=operation["match"],
        )
        decided = device.send(device.decision_call(operation["id"], signed))
        assert decided.status_code == 200, decided.text
        wrong, _ = device.evaluate(operation["id"], "0000")
        answers.append((evaluated, decided, wrong, _grown(before, _samples())))
    (legacy_eval, legacy_decision, legacy_wrong, legacy_metrics) = answers[0]
    (hot_eval, hot_decision, hot_wrong, hot_metrics) = answers[1]
    assert [name for name, _ in _headers(hot_eval)] == [name for name, _ in _headers(legacy_eval)]
    assert list(hot_eval.json()) == list(legacy_eval.json())
    assert _headers(hot_decision) == _headers(legacy_decision)
    assert hot_decision.content == legacy_decision.content.replace(
        first["id"].encode(), second["id"].encode()
    )
    assert (hot_wrong.status_code, hot_wrong.content) == (
        legacy_wrong.status_code,
        legacy_wrong.content,
    )
    assert hot_wrong.status_code == 409
    # The device's own pending read goes through FastAPI in both; the four hot ones count alike.
    assert hot_metrics == legacy_metrics
    assert {dict(labels)["route"] for _, labels in hot_metrics} >= {
        "/v1/device/operations/{operation_id}/evaluate",
        "/v1/device/operations/{operation_id}/decision",
    }


@settings(max_examples=300, deadline=None)
@given(
    path=st.one_of(
        st.from_regex(r"/[A-Za-z0-9_.~/-]{0,16}", fullmatch=True),
        st.text(max_size=16).map(lambda text: "/" + text),
    ),
    query=st.sampled_from(["", "a=1", "x#y"]),
    host=st.sampled_from([None, "sceau.example", "sceau.example:8443", "bad/host", "[::1]:80"]),
    server=st.sampled_from([None, ("127.0.0.1", 8000)]),
)
def test_the_signed_path_is_starlettes(
    path: str, query: str, host: str | None, server: tuple[str, int] | None
) -> None:
    scope = {
        "type": "http",
        "scheme": "http",
        "server": server,
        "path": path,
        "query_string": query.encode(),
        "headers": [] if host is None else [(b"host", host.encode())],
    }
    url = URL(scope=scope)
    assert request_path(scope) == (url.path, url.query)
