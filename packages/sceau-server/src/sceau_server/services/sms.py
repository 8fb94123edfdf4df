# SPDX-License-Identifier: Apache-2.0
"""Sending SMS to customers: one-time activation codes, failure alerts, lock warnings.

:class:`OutboxSmsSender`, the default, writes each message to the ``sms_outbox`` table within the
caller's transaction instead of sending it; ``sceau admin outbox`` and the demo read it. A
deployment plugs a real gateway behind the same :class:`SmsSender` interface.

The outbox keeps one-time codes in clear, which only development may do (brief L1: codes are
stored as an HMAC): in production the server refuses to start with the outbox unless
``SCEAU_SMS_OUTBOX=redacted`` acknowledges it, and then the codes are blanked out.
"""

from __future__ import annotations

import re
from typing import Final, Protocol

from sqlalchemy.orm import Session

from sceau_server.settings import ConfigurationError, Settings
from sceau_server.storage.models import SmsMessage

__all__ = ["ONE_TIME_CODE_KINDS", "OutboxSmsSender", "SmsSender", "default_sender"]

ONE_TIME_CODE_KINDS: Final = frozenset({"activation_code", "reset_code"})
"""The SMS that carry a one-time code."""

_CODE = re.compile(r"\d{6,}")


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
    """Writes messages to the local outbox table; with ``redact``, one-time codes blanked."""

    def __init__(self, *, redact: bool = False) -> None:
        self.redact = redact

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
        if self.redact and kind in ONE_TIME_CODE_KINDS:
            message = _CODE.sub("••••••", message)
        session.add(
            SmsMessage(user_id=user_id, phone=phone, kind=kind, message=message, created_at=now)
        )


def default_sender(settings: Settings) -> SmsSender:
    """The outbox, or :class:`ConfigurationError` in production unless acknowledged."""
    if settings.production and settings.sms_outbox != "redacted":
        raise ConfigurationError(
            "in production the SMS outbox would keep one-time codes in clear: plug an SMS "
            "gateway (sceau_server.services.sms.SmsSender), or set SCEAU_SMS_OUTBOX=redacted"
        )
    return OutboxSmsSender(redact=settings.sms_outbox == "redacted")
