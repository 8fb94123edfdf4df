# SPDX-License-Identifier: Apache-2.0
"""Webhooks to relying parties, in the Standard Webhooks style (brief R1).

Each final operation with a callback URL gets one row in ``deliveries``. The worker claims a due
row with a conditional update (so two workers never send the same delivery at once), posts the
JSON payload with the headers ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature: v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>``, and marks it
delivered on any 2xx answer: an acknowledged delivery is never sent again. Other answers and
network errors are retried with exponential backoff, up to ``webhook_max_attempts``. Redirects
are not followed (the allowlisted URL is the only destination).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

import httpx

from sceau_server.metrics import METRICS
from sceau_server.services.accounts import webhook_secret
from sceau_server.services.context import ServerContext
from sceau_server.storage import repository
from sceau_server.storage.models import Delivery, RelyingParty

__all__ = ["deliver_due", "sign_webhook"]

_log = logging.getLogger("sceau.webhooks")
_LEASE = 60.0
_MAX_BACKOFF = 3600.0


def sign_webhook(secret: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one message."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.digest(secret, signed, hashlib.sha256)
    return "v1," + base64.b64encode(digest).decode("ascii")


def _claim(ctx: ServerContext, delivery_id: str, seen_next: float) -> bool:
    with ctx.db.write() as session:
        return repository.claim_delivery(session, delivery_id, seen_next, ctx.clock() + _LEASE)


def deliver_due(ctx: ServerContext, client: httpx.Client, limit: int = 20) -> int:
    """Send every due delivery once; return how many were attempted."""
    now = ctx.clock()
    with ctx.read() as session:
        due = repository.due_deliveries(session, now, limit)
    attempted = 0
    for delivery_id, next_at in due:
        if not _claim(ctx, delivery_id, next_at):
            continue
        attempted += 1
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
        status: int | None = None
        try:
            response = client.post(url, content=body, headers=headers)
            status = response.status_code
        except httpx.HTTPError as error:
            _log.warning("webhook %s to %s failed: %s", delivery_id, url, type(error).__name__)
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
    return attempted
