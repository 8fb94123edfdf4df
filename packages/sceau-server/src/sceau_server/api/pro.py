# SPDX-License-Identifier: Apache-2.0
"""Sceau Pro's relying-party API (docs/pro.md): organisations, members, accounts, pain.001."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, Field, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from sceau_core.errors import MalformedInput
from sceau_core.operations import OperationType, check_text
from sceau_core.pain001 import MAX_FILE_BYTES
from sceau_server.api.deps import Ctx, Rp, problem_responses
from sceau_server.api.middleware import BodyLimit
from sceau_server.api.schemas import JsonObject, OperationCreate, OperationView, _Request
from sceau_server.errors import InvalidRequest, MalformedRequest
from sceau_server.services import operations as operation_service
from sceau_server.services import pro
from sceau_server.services.accounts import require_scope
from sceau_server.services.context import ServerContext
from sceau_server.storage import repository
from sceau_server.storage.models import Account

__all__ = ["BATCH_PATHS", "BatchBodyLimit", "router"]

router = APIRouter(prefix="/v1", tags=["Sceau Pro"])

SCOPE = "organisations"
BATCH_PATHS = frozenset({"/v1/operations/batch", "/v1/operations/pain001"})
"""Where a batch of up to 10 000 lines may arrive: the body may reach ``MAX_FILE_BYTES``.

``POST /v1/operations`` keeps the server's general body limit (64 KiB by default)."""

OrganisationPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:@-]+$")]
UserPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")]
IbanPath = Annotated[str, Path(min_length=15, max_length=34, pattern=r"^[A-Za-z0-9]+$")]
_XML_TYPES = ("application/xml", "text/xml")


def _check_ttl(ctx: Ctx, ttl: int | None) -> None:
    """``SCEAU_MAX_TTL`` holds here as on ``POST /v1/operations`` (422, the field named)."""
    if ttl is not None and ttl > ctx.settings.max_ttl:
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


class BatchBodyLimit:
    """The body limit, larger for the two paths where a whole batch is posted."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.small = BodyLimit(app, limit=limit)
        self.large = BodyLimit(app, limit=max(limit, MAX_FILE_BYTES))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope.get("method") == "POST"
            and scope.get("path") in BATCH_PATHS
        ):
            await self.large(scope, receive, send)
        else:
            await self.small(scope, receive, send)


def _text(value: str) -> str:
    """Free text that people read: checked like an operation's (no control characters…)."""
    try:
        return check_text(value, field="name")
    except MalformedInput as error:
        raise ValueError(str(error)) from error


Text = Annotated[str, Field(min_length=1, max_length=140), AfterValidator(_text)]


class OrganisationUpsert(_Request):
    """A company."""

    name: Text


class OrganisationView(BaseModel):
    """A company as the RP API shows it."""

    id: str
    name: str
    created_at: int


class MemberUpsert(_Request):
    """A user's membership: the name shown to the other signatories, administrator or not."""

    display_name: Text
    admin: bool = False


class MemberView(BaseModel):
    """A member; approval rules and rights name them by ``id``."""

    id: str
    display_name: str
    admin: bool
    organisation: str
    user: str
    created_at: int


class AccountUpsert(_Request):
    """A shared account: its rule, and its members' rights when it is created."""

    organisation: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:@-]+$")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    name: Text
    rule: JsonObject = Field(description="an approval rule (docs/pro.md §1)")
    members: list[JsonObject] | None = Field(
        default=None,
        max_length=256,
        description='[{"member", "rights"}]; at creation only, then through rights changes',
    )


class AccountView(BaseModel):
    """A shared account as the RP API shows it."""

    iban: str
    organisation: str
    currency: str
    name: str
    rule: dict[str, Any]
    rule_version: int
    members: list[dict[str, Any]]


@router.put(
    "/organisations/{organisation_id}",
    response_model=OrganisationView,
    responses={201: {"model": OrganisationView}, **problem_responses(400, 401, 403, 409, 413, 422)},
    summary="Create or rename an organisation (Sceau Pro)",
)
def put_organisation(
    ctx: Ctx,
    rp: Rp,
    organisation_id: OrganisationPath,
    body: OrganisationUpsert,
    response: Response,
) -> Any:
    """A company whose members share accounts."""
    require_scope(rp, SCOPE)

    def work(session: Session, _notes: list[tuple[str, str]]) -> tuple[dict[str, Any], bool]:
        return pro.put_organisation(ctx, session, rp, organisation_id, name=body.name)

    view, created = ctx.transaction(work)
    response.status_code = 201 if created else 200
    return view


