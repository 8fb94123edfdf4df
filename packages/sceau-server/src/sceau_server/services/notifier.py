# SPDX-License-Identifier: Apache-2.0
"""Notifications between requests: "something changed on channel X", nothing more.

A device's event stream listens on ``device:<activation id>``; an RP's long-poll or event
stream on ``operation:<operation id>``. Messages carry identifiers, except the event a device's
stream shows of one of its user's own operations, which the transaction that changed it builds
(the operation signed by the server, or how it ended): the stream then reads nothing. Whoever
is notified otherwise reads the details through its own authenticated request.

:class:`InProcessNotifier` serves one server process (SQLite). :class:`PostgresNotifier` fans
out across server nodes through PostgreSQL ``LISTEN``/``NOTIFY``, never through process memory:
a transaction's notifications are sent with ``pg_notify`` inside the transaction, so PostgreSQL
delivers them when, and only if, it commits; every node listens on one database channel and
hands each notification to its own local listeners. When a node loses its listening connection
it may miss notifications, so on reconnecting it wakes every local listener with
:data:`RESYNC`: event streams end (devices reconnect and read their pending operations) and
waits re-read the state.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Final, Protocol

import psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from sceau_server.db import driver_rowcount
from sceau_server.storage.database import WITH_COMMIT

__all__ = [
    "REPLACED",
    "RESYNC",
    "InProcessNotifier",
    "Notifier",
    "PostgresNotifier",
    "Subscription",
    "TooManyListeners",
]

RESYNC: Final = ""
"""The message a listener gets when notifications may have been lost: re-read the state."""

REPLACED: Final = "\x00replaced"
"""The last message of a listener that a newer one on the same channel replaced (``keep``)."""


class TooManyListeners(Exception):
    """The process already holds as many subscriptions of this kind as it allows."""


PG_CHANNEL: Final = "sceau_events"
_log = logging.getLogger("sceau.notifier")


_MAX_QUEUED: Final = 1000


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Subscription:
    """A queue of messages for one listener, fed from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._messages: collections.deque[str] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, message: str) -> None:
        """Queue ``message`` (on the listener's event loop only); beyond 1 000 it is dropped."""
        if len(self._messages) < _MAX_QUEUED:
            self._messages.append(message)
            if self._waiter is not None:
                _wake(self._waiter)

    def deliver(self, message: str) -> None:
        """Hand ``message`` to the listener's event loop (thread-safe)."""
        # A closed loop means the listener is gone.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self.put, message)

    async def get(self, timeout: float) -> str | None:
        """The next message, or ``None`` after ``timeout`` seconds."""
        # A future and a timer rather than ``asyncio.wait_for``, which makes a task per call.
        if not self._messages:
            waiter = self._waiter = self._loop.create_future()
            timer = self._loop.call_later(timeout, _wake, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
            if not self._messages:
                return None
        return self._messages.popleft()


class Notifier(Protocol):
    """Publishes identifiers on channels; listeners subscribe from an event loop."""

    def publish(self, channel: str, message: str) -> None:
        """Tell every listener of ``channel`` about ``message``; never blocks."""

    def subscribe(
        self, channel: str, *, keep: int | None = None, limit: int | None = None
    ) -> AbstractAsyncContextManager[Subscription]:
        """An async context manager yielding a :class:`Subscription` to ``channel``.

        ``keep``: at most that many subscriptions on ``channel``; a new one replaces the
        oldest, which gets :data:`REPLACED`. ``limit``: raise :class:`TooManyListeners` when
        the process already holds that many subscriptions on channels of the same kind (the
        part of the name before ``:``).
        """

    def listener_count(self, prefix: str = "") -> int:
        """How many subscriptions are open on channels starting with ``prefix``."""


class InProcessNotifier:
    """A thread-safe notifier for one server process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Insertion-ordered, so that ``keep`` replaces the oldest subscription.
        self._channels: dict[str, dict[Subscription, None]] = {}

    def publish(self, channel: str, message: str) -> None:
        """Tell every current listener of ``channel``."""
        with self._lock:
            listeners = list(self._channels.get(channel, ()))
        for listener in listeners:
            listener.deliver(message)

    @asynccontextmanager
    async def subscribe(
        self, channel: str, *, keep: int | None = None, limit: int | None = None
    ) -> AsyncIterator[Subscription]:
        """Listen on ``channel`` for the duration of the ``async with`` block (see
        :meth:`Notifier.subscribe` for ``keep`` and ``limit``)."""
        subscription = Subscription(asyncio.get_running_loop())
        replaced: list[Subscription] = []
        with self._lock:
            listeners = self._channels.get(channel, {})
            if keep is not None:
                while len(listeners) >= max(keep, 1):
                    oldest = next(iter(listeners))
                    del listeners[oldest]
                    replaced.append(oldest)
            if limit is not None:
                kind = channel.partition(":")[0] + ":"
                if self._count(kind) >= limit:
                    for oldest in replaced:  # refused: nothing is replaced
                        listeners[oldest] = None
                    raise TooManyListeners(kind)
            listeners[subscription] = None
            self._channels[channel] = listeners
        for oldest in replaced:
            oldest.deliver(REPLACED)
        try:
            yield subscription
        finally:
            with self._lock:
                current = self._channels.get(channel)
                if current is not None:
                    current.pop(subscription, None)
                    if not current:
                        del self._channels[channel]

    def broadcast(self, message: str) -> None:
        """Tell every listener of every channel."""
        with self._lock:
            listeners = [listener for group in self._channels.values() for listener in group]
        for listener in listeners:
            listener.deliver(message)

    def listener_count(self, prefix: str = "") -> int:
        """How many subscriptions are open on channels starting with ``prefix``."""
        with self._lock:
            return self._count(prefix)

    def _count(self, prefix: str) -> int:
        return sum(len(group) for name, group in self._channels.items() if name.startswith(prefix))

    def has_listeners(self, channel: str) -> bool:
        """Whether anyone in this process listens on ``channel``."""
        with self._lock:
            return bool(self._channels.get(channel))


def _notify_sql(count: int) -> str:
    return "SELECT " + ", ".join([f"pg_notify('{PG_CHANNEL}', ?)"] * count)


class PostgresNotifier:
    """Notifications across server nodes through PostgreSQL ``LISTEN``/``NOTIFY``.

    One background thread per process holds a dedicated connection that listens on
    :data:`PG_CHANNEL`; each payload is ``<channel> LF <message>``. Publishing goes through the
    database too, so a node hears its own notifications the same way as the others'.
    """

    def __init__(self, database_url: str, *, poll_interval: float = 0.25) -> None:
        url = make_url(database_url)
        if url.get_backend_name() != "postgresql":
            raise ValueError("PostgresNotifier needs a PostgreSQL database URL")
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._local = InProcessNotifier()
        self._poll = poll_interval
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None
        self._publish_lock = threading.Lock()
        self._publisher: psycopg.Connection[Any] | None = None

    # --- listening ------------------------------------------------------------------------------

    def start(self, *, wait: float = 10.0) -> None:
        """Start the listening thread and wait (up to ``wait`` seconds) until it listens."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sceau-pg-listener", daemon=True)
            self._thread.start()
        self._listening.wait(wait)

    @property
    def listening(self) -> bool:
        """Whether the listening connection is up (a readiness condition)."""
        return self._listening.is_set()

    def _run(self) -> None:
        delay = 0.1
        connected_before = False
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as connection:
                    connection.execute(f"LISTEN {PG_CHANNEL}")
                    self._listening.set()
                    if connected_before:
                        self._local.broadcast(RESYNC)
                    connected_before = True
                    delay = 0.1
                    while not self._stop.is_set():
                        for notify in connection.notifies(timeout=self._poll):
                            self._dispatch(notify.payload)
            except psycopg.Error as error:
                self._listening.clear()
                if self._stop.is_set():
                    return
                _log.warning("notification listener lost its connection: %s", error)
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)
        self._listening.clear()

    def _dispatch(self, payload: str) -> None:
        channel, separator, message = payload.partition("\n")
        if separator:
            self._local.publish(channel, message)

    def close(self) -> None:
        """Stop listening and close the connections."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._publish_lock:
            publisher = self._publisher
            self._publisher = None
        if publisher is not None:
            publisher.close()

    # --- publishing -----------------------------------------------------------------------------

    @staticmethod
    def _statement(notes: Sequence[tuple[str, str]]) -> tuple[str, dict[str, str]]:
        calls = ", ".join(f"pg_notify('{PG_CHANNEL}', :p{index})" for index in range(len(notes)))
        params = {
            f"p{index}": f"{channel}\n{message}" for index, (channel, message) in enumerate(notes)
        }
        return f"SELECT {calls}", params

    def publish_in_transaction(self, session: Session, notes: Sequence[tuple[str, str]]) -> None:
        """Queue ``notes`` in the session's transaction: delivered when it commits.

        On the server's engine they travel with the COMMIT, in its round trip (see
        ``storage.database.WITH_COMMIT``); elsewhere as one statement now.
        """
        if not notes:
            return
        payloads = tuple(f"{channel}\n{message}" for channel, message in dict.fromkeys(notes))
        connection = session.connection()
        if getattr(connection.dialect, WITH_COMMIT, False):
            driver: Any = connection.connection.driver_connection
            escape = psycopg.pq.Escaping(driver.pgconn).escape_literal
            calls = b", ".join(
                b"pg_notify('" + PG_CHANNEL.encode() + b"', " + escape(payload.encode()) + b")"
                for payload in payloads
            )
            connection.connection.info.setdefault(WITH_COMMIT, []).append(b"SELECT " + calls + b";")
        else:
            driver_rowcount(session, _notify_sql(len(payloads)), payloads)

    def publish(self, channel: str, message: str) -> None:
        """Tell every listener of ``channel``, on every node (one short autocommit statement)."""
        statement, params = self._statement([(channel, message)])
        query = statement.replace(":p0", "%(p0)s").encode()
        with self._publish_lock:
            try:
                if self._publisher is None:
                    self._publisher = psycopg.connect(self._conninfo, autocommit=True)
                self._publisher.execute(query, params)
            except psycopg.Error:
                if self._publisher is not None:
                    self._publisher.close()
                self._publisher = None
                raise

    def subscribe(
        self, channel: str, *, keep: int | None = None, limit: int | None = None
    ) -> AbstractAsyncContextManager[Subscription]:
        """Listen on ``channel`` for the duration of the ``async with`` block (local limits)."""
        return self._local.subscribe(channel, keep=keep, limit=limit)

    def listener_count(self, prefix: str = "") -> int:
        """How many local subscriptions are open on channels starting with ``prefix``."""
        return self._local.listener_count(prefix)

    def has_listeners(self, channel: str) -> bool:
        """Whether anyone in this process listens on ``channel``."""
        return self._local.has_listeners(channel)
