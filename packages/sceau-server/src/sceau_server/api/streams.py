# SPDX-License-Identifier: Apache-2.0
"""The server's event streams, and how they end when the server stops.

uvicorn stops gracefully: it stops accepting connections, then waits for every response in
progress to finish. An event stream is a response that lasts (five minutes for a device, until
the operation ends for a relying party), so an open one would keep ``Ctrl+C`` waiting.
:class:`Streams` knows the open subscriptions of one application; the server made by
:func:`closing_server` tells them to end as it starts to stop. Each stream then returns: the
response finishes properly (the last chunk is sent), the client sees a clean end of stream and
reconnects, to another node or to this one once restarted, and the server exits at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from sceau_server.services.notifier import Notifier, Subscription

if TYPE_CHECKING:
    import uvicorn

__all__ = ["CLOSING", "EventStream", "HeldStream", "Streams", "closing_server", "streams_of"]

CLOSING: Final = "\x00closing"
"""The message a stream gets when the server stops (never an identifier sent on a channel)."""


class Streams:
    """The open event-stream subscriptions of one application."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[Subscription] = set()
        self._closing = False

    @contextlib.asynccontextmanager
    async def subscribe(
        self, notifier: Notifier, channel: str, *, keep: int | None = None, limit: int | None = None
    ) -> AsyncIterator[Subscription]:
        """Subscribe to ``channel`` (``keep``, ``limit``: see :meth:`Notifier.subscribe`); the
        subscription gets :data:`CLOSING` when streams end."""
        async with notifier.subscribe(channel, keep=keep, limit=limit) as subscription:
            with self._lock:
                self._open.add(subscription)
                closing = self._closing
            if closing:
                subscription.deliver(CLOSING)
            try:
                yield subscription
            finally:
                with self._lock:
                    self._open.discard(subscription)

    def close(self) -> None:
        """Tell every open stream, and every stream opened from now on, to end (thread-safe)."""
        with self._lock:
            self._closing = True
            subscriptions = list(self._open)
        for subscription in subscriptions:
            subscription.deliver(CLOSING)

    def count(self) -> int:
        """How many streams are open."""
        with self._lock:
            return len(self._open)


class HeldStream(StreamingResponse):
    """A streaming response that releases its subscription however the response ends.

    The subscription is taken before the response starts, so that a refused one (a cap) is a
    problem answer and not a stream cut after its headers.
    """

    def __init__(
        self,
        content: AsyncIterator[str],
        *,
        close: Callable[[None, None, None], Awaitable[bool | None]],
        **kwargs: Any,
    ) -> None:
        super().__init__(content, **kwargs)
        self._close = close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._close(None, None, None)


class EventStream(StreamingResponse):
    """A server-sent-events answer written straight to the ASGI ``send``, one body message per
    event, already encoded, and its subscription released however the response ends.

    ``next_chunk`` gives the next chunk of the stream, or ``None`` to end it; when the client
    leaves, ``subscription`` gets :data:`CLOSING`, so ``next_chunk`` should then end it. What
    :class:`HeldStream` costs per event (an async generator's turn, Starlette's checks and
    encoding, a task per wait) is left out; the disconnect is watched as Starlette watches it.
    """

    def __init__(
        self,
        first: bytes,
        next_chunk: Callable[[], Awaitable[bytes | None]],
        *,
        subscription: Subscription,
        close: Callable[[None, None, None], Awaitable[bool | None]],
        **kwargs: Any,
    ) -> None:
        super().__init__((), media_type="text/event-stream", **kwargs)
        self._first = first
        self._next = next_chunk
        self._subscription = subscription
        self._close = close

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self._subscription.put(CLOSING)

    async def __call__(self, _scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.ensure_future(self._watch(receive))
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            chunk: bytes | None = self._first
            while chunk is not None:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                chunk = await self._next()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()
            await self._close(None, None, None)


def streams_of(request: Request) -> Streams:
    """The :class:`Streams` of the application serving ``request``."""
    streams: Streams = request.app.state.streams
    return streams


def closing_server(config: uvicorn.Config, streams: Streams) -> uvicorn.Server:
    """A uvicorn server that ends ``streams`` as soon as it starts to stop."""
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # Ended streams finish their responses; uvicorn then closes their connections
            # instead of waiting for them.
            streams.close()
            await super().shutdown(sockets)

    return Server(config)
