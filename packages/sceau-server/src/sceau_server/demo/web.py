# SPDX-License-Identifier: Apache-2.0
"""The demo web site: sessions, forms, rendering, and the pages every area shares.

Pages are rendered on the server with Jinja2 (autoescaped); the little JavaScript there is
(``static/demo.js``: countdowns, server-sent events, the PIN pad) is loaded from this site only,
and a strict Content-Security-Policy forbids everything else (no inline script or style, no
other origin): nothing leaves loopback.

Sessions are in memory, named by a random cookie (``HttpOnly``, ``SameSite=Lax``); every form
carries the session's CSRF token. The language is French unless the visitor chose English.

The areas are in :mod:`~sceau_server.demo.web_bank` (Ma Banque, the merchant and its 3-D Secure
page), :mod:`~sceau_server.demo.web_phone` (the simulated phone) and
:mod:`~sceau_server.demo.web_console` (the back-office).
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sceau_core.operations import MAX_USER_AGENT_LENGTH
from sceau_server.demo import console
from sceau_server.demo.bank import Bank
from sceau_server.demo.company import Company
from sceau_server.demo.config import DemoConfig, DemoCredentials
from sceau_server.demo.i18n import Formatter, translator
from sceau_server.demo.phone import Phones
from sceau_server.services.context import ServerContext
from sceau_server.services.notifier import InProcessNotifier
from sceau_server.settings import Settings

__all__ = [
    "DemoServices",
    "WebSession",
    "create_demo_app",
    "event",
    "flash",
    "form_of",
    "lang_of",
    "redirect",
    "render",
    "renew_session",
    "request_context",
    "services",
    "session_of",
]

HERE = Path(__file__).parent
SESSION_COOKIE = "sceau_demo_session"
LANG_COOKIE = "sceau_demo_lang"
_MAX_SESSIONS = 2000

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@dataclass
class DemoServices:
    """Everything the pages use: configuration, the server's context, the bank, the phones."""

    config: DemoConfig
    settings: Settings
    ctx: ServerContext
    bank: Bank
    phones: Phones
    notifier: InProcessNotifier
    credentials: DemoCredentials
    company: Company | None = None
    """The demo's company (Sceau Pro): its members, shared account and batches."""
    stopping: threading.Event = field(default_factory=threading.Event)
    """Set when the demo stops: the event streams end, so that shutdown does not wait on them."""


@dataclass
class WebSession:
    """One browser's session: its CSRF token and what the pages remember for it."""

    id: str
    csrf: str
    data: dict[str, Any] = field(default_factory=dict)
    new: bool = False
    browser: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    """What the pages bind to this browser (orders, idempotency keys): unlike :attr:`id`, it
    stays the same when the session is renewed at login, and is never sent to the browser."""

    def remember_operation(self, operation_id: str) -> None:
        """This browser asked for this operation: it may follow and cancel it."""
        owned: list[str] = self.data.setdefault("operations", [])
        if operation_id not in owned:
            owned.append(operation_id)
            del owned[:-50]

    def owns(self, operation_id: str) -> bool:
        """Whether this browser asked for this operation."""
        return operation_id in self.data.get("operations", [])

    def operations(self) -> frozenset[str]:
        """The operations this browser asked for (the latest 50)."""
        return frozenset(self.data.get("operations", []))


class _Sessions:
    """The sessions in memory, the oldest forgotten first.

    Sessions that logged in are kept apart from the others: requests without a cookie (any
    site can make a browser send them) create sessions, and must not push out a logged-in one.
    """

    def __init__(self) -> None:
        self._items: OrderedDict[str, WebSession] = OrderedDict()
        self._logged_in: OrderedDict[str, WebSession] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_create(self, cookie: str | None) -> WebSession:
        with self._lock:
            for items in (self._logged_in, self._items):
                if cookie is not None and cookie in items:
                    items.move_to_end(cookie)
                    return items[cookie]
            session = WebSession(
                id=secrets.token_urlsafe(24), csrf=secrets.token_urlsafe(24), new=True
            )
            self._items[session.id] = session
            while len(self._items) > _MAX_SESSIONS:
                self._items.popitem(last=False)
            return session

    def renew(self, session: WebSession) -> None:
        """Give ``session`` a new id and CSRF token, at login: whoever knew the ones before
        (another site on this host can set cookies for it) no longer reaches it."""
        with self._lock:
            self._items.pop(session.id, None)
            self._logged_in.pop(session.id, None)
            session.id = secrets.token_urlsafe(24)
            session.csrf = secrets.token_urlsafe(24)
            session.new = True
            self._logged_in[session.id] = session
            while len(self._logged_in) > _MAX_SESSIONS:
                self._logged_in.popitem(last=False)


