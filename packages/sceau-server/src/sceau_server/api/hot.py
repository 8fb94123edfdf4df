# SPDX-License-Identifier: Apache-2.0
"""The four requests of every validation, served without the framework around them.

Each validation costs the server four requests: the RP creates the operation and reads its
result, the device evaluates its code and sends its decision. :class:`SceauApp` recognises
exactly these (method, path) pairs with a dictionary lookup and a split of the path, and serves
them itself; every other request, and these paths with any other method, goes to FastAPI
unchanged. The FastAPI routes of the four stay registered: they make the OpenAPI document, and
this module takes from them the very fields FastAPI validates with (path parameter, header,
body, response model), so that answers are the same to the byte: statuses, bodies, headers,
problem details (400, 401, 404, 409, 413, 422, 429), the body limit and the metrics.

What it leaves out is the cost: routing over every route, dependency solving, the request and
response objects, the middleware layers and anyio's thread hand-off (the one hand-off left per
request goes to an executor of this application's own).
"""

from __future__ import annotations

import asyncio
import email.message
import json
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

from fastapi import FastAPI
from fastapi._compat import ModelField
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from fastapi.routing import APIRoute
from starlette.types import Receive, Scope, Send

from sceau_server.api import device, rp
from sceau_server.api.deps import authenticate, bearer_token, signed_request
from sceau_server.api.middleware import declared_too_large, headers_too_large, read_limited
from sceau_server.errors import (
    MalformedRequest,
    NotFound,
    PayloadTooLarge,
    ServerError,
    problem_response,
    to_problem,
)
from sceau_server.metrics import RouteRecorder
from sceau_server.services import operations as operation_service
from sceau_server.services.context import ServerContext
from sceau_server.storage import repository

__all__ = ["HOT_ROUTES", "HotRoutes", "SceauApp"]

HOT_ROUTES: Final = {
    ("POST", "/v1/operations"): "create_operation",
    ("GET", "/v1/operations/{operation_id}"): "read_operation",
    ("POST", "/v1/device/operations/{operation_id}/evaluate"): "evaluate",
    ("POST", "/v1/device/operations/{operation_id}/decision"): "decision",
}
"""The hot (method, route template) pairs and the names of their FastAPI endpoints."""

THREADS: Final = 40
"""Worker threads of the hot requests at most (anyio's default limit for the other endpoints);
never more than the database pool keeps (``SCEAU_DB_POOL_SIZE``), since each may hold a
connection: the pool's overflow is there for anyio's threads (``storage.database``)."""

_DEVICE_OPERATIONS: Final = "/v1/device/operations/"
_OPERATIONS: Final = "/v1/operations/"
_JSON_HEADER: Final = (b"content-type", b"application/json")
_Undefined: Final = object()

Endpoint = Callable[["_Request"], Awaitable[tuple[int, Any]]]


class _Request:
    """What a hot endpoint needs of one request."""

    __slots__ = ("body", "ctx", "operation_id", "scope")

    def __init__(self, scope: Scope, ctx: ServerContext, body: bytes, operation_id: str) -> None:
        self.scope = scope
        self.ctx = ctx
        self.body = body
        self.operation_id = operation_id

    def header(self, name: bytes) -> str | None:
        """The first value of header ``name`` (lower case), as Starlette's ``Headers.get``."""
        for key, value in self.scope["headers"]:
            if key == name:
                return str(value.decode("latin-1"))
        return None


def _wants_json(content_type: str | None) -> bool:
    """FastAPI's test of a JSON body: ``application/json`` or ``application/*+json``."""
    if not content_type:
        return False
    if content_type == "application/json":
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


