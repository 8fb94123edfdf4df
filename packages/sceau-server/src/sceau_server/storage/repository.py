# SPDX-License-Identifier: Apache-2.0
"""Repository functions: every query the services run, written once for SQLite and PostgreSQL.

Reads that precede a write take row locks with ``with_for_update()`` (rendered as
``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the write transaction's ``BEGIN IMMEDIATE``
already serializes writers). State transitions that must happen once are conditional
``UPDATE … WHERE`` statements whose row count tells whether this caller won.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, inspect, or_, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from sceau_server.db import driver_rowcount, driver_rows, is_postgresql
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
    "AnyOperation",
    "Finalized",
    "NewApproval",
    "OpenAttempt",
    "OperationRecord",
    "UserRef",
    "active_activation_ids",
    "attach_activation",
    "claim_delivery",
    "clear_attempt",
    "clear_attempt_and_reset_failures",
    "clear_open_attempts",
    "count_attempt_unless",
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
    "insert_approval",
    "insert_attempt",
    "insert_operation",
    "latest_open_attempt",
    "live_activations",
    "lock_activation",
    "lock_user_ref",
    "move_counter",
    "nonce_seen",
    "open_failure_times",
    "operation_record",
    "operation_record_for_rp",
    "pending_operation_bodies",
    "purge_nonces",
    "recent_operations_and_devices",
    "remember_new_nonce",
    "remember_nonce",
    "remember_nonce_and_move_counter",
    "save_attempt_state",
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


_RECENT_AND_DEVICES_PG_SQL = (
    "SELECT (SELECT count(*) FROM operations WHERE user_id = ? AND created_at > ?), "
    "ARRAY(SELECT id FROM activations WHERE user_id = ? AND status = 'active')"
)


def recent_operations_and_devices(
    session: Session, user_id: int, since: int
) -> tuple[int, Sequence[str]]:
    """:func:`count_recent_operations` and :func:`active_activation_ids` (one statement on
    PostgreSQL)."""
    if not is_postgresql(session):
        recent = count_recent_operations(session, user_id, since)
        return recent, active_activation_ids(session, user_id)
    rows = driver_rows(session, _RECENT_AND_DEVICES_PG_SQL, (user_id, since, user_id))
    recent, devices = rows[0]
    return int(recent or 0), list(devices)


@dataclass(frozen=True, slots=True)
class UserRef:
    """What creating an operation reads of its user."""

    id: int
    external_id: str
    locale: str


def lock_user_ref(session: Session, external_id: str) -> UserRef | None:
    """The user known to the bank as ``external_id``, its row locked for the transaction."""
    rows = driver_rows(
        session,
        "SELECT id, external_id, locale FROM users WHERE external_id = ?",
        (external_id,),
        for_update=True,
    )
    return UserRef(*rows[0]) if rows else None


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

    The object is as the ORM would load it (its columns are plain integers and strings: nothing
    to convert) but belongs to no session: attaching it costs more than the statement, and most
    requests only read it and write its row through this module (:func:`move_counter`,
    :func:`save_attempt_state`). Code that changes it through the ORM attaches it first
    (:func:`attach_activation`). An activation the session already holds is returned as the
    session's object, refreshed.
    """
    if session.identity_map and Session.identity_key(Activation, (activation_id,)) in (
        session.identity_map
    ):  # Already an object of this session (admission starts its transaction: seldom).
        return session.get(Activation, activation_id, with_for_update=True, populate_existing=True)
    rows = driver_rows(session, _LOCK_ACTIVATION_SQL, (activation_id,), for_update=True)
    if not rows:
        return None
    activation: Activation = Activation.__mapper__.class_manager.new_instance()
    activation.__dict__.update(zip(_ACTIVATION_ATTRIBUTES, rows[0], strict=True))
    make_transient_to_detached(activation)  # As the ORM's loader fills a new instance.
    return activation


def attach_activation(session: Session, activation: Activation) -> Activation:
    """``activation`` as an object of ``session``, whose changes the session writes.

    If the session loaded the same row meanwhile, its object is returned, refreshed.
    """
    if inspect(activation).session is session:
        return activation
    key = Session.identity_key(Activation, (activation.id,))
    if key in session.identity_map:
        found = session.get(Activation, activation.id, populate_existing=True)
        assert found is not None
        return found
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