class _SessionMiddleware:
    """Attach the browser's session to each request; set its cookie and the security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.sessions = _Sessions()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie: str | None = None
        for name, value in scope.get("headers", ()):
            if name == b"cookie":
                jar: SimpleCookie = SimpleCookie()
                with contextlib.suppress(Exception):
                    jar.load(value.decode("latin-1"))
                if SESSION_COOKIE in jar:
                    cookie = jar[SESSION_COOKIE].value
        session = self.sessions.get_or_create(cookie)
        state = scope.setdefault("state", {})
        state["session"] = session
        state["sessions"] = self.sessions

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if session.new:
                    headers.append(
                        (
                            b"set-cookie",
                            f"{SESSION_COOKIE}={session.id}; Path=/; HttpOnly; SameSite=Lax".encode(
                                "latin-1"
                            ),
                        )
                    )
                    session.new = False
                headers += [
                    (b"content-security-policy", CSP.encode("ascii")),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --- helpers for the areas -------------------------------------------------------------------


def services(request: Request) -> DemoServices:
    """The demo's services."""
    value: DemoServices = request.app.state.demo
    return value


def session_of(request: Request) -> WebSession:
    """The browser's session (a throw-away one outside the session middleware)."""
    value: WebSession | None = getattr(request.state, "session", None)
    return value if value is not None else WebSession(id="", csrf="")


def renew_session(request: Request) -> None:
    """At login: a new session id (sent in a new cookie), so that an id planted in the
    browser before the login does not give its planter the logged-in session."""
    sessions: _Sessions | None = getattr(request.state, "sessions", None)
    if sessions is not None:
        sessions.renew(session_of(request))


def lang_of(request: Request) -> str:
    """``"en"`` if the visitor chose English, else ``"fr"``."""
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "fr"


def _section(path: str) -> str:
    """The part of the site a page belongs to: each phone, the bank, the console, the shop."""
    parts = path.strip("/").split("/")
    if parts[0] == "telephone" and len(parts) > 1:
        return f"telephone/{parts[1]}"
    if parts[0] in ("boutique", "acs"):
        return "boutique"
    return parts[0]


def flash(request: Request, kind: str, fr: str, en: str) -> None:
    """A message for the next page of the same part of the site (``kind``: success, error, info).

    Each part (the bank, each phone, the console, the shop) has its own: a page of one never
    shows, nor takes, the message meant for another open beside it.
    """
    flashes = session_of(request).data.setdefault("flashes", {})
    flashes[_section(request.url.path)] = {"kind": kind, "fr": fr, "en": en}


def redirect(url: str) -> RedirectResponse:
    """A 303 redirection (after a form)."""
    return RedirectResponse(url, status_code=303)


_environment = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with what every page needs (language, CSRF token, formatters…)."""
    lang = lang_of(request)
    session = session_of(request)
    message = session.data.setdefault("flashes", {}).pop(_section(request.url.path), None)
    demo = services(request)
    values: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "_": translator(lang),
        "fmt": Formatter(lang),
        "csrf": session.csrf,
        "path": request.url.path,
        "flash": message,
        "customer": session.data.get("customer"),
        "operator": session.data.get("operator"),
        "now": int(time.time()),
        "config": demo.config,
        "area": "demo",
    }
    values.update(context)
    html = _environment.get_template(template).render(values)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


class FormError(HTTPException):
    """A form without the session's CSRF token (an expired session, or another site)."""


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


