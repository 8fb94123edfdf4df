# SPDX-License-Identifier: Apache-2.0
"""The relying-party API under ``/v1``: users, activations, operations and their results."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from sceau_server.api.deps import Ctx, Rp, problem_responses
from sceau_server.api.schemas import (
    ActivationCreated,
    OperationCreate,
    OperationView,
    UserUpsert,
    UserView,
)
from sceau_server.api.streams import CLOSING, HeldStream, streams_of
from sceau_server.errors import InvalidRequest, RateLimited, ServiceUnavailable
from sceau_server.services import activations as activation_service
from sceau_server.services import operations as operation_service
from sceau_server.services.accounts import (
    get_user,
    looks_like_server_id,
    require_scope,
    upsert_user,
    user_view,
)
from sceau_server.services.context import ServerContext
from sceau_server.services.notifier import TooManyListeners
from sceau_server.storage.models import RelyingParty

__all__ = ["new_operation", "router"]

router = APIRouter(prefix="/v1", tags=["relying party"])

ExternalIdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")]
OperationIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
ActivationIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
_HEARTBEAT = 15.0
STREAMS_PER_OPERATION = 8
"""At most this many streams and long polls follow one operation on a server."""


@router.put(
    "/users/{external_id}",
    response_model=UserView,
    responses={
        201: {"model": UserView, "description": "The user was created"},
        **problem_responses(400, 401, 403, 413, 422),
    },
    summary="Create or update a user",
)
def put_user(
    ctx: Ctx, rp: Rp, external_id: ExternalIdPath, body: UserUpsert, response: Response
) -> Any:
    """Provision a user by the bank's own identifier (phone in E.164, locale fr or en)."""
    require_scope(rp, "users")
    if looks_like_server_id(external_id):
        raise InvalidRequest(
            "external_id must not start like a Sceau identifier (op_, act_, rp_, msg_, rst_).",
            extra={
                "errors": [
                    {
                        "loc": ["path", "external_id"],
                        "msg": "reserved prefix",
                        "type": "value_error",
                    }
                ]
            },
        )

    def work(session: Session, _notes: list[tuple[str, str]]) -> tuple[dict[str, Any], bool]:
        user, created = upsert_user(
            ctx,
            session,
            rp,
            external_id,
            phone=body.phone,
            display_name=body.display_name,
            locale=body.locale,
            phone_changed_at=body.phone_changed_at,
        )
        return user_view(session, user), created

    try:
        view, created = ctx.transaction(work)
    except IntegrityError:
        # A parallel PUT created the user first: this one updates it.
        view, created = ctx.transaction(work)
    response.status_code = 201 if created else 200
    return view


@router.get(
    "/users/{external_id}",
    response_model=UserView,
    responses=problem_responses(401, 403, 404, 422),
    summary="Read a user and their devices",
)
def read_user(ctx: Ctx, rp: Rp, external_id: ExternalIdPath) -> Any:
    """The user and their active or suspended devices."""
    require_scope(rp, "users")
    with ctx.read() as session:
        return user_view(session, get_user(session, external_id))


@router.post(
    "/users/{external_id}/activations",
    response_model=ActivationCreated,
    status_code=201,
    responses=problem_responses(401, 403, 404, 422, 429),
    summary="Create an activation code for a user",
)
def create_activation(ctx: Ctx, rp: Rp, external_id: ExternalIdPath) -> Any:
    """Create an activation (code, QR code) and send the one-time SMS code to the user's phone.

    At most ``SCEAU_ACTIVATIONS_PER_HOUR`` per user over a sliding hour, then 429 with
    ``Retry-After``, and no SMS.
    """
    require_scope(rp, "activations")

    def work(session: Session, notes: list[tuple[str, str]]) -> dict[str, Any]:
        user = get_user(session, external_id, for_update=True)
        return activation_service.create_activation(ctx, session, rp, user, notes)

    return ctx.transaction(work)


