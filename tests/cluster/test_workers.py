# SPDX-License-Identifier: Apache-2.0
"""``sceau serve --workers N``: N server processes of one node sharing one listening socket.

The tests run the installed command on a real PostgreSQL database and tell the workers apart
by the kernel's view of each connection: the server side of a TCP connection is a socket that
exactly one worker holds (``/proc/net/tcp`` and ``/proc/PID/fd``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.cluster.conftest import Cluster, wait_until
from tests.databases import POSTGRES_URL, postgres_databases
from tests.server.test_cli import _self_signed

SCEAU = str(Path(sys.executable).with_name("sceau"))

needs_postgres = pytest.mark.skipif(POSTGRES_URL is None, reason="needs the test PostgreSQL server")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _tcp_sockets() -> list[tuple[int, int, str, int]]:
    """``(local port, remote port, state, inode)`` of every IPv4 TCP socket."""
    rows = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(address.split(":")[1], 16) for address in fields[1:3])
        rows.append((local, remote, fields[3], int(fields[9])))
    return rows


def _children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{pid}$", text, re.MULTILINE) and "State:\tZ" not in text:
            found.append(int(status.parent.name))
    return found


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "State:\tZ" not in status.read_text()
    except OSError:
        return False


@dataclass
class Node:
    """A running ``sceau serve --workers N``."""

    process: subprocess.Popen[bytes]
    port: int
    url: str
    log: Path
    database_url: str

    def workers(self) -> list[int]:
        """The child processes that hold the listening socket."""
        listening = {
            inode
            for local, _, state, inode in _tcp_sockets()
            if local == self.port and state == "0A"
        }
        return sorted(pid for pid in _children(self.process.pid) if listening & _socket_inodes(pid))

    def worker_serving(self, client_port: int) -> int:
        """The worker holding the server side of the connection from ``client_port``."""
        inodes = {
            inode
            for local, remote, _, inode in _tcp_sockets()
            if local == self.port and remote == client_port
        }
        holders = [pid for pid in self.workers() if inodes & _socket_inodes(pid)]
        assert len(holders) == 1, (client_port, holders)
        return holders[0]

    def stderr(self) -> str:
        return self.log.read_text()


def _client_port(response: httpx.Response) -> int:
    port: int = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    return port


def _empty_database() -> str:
    """A new PostgreSQL database without any table: the command must migrate it."""
    import psycopg

    admin = make_url(POSTGRES_URL or "")
    name = f"sceau_workers_{uuid.uuid4().hex[:12]}"
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"'.encode())
    return admin.set(database=name).render_as_string(hide_password=False)


def _environment(port: int, database_url: str, scheme: str = "http") -> dict[str, str]:
    environment = {
        **os.environ,
        "SCEAU_DATABASE_URL": database_url,
        "SCEAU_PUBLIC_URL": f"{scheme}://127.0.0.1:{port}",
        "SCEAU_MASTER_KEY": "workers-test-master-key-0123456789abcdef-xyz",
        "SCEAU_SECRET": "workers-test-hmac-secret-0123456789abcdef-xyz",
        "SCEAU_OPERATIONS_PER_MINUTE": "1000",
        "SCEAU_MAX_STREAMS_PER_DEVICE": "50",
    }
    # Spawned workers import the server once each; let them reuse the compiled modules.
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def _start(directory: Path, database_url: str, *options: str, scheme: str = "http") -> Node:
    port = _free_port()
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [SCEAU, "serve", "--port", str(port), "--no-access-log", *options],
            cwd=directory,
            env=_environment(port, database_url, scheme),
            stdout=subprocess.DEVNULL,
            stderr=output,
        )
    node = Node(process, port, f"{scheme}://127.0.0.1:{port}", log, database_url)
    wait_until(
        lambda: len(node.workers()) == 2 or process.poll() is not None,
        timeout=120,
        what="two workers holding the socket",
    )
    assert process.poll() is None, node.stderr()
    wait_until(
        lambda: node.stderr().count("Application startup complete") == 2,
        timeout=120,
        what="both workers to start",
    )
    return node


def _stop(node: Node) -> None:
    if node.process.poll() is None:
        node.process.send_signal(signal.SIGTERM)
        try:
            node.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()


def _cluster(node: Node, directory: Path) -> Cluster:
    """The bank and device helpers of the cluster tests, aimed at this one node."""
    environment = _environment(node.port, node.database_url)
    created = subprocess.run(
        [SCEAU, "admin", "rp", "create", "workers-bank"],
        env=environment,
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    api_key = re.search(r"sceau_sk_[A-Za-z0-9_-]+", created)
    assert api_key, created
    return Cluster(
        directory=directory,
        env=environment,
        public_url=node.url,
        node_urls=[node.url],
        database_url=node.database_url,
        api_key=api_key.group(0),
    )


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """Two workers on a database that no one migrated beforehand."""
    database_url = _empty_database()
    started = _start(tmp_path_factory.mktemp("workers"), database_url, "--workers", "2")
    try:
        yield started
    finally:
        _stop(started)
        postgres_databases().drop(database_url)


class Stream:
    """A device's event stream, read in a thread."""

    def __init__(self, cluster: Cluster, device: Any) -> None:
        call = device.prepare("GET", "/v1/device/events")
        self.http = cluster.http()
        self.response = self.http.send(
            self.http.build_request("GET", call.path, headers=call.headers), stream=True
        )
        assert self.response.status_code == 200
        self.client_port = _client_port(self.response)
        self.connected = threading.Event()
        self.ended = threading.Event()
        self.operations: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.connected.wait(30)

    def _read(self) -> None:
        try:
            for line in self.response.iter_lines():
                if line.startswith(": connected"):
                    self.connected.set()
                elif line.startswith("data: "):
                    self.operations.append(json.loads(line.removeprefix("data: "))["id"])
        except httpx.TransportError:
            pass
        finally:
            self.response.close()
            self.ended.set()


