# SPDX-License-Identifier: Apache-2.0
"""A customer's devices after activation: replacement, hold, removal, revocation (brief L2, L4).

A new device for a customer who already has one never takes over silently: a phished password
plus a SIM swap is enough to activate a device (the bank's login and the SMS code), so the
customer's current device is asked, and the new one waits.

1. When the activation commits and the customer has no live device, the new device is active
   at once (a first activation, or after the bank or the customer removed the old one).
2. Otherwise it is put **on hold** for ``SCEAU_DEVICE_HOLD`` seconds (72 h by default), and the
   server creates a ``new_device`` operation (an operation type reserved to the server, see
   docs/protocol.md) that it pushes to the customer's active devices, while an SMS tells the
   customer what is happening and when it will take effect.
3. A current device that approves the operation (with the code or biometrics: strong
   authentication) activates the new device at once; refusing it, or "not me", or removing the
   held device from a current device cancels it. An operator can cancel it too.
4. Without an answer, the sweep activates the new device when its hold ends.

When the new device becomes active, the device it replaces (when the customer already has
``SCEAU_MAX_DEVICES`` devices, the oldest one, named in the signed operation) is revoked at once:
its keys stop working and its in-flight approvals fail (brief L4).

The customer lists and removes devices through the device API; the bank's operator lists,
revokes, unblocks, and releases a hold early (the customer, identified by the bank, asks for
the new device at once: the old one is lost) through ``sceau admin`` or the admin API, each
action recording the operator, the reason and the identity check done, audited, and the
customer told by SMS.
"""

from __future__ import annotations

import json
import os
from typing import Any

from sqlalchemy.orm import Session

from sceau_core.errors import MalformedInput
from sceau_core.operations import NewDeviceData, Operation, OperationType, RequestContext
from sceau_server.errors import Conflict, NotFound
from sceau_server.services import activations as activation_service
from sceau_server.services.context import ServerContext, random_id
from sceau_server.services.devices import Admitted
from sceau_server.services.events import alert_customer, audit, customer_time
from sceau_server.storage import repository
from sceau_server.storage.models import Activation, User
from sceau_server.storage.models import Operation as OperationRow
from sceau_server.storage.repository import AnyOperation, OperationRecord

__all__ = [
    "LISTED_STATUSES",
    "LIVE_STATUSES",
    "commit_device",
    "device_view",
    "expire_unfinished",
    "list_for_device",
    "operator_devices",
    "operator_release",
    "operator_revoke",
    "operator_unblock",
    "release_due_holds",
    "remove_for_device",
    "settle",
]

LIVE_STATUSES = ("active", "suspended")
"""The devices a customer holds: active, or suspended after a suspected clone."""

LISTED_STATUSES = ("on_hold", "active", "suspended")
"""The devices a customer sees and can remove."""


def _user(session: Session, activation: Activation) -> User:
    user = session.get(User, activation.user_id)
    assert user is not None
    return user


def _display_name(name: str | None) -> str | None:
    """A device name fit for a signed display line, or ``None``."""
    if not name:
        return None
    try:
        NewDeviceData(activation_id="x", device_name=name)
    except MalformedInput:
        return None
    return name


# --- committing a new device ---------------------------------------------------------------------


def commit_device(
    ctx: ServerContext,
    session: Session,
    activation: Activation,
    user: User,
    notes: list[tuple[str, str]],
) -> None:
    """Make a just-committed activation active (a first device) or put it on hold (see module)."""
    now = ctx.now()
    live = [
        other
        for other in repository.user_activations(session, user.id, LIVE_STATUSES)
        if other.id != activation.id
    ]
    if not live:
        _activate(ctx, session, activation, user, notes, actor=activation.id, via="first_device")
        return
    for other in repository.user_activations(session, user.id, ("on_hold",)):
        if other.id != activation.id:
            activation_service.end_activation(
                ctx,
                session,
                other,
                actor=activation.id,
                reason="replaced_by_new_activation",
                notes=notes,
                alert="device_cancelled",
            )
    replaced = live[0] if len(live) >= ctx.settings.max_devices else None
    activation.status = "on_hold"
    activation.hold_until = now + ctx.settings.device_hold
    activation.replaces_id = None if replaced is None else replaced.id
    row = _new_device_operation(ctx, session, activation, user, replaced, notes)
    activation.hold_operation_id = row.id
    audit(
        session,
        event="activation.on_hold",
        now=now,
        actor=activation.id,
        subject=activation.id,
        data={
            "user": user.external_id,
            "hold_until": activation.hold_until,
            "replaces": activation.replaces_id,
            "operation": row.id,
            "approvers": [other.id for other in live if other.status == "active"],
        },
    )
    replaced_name = None if replaced is None else (replaced.device_name or "?")
    alert_customer(
        ctx,
        session,
        user,
        "device_on_hold",
        now,
        device=activation.device_name or "?",
        until=customer_time(ctx, activation.hold_until, user.locale),
        replaces=_replaces_clause(user.locale, replaced_name),
    )


