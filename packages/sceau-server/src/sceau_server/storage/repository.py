# SPDX-License-Identifier: Apache-2.0
"""Repository functions: every query the services run, written once for SQLite and PostgreSQL.

Reads that precede a write take row locks with ``with_for_update()`` (rendered as
``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the write transaction's ``BEGIN IMMEDIATE``
already serializes writers). State transitions that must happen once are conditional
``UPDATE … WHERE`` statements whose row count tells whether this caller won.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from sceau_server.db import driver_rowcount, driver_rows
from sceau_server.storage.models import (
    Activation,
    Attempt,
    CodeReset,
    Delivery,
    Nonce,
    Operation,
    RelyingParty,
    User,
)

__all__ = [
    "active_activation_ids",
    "claim_delivery",
    "clear_open_attempts",
    "count_recent_operations",
    "count_recent_resets",
    "due_deliveries",
    "due_operation_ids",
    "finalize_if_pending",
    "find_activation_by_lookup",
    "find_idempotent_operation",
    "find_rp_by_key_digest",
    "find_user",
    "held_activations_due",
    "latest_open_attempt",
    "live_activations",
    "lock_activation",
    "move_counter",
    "nonce_seen",
    "open_failure_times",
    "pending_operation_bodies",
    "purge_nonces",
    "remember_new_nonce",
    "remember_nonce",
    "supersede_open_resets",
    "supersede_unused_activations",
    "suspend_if_live",
    "unfinished_activations_due",
    "unreported_attempt_ids",
    "unreported_attempts_of_operation",
    "user_activations",
]


def _rowcount(result: Any) -> int:
    count: int = result.rowcount
    return count


# --- relying parties and users ------------------------------------------------------------------


def find_rp_by_key_digest(session: Session, digest: str) -> RelyingParty | None:
    """The relying party whose API key has this keyed digest."""
    return session.scalars(
        select(RelyingParty).where(RelyingParty.api_key_digest == digest)
    ).first()


def find_user(session: Session, external_id: str, *, for_update: bool = False) -> User | None:
    """The user known to the bank as ``external_id``."""
    query = select(User).where(User.external_id == external_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


# --- activations --------------------------------------------------------------------------------


def find_activation_by_lookup(session: Session, lookup_digest: str) -> Activation | None:
    """The activation whose lookup id has this keyed digest."""
    return session.scalars(
        select(Activation).where(Activation.lookup_digest == lookup_digest)
    ).first()


def supersede_unused_activations(session: Session, user_id: int, now: int) -> list[str]:
    """End the user's activations that were created but never committed; return their ids.

    Their wrapped keys are erased: nothing can use them any more.
    """
    ids = list(
        session.scalars(
            select(Activation.id)
            .where(Activation.user_id == user_id, Activation.status.in_(("pending", "registered")))
            .with_for_update()
        )
    )
    if ids:
        session.execute(
            update(Activation)
            .where(Activation.id.in_(ids))
            .values(
                status="superseded",
                ended_at=now,
                end_reason="replaced_by_new_activation",
                registration_key_wrapped="",
                oprf_key_wrapped="",
            )
            .execution_options(synchronize_session=False)
        )
    return ids


def user_activations(
    session: Session, user_id: int, statuses: Sequence[str] | None = None
) -> Sequence[Activation]:
    """The user's activations in ``statuses`` (every one when ``None``), oldest first.

    Within one second of creation, the activated ones come first, in activation order.
    """
    query = select(Activation).where(Activation.user_id == user_id)
    if statuses is not None:
        query = query.where(Activation.status.in_(tuple(statuses)))
    order = (
        Activation.created_at,
        Activation.activated_at.is_(None),
        Activation.activated_at,
        Activation.id,
    )
    return session.scalars(query.order_by(*order)).all()


def held_activations_due(session: Session, now: int, limit: int) -> Sequence[str]:
    """New devices on hold whose hold has ended."""
    return session.scalars(
        select(Activation.id)
        .where(Activation.status == "on_hold", Activation.hold_until <= now)
        .limit(limit)
    ).all()


def unfinished_activations_due(session: Session, now: int, ttl: int, limit: int) -> Sequence[str]:
    """Activations never finished in time: unused or registered without a commit past their
    code's expiry (nothing can finish them then), or registered more than ``ttl`` seconds ago."""
    return session.scalars(
        select(Activation.id)
        .where(
            or_(
                and_(
                    Activation.status.in_(("pending", "registered")),
                    Activation.code_expires_at <= now,
                ),
                and_(Activation.status == "registered", Activation.registered_at <= now - ttl),
            )
        )
        .limit(limit)
    ).all()


def active_activation_ids(session: Session, user_id: int) -> Sequence[str]:
    """The ids of the user's active activations."""
    rows = driver_rows(
        session,
        "SELECT id FROM activations WHERE user_id = ? AND status = 'active'",
        (user_id,),
    )
    return [row[0] for row in rows]


