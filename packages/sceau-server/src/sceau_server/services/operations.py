# SPDX-License-Identifier: Apache-2.0
"""Operations: creation, expiry, code attempts and locks (K3), decisions, final results.

Final state, exactly once (brief D2)
    Every transition out of ``pending`` is one conditional ``UPDATE … WHERE status = 'pending'``;
    whichever request (approval, cancel, expiry sweep) updates the row wins, the others see no row
    updated and are refused. The result JWS is signed in the same transaction.

Code attempts (brief K3, docs/protocol.md §6.2)
    An evaluation of the code is counted as a failure before the server answers it, in the same
    transaction that answers: ``activations.failures`` grows by one and an ``attempts`` row bound
    to the operation and the request's counter is written. Only a valid knowledge signature on an
    approval of that operation clears it. With ``max_failures`` (5) uncleared attempts in a row, or
    ``window_failures`` (10) uncleared attempts within ``window_seconds`` (24 h), the evaluation
    that reaches the limit is still answered but locks the activation at once: no evaluation and
    no approval is accepted until ``locked_until``, except the approval that clears that very last
    attempt (the customer typed the right code on their last try), which also lifts the lock.
    Each lock is longer than the one before (``lock_durations``); the ``max_locks``-th is
    permanent, and the customer is warned at the lock before it. The customer is told of every
    failure by SMS.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from sceau_core.approval import Decision, Factor, SignedApproval, verify_approval
from sceau_core.encoding import b64url_encode
from sceau_core.errors import MalformedInput, Mismatch, SceauError, VerificationFailed
from sceau_core.operations import (
    INTERNAL_TYPES,
    BatchTransferData,
    Locale,
    Operation,
    OperationType,
    RequestContext,
    parse_data,
)
from sceau_core.pain001 import ImportedBatch
from sceau_core.results import ResultClaims, ResultStatus, sign_result
from sceau_core.rules import Approved, RefusalReason, Refused
from sceau_core.signatures import sign_operation
from sceau_server.audit import evidence_digest
from sceau_server.errors import (
    AuthenticationFailed,
    Conflict,
    FollowUp,
    Forbidden,
    IdempotencyKeyReused,
    InvalidOperationData,
    InvalidRequest,
    NotFound,
    OperationNotPending,
    RateLimited,
)
from sceau_server.metrics import METRICS
from sceau_server.services import activations as activation_service
from sceau_server.services import pro
from sceau_server.services.accounts import check_callback, require_scope
from sceau_server.services.context import ServerContext, random_id
from sceau_server.services.devices import Admitted, factor_keys
from sceau_server.services.events import alert_customer, audit, audit_follow_up, customer_time
from sceau_server.storage import repository
from sceau_server.storage.database import after_commit
from sceau_server.storage.models import (
    Activation,
    Attempt,
    Delivery,
    RelyingParty,
    User,
)
from sceau_server.storage.models import Operation as OperationRow
from sceau_server.storage.repository import AnyOperation, OpenAttempt, OperationRecord, UserRef

__all__ = [
    "FINAL_STATUSES",
    "Evaluation",
    "batch_lines_for_device",
    "cancel_operation",
    "create_operation",
    "decide",
    "evaluate",
    "expire_due",
    "finalize",
    "get_for_rp",
    "notify_unreported_failures",
    "operation_view",
    "pending_for_device",
]

FINAL_STATUSES = ("approved", "rejected", "not_me", "expired", "cancelled")
_DECISION_STATUS = {
    Decision.APPROVE: "approved",
    Decision.REJECT: "rejected",
    Decision.NOT_ME: "not_me",
}
_RATE_WINDOW = 60
_CODE_CHANGE_WINDOW = 300
"""Seconds within which an evaluation for a code change must be followed by its signature."""


class _ParsedOperations:
    """Operations by their stored body (canonical JSON), parsed and checked once per process.

    A row is read several times in a validation (its event, the device's decision); the parsed
    operation is immutable and keeps its canonical bytes. The node that creates an operation
    keeps the one it built, so that it never parses what it just encoded.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._by_body: OrderedDict[str, Operation] = OrderedDict()

    def get(self, body: str) -> Operation:
        with self._lock:
            operation = self._by_body.get(body)
            if operation is not None:
                self._by_body.move_to_end(body)
                return operation
        operation = Operation.from_json(json.loads(body))
        self.keep(body, operation)
        return operation

    def keep(self, body: str, operation: Operation) -> None:
        with self._lock:
            self._by_body[body] = operation
            self._by_body.move_to_end(body)
            while len(self._by_body) > self._size:
                self._by_body.popitem(last=False)


_PARSED = _ParsedOperations()


def stored_operation(body: str) -> Operation:
    """The operation stored as ``body`` (canonical JSON), parsed and checked once per process."""
    return _PARSED.get(body)


def _expired_message() -> dict[str, str]:
    return {"message_fr": "Opération expirée", "message_en": "Operation expired"}


def _not_pending(row: AnyOperation, now: int) -> OperationNotPending:
    status = "expired" if row.status == "pending" and now >= row.expires_at else row.status
    extra: dict[str, Any] = {"operation_status": status}
    if status == "expired":
        extra.update(_expired_message())
    return OperationNotPending(f"The operation is {status}.", extra=extra)


# --- creation and reading (RP API) -------------------------------------------------------------


def create_operation(
    ctx: ServerContext,
    session: Session,
    rp: RelyingParty,
    request: dict[str, Any],
    idempotency_key: str | None,
    notes: list[tuple[str, str]],
    *,
    batch: ImportedBatch | None = None,
) -> tuple[dict[str, Any], bool]:
    """Create an operation; return its view and whether it is new (idempotent replays are not).

    ``batch`` is the already checked batch that ``request["data"]`` holds (a pain.001 file).
    """
    now = ctx.now()
    operation_type = OperationType(request["type"])
    if operation_type in INTERNAL_TYPES:
        raise InvalidOperationData(
            f"type: {operation_type.value} operations are created by the server only"
        )
    require_scope(rp, operation_type.value)
    # Any JSON the edge accepted hashes (large integers, lone surrogates): not RFC 8785 here.
    request_hash = hashlib.sha256(
        json.dumps(request, sort_keys=True, separators=(",", ":")).encode("ascii")
    ).hexdigest()
    if idempotency_key is not None:
        existing = repository.find_idempotent_operation(session, rp.id, idempotency_key)
        if existing is not None:
            if not secrets.compare_digest(existing.request_hash or "", request_hash):
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was used with another request body."
                )
            return operation_view(session, existing), False
    user = repository.lock_user_ref(session, request["user"])
    if user is None:
        raise NotFound("No such user.")
    callback_url = request.get("callback_url")
    if callback_url is not None:
        check_callback(rp, callback_url)
    locale: Locale = "en" if user.locale == "en" else "fr"
    plan: pro.AccountPlan | None = None
    lines_json: str | None = None
    try:
        if request.get("account") is not None:
            initiator = session.get(User, user.id)
            assert initiator is not None
            plan = pro.plan_account_operation(
                session,
                rp,
                initiator,
                operation_type,
                request["account"],
                request["data"],
                locale,
                today=ctx.settings.bank_today(now),
                batch=batch,
            )
            data = plan.data
            lines_json = plan.lines_json
        elif operation_type is OperationType.BATCH_TRANSFER:
            imported = batch or pro.parse_batch(
                request["data"], None, today=ctx.settings.bank_today(now)
            )
            data = imported.to_data()
            lines_json = pro.lines_text(imported)
        else:
            data = parse_data(operation_type, request["data"])
        if plan is None:
            pro.refuse_shared_debtor(session, data)
        context = RequestContext.from_json(request.get("context") or {})
    except MalformedInput as error:
        raise InvalidOperationData(str(error)) from error
    if plan is None:
        recent, devices = repository.recent_operations_and_devices(
            session, user.id, now - _RATE_WINDOW
        )
    else:
        recent = repository.count_recent_operations(session, user.id, now - _RATE_WINDOW)
        devices = plan.devices
    if recent >= ctx.settings.operations_per_minute:
        raise RateLimited(
            "Too many operations for this user; try again later.",
            retry_after=_RATE_WINDOW,
        )
    if not devices:
        raise Conflict("The user has no active device.")
    ttl = request.get("ttl") or ctx.settings.ttl_for(operation_type.value)
    if isinstance(data, BatchTransferData) and data.execution_date is not None:
        # Approved after its execution day ends, a batch would run on a day nobody signed.
        day_end = ctx.settings.bank_day_end(datetime.date.fromisoformat(data.execution_date))
        ttl = min(ttl, day_end - now)
    try:
        operation = Operation.create(
            id=random_id("op"),
            type=operation_type,
            data=data,
            context=context,
            locale=locale,
            now=now,
            ttl=ttl,
            rng=os.urandom,
        )
        if plan is not None:
            # The rule's lines are signed with the rest: each signatory knows how many sign.
            operation = dataclasses.replace(
                operation, display=(*operation.display, *plan.rule_lines)
            )
    except MalformedInput as error:
        raise InvalidOperationData(str(error)) from error
    match = f"{10 + secrets.randbelow(90)}" if operation_type is OperationType.LOGIN else None
    row = store_new_operation(
        session,
        operation,
        signing_key=ctx.signing_key,
        rp_id=rp.id,
        user=user,
        actor=rp.id,
        now=now,
        devices=devices,
        notes=notes,
        audit_data={} if plan is None else {"account": plan.account.iban},
        match=match,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        callback_url=callback_url,
        account_id=None if plan is None else plan.account.id,
        rule=None if plan is None else plan.rule_text,
    )
    if lines_json is not None:
        pro.store_lines(session, row.id, lines_json)
    after_commit(session, lambda: METRICS.operation(operation_type.value, "created"))
    return operation_view(session, row, user.external_id), True