_NONCE_AND_COUNTER_PG_SQL = (
    "WITH nonce AS (INSERT INTO nonces (activation_id, nonce, expires_at) VALUES (?, ?, ?) "
    "ON CONFLICT DO NOTHING RETURNING 1) "
    "UPDATE activations SET counter = ?, last_signed_at = ? "
    "WHERE id = ? AND EXISTS (SELECT 1 FROM nonce)"
)


def remember_nonce_and_move_counter(
    session: Session,
    activation: Activation,
    nonce: str,
    expires_at: int,
    counter: int,
    signed_at: int,
) -> bool:
    """:func:`remember_new_nonce`, then :func:`move_counter` only if the nonce was new; return
    whether it was. On PostgreSQL one statement (one round trip): the counter moves only when
    the insert of the nonce inserted a row."""
    if not is_postgresql(session):
        if not remember_new_nonce(session, activation.id, nonce, expires_at):
            return False
        move_counter(session, activation, counter, signed_at)
        return True
    moved = driver_rowcount(
        session,
        _NONCE_AND_COUNTER_PG_SQL,
        (activation.id, nonce, expires_at, counter, signed_at, activation.id),
    )
    if moved != 1:
        return False
    set_committed_value(activation, "counter", counter)
    set_committed_value(activation, "last_signed_at", signed_at)
    return True


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


@dataclass(frozen=True, slots=True)
class OperationRecord:
    """An operation's row read through the driver: what the hot paths read of it.

    Its attributes are those of :class:`~sceau_server.storage.models.Operation`, so that code
    reading an operation accepts either.
    """

    id: str
    rp_id: str
    user_id: int
    type: str
    status: str
    body: str
    digest: str
    match: str | None
    callback_url: str | None
    created_at: int
    expires_at: int
    decided_at: int | None
    decided_by: str | None
    factors: list[str] | None
    suspected_fraud: bool
    result_jws: str | None
    account_id: str | None
    rule: str | None


AnyOperation = Operation | OperationRecord
"""An operation as the ORM loads it, or as a hot path reads it through the driver."""