@router.put(
    "/organisations/{organisation_id}/members/{external_id}",
    response_model=MemberView,
    responses={201: {"model": MemberView}, **problem_responses(400, 401, 403, 404, 413, 422)},
    summary="Add a user to an organisation (Sceau Pro)",
)
def put_member(
    ctx: Ctx,
    rp: Rp,
    organisation_id: OrganisationPath,
    external_id: UserPath,
    body: MemberUpsert,
    response: Response,
) -> Any:
    """The user keeps their own devices and code; the answer's ``id`` is the member id."""
    require_scope(rp, SCOPE)

    def work(session: Session, _notes: list[tuple[str, str]]) -> tuple[dict[str, Any], bool]:
        return pro.put_member(
            ctx,
            session,
            rp,
            organisation_id,
            external_id,
            display_name=body.display_name,
            admin=body.admin,
        )

    view, created = ctx.transaction(work)
    response.status_code = 201 if created else 200
    return view


@router.put(
    "/accounts/{iban}",
    response_model=AccountView,
    responses={201: {"model": AccountView}, **problem_responses(400, 401, 403, 404, 409, 413, 422)},
    summary="Create a shared account or change its rule (Sceau Pro)",
)
def put_account(ctx: Ctx, rp: Rp, iban: IbanPath, body: AccountUpsert, response: Response) -> Any:
    """The rule is checked against the members' rights: it must be possible to meet."""
    require_scope(rp, SCOPE)
    request = body.model_dump(mode="json", exclude_none=True)

    def work(session: Session, _notes: list[tuple[str, str]]) -> tuple[dict[str, Any], bool]:
        return pro.put_account(ctx, session, rp, iban, request)

    view, created = ctx.transaction(work)
    response.status_code = 201 if created else 200
    return view


@router.get(
    "/accounts/{iban}",
    response_model=AccountView,
    responses=problem_responses(401, 403, 404, 422),
    summary="Read a shared account (Sceau Pro)",
)
def read_account(ctx: Ctx, rp: Rp, iban: IbanPath) -> Any:
    """The account, its rule and every member's rights."""
    require_scope(rp, SCOPE)
    with ctx.read() as session:
        account: Account = pro.find_account(session, rp, iban)
        return pro.account_view(session, account)


class RightsChangeRequest(_Request):
    """A change of a member's rights, which the administrator ``admin`` approves with Sceau."""

    member: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    rights: list[str] = Field(max_length=3, description="view, prepare, validate; [] removes")
    admin: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")


