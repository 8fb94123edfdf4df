# SPDX-License-Identifier: Apache-2.0
"""What a client controls cannot grow the server's memory: the metrics' label sets, and the
request headers."""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from sceau_server.api import create_app
from sceau_server.services.context import ServerContext
from sceau_server.settings import Settings
from tests.server.conftest import (
    MASTER_KEY,
    SECRET,
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
