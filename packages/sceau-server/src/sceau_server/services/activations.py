# SPDX-License-Identifier: Apache-2.0
"""The activation ceremony (docs/protocol.md §2.4) and the end of an activation.

1. The RP creates an activation: code, lookup digest, OPRF key pair, binding tag, SMS code.
2. The device looks it up by ``lookup_id`` and pins the binding (§2.3).
3. It registers its device key with the registration proof and the SMS code.
4. It runs one VOPRF evaluation to derive its knowledge key (§3).
5. It commits the knowledge key, signed by that key; the activation becomes active.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from sceau_core.activation import (
    ActivationCode,
    QrPayload,
    ServerBinding,
    binding_tag,
    check_one_time_code,
    generate_one_time_code,
    verify_registration_proof,
)
from sceau_core.encoding import b64url_decode, b64url_encode
from sceau_core.errors import SceauError
from sceau_core.hazmat import oprf
from sceau_core.keys import decode_public_key, key_fingerprint
from sceau_core.operations import check_text
from sceau_core.signatures import verify_key_registration
from sceau_server.errors import AuthenticationFailed, InvalidRequest, NotFound, RateLimited
from sceau_server.services.accounts import looks_like_server_id
from sceau_server.services.context import ServerContext, random_id
from sceau_server.services.devices import Admitted
from sceau_server.services.events import alert_customer, audit, forged_follow_up
from sceau_server.storage import repository
from sceau_server.storage.models import Activation, RelyingParty, User
from sceau_server.storage.models import Operation as OperationRow

__all__ = [
    "MAX_REGISTRATION_EVALUATIONS",
    "commit",
    "create_activation",
    "end_activation",
    "evaluate_registration",
    "lookup",
    "register",
    "status_view",
]

MAX_REGISTRATION_EVALUATIONS = 3
_SMS_DIGITS = 6
_ACTIVATION_WINDOW = 3600


def _binding(ctx: ServerContext, activation: Activation) -> ServerBinding:
    return ServerBinding(
        activation_id=activation.id,
        server_url=ctx.settings.public_url,
        server_public_key=ctx.public_key_text,
        oprf_public_key=activation.oprf_public_key,
    )


def create_activation(
    ctx: ServerContext, session: Session, rp: RelyingParty, user: User, notes: list[tuple[str, str]]
) -> dict[str, Any]:
    """Create an activation for ``user``; the user's previous unused one stops working.

    The caller holds ``user``'s row locked, so that parallel requests, on any node, count the
    activations created before them (:func:`_check_activation_rate`).
    """
    del notes
    now = ctx.now()
    _check_activation_rate(ctx, session, user, now)
    for superseded in repository.supersede_unused_activations(session, user.id, now):
        audit(
            session,
            event="activation.superseded",
            now=now,
            actor=rp.id,
            subject=superseded,
            data={"reason": "replaced_by_new_activation"},
        )
    code = ActivationCode.generate(os.urandom)
    activation_id = random_id("act")
    oprf_key, oprf_public = oprf.generate_key_pair(os.urandom)
    sms_code = generate_one_time_code(os.urandom, digits=_SMS_DIGITS)
    activation = Activation(
        id=activation_id,
        user_id=user.id,
        rp_id=rp.id,
        status="pending",
        lookup_digest=ctx.digest("activation", "", code.lookup_id()),
        binding_tag="",
        registration_key_wrapped=ctx.wrapper.wrap(
            code.registration_key(), slot=f"registration-key:{activation_id}"
        ),
        oprf_key_wrapped=ctx.wrapper.wrap(oprf_key, slot=f"oprf-key:{activation_id}"),
        oprf_public_key=b64url_encode(oprf_public),
        code_expires_at=now + ctx.settings.activation_ttl,
        sms_digest=ctx.digest("sms", activation_id, sms_code),
        sms_expires_at=now + ctx.settings.sms_code_ttl,
        sms_attempts=0,
        registration_evaluations=0,
        counter=0,
        last_signed_at=0,
        failures=0,
        locks=0,
        created_at=now,
    )
    binding = _binding(ctx, activation)
    activation.binding_tag = binding_tag(code, binding)
    session.add(activation)
    alert_customer(
        ctx,
        session,
        user,
        "activation_code",
        now,
        code=sms_code,
        minutes=max(1, ctx.settings.sms_code_ttl // 60),
    )
    audit(
        session,
        event="activation.created",
        now=now,
        actor=rp.id,
        subject=activation_id,
        data={"user": user.external_id, "expires_at": activation.code_expires_at},
    )
    qr_uri = QrPayload(code, ctx.settings.public_url, binding.server_key_fingerprint).to_uri()
    return {
        "activation_id": activation_id,
        "code": code.text,
        "qr_uri": qr_uri,
        "qr_svg": segno.make(qr_uri, error="m").svg_inline(scale=4),
        "expires_at": activation.code_expires_at,
        "server_key_fingerprint": binding.server_key_fingerprint,
    }


def _check_activation_rate(ctx: ServerContext, session: Session, user: User, now: int) -> None:
    """Refuse a new activation, and its SMS, once the user had ``activations_per_hour`` in the
    last hour.

    The count is of activation rows, so a refused request, which writes none, does not count:
    a flood that keeps being refused cannot push back the genuine customer's next activation.
    """
    limit = ctx.settings.activations_per_hour
    created = session.scalars(
        select(Activation.created_at)
        .where(Activation.user_id == user.id, Activation.created_at > now - _ACTIVATION_WINDOW)
        .order_by(Activation.created_at)
    ).all()
    if len(created) < limit:
        return
    retry_after = max(1, created[len(created) - limit] + _ACTIVATION_WINDOW - now)
    raise RateLimited(
        "Too many activations for this user; try again later.",
        retry_after=retry_after,
        extra={
            "message_fr": "Trop de demandes d’activation : réessayez plus tard, ou appelez "
            "votre banque.",
            "message_en": "Too many activation requests: try again later, or call your bank.",
        },
    )


def lookup(ctx: ServerContext, lookup_id: str) -> dict[str, Any]:
    """The binding and tag of the pending activation ``lookup_id`` names (§2.4 step 2)."""
    now = ctx.now()
    with ctx.read() as session:
        activation = repository.find_activation_by_lookup(
            session, ctx.digest("activation", "", lookup_id)
        )
        if (
            activation is None
            or activation.status != "pending"
            or activation.code_expires_at <= now
        ):
            raise NotFound("No such activation, or it has expired.")
        return {
            "activation_id": activation.id,
            "binding": _binding(ctx, activation).to_json(),
            "tag": activation.binding_tag,
        }


def register(
    ctx: ServerContext,
    session: Session,
    admitted: Admitted,
    *,
    device_name: str,
    device_public_key: str,
    sms_code: str,
    proof: str,
) -> dict[str, Any]:
    """Register the device key (§2.4 step 3): proof of the code, SMS code, key signature."""
    activation = admitted.activation
    now = ctx.now()
    try:
        check_text(device_name, field="device_name")
    except SceauError as error:
        raise InvalidRequest(f"{error}") from error
    if looks_like_server_id(device_name):
        raise InvalidRequest("device_name must not start like a Sceau identifier.")
    if (
        activation.code_expires_at <= now
        or activation.sms_expires_at <= now
        or activation.sms_attempts >= ctx.settings.sms_code_attempts
    ):
        raise AuthenticationFailed()
    registration_key = ctx.wrapper.unwrap(
        activation.registration_key_wrapped, slot=f"registration-key:{activation.id}"
    )
    registration = {
        "activation_id": activation.id,
        "device_name": device_name,
        "device_public_key": device_public_key,
    }
    try:
        verify_registration_proof(registration_key, registration, proof)
    except SceauError as error:
        # Without the activation code: not an SMS guess, so no SMS attempt is spent (the
        # customer's activation cannot be ended by whoever learns its id).
        raise AuthenticationFailed(
            follow_up=forged_follow_up(ctx, activation.id, "registration_proof")
        ) from error
    # Counted before the check, in the transaction that holds the activation row and is kept
    # when the check fails: parallel guesses each see the attempts of the ones before.
    activation.sms_attempts += 1
    try:
        check_one_time_code(
            sms_code,
            key=ctx.digest_key,
            label="sms",
            subject=activation.id,
            expected_digest=activation.sms_digest,
        )
    except SceauError as error:
        exhausted = activation.sms_attempts >= ctx.settings.sms_code_attempts
        if exhausted:
            activation.status = "revoked"
            activation.ended_at = now
            activation.end_reason = "too_many_registration_failures"
        audit(
            session,
            event="activation.code_failure",
            now=now,
            actor=activation.id,
            subject=activation.id,
            data={"attempts": activation.sms_attempts, "exhausted": exhausted},
        )
        left = ctx.settings.sms_code_attempts - activation.sms_attempts
        raise AuthenticationFailed(attempts_left=max(0, left), keep_writes=True) from error
    public_key = decode_public_key(device_public_key)
    activation.status = "registered"
    activation.device_name = device_name
    activation.device_public_key = device_public_key
    activation.registered_at = now
    activation.sms_digest = ""
    audit(
        session,
        event="activation.registered",
        now=now,
        actor=activation.id,
        subject=activation.id,
        data={
            "device_name": device_name,
            "device_public_key": device_public_key,
            "device_key_fingerprint": key_fingerprint(public_key),
            "counter": admitted.info.counter,
        },
    )
    return {"activation_id": activation.id, "status": activation.status}


def evaluate_registration(
    ctx: ServerContext, admitted: Admitted, *, blinded_element: str
) -> dict[str, Any]:
    """The one VOPRF evaluation that derives the first knowledge key (§2.4 step 4)."""
    activation = admitted.activation
    if activation.registration_evaluations >= MAX_REGISTRATION_EVALUATIONS or _registration_expired(
        ctx, activation
    ):
        raise AuthenticationFailed()
    evaluated, proof = _evaluate(ctx, activation, blinded_element)
    activation.registration_evaluations += 1
    return {"evaluated_element": b64url_encode(evaluated), "proof": b64url_encode(proof)}


def _registration_expired(ctx: ServerContext, activation: Activation) -> bool:
    """Whether the activation code expired before the commit: whoever registered with a
    phished code and SMS cannot finish the ceremony at a moment of his choosing (brief L1)."""
    return activation.code_expires_at <= ctx.now()


@dataclass(frozen=True)
class PendingEvaluation:
    """A checked blinded element and the activation's wrapped OPRF key that will evaluate it.

    The evaluation is computed once the transaction that counted its attempt has committed
    (:meth:`compute`): the attempt is durable before the answer exists, and the VOPRF (which
    runs without the interpreter lock) stays out of SQLite's single writer turn.
    """

    activation_id: str
    blinded: bytes
    wrapped_key: str = field(repr=False)
    public_key: str

    def compute(self, ctx: ServerContext) -> tuple[bytes, bytes]:
        """The evaluated element and its proof (RFC 9497 VOPRF)."""
        key = ctx.wrapper.unwrap(self.wrapped_key, slot=f"oprf-key:{self.activation_id}")
        public = b64url_decode(self.public_key, length=oprf.ELEMENT_LENGTH)
        return oprf.blind_evaluate_verifiable(key, public, self.blinded, rng=os.urandom)


def pending_evaluation(activation: Activation, blinded_element: str) -> PendingEvaluation:
    """``blinded_element`` checked for an evaluation with ``activation``'s key."""
    try:
        blinded = oprf.check_element(
            b64url_decode(blinded_element, length=oprf.ELEMENT_LENGTH, field="blinded_element")
        )
    except SceauError as error:
        raise InvalidRequest("blinded_element is not a valid ristretto255 element.") from error
    return PendingEvaluation(
        activation_id=activation.id,
        blinded=blinded,
        wrapped_key=activation.oprf_key_wrapped,
        public_key=activation.oprf_public_key,
    )


