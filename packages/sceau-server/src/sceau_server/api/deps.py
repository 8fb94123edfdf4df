# SPDX-License-Identifier: Apache-2.0
"""Request dependencies: the server context, the relying party, the signed device request."""

from __future__ import annotations

import hmac
import re
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL
from starlette.types import Scope

from sceau_core.httpsig import HttpRequest
from sceau_server.errors import MalformedRequest, Unauthorized
from sceau_server.services.accounts import authenticate_rp
from sceau_server.services.context import ServerContext
from sceau_server.services.devices import build_request
from sceau_server.storage.database import Database
from sceau_server.storage.models import RelyingParty

__all__ = [
    "Ctx",
    "Rp",
    "SignedHttp",
    "authenticate",
    "bearer_token",
    "problem_responses",
    "request_path",
    "signed_request",
]

_SIGNED_HEADERS = frozenset({"signature", "signature-input", "content-digest", "sceau-counter"})
_bearer = HTTPBearer(auto_error=False, description="the relying party's API key")


async def _context(request: Request) -> ServerContext:
    # async: FastAPI runs a plain function dependency in a worker thread, a hand-off per request.
    context: ServerContext = request.app.state.context
    return context


Ctx = Annotated[ServerContext, Depends(_context)]

RP_CACHE_SECONDS = 2.0
"""How long an authenticated relying party is kept in memory (a disabled key stops within it)."""
_RP_CACHE_SIZE = 1024


class _RpCache:
    """Relying parties recently authenticated, by the keyed digest of their API key."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, RelyingParty]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> RelyingParty | None:
        with self._lock:
            entry = self._entries.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return None
        rp = entry[1]
        return rp if hmac.compare_digest(rp.api_key_digest, digest) else None

    def put(self, digest: str, rp: RelyingParty) -> None:
        with self._lock:
            if len(self._entries) >= _RP_CACHE_SIZE:
                self._entries.clear()
            self._entries[digest] = (time.monotonic() + RP_CACHE_SECONDS, rp)


_RP_CACHES: weakref.WeakKeyDictionary[Database, _RpCache] = weakref.WeakKeyDictionary()
_RP_CACHES_LOCK = threading.Lock()


def _rp_cache(ctx: ServerContext) -> _RpCache:
    with _RP_CACHES_LOCK:
        cache = _RP_CACHES.get(ctx.db)
        if cache is None:
            cache = _RP_CACHES[ctx.db] = _RpCache()
        return cache


def _load_relying_party(ctx: ServerContext, token: str, digest: str) -> RelyingParty:
    with ctx.read() as session:
        rp = authenticate_rp(ctx, session, f"Bearer {token}")
        session.expunge(rp)
    _rp_cache(ctx).put(digest, rp)
    return rp


def bearer_token(authorization: str | None) -> str | None:
    """The API key of an ``Authorization`` header, read as FastAPI's ``HTTPBearer`` reads it."""
    if not authorization:
        return None
    scheme, _, param = authorization.partition(" ")
    token = param.strip()
    if not (scheme and token) or scheme.lower() != "bearer":
        return None
    return token


async def authenticate(
    ctx: ServerContext,
    token: str | None,
    *,
    to_thread: Callable[..., Awaitable[Any]] = run_in_threadpool,
) -> RelyingParty:
    """The relying party whose API key is ``token`` (:class:`Unauthorized` if none)."""
    if token is None:
        raise Unauthorized("An API key is required (Authorization: Bearer …).")
    # Two RP requests per validation: the key's row is read at most once per RP_CACHE_SECONDS,
    # in a worker thread; a key found in memory costs one HMAC on the event loop.
    digest = ctx.digest("api-key", "", token)
    cached = _rp_cache(ctx).get(digest)
    if cached is not None:
        return cached
    rp: RelyingParty = await to_thread(_load_relying_party, ctx, token, digest)
    return rp


async def _relying_party(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> RelyingParty:
    # The context straight from the application rather than through Ctx: each level of
    # dependencies costs FastAPI a solving pass per request.
    ctx: ServerContext = request.app.state.context
    return await authenticate(ctx, None if credentials is None else credentials.credentials)


Rp = Annotated[RelyingParty, Depends(_relying_party)]


def signed_request(ctx: ServerContext, scope: Scope, body: bytes) -> HttpRequest:
    """The device's request as it signed it, from the ASGI scope and the whole body."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name in headers:
            if name in _SIGNED_HEADERS:
                raise MalformedRequest(f"The header {name} is repeated.")
            headers[name] = f"{headers[name]}, {value}"
        else:
            headers[name] = value
    path, query = request_path(scope)
    return build_request(
        ctx, method=scope["method"], path=path, query=query, headers=headers, body=body
    )


_PLAIN_PATH: Final = re.compile(r"/[A-Za-z0-9_.~-][A-Za-z0-9_.~/-]*|/")


def request_path(scope: Scope) -> tuple[str, str]:
    """The path and query of the request as Starlette's ``request.url`` gives them."""
    path: str = scope["path"]
    if not scope.get("query_string") and _PLAIN_PATH.fullmatch(path):
        # Nothing to escape, no authority to mistake it for: Starlette's URL would give it back.
        return path, ""
    url = URL(scope=scope)
    return url.path, url.query


async def _signed_http(request: Request) -> HttpRequest:
    ctx: ServerContext = request.app.state.context
    return signed_request(ctx, request.scope, await request.body())


SignedHttp = Annotated[HttpRequest, Depends(_signed_http)]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem responses a route may give."""
    from sceau_server.api.schemas import Problem

    schema = Problem.model_json_schema()
    descriptions = {
        400: "Malformed request",
        401: "Unauthorized or authentication failed",
        403: "Forbidden",
        404: "Not found",
        409: "Conflict",
        413: "Payload too large",
        422: "Invalid request",
        429: "Too many requests",
        503: "Service unavailable",
    }
    return {
        status: {
            "description": descriptions.get(status, "Problem"),
            "content": {"application/problem+json": {"schema": schema}},
        }
        for status in statuses
    }
