# SPDX-License-Identifier: Apache-2.0
"""Security events: the audit log entry and, where the customer must know, an SMS.

Every call appends to the hash-chained audit log (:mod:`sceau_server.audit`) inside the caller's
transaction; ``data`` never holds a secret (no code, no key material beyond public keys).
"""

from __future__ import annotations

import datetime
import functools
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Final
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, get_timezone_location
from sqlalchemy.orm import Session

from sceau_server.metrics import METRICS
from sceau_server.services.context import ServerContext
from sceau_server.storage.database import after_commit
from sceau_server.storage.models import User

__all__ = [
    "ALERTS",
    "alert_customer",
    "audit",
    "audit_follow_up",
    "audit_forged_request",
    "forged_follow_up",
]


def audit(
    session: Session, *, event: str, now: int, actor: str, subject: str, data: Mapping[str, Any]
) -> None:
    """Append one security event to the audit log, in the caller's transaction."""
    from sceau_server.audit import record_event

    record_event(session, event=event, now=now, actor=actor, subject=subject, data=data)
    after_commit(session, lambda: METRICS.audit_event(event))


def audit_follow_up(
    ctx: ServerContext, *, event: str, subject: str, data: Mapping[str, Any]
) -> Callable[[Session, list[tuple[str, str]]], None]:
    """A refusal's follow-up (see :class:`~sceau_server.errors.ServerError`) that audits it."""

    def follow_up(session: Session, _notes: list[tuple[str, str]]) -> None:
        audit(session, event=event, now=ctx.now(), actor=subject, subject=subject, data=data)

    return follow_up


_FORGED_EVERY: Final = 60
"""At most one ``device.signature_refused`` entry per activation and minute on a node: each
says how many requests were refused since the previous one, and a flood of forged requests
cannot grow the audit log (or take its write lock) at the forger's pace."""


