# SPDX-License-Identifier: Apache-2.0
"""The server's one error tree, and its one mapping to RFC 9457 problem details.

Every refusal the server makes is a :class:`ServerError`; :func:`install` registers the one
exception handler that turns it, FastAPI's request validation errors, Starlette's 404/405 and any
unexpected exception into ``application/problem+json``::

    ServerError                       500 internal-error (never shows a stack trace)
    ├── MalformedRequest              400 malformed-request (not JSON, bad header)
    ├── InvalidRequest                422 invalid-request (schema: types, unknown fields)
    │   ├── InvalidOperationData      422 invalid-operation (an operation type's rules)
    │   └── CallbackNotAllowed        422 callback-not-allowed (outside the RP's allowlist)
    ├── Unauthorized                  401 unauthorized (RP API key missing or wrong)
    ├── Forbidden                     403 forbidden (the RP's key lacks the scope)
    ├── NotFound                      404 not-found
    ├── MethodNotAllowed              405 method-not-allowed
    ├── Conflict                      409 conflict
    │   ├── IdempotencyKeyReused      409 idempotency-key-reused (same key, other body)
    │   └── OperationNotPending       409 operation-not-pending (already final or expired)
    ├── PayloadTooLarge               413 payload-too-large
    ├── RateLimited                   429 rate-limited (brief D7), with Retry-After
    ├── ServiceUnavailable            503 unavailable: at a capacity limit, with Retry-After
    ├── ResetRefused                  403 reset-refused: a forgotten-code reset that cannot start
    │                                     or continue (SIM-swap hold, not strong enough…)
    └── AuthenticationFailed          401 authentication-failed: every device refusal (brief K4)

Machine fields (``type``, ``title``, ``detail``) are English; what a customer may read is in
``message_fr`` and ``message_en``. ``AuthenticationFailed`` never says which factor or check
failed: the detail is the same for a wrong code, a wrong key, a replay, a revoked device.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from sceau_core.display import attempts_left as display_attempts_left

__all__ = [
    "PROBLEM_TYPE_PREFIX",
    "AuthenticationFailed",
    "CallbackNotAllowed",
    "Conflict",
    "Forbidden",
    "IdempotencyKeyReused",
    "InvalidOperationData",
    "InvalidRequest",
    "MalformedRequest",
    "MethodNotAllowed",
    "NotFound",
    "OperationNotPending",
    "PayloadTooLarge",
    "RateLimited",
    "ResetRefused",
    "ServerError",
    "ServiceUnavailable",
    "Unauthorized",
    "install",
    "problem_response",
]

PROBLEM_TYPE_PREFIX = "urn:sceau:problem:"
_log = logging.getLogger("sceau.server")

FollowUp = Callable[[Session, list[tuple[str, str]]], None]


class ServerError(Exception):
    """Root of the server's refusals; each subclass fixes its status, type and title."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal server error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        follow_up: FollowUp | None = None,
        keep_writes: bool = False,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})
        self.follow_up = follow_up
        """A write to run in its own transaction after the refused one rolled back.

        It receives the session and the list of ``(channel, message)`` notifications to publish.

        Used where a refusal must leave a trace by rule: an audit entry, a suspension for a
        counter regression (brief P3), one more failed SMS-code attempt.
        """
        self.keep_writes = keep_writes
        """Commit the refused transaction's writes before answering (an attempt counted in
        the very transaction that checked it, so that parallel guesses cannot overtake it)."""

    def body(self) -> dict[str, Any]:
        """The problem details object."""
        return {
            "type": PROBLEM_TYPE_PREFIX + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


class MalformedRequest(ServerError):
    """The request is not well formed: not JSON, a bad header."""

    status = 400
    slug = "malformed-request"
    title = "Malformed request"


class InvalidRequest(ServerError):
    """The request body or parameters do not match the schema."""

    status = 422
    slug = "invalid-request"
    title = "Invalid request"


class InvalidOperationData(InvalidRequest):
    """The operation's typed data break the rules of its type."""

    slug = "invalid-operation"
    title = "Invalid operation"


class CallbackNotAllowed(InvalidRequest):
    """The callback URL is not in the relying party's allowlist."""

    slug = "callback-not-allowed"
    title = "Callback URL not allowed"


class Unauthorized(ServerError):
    """The relying party's API key is missing or wrong."""

    status = 401
    slug = "unauthorized"
    title = "Unauthorized"


class Forbidden(ServerError):
    """The relying party's API key does not have the scope for this request."""

    status = 403
    slug = "forbidden"
    title = "Forbidden"


class NotFound(ServerError):
    """Nothing is there, or nothing the caller may see."""

    status = 404
    slug = "not-found"
    title = "Not found"


class MethodNotAllowed(ServerError):
    """The path exists but not with this method."""

    status = 405
    slug = "method-not-allowed"
    title = "Method not allowed"


class Conflict(ServerError):
    """The request conflicts with the current state."""

    status = 409
    slug = "conflict"
    title = "Conflict"


class IdempotencyKeyReused(Conflict):
    """The Idempotency-Key was already used with another request body."""

    slug = "idempotency-key-reused"
    title = "Idempotency key reused with another request"


class OperationNotPending(Conflict):
    """The operation already reached its final state (decided, expired or cancelled)."""

    slug = "operation-not-pending"
    title = "Operation is not pending"


class PayloadTooLarge(ServerError):
    """The request body is larger than the server accepts."""

    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class RateLimited(ServerError):
    """Too many requests of this kind (brief D7); ``retry_after`` seconds until one passes, said
    in the ``Retry-After`` header and in the problem's ``retry_after`` member."""

    status = 429
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(
        self, detail: str, *, retry_after: int, extra: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(
            detail,
            extra={"retry_after": retry_after, **(extra or {})},
            headers={"Retry-After": str(retry_after)},
        )


class ServiceUnavailable(ServerError):
    """The server is at one of its capacity limits; the client may retry later."""

    status = 503
    slug = "unavailable"
    title = "Service unavailable"


class ResetRefused(ServerError):
    """A forgotten-code reset refused by a rule, before any factor is checked (brief L3).

    ``reason`` is machine-readable (``phone_recently_changed``, ``password_required``,
    ``sms_reset_unavailable``, ``no_biometrics``, ``blocked``); ``message_fr`` and
    ``message_en`` tell the customer why and what to do. It never says that a factor failed:
    a wrong SMS code, password or biometric signature is an :class:`AuthenticationFailed`.
    """

    status = 403
    slug = "reset-refused"
    title = "Code reset refused"

    def __init__(self, reason: str, *, message_fr: str, message_en: str, **extra: Any) -> None:
        super().__init__(
            f"The code reset is refused: {reason}.",
            extra={"reason": reason, "message_fr": message_fr, "message_en": message_en, **extra},
        )
        self.reason = reason


class AuthenticationFailed(ServerError):
    """Any refused device request or approval: one generic answer (brief K4)."""

    status = 401
    slug = "authentication-failed"
    title = "Authentication failed"

    def __init__(
        self,
        *,
        attempts_left: int | None = None,
        locked_until: int | None = None,
        blocked: bool = False,
        follow_up: FollowUp | None = None,
        keep_writes: bool = False,
    ) -> None:
        extra: dict[str, Any] = {
            "message_fr": "Authentification refusée",
            "message_en": "Authentication failed",
        }
        if attempts_left is not None and locked_until is None and not blocked:
            extra["message_fr"] += ". " + display_attempts_left(attempts_left, "fr")
            extra["message_en"] += ". " + display_attempts_left(attempts_left, "en")
        if attempts_left is not None:
            extra["attempts_left"] = attempts_left
        if locked_until is not None:
            extra["locked_until"] = locked_until
        if blocked:
            extra["blocked"] = True
        super().__init__(
            "The request or approval was refused.",
            extra=extra,
            follow_up=follow_up,
            keep_writes=keep_writes,
        )


def problem_response(error: ServerError) -> JSONResponse:
    """The ``application/problem+json`` response for ``error``."""
    return JSONResponse(
        error.body(),
        status_code=error.status,
        media_type="application/problem+json",
        headers=error.headers or None,
    )


def _validation_problem(error: RequestValidationError) -> ServerError:
    errors = []
    for item in error.errors():
        if item.get("type") == "json_invalid":
            return MalformedRequest("The request body is not valid JSON.")
        # The input is left out: it could hold a one-time code or a key.
        errors.append(
            {
                "loc": [str(part) for part in item.get("loc", ())],
                "msg": str(item.get("msg", "")),
                "type": str(item.get("type", "")),
            }
        )
    return InvalidRequest("The request does not match the schema.", extra={"errors": errors})


def to_problem(error: BaseException) -> ServerError:
    """Map any exception raised while serving a request to a :class:`ServerError`."""
    if isinstance(error, ServerError):
        return error
    if isinstance(error, RequestValidationError):
        return _validation_problem(error)
    if isinstance(error, IntegrityError):
        # Two requests raced to create the same row (e.g. one Idempotency-Key); one won.
        return Conflict("A concurrent request changed the same resource; retry.")
    if isinstance(error, StarletteHTTPException):
        if error.status_code == 404:
            return NotFound()
        if error.status_code == 405:
            return MethodNotAllowed(
                headers={"Allow": (error.headers or {}).get("Allow", "")}
                if error.headers and "Allow" in error.headers
                else None
            )
        if error.status_code == 413:
            return PayloadTooLarge()
        if 400 <= error.status_code < 500:
            return MalformedRequest(str(error.detail))
    _log.error("unexpected error while serving a request", exc_info=error)
    return ServerError("The server could not complete the request.")


def install(app: FastAPI) -> None:
    """Register the one exception handler on ``app`` for every kind of failure."""

    async def handle(_request: Request, error: Exception) -> JSONResponse:
        return problem_response(to_problem(error))

    for kind in (ServerError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(kind, handle)
