# SPDX-License-Identifier: Apache-2.0
"""Notifications between requests: "something changed on channel X", nothing more.

A device's event stream listens on ``device:<activation id>``; an RP's long-poll or event
stream on ``operation:<operation id>``. Messages carry only identifiers: whoever is notified
reads the details through its own authenticated request. :class:`InProcessNotifier` serves one
server process; several nodes need a notifier through the database (a later issue adds
PostgreSQL LISTEN/NOTIFY behind the same interface).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

__all__ = ["InProcessNotifier", "Notifier", "Subscription"]


class Subscription:
    """A queue of messages for one listener, fed from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1000)

    def _put(self, message: str) -> None:
        if not self._queue.full():
            self._queue.put_nowait(message)

    def deliver(self, message: str) -> None:
        """Hand ``message`` to the listener's event loop (thread-safe)."""
        # A closed loop means the listener is gone.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._put, message)

    async def get(self, timeout: float) -> str | None:
        """The next message, or ``None`` after ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None


class Notifier(Protocol):
    """Publishes identifiers on channels; listeners subscribe from an event loop."""

    def publish(self, channel: str, message: str) -> None:
        """Tell every listener of ``channel`` about ``message``; never blocks."""

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]:
        """An async context manager yielding a :class:`Subscription` to ``channel``."""


class InProcessNotifier:
    """A thread-safe notifier for one server process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._channels: dict[str, set[Subscription]] = {}

    def publish(self, channel: str, message: str) -> None:
        """Tell every current listener of ``channel``."""
        with self._lock:
            listeners = list(self._channels.get(channel, ()))
        for listener in listeners:
            listener.deliver(message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        """Listen on ``channel`` for the duration of the ``async with`` block."""
        subscription = Subscription(asyncio.get_running_loop())
        with self._lock:
            self._channels.setdefault(channel, set()).add(subscription)
        try:
            yield subscription
        finally:
            with self._lock:
                listeners = self._channels.get(channel)
                if listeners is not None:
                    listeners.discard(subscription)
                    if not listeners:
                        del self._channels[channel]