def _replaces_clause(locale: str, name: str | None) -> str:
    if name is None:
        return ""
    if locale == "en":
        return f", replacing “{name}”"
    return f", à la place de « {name} »"


def _new_device_operation(
    ctx: ServerContext,
    session: Session,
    activation: Activation,
    user: User,
    replaced: Activation | None,
    notes: list[tuple[str, str]],
) -> OperationRecord:
    """Create the ``new_device`` operation a current device approves (reserved to the server)."""
    now = ctx.now()
    data = NewDeviceData(
        activation_id=activation.id,
        device_name=_display_name(activation.device_name) or activation.id,
        replaces=None if replaced is None else _display_name(replaced.device_name),
    )
    ttl = min(
        ctx.settings.ttl_for(OperationType.NEW_DEVICE.value), max(1, ctx.settings.device_hold)
    )
    operation = Operation.create(
        id=random_id("op"),
        type=OperationType.NEW_DEVICE,
        data=data,
        context=RequestContext(),
        locale="en" if user.locale == "en" else "fr",
        now=now,
        ttl=ttl,
        rng=os.urandom,
    )
    from sceau_server.services.operations import store_new_operation

    return store_new_operation(
        session,
        operation,
        signing_key=ctx.signing_key,
        rp_id=activation.rp_id,
        user=user,
        actor="server",
        now=now,
        devices=repository.active_activation_ids(session, user.id),
        notes=notes,
        audit_data={"activation": activation.id},
    )


def _activate(
    ctx: ServerContext,
    session: Session,
    activation: Activation,
    user: User,
    notes: list[tuple[str, str]],
    *,
    actor: str,
    via: str,
    alert: str = "new_device",
    data: dict[str, Any] | None = None,
) -> None:
    """Make ``activation`` active; revoke the device it replaces; tell the customer.

    ``alert`` names the SMS that tells the customer; ``data`` adds to the audit entry.
    """
    now = ctx.now()
    replaced_ids: list[str] = []
    if activation.replaces_id is not None:
        replaced = session.get(Activation, activation.replaces_id, with_for_update=True)
        if replaced is not None and replaced.status in LIVE_STATUSES:
            activation_service.end_activation(
                ctx,
                session,
                replaced,
                actor=actor,
                reason="replaced_by_new_device",
                notes=notes,
                data={"replaced_by": activation.id},
            )
            replaced_ids.append(replaced.id)
    hold_operation = activation.hold_operation_id
    activation.status = "active"
    activation.activated_at = now
    activation.hold_until = None
    activation.replaces_id = None
    activation.hold_operation_id = None
    if hold_operation is not None:
        _cancel_operation_if_pending(ctx, session, hold_operation, notes)
    audit(
        session,
        event="activation.activated",
        now=now,
        actor=actor,
        subject=activation.id,
        data={"user": user.external_id, "via": via, "replaced": replaced_ids, **(data or {})},
    )
    alert_customer(ctx, session, user, alert, now, device=activation.device_name or "?")


def _cancel_operation_if_pending(
    ctx: ServerContext, session: Session, operation_id: str, notes: list[tuple[str, str]]
) -> None:
    from sceau_server.services import operations as operation_service

    row = session.get(OperationRow, operation_id, with_for_update=True)
    if row is not None and row.status == "pending":
        operation_service.finalize(ctx, session, row, "cancelled", notes, actor="server")


