# SPDX-License-Identifier: Apache-2.0
"""What a client controls cannot grow the server's memory: the metrics' label sets, and the
request headers."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from sceau_server.api import create_app
from sceau_server.api.middleware import MAX_HEADER_BYTES, MAX_HEADERS
from sceau_server.services.context import ServerContext
from sceau_server.settings import Settings
from tests.server.conftest import (
    MASTER_KEY,
    SECRET,
    RelyingPartyClient,
    ServerHandle,
    _free_socket,
    _template_database,
    wait_until,
)

_SERIES = re.compile(r"^sceau_http_responses_total\{(.*)\} ", re.MULTILINE)
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def _labels(http: httpx.Client, name: str) -> set[str]:
    """The values of label ``name`` among the HTTP response series of ``/metrics``."""
    text = http.get("/metrics").text
    return {dict(_LABEL.findall(series))[name] for series in _SERIES.findall(text)}


@pytest.fixture
def h11_url(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server on uvicorn's h11 parser, which passes any method token to the app."""
    database = tmp_path / "sceau.db"
    database.write_bytes(_template_database(tmp_path_factory).read_bytes())
    sock = _free_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(
        database_url=f"sqlite:///{database}",
        public_url=url,
        master_key=MASTER_KEY,
        secret=SECRET,
        checkpoint_key_path=str(tmp_path / "checkpoint.pem"),
        checkpoint_journal_path=str(tmp_path / "checkpoints.jsonl"),
        checkpoint_interval=0.0,
    )
    ctx = ServerContext.create(settings)
    config = uvicorn.Config(
        create_app(settings, context=ctx),
        http="h11",
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=20)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        ctx.close()


def test_made_up_methods_and_paths_add_one_label_each(h11_url: str) -> None:
    with httpx.Client(base_url=h11_url, timeout=30) as http:
        paths = ("/healthz", "/v1/operations", "/v1/operations/op_x")
        for path in paths:
            http.get(path)
        methods = _labels(http, "method")
        for method in ("FOO", "BREW", "X-" + secrets.token_hex(8).upper()):
            for path in paths:
                answer = http.request(method, path)
                assert 400 <= answer.status_code < 500, (method, path, answer.status_code)
        assert _labels(http, "method") - methods <= {"OTHER"}
        assert "OTHER" in _labels(http, "method")

        routes = _labels(http, "route")
        for _ in range(50):
            missing = http.get(f"/{secrets.token_hex(6)}/{secrets.token_hex(6)}")
            assert missing.status_code == 404
            assert missing.headers["content-type"] == "application/problem+json"
        assert _labels(http, "route") - routes <= {"unmatched"}
        assert "unmatched" in _labels(http, "route")


def _raw(
    url: str, request_line: str, headers: list[tuple[str, str]], body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """Send one HTTP/1.1 request over a plain socket, exactly as written; the status, headers
    and body of the answer."""
    host, port = url.removeprefix("http://").split(":")
    lines = [request_line, f"Host: {host}", "Connection: close", *(f"{n}: {v}" for n, v in headers)]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, content = answer.partition(b"\r\n\r\n")
    status_line, *fields = head.decode().split("\r\n")
    parsed = {name.lower(): value.strip() for name, _, value in (f.partition(":") for f in fields)}
    return int(status_line.split()[1]), parsed, content


def _filler(count: int, size: int = 8) -> list[tuple[str, str]]:
    return [(f"X-Filler-{index}", "v" * size) for index in range(count)]


def _refused(answer: tuple[int, dict[str, str], bytes]) -> None:
    status, headers, content = answer
    assert status == 431, content
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(content)
    assert problem["type"] == "urn:sceau:problem:headers-too-large"
    assert problem["status"] == 431


def test_too_many_or_too_large_headers_are_refused_with_431(server: ServerHandle) -> None:
    # Host and Connection are two of the fields.
    at_limit = _filler(MAX_HEADERS - 2)
    assert _raw(server.url, "GET /healthz HTTP/1.1", at_limit)[0] == 200
    _refused(_raw(server.url, "GET /healthz HTTP/1.1", _filler(MAX_HEADERS - 1)))
    _refused(_raw(server.url, "GET /healthz HTTP/1.1", _filler(20_000)))

    assert _raw(server.url, "GET /healthz HTTP/1.1", [("X-Big", "v" * 30_000)])[0] == 200
    _refused(_raw(server.url, "GET /healthz HTTP/1.1", [("X-Big", "v" * (MAX_HEADER_BYTES + 1))]))
    _refused(_raw(server.url, "GET /healthz HTTP/1.1", [("X-Big", "v" * 2_000_000)]))
    # Many fields, each small, that add up.
    _refused(_raw(server.url, "GET /healthz HTTP/1.1", _filler(50, size=700)))


def test_oversized_headers_are_refused_before_any_work(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    server.enrol(bank, "alice")
    before = server.snapshot()
    body = json.dumps({"user": "alice", "type": "login", "data": {}}).encode()
    authorised = [
        ("Authorization", f"Bearer {bank.rp.api_key}"),
        ("Content-Type", "application/json"),
    ]
    # The hot route, with a valid key and body: no operation is created.
    _refused(
        _raw(server.url, "POST /v1/operations HTTP/1.1", authorised + _filler(MAX_HEADERS), body)
    )
    # A FastAPI route, and a wrong key: refused for the headers, before authentication.
    _refused(
        _raw(
            server.url,
            "POST /v1/users/alice/activations HTTP/1.1",
            [("Authorization", "Bearer wrong"), ("X-Big", "v" * 40_000)],
        )
    )
    assert server.snapshot() == before
    assert [kind for kind, _ in server.outbox()].count("activation_code") == 1
    # The same request with ordinary headers is served.
    status, _, _ = _raw(server.url, "POST /v1/operations HTTP/1.1", authorised, body)
    assert status == 201
