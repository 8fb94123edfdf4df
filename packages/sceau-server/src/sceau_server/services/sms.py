# SPDX-License-Identifier: Apache-2.0
"""Sending SMS to customers: one-time activation codes, failure alerts, lock warnings.

:class:`OutboxSmsSender`, the default, writes each message to the ``sms_outbox`` table within the
caller's transaction instead of sending it; ``sceau admin outbox`` and the demo read it. A
deployment plugs a real gateway behind the same :class:`SmsSender` interface.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from sceau_server.storage.models import SmsMessage

__all__ = ["OutboxSmsSender", "SmsSender"]


class SmsSender(Protocol):
    """Sends one SMS; called inside the transaction that decided to send it."""

    def send(
        self,
        session: Session,
        *,
        user_id: int | None,
        phone: str,
        kind: str,
        message: str,
        now: int,
    ) -> None:
        """Send (or queue) ``message`` to ``phone``."""


class OutboxSmsSender:
    """Writes messages to the local outbox table."""

    def send(
        self,
        session: Session,
        *,
        user_id: int | None,
        phone: str,
        kind: str,
        message: str,
        now: int,
    ) -> None:
        """Append the message to the outbox."""
        session.add(
            SmsMessage(user_id=user_id, phone=phone, kind=kind, message=message, created_at=now)
        )