def live_activations(
    session: Session, user_id: int, *, excluding: str | None = None
) -> Sequence[Activation]:
    """The user's active or suspended activations (their devices), oldest first."""
    query = select(Activation).where(
        Activation.user_id == user_id, Activation.status.in_(("active", "suspended"))
    )
    if excluding is not None:
        query = query.where(Activation.id != excluding)
    return session.scalars(query.order_by(Activation.created_at)).all()


def suspend_if_live(session: Session, activation_id: str, now: int, reason: str) -> bool:
    """Suspend an active or registered activation; return whether this call did it."""
    result = session.execute(
        update(Activation)
        .where(Activation.id == activation_id, Activation.status.in_(("active", "registered")))
        .values(status="suspended", ended_at=now, end_reason=reason)
    )
    return _rowcount(result) == 1


_ACTIVATION_ATTRIBUTES = tuple(Activation.__mapper__.columns.keys())
_ACTIVATION_COLUMNS = ", ".join(column.name for column in Activation.__mapper__.columns)
_LOCK_ACTIVATION_SQL = f"SELECT {_ACTIVATION_COLUMNS} FROM activations WHERE id = ?"  # noqa: S608


def lock_activation(session: Session, activation_id: str) -> Activation | None:
    """The activation, its row locked until the transaction ends, read through the driver.

    The row becomes a persistent object of ``session``, as if the ORM had loaded it (its
    columns are plain integers and strings: nothing to convert), without the ORM's query.
    """
    if session.identity_map and Session.identity_key(Activation, (activation_id,)) in (
        session.identity_map
    ):  # Already an object of this session (admission starts its transaction: seldom).
        return session.get(Activation, activation_id, with_for_update=True, populate_existing=True)
    sql = _LOCK_ACTIVATION_SQL
    if session.get_bind().dialect.name == "postgresql":
        sql += " FOR UPDATE"
    rows = driver_rows(session, sql, (activation_id,))
    if not rows:
        return None
    values = dict(zip(_ACTIVATION_ATTRIBUTES, rows[0], strict=True))
    activation: Activation = Activation.__mapper__.class_manager.new_instance()
    activation.__dict__.update(values)  # As the ORM's loader fills a new instance.
    make_transient_to_detached(activation)
    session.add(activation)
    return activation


def move_counter(session: Session, activation: Activation, counter: int, signed_at: int) -> None:
    """Store the activation's new request counter and last signature time (one statement)."""
    driver_rowcount(
        session,
        "UPDATE activations SET counter = ?, last_signed_at = ? WHERE id = ?",
        (counter, signed_at, activation.id),
    )
    set_committed_value(activation, "counter", counter)
    set_committed_value(activation, "last_signed_at", signed_at)


# --- forgotten-code resets ---------------------------------------------------------------------


def count_recent_resets(session: Session, activation_id: str, since: int) -> int:
    """How many resets the activation started after ``since``."""
    count = session.scalar(
        select(func.count())
        .select_from(CodeReset)
        .where(CodeReset.activation_id == activation_id, CodeReset.created_at > since)
    )
    return int(count or 0)


def supersede_open_resets(session: Session, activation_id: str, now: int) -> None:
    """End the activation's unfinished resets (a new one starts, or the code changed)."""
    session.execute(
        update(CodeReset)
        .where(
            CodeReset.activation_id == activation_id,
            CodeReset.status.in_(("open", "authorized")),
        )
        .values(status="superseded", finished_at=now)
        .execution_options(synchronize_session=False)
    )


# --- replay cache -------------------------------------------------------------------------------


def nonce_seen(session: Session, activation_id: str, nonce: str) -> bool:
    """Whether this activation already used this request nonce within the window."""
    return session.get(Nonce, (activation_id, nonce)) is not None


def remember_nonce(session: Session, activation_id: str, nonce: str, expires_at: int) -> None:
    """Record a request nonce until ``expires_at``."""
    session.add(Nonce(activation_id=activation_id, nonce=nonce, expires_at=expires_at))


def remember_new_nonce(session: Session, activation_id: str, nonce: str, expires_at: int) -> bool:
    """Record a request nonce unless already seen; return whether it was new (one statement)."""
    inserted = driver_rowcount(
        session,
        "INSERT INTO nonces (activation_id, nonce, expires_at) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (activation_id, nonce, expires_at),
    )
    return inserted == 1


def purge_nonces(session: Session, now: int) -> None:
    """Forget nonces whose window has passed."""
    session.execute(delete(Nonce).where(Nonce.expires_at < now))


# --- operations ---------------------------------------------------------------------------------


def find_idempotent_operation(session: Session, rp_id: str, key: str) -> Operation | None:
    """The operation this relying party created with this Idempotency-Key."""
    return session.scalars(
        select(Operation).where(Operation.rp_id == rp_id, Operation.idempotency_key == key)
    ).first()


