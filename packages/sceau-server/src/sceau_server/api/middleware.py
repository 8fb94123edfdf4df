# SPDX-License-Identifier: Apache-2.0
"""ASGI middleware: the request body size limit, and the request headers' limits."""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sceau_server.errors import PayloadTooLarge, ServerError, problem_response

__all__ = [
    "MAX_HEADERS",
    "MAX_HEADER_BYTES",
    "BodyLimit",
    "HeadersTooLarge",
    "declared_too_large",
    "headers_too_large",
    "read_limited",
]

MAX_HEADER_BYTES: Final = 32 * 1024
"""The most bytes of header names and values a request may carry."""
MAX_HEADERS: Final = 100
"""The most header fields a request may carry."""


class HeadersTooLarge(ServerError):
    """The request's header fields are too large or too many (RFC 6585 §5)."""

    status = 431
    slug = "headers-too-large"
    title = "Request header fields too large"


def headers_too_large(scope: Scope) -> HeadersTooLarge | None:
    """The refusal of a request with more than :data:`MAX_HEADERS` header fields or more than
    :data:`MAX_HEADER_BYTES` of them, else ``None``.

    uvicorn's httptools parser has no such limit (its h11 one has a size limit only), so a
    request is checked here before any work; the reverse proxy in front should cap them too.
    """
    headers = scope["headers"]
    if len(headers) > MAX_HEADERS:
        return HeadersTooLarge(f"A request may carry at most {MAX_HEADERS} header fields.")
    if sum(len(name) + len(value) for name, value in headers) > MAX_HEADER_BYTES:
        return HeadersTooLarge(
            f"The request header fields must total at most {MAX_HEADER_BYTES} bytes."
        )
    return None


def declared_too_large(scope: Scope, limit: int) -> bool:
    """Whether a ``Content-Length`` of the request is above ``limit``, or not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                declared = -1
            if declared > limit or declared < 0:
                return True
    return False


async def read_limited(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or ``None`` as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    received = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class BodyLimit:
    """Refuse request bodies larger than ``limit`` bytes with a 413 problem.

    A declared ``Content-Length`` above the limit is refused before any byte is read; a body
    sent without one (chunked) is read up to the limit and refused once it passes it.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if declared_too_large(scope, self.limit):
            await problem_response(
                PayloadTooLarge(f"The request body must be at most {self.limit} bytes.")
            )(scope, receive, send)
            return
        # Read the whole body first (it is small by construction): a body over the limit is
        # refused before the application sees any of it, chunked or not.
        body = await read_limited(receive, self.limit)
        if body is None:
            await problem_response(
                PayloadTooLarge(f"The request body must be at most {self.limit} bytes.")
            )(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