def store_new_operation(
    session: Session,
    operation: Operation,
    *,
    signing_key: ec.EllipticCurvePrivateKey,
    rp_id: str,
    user: User | UserRef,
    actor: str,
    now: int,
    devices: Iterable[str],
    notes: list[tuple[str, str]],
    audit_data: Mapping[str, Any],
    match: str | None = None,
    callback_url: str | None = None,
    account_id: str | None = None,
    rule: str | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
) -> OperationRecord:
    """Store ``operation`` as pending, audit its creation and queue the notification of each
    of ``devices``."""
    body = operation.canonical().decode("utf-8")
    _PARSED.keep(body, operation)
    row = OperationRecord(
        id=operation.id,
        rp_id=rp_id,
        user_id=user.id,
        type=operation.type.value,
        status="pending",
        body=body,
        digest=operation.digest,
        match=match,
        callback_url=callback_url,
        created_at=now,
        expires_at=operation.expires_at,
        decided_at=None,
        decided_by=None,
        factors=None,
        suspected_fraud=False,
        result_jws=None,
        account_id=account_id,
        rule=rule,
    )
    repository.insert_operation(
        session, row, idempotency_key=idempotency_key, request_hash=request_hash
    )
    audit(
        session,
        event="operation.created",
        now=now,
        actor=actor,
        subject=operation.id,
        data={
            "user": user.external_id,
            "type": operation.type.value,
            "digest": operation.digest,
            "expires_at": operation.expires_at,
            **audit_data,
        },
    )
    # A personal operation's devices are its user's: their event carries it, signed (D8).
    event = operation.id if account_id is not None else _pending_event(operation, signing_key)
    for device in devices:
        notes.append((f"device:{device}", event))
    return row