def settle(
    ctx: ServerContext,
    session: Session,
    row: AnyOperation,
    status: str,
    notes: list[tuple[str, str]],
) -> None:
    """Act on the final state of a ``new_device`` operation (called by the operation's finalize).

    Approved: the held device becomes active at once. Refused or "not me": it is cancelled.
    Expired or cancelled: nothing changes, the hold runs on.
    """
    try:
        activation_id = json.loads(row.body)["data"]["activation_id"]
    except (KeyError, TypeError, ValueError):
        return
    activation = session.get(Activation, activation_id, with_for_update=True)
    if (
        activation is None
        or activation.status != "on_hold"
        or activation.hold_operation_id != row.id
    ):
        return
    user = _user(session, activation)
    actor = row.decided_by or "server"
    if status == "approved":
        _activate(ctx, session, activation, user, notes, actor=actor, via="approved_by_device")
    elif status in ("rejected", "not_me"):
        activation_service.end_activation(
            ctx,
            session,
            activation,
            actor=actor,
            reason="cancelled_by_device",
            notes=notes,
            alert="device_cancelled",
        )


# --- sweep ----------------------------------------------------------------------------------------


def release_due_holds(ctx: ServerContext, limit: int = 100) -> int:
    """Activate the new devices whose hold ended without an answer (the periodic sweep)."""
    with ctx.read() as session:
        due = repository.held_activations_due(session, ctx.now(), limit)
    for activation_id in due:

        def work(
            session: Session, notes: list[tuple[str, str]], activation_id: str = activation_id
        ) -> None:
            activation = session.get(Activation, activation_id, with_for_update=True)
            if (
                activation is None
                or activation.status != "on_hold"
                or activation.hold_until is None
                or activation.hold_until > ctx.now()
            ):
                return
            user = _user(session, activation)
            _activate(ctx, session, activation, user, notes, actor="server", via="hold_ended")

        ctx.transaction(work)
    return len(due)


def expire_unfinished(ctx: ServerContext, limit: int = 200) -> int:
    """End the activations never finished in time and destroy their keys (the sweep).

    An activation whose code was never used expires with its code (``SCEAU_ACTIVATION_TTL``);
    one registered but never committed too, since nothing can commit it once its code expired
    (and at the latest ``SCEAU_ACTIVATION_TTL`` after its registration).
    """
    ttl = ctx.settings.activation_ttl
    with ctx.read() as session:
        due = repository.unfinished_activations_due(session, ctx.now(), ttl, limit)
    for activation_id in due:

        def work(
            session: Session, _notes: list[tuple[str, str]], activation_id: str = activation_id
        ) -> None:
            now = ctx.now()
            activation = session.get(Activation, activation_id, with_for_update=True)
            if activation is None:
                return
            pending_due = (
                activation.status in ("pending", "registered") and activation.code_expires_at <= now
            )
            registered_due = (
                activation.status == "registered" and (activation.registered_at or 0) + ttl <= now
            )
            if not (pending_due or registered_due):
                return
            previous = activation.status
            activation.status = "expired"
            activation.ended_at = now
            activation.end_reason = "not_finished_in_time"
            activation.registration_key_wrapped = ""
            activation.oprf_key_wrapped = ""
            activation.sms_digest = ""
            audit(
                session,
                event="activation.expired",
                now=now,
                actor="server",
                subject=activation.id,
                data={"previous_status": previous},
            )

        ctx.transaction(work)
    return len(due)


# --- the customer's own view --------------------------------------------------------------------


def device_view(ctx: ServerContext, activation: Activation) -> dict[str, Any]:
    """One device as its customer and the bank's operator see it."""
    now = ctx.now()
    locked = activation.locked_until is not None and activation.locked_until > now
    return {
        "activation_id": activation.id,
        "device_name": activation.device_name,
        "status": activation.status,
        "created_at": activation.created_at,
        "activated_at": activation.activated_at,
        "hold_until": activation.hold_until,
        "replaces": activation.replaces_id,
        "biometrics": activation.inherence_public_key is not None,
        "locked_until": activation.locked_until if locked else None,
        "blocked": activation.blocked_at is not None,
        "ended_at": activation.ended_at,
        "end_reason": activation.end_reason,
    }


def list_for_device(ctx: ServerContext, session: Session, admitted: Admitted) -> dict[str, Any]:
    """The customer's devices (active, suspended, on hold), this one marked ``current``."""
    rows = repository.user_activations(session, admitted.user.id, LISTED_STATUSES)
    return {
        "devices": [
            {**device_view(ctx, row), "current": row.id == admitted.activation.id} for row in rows
        ]
    }


