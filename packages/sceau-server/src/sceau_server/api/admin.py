# SPDX-License-Identifier: Apache-2.0
"""The bank operator's API under ``/v1/admin``: list, revoke, unblock devices, release holds.

Authentication: a relying-party API key with the ``admin`` scope (``sceau admin rp create
"Back-office" --scopes admin``), sent as ``Authorization: Bearer …`` like any RP key. Keeping one
kind of key keeps one way to store (keyed digest), disable and audit it; the scope is never
granted by default. Each action names the operator, the reason and the identity check done; the
audit log records them with the key's relying party as actor, and the customer is told by SMS.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from sceau_server.api.deps import Ctx, Rp, problem_responses
from sceau_server.api.schemas import AdminAction, AdminDevices, DeviceEntry
from sceau_server.services import device_lifecycle
from sceau_server.services.accounts import ADMIN_SCOPE, require_scope

__all__ = ["router"]

router = APIRouter(prefix="/v1/admin", tags=["admin"])

ExternalIdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")]
ActivationIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get(
    "/users/{external_id}/devices",
    response_model=AdminDevices,
    responses=problem_responses(401, 403, 404, 422),
    summary="Every device a customer ever activated, with its state",
)
def user_devices(ctx: Ctx, rp: Rp, external_id: ExternalIdPath) -> Any:
    """Active, suspended, on hold, and ended ones with how they ended; oldest first."""
    require_scope(rp, ADMIN_SCOPE)
    return device_lifecycle.operator_devices(ctx, external_id)


@router.post(
    "/devices/{activation_id}/revoke",
    response_model=DeviceEntry,
    responses=problem_responses(400, 401, 403, 404, 413, 422),
    summary="Revoke a device (or cancel a new one on hold)",
)
def revoke_device(ctx: Ctx, rp: Rp, activation_id: ActivationIdPath, body: AdminAction) -> Any:
    """Its keys stop working at once and its in-flight approvals fail (brief L4)."""
    require_scope(rp, ADMIN_SCOPE)
    return device_lifecycle.operator_revoke(
        ctx,
        activation_id,
        actor=rp.id,
        operator=body.operator,
        reason=body.reason,
        identity_check=body.identity_check,
    )


@router.post(
    "/devices/{activation_id}/release",
    response_model=DeviceEntry,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
    summary="Activate a new device on hold at once, without waiting for its hold to end",
)
def release_device(ctx: Ctx, rp: Rp, activation_id: ActivationIdPath, body: AdminAction) -> Any:
    """For a customer the bank identified who no longer has the old device (brief L2).

    The device it replaces is revoked; the customer is told.
    """
    require_scope(rp, ADMIN_SCOPE)
    return device_lifecycle.operator_release(
        ctx,
        activation_id,
        actor=rp.id,
        operator=body.operator,
        reason=body.reason,
        identity_check=body.identity_check,
    )


@router.post(
    "/devices/{activation_id}/unblock",
    response_model=DeviceEntry,
    responses=problem_responses(400, 401, 403, 404, 413, 422),
    summary="Lift a lock or a permanent block after identifying the customer",
)
def unblock_device(ctx: Ctx, rp: Rp, activation_id: ActivationIdPath, body: AdminAction) -> Any:
    """The "secure procedure to regain use" of RTS art. 4(5); the customer is told."""
    require_scope(rp, ADMIN_SCOPE)
    return device_lifecycle.operator_unblock(
        ctx,
        activation_id,
        actor=rp.id,
        operator=body.operator,
        reason=body.reason,
        identity_check=body.identity_check,
    )
