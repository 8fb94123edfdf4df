# SPDX-License-Identifier: Apache-2.0
"""The device API under ``/v1/device``: every request but the lookup is signed (RFC 9421)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Path, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from sceau_core.errors import SceauError
from sceau_core.httpsig import HttpRequest, SignedRequestInfo
from sceau_core.keys import decode_public_key
from sceau_server.api.deps import Ctx, SignedHttp, problem_responses
from sceau_server.api.schemas import (
    ActivationLookup,
    BiometricsRequest,
    CodeChangeEvaluation,
    CodeChangeRequest,
    CodeCommitRequest,
    CommitRequest,
    DecisionResult,
    DeviceList,
    DeviceOperations,
    DeviceStatus,
    EvaluateRequest,
    Evaluation,
    RegisterRequest,
    RegistrationEvaluation,
    ResetEvaluateRequest,
    ResetStarted,
    ResetStartRequest,
)
from sceau_server.api.streams import CLOSING, EventStream, streams_of
from sceau_server.errors import AuthenticationFailed, ServiceUnavailable
from sceau_server.services import activations as activation_service
from sceau_server.services import biometrics as biometrics_service
from sceau_server.services import code as code_service
from sceau_server.services import device_lifecycle
from sceau_server.services import operations as operation_service
from sceau_server.services import reset as reset_service
from sceau_server.services.context import ServerContext
from sceau_server.services.devices import Admitted, admit, verify_signature
from sceau_server.services.notifier import REPLACED, RESYNC, TooManyListeners
from sceau_server.storage.models import Activation, CodeReset, User

__all__ = ["decide_signed", "evaluate_signed", "router"]

_log = logging.getLogger("sceau.server")

router = APIRouter(prefix="/v1/device", tags=["device"])

LookupPath = Annotated[str, Path(min_length=22, max_length=22, pattern=r"^[A-Za-z0-9_-]+$")]
OperationIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
ActivationIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
ResetIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
_SIGNED = problem_responses(400, 401, 413, 422)
_STREAM_SECONDS = 300.0
_HEARTBEAT = 15.0
_REVOKED = b"event: revoked\ndata: {}\n\n"
_REPLACED = b"event: replaced\ndata: {}\n\n"
T = TypeVar("T")


def _signed_transaction(
    ctx: ServerContext,
    http: HttpRequest,
    work: Callable[[Session, list[tuple[str, str]], SignedRequestInfo], T],
) -> T:
    info = verify_signature(ctx, http)
    return ctx.transaction(lambda session, notes: work(session, notes, info))


async def _in_thread(
    ctx: ServerContext,
    http: HttpRequest,
    work: Callable[[Session, list[tuple[str, str]], SignedRequestInfo], T],
) -> T:
    """The signature check and the transaction in one worker-thread hand-off.

    The hot endpoints are coroutines for this: a plain function endpoint costs one hand-off
    for itself and another for the validation of its answer against its response model.
    """
    return await run_in_threadpool(_signed_transaction, ctx, http, work)


@router.get(
    "/activation/{lookup_id}",
    response_model=ActivationLookup,
    responses=problem_responses(404, 422),
    summary="Find a pending activation by its lookup id",
)
def lookup_activation(ctx: Ctx, lookup_id: LookupPath) -> Any:
    """The server binding and its tag, which the device checks with its code before pinning."""
    return activation_service.lookup(ctx, lookup_id)


@router.post(
    "/activation/register",
    response_model=DeviceStatus,
    responses=_SIGNED,
    summary="Register the device key",
)
def register(ctx: Ctx, http: SignedHttp, body: RegisterRequest) -> Any:
    """Signed with the new device key (keyid = activation id), counter 1 or more."""

    def key_for(key_id: str) -> Any:
        if key_id != body.activation_id:
            raise AuthenticationFailed()
        try:
            return decode_public_key(body.device_public_key)
        except SceauError as error:
            raise AuthenticationFailed() from error

    info = verify_signature(ctx, http, key_for=key_for)

    def work(session: Session, _notes: list[tuple[str, str]]) -> dict[str, Any]:
        admitted = admit(ctx, session, info, statuses=("pending",))
        activation_service.register(
            ctx,
            session,
            admitted,
            device_name=body.device_name,
            device_public_key=body.device_public_key,
            sms_code=body.sms_code,
            proof=body.proof,
        )
        return activation_service.status_view(ctx, admitted.activation)

    return ctx.transaction(work)


@router.post(
    "/activation/oprf",
    response_model=RegistrationEvaluation,
    responses=_SIGNED,
    summary="Evaluate the chosen code once, to derive the knowledge key",
)
def registration_evaluation(ctx: Ctx, http: SignedHttp, body: EvaluateRequest) -> Any:
    """The VOPRF evaluation of docs/protocol.md §2.4 step 4."""
    info = verify_signature(ctx, http)

    def work(session: Session, _notes: list[tuple[str, str]]) -> dict[str, Any]:
        admitted = admit(ctx, session, info, statuses=("registered",))
        return activation_service.evaluate_registration(
            ctx, admitted, blinded_element=body.blinded_element
        )

    return ctx.transaction(work)


@router.post(
    "/activation/commit",
    response_model=DeviceStatus,
    responses=_SIGNED,
    summary="Register the knowledge key; the activation becomes active",
)
def commit(ctx: Ctx, http: SignedHttp, body: CommitRequest) -> Any:
    """The knowledge key signs its own registration (docs/protocol.md §2.4 step 5)."""
    info = verify_signature(ctx, http)

    def work(session: Session, notes: list[tuple[str, str]]) -> dict[str, Any]:
        admitted = admit(ctx, session, info, statuses=("registered",))
        return activation_service.commit(
            ctx,
            session,
            admitted,
            notes,
            knowledge_public_key=body.knowledge_public_key,
            knowledge_signature=body.knowledge_signature,
            inherence_public_key=body.inherence_public_key,
        )

    return ctx.transaction(work)


@router.delete(
    "/activation",
    status_code=204,
    responses=_SIGNED,
    summary="Remove this device",
)
def remove(ctx: Ctx, http: SignedHttp) -> Response:
    """The device removes itself; its keys stop working at once (brief L4)."""
    info = verify_signature(ctx, http)

    def work(session: Session, notes: list[tuple[str, str]]) -> None:
        admitted = admit(ctx, session, info, statuses=("active", "registered", "on_hold"))
        activation_service.end_activation(
            ctx,
            session,
            admitted.activation,
            actor=admitted.activation.id,
            reason="removed_by_device",
            notes=notes,
            alert=None if admitted.activation.status == "registered" else "device_removed",
        )

    ctx.transaction(work)
    return Response(status_code=204)


@router.get(
    "/status",
    response_model=DeviceStatus,
    responses=_SIGNED,
    summary="This device's activation",
)
def status(ctx: Ctx, http: SignedHttp) -> Any:
    """Status, lock and counter of the activation; a new device on hold learns until when."""
    info = verify_signature(ctx, http)

    def work(session: Session, _notes: list[tuple[str, str]]) -> dict[str, Any]:
        admitted = admit(ctx, session, info, statuses=("active", "on_hold"))
        return activation_service.status_view(ctx, admitted.activation)

    return ctx.transaction(work)


@router.get(
    "/operations",
    response_model=DeviceOperations,
    responses=_SIGNED,
    summary="The pending operations, signed by the server",
)
async def pending(ctx: Ctx, http: SignedHttp) -> Any:
    """Each operation is ``{"operation", "signature"}`` under the pinned server key (D8)."""

    def work(
        session: Session, _notes: list[tuple[str, str]], info: SignedRequestInfo
    ) -> dict[str, Any]:
        return operation_service.pending_for_device(ctx, session, admit(ctx, session, info))

    return await _in_thread(ctx, http, work)


@router.get(
    "/operations/{operation_id}/lines",
    responses={
        200: {"description": '{"lines": [...]}: every line of a batch transfer, in order'},
        **problem_responses(400, 401, 403, 404, 413, 422),
    },
    summary="A batch transfer's lines, which the operation's lines_digest binds",
)
def batch_lines(ctx: Ctx, http: SignedHttp, operation_id: OperationIdPath) -> Response:
    """For the operation's user, or a validator of its shared account (docs/pro.md)."""
    info = verify_signature(ctx, http)

    def work(session: Session, _notes: list[tuple[str, str]]) -> str:
        return operation_service.batch_lines_for_device(
            session, admit(ctx, session, info), operation_id
        )

    return Response(content=ctx.transaction(work), media_type="application/json")


