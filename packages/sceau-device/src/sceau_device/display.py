# SPDX-License-Identifier: Apache-2.0
"""How the authenticator shows an operation: the server's signed lines inside its own chrome.

The lines that say what is approved (type, amount, payee with masked IBAN, merchant, requesting
browser, IP address, place…) are the operation's ``display``, rendered and signed by the server
(brief D1, D8); they are shown exactly as received. The authenticator adds only its own chrome:
its name, the time left, and the fixed reminder that the bank never asks to validate an
operation over the phone. Only operations whose signature was verified reach this module.
"""

from __future__ import annotations

from typing import Any

from sceau_core.display import TEXT
from sceau_core.operations import Operation, OperationType
from sceau_device.texts import format_duration, say

__all__ = ["operation_json", "render_operation", "summary_line"]

_RULE = "─" * 60


def render_operation(
    operation: Operation, *, device_name: str, now: int, locale: str = "fr"
) -> list[str]:
    """The lines a customer reads for a verified ``operation``."""
    lang = "en" if locale == "en" else "fr"
    title, *details = operation.display
    lines = [
        f"┌{_RULE}",
        f"│ Sceau · {say('device', lang, name=device_name)}",
        f"├{_RULE}",
        f"│ {title}",
    ]
    lines.extend(f"│   {line}" for line in details)
    lines.append(f"├{_RULE}")
    lines.append(
        f"│ {say('time_left', lang, duration=format_duration(operation.expires_at - now, lang))}"
    )
    if operation.type is OperationType.LOGIN:
        lines.append(f"│ {TEXT[lang]['enter_match']}")
    lines.append(f"│ {TEXT[lang]['reminder']}")
    lines.append(f"│ {say('operation_id', lang, id=operation.id)}")
    lines.append(f"└{_RULE}")
    return lines


def summary_line(operation: Operation, *, now: int, locale: str = "fr") -> str:
    """One line for a list: id, title, the first detail, the time left."""
    lang = "en" if locale == "en" else "fr"
    detail = f" · {operation.display[1]}" if len(operation.display) > 1 else ""
    left = format_duration(operation.expires_at - now, lang)
    return f"{operation.id}  {operation.display[0]}{detail}  ({left})"


def operation_json(operation: Operation, *, now: int) -> dict[str, Any]:
    """A verified operation for ``--json`` output: what it is, its signed lines, its time left."""
    return {
        "id": operation.id,
        "type": operation.type.value,
        "display": list(operation.display),
        "digest": operation.digest,
        "expires_at": operation.expires_at,
        "seconds_left": max(0, operation.expires_at - now),
        "needs_match": operation.type is OperationType.LOGIN,
        "verified": True,
    }
