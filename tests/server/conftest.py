# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the server's functional tests: a real server over real HTTP and a real database.

Each test that asks for ``server`` gets the real application, served by uvicorn on a free
loopback port in a background thread, over a fresh SQLite file migrated with Alembic, and again
over a fresh PostgreSQL database when the test command started one (:mod:`tests.databases`).
The test drives it with httpx as a relying party would, and acts as the device with the protocol
core (see :mod:`tests.server.device_double`). ``server.ctx`` is the server's own context, used only
to create relying parties (as ``sceau admin rp create`` does) and to read the database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from sceau_core.results import ResultClaims, verify_result
from sceau_server.api import create_app
from sceau_server.migrations import upgrade
from sceau_server.services.accounts import NewRelyingParty, create_rp
from sceau_server.services.context import ServerContext
from sceau_server.settings import Settings
from tests.databases import BACKENDS, postgres_databases
from tests.server.device_double import TestDevice

MASTER_KEY = "test-master-key-0123456789abcdef-0123456789"
SECRET = "test-hmac-secret-0123456789abcdef-0123456789"
TEMPLATE: dict[str, Path] = {}

# Tables whose rows are the server's state; the audit log and the SMS outbox record refusals
# by rule (brief L5, K3: the customer is told) and are left out of "state unchanged".
STATE_TABLES = {
    "relying_parties": "id",
    "users": "id",
    "activations": "id",
    "operations": "id",
    "approvals": "id",
    "attempts": "id",
    "deliveries": "id",
    "nonces": "activation_id, nonce",
}


def wait_until(
    predicate: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.05
) -> Any:
    """Poll ``predicate`` until it returns a true value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@dataclasses.dataclass
class RelyingPartyClient:
    """A bank back-end: an httpx client carrying its API key."""

    rp: NewRelyingParty
    http: httpx.Client

    def put_user(self, external_id: str, *, phone: str = "+33612345678", locale: str = "fr") -> Any:
        response = self.http.put(
            f"/v1/users/{external_id}",
            json={"phone": phone, "display_name": f"Client {external_id}", "locale": locale},
        )
        assert response.status_code in (200, 201), response.text
        return response.json()

    def create_activation(self, external_id: str) -> dict[str, Any]:
        response = self.http.post(f"/v1/users/{external_id}/activations")
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def create_operation(self, **body: Any) -> httpx.Response:
        headers = {}
        if "idempotency_key" in body:
            headers["Idempotency-Key"] = body.pop("idempotency_key")
        return self.http.post("/v1/operations", json=body, headers=headers)

    def operation(self, operation_id: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/operations/{operation_id}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@dataclasses.dataclass
class ServerHandle:
    """A running server and what a test needs to talk to it."""

    url: str
    settings: Settings
    ctx: ServerContext
    tmp_path: Path
    clients: list[httpx.Client] = dataclasses.field(default_factory=list)

    def client(self, **kwargs: Any) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=30, **kwargs)
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def relying_party(
        self,
        name: str = "Banque en ligne",
        *,
        scopes: list[str] | None = None,
        callback_allow: list[str] | None = None,
    ) -> RelyingPartyClient:
        from sceau_server.services.accounts import ALL_SCOPES

        rp = create_rp(
            self.ctx,
            name=name,
            scopes=list(scopes or ALL_SCOPES),
            callback_allow=list(callback_allow or []),
        )
        http = self.client(headers={"Authorization": f"Bearer {rp.api_key}"})
        return RelyingPartyClient(rp=rp, http=http)

    def sms_code(self, phone: str) -> str:
        """The last activation code the outbox holds for ``phone``."""
        with self.ctx.db.engine.connect() as connection:
            message = connection.execute(
                text(
                    "SELECT message FROM sms_outbox WHERE phone = :phone "
                    "AND kind = 'activation_code' ORDER BY id DESC LIMIT 1"
                ),
                {"phone": phone},
            ).scalar_one()
        digits = [word.strip(".,") for word in message.split() if word.strip(".,").isdigit()]
        return next(word for word in digits if len(word) == 6)

    def outbox(self, phone: str | None = None) -> list[tuple[str, str]]:
        with self.ctx.db.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT phone, kind, message FROM sms_outbox ORDER BY id")
            ).all()
        return [(kind, message) for p, kind, message in rows if phone is None or p == phone]

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.ctx.db.engine.connect() as connection:
            return list(connection.execute(text(sql), params).all())

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of the state tables (see ``STATE_TABLES``).

        Left out: the replay-protection bookkeeping (the nonces seen, an activation's highest
        counter and last signature time), which every verified device request updates, refused
        or not, so that its replay is told from a clone (brief P2, P3).
        """
        bookkeeping = {"notified_at", "counter", "last_signed_at"}
        state = {}
        with self.ctx.db.engine.connect() as connection:
            for table, order in STATE_TABLES.items():
                if table == "nonces":
                    continue
                rows = connection.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))  # noqa: S608
                columns = list(rows.keys())
                state[table] = [
                    tuple(v for c, v in zip(columns, row, strict=True) if c not in bookkeeping)
                    for row in rows
                ]
        return state

    def jwks(self) -> dict[str, Any]:
        with self.client() as http:
            result: dict[str, Any] = http.get("/.well-known/jwks.json").json()
        return result

    def verify_result(self, view: dict[str, Any]) -> ResultClaims:
        """Verify an operation's result JWS with the published JWKS, as a bank would."""
        return verify_result(
            view["result"],
            jwks_document=self.jwks(),
            expected_operation_id=view["id"],
            expected_issuer=self.url,
            expected_digest=view["digest"],
        )

    def device(self, name: str = "Téléphone de test") -> TestDevice:
        device = TestDevice(base_url=self.url, name=name)
        self.clients.append(device.http)
        return device

    def enrol(
        self,
        rp: RelyingPartyClient,
        external_id: str,
        *,
        code: str = "4826",
        phone: str | None = None,
    ) -> TestDevice:
        """Provision a user and activate a device for them with the 4-digit ``code``."""
        phone = phone or f"+3361{abs(hash(external_id)) % 10**7:07d}"
        rp.put_user(external_id, phone=phone)
        activation = rp.create_activation(external_id)
        device = self.device()
        device.activate(activation["code"], sms_code=self.sms_code(phone), pin=code)
        return device


