# SPDX-License-Identifier: Apache-2.0
"""Health, readiness and metrics, for load balancers and Prometheus (no RP authentication).

``/healthz`` says the process answers; ``/readyz`` says it can serve: the database answers, its
schema is at the migrations' head, and on PostgreSQL the node listens for the other nodes'
notifications. ``/metrics`` is the Prometheus text format (:mod:`sceau_server.metrics`); it is
off when ``SCEAU_METRICS=off`` (restrict it at the proxy in production).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from sceau_server.api.deps import Ctx
from sceau_server.errors import NotFound
from sceau_server.metrics import CONTENT_TYPE, METRICS
from sceau_server.services.context import ServerContext
from sceau_server.services.notifier import PostgresNotifier

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@cache
def _migration_heads() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    from sceau_server.migrations import alembic_config

    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def _readiness(ctx: ServerContext) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    try:
        with ctx.read() as session:
            versions = set(session.scalars(text("SELECT version_num FROM alembic_version")))
        checks["database"] = "ok"
        checks["migrations"] = "ok" if versions == _migration_heads() else "behind"
    except Exception as error:  # any failure of the database means "not ready"
        checks["database"] = f"unreachable: {type(error).__name__}"
    if isinstance(ctx.notifier, PostgresNotifier):
        checks["notifications"] = "ok" if ctx.notifier.listening else "not listening"
    return checks


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    """Always ``{"status": "ok"}`` while the process serves requests."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: database reachable, schema at head, notifications listening",
    responses={503: {"description": "Not ready"}},
)
async def readyz(ctx: Ctx) -> JSONResponse:
    """``200`` with every check ``ok``, or ``503`` with the failing ones."""
    checks = await run_in_threadpool(_readiness, ctx)
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics of this node",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, 404: {"description": "Metrics are off"}},
)
def metrics(ctx: Ctx) -> Response:
    """Operations, latencies, failures, locks, webhooks, streams (text exposition format)."""
    if not ctx.settings.metrics:
        raise NotFound("Metrics are off on this server.")
    return Response(
        METRICS.exposition(), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"}
    )