def remove_for_device(
    ctx: ServerContext,
    session: Session,
    admitted: Admitted,
    target_id: str,
    notes: list[tuple[str, str]],
) -> None:
    """Remove one of the customer's devices from another (or itself); cancel one on hold.

    Removing is protective, like refusing an operation: the device key (possession) is enough.
    The customer is told by SMS.
    """
    target = session.get(Activation, target_id, with_for_update=True)
    if target is None or target.user_id != admitted.user.id or target.status not in LISTED_STATUSES:
        raise NotFound("No such device.")
    actor = admitted.activation.id
    if target.id == actor:
        reason, alert = "removed_by_device", "device_removed"
    elif target.status == "on_hold":
        reason, alert = "cancelled_by_device", "device_cancelled"
    else:
        reason, alert = "removed_by_other_device", "device_removed"
    activation_service.end_activation(
        ctx, session, target, actor=actor, reason=reason, notes=notes, alert=alert
    )


# --- the bank's operator ------------------------------------------------------------------------


def operator_devices(ctx: ServerContext, external_id: str) -> dict[str, Any]:
    """Every activation of a customer, newest last, with its state and how it ended."""
    from sceau_server.services.accounts import get_user

    with ctx.read() as session:
        user = get_user(session, external_id)
        rows = repository.user_activations(session, user.id)
        return {
            "user": user.external_id,
            "phone_changed_at": user.phone_changed_at,
            "devices": [device_view(ctx, row) for row in rows],
        }


def _operator_record(operator: str, reason: str, identity_check: str) -> dict[str, str]:
    return {"operator": operator, "motive": reason, "identity_check": identity_check}


def operator_revoke(
    ctx: ServerContext,
    activation_id: str,
    *,
    actor: str,
    operator: str,
    reason: str,
    identity_check: str,
) -> dict[str, Any]:
    """Revoke a device (or cancel one on hold) for the bank's operator; the customer is told.

    ``actor`` is who acts in the audit log (``admin`` for the command line, the admin key's
    relying party for the admin API); the operator's name, the reason and the identity check
    done are recorded with it. Raises :class:`NotFound` for an unknown or already ended device.
    """

    def work(session: Session, notes: list[tuple[str, str]]) -> dict[str, Any]:
        activation = session.get(Activation, activation_id, with_for_update=True)
        if activation is None or activation.status not in (
            *LISTED_STATUSES,
            "pending",
            "registered",
        ):
            raise NotFound("No such device, or it has already ended.")
        activation_service.end_activation(
            ctx,
            session,
            activation,
            actor=actor,
            reason="revoked_by_operator",
            notes=notes,
            alert="device_revoked" if activation.status in LISTED_STATUSES else None,
            data=_operator_record(operator, reason, identity_check),
        )
        return device_view(ctx, activation)

    return ctx.transaction(work)


def operator_release(
    ctx: ServerContext,
    activation_id: str,
    *,
    actor: str,
    operator: str,
    reason: str,
    identity_check: str,
) -> dict[str, Any]:
    """End a new device's hold early for the bank's operator: it becomes active at once.

    For a customer the bank identified who no longer has the old device (lost, broken) and
    cannot wait for the hold to end. Like the hold's end, the device it replaces is revoked and
    the pending ``new_device`` operation cancelled; the customer is told by SMS. Raises
    :class:`NotFound` for an unknown device and :class:`Conflict` for one not on hold.
    """

    def work(session: Session, notes: list[tuple[str, str]]) -> dict[str, Any]:
        activation = session.get(Activation, activation_id, with_for_update=True)
        if activation is None:
            raise NotFound("No such device.")
        if activation.status != "on_hold":
            raise Conflict(f"The device is not on hold (it is {activation.status}).")
        user = _user(session, activation)
        _activate(
            ctx,
            session,
            activation,
            user,
            notes,
            actor=actor,
            via="released_by_operator",
            alert="device_released",
            data=_operator_record(operator, reason, identity_check),
        )
        return device_view(ctx, activation)

    return ctx.transaction(work)


def operator_unblock(
    ctx: ServerContext,
    activation_id: str,
    *,
    actor: str,
    operator: str,
    reason: str,
    identity_check: str,
) -> dict[str, Any]:
    """Lift a lock or a permanent block after the bank identified the customer (RTS 4(5))."""
    from sceau_server.services.maintenance import unlock

    unlock(
        ctx,
        activation_id,
        operator=operator,
        reason=reason,
        identity_check=identity_check,
        actor=actor,
    )
    with ctx.read() as session:
        activation = session.get(Activation, activation_id)
        assert activation is not None
        return device_view(ctx, activation)