def _evaluate(
    ctx: ServerContext, activation: Activation, blinded_element: str
) -> tuple[bytes, bytes]:
    return pending_evaluation(activation, blinded_element).compute(ctx)


def commit(
    ctx: ServerContext,
    session: Session,
    admitted: Admitted,
    notes: list[tuple[str, str]],
    *,
    knowledge_public_key: str,
    knowledge_signature: str,
    inherence_public_key: str | None,
) -> dict[str, Any]:
    """Register the knowledge (and biometric) keys (step 5).

    The activation becomes active at once when the customer has no other device; otherwise it
    waits on hold for a current device's approval (:mod:`sceau_server.services.device_lifecycle`).
    """
    from sceau_server.services import device_lifecycle

    activation = admitted.activation
    user = admitted.user
    now = ctx.now()
    if activation.registration_evaluations < 1 or _registration_expired(ctx, activation):
        raise AuthenticationFailed()
    try:
        knowledge = verify_key_registration(
            activation_id=activation.id,
            knowledge_public_key=knowledge_public_key,
            signature=knowledge_signature,
        )
        inherence = (
            None if inherence_public_key is None else decode_public_key(inherence_public_key)
        )
    except SceauError as error:
        raise AuthenticationFailed() from error
    activation.knowledge_public_key = knowledge_public_key
    activation.inherence_public_key = inherence_public_key
    activation.registration_key_wrapped = ""
    audit(
        session,
        event="activation.committed",
        now=now,
        actor=activation.id,
        subject=activation.id,
        data={
            "user": user.external_id,
            "knowledge_public_key": knowledge_public_key,
            "knowledge_key_fingerprint": key_fingerprint(knowledge),
            "inherence_key_fingerprint": None if inherence is None else key_fingerprint(inherence),
            "knowledge_signature": knowledge_signature,
        },
    )
    device_lifecycle.commit_device(ctx, session, activation, user, notes)
    return status_view(ctx, activation)


