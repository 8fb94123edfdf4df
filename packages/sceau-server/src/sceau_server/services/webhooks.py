# SPDX-License-Identifier: Apache-2.0
"""Webhooks to relying parties, in the Standard Webhooks style (brief R1).

Each final operation with a callback URL gets one row in ``deliveries``. The worker claims a due
row with a conditional update (so two workers never send the same delivery at once), posts the
JSON payload with the headers ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature: v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>``, and marks it
delivered on any 2xx answer: an acknowledged delivery is never sent again. Other answers and
network errors are retried with exponential backoff, up to ``webhook_max_attempts``. Redirects
are not followed (the allowlisted URL is the only destination).

Relying parties are isolated from one another: each RP's due deliveries are sent by its own
task, one after the other, while other RPs' tasks run; an RP whose task is still busy gets no
second one. Every send has an overall deadline (``webhook_timeout``, from the connection to the
status line): an endpoint that answers one byte at a time is cut off there and retried later.
The answer's body is never read: a 2xx status line followed by an endless or huge body is an
acknowledgement, and costs no memory. A callback host name is resolved once per send and the
connection goes to the address checked: a name whose DNS answer is (or is rebound to) a
loopback, link-local or other special address is not sent to, and is retried.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import socket
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
from anyio import to_thread
from sqlalchemy import select

from sceau_server.metrics import METRICS
from sceau_server.services.accounts import webhook_secret
from sceau_server.services.context import ServerContext
from sceau_server.storage import repository
from sceau_server.storage.models import Delivery, RelyingParty

__all__ = ["WebhookWorker", "sign_webhook"]

_log = logging.getLogger("sceau.webhooks")
_LEASE = 60.0
_MAX_BACKOFF = 3600.0
_MAX_RPS_AT_ONCE = 32
_BATCH = 20


def sign_webhook(secret: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one message."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.digest(secret, signed, hashlib.sha256)
    return "v1," + base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class _Message:
    url: str
    body: bytes
    headers: dict[str, str]
    attempts: int


def _unreachable_by_name(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Addresses no webhook reaches through a host name: this machine, link-local (the cloud
    metadata service), unspecified, multicast and reserved ones. Private networks stay
    reachable: a bank's receivers are often there."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
    )


async def _pinned(message: _Message) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL to post to, with the host name resolved once and checked: the connection goes
    to the address checked (a second DNS answer, rebound to loopback, is never asked for), with
    the name kept for the ``Host`` header and TLS (SNI and certificate). An IP literal is the
    allowlist's own choice and is used as it is."""
    url = httpx.URL(message.url)
    try:
        ipaddress.ip_address(url.host)
        return message.url, message.headers, {}
    except ValueError:
        pass
    port = url.port or (443 if url.scheme == "https" else 80)
    infos = await anyio.getaddrinfo(url.host, port, type=socket.SOCK_STREAM)
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses or any(_unreachable_by_name(address) for address in addresses):
        raise httpx.ConnectError(f"{url.host} resolves to an address webhooks never reach")
    pinned = url.copy_with(host=str(addresses[0]))
    headers = {**message.headers, "host": url.netloc.decode("ascii")}
    return str(pinned), headers, {"sni_hostname": url.host}