def operation_view(
    session: Session, row: AnyOperation, external_id: str | None = None
) -> dict[str, Any]:
    """The operation as its relying party sees it; ``external_id`` is its user's, if known."""
    if external_id is None:
        user = session.get(User, row.user_id)
        assert user is not None
        external_id = user.external_id
    view: dict[str, Any] = {
        "id": row.id,
        "type": row.type,
        "status": row.status,
        "user": external_id,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "digest": row.digest,
        "operation": json.loads(row.body),
        "decided_at": row.decided_at,
        "factors": row.factors,
        "suspected_fraud": row.suspected_fraud,
        "result": row.result_jws,
        "callback_url": row.callback_url,
    }
    if row.match is not None:
        view["match"] = row.match
    if row.account_id is not None:
        view.update(pro.approvals_view(session, row))
    return view


def _load_for_rp(session: Session, rp: RelyingParty, operation_id: str) -> OperationRow:
    row = session.get(OperationRow, operation_id)
    if row is None or row.rp_id != rp.id:
        raise NotFound("No such operation.")
    return row


def get_for_rp(ctx: ServerContext, rp_id: str, operation_id: str) -> dict[str, Any]:
    """Read an operation for its relying party, finalizing it as expired if its time is up."""
    with ctx.read() as session:
        found = repository.operation_record_for_rp(session, rp_id, operation_id)
        if found is None:
            raise NotFound("No such operation.")
        row, external_id = found
        if not (row.status == "pending" and ctx.now() >= row.expires_at):
            return operation_view(session, row, external_id)
    expire_one(ctx, operation_id)
    with ctx.read() as session:
        found = repository.operation_record_for_rp(session, rp_id, operation_id)
        assert found is not None
        return operation_view(session, *found)


def cancel_operation(
    ctx: ServerContext,
    session: Session,
    rp: RelyingParty,
    operation_id: str,
    notes: list[tuple[str, str]],
) -> dict[str, Any]:
    """Cancel a pending operation on its relying party's request."""
    row = _load_for_rp(session, rp, operation_id)
    now = ctx.now()
    if row.status != "pending" or now >= row.expires_at:
        raise _not_pending(row, now)
    finalize(ctx, session, row, "cancelled", notes, actor=rp.id)
    return operation_view(session, row)


# --- final state and result ---------------------------------------------------------------------