def _template_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if "path" not in TEMPLATE:
        path = tmp_path_factory.mktemp("template") / "sceau.db"
        upgrade(f"sqlite:///{path}")
        TEMPLATE["path"] = path
    return TEMPLATE["path"]


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database engine of the test: ``sqlite``, and ``postgresql`` when one is running."""
    name: str = request.param
    return name


@pytest.fixture
def make_server(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, backend: str
) -> Iterator[Callable[..., ServerHandle]]:
    """Start servers with settings overrides; each gets its own copy of a migrated database."""
    started: list[tuple[uvicorn.Server, threading.Thread, ServerHandle]] = []
    databases: list[str] = []

    def start(**overrides: Any) -> ServerHandle:
        directory = tmp_path / f"server{len(started)}"
        directory.mkdir()
        if backend == "postgresql":
            database_url = postgres_databases().create()
            databases.append(database_url)
        else:
            database = directory / "sceau.db"
            database.write_bytes(_template_database(tmp_path_factory).read_bytes())
            database_url = f"sqlite:///{database}"
        sock = _free_socket()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        values: dict[str, Any] = {
            "database_url": database_url,
            "public_url": url,
            "master_key": MASTER_KEY,
            "secret": SECRET,
            "sweep_interval": 0.2,
            "webhook_interval": 0.05,
            "webhook_backoff": 0.2,
            "checkpoint_key_path": str(directory / "checkpoint.pem"),
            "checkpoint_journal_path": str(directory / "checkpoints.jsonl"),
            "checkpoint_interval": 0.0,
        }
        values.update(overrides)
        settings = Settings(**values)
        settings.check()
        ctx = ServerContext.create(settings)
        config = uvicorn.Config(
            create_app(settings, context=ctx),
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True
        )
        thread.start()
        wait_until(lambda: server.started, timeout=20)
        handle = ServerHandle(url=url, settings=settings, ctx=ctx, tmp_path=directory)
        started.append((server, thread, handle))
        return handle

    yield start
    for server, thread, handle in started:
        handle.close()
        server.should_exit = True
        thread.join(timeout=10)
        handle.ctx.close()
    for database_url in databases:
        postgres_databases().drop(database_url)


@pytest.fixture
def server(make_server: Callable[..., ServerHandle]) -> ServerHandle:
    """A server with the default policy (5 failures, 1 min first lock…)."""
    return make_server()


@pytest.fixture
def bank(server: ServerHandle) -> RelyingPartyClient:
    """A relying party with every scope."""
    return server.relying_party()
