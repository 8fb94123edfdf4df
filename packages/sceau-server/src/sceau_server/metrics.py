# SPDX-License-Identifier: Apache-2.0
"""Prometheus metrics of one server process, served at ``/metrics`` (text format).

Counters move only when the transaction that did the work has committed (see
:func:`sceau_server.storage.database.after_commit`), so a rolled-back approval is never counted.
Every node exports its own figures; Prometheus adds them up across nodes.

Metrics (each with its ``# HELP`` line in the exposition):

- ``sceau_operations_total{type, outcome}``: operations created (``outcome="created"``) and
  finalized (approved, rejected, not_me, expired, cancelled);
- ``sceau_http_request_duration_seconds{method, route}``: time to the response's headers;
  ``method`` is ``OTHER`` outside the standard ones (:data:`METHODS`), ``route`` the path
  template or ``unmatched``, so that no request can add label sets without bound;
- ``sceau_http_responses_total{method, route, status}``: responses by status code;
- ``sceau_security_events_total{event}``: audit log entries by event;
- ``sceau_code_failures_total`` and ``sceau_locks_total``: failed code attempts reported to the
  customer, and locks (brief K3);
- ``sceau_webhook_deliveries_total{outcome}``: webhook sends (delivered, retry, failed);
- ``sceau_device_streams`` and ``sceau_waiters``: open device event streams, and open RP long
  polls and event streams, on this node;
- ``process_*``: CPU seconds, resident memory, open files of this process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_TYPE", "METHODS", "METRICS", "Metrics", "RequestMetrics", "RouteRecorder"]

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
"""The methods that have a label of their own; any other token counts as ``OTHER``."""
_BUCKETS: Final = (
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.2,
    0.5,
    1.0,
    2.0,
    5.0,
)


class Metrics:
    """The metrics of this process, on a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.operations = Counter(
            "sceau_operations",
            "Operations created and finalized, by type and outcome.",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.request_duration = Histogram(
            "sceau_http_request_duration_seconds",
            "Time from the request to the response's headers, per route.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.responses = Counter(
            "sceau_http_responses",
            "HTTP responses by route and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.security_events = Counter(
            "sceau_security_events",
            "Audit log entries by event.",
            ["event"],
            registry=self.registry,
        )
        self.code_failures = Counter(
            "sceau_code_failures",
            "Failed code attempts reported to the customer.",
            registry=self.registry,
        )
        self.locks = Counter(
            "sceau_locks",
            "Temporary or permanent locks of an activation after failed code attempts.",
            registry=self.registry,
        )
        self.webhooks = Counter(
            "sceau_webhook_deliveries",
            "Webhook sends by outcome (delivered, retry, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self._streams = Gauge(
            "sceau_device_streams",
            "Open device event streams on this node.",
            registry=self.registry,
        )
        self._waiters = Gauge(
            "sceau_waiters",
            "Open relying-party long polls and event streams on this node.",
            registry=self.registry,
        )
        self._streams.set_function(lambda: 0.0)
        self._waiters.set_function(lambda: 0.0)

    def watch_listeners(self, count: Callable[[str], int]) -> None:
        """Read the open streams and waits from ``count(channel_prefix)`` at each scrape."""
        self._streams.set_function(lambda: float(count("device:")))
        self._waiters.set_function(lambda: float(count("operation:")))

    def audit_event(self, event: str) -> None:
        """Count one committed audit entry, and the failures and locks among them."""
        self.security_events.labels(event).inc()
        if event == "code.failure":
            self.code_failures.inc()
        elif event == "activation.locked":
            self.locks.inc()

    def operation(self, operation_type: str, outcome: str) -> None:
        """Count one committed operation creation or final state."""
        self.operations.labels(operation_type, outcome).inc()

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)


METRICS: Final = Metrics()
"""This process's metrics."""


class RouteRecorder:
    """Records one response: its time to headers and its status, by method and route template."""

    def __init__(self, metrics: Metrics = METRICS) -> None:
        self.metrics = metrics
        # Label lookups cost more than the observation: keep each route's children.
        self._timers: dict[tuple[str, str], Any] = {}
        self._counters: dict[tuple[str, str, int], Any] = {}

    def observe(self, method: str, template: str, status: int, seconds: float) -> None:
        """Count one response of ``template`` (``unmatched`` when no route took the request)."""
        if method not in METHODS:
            method = "OTHER"
        timer = self._timers.get((method, template))
        if timer is None:
            timer = self._timers[method, template] = self.metrics.request_duration.labels(
                method, template
            )
        counter = self._counters.get((method, template, status))
        if counter is None:
            counter = self._counters[method, template, status] = self.metrics.responses.labels(
                method, template, str(status)
            )
        timer.observe(seconds)
        counter.inc()


class RequestMetrics:
    """ASGI middleware: time to headers and status of each request, labelled by route template.

    The route is the matched path template (``/v1/operations/{operation_id}``), never the raw
    path, so identifiers do not multiply the series; unmatched paths count as ``unmatched``.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics = METRICS) -> None:
        self.app = app
        self.recorder = RouteRecorder(metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = scope.get("route")
                template = getattr(route, "path", None) or "unmatched"
                self.recorder.observe(
                    scope["method"], template, message["status"], time.perf_counter() - start
                )
            await send(message)

        await self.app(scope, receive, timed_send)