def finalize(
    ctx: ServerContext,
    session: Session,
    row: AnyOperation,
    status: str,
    notes: list[tuple[str, str]],
    *,
    actor: str,
    decided_by: str | None = None,
    factors: tuple[str, ...] = (),
    suspected_fraud: bool = False,
    approval: dict[str, Any] | None = None,
    signers: tuple[str, ...] | None = None,
    kept: repository.NewApproval | None = None,
) -> None:
    """Move ``row`` out of ``pending`` exactly once, sign its result, queue its webhook.

    ``kept`` is the signed decision that ends it, stored with its final state.

    The audit entry records the digests of the signed approval and of the result JWS, so that an
    evidence bundle binds them to the log (brief R4). ``signers`` are a shared account's
    signatories (member ids); otherwise the deciding device.
    """
    now = ctx.now()
    if signers is None:
        signers = (decided_by,) if decided_by else ()
    claims = ResultClaims(
        issuer=ctx.settings.public_url,
        operation_id=row.id,
        digest=row.digest,
        operation_type=row.type,
        status=ResultStatus(status),
        factors=tuple(sorted(factors)),
        signers=signers,
        issued_at=now,
    )
    token = sign_result(claims, private_key=ctx.signing_key)
    finalized = repository.finalize_if_pending(
        session,
        row.id,
        status=status,
        decided_at=now,
        decided_by=decided_by,
        factors=sorted(factors),
        suspected_fraud=suspected_fraud,
        result_jws=token,
        approval=kept,
    )
    if finalized is None:
        current = repository.operation_record(session, row.id)
        assert current is not None
        raise _not_pending(current, now)
    # The update went through the driver: what the row reads from here on (the settlement of a
    # new device or a rights change reads who decided) is set to it.
    final: dict[str, Any] = {
        "status": status,
        "decided_at": now,
        "decided_by": decided_by,
        "factors": sorted(factors),
        "suspected_fraud": suspected_fraud,
        "result_jws": token,
    }
    if isinstance(row, OperationRow):
        for name, value in final.items():
            set_committed_value(row, name, value)
    else:
        row = dataclasses.replace(row, **final)
    if row.callback_url:
        payload = {
            "type": "operation.final",
            "operation": row.id,
            "status": status,
            "suspected_fraud": suspected_fraud,
            "result": token,
        }
        session.add(
            Delivery(
                id=random_id("msg"),
                operation_id=row.id,
                rp_id=row.rp_id,
                url=row.callback_url,
                payload=json.dumps(payload, separators=(",", ":")),
                status="pending",
                attempts=0,
                next_attempt_at=ctx.clock(),
                created_at=now,
            )
        )
    _report_failures(ctx, session, row.id, now, finalized.unreported)
    audit(
        session,
        event=f"operation.{status}",
        now=now,
        actor=actor,
        subject=row.id,
        data={
            "digest": row.digest,
            "factors": sorted(factors),
            "signers": list(signers),
            "suspected_fraud": suspected_fraud,
            "approval_digests": [] if approval is None else [evidence_digest(approval)],
            "result_digest": evidence_digest(token),
        },
    )
    notes.append((f"operation:{row.id}", status))
    operation_type = row.type
    after_commit(session, lambda: METRICS.operation(operation_type, status))
    ended = row.id if row.account_id is not None else _event({"id": row.id, "status": status})
    devices = finalized.devices
    if devices is None:
        devices = repository.active_activation_ids(session, row.user_id)
    for device in devices:
        notes.append((f"device:{device}", ended))
    if row.account_id is not None:
        validators = pro.account_validators(session, row.account_id)
        for device in pro.validator_devices(session, validators):
            notes.append((f"device:{device}", row.id))
    if row.type == OperationType.NEW_DEVICE.value:
        from sceau_server.services import device_lifecycle

        device_lifecycle.settle(ctx, session, row, status, notes)
    elif row.type == OperationType.RIGHTS_CHANGE.value:
        for impossible in pro.settle_rights_change(ctx, session, row, status):
            finalize(ctx, session, impossible, "rejected", notes, actor="server", signers=())


def expire_one(ctx: ServerContext, operation_id: str) -> None:
    """Finalize one operation as expired if it is still pending past its expiry."""

    def work(session: Session, notes: list[tuple[str, str]]) -> None:
        row = session.get(OperationRow, operation_id, with_for_update=True)
        if row is None or row.status != "pending" or ctx.now() < row.expires_at:
            return
        finalize(ctx, session, row, "expired", notes, actor="server")

    with contextlib.suppress(OperationNotPending):
        ctx.transaction(work)


def expire_due(ctx: ServerContext, limit: int = 200) -> int:
    """Finalize every pending operation past its expiry (the periodic sweep); return how many."""
    with ctx.read() as session:
        due = repository.due_operation_ids(session, ctx.now(), limit)
    for operation_id in due:
        expire_one(ctx, operation_id)
    return len(due)


# --- device side: pending operations, evaluation, decision --------------------------------------


def pending_for_device(ctx: ServerContext, session: Session, admitted: Admitted) -> dict[str, Any]:
    """The user's pending operations, each signed with the server key (brief D8)."""
    now = ctx.now()
    own = repository.pending_operation_bodies(session, admitted.row.user_id, now)
    shared = pro.pending_account_operations(session, admitted.row.user_id, now)
    bodies = [
        body
        for _, _, body in sorted(
            [*own, *((row.created_at, row.id, row.body) for row in shared)],
            key=lambda item: (item[0], item[1]),
        )
    ]
    return {
        "operations": [
            sign_operation(stored_operation(body), private_key=ctx.signing_key) for body in bodies
        ],
        **_attempt_state(ctx, session, admitted.row, now),
    }


_MAX_EVENT_CHARS = 7000
"""Beyond this an event carries the operation id alone: PostgreSQL's NOTIFY payloads stop at
8000 bytes (the event is ASCII JSON)."""