class _Route:
    """One hot route: its FastAPI route's fields, and how the answer is serialised."""

    def __init__(self, route: APIRoute, endpoint: Endpoint) -> None:
        self.template = route.path
        self.endpoint = endpoint
        dependant = route.dependant
        self.path_field: ModelField | None = (
            dependant.path_params[0] if dependant.path_params else None
        )
        self.header_field: ModelField | None = (
            dependant.header_params[0] if dependant.header_params else None
        )
        self.body_field: ModelField | None = (
            dependant.body_params[0] if dependant.body_params else None
        )
        assert route.response_field is not None
        self.response_field: ModelField = route.response_field
        self._dump_options: dict[str, Any] = {
            "include": route.response_model_include,
            "exclude": route.response_model_exclude,
            "by_alias": route.response_model_by_alias,
            "exclude_unset": route.response_model_exclude_unset,
            "exclude_defaults": route.response_model_exclude_defaults,
            "exclude_none": route.response_model_exclude_none,
        }

    def parse_body(self, request: _Request) -> Any:
        """The body as FastAPI reads it before any dependency: JSON if declared so."""
        if not request.body:
            return _Undefined
        if not _wants_json(request.header(b"content-type")):
            return request.body
        try:
            return json.loads(request.body)
        except json.JSONDecodeError as error:
            raise MalformedRequest("The request body is not valid JSON.") from error
        except Exception as error:
            raise MalformedRequest("There was an error parsing the body") from error

    def validate(self, request: _Request, body: Any) -> tuple[Any, Any, Any]:
        """The path parameter, the header and the body, validated as FastAPI does (after the
        dependencies), every error in one 422."""
        errors: list[Any] = []
        path_value = header_value = body_value = None
        if self.path_field is not None:
            path_value, found = self.path_field.validate(
                request.operation_id, {}, loc=("path", self.path_field.alias)
            )
            errors += found
        if self.header_field is not None:
            raw = request.header(self.header_field.alias.encode("latin-1"))
            if raw is not None:
                header_value, found = self.header_field.validate(
                    raw, {}, loc=("header", self.header_field.alias)
                )
                errors += found
        if self.body_field is not None:
            if body is _Undefined:
                errors.append(
                    {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
                )
            else:
                body_value, found = self.body_field.validate(body, {}, loc=("body",))
                errors += found
        if errors:
            raise RequestValidationError(errors)
        return path_value, header_value, body_value

    def dump(self, content: Any) -> bytes:
        """The response body FastAPI writes for ``content`` under the route's response model."""
        value, errors = self.response_field.validate(content, {}, loc=("response",))
        if errors:
            raise ResponseValidationError(errors, body=content)
        dumped: bytes = self.response_field.serialize_json(value, **self._dump_options)
        return dumped


class HotRoutes:
    """The hot endpoints of one application, and the threads they run their work in."""

    def __init__(self, app: FastAPI, *, body_limit: int, metrics: bool) -> None:
        self._app = app
        self._limit = body_limit
        self._recorder = RouteRecorder() if metrics else None
        self._executor: ThreadPoolExecutor | None = None
        routes = {
            (method, route.path): route
            for route in app.router.routes
            if isinstance(route, APIRoute)
            for method in route.methods or ()
        }
        endpoints: dict[str, Endpoint] = {
            "create_operation": self._create_operation,
            "read_operation": self._read_operation,
            "evaluate": self._evaluate,
            "decision": self._decision,
        }
        self._routes: dict[str, _Route] = {}
        for (method, template), name in HOT_ROUTES.items():
            route = routes[method, template]
            assert route.name == name, (method, template, route.name)
            self._routes[name] = _Route(route, endpoints[name])

    def close(self) -> None:
        """Let the worker threads end (the application stops)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    def match(self, scope: Scope) -> tuple[_Route, str] | None:
        """The hot route of this request and its operation id, if it is one of the four."""
        path: str = scope["path"]
        method = scope["method"]
        if method == "POST":
            if path == "/v1/operations":
                return self._routes["create_operation"], ""
            if path.startswith(_DEVICE_OPERATIONS):
                operation_id, slash, action = path[len(_DEVICE_OPERATIONS) :].partition("/")
                if operation_id and slash and action in ("evaluate", "decision"):
                    return self._routes[action], operation_id
        elif method == "GET" and path.startswith(_OPERATIONS):
            operation_id = path[len(_OPERATIONS) :]
            if operation_id and "/" not in operation_id:
                return self._routes["read_operation"], operation_id
        return None

    async def serve(
        self, hot: tuple[_Route, str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Answer one hot request, as FastAPI with its middlewares would have."""
        route, operation_id = hot
        start = time.perf_counter()
        # The body limit answers before routing: the metrics count it as ``unmatched``.
        template = "unmatched"
        body = (
            None
            if declared_too_large(scope, self._limit)
            else await read_limited(receive, self._limit)
        )
        status: int
        headers: list[tuple[bytes, bytes]]
        if body is None:
            status, headers, content = _problem(
                PayloadTooLarge(f"The request body must be at most {self._limit} bytes.")
            )
        else:
            template = route.template
            ctx: ServerContext = self._app.state.context
            try:
                status, answer = await route.endpoint(_Request(scope, ctx, body, operation_id))
                content = route.dump(answer)
                headers = [(b"content-length", str(len(content)).encode()), _JSON_HEADER]
            except Exception as error:
                status, headers, content = _problem(to_problem(error))
        if self._recorder is not None:
            self._recorder.observe(scope["method"], template, status, time.perf_counter() - start)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def _in_thread(self, work: Callable[..., Any], *args: Any) -> Any:
        if self._executor is None:
            threads = min(THREADS, self._app.state.context.settings.db_pool_size)
            self._executor = ThreadPoolExecutor(threads, thread_name_prefix="sceau-hot")
        return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)

    # --- the four endpoints, in FastAPI's order: body, dependencies, parameters, endpoint --

    async def _create_operation(self, request: _Request) -> tuple[int, Any]:
        route = self._routes["create_operation"]
        body = route.parse_body(request)
        party = await authenticate(
            request.ctx, bearer_token(request.header(b"authorization")), to_thread=self._in_thread
        )
        _, idempotency_key, operation = route.validate(request, body)
        view, created = await self._in_thread(
            rp.new_operation, request.ctx, party, operation, idempotency_key
        )
        return (201 if created else 200), view

    async def _read_operation(self, request: _Request) -> tuple[int, Any]:
        ctx = request.ctx
        # Never wait on the loop for a pooled connection: with none idle, the thread reads.
        on_loop = ctx.db.is_sqlite and ctx.db.idle_read_connections() > 0
        party = await authenticate(
            ctx,
            bearer_token(request.header(b"authorization")),
            to_thread=_on_loop if on_loop else self._in_thread,
        )
        operation_id, _, _ = self._routes["read_operation"].validate(request, _Undefined)
        if on_loop:
            view = _read_committed(ctx, party.id, operation_id)
            if view is not None:
                return 200, view
        # An operation whose time is up is finalized first: a write, off the loop.
        view = await self._in_thread(operation_service.get_for_rp, ctx, party.id, operation_id)
        return 200, view

    async def _evaluate(self, request: _Request) -> tuple[int, Any]:
        return await self._signed_operation_request(request, "evaluate", device.evaluate_signed)

    async def _decision(self, request: _Request) -> tuple[int, Any]:
        return await self._signed_operation_request(request, "decision", device.decide_signed)

    async def _signed_operation_request(
        self, request: _Request, name: str, work: Callable[..., Any]
    ) -> tuple[int, Any]:
        route = self._routes[name]
        body = route.parse_body(request)
        http = signed_request(request.ctx, request.scope, request.body)
        operation_id, _, value = route.validate(request, body)
        return 200, await self._in_thread(work, request.ctx, http, operation_id, value)