def count_recent_operations(session: Session, user_id: int, since: int) -> int:
    """How many operations were created for the user after ``since``."""
    rows = driver_rows(
        session,
        "SELECT count(*) FROM operations WHERE user_id = ? AND created_at > ?",
        (user_id, since),
    )
    return int(rows[0][0] or 0)


def finalize_if_pending(session: Session, operation_id: str, **values: Any) -> bool:
    """Move a pending operation to its final state; return whether this call did it (D2)."""
    result = session.execute(
        update(Operation)
        .where(Operation.id == operation_id, Operation.status == "pending")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def due_operation_ids(session: Session, now: int, limit: int) -> Sequence[str]:
    """Pending operations past their expiry."""
    return session.scalars(
        select(Operation.id)
        .where(Operation.status == "pending", Operation.expires_at <= now)
        .limit(limit)
    ).all()


def pending_operation_bodies(
    session: Session, user_id: int, now: int
) -> list[tuple[int, str, str]]:
    """``(created_at, id, body)`` of the user's personal operations still open at ``now``
    (not those of a shared account), oldest first."""
    rows = driver_rows(
        session,
        "SELECT created_at, id, body FROM operations WHERE user_id = ? AND status = 'pending' "
        "AND expires_at > ? AND account_id IS NULL ORDER BY created_at, id",
        (user_id, now),
    )
    return [(row[0], row[1], row[2]) for row in rows]


# --- code attempts ------------------------------------------------------------------------------


def open_failure_times(session: Session, activation_id: str, since: int) -> list[int]:
    """When each uncleared attempt after ``since`` was made, newest first."""
    rows = driver_rows(
        session,
        "SELECT created_at FROM attempts WHERE activation_id = ? AND cleared_at IS NULL "
        "AND created_at > ? ORDER BY created_at DESC",
        (activation_id, since),
    )
    return [row[0] for row in rows]


def latest_open_attempt(
    session: Session,
    activation_id: str,
    operation_id: str | None,
    below_counter: int,
    *,
    since: int = 0,
) -> Attempt | None:
    """The latest uncleared attempt made before the given device counter (and after ``since``).

    ``operation_id`` ``None`` selects the attempts of a code change.
    """
    return session.scalars(
        select(Attempt)
        .where(
            Attempt.activation_id == activation_id,
            Attempt.operation_id.is_(None)
            if operation_id is None
            else Attempt.operation_id == operation_id,
            Attempt.cleared_at.is_(None),
            Attempt.counter < below_counter,
            Attempt.created_at > since,
        )
        .order_by(Attempt.counter.desc())
    ).first()


def unreported_attempts_of_operation(session: Session, operation_id: str) -> Sequence[Attempt]:
    """Uncleared attempts on an operation that the customer was not told of yet."""
    # Almost always none (the right code clears its attempt): look before loading objects.
    if not driver_rows(
        session,
        "SELECT 1 FROM attempts WHERE operation_id = ? AND cleared_at IS NULL "
        "AND notified_at IS NULL LIMIT 1",
        (operation_id,),
    ):
        return []
    return session.scalars(
        select(Attempt).where(
            Attempt.operation_id == operation_id,
            Attempt.cleared_at.is_(None),
            Attempt.notified_at.is_(None),
        )
    ).all()


def unreported_attempt_ids(session: Session, abandoned_before: int, limit: int) -> Sequence[int]:
    """Uncleared, unreported attempts that can no longer be cleared.

    Those are the attempts on an operation that has ended, and the attempts of a code change
    made before ``abandoned_before``.
    """
    return session.scalars(
        select(Attempt.id)
        .outerjoin(Operation, Operation.id == Attempt.operation_id)
        .where(
            Attempt.cleared_at.is_(None),
            Attempt.notified_at.is_(None),
            or_(
                Operation.status != "pending",
                and_(Attempt.operation_id.is_(None), Attempt.created_at < abandoned_before),
            ),
        )
        .limit(limit)
    ).all()


def clear_open_attempts(session: Session, activation_id: str, now: int) -> None:
    """Stop counting the activation's uncleared attempts (an operator's unlock)."""
    session.execute(
        update(Attempt)
        .where(Attempt.activation_id == activation_id, Attempt.cleared_at.is_(None))
        .values(cleared_at=now)
    )


# --- webhooks -----------------------------------------------------------------------------------


def due_deliveries(session: Session, now: float, limit: int) -> Sequence[Any]:
    """``(id, next_attempt_at)`` of the pending deliveries due at ``now``."""
    return session.execute(
        select(Delivery.id, Delivery.next_attempt_at)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
    ).all()


def claim_delivery(
    session: Session, delivery_id: str, seen_next: float, lease_until: float
) -> bool:
    """Take a due delivery for one send; return whether this worker got it."""
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.status == "pending",
            Delivery.next_attempt_at == seen_next,
        )
        .values(next_attempt_at=lease_until, attempts=Delivery.attempts + 1)
    )
    return _rowcount(result) == 1