_COLUMNS = (
    "id, rp_id, user_id, type, status, body, digest, match, callback_url, created_at, "
    "expires_at, decided_at, decided_by, factors, suspected_fraud, result_jws, account_id, rule"
)
_SELECT_OPERATION = (
    "SELECT id, rp_id, user_id, type, status, body, digest, match, callback_url, created_at, "
    "expires_at, decided_at, decided_by, factors, suspected_fraud, result_jws, account_id, rule "
    "FROM operations WHERE id = ?"
)
_SELECT_RP_OPERATION = (
    "SELECT o.id, o.rp_id, o.user_id, o.type, o.status, o.body, o.digest, o.match, "
    "o.callback_url, o.created_at, o.expires_at, o.decided_at, o.decided_by, o.factors, "
    "o.suspected_fraud, o.result_jws, o.account_id, o.rule, u.external_id "
    "FROM operations o JOIN users u ON u.id = o.user_id WHERE o.id = ? AND o.rp_id = ?"
)
_INSERT_OPERATION = (
    "INSERT INTO operations (id, rp_id, user_id, type, status, body, digest, match, "
    "callback_url, created_at, expires_at, decided_at, decided_by, factors, suspected_fraud, "
    "result_jws, account_id, rule, idempotency_key, request_hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _record(row: Sequence[Any]) -> OperationRecord:
    factors = row[13]
    if isinstance(factors, str):  # SQLite keeps JSON as text; psycopg decodes it
        factors = json.loads(factors)
    return OperationRecord(
        id=row[0],
        rp_id=row[1],
        user_id=row[2],
        type=row[3],
        status=row[4],
        body=row[5],
        digest=row[6],
        match=row[7],
        callback_url=row[8],
        created_at=row[9],
        expires_at=row[10],
        decided_at=row[11],
        decided_by=row[12],
        factors=factors,
        suspected_fraud=bool(row[14]),
        result_jws=row[15],
        account_id=row[16],
        rule=row[17],
    )


def operation_record(
    session: Session, operation_id: str, *, for_update: bool = False
) -> OperationRecord | None:
    """The operation ``operation_id``, its row locked with ``for_update``."""
    rows = driver_rows(session, _SELECT_OPERATION, (operation_id,), for_update=for_update)
    return _record(rows[0]) if rows else None


def operation_record_for_rp(
    session: Session, rp_id: str, operation_id: str
) -> tuple[OperationRecord, str] | None:
    """The relying party's operation ``operation_id`` and its user's external id."""
    rows = driver_rows(session, _SELECT_RP_OPERATION, (operation_id, rp_id))
    return (_record(rows[0][:18]), rows[0][18]) if rows else None


def insert_operation(
    session: Session,
    record: OperationRecord,
    *,
    idempotency_key: str | None,
    request_hash: str | None,
) -> None:
    """Store a new operation with the relying party's Idempotency-Key and its request's hash."""
    values = [getattr(record, name) for name in _COLUMNS.split(", ")]
    if record.factors is not None:
        values[13] = json.dumps(record.factors)
    driver_rowcount(session, _INSERT_OPERATION, (*values, idempotency_key, request_hash))


@dataclass(frozen=True, slots=True)
class NewApproval:
    """A signed decision the server accepted, to keep with its operation's final state."""

    activation_id: str
    decision: str
    body: str
    created_at: int
    member_id: str | None


@dataclass(frozen=True, slots=True)
class Finalized:
    """What :func:`finalize_if_pending` read with its update on PostgreSQL (``None`` when it
    did not: ask :func:`unreported_attempts_of_operation` and :func:`active_activation_ids`)."""

    unreported: bool | None
    devices: Sequence[str] | None


_FINALIZE_SQL = (
    "UPDATE operations SET status = ?, decided_at = ?, decided_by = ?, factors = ?, "
    "suspected_fraud = ?, result_jws = ? WHERE id = ? AND status = 'pending'"
)
# Read by the same statement, after the earlier statements of the transaction: whether an
# uncleared attempt on the operation awaits its report, and the user's active devices.
_FINALIZE_PG_SQL = (
    "UPDATE operations SET status = ?, decided_at = ?, decided_by = ?, factors = ?, "
    "suspected_fraud = ?, result_jws = ? WHERE id = ? AND status = 'pending' "
    "RETURNING EXISTS (SELECT 1 FROM attempts WHERE operation_id = operations.id "
    "AND cleared_at IS NULL AND notified_at IS NULL), "
    "ARRAY(SELECT id FROM activations WHERE user_id = operations.user_id AND status = 'active')"
)
_APPROVE_AND_FINALIZE_PG_SQL = (
    "WITH approval AS (INSERT INTO approvals (operation_id, activation_id, decision, body, "
    "created_at, member_id) VALUES (?, ?, ?, ?, ?, ?) RETURNING 1) "
    "UPDATE operations SET status = ?, decided_at = ?, decided_by = ?, factors = ?, "
    "suspected_fraud = ?, result_jws = ? WHERE id = ? AND status = 'pending' "
    "RETURNING EXISTS (SELECT 1 FROM attempts WHERE operation_id = operations.id "
    "AND cleared_at IS NULL AND notified_at IS NULL), "
    "ARRAY(SELECT id FROM activations WHERE user_id = operations.user_id AND status = 'active')"
)


def finalize_if_pending(
    session: Session,
    operation_id: str,
    *,
    status: str,
    decided_at: int,
    decided_by: str | None,
    factors: list[str],
    suspected_fraud: bool,
    result_jws: str,
    approval: NewApproval | None = None,
) -> Finalized | None:
    """Keep ``approval`` (:func:`insert_approval`) and move a pending operation to its final
    state; ``None`` if the operation was no longer pending (D2): the caller then rolls back.

    One statement on PostgreSQL, which also reads what the end of a decision needs (see
    :class:`Finalized`).
    """
    values = (
        status,
        decided_at,
        decided_by,
        json.dumps(factors),
        suspected_fraud,
        result_jws,
        operation_id,
    )
    if not is_postgresql(session):
        if approval is not None:
            insert_approval(session, operation_id=operation_id, **_approval_fields(approval))
        if driver_rowcount(session, _FINALIZE_SQL, values) != 1:
            return None
        return Finalized(unreported=None, devices=None)
    if approval is not None:
        rows = driver_rows(
            session,
            _APPROVE_AND_FINALIZE_PG_SQL,
            (operation_id, *_approval_fields(approval).values(), *values),
        )
    else:
        rows = driver_rows(session, _FINALIZE_PG_SQL, values)
    if not rows:
        return None
    return Finalized(unreported=bool(rows[0][0]), devices=list(rows[0][1]))


def _approval_fields(approval: NewApproval) -> dict[str, Any]:
    return {
        "activation_id": approval.activation_id,
        "decision": approval.decision,
        "body": approval.body,
        "created_at": approval.created_at,
        "member_id": approval.member_id,
    }


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


_COUNT_ATTEMPT_PG_SQL = (
    "WITH window_ AS (SELECT created_at FROM attempts WHERE activation_id = ? "
    "AND cleared_at IS NULL AND created_at > ?), "
    "go AS (SELECT count(*) < ? AS ok FROM window_), "
    "state AS (UPDATE activations SET failures = ? WHERE id = ? AND (SELECT ok FROM go) "
    "RETURNING 1), "
    "attempt AS (INSERT INTO attempts (activation_id, purpose, operation_id, counter, created_at, "
    "locked) SELECT ?, ?, ?, ?, ?, false WHERE (SELECT ok FROM go) RETURNING 1) "
    "SELECT (SELECT ok FROM go), ARRAY(SELECT created_at FROM window_ ORDER BY created_at DESC)"
)


def count_attempt_unless(
    session: Session,
    activation: Activation,
    *,
    operation_id: str | None,
    counter: int,
    now: int,
    since: int,
    below: int,
) -> tuple[bool, list[int]]:
    """On PostgreSQL, in one statement: read the activation's uncleared attempts after
    ``since`` (:func:`open_failure_times`) and, only if there are fewer than ``below``, count one
    more failure (:func:`save_attempt_state` with ``failures + 1``, the other fields unchanged)
    and insert the attempt, unlocked (:func:`insert_attempt`).

    Return whether it counted, and the window read (newest first), taken before the insert.
    On other engines nothing is written: ``(False, window)``.
    """
    if not is_postgresql(session):
        return False, open_failure_times(session, activation.id, since)
    failures = activation.failures + 1
    rows = driver_rows(
        session,
        _COUNT_ATTEMPT_PG_SQL,
        (
            activation.id,
            since,
            below,
            failures,
            activation.id,
            activation.id,
            "code_change" if operation_id is None else "approval",
            operation_id,
            counter,
            now,
        ),
    )
    counted, window = rows[0]
    if counted:
        set_committed_value(activation, "failures", failures)
    return bool(counted), list(window)


@dataclass(frozen=True, slots=True)
class OpenAttempt:
    """An uncleared code attempt, as :func:`latest_open_attempt` finds it."""

    id: int
    operation_id: str | None
    counter: int
    locked: bool


def save_attempt_state(
    session: Session,
    activation: Activation,
    *,
    failures: int,
    locks: int,
    locked_until: int | None,
    blocked_at: int | None,
) -> None:
    """Write the activation's failures, locks and lock times (one driver statement).

    The object is told the new values as the row's, never changed through the ORM: the session
    keeps nothing to flush (a flush of the object costs more than the whole statement).
    """
    driver_rowcount(
        session,
        "UPDATE activations SET failures = ?, locks = ?, locked_until = ?, blocked_at = ? "
        "WHERE id = ?",
        (failures, locks, locked_until, blocked_at, activation.id),
    )
    set_committed_value(activation, "failures", failures)
    set_committed_value(activation, "locks", locks)
    set_committed_value(activation, "locked_until", locked_until)
    set_committed_value(activation, "blocked_at", blocked_at)


def latest_open_attempt(
    session: Session,
    activation_id: str,
    operation_id: str | None,
    below_counter: int,
    *,
    since: int = 0,
) -> OpenAttempt | None:
    """The latest uncleared attempt made before the given device counter (and after ``since``).

    ``operation_id`` ``None`` selects the attempts of a code change.
    """
    if operation_id is None:
        rows = driver_rows(
            session,
            "SELECT id, operation_id, counter, locked FROM attempts WHERE activation_id = ? "
            "AND operation_id IS NULL AND cleared_at IS NULL AND counter < ? AND created_at > ? "
            "ORDER BY counter DESC LIMIT 1",
            (activation_id, below_counter, since),
        )
    else:
        rows = driver_rows(
            session,
            "SELECT id, operation_id, counter, locked FROM attempts WHERE activation_id = ? "
            "AND operation_id = ? AND cleared_at IS NULL AND counter < ? AND created_at > ? "
            "ORDER BY counter DESC LIMIT 1",
            (activation_id, operation_id, below_counter, since),
        )
    if not rows:
        return None
    row = rows[0]
    return OpenAttempt(id=row[0], operation_id=row[1], counter=row[2], locked=bool(row[3]))


def insert_attempt(
    session: Session,
    *,
    activation_id: str,
    operation_id: str | None,
    counter: int,
    created_at: int,
    locked: bool,
) -> None:
    """Count one code attempt (an approval's when ``operation_id`` is set, else a code change's)."""
    driver_rowcount(
        session,
        "INSERT INTO attempts (activation_id, purpose, operation_id, counter, created_at, locked) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            activation_id,
            "code_change" if operation_id is None else "approval",
            operation_id,
            counter,
            created_at,
            locked,
        ),
    )


