# SPDX-License-Identifier: Apache-2.0
"""The FastAPI application: routers, the problem handler, the body limit, background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from sceau_core.results import jwks
from sceau_server import errors
from sceau_server.api import admin, device, health, logs, pro, rp
from sceau_server.api.deps import Ctx
from sceau_server.api.hot import HotRoutes, SceauApp
from sceau_server.api.streams import Streams
from sceau_server.metrics import METRICS, RequestMetrics
from sceau_server.services import device_lifecycle
from sceau_server.services import operations as operation_service
from sceau_server.services.checkpoints import write_checkpoint
from sceau_server.services.context import ServerContext
from sceau_server.services.maintenance import purge_nonces
from sceau_server.services.webhooks import WebhookWorker
from sceau_server.settings import Settings

__all__ = ["create_app"]

_log = logging.getLogger("sceau.server")

well_known = APIRouter(tags=["well-known"])


@well_known.get("/.well-known/jwks.json", summary="The server's result-signing keys (JWKS)")
def jwks_document(ctx: Ctx) -> dict[str, Any]:
    """Verify result JWS with these keys (RFC 7517)."""
    return jwks([ctx.public_key])


async def _every(
    interval: float, work: Callable[[], object], name: str, stop: asyncio.Event
) -> None:
    # Stopped between two runs, never during one: a run holds a database connection in a
    # worker thread, which must be back in the pool before the pool is closed.
    while not stop.is_set():
        try:
            await run_in_threadpool(work)
        except Exception:
            _log.exception("background task %s failed", name)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


def create_app(
    settings: Settings, *, context: ServerContext | None = None, hot: bool = True
) -> SceauApp:
    """Build the application; the database must already be migrated.

    ``hot=False`` serves every request through FastAPI, the hot ones included (tests compare).
    """

    @asynccontextmanager
    async def lifespan(app: SceauApp) -> AsyncIterator[None]:
        ctx = context or ServerContext.create(settings)
        app.state.context = ctx
        count = getattr(ctx.notifier, "listener_count", None)
        if count is not None:
            METRICS.watch_listeners(count)
        webhooks = WebhookWorker(ctx)

        def sweep() -> None:
            operation_service.expire_due(ctx)
            operation_service.notify_unreported_failures(ctx)
            purge_nonces(ctx)
            device_lifecycle.release_due_holds(ctx)
            device_lifecycle.expire_unfinished(ctx)

        stop = asyncio.Event()
        tasks = []
        if settings.checkpoint_interval > 0:
            tasks.append(
                asyncio.create_task(
                    _every(
                        settings.checkpoint_interval,
                        lambda: write_checkpoint(ctx),
                        "audit",
                        stop,
                    )
                )
            )
        tasks += [
            asyncio.create_task(_every(settings.sweep_interval, sweep, "sweep", stop)),
            asyncio.create_task(webhooks.run(stop)),
        ]
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await webhooks.close()
            if app.hot is not None:
                app.hot.close()
            if context is None:
                ctx.close()

    app = SceauApp(
        title="Sceau server",
        version="0.1.0",
        summary="Strong customer authentication (PSD2 SCA) for banks",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # Starlette would answer a trailing slash with a 307 to a URL built from the Host header.
        redirect_slashes=False,
    )
    app.state.streams = Streams()
    errors.install(app)
    logs.install()
    app.add_middleware(pro.BatchBodyLimit, limit=settings.max_body_bytes)
    if settings.metrics:
        app.add_middleware(RequestMetrics)
    # The routers' routes go straight into the application's table: an included router is
    # matched twice per request (once to select it, once to find the route inside), over
    # every route before it. Their prefixes and tags are already part of each route.
    for router in (pro.router, rp.router, device.router, admin.router, well_known, health.router):
        app.router.routes.extend(router.routes)
    if hot:
        app.hot = HotRoutes(app, body_limit=settings.max_body_bytes, metrics=settings.metrics)
    return app
