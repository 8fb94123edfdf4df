# SPDX-License-Identifier: Apache-2.0
"""Changing the code, knowing the old one (brief K3: its evaluation counts like any other).

1. ``code/evaluate``: an evaluation of the old code, counted as a failed attempt first.
2. ``code/change``: the old knowledge key signs the new code's blinded element with the
   request's counter (:func:`sceau_core.signatures.verify_code_change`); a valid signature
   clears the attempt, and only then is the new code evaluated (not counted: it is authorized).
3. ``code/commit``: the new knowledge key replaces the old one. It signs its renewal over the
   single-use challenge that step 2 answered (:func:`sceau_core.signatures.verify_key_renewal`),
   so that no earlier registration can be replayed to roll the code back, and it must come
   within a few minutes of step 2.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy.orm import Session

from sceau_core.encoding import b64url_encode
from sceau_core.errors import SceauError
from sceau_core.keys import decode_public_key, key_fingerprint
from sceau_core.signatures import verify_code_change, verify_key_renewal
from sceau_server.errors import AuthenticationFailed
from sceau_server.services import activations as activation_service
from sceau_server.services import operations as operation_service
from sceau_server.services.context import ServerContext
from sceau_server.services.devices import Admitted
from sceau_server.services.events import alert_customer, audit
from sceau_server.storage import repository

__all__ = ["CHANGE_WINDOW", "change", "commit", "evaluate_old_code"]

CHANGE_WINDOW = 300
"""Seconds from the old code's evaluation to the change, and from the change to the commit."""


def evaluate_old_code(
    ctx: ServerContext, session: Session, admitted: Admitted, *, blinded_element: str
) -> operation_service.Evaluation:
    """Step 1: count the attempt; the old code is evaluated once it has committed."""
    return operation_service.evaluate_counted(
        ctx, session, admitted, None, blinded_element=blinded_element
    )


def change(
    ctx: ServerContext,
    session: Session,
    admitted: Admitted,
    *,
    blinded_element: str,
    knowledge_signature: str,
) -> dict[str, Any]:
    """Step 2: the old knowledge key authorizes the evaluation of the new code."""
    activation = admitted.activation
    now = ctx.now()
    attempt = repository.latest_open_attempt(
        session, activation.id, None, admitted.info.counter, since=now - CHANGE_WINDOW
    )
    locked = activation.blocked_at is not None or (
        activation.locked_until is not None and now < activation.locked_until
    )
    if attempt is None or activation.knowledge_public_key is None:
        raise operation_service.refusal(
            ctx, session, activation, attempt, reason="no code evaluation", subject=activation.id
        )
    if locked and not attempt.locked:
        raise operation_service.refusal(
            ctx, session, activation, attempt, reason="activation locked", subject=activation.id
        )
    try:
        verify_code_change(
            decode_public_key(activation.knowledge_public_key),
            activation_id=activation.id,
            counter=admitted.info.counter,
            blinded_element=blinded_element,
            signature=knowledge_signature,
        )
    except SceauError as error:
        raise operation_service.refusal(
            ctx, session, activation, attempt, reason=str(error), subject=activation.id
        ) from error
    operation_service.clear_attempt(session, activation, attempt, now)
    evaluated, proof = activation_service._evaluate(ctx, activation, blinded_element)
    activation.code_change_until = now + CHANGE_WINDOW
    activation.renewal_challenge = b64url_encode(os.urandom(32))
    audit(
        session,
        event="code.change_authorized",
        now=now,
        actor=activation.id,
        subject=activation.id,
        data={"counter": admitted.info.counter},
    )
    return {
        "evaluated_element": b64url_encode(evaluated),
        "proof": b64url_encode(proof),
        "challenge": activation.renewal_challenge,
    }


def commit(
    ctx: ServerContext,
    session: Session,
    admitted: Admitted,
    *,
    knowledge_public_key: str,
    knowledge_signature: str,
) -> dict[str, Any]:
    """Step 3: register the new knowledge key; the old code stops working at once."""
    activation = admitted.activation
    now = ctx.now()
    challenge = activation.renewal_challenge
    if (
        activation.code_change_until is None
        or now >= activation.code_change_until
        or challenge is None
    ):
        raise AuthenticationFailed()
    try:
        key = verify_key_renewal(
            activation_id=activation.id,
            knowledge_public_key=knowledge_public_key,
            challenge=challenge,
            signature=knowledge_signature,
        )
    except SceauError as error:
        raise AuthenticationFailed() from error
    activation.knowledge_public_key = knowledge_public_key
    activation.code_change_until = None
    activation.renewal_challenge = None
    repository.supersede_open_resets(session, activation.id, now)
    audit(
        session,
        event="activation.code_changed",
        now=now,
        actor=activation.id,
        subject=activation.id,
        data={
            "knowledge_public_key": knowledge_public_key,
            "knowledge_key_fingerprint": key_fingerprint(key),
            "knowledge_signature": knowledge_signature,
        },
    )
    alert_customer(ctx, session, admitted.user, "code_changed", now)
    return activation_service.status_view(ctx, activation)