async def _on_loop(work: Callable[..., Any], *args: Any) -> Any:
    return work(*args)


def _read_committed(ctx: ServerContext, rp_id: str, operation_id: str) -> dict[str, Any] | None:
    """The operation as :func:`operation_service.get_for_rp` gives it, read on the event loop;
    ``None`` if it must be finalized as expired first.

    SQLite only: in WAL mode a read transaction never waits for the writer (nor for the fsync of
    its group commit), so a few indexed statements cost less than a hand-off to a worker thread.
    A PostgreSQL read waits on the network: it keeps its hand-off.
    """
    with ctx.read() as session:
        found = repository.operation_record_for_rp(session, rp_id, operation_id)
        if found is None:
            raise NotFound("No such operation.")
        row, external_id = found
        if row.status == "pending" and ctx.now() >= row.expires_at:
            return None
        return operation_service.operation_view(session, row, external_id)


def _problem(error: ServerError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    response = problem_response(error)
    return response.status_code, response.raw_headers, bytes(response.body)


class SceauApp(FastAPI):
    """The FastAPI application, with the hot requests served by :class:`HotRoutes` first."""

    hot: HotRoutes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse oversized headers; serve a hot request directly; anything else through FastAPI."""
        if scope["type"] == "http":
            refused = headers_too_large(scope)
            if refused is not None:
                await problem_response(refused)(scope, receive, send)
                return
        hot = self.hot
        if hot is not None and scope["type"] == "http" and not scope.get("root_path"):
            matched = hot.match(scope)
            if matched is not None:
                await hot.serve(matched, scope, receive, send)
                return
        await super().__call__(scope, receive, send)