def _event(event: Mapping[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"))


def _pending_event(operation: Operation, signing_key: ec.EllipticCurvePrivateKey) -> str:
    """The event that shows a new personal operation to its user's devices without a request."""
    signed = sign_operation(operation, private_key=signing_key)
    event = _event({"id": operation.id, "status": "pending", "signed": signed})
    return event if len(event) <= _MAX_EVENT_CHARS else operation.id


def device_event(ctx: ServerContext, user_id: int, operation_id: str) -> dict[str, Any]:
    """What the event stream of a device of ``user_id`` says of a change to ``operation_id``.

    A pending personal operation comes signed, as the pending list gives it (brief D8), so that
    the device shows it without asking; an ended one comes with its status. A shared account's
    operation (whose pending list depends on the member's rights and votes) comes as its id
    alone: the device reads its pending list.
    """
    with ctx.read() as session:
        row = repository.operation_record(session, operation_id)
    if row is None or row.account_id is not None or row.user_id != user_id:
        return {"id": operation_id}
    if row.status == "pending" and ctx.now() < row.expires_at:
        signed = sign_operation(stored_operation(row.body), private_key=ctx.signing_key)
        return {"id": row.id, "status": "pending", "signed": signed}
    return {"id": row.id, "status": "expired" if row.status == "pending" else row.status}


def batch_lines_for_device(session: Session, admitted: Admitted, operation_id: str) -> str:
    """The JSON ``{"lines": [...]}`` of a batch the device's user may decide or decided."""
    row = session.get(OperationRow, operation_id)
    if row is None:
        raise NotFound("No such operation.")
    return pro.batch_lines_body(session, row, admitted.user)


def _window_failures(
    ctx: ServerContext, session: Session, activation_id: str, now: int
) -> list[int]:
    return repository.open_failure_times(session, activation_id, now - ctx.settings.window_seconds)


def _attempt_state(
    ctx: ServerContext, session: Session, activation: Activation, now: int
) -> dict[str, Any]:
    window = _window_failures(ctx, session, activation.id, now)
    left = min(
        ctx.settings.max_failures - activation.failures,
        ctx.settings.window_failures - len(window),
    )
    locked = activation.locked_until is not None and activation.locked_until > now
    return {
        "attempts_left": max(0, left),
        "locked_until": activation.locked_until if locked else None,
        "blocked": activation.blocked_at is not None,
    }


def _device_operation(
    ctx: ServerContext, session: Session, admitted: Admitted, operation_id: str
) -> OperationRecord:
    row = repository.operation_record(session, operation_id, for_update=True)
    if row is None:
        raise NotFound("No such operation.")
    member = None
    if row.account_id is not None:
        try:
            member = pro.decider(session, row, admitted.user)
        except Forbidden as error:
            # Never asked, yet trying: kept for the bank's auditors, nothing else changes.
            error.follow_up = audit_follow_up(
                ctx,
                event="approval.forbidden",
                subject=row.id,
                data={"activation": admitted.row.id, "reason": "no validate right"},
            )
            raise
    elif row.user_id != admitted.row.user_id:
        raise NotFound("No such operation.")
    now = ctx.now()
    if row.status != "pending" or now >= row.expires_at:
        not_pending = _not_pending(row, now)
        if row.status == "pending":
            not_pending.follow_up = _expire_follow_up(ctx, operation_id)
        raise not_pending
    if member is not None:
        pro.refuse_if_decided(session, row, member)
    return row


def _expire_follow_up(
    ctx: ServerContext, operation_id: str
) -> Callable[[Session, list[tuple[str, str]]], None]:
    def follow_up(session: Session, notes: list[tuple[str, str]]) -> None:
        row = session.get(OperationRow, operation_id, with_for_update=True)
        if row is not None and row.status == "pending" and ctx.now() >= row.expires_at:
            finalize(ctx, session, row, "expired", notes, actor="server")

    return follow_up


def _refused_while_locked(
    ctx: ServerContext, activation: Activation, reason: str, until: int | None
) -> FollowUp:
    return audit_follow_up(
        ctx,
        event="code.refused_while_locked",
        subject=activation.id,
        data={"reason": reason, "locked_until": until},
    )


def _refuse_if_locked(ctx: ServerContext, activation: Activation, now: int) -> None:
    """Refuse an evaluation while the activation is locked or blocked."""
    if activation.blocked_at is not None:
        raise AuthenticationFailed(
            attempts_left=0,
            blocked=True,
            follow_up=_refused_while_locked(ctx, activation, "blocked", None),
        )
    if activation.locked_until is not None and now < activation.locked_until:
        until = activation.locked_until
        raise AuthenticationFailed(
            attempts_left=0,
            locked_until=until,
            follow_up=_refused_while_locked(ctx, activation, "locked", until),
        )


def _refuse_if_window_full(ctx: ServerContext, activation: Activation, window: list[int]) -> None:
    """Refuse an evaluation while the window's failures (newest first) lock the activation."""
    if len(window) >= ctx.settings.window_failures:
        release = window[ctx.settings.window_failures - 1] + ctx.settings.window_seconds
        raise AuthenticationFailed(
            attempts_left=0,
            locked_until=release,
            follow_up=_refused_while_locked(ctx, activation, "window", release),
        )


def evaluate(
    ctx: ServerContext,
    session: Session,
    admitted: Admitted,
    operation_id: str,
    *,
    blinded_element: str,
) -> Evaluation:
    """Count one code attempt; the VOPRF evaluation is answered once the count has committed
    (docs/protocol.md §3, §6.2)."""
    row = _device_operation(ctx, session, admitted, operation_id)
    return evaluate_counted(ctx, session, admitted, row.id, blinded_element=blinded_element)


def evaluate_counted(
    ctx: ServerContext,
    session: Session,
    admitted: Admitted,
    operation_id: str | None,
    *,
    blinded_element: str,
) -> Evaluation:
    """Count one attempt (for an operation, or a code change when ``None``); the evaluation
    follows its commit (:meth:`Evaluation.answer`)."""
    activation = admitted.row
    now = ctx.now()
    _refuse_if_locked(ctx, activation, now)
    counted, earlier = False, None
    if ctx.settings.max_failures - (activation.failures + 1) > 0:
        # On PostgreSQL the window is read, and an attempt that locks nothing counted, in one
        # statement; on SQLite, or when this attempt fills the window, the steps below.
        counted, earlier = repository.count_attempt_unless(
            session,
            activation,
            operation_id=operation_id,
            counter=admitted.info.counter,
            now=now,
            since=now - ctx.settings.window_seconds,
            below=ctx.settings.window_failures - 1,
        )
    if counted:
        # The failures were counted with this attempt, which joins the window read before it.
        left = _attempts_left(ctx, activation.failures, len(earlier or []) + 1)
    else:
        left = _count_attempt(ctx, session, admitted, operation_id, now, earlier)
    return Evaluation(
        pending=activation_service.pending_evaluation(activation, blinded_element),
        attempts_left=max(0, left),
        locked_until=activation.locked_until,
        blocked=activation.blocked_at is not None,
    )


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """A code attempt counted; its answer is computed once the count has committed."""

    pending: activation_service.PendingEvaluation
    attempts_left: int
    locked_until: int | None
    blocked: bool

    def answer(self, ctx: ServerContext) -> dict[str, Any]:
        """The device's answer: the VOPRF evaluation, its proof and the attempts left."""
        evaluated, proof = self.pending.compute(ctx)
        return {
            "evaluated_element": b64url_encode(evaluated),
            "proof": b64url_encode(proof),
            "attempts_left": self.attempts_left,
            "locked_until": self.locked_until,
            "blocked": self.blocked,
        }


def _count_attempt(
    ctx: ServerContext,
    session: Session,
    admitted: Admitted,
    operation_id: str | None,
    now: int,
    earlier: list[int] | None,
) -> int:
    """Count one attempt, locking the activation if it is the last one allowed; the attempts
    left (0 or less when it locked)."""
    activation = admitted.row
    if earlier is None:
        earlier = _window_failures(ctx, session, activation.id, now)
    _refuse_if_window_full(ctx, activation, earlier)
    # This attempt is the newest of the window: it counts with those before it.
    window = [now, *earlier]
    # Counted first: the row update and the attempt commit with the answer, or not at all.
    failures = activation.failures + 1
    left = _attempts_left(ctx, failures, len(window))
    if left <= 0:
        _lock(ctx, session, activation, operation_id, window, now)
    else:
        repository.save_attempt_state(
            session,
            activation,
            failures=failures,
            locks=activation.locks,
            locked_until=activation.locked_until,
            blocked_at=activation.blocked_at,
        )
    repository.insert_attempt(
        session,
        activation_id=activation.id,
        operation_id=operation_id,
        counter=admitted.info.counter,
        created_at=now,
        locked=left <= 0,
    )
    return left


def _attempts_left(ctx: ServerContext, failures: int, window: int) -> int:
    """The attempts left after ``failures`` in a row and ``window`` failures in the rolling
    window, this attempt counted in both (0 or less: this attempt locks)."""
    return min(ctx.settings.max_failures - failures, ctx.settings.window_failures - window)


def _lock(
    ctx: ServerContext,
    session: Session,
    activation: Activation,
    operation_id: str | None,
    window: list[int],
    now: int,
) -> None:
    locks = activation.locks + 1
    blocked_at, locked_until = activation.blocked_at, None
    if locks >= ctx.settings.max_locks:
        blocked_at = now
    else:
        locked_until = now + ctx.settings.lock_duration(locks)
        if len(window) >= ctx.settings.window_failures:
            locked_until = max(
                locked_until,
                window[ctx.settings.window_failures - 1] + ctx.settings.window_seconds,
            )
    repository.save_attempt_state(
        session,
        activation,
        failures=0,
        locks=locks,
        locked_until=locked_until,
        blocked_at=blocked_at,
    )
    audit(
        session,
        event="activation.locked",
        now=now,
        actor="server",
        subject=activation.id,
        data={
            "locks": activation.locks,
            "locked_until": activation.locked_until,
            "permanent": activation.blocked_at is not None,
            "operation": operation_id,
        },
    )


def clear_attempt(session: Session, activation: Activation, attempt: OpenAttempt, now: int) -> None:
    """A valid knowledge signature followed ``attempt``: it is no failure (brief K3)."""
    if attempt.locked:
        repository.clear_attempt(session, attempt.id, now)
        _lift_lock(session, activation, now)
    else:
        repository.clear_attempt_and_reset_failures(session, activation, attempt.id, now)


def refusal(
    ctx: ServerContext,
    session: Session,
    activation: Activation,
    attempt: OpenAttempt | None,
    *,
    reason: str,
    subject: str,
) -> AuthenticationFailed:
    """The generic refusal of a failed approval or code change, with the attempts left.

    Its follow-up tells the customer of the failed attempt (or audits the refusal).
    """
    state = _attempt_state(ctx, session, activation, ctx.now())
    return AuthenticationFailed(
        attempts_left=state["attempts_left"],
        locked_until=state["locked_until"],
        blocked=state["blocked"],
        follow_up=_failure_follow_up(
            ctx, None if attempt is None else attempt.id, reason, activation.id, subject
        ),
    )


def _lift_lock(session: Session, activation: Activation, now: int) -> None:
    """The right code on the attempt that locked: that lock never takes effect."""
    repository.save_attempt_state(
        session,
        activation,
        failures=0,
        locks=max(0, activation.locks - 1),
        locked_until=None,
        blocked_at=None,
    )
    audit(
        session,
        event="activation.unlocked",
        now=now,
        actor=activation.id,
        subject=activation.id,
        data={"reason": "correct code on the attempt that locked", "locks": activation.locks},
    )


def _report_failures(
    ctx: ServerContext, session: Session, operation_id: str, now: int, any_unreported: bool | None
) -> None:
    """Tell the customer of each uncleared attempt on ``operation_id`` not yet reported."""
    attempts = repository.unreported_attempts_of_operation(
        session, operation_id, any_unreported=any_unreported
    )
    for attempt in attempts:
        _report(ctx, session, attempt, now)


def _report(ctx: ServerContext, session: Session, attempt: Attempt, now: int) -> None:
    activation = session.get(Activation, attempt.activation_id)
    assert activation is not None
    user = session.get(User, activation.user_id)
    assert user is not None
    attempt.notified_at = now
    audit(
        session,
        event="code.failure",
        now=now,
        actor=activation.id,
        subject=attempt.operation_id or activation.id,
        data={"counter": attempt.counter, "locked": attempt.locked, "purpose": attempt.purpose},
    )
    if attempt.locked and activation.blocked_at is not None:
        alert_customer(ctx, session, user, "blocked", now)
    elif attempt.locked and activation.locked_until is not None:
        kind = "lock_warning" if activation.locks == ctx.settings.max_locks - 1 else "locked"
        until = customer_time(ctx, activation.locked_until, user.locale)
        alert_customer(ctx, session, user, kind, now, until=until)
    else:
        left = _attempt_state(ctx, session, activation, now)["attempts_left"]
        alert_customer(ctx, session, user, "code_failure", now, left=left)


def notify_unreported_failures(ctx: ServerContext, limit: int = 200) -> int:
    """Report failed attempts whose operation ended without a clearing signature (sweep)."""
    now = ctx.now()
    with ctx.read() as session:
        ids = repository.unreported_attempt_ids(session, now - _CODE_CHANGE_WINDOW, limit)
    for attempt_id in ids:

        def work(
            session: Session, _notes: list[tuple[str, str]], attempt_id: int = attempt_id
        ) -> None:
            attempt = session.get(Attempt, attempt_id, with_for_update=True)
            if attempt is not None and attempt.notified_at is None and attempt.cleared_at is None:
                _report(ctx, session, attempt, now)

        ctx.transaction(work)
    return len(ids)


def _failure_follow_up(
    ctx: ServerContext, attempt_id: int | None, reason: str, activation_id: str, operation_id: str
) -> Callable[[Session, list[tuple[str, str]]], None]:
    def follow_up(session: Session, _notes: list[tuple[str, str]]) -> None:
        now = ctx.now()
        if attempt_id is not None:
            attempt = session.get(Attempt, attempt_id, with_for_update=True)
            if attempt is not None and attempt.notified_at is None and attempt.cleared_at is None:
                _report(ctx, session, attempt, now)
                return
        audit(
            session,
            event="approval.refused",
            now=now,
            actor=activation_id,
            subject=operation_id,
            data={"reason": reason},
        )

    return follow_up


def decide(
    ctx: ServerContext,
    session: Session,
    admitted: Admitted,
    operation_id: str,
    body: dict[str, Any],
    notes: list[tuple[str, str]],
) -> dict[str, Any]:
    """Verify a signed approval and finalize the operation with its decision (brief D1–D6)."""
    activation = admitted.row
    now = ctx.now()
    row = _device_operation(ctx, session, admitted, operation_id)
    try:
        signed = SignedApproval.from_json(body)
    except (SceauError, TypeError, ValueError) as error:
        raise InvalidRequest("The signed approval is malformed.") from error
    approval = signed.approval
    attempt = repository.latest_open_attempt(session, activation.id, row.id, admitted.info.counter)

    def refuse(reason: str) -> AuthenticationFailed:
        return refusal(ctx, session, activation, attempt, reason=reason, subject=row.id)

    if approval.counter != admitted.info.counter:
        raise refuse("approval counter differs from the request counter")
    if approval.decision is Decision.APPROVE:
        # The evaluation that locked may still be answered with the code it evaluated, never
        # with another factor (brief K3).
        lock_is_this_attempt = (
            attempt is not None and attempt.locked and Factor.KNOWLEDGE in approval.factors
        )
        locked = activation.blocked_at is not None or (
            activation.locked_until is not None and now < activation.locked_until
        )
        if locked and not lock_is_this_attempt:
            raise refuse("activation locked")
        if Factor.KNOWLEDGE in approval.factors and attempt is None:
            raise refuse("no code evaluation for this operation")
    keys = factor_keys(ctx, activation)
    operation = stored_operation(row.body)
    match_refused = False
    try:
        verify_approval(
            signed,
            expected_operation=operation,
            expected_activation=activation.id,
            keys=keys,
            last_counter=admitted.previous_counter,
            now=now,
            expected_match=row.match,
        )
    except Mismatch as error:
        if error.field != "match" or approval.decision is not Decision.APPROVE:
            raise refuse(str(error)) from error
        match_refused = True  # valid signatures, wrong number: the login is refused (brief D6)
    except VerificationFailed as error:
        raise refuse(str(error)) from error
    factors = tuple(factor.value for factor in approval.factors)
    if Factor.KNOWLEDGE in approval.factors and attempt is not None:
        clear_attempt(session, activation, attempt, now)
    status = "rejected" if match_refused else _DECISION_STATUS[approval.decision]
    evidence = signed.to_json()
    member = None if row.account_id is None else pro.decider(session, row, admitted.user)
    kept = repository.NewApproval(
        activation_id=activation.id,
        decision=approval.decision.value,
        body=json.dumps(evidence, separators=(",", ":")),
        created_at=now,
        member_id=None if member is None else member.id,
    )
    not_me = approval.decision is Decision.NOT_ME
    if member is not None:
        repository.insert_approval(
            session,
            operation_id=row.id,
            activation_id=kept.activation_id,
            decision=kept.decision,
            body=kept.body,
            created_at=kept.created_at,
            member_id=kept.member_id,
        )
        if not_me:
            admitted.user.fraud_flagged_at = now
        return _decide_under_rule(
            ctx, session, row, member.id, activation, factors, evidence, notes
        )
    if not_me:
        admitted.user.fraud_flagged_at = now
    finalize(
        ctx,
        session,
        row,
        status,
        notes,
        actor=activation.id,
        decided_by=activation.id,
        factors=factors,
        suspected_fraud=not_me,
        approval=evidence,
        kept=kept,
    )
    if match_refused:
        audit(
            session,
            event="login.match_refused",
            now=now,
            actor=activation.id,
            subject=row.id,
            data={},
        )
    return {"operation": row.id, "status": status, "refused": match_refused}


def _decide_under_rule(
    ctx: ServerContext,
    session: Session,
    row: OperationRecord,
    member_id: str,
    activation: Activation,
    factors: tuple[str, ...],
    evidence: dict[str, Any],
    notes: list[tuple[str, str]],
) -> dict[str, Any]:
    """Count a member's verified decision under the account's rule (docs/pro.md §4)."""
    session.flush()
    outcome = pro.evaluate_operation(session, row)
    common: dict[str, Any] = {
        "actor": activation.id,
        "decided_by": activation.id,
        "factors": factors,
        "approval": evidence,
    }
    if isinstance(outcome, Approved):
        finalize(ctx, session, row, "approved", notes, signers=outcome.signatories, **common)
        return {"operation": row.id, "status": "approved", "refused": False}
    if isinstance(outcome, Refused):
        not_me = outcome.reason is RefusalReason.NOT_ME
        status = "not_me" if not_me else "rejected"
        finalize(
            ctx, session, row, status, notes, suspected_fraud=not_me, signers=outcome.by, **common
        )
        return {"operation": row.id, "status": status, "refused": False}
    audit(
        session,
        event="operation.signed",
        now=ctx.now(),
        actor=activation.id,
        subject=row.id,
        data={
            "member": member_id,
            "approval_digest": evidence_digest(evidence),
            "signatories": list(outcome.signatories),
            "still_needed": outcome.still_needed,
        },
    )
    notes.append((f"operation:{row.id}", "pending"))
    # Every validator's device refreshes: the signer's other devices drop it, the others see it.
    assert row.account_id is not None
    validators = pro.account_validators(session, row.account_id)
    for device in pro.validator_devices(session, validators):
        notes.append((f"device:{device}", row.id))
    return {
        "operation": row.id,
        "status": "pending",
        "still_needed": outcome.still_needed,
        "refused": False,
    }
