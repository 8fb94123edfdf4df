# SPDX-License-Identifier: Apache-2.0
"""Webhook receivers that misbehave: an acknowledgement whose body never ends, a redirect to
another host. Each receiver is a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from sceau_server.services import webhooks
from sceau_server.services.webhooks import WebhookWorker
from tests.server.conftest import RelyingPartyClient, ServerHandle, wait_until

LATE = 3.0
"""How long the late receiver takes to answer, in seconds."""


class _Receiver(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]]

    def log_message(self, *args: Any) -> None:
        pass


class _EndlessBody(_Receiver):
    """Acknowledges with 200 at once, then announces 1 GB of body and sends it 1 KB every 0.1 s
    until the sender hangs up or the test ends."""

    release = threading.Event()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        type(self).hits.append(self.headers["webhook-id"])
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
            for _ in range(1200):  # bounded: 2 minutes
                if self.release.wait(0.1):
                    return
                self.wfile.write(b"x" * 1024)
                self.wfile.flush()
        except OSError:
            pass


class _Elsewhere(_Receiver):
    """Another host (not allowlisted) the redirect points to."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        type(self).hits.append(self.headers["webhook-id"])
        self.send_response(204)
        self.end_headers()


class _Redirecting(_Receiver):
    target: ClassVar[str] = ""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        type(self).hits.append(self.headers["webhook-id"])
        self.send_response(307)
        self.send_header("Location", self.target)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _Late(_Receiver):
    """Acknowledges each webhook :data:`LATE` seconds after it arrives (longer than the claim
    lease's base, shorter than the ``webhook_timeout`` the test chooses)."""

    release = threading.Event()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        type(self).hits.append(self.headers["webhook-id"])
        self.release.wait(LATE)
        self.send_response(204)
        self.end_headers()


@pytest.fixture
def receivers() -> Iterator[dict[str, str]]:
    _EndlessBody.release.clear()
    _Late.release.clear()
    servers, urls = [], {}
    for name, handler in (
        ("late", _Late),
        ("endless", _EndlessBody),
        ("elsewhere", _Elsewhere),
        ("redirecting", _Redirecting),
    ):
        handler.hits = []
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        urls[name] = f"http://127.0.0.1:{httpd.server_address[1]}/hooks"
    _Redirecting.target = urls["elsewhere"]
    yield urls
    _EndlessBody.release.set()
    _Late.release.set()
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def _bank_calling(server: ServerHandle, url: str) -> RelyingPartyClient:
    """A relying party whose allowlist is ``url``, with a customer who has a device."""
    bank = server.relying_party("Banque en ligne", callback_allow=[url])
    server.enrol(bank, "ines")
    return bank


def _end_one_operation(bank: RelyingPartyClient, url: str) -> None:
    """Create an operation calling back ``url`` and cancel it: its webhook is due."""
    created = bank.create_operation(user="ines", type="login", data={}, callback_url=url)
    assert bank.http.post(f"/v1/operations/{created.json()['id']}/cancel").status_code == 200


def _final_delivery(server: ServerHandle) -> Any:
    """The one delivery, once it is no longer pending."""
    wait_until(
        lambda: server.rows("SELECT 1 FROM deliveries WHERE status <> 'pending'"), timeout=20
    )
    (row,) = server.rows("SELECT status, attempts, last_status FROM deliveries")
    return row


def test_a_webhook_acknowledged_with_200_is_delivered_once_whatever_body_follows(
    make_server: Any, receivers: dict[str, str]
) -> None:
    """The status line is the acknowledgement: a receiver that answers 200 and then sends an
    endless body has the webhook once, marked delivered, never again (the body is not read)."""
    url = receivers["endless"]
    server = make_server(webhook_timeout=1.0)
    bank = _bank_calling(server, url)
    _end_one_operation(bank, url)

    row = _final_delivery(server)
    assert (row.status, row.attempts, row.last_status) == ("delivered", 1, 200)
    assert len(_EndlessBody.hits) == 1


def test_a_webhook_redirected_to_another_host_is_not_followed_and_is_retried(
    make_server: Any, receivers: dict[str, str]
) -> None:
    url = receivers["redirecting"]
    server = make_server(webhook_max_attempts=2)
    bank = _bank_calling(server, url)
    _end_one_operation(bank, url)

    row = _final_delivery(server)
    assert (row.status, row.attempts, row.last_status) == ("failed", 2, 307)
    assert len(_Redirecting.hits) == 2
    assert _Elsewhere.hits == []


def test_a_webhook_to_a_host_name_that_resolves_to_loopback_is_not_sent(
    make_server: Any, receivers: dict[str, str]
) -> None:
    """An allowlisted host name whose DNS answer becomes a loopback address (DNS rebinding,
    here ``localhost``) does not reach the services listening there; only an allowlisted IP
    literal does (the other tests)."""
    url = receivers["elsewhere"].replace("127.0.0.1", "localhost")
    server = make_server(webhook_max_attempts=2)
    bank = _bank_calling(server, url)
    _end_one_operation(bank, url)

    row = _final_delivery(server)
    assert (row.status, row.attempts, row.last_status) == ("failed", 2, None)
    assert _Elsewhere.hits == []


def test_a_slow_receiver_within_the_timeout_gets_the_webhook_from_one_node_only(
    make_server: Any, receivers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A receiver slower to acknowledge than the claim lease's base (a minute, scaled down to
    1 s here), within ``webhook_timeout``, gets the webhook once, although a second node's
    worker looks for due deliveries all along."""
    monkeypatch.setattr(webhooks, "_LEASE", 1.0)
    url = receivers["late"]
    server = make_server(webhook_timeout=LATE + 3)
    bank = _bank_calling(server, url)
    done = threading.Event()

    async def second_node() -> None:
        worker = WebhookWorker(server.ctx)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        while not done.is_set():
            await asyncio.sleep(0.1)
        stop.set()
        await task
        await worker.close()

    node = threading.Thread(target=asyncio.run, args=(second_node(),))
    node.start()
    try:
        _end_one_operation(bank, url)
        wait_until(
            lambda: server.rows("SELECT 1 FROM deliveries WHERE status = 'delivered'"),
            timeout=30,
        )
    finally:
        done.set()
        node.join(timeout=30)
    assert len(_Late.hits) == 1