def _streams_on_every_worker(node: Node, cluster: Cluster, device: Any) -> dict[int, Stream]:
    """Open streams until each worker holds one (the kernel picks the worker of a connection)."""
    workers = node.workers()
    chosen: dict[int, Stream] = {}
    for _ in range(40):
        stream = Stream(cluster, device)
        chosen.setdefault(node.worker_serving(stream.client_port), stream)
        if len(chosen) == len(workers):
            return chosen
    pytest.fail(f"40 streams all landed on {sorted(chosen)} of {workers}")


@needs_postgres
def test_two_workers_share_the_port_after_one_migration(node: Node) -> None:
    workers = node.workers()
    assert len(workers) == 2
    assert node.process.pid not in workers
    cluster = Cluster(node.log.parent, {}, node.url, [node.url], node.database_url)
    # Migrated once by the command; one signing key, not one per worker racing to create it.
    assert [row[0] for row in cluster.rows("SELECT count(*) FROM server_keys")] == [1]
    assert len(cluster.rows("SELECT version_num FROM alembic_version")) == 1
    served: set[int] = set()
    try:
        for _ in range(40):
            # A new client each time, kept open: a new connection, which the kernel gives to
            # whichever worker accepts first.
            answer = cluster.http().get("/healthz")
            assert answer.status_code == 200
            served.add(node.worker_serving(_client_port(answer)))
            if served == set(workers):
                break
    finally:
        for client in cluster.clients:
            client.close()
    assert served == set(workers)


@needs_postgres
def test_a_device_streaming_on_one_worker_hears_of_an_operation_created_on_the_other(
    node: Node,
) -> None:
    cluster = _cluster(node, node.log.parent)
    try:
        _hear_across_workers(node, cluster)
    finally:
        for client in cluster.clients:
            client.close()