class Form:
    """A submitted form whose CSRF token was checked; :meth:`get` reads a text field."""

    def __init__(self, data: FormData) -> None:
        self._data = data

    def get(self, name: str, default: str = "") -> str:
        """The text field ``name`` (``default`` when absent)."""
        value = _field(self._data, name)
        return value if name in self._data else default

    def has(self, name: str) -> bool:
        """Whether the field was sent (a checked box)."""
        return name in self._data


async def form_of(request: Request) -> Form:
    """Read a posted form and check its CSRF token, or refuse it with 403."""
    data = await request.form()
    token = _field(data, "csrf")
    if not token or not hmac.compare_digest(token, session_of(request).csrf):
        raise FormError(
            status_code=403,
            detail="Session expirée ou formulaire d’un autre site : rechargez la page.",
        )
    return Form(data)


def request_context(request: Request) -> dict[str, Any]:
    """The context the bank sends with an operation: the browser's address and user agent."""
    context: dict[str, Any] = {"channel": "web"}
    host = request.client.host if request.client is not None else None
    if host:
        with contextlib.suppress(ValueError):
            context["ip"] = str(ipaddress.ip_address(host))
    agent = " ".join(request.headers.get("user-agent", "").split())
    if agent and agent.isascii() and agent.isprintable():
        context["user_agent"] = agent[:MAX_USER_AGENT_LENGTH].rstrip()
    return context


def event(name: str, data: Mapping[str, Any]) -> str:
    """One server-sent event."""
    return f"event: {name}\ndata: {json.dumps(dict(data), separators=(',', ':'))}\n\n"


def event_stream(stream: AsyncIterator[str]) -> StreamingResponse:
    """A ``text/event-stream`` response that no proxy buffers or caches."""
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def safe_next(target: str, default: str = "/") -> str:
    """A local path to go back to (never another site)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


# --- pages shared by every area -----------------------------------------------------------------


async def home(request: Request) -> Response:
    """The demo's home: the story to play, where each party lives, the credentials."""
    demo = services(request)
    return render(request, "home.html", credentials=demo.credentials)


async def language(request: Request) -> Response:
    """Switch the language (``/langue/fr`` or ``/langue/en``) and go back."""
    lang = request.path_params["lang"]
    if lang not in ("fr", "en"):
        raise HTTPException(status_code=404)
    response = redirect(safe_next(request.query_params.get("suite", "/")))
    response.set_cookie(LANG_COOKIE, lang, path="/", samesite="lax", httponly=True)
    customer = session_of(request).data.get("customer")
    # A link on another site may switch what this browser shows, not the customer's language
    # at the bank and Sceau (her phone's and SMS'): a GET is not protected by the CSRF token.
    own_click = request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
    if isinstance(customer, str) and own_click:
        demo = services(request)
        with contextlib.suppress(Exception):
            from starlette.concurrency import run_in_threadpool

            await run_in_threadpool(demo.bank.set_locale, customer, lang)
    return response


async def sms(request: Request) -> Response:
    """The SMS the Sceau server "sent" (its outbox): activation codes, alerts."""
    from starlette.concurrency import run_in_threadpool

    messages = await run_in_threadpool(console.sms_messages, services(request).ctx)
    return render(request, "sms.html", messages=messages)


async def _error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) and status == 403 else None
    return render(request, "error.html", status=status, status_code=status, detail=detail)


def create_demo_app(demo: DemoServices) -> Starlette:
    """The demo web site (every area), served on the demo's port."""
    from sceau_server.demo import web_bank, web_company, web_console, web_phone

    routes: list[BaseRoute] = [
        Route("/", home),
        Route("/langue/{lang}", language),
        Route("/sms", sms),
        *web_bank.routes(),
        *web_phone.routes(),
        *web_console.routes(),
        *web_company.routes(),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        demo.phones.start()
        yield

    handlers: dict[Any, Callable[..., Any]] = {HTTPException: _error, Exception: _error}
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    app.state.demo = demo
    app.add_middleware(_SessionMiddleware)
    return app