def insert_approval(
    session: Session,
    *,
    operation_id: str,
    activation_id: str,
    decision: str,
    body: str,
    created_at: int,
    member_id: str | None,
) -> None:
    """Keep a signed decision the server accepted (one per operation and activation)."""
    driver_rowcount(
        session,
        "INSERT INTO approvals (operation_id, activation_id, decision, body, created_at, "
        "member_id) VALUES (?, ?, ?, ?, ?, ?)",
        (operation_id, activation_id, decision, body, created_at, member_id),
    )


def clear_attempt(session: Session, attempt_id: int, now: int) -> None:
    """A valid knowledge signature followed the attempt: it is no failure, nor a lock."""
    driver_rowcount(
        session,
        "UPDATE attempts SET cleared_at = ?, locked = ? WHERE id = ?",
        (now, False, attempt_id),
    )


_CLEAR_AND_SAVE_PG_SQL = (
    "WITH cleared AS (UPDATE attempts SET cleared_at = ?, locked = false WHERE id = ? "
    "RETURNING 1) "
    "UPDATE activations SET failures = ?, locks = ?, locked_until = ?, blocked_at = ? WHERE id = ?"
)


def clear_attempt_and_reset_failures(
    session: Session, activation: Activation, attempt_id: int, now: int
) -> None:
    """:func:`clear_attempt`, then :func:`save_attempt_state` with no failure and the rest
    unchanged (one statement on PostgreSQL)."""
    if not is_postgresql(session):
        clear_attempt(session, attempt_id, now)
        save_attempt_state(
            session,
            activation,
            failures=0,
            locks=activation.locks,
            locked_until=activation.locked_until,
            blocked_at=activation.blocked_at,
        )
        return
    driver_rowcount(
        session,
        _CLEAR_AND_SAVE_PG_SQL,
        (
            now,
            attempt_id,
            0,
            activation.locks,
            activation.locked_until,
            activation.blocked_at,
            activation.id,
        ),
    )
    set_committed_value(activation, "failures", 0)


def unreported_attempts_of_operation(
    session: Session, operation_id: str, *, any_unreported: bool | None = None
) -> Sequence[Attempt]:
    """Uncleared attempts on an operation that the customer was not told of yet.

    ``any_unreported`` is whether there is any, when the caller has already read it.
    """
    if any_unreported is False:
        return []
    # Almost always none (the right code clears its attempt): look before loading objects.
    if any_unreported is None and not driver_rows(
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