def status_view(ctx: ServerContext, activation: Activation) -> dict[str, Any]:
    """What the device learns about its own activation."""
    now = ctx.now()
    locked = activation.locked_until is not None and activation.locked_until > now
    return {
        "activation_id": activation.id,
        "status": activation.status,
        "device_name": activation.device_name,
        "counter": activation.counter,
        "locked_until": activation.locked_until if locked else None,
        "blocked": activation.blocked_at is not None,
        "inherence": activation.inherence_public_key is not None,
        "hold_until": activation.hold_until,
        "next_lock_final": next_lock_final(ctx, activation),
    }


def next_lock_final(ctx: ServerContext, activation: Activation) -> bool:
    """Whether the next lock will block for good: the customer is warned (brief K3)."""
    return (
        activation.blocked_at is None
        and activation.locks >= 1
        and activation.locks >= ctx.settings.max_locks - 1
    )


def end_activation(
    ctx: ServerContext,
    session: Session,
    activation: Activation,
    *,
    actor: str,
    reason: str,
    notes: list[tuple[str, str]],
    alert: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Revoke ``activation`` at once: its keys stop working for every request (brief L4).

    A device on hold is cancelled, with its pending ``new_device`` operation. ``alert`` names
    the SMS that tells the customer (none when ``None``); ``data`` adds to the audit entry.
    """
    now = ctx.now()
    hold_operation = activation.hold_operation_id if activation.status == "on_hold" else None
    previous = activation.status
    activation.status = "revoked"
    activation.ended_at = now
    activation.end_reason = reason
    activation.hold_until = None
    activation.replaces_id = None
    activation.hold_operation_id = None
    activation.renewal_challenge = None
    notes.append((f"device:{activation.id}", "revoked"))
    audit(
        session,
        event="activation.revoked",
        now=now,
        actor=actor,
        subject=activation.id,
        data={"reason": reason, "previous_status": previous, **(data or {})},
    )
    if hold_operation is not None:
        from sceau_server.services import operations as operation_service

        row = session.get(OperationRow, hold_operation, with_for_update=True)
        if row is not None and row.status == "pending":
            operation_service.finalize(ctx, session, row, "cancelled", notes, actor=actor)
    if alert is not None:
        user = session.get(User, activation.user_id)
        assert user is not None
        alert_customer(ctx, session, user, alert, now, device=activation.device_name or "?")


def get_activation(session: Session, user: User, activation_id: str) -> Activation:
    """The activation ``activation_id`` of ``user``, or :class:`NotFound`."""
    activation = session.get(Activation, activation_id, with_for_update=True)
    if activation is None or activation.user_id != user.id:
        raise NotFound("No such activation.")
    return activation
