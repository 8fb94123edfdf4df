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


def unlock(ctx: ServerContext, activation_id: str, *, operator: str) -> None:
    """Lift a temporary lock or a permanent block after the bank identified the customer.

    This is the "secure procedure to regain use" of RTS art. 4(5): audited, and the customer is
    told. Uncleared attempts stay in the audit trail but no longer count.
    """

    def work(session: Session, _notes: list[tuple[str, str]]) -> None:
        now = ctx.now()
        activation = session.get(Activation, activation_id, with_for_update=True)
        if activation is None:
            raise NotFound("No such activation.")
        activation.failures = 0
        activation.locks = 0
        activation.locked_until = None
        activation.blocked_at = None
        repository.clear_open_attempts(session, activation_id, now)
        audit(
            session,
            event="activation.unlocked",
            now=now,
            actor=operator,
            subject=activation_id,
            data={"reason": "operator"},
        )
        user = session.get(User, activation.user_id)
        assert user is not None
        alert_customer(ctx, session, user, "unlocked", now)

    ctx.transaction(work)