class _ForgedRequests:
    def __init__(self, size: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._seen: OrderedDict[tuple[int, str], tuple[int, int]] = OrderedDict()
        self._size = size

    def count(self, ctx: ServerContext, activation_id: str, now: int) -> int:
        """How many refusals to record now (0: fold this one into the next entry)."""
        key = (id(ctx), activation_id)
        with self._lock:
            last, pending = self._seen.pop(key, (0, 0))
            pending += 1
            due = now - last >= _FORGED_EVERY
            self._seen[key] = (now, 0) if due else (last, pending)
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
        return pending if due else 0


_FORGED = _ForgedRequests()


def audit_forged_request(ctx: ServerContext, activation_id: str, reason: str) -> None:
    """Audit a request in the name of ``activation_id`` whose signature did not verify with
    its device key (its own transaction; throttled, see :data:`_FORGED_EVERY`)."""
    with ctx.db.write() as session:
        forged_follow_up(ctx, activation_id, reason)(session, [])


def forged_follow_up(
    ctx: ServerContext, activation_id: str, reason: str
) -> Callable[[Session, list[tuple[str, str]]], None]:
    """A refusal's follow-up recording a request its sender could not have made genuinely
    (a forged signature, a registration without the activation code), throttled like
    :func:`audit_forged_request`."""

    def follow_up(session: Session, _notes: list[tuple[str, str]]) -> None:
        now = ctx.now()
        refused = _FORGED.count(ctx, f"{activation_id}:{reason}", now)
        if refused:
            audit(
                session,
                event="device.signature_refused",
                now=now,
                actor="unknown",
                subject=activation_id,
                data={"reason": reason, "refused": refused},
            )

    return follow_up


ALERTS: dict[str, dict[str, str]] = {
    "fr": {
        "activation_code": (
            "Sceau : votre code de confirmation est {code}, à saisir sur l’appareil que vous "
            "activez. Il expire dans {minutes} minutes. "
            "Ne le communiquez à personne, pas même à votre banque."
        ),
        "new_device": (
            "Sceau : un nouvel appareil « {device} » a été activé sur votre compte. "
            "Si ce n’est pas vous, appelez votre banque."
        ),
        "code_failure": (
            "Sceau : une tentative de validation d’opération a échoué. "
            "Il vous reste {left} essai(s). Si ce n’est pas vous, appelez votre banque."
        ),
        "locked": (
            "Sceau : trop de tentatives échouées. Votre authentification est bloquée jusqu’au "
            "{until}."
        ),
        "lock_warning": (
            "Sceau : trop de tentatives échouées. Votre authentification est bloquée jusqu’au "
            "{until}. Attention : au prochain blocage, il sera définitif."
        ),
        "blocked": (
            "Sceau : trop de tentatives échouées. Votre authentification est bloquée "
            "définitivement ; "
            "contactez votre banque pour la débloquer."
        ),
        "suspended": (
            "Sceau : une copie de votre appareil a peut-être été faite ; il est suspendu. "
            "Contactez votre banque."
        ),
        "unlocked": "Sceau : votre banque a débloqué votre authentification.",
        "code_changed": (
            "Sceau : votre code a été changé. Si ce n’est pas vous, appelez votre banque."
        ),
        "device_on_hold": (
            "Sceau : un nouvel appareil « {device} » demande à être activé sur votre "
            "compte{replaces}. Sans validation depuis votre appareil actuel, il le sera le "
            "{until}. "
            "Si ce n’est pas vous, refusez-le depuis votre appareil actuel ou appelez votre banque "
            "sans attendre."
        ),
        "device_cancelled": (
            "Sceau : l’activation de l’appareil « {device} » a été annulée ; "
            "il ne peut rien valider."
        ),
        "device_removed": (
            "Sceau : l’appareil « {device} » a été retiré de votre compte ; il ne peut plus rien "
            "valider. Si ce n’est pas vous, appelez votre banque."
        ),
        "device_revoked": (
            "Sceau : votre banque a retiré l’appareil « {device} » de votre compte ; il ne peut "
            "plus rien valider."
        ),
        "device_released": (
            "Sceau : à votre demande, votre banque a activé l’appareil « {device} » sans "
            "attendre la fin du délai de sécurité. Si ce n’est pas vous, appelez votre banque."
        ),
        "reset_code": (
            "Sceau : votre code pour réinitialiser votre code Sceau est {code}. Il expire dans "
            "{minutes} minutes. Ne le communiquez à personne, pas même à votre banque."
        ),
        "code_reset": (
            "Sceau : votre code Sceau a été réinitialisé ({method}). Si ce n’est pas vous, "
            "appelez votre banque."
        ),
        "reset_failed": (
            "Sceau : trop d’essais pour réinitialiser votre code ; la demande est annulée et "
            "votre code n’a pas changé. Si ce n’est pas vous, appelez votre banque."
        ),
        "biometrics_enabled": (
            "Sceau : la biométrie a été activée pour valider vos opérations. Si ce n’est pas vous, "
            "appelez votre banque."
        ),
        "biometrics_disabled": "Sceau : la biométrie a été désactivée pour Sceau.",
        "phone_changed": (
            "Sceau : le numéro de téléphone de votre compte a été remplacé par un autre. "
            "Si ce n’est pas vous, appelez votre banque sans attendre."
        ),
    },
    "en": {
        "activation_code": (
            "Sceau: your confirmation code is {code}, to type on the device you are activating. "
            "It expires in {minutes} minutes. "
            "Never share it, not even with your bank."
        ),
        "new_device": (
            "Sceau: a new device “{device}” was activated on your account. "
            "If this wasn’t you, call your bank."
        ),
        "code_failure": (
            "Sceau: an attempt to approve an operation failed. "
            "{left} attempt(s) left. If this wasn’t you, call your bank."
        ),
        "locked": ("Sceau: too many failed attempts. Authentication is locked until {until}."),
        "lock_warning": (
            "Sceau: too many failed attempts. Authentication is locked until {until}. "
            "Warning: the next lock will be permanent."
        ),
        "blocked": (
            "Sceau: too many failed attempts. Authentication is permanently blocked; "
            "contact your bank to unblock it."
        ),
        "suspended": (
            "Sceau: your device may have been copied; it is suspended. Contact your bank."
        ),
        "unlocked": "Sceau: your bank has unlocked your authentication.",
        "code_changed": "Sceau: your code was changed. If this wasn’t you, call your bank.",
        "device_on_hold": (
            "Sceau: a new device “{device}” asks to be activated on your account{replaces}. "
            "Unless approved from your current device, it will be on {until}. "
            "If this wasn’t you, decline it from your current device or call your bank at once."
        ),
        "device_cancelled": (
            "Sceau: the activation of device “{device}” was cancelled; it cannot approve anything."
        ),
        "device_removed": (
            "Sceau: device “{device}” was removed from your account; it can no longer approve "
            "anything. If this wasn’t you, call your bank."
        ),
        "device_revoked": (
            "Sceau: your bank removed device “{device}” from your account; it can no longer "
            "approve anything."
        ),
        "device_released": (
            "Sceau: at your request, your bank activated device “{device}” without waiting for "
            "the end of the security delay. If this wasn’t you, call your bank."
        ),
        "reset_code": (
            "Sceau: your code to reset your Sceau code is {code}. It expires in {minutes} "
            "minutes. Never share it, not even with your bank."
        ),
        "code_reset": (
            "Sceau: your Sceau code was reset ({method}). If this wasn’t you, call your bank."
        ),
        "reset_failed": (
            "Sceau: too many attempts to reset your code; the request is cancelled and your code "
            "did not change. If this wasn’t you, call your bank."
        ),
        "biometrics_enabled": (
            "Sceau: biometrics were enabled to approve your operations. If this wasn’t you, call "
            "your bank."
        ),
        "biometrics_disabled": "Sceau: biometrics were disabled for Sceau.",
        "phone_changed": (
            "Sceau: the phone number of your account was replaced with another one. "
            "If this wasn’t you, call your bank at once."
        ),
    },
}


def customer_time(ctx: ServerContext, timestamp: int, locale: str) -> str:
    """A moment as the customer reads it, in the bank's time zone (``SCEAU_BANK_TIMEZONE``),
    which it names: ``01/07/2026 à 00:30 (heure de Paris)``, ``1 July 2026, 00:30 (Paris time)``."""
    zone = ZoneInfo(ctx.settings.bank_timezone)
    moment = datetime.datetime.fromtimestamp(timestamp, zone)
    if locale == "en":
        text = format_datetime(moment, "d MMMM y, HH:mm", tzinfo=zone, locale="en_GB")
    else:
        text = format_datetime(moment, "dd/MM/y 'à' HH:mm", tzinfo=zone, locale="fr_FR")
    return f"{text} ({_zone_label(zone.key, locale)})"


@functools.lru_cache(maxsize=32)
def _zone_label(zone: str, locale: str) -> str:
    english = locale == "en"
    if zone in ("UTC", "Etc/UTC"):
        return "UTC" if english else "heure UTC"
    city = get_timezone_location(zone, locale="en_GB" if english else "fr_FR", return_city=True)
    if english:
        return f"{city} time"
    # French elides "de" before a vowel: heure d’Amsterdam, heure d’Athènes.
    elided = unicodedata.normalize("NFD", city[:1])[:1] in {"A", "E", "I", "O", "U"}
    return f"heure d’{city}" if elided else f"heure de {city}"


def alert_customer(
    ctx: ServerContext,
    session: Session,
    user: User,
    kind: str,
    now: int,
    *,
    to: str | None = None,
    **values: Any,
) -> None:
    """Send the customer the SMS ``kind`` in their language (to ``to`` rather than their
    current phone number when given)."""
    template = ALERTS.get(user.locale, ALERTS["fr"])[kind]
    ctx.sms.send(
        session,
        user_id=user.id,
        phone=to or user.phone,
        kind=kind,
        message=template.format(**values),
        now=now,
    )
