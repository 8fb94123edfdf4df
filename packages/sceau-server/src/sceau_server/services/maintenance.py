# SPDX-License-Identifier: Apache-2.0
"""Housekeeping and operator actions: the replay cache purge, unlocking an activation."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sceau_server.errors import NotFound
from sceau_server.services.context import ServerContext
from sceau_server.services.events import alert_customer, audit
from sceau_server.storage import repository
from sceau_server.storage.models import Activation, User

__all__ = ["purge_nonces", "unlock"]


def purge_nonces(ctx: ServerContext) -> None:
    """Forget nonces older than the signature window: a replay of them is refused as stale."""
    with ctx.db.write() as session:
        repository.purge_nonces(session, ctx.now())


def unlock(
    ctx: ServerContext,
    activation_id: str,
    *,
    operator: str,
    reason: str | None = None,
    identity_check: str | None = None,
    actor: str | None = None,
) -> None:
    """Lift a temporary lock or a permanent block after the bank identified the customer.

    This is the "secure procedure to regain use" of RTS art. 4(5): audited with the operator's
    name, the reason and the identity check done, and the customer is told. Uncleared attempts
    stay in the audit trail but no longer count. ``actor`` is who acts in the audit log (the
    operator by default; the admin key's relying party for the admin API).
    """

    def work(session: Session, _notes: list[tuple[str, str]]) -> None:
        now = ctx.now()
        activation = session.get(Activation, activation_id, with_for_update=True)
        if activation is None or activation.status not in ("active", "suspended", "on_hold"):
            raise NotFound("No such activation.")
        was_blocked = activation.blocked_at is not None
        locks = activation.locks
        activation.failures = 0
        activation.locks = 0
        activation.locked_until = None
        activation.blocked_at = None
        repository.clear_open_attempts(session, activation_id, now)
        audit(
            session,
            event="activation.unlocked",
            now=now,
            actor=actor or operator,
            subject=activation_id,
            data={
                "reason": "operator",
                "operator": operator,
                "motive": reason,
                "identity_check": identity_check,
                "was_blocked": was_blocked,
                "locks": locks,
            },
        )
        user = session.get(User, activation.user_id)
        assert user is not None
        alert_customer(ctx, session, user, "unlocked", now)

    ctx.transaction(work)