@router.post(
    "/accounts/{iban}/rights",
    response_model=OperationView,
    status_code=201,
    responses={
        200: {
            "model": OperationView,
            "description": "The operation an earlier request with this Idempotency-Key made",
        },
        **problem_responses(400, 401, 403, 404, 409, 413, 422),
    },
    summary="Ask the organisation's administrator to approve a rights change (Sceau Pro)",
)
def change_rights(
    ctx: Ctx,
    rp: Rp,
    iban: IbanPath,
    body: RightsChangeRequest,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> Any:
    """The answer is a ``rights_change`` operation; the rights change when it is approved."""
    require_scope(rp, SCOPE)
    request = body.model_dump(mode="json")

    def work(session: Session, notes: list[tuple[str, str]]) -> tuple[dict[str, Any], bool]:
        row, created = pro.request_rights_change(
            ctx, session, rp, iban, request, idempotency_key, notes
        )
        return operation_service.operation_view(session, row), created

    view, created = ctx.transaction(work)
    response.status_code = 201 if created else 200
    return view


@router.post(
    "/operations/batch",
    response_model=OperationView,
    status_code=201,
    responses={
        200: {"model": OperationView, "description": "An earlier request's operation"},
        **problem_responses(400, 401, 403, 404, 409, 413, 422, 429),
    },
    summary="Ask for a batch transfer of up to 10 000 lines (JSON)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/OperationCreate"}}
            },
        }
    },
)
async def create_batch(
    ctx: Ctx,
    rp: Rp,
    request: Request,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> Any:
    """``POST /v1/operations`` for a ``batch_transfer`` too large for the general body limit."""
    # Up to 16 MiB are read here: only once the caller is authenticated (``rp``), never before.
    body = await run_in_threadpool(_operation_create, await request.body())
    if body.type is not OperationType.BATCH_TRANSFER:
        raise InvalidRequest("type: only a batch_transfer is posted here.")
    _check_ttl(ctx, body.ttl)
    payload = body.model_dump(mode="json", exclude_none=True)

    def work(session: Session, notes: list[tuple[str, str]]) -> tuple[dict[str, Any], bool]:
        return operation_service.create_operation(ctx, session, rp, payload, idempotency_key, notes)

    view, created = await run_in_threadpool(_create, ctx, work, idempotency_key)
    response.status_code = 201 if created else 200
    return view


def _create(
    ctx: ServerContext,
    work: Callable[[Session, list[tuple[str, str]]], tuple[dict[str, Any], bool]],
    idempotency_key: str | None,
) -> tuple[dict[str, Any], bool]:
    try:
        return ctx.transaction(work)
    except IntegrityError:
        if idempotency_key is None:
            raise
        # As on POST /v1/operations: a parallel request with this key committed first, and
        # this one is its retry (or reuses the key with another body), which its row answers.
        return ctx.transaction(work)


def _operation_create(raw: bytes) -> OperationCreate:
    """The JSON body as FastAPI would read it, with the same problems when it is refused."""
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedRequest("The request body is not valid JSON.") from error
    except RecursionError as error:
        raise MalformedRequest("There was an error parsing the body") from error
    try:
        return OperationCreate.model_validate(document)
    except ValidationError as error:
        errors = [
            {**item, "loc": ("body", *item["loc"])} for item in error.errors(include_input=False)
        ]
        raise RequestValidationError(errors) from error


@router.post(
    "/operations/pain001",
    response_model=OperationView,
    status_code=201,
    responses={
        200: {"model": OperationView, "description": "An earlier request's operation"},
        **problem_responses(400, 401, 403, 404, 409, 413, 422, 429),
    },
    summary="Ask for a batch transfer from a SEPA pain.001 file (raw XML body)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/xml": {"schema": {"type": "string"}}},
        }
    },
)
async def create_from_pain001(
    ctx: Ctx,
    rp: Rp,
    request: Request,
    response: Response,
    user: Annotated[str, Query(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")],
    account: Annotated[str | None, Query(min_length=15, max_length=34)] = None,
    ttl: Annotated[int | None, Query(ge=1, le=3600)] = None,
    callback_url: Annotated[str | None, Query(min_length=1, max_length=2048)] = None,
    content_type: Annotated[str, Header()] = "",
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> Any:
    """A refused file names the transaction at fault: ``line`` and ``end_to_end_id``."""
    if content_type.split(";")[0].strip().lower() not in _XML_TYPES:
        raise InvalidRequest("The body must be a pain.001 file (Content-Type: application/xml).")
    _check_ttl(ctx, ttl)
    data = await request.body()
    require_scope(rp, "batch_transfer")

    def work(session: Session, notes: list[tuple[str, str]]) -> tuple[dict[str, Any], bool]:
        currency = None if account is None else pro.find_account(session, rp, account).currency
        # A retry is read as on the day of the operation its key made: past midnight its
        # execution date may be past, and the retry must still answer that operation.
        earlier = (
            None
            if idempotency_key is None
            else repository.find_idempotent_operation(session, rp.id, idempotency_key)
        )
        today = ctx.settings.bank_today(ctx.now() if earlier is None else earlier.created_at)
        imported, batch = pro.batch_from_pain001(data, currency, today=today)
        body: dict[str, Any] = {"user": user, "type": "batch_transfer", "data": batch}
        for key, value in (("account", account), ("ttl", ttl), ("callback_url", callback_url)):
            if value is not None:
                body[key] = value
        return operation_service.create_operation(
            ctx, session, rp, body, idempotency_key, notes, batch=imported
        )

    view, created = await run_in_threadpool(_create, ctx, work, idempotency_key)
    response.status_code = 201 if created else 200
    return view