def _hear_across_workers(node: Node, cluster: Cluster) -> None:
    device = cluster.enrol("ana", "+33611000001")
    streams = _streams_on_every_worker(node, cluster, device)
    # One operation, created through one worker: the device's streams on both workers hear it.
    bank = cluster.bank()
    answer = bank.post(
        "/v1/operations",
        json={
            "user": "ana",
            "type": "transfer",
            "data": {
                "amount": {"value": "250.00", "currency": "EUR"},
                "payee_name": "Jean Dupont",
                "payee_iban": "FR7630006000011234567890189",
            },
        },
    )
    assert answer.status_code == 201, answer.text
    creator = node.worker_serving(_client_port(answer))
    other = next(pid for pid in streams if pid != creator)
    wait_until(lambda: streams[other].operations, what="the other worker's stream to hear it")
    assert streams[other].operations == [answer.json()["id"]]
    wait_until(lambda: streams[creator].operations, what="the creator's stream to hear it")
    assert streams[creator].operations == [answer.json()["id"]]


@needs_postgres
def test_sigterm_ends_the_streams_and_stops_every_worker(tmp_path: Path) -> None:
    database_url = postgres_databases().create()
    node = _start(tmp_path, database_url, "--workers", "2")
    try:
        workers = node.workers()
        cluster = _cluster(node, tmp_path)
        device = cluster.enrol("bea", "+33611000002")
        streams = _streams_on_every_worker(node, cluster, device)
        node.process.send_signal(signal.SIGTERM)
        assert node.process.wait(timeout=60) == 0
        for stream in streams.values():
            assert stream.ended.wait(30)
        errors = node.stderr()
        assert errors.rstrip().endswith("sceau: server stopped.")
        assert "Traceback" not in errors
        assert not any(_alive(pid) for pid in workers)
        for client in cluster.clients:
            client.close()
    finally:
        _stop(node)
        postgres_databases().drop(database_url)


@needs_postgres
def test_a_worker_that_dies_stops_the_node_with_a_failure(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    database_url = postgres_databases().create()
    node = _start(
        tmp_path,
        database_url,
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
        "--workers",
        "2",
        scheme="https",
    )
    try:
        trust = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=node.url, verify=trust) as client:
            assert client.get("/healthz").status_code == 200
        survivor, victim = node.workers()
        os.kill(victim, signal.SIGKILL)
        assert node.process.wait(timeout=60) != 0
        errors = node.stderr()
        assert f"(process {victim}) was killed by SIGKILL; stopping the other workers." in errors
        assert errors.rstrip().endswith("sceau: server stopped after a worker failed.")
        assert not _alive(survivor)
    finally:
        _stop(node)
        postgres_databases().drop(database_url)


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_several_workers_on_sqlite_are_refused(tmp_path: Path, how: str) -> None:
    port = _free_port()
    environment = _environment(port, f"sqlite:///{tmp_path}/sceau.db")
    options = ["--workers", "2"] if how == "flag" else []
    if how == "environment":
        environment["SCEAU_WORKERS"] = "2"
    done = subprocess.run(
        [SCEAU, "serve", "--port", str(port), *options],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "sceau: several workers need PostgreSQL, because SQLite has a single writer "
        "and tells only its own process of new operations."
    )
    assert not (tmp_path / "sceau.db").exists()


def test_a_worker_count_below_one_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [SCEAU, "serve", "--workers", "0"],
        cwd=tmp_path,
        env=_environment(_free_port(), f"sqlite:///{tmp_path}/sceau.db"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--workers: '0' is not a whole number of at least 1" in done.stderr
    assert not (tmp_path / "sceau.db").exists()


@pytest.mark.slow
@needs_postgres
def test_workers_stop_when_the_command_is_killed(tmp_path: Path) -> None:
    database_url = postgres_databases().create()
    node = _start(tmp_path, database_url, "--workers", "2")
    try:
        workers = node.workers()
        node.process.kill()
        node.process.wait()
        wait_until(
            lambda: not any(_alive(pid) for pid in workers),
            timeout=60,
            what="the orphaned workers to stop",
        )
        assert node.stderr().count("Application shutdown complete") == 2
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", node.port)) != 0
    finally:
        _stop(node)
        postgres_databases().drop(database_url)