class WebhookWorker:
    """Sends due deliveries, one task per relying party (see the module's documentation)."""

    def __init__(self, ctx: ServerContext) -> None:
        self._ctx = ctx
        self._client = httpx.AsyncClient(
            timeout=ctx.settings.webhook_timeout, follow_redirects=False
        )
        self._busy: dict[str, asyncio.Task[int]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Start the due deliveries every ``webhook_interval`` seconds until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self.start_due()
            except Exception:
                _log.exception("background task webhooks failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._ctx.settings.webhook_interval)

    async def start_due(self) -> int:
        """Start a task for each relying party with due deliveries and none running."""
        room = _MAX_RPS_AT_ONCE - len(self._busy)
        if room <= 0:
            return 0
        due = await to_thread.run_sync(self._due, set(self._busy))
        started = 0
        for rp_id, deliveries in due.items():
            if started >= room:
                break
            task = asyncio.create_task(self._deliver(deliveries), name=rp_id)
            self._busy[rp_id] = task
            task.add_done_callback(self._done)
            started += 1
        return started

    def _done(self, task: asyncio.Task[int]) -> None:
        self._busy.pop(task.get_name(), None)
        if not task.cancelled() and task.exception() is not None:
            _log.error("webhooks of %s failed", task.get_name(), exc_info=task.exception())

    async def close(self) -> None:
        """Stop the running sends (their leases expire, they are retried) and the client."""
        tasks = list(self._busy.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._client.aclose()

    def _due(self, busy: set[str]) -> dict[str, list[tuple[str, float]]]:
        query = (
            select(Delivery.id, Delivery.next_attempt_at, Delivery.rp_id)
            .where(Delivery.status == "pending", Delivery.next_attempt_at <= self._ctx.clock())
            .order_by(Delivery.next_attempt_at)
            .limit(_BATCH * 5)
        )
        if busy:
            query = query.where(Delivery.rp_id.not_in(busy))
        grouped: dict[str, list[tuple[str, float]]] = {}
        with self._ctx.read() as session:
            for delivery_id, next_at, rp_id in session.execute(query):
                batch = grouped.setdefault(rp_id, [])
                if len(batch) < _BATCH:
                    batch.append((delivery_id, next_at))
        return grouped

    async def _deliver(self, deliveries: list[tuple[str, float]]) -> int:
        attempted = 0
        for delivery_id, next_at in deliveries:
            message = await to_thread.run_sync(self._claim, delivery_id, next_at)
            if message is None:
                continue
            attempted += 1
            status = await self._send(delivery_id, message)
            await to_thread.run_sync(self._record, delivery_id, message.attempts, status)
        return attempted

    async def _send(self, delivery_id: str, message: _Message) -> int | None:
        try:
            async with asyncio.timeout(self._ctx.settings.webhook_timeout):
                url, headers, extensions = await _pinned(message)
                async with self._client.stream(
                    "POST", url, content=message.body, headers=headers, extensions=extensions
                ) as response:
                    # The status line is the answer: the body, however long or slow, is not read.
                    return response.status_code
        except (httpx.HTTPError, TimeoutError, OSError) as error:
            _log.warning(
                "webhook %s to %s failed: %s", delivery_id, message.url, type(error).__name__
            )
            return None

    def _claim(self, delivery_id: str, seen_next: float) -> _Message | None:
        ctx = self._ctx
        with ctx.db.write() as session:
            # The lease outlasts the send's deadline: no other node sends it meanwhile.
            lease = _LEASE + ctx.settings.webhook_timeout
            if not repository.claim_delivery(session, delivery_id, seen_next, ctx.clock() + lease):
                return None
        with ctx.read() as session:
            delivery = session.get(Delivery, delivery_id)
            assert delivery is not None
            rp = session.get(RelyingParty, delivery.rp_id)
            assert rp is not None
            url, payload, attempts = delivery.url, delivery.payload, delivery.attempts
            secret = webhook_secret(ctx, rp)
        timestamp = ctx.now()
        body = payload.encode("utf-8")
        headers = {
            "content-type": "application/json",
            "webhook-id": delivery_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign_webhook(secret, delivery_id, timestamp, body),
        }
        return _Message(url, body, headers, attempts)

    def _record(self, delivery_id: str, attempts: int, status: int | None) -> None:
        ctx = self._ctx
        with ctx.db.write() as session:
            delivery = session.get(Delivery, delivery_id)
            assert delivery is not None
            delivery.last_status = status
            if status is not None and 200 <= status < 300:
                delivery.status = "delivered"
                delivery.delivered_at = ctx.now()
            elif attempts >= ctx.settings.webhook_max_attempts:
                delivery.status = "failed"
            else:
                backoff = min(ctx.settings.webhook_backoff * 2 ** (attempts - 1), _MAX_BACKOFF)
                delivery.next_attempt_at = ctx.clock() + backoff
            outcome = delivery.status if delivery.status != "pending" else "retry"
        METRICS.webhooks.labels(outcome).inc()