@router.post(
    "/operations/{operation_id}/evaluate",
    response_model=Evaluation,
    responses=problem_responses(400, 401, 404, 409, 413, 422),
    summary="Evaluate the code for an approval (the attempt is counted first)",
)
async def evaluate(
    ctx: Ctx, http: SignedHttp, operation_id: OperationIdPath, body: EvaluateRequest
) -> Any:
    """Count the attempt, then answer the VOPRF evaluation and the attempts left (K3)."""
    return await run_in_threadpool(evaluate_signed, ctx, http, operation_id, body)


def evaluate_signed(
    ctx: ServerContext, http: HttpRequest, operation_id: str, body: EvaluateRequest
) -> dict[str, Any]:
    """``POST …/evaluate`` once its request is parsed: signature check and transaction."""

    def work(
        session: Session, _notes: list[tuple[str, str]], info: SignedRequestInfo
    ) -> operation_service.Evaluation:
        admitted = admit(ctx, session, info)
        return operation_service.evaluate(
            ctx, session, admitted, operation_id, blinded_element=body.blinded_element
        )

    return _signed_transaction(ctx, http, work).answer(ctx)


@router.post(
    "/operations/{operation_id}/decision",
    response_model=DecisionResult,
    responses=problem_responses(400, 401, 404, 409, 413, 422),
    summary="Send the signed decision",
)
async def decision(
    ctx: Ctx,
    http: SignedHttp,
    operation_id: OperationIdPath,
    body: Annotated[dict[str, Any], Body(description="a SignedApproval")],
) -> Any:
    """Approve, refuse or report "not me"; ``approval.counter`` equals the request's counter."""
    return await run_in_threadpool(decide_signed, ctx, http, operation_id, body)