@router.delete(
    "/users/{external_id}/activations/{activation_id}",
    status_code=204,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Revoke a user's device",
)
def revoke_activation(
    ctx: Ctx, rp: Rp, external_id: ExternalIdPath, activation_id: ActivationIdPath
) -> Response:
    """Revoke an activation: its keys stop working at once (brief L4)."""
    require_scope(rp, "activations")

    def work(session: Session, notes: list[tuple[str, str]]) -> None:
        user = get_user(session, external_id)
        activation = activation_service.get_activation(session, user, activation_id)
        if activation.status not in ("revoked", "superseded", "expired"):
            activation_service.end_activation(
                ctx,
                session,
                activation,
                actor=rp.id,
                reason="revoked_by_bank",
                notes=notes,
                alert="device_revoked"
                if activation.status in ("active", "suspended", "on_hold")
                else None,
            )

    ctx.transaction(work)
    return Response(status_code=204)


@router.post(
    "/operations",
    response_model=OperationView,
    status_code=201,
    responses={
        200: {
            "model": OperationView,
            "description": "The operation an earlier request with this Idempotency-Key made",
        },
        **problem_responses(400, 401, 403, 404, 409, 413, 422, 429),
    },
    summary="Ask a user to validate an operation",
)
async def create_operation(
    ctx: Ctx,
    rp: Rp,
    body: OperationCreate,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> Any:
    """Create an operation; the user's devices are notified. A login answers ``match``."""
    # A coroutine with one hand-off: a plain function endpoint costs a second one for the
    # validation of its answer against the response model.
    view, created = await run_in_threadpool(new_operation, ctx, rp, body, idempotency_key)
    response.status_code = 201 if created else 200
    return view


def new_operation(
    ctx: ServerContext, rp: RelyingParty, body: OperationCreate, idempotency_key: str | None
) -> tuple[dict[str, Any], bool]:
    """``POST /v1/operations`` once its request is checked (in a worker thread): the view, and
    whether it was created (or found under its Idempotency-Key)."""
    if body.ttl is not None and body.ttl > ctx.settings.max_ttl:
        raise InvalidRequest(
            f"ttl must be at most {ctx.settings.max_ttl} seconds on this server.",
            extra={
                "errors": [
                    {
                        "loc": ["body", "ttl"],
                        "msg": f"Input should be less than or equal to {ctx.settings.max_ttl}",
                        "type": "less_than_equal",
                    }
                ]
            },
        )
    request = body.model_dump(mode="json", exclude_none=True)

    def work(session: Session, notes: list[tuple[str, str]]) -> tuple[dict[str, Any], bool]:
        return operation_service.create_operation(ctx, session, rp, request, idempotency_key, notes)

    try:
        return ctx.transaction(work)
    except IntegrityError:
        if idempotency_key is None:
            raise
        # A parallel request with this key committed first: this one is its retry (or reuses
        # the key with another body), which the key's row now answers.
        return ctx.transaction(work)


@router.get(
    "/operations/{operation_id}",
    response_model=OperationView,
    responses=problem_responses(401, 404, 422),
    summary="Read an operation",
)
async def read_operation(ctx: Ctx, rp: Rp, operation_id: OperationIdPath) -> Any:
    """The operation, with its result JWS once final. Only its relying party can read it."""
    return await run_in_threadpool(operation_service.get_for_rp, ctx, rp.id, operation_id)


@router.get(
    "/operations/{operation_id}/wait",
    response_model=OperationView,
    responses=problem_responses(401, 404, 422, 429, 503),
    summary="Wait for an operation to be final (long poll)",
)
async def wait_operation(
    ctx: Ctx,
    rp: Rp,
    request: Request,
    operation_id: OperationIdPath,
    timeout: Annotated[float, Query(ge=0, le=60)] = 30,
) -> Any:
    """Answer as soon as the operation is final, or after ``timeout`` seconds with its state.

    A server that stops answers at once, with the current state.
    """
    limit = min(timeout, float(ctx.settings.long_poll_max))
    channel = f"operation:{operation_id}"
    async with contextlib.AsyncExitStack() as stack:
        try:
            subscription = await stack.enter_async_context(
                streams_of(request).subscribe(ctx.notifier, channel, limit=ctx.settings.max_streams)
            )
        except TooManyListeners as error:
            raise _server_full() from error
        view = await run_in_threadpool(operation_service.get_for_rp, ctx, rp.id, operation_id)
        # Counted once the operation is known to be the RP's: a 429 tells nothing of another's.
        if ctx.notifier.listener_count(channel) > STREAMS_PER_OPERATION:
            raise _too_many_followers()
        deadline = ctx.clock() + limit
        while view["status"] == "pending":
            remaining = min(deadline, view["expires_at"] + 0.5) - ctx.clock()
            if remaining <= 0:
                if ctx.clock() >= deadline:
                    break
                remaining = 0.2
            message = await subscription.get(remaining)
            view = await run_in_threadpool(operation_service.get_for_rp, ctx, rp.id, operation_id)
            if message == CLOSING:
                break
    return view


@router.get(
    "/operations/{operation_id}/events",
    responses={
        200: {"description": "Server-sent events", "content": {"text/event-stream": {}}},
        **problem_responses(401, 404, 422, 429, 503),
    },
    response_class=StreamingResponse,
    summary="Stream an operation's state (server-sent events)",
)
async def operation_events(
    ctx: Ctx, rp: Rp, request: Request, operation_id: OperationIdPath
) -> StreamingResponse:
    """Send an ``operation`` event with the current state, then at each change until final.

    A server that stops ends the stream: reconnect to follow the operation further. A server
    already following the operation ``STREAMS_PER_OPERATION`` times (streams and long polls)
    answers 429, one holding ``SCEAU_MAX_STREAMS`` of them for all operations 503.
    """
    await run_in_threadpool(operation_service.get_for_rp, ctx, rp.id, operation_id)
    channel = f"operation:{operation_id}"
    # No await between the count and the subscription: no other request is served in between.
    if ctx.notifier.listener_count(channel) >= STREAMS_PER_OPERATION:
        raise _too_many_followers()
    listening = streams_of(request).subscribe(ctx.notifier, channel, limit=ctx.settings.max_streams)
    try:
        subscription = await listening.__aenter__()
    except TooManyListeners as error:
        raise _server_full() from error

    async def stream() -> AsyncIterator[str]:
        view = await run_in_threadpool(operation_service.get_for_rp, ctx, rp.id, operation_id)
        yield _event("operation", view)
        while view["status"] == "pending":
            timeout = min(_HEARTBEAT, max(0.2, view["expires_at"] + 0.5 - ctx.clock()))
            message = await subscription.get(timeout)
            if message == CLOSING:
                return
            if message is None:
                yield ": keep-alive\n\n"
            latest = await run_in_threadpool(operation_service.get_for_rp, ctx, rp.id, operation_id)
            if latest["status"] != view["status"]:
                yield _event("operation", latest)
            view = latest

    return HeldStream(
        stream(),
        close=listening.__aexit__,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store"},
    )


def _too_many_followers() -> RateLimited:
    return RateLimited(
        "This operation is already followed by as many streams as allowed; retry later.",
        retry_after=int(_HEARTBEAT),
    )


def _server_full() -> ServiceUnavailable:
    return ServiceUnavailable(
        "This server holds as many event streams as it allows; retry later.",
        headers={"Retry-After": str(int(_HEARTBEAT))},
    )


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@router.post(
    "/operations/{operation_id}/cancel",
    response_model=OperationView,
    responses=problem_responses(401, 404, 409, 422),
    summary="Cancel a pending operation",
)
def cancel_operation(ctx: Ctx, rp: Rp, operation_id: OperationIdPath) -> Any:
    """Cancel the operation; its result JWS says ``cancelled``."""

    def work(session: Session, notes: list[tuple[str, str]]) -> dict[str, Any]:
        return operation_service.cancel_operation(ctx, session, rp, operation_id, notes)

    return ctx.transaction(work)
