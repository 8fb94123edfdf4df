# SPDX-License-Identifier: Apache-2.0
"""Enrolling or removing biometrics after activation: the code authorizes it (brief I1, K3).

A stolen unlocked phone must not let its holder enrol their own fingerprint for Sceau, so the
change needs the code: the device first asks ``code/evaluate`` for an evaluation of the current
code (counted as a failed attempt until cleared, like every evaluation), derives the knowledge
key, and signs the new biometric public key (or ``null`` to remove biometrics) with the request
counter (:func:`sceau_core.signatures.verify_inherence_registration`). A valid signature clears
the attempt; the change is audited and the customer told by SMS.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sceau_core.errors import SceauError
from sceau_core.keys import decode_public_key, key_fingerprint
from sceau_core.signatures import verify_inherence_registration
from sceau_server.services import activations as activation_service
from sceau_server.services import operations as operation_service
from sceau_server.services.code import CHANGE_WINDOW
from sceau_server.services.context import ServerContext
from sceau_server.services.devices import Admitted
from sceau_server.services.events import alert_customer, audit
from sceau_server.storage import repository

__all__ = ["change_biometrics"]


def change_biometrics(
    ctx: ServerContext,
    session: Session,
    admitted: Admitted,
    *,
    inherence_public_key: str | None,
    knowledge_signature: str,
) -> dict[str, Any]:
    """Register a new biometric key (or remove it with ``None``), authorized by the code."""
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
        inherence = verify_inherence_registration(
            decode_public_key(activation.knowledge_public_key),
            activation_id=activation.id,
            counter=admitted.info.counter,
            inherence_public_key=inherence_public_key,
            signature=knowledge_signature,
        )
    except SceauError as error:
        raise operation_service.refusal(
            ctx, session, activation, attempt, reason=str(error), subject=activation.id
        ) from error
    operation_service.clear_attempt(session, activation, attempt, now)
    activation.inherence_public_key = inherence_public_key
    enabled = inherence is not None
    audit(
        session,
        event="activation.biometrics_enabled" if enabled else "activation.biometrics_disabled",
        now=now,
        actor=activation.id,
        subject=activation.id,
        data={
            "inherence_public_key": inherence_public_key,
            "inherence_key_fingerprint": None if inherence is None else key_fingerprint(inherence),
            "knowledge_signature": knowledge_signature,
            "counter": admitted.info.counter,
        },
    )
    kind = "biometrics_enabled" if enabled else "biometrics_disabled"
    alert_customer(ctx, session, admitted.user, kind, now)
    return activation_service.status_view(ctx, activation)
