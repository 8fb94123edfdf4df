# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the multi-node tests: ``scripts/cluster`` on the test PostgreSQL server.

Each cluster is two real ``sceau serve`` processes on one fresh PostgreSQL database behind
nginx, on loopback. The tests act as the bank over HTTP with an API key made by
``sceau admin rp create``, and as the device with :class:`tests.server.device_double.TestDevice`,
sending each signed request either through nginx or straight to one node: the signature covers
the public (nginx) URL, which every node reconstructs from ``SCEAU_PUBLIC_URL``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.databases import POSTGRES_URL, postgres_databases
from tests.server.device_double import SignedCall, TestDevice

ROOT = Path(__file__).resolve().parents[2]
SCEAU = str(Path(sys.executable).parent / "sceau")

pytestmark = pytest.mark.skipif(
    POSTGRES_URL is None or shutil.which("nginx") is None,
    reason="the cluster tests need the test PostgreSQL server and nginx",
)


def wait_until(check: Callable[[], Any], *, timeout: float = 20.0, what: str = "") -> Any:
    """Poll ``check`` every 50 ms until it returns a true value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@dataclass
class Cluster:
    """A running cluster: its public URL, its nodes' URLs, the bank's API client."""

    directory: Path
    env: dict[str, str]
    public_url: str
    node_urls: list[str]
    database_url: str
    api_key: str = ""
    clients: list[httpx.Client] = field(default_factory=list)

    def http(self, base_url: str | None = None, **kwargs: Any) -> httpx.Client:
        """An HTTP client of ``base_url`` (nginx by default), closed with the cluster."""
        client = httpx.Client(base_url=base_url or self.public_url, timeout=30, **kwargs)
        self.clients.append(client)
        return client

    def bank(self, base_url: str | None = None) -> httpx.Client:
        """The bank's RP client, through nginx or straight to one node."""
        return self.http(base_url, headers={"Authorization": f"Bearer {self.api_key}"})

    def sms_code(self, phone: str) -> str:
        """The last activation code sent to ``phone`` (read from the SMS outbox table)."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                message = connection.execute(
                    text(
                        "SELECT message FROM sms_outbox WHERE phone = :phone "
                        "AND kind = 'activation_code' ORDER BY id DESC LIMIT 1"
                    ),
                    {"phone": phone},
                ).scalar_one()
        finally:
            engine.dispose()
        found = re.search(r"\b(\d{6})\b", message)
        assert found, message
        return found.group(1)

    def rows(self, sql: str, **params: Any) -> list[Any]:
        """Rows of a query on the cluster's database."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return list(connection.execute(text(sql), params).all())
        finally:
            engine.dispose()

    def enrol(self, user: str, phone: str) -> TestDevice:
        """Provision ``user`` and activate a device for them (code 4826), through nginx."""
        bank = self.bank()
        answer = bank.put(f"/v1/users/{user}", json={"phone": phone, "display_name": user})
        assert answer.status_code in (200, 201), answer.text
        activation = bank.post(f"/v1/users/{user}/activations")
        assert activation.status_code == 201, activation.text
        device = TestDevice(base_url=self.public_url)
        self.clients.append(device.http)
        device.activate(activation.json()["code"], sms_code=self.sms_code(phone), pin="4826")
        return device

    def send(self, node: str, call: SignedCall, **kwargs: Any) -> httpx.Response:
        """Send a signed device request straight to ``node``."""
        with httpx.Client(base_url=node, timeout=30) as http:
            return http.request(
                call.method, call.path, content=call.body, headers=call.headers, **kwargs
            )

    def node_pid(self, index: int) -> int:
        """The process id of node ``index`` (1-based)."""
        return int((self.directory / f"node-{index}.pid").read_text())

    def kill(self, index: int) -> None:
        """Kill node ``index`` at once (SIGKILL): no graceful shutdown, no last write."""
        pid = self.node_pid(index)
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not _alive(pid), what="the node to die")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child of the script's subshell may linger as a zombie until reaped.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


def _start(directory: Path) -> Iterator[Cluster]:
    database_url = postgres_databases().create()
    env = {
        **os.environ,
        "SCEAU_DATABASE_URL": database_url,
        "SCEAU_MASTER_KEY": "cluster-master-key-0123456789abcdef-0123456789",
        "SCEAU_SECRET": "cluster-hmac-secret-0123456789abcdef-0123456789",
        "SCEAU_OPERATIONS_PER_MINUTE": "1000",
    }
    script = str(ROOT / "scripts" / "cluster")
    try:
        started = subprocess.run(
            [script, "start", str(directory), "2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert started.returncode == 0, started.stderr
        values = dict(
            line.split("=", 1)
            for line in (directory / "cluster.env").read_text().splitlines()
            if "=" in line
        )
        env.update(values)
        cluster = Cluster(
            directory=directory,
            env=env,
            public_url=values["SCEAU_PUBLIC_URL"],
            node_urls=values["SCEAU_NODE_URLS"].strip('"').split(),
            database_url=database_url,
        )
        created = subprocess.run(
            [SCEAU, "admin", "rp", "create", "cluster-bank"],
            env=env,
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        api_key = re.search(r"sceau_sk_[A-Za-z0-9_-]+", created)
        assert api_key, created
        cluster.api_key = api_key.group(0)
        yield cluster
        for client in cluster.clients:
            client.close()
    finally:
        subprocess.run([script, "stop", str(directory)], env=env, timeout=120, check=False)
        postgres_databases().drop(database_url)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two nodes behind nginx, shared by the tests of a module that kill nothing."""
    yield from _start(tmp_path_factory.mktemp("cluster"))


@pytest.fixture
def fresh_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """Two nodes behind nginx for one test, which may kill them."""
    yield from _start(tmp_path / "cluster")