def decide_signed(
    ctx: ServerContext, http: HttpRequest, operation_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """``POST …/decision`` once its request is parsed: signature check and transaction."""

    def work(
        session: Session, notes: list[tuple[str, str]], info: SignedRequestInfo
    ) -> dict[str, Any]:
        admitted: Admitted = admit(ctx, session, info)
        return operation_service.decide(ctx, session, admitted, operation_id, body, notes)

    result = _signed_transaction(ctx, http, work)
    if result.pop("refused"):
        raise AuthenticationFailed()
    return result


@router.post(
    "/code/evaluate",
    response_model=Evaluation,
    responses=_SIGNED,
    summary="Evaluate the old code to change it (the attempt is counted first)",
)
def code_evaluate(ctx: Ctx, http: SignedHttp, body: EvaluateRequest) -> Any:
    """Step 1 of a code change: counted like an approval's evaluation (K3)."""
    info = verify_signature(ctx, http)

    def work(session: Session, _notes: list[tuple[str, str]]) -> operation_service.Evaluation:
        return code_service.evaluate_old_code(
            ctx, session, admit(ctx, session, info), blinded_element=body.blinded_element
        )

    return ctx.transaction(work).answer(ctx)


@router.post(
    "/code/change",
    response_model=CodeChangeEvaluation,
    responses=_SIGNED,
    summary="Evaluate the new code, authorized by the old knowledge key",
)
def code_change(ctx: Ctx, http: SignedHttp, body: CodeChangeRequest) -> Any:
    """Step 2: the old knowledge key signs the new code's blinded element and the counter."""
    info = verify_signature(ctx, http)

    def work(session: Session, _notes: list[tuple[str, str]]) -> dict[str, Any]:
        return code_service.change(
            ctx,
            session,
            admit(ctx, session, info),
            blinded_element=body.blinded_element,
            knowledge_signature=body.knowledge_signature,
        )

    return ctx.transaction(work)


@router.post(
    "/code/commit",
    response_model=DeviceStatus,
    responses=_SIGNED,
    summary="Register the new knowledge key",
)
def code_commit(ctx: Ctx, http: SignedHttp, body: CodeCommitRequest) -> Any:
    """Step 3: the new knowledge key, signed over step 2's challenge, replaces the old one."""
    info = verify_signature(ctx, http)

    def work(session: Session, _notes: list[tuple[str, str]]) -> dict[str, Any]:
        return code_service.commit(
            ctx,
            session,
            admit(ctx, session, info),
            knowledge_public_key=body.knowledge_public_key,
            knowledge_signature=body.knowledge_signature,
        )

    return ctx.transaction(work)


@router.get(
    "/devices",
    response_model=DeviceList,
    responses=_SIGNED,
    summary="The customer's devices",
)
def devices(ctx: Ctx, http: SignedHttp) -> Any:
    """Every device of the customer (active, suspended, on hold); ``current`` marks this one."""
    info = verify_signature(ctx, http)

    def work(session: Session, _notes: list[tuple[str, str]]) -> dict[str, Any]:
        return device_lifecycle.list_for_device(ctx, session, admit(ctx, session, info))

    return ctx.transaction(work)


@router.delete(
    "/devices/{activation_id}",
    status_code=204,
    responses=problem_responses(400, 401, 404, 413, 422),
    summary="Remove one of the customer's devices, or cancel a new one on hold",
)
def remove_device(ctx: Ctx, http: SignedHttp, activation_id: ActivationIdPath) -> Response:
    """Its keys stop working at once (brief L4); the customer is told by SMS."""
    info = verify_signature(ctx, http)

    def work(session: Session, notes: list[tuple[str, str]]) -> None:
        admitted = admit(ctx, session, info)
        device_lifecycle.remove_for_device(ctx, session, admitted, activation_id, notes)

    ctx.transaction(work)
    return Response(status_code=204)


@router.post(
    "/biometrics",
    response_model=DeviceStatus,
    responses=_SIGNED,
    summary="Enrol or remove biometrics, authorized by the code",
)
def change_biometrics(ctx: Ctx, http: SignedHttp, body: BiometricsRequest) -> Any:
    """After ``code/evaluate``: the knowledge key signs the new biometric key (or ``null``)."""
    info = verify_signature(ctx, http)

    def work(session: Session, _notes: list[tuple[str, str]]) -> dict[str, Any]:
        return biometrics_service.change_biometrics(
            ctx,
            session,
            admit(ctx, session, info),
            inherence_public_key=body.inherence_public_key,
            knowledge_signature=body.knowledge_signature,
        )

    return ctx.transaction(work)


@router.post(
    "/reset",
    response_model=ResetStarted,
    status_code=201,
    responses=problem_responses(400, 401, 403, 413, 422, 429),
    summary="Start a forgotten-code reset (biometrics, or SMS code and password)",
)
def reset_start(ctx: Ctx, http: SignedHttp, body: ResetStartRequest) -> Any:
    """Refused while blocked, and by SMS while the phone number changed recently (SIM swap)."""
    info = verify_signature(ctx, http)

    def work(session: Session, _notes: list[tuple[str, str]]) -> dict[str, Any]:
        return reset_service.start(ctx, session, admit(ctx, session, info), body.method)

    return ctx.transaction(work)


def _password_outcome(
    ctx: Any, activation_id: str, reset_id: str, body: ResetEvaluateRequest
) -> reset_service.PasswordOutcome | None:
    """Ask the bank's verifier, outside the write transaction, when the reset can use it."""
    if not body.password:
        return None
    with ctx.read() as session:
        activation = session.get(Activation, activation_id)
        reset = session.get(CodeReset, reset_id)
        if (
            activation is None
            or reset is None
            or reset.activation_id != activation.id
            or reset.method != "sms"
            or reset.status != "open"
            or activation.status != "active"
        ):
            return reset_service.PasswordOutcome.REJECTED  # refused below in any case
        user = session.get(User, activation.user_id)
        assert user is not None
        external_id = user.external_id
    outcome: reset_service.PasswordOutcome = reset_service.check_password(
        ctx,
        user=external_id,
        activation_id=activation_id,
        reset_id=reset_id,
        password=body.password,
        details=body.details or {},
    )
    return outcome


@router.post(
    "/reset/{reset_id}/evaluate",
    response_model=RegistrationEvaluation,
    responses=problem_responses(400, 401, 403, 413, 422),
    summary="Prove the reset's second element and evaluate the new code",
)
def reset_evaluate(
    ctx: Ctx, http: SignedHttp, reset_id: ResetIdPath, body: ResetEvaluateRequest
) -> Any:
    """A failure never says which element failed; the third one ends the reset (brief K4)."""
    info = verify_signature(ctx, http)
    outcome = _password_outcome(ctx, info.key_id, reset_id, body)

    def work(session: Session, _notes: list[tuple[str, str]]) -> dict[str, Any]:
        return reset_service.evaluate(
            ctx,
            session,
            admit(ctx, session, info),
            reset_id,
            blinded_element=body.blinded_element,
            inherence_signature=body.inherence_signature,
            sms_code=body.sms_code,
            password_outcome=outcome,
        )

    return ctx.transaction(work)


@router.post(
    "/reset/{reset_id}/commit",
    response_model=DeviceStatus,
    responses=_SIGNED,
    summary="Register the new knowledge key: the new code works at once",
)
def reset_commit(ctx: Ctx, http: SignedHttp, reset_id: ResetIdPath, body: CodeCommitRequest) -> Any:
    """The new knowledge key signs its renewal over the reset's challenge."""
    info = verify_signature(ctx, http)

    def work(session: Session, _notes: list[tuple[str, str]]) -> dict[str, Any]:
        return reset_service.commit(
            ctx,
            session,
            admit(ctx, session, info),
            reset_id,
            knowledge_public_key=body.knowledge_public_key,
            knowledge_signature=body.knowledge_signature,
        )

    return ctx.transaction(work)


@router.get(
    "/events",
    responses={
        200: {"description": "Server-sent events", "content": {"text/event-stream": {}}},
        **_SIGNED,
        **problem_responses(503),
    },
    response_class=StreamingResponse,
    summary="Be told of new operations (server-sent events)",
)
async def events(ctx: Ctx, http: SignedHttp, request: Request) -> StreamingResponse:
    """An ``operation`` event carries a pending operation signed by the server, or the status
    of one that ended, or (a shared account's operation) only its id: then read the pending
    list. After connecting, read the pending list once to catch up.

    The stream ends after a few minutes, and at once when the server stops: reconnect.
    """

    def work(
        session: Session, _notes: list[tuple[str, str]], info: SignedRequestInfo
    ) -> tuple[str, int]:
        activation = admit(ctx, session, info).activation
        return activation.id, activation.user_id

    activation_id, user_id = await _in_thread(ctx, http, work)
    # Subscribed before answering, so that the process cap is a 503 and not a cut stream; a
    # device's newest streams replace its oldest (a reconnecting SDK, a clone, a retry loop).
    listening = streams_of(request).subscribe(
        ctx.notifier,
        f"device:{activation_id}",
        keep=ctx.settings.max_streams_per_device,
        limit=ctx.settings.max_streams,
    )
    try:
        subscription = await listening.__aenter__()
    except TooManyListeners as error:
        # 503, not 429: the device did nothing wrong, and its SDK retries a 503 with backoff.
        raise ServiceUnavailable(
            "This server holds as many event streams as it allows; retry later.",
            headers={"Retry-After": str(int(_HEARTBEAT))},
        ) from error

    deadline = ctx.clock() + _STREAM_SECONDS
    ended = False

    async def next_chunk() -> bytes | None:
        nonlocal ended
        while not ended and ctx.clock() < deadline:
            message = await subscription.get(_HEARTBEAT)
            if message is None:
                return b": keep-alive\n\n"
            if message.startswith("{"):
                # Built by the transaction that changed the operation (its signed body or
                # its end): nothing to read.
                return b"event: operation\ndata: " + message.encode() + b"\n\n"
            if message in ("revoked", REPLACED):
                # The last event of this stream.
                ended = True
                return _REVOKED if message == "revoked" else _REPLACED
            if message in (RESYNC, CLOSING):
                # Notifications may have been lost, or the server stops: the device
                # reconnects and catches up.
                return None
            try:
                event = await run_in_threadpool(
                    operation_service.device_event, ctx, user_id, message
                )
            except Exception:
                # The id alone still tells the device to read its pending list.
                _log.exception("reading operation %s for an event failed", message)
                event = {"id": message}
            data = json.dumps(event, separators=(",", ":"))
            return f"event: operation\ndata: {data}\n\n".encode()
        return None

    return EventStream(
        b": connected\n\n",
        next_chunk,
        subscription=subscription,
        close=listening.__aexit__,
        headers={"Cache-Control": "no-store"},
    )
