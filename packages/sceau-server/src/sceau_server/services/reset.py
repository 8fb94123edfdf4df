# SPDX-License-Identifier: Apache-2.0
"""The forgotten code ("Code oublié", brief L3): a reset that is itself strong authentication.

A reset renews the knowledge credential remotely, so it needs two elements of two categories
(RTS art. 4, 24(2)(b), 26). Every request of the reset is signed with the device key
(possession); the second element is one of:

- ``biometric``: the biometric key (inherence), which signs the reset's challenge, the request
  counter and the new code's blinded element (:func:`sceau_core.signatures.verify_code_reset`);
- ``sms``: an SMS code sent to the registered phone (possession again) **and** the customer's
  online-banking password (knowledge), checked by the bank's verifier hook
  (:mod:`sceau_server.services.verifier`). Without the password the reset is refused before
  anything is checked: the device key and an SMS code are two possession elements.

The steps (docs/protocol.md §6.4):

1. ``start``: rate-limited (``SCEAU_RESETS_PER_DAY`` per device), refused while the activation is
   permanently blocked, and for the SMS method while the phone number changed less than
   ``SCEAU_RESET_PHONE_HOLD`` seconds ago (SIM swap): the customer is told why and until when.
   The server draws the reset's challenge; for the SMS method, a 6-digit code goes by SMS,
   stored as a keyed digest, valid ``SCEAU_SMS_CODE_TTL`` seconds.
2. ``evaluate``: the second element is checked; a failure never says which element failed and
   counts against the reset's attempts (``SCEAU_SMS_CODE_ATTEMPTS``, 3): the last one ends the
   reset, and nothing else has changed. On success, and only then, the new code's blinded
   element is evaluated; like every evaluation it is counted as a failed attempt (brief K3)
   until the commit's knowledge signature clears it.
3. ``commit``: the new knowledge key signs its renewal over the reset's challenge (so no old
   registration can be replayed to roll a code back); it replaces the old one at once, the
   failed attempts are cleared and the lock is lifted. The customer is told by SMS.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from sceau_core.activation import check_one_time_code, generate_one_time_code
from sceau_core.encoding import b64url_encode
from sceau_core.errors import SceauError
from sceau_core.keys import decode_public_key, key_fingerprint
from sceau_core.signatures import verify_code_reset, verify_key_renewal
from sceau_server.errors import AuthenticationFailed, InvalidRequest, RateLimited, ResetRefused
from sceau_server.services import activations as activation_service
from sceau_server.services.context import ServerContext, random_id
from sceau_server.services.devices import Admitted
from sceau_server.services.events import alert_customer, audit, customer_time
from sceau_server.services.verifier import PasswordCheck, PasswordRejected, VerifierUnavailable
from sceau_server.storage import repository
from sceau_server.storage.models import Activation, Attempt, CodeReset, User

__all__ = [
    "COMMIT_WINDOW",
    "METHODS",
    "PasswordOutcome",
    "check_password",
    "commit",
    "evaluate",
    "start",
]

METHODS = ("biometric", "sms")
COMMIT_WINDOW = 300
"""Seconds from the authorized evaluation to the commit of the new knowledge key."""
_DAY = 86_400
_SMS_DIGITS = 6
_METHOD_WORDS = {
    "fr": {"biometric": "biométrie", "sms": "code SMS et mot de passe"},
    "en": {"biometric": "biometrics", "sms": "SMS code and password"},
}


class PasswordOutcome(StrEnum):
    """The bank verifier's answer about the online-banking password."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UNAVAILABLE = "unavailable"


def _blocked() -> ResetRefused:
    return ResetRefused(
        "blocked",
        message_fr=(
            "Votre authentification est bloquée définitivement : contactez votre banque pour "
            "la débloquer."
        ),
        message_en="Your authentication is permanently blocked: contact your bank to unblock it.",
    )


def _sms_unavailable() -> ResetRefused:
    return ResetRefused(
        "sms_reset_unavailable",
        message_fr=(
            "La réinitialisation par SMS n’est pas disponible pour le moment : utilisez la "
            "biométrie, ou appelez votre banque."
        ),
        message_en=(
            "Resetting by SMS is not available at the moment: use biometrics, or call your bank."
        ),
    )


def password_required() -> ResetRefused:
    """The refusal of an SMS reset without the online-banking password (two possession only)."""
    return ResetRefused(
        "password_required",
        message_fr=(
            "Un code SMS et cet appareil ne suffisent pas : saisissez aussi le mot de passe de "
            "votre banque en ligne, ou utilisez la biométrie."
        ),
        message_en=(
            "An SMS code and this device are not enough: also enter your online-banking "
            "password, or use biometrics."
        ),
    )


def _audit_refusal(
    ctx: ServerContext, activation_id: str, reason: str, data: Mapping[str, Any]
) -> Callable[[Session, list[tuple[str, str]]], None]:
    def follow_up(session: Session, _notes: list[tuple[str, str]]) -> None:
        audit(
            session,
            event="code.reset_refused",
            now=ctx.now(),
            actor=activation_id,
            subject=activation_id,
            data={"reason": reason, **data},
        )

    return follow_up


# --- 1. start ------------------------------------------------------------------------------------


def start(ctx: ServerContext, session: Session, admitted: Admitted, method: str) -> dict[str, Any]:
    """Start a reset with ``method`` (``biometric`` or ``sms``); see the module docstring."""
    activation, user = admitted.activation, admitted.user
    now = ctx.now()
    if method not in METHODS:
        raise InvalidRequest("method must be biometric or sms.")
    if activation.blocked_at is not None:
        error = _blocked()
        error.follow_up = _audit_refusal(ctx, activation.id, "blocked", {"method": method})
        raise error
    recent = repository.count_recent_resets(session, activation.id, now - _DAY)
    if recent >= ctx.settings.resets_per_day:
        raise RateLimited(
            "Too many code resets for this device today; try again later.",
            retry_after=_DAY,
            extra={
                "message_fr": "Trop de demandes de réinitialisation aujourd’hui : réessayez "
                "demain, ou appelez votre banque.",
                "message_en": "Too many reset requests today: try again tomorrow, or call "
                "your bank.",
            },
        )
    if method == "biometric" and activation.inherence_public_key is None:
        raise ResetRefused(
            "no_biometrics",
            message_fr="La biométrie n’est pas activée sur cet appareil : réinitialisez par SMS.",
            message_en="Biometrics are not enabled on this device: reset by SMS.",
        )
    if method == "sms":
        _check_sms_allowed(ctx, activation, user, now)
    repository.supersede_open_resets(session, activation.id, now)
    reset = CodeReset(
        id=random_id("rst"),
        activation_id=activation.id,
        method=method,
        status="open",
        challenge=b64url_encode(os.urandom(32)),
        sms_digest=None,
        attempts=0,
        created_at=now,
        expires_at=now + ctx.settings.sms_code_ttl,
    )
    if method == "sms":
        code = generate_one_time_code(os.urandom, digits=_SMS_DIGITS)
        reset.sms_digest = ctx.digest("reset-sms", reset.id, code)
        alert_customer(
            ctx,
            session,
            user,
            "reset_code",
            now,
            code=code,
            minutes=max(1, ctx.settings.sms_code_ttl // 60),
        )
        del code
    session.add(reset)
    audit(
        session,
        event="code.reset_started",
        now=now,
        actor=activation.id,
        subject=activation.id,
        data={
            "reset": reset.id,
            "method": method,
            "expires_at": reset.expires_at,
            "counter": admitted.info.counter,
        },
    )
    return {
        "reset_id": reset.id,
        "method": method,
        "challenge": reset.challenge,
        "expires_at": reset.expires_at,
        "attempts_left": ctx.settings.sms_code_attempts,
    }


def _check_sms_allowed(ctx: ServerContext, activation: Activation, user: User, now: int) -> None:
    if not getattr(ctx.verifier, "configured", True):
        error = _sms_unavailable()
        error.follow_up = _audit_refusal(ctx, activation.id, "sms_reset_unavailable", {})
        raise error
    changed = user.phone_changed_at
    if changed is not None and now < changed + ctx.settings.reset_phone_hold:
        held_until = changed + ctx.settings.reset_phone_hold
        error = ResetRefused(
            "phone_recently_changed",
            message_fr=(
                f"Votre numéro de téléphone a été changé le {customer_time(ctx, changed, 'fr')}. "
                "Par sécurité, la réinitialisation par SMS ne sera possible qu’à partir du "
                f"{customer_time(ctx, held_until, 'fr')}. Utilisez la biométrie, ou appelez votre "
                "banque."
            ),
            message_en=(
                f"Your phone number was changed on {customer_time(ctx, changed, 'en')}. For your "
                "security, resetting by SMS will only be possible from "
                f"{customer_time(ctx, held_until, 'en')}. Use biometrics, or call your bank."
            ),
            held_until=held_until,
        )
        error.follow_up = _audit_refusal(
            ctx,
            activation.id,
            "phone_recently_changed",
            {"phone_changed_at": changed, "held_until": held_until},
        )
        raise error


# --- 2. evaluate ---------------------------------------------------------------------------------


def check_password(
    ctx: ServerContext,
    *,
    user: str,
    activation_id: str,
    reset_id: str,
    password: str,
    details: Mapping[str, str],
) -> PasswordOutcome:
    """Ask the bank's verifier (outside any database transaction); never raises."""
    try:
        ctx.verifier.verify(
            PasswordCheck(
                user=user,
                password=password,
                activation_id=activation_id,
                reset_id=reset_id,
                details=dict(details),
            )
        )
    except PasswordRejected:
        return PasswordOutcome.REJECTED
    except VerifierUnavailable:
        return PasswordOutcome.UNAVAILABLE
    return PasswordOutcome.ACCEPTED


def _failed(ctx: ServerContext, reset_id: str) -> Callable[[Session, list[tuple[str, str]]], None]:
    """Count one failed verification of the reset, in its own transaction (the refusal's rule)."""

    def follow_up(session: Session, _notes: list[tuple[str, str]]) -> None:
        now = ctx.now()
        reset = session.get(CodeReset, reset_id, with_for_update=True)
        if reset is None or reset.status != "open":
            return
        reset.attempts += 1
        exhausted = reset.attempts >= ctx.settings.sms_code_attempts
        if exhausted:
            reset.status = "failed"
            reset.finished_at = now
            reset.sms_digest = None
        audit(
            session,
            event="code.reset_failure",
            now=now,
            actor=reset.activation_id,
            subject=reset.activation_id,
            data={
                "reset": reset.id,
                "method": reset.method,
                "failures": reset.attempts,
                "exhausted": exhausted,
            },
        )
        if exhausted:
            activation = session.get(Activation, reset.activation_id)
            assert activation is not None
            user = session.get(User, activation.user_id)
            assert user is not None
            alert_customer(ctx, session, user, "reset_failed", now)

    return follow_up


def evaluate(
    ctx: ServerContext,
    session: Session,
    admitted: Admitted,
    reset_id: str,
    *,
    blinded_element: str,
    inherence_signature: str | None,
    sms_code: str | None,
    password_outcome: PasswordOutcome | None,
) -> dict[str, Any]:
    """Check the reset's second element; on success only, evaluate the new code.

    ``password_outcome`` is the bank verifier's answer, obtained by :func:`check_password`
    before this transaction (``None`` when no password was sent).
    """
    activation = admitted.activation
    now = ctx.now()
    reset = session.get(CodeReset, reset_id, with_for_update=True)
    if reset is None or reset.activation_id != activation.id:
        raise AuthenticationFailed()
    if reset.status != "open" or now >= reset.expires_at:
        raise AuthenticationFailed(attempts_left=0)
    if activation.blocked_at is not None:
        raise _blocked()
    max_attempts = ctx.settings.sms_code_attempts
    left = max(0, max_attempts - reset.attempts - 1)
    if reset.method == "sms":
        if password_outcome is None:
            error = password_required()
            error.follow_up = _audit_refusal(ctx, activation.id, "password_required", {})
            raise error
        if password_outcome is PasswordOutcome.UNAVAILABLE:
            error = _sms_unavailable()
            error.follow_up = _audit_refusal(ctx, activation.id, "sms_reset_unavailable", {})
            raise error
        if sms_code is None:
            raise InvalidRequest("An SMS reset needs sms_code.")
        try:
            check_one_time_code(
                sms_code,
                key=ctx.digest_key,
                label="reset-sms",
                subject=reset.id,
                expected_digest=reset.sms_digest or "",
            )
            sms_ok = True
        except SceauError:
            sms_ok = False
        if not (sms_ok and password_outcome is PasswordOutcome.ACCEPTED):
            raise AuthenticationFailed(attempts_left=left, follow_up=_failed(ctx, reset.id))
    else:
        if inherence_signature is None or activation.inherence_public_key is None:
            raise AuthenticationFailed(attempts_left=left, follow_up=_failed(ctx, reset.id))
        try:
            verify_code_reset(
                decode_public_key(activation.inherence_public_key),
                activation_id=activation.id,
                reset_id=reset.id,
                challenge=reset.challenge,
                counter=admitted.info.counter,
                blinded_element=blinded_element,
                signature=inherence_signature,
            )
        except SceauError as error:
            raise AuthenticationFailed(
                attempts_left=left, follow_up=_failed(ctx, reset.id)
            ) from error
    evaluated, proof = activation_service._evaluate(ctx, activation, blinded_element)
    # Like every evaluation (brief K3), this one counts as a failed attempt until a valid
    # knowledge signature follows: the commit's. A reset abandoned here stays a failure, and
    # the customer is told of it. It does not lock by itself: the reset lifts any lock.
    activation.failures += 1
    session.add(
        Attempt(
            activation_id=activation.id,
            purpose="code_change",
            operation_id=None,
            counter=admitted.info.counter,
            created_at=now,
            locked=False,
        )
    )
    reset.status = "authorized"
    reset.authorized_at = now
    reset.expires_at = now + COMMIT_WINDOW
    reset.sms_digest = None
    audit(
        session,
        event="code.reset_authorized",
        now=now,
        actor=activation.id,
        subject=activation.id,
        data={"reset": reset.id, "method": reset.method, "counter": admitted.info.counter},
    )
    return {"evaluated_element": b64url_encode(evaluated), "proof": b64url_encode(proof)}


# --- 3. commit -----------------------------------------------------------------------------------


def commit(
    ctx: ServerContext,
    session: Session,
    admitted: Admitted,
    reset_id: str,
    *,
    knowledge_public_key: str,
    knowledge_signature: str,
) -> dict[str, Any]:
    """Register the new knowledge key; clear the attempts and lift the lock; tell the customer."""
    activation, user = admitted.activation, admitted.user
    now = ctx.now()
    reset = session.get(CodeReset, reset_id, with_for_update=True)
    if (
        reset is None
        or reset.activation_id != activation.id
        or reset.status != "authorized"
        or now >= reset.expires_at
    ):
        raise AuthenticationFailed()
    if activation.blocked_at is not None:
        raise _blocked()
    try:
        key = verify_key_renewal(
            activation_id=activation.id,
            knowledge_public_key=knowledge_public_key,
            challenge=reset.challenge,
            signature=knowledge_signature,
        )
    except SceauError as error:
        raise AuthenticationFailed() from error
    was_locked_until, locks = activation.locked_until, activation.locks
    activation.knowledge_public_key = knowledge_public_key
    activation.failures = 0
    activation.locks = 0
    activation.locked_until = None
    activation.code_change_until = None
    activation.renewal_challenge = None
    repository.clear_open_attempts(session, activation.id, now)
    reset.status = "done"
    reset.finished_at = now
    audit(
        session,
        event="activation.code_reset",
        now=now,
        actor=activation.id,
        subject=activation.id,
        data={
            "reset": reset.id,
            "method": reset.method,
            "knowledge_public_key": knowledge_public_key,
            "knowledge_key_fingerprint": key_fingerprint(key),
            "knowledge_signature": knowledge_signature,
            "lifted_lock_until": was_locked_until,
            "cleared_locks": locks,
        },
    )
    words = _METHOD_WORDS["en" if user.locale == "en" else "fr"]
    alert_customer(ctx, session, user, "code_reset", now, method=words[reset.method])
    return activation_service.status_view(ctx, activation)
