# SPDX-License-Identifier: Apache-2.0
"""End-to-end fixtures: the real ``sceau serve`` process and real ``sceau-device`` processes.

One server per test session and database engine listens on 127.0.0.1 on a free port, with a
fresh SQLite file (and a fresh PostgreSQL database when the test command started one, see
:mod:`tests.databases`) and its checkpoint key in a temporary directory. The bank (relying
party) is played by this test process over HTTP with an API key made by
``sceau admin rp create``; the SMS codes are read with ``sceau admin outbox``. Each device is a
``sceau-device`` command with its own data directory (keystore and a real file keyring from
``keyrings.alt``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from sceau_core.results import ResultClaims, verify_result
from tests.databases import BACKENDS, postgres_databases

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
SCEAU = str(BIN / "sceau")
SCEAU_DEVICE = str(BIN / "sceau-device")
CODE = "4826"
_PHONES = itertools.count(612_000_001)


def wait_until(check: Callable[[], Any], *, timeout: float, what: str) -> Any:
    """Poll ``check`` every 50 ms until it returns a true value; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Bank:
    """The relying party's side: the RP API over HTTP, and ``sceau admin`` for its operator."""

    url: str
    api_key: str
    env: dict[str, str]
    cwd: Path
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.api_key}"}, timeout=30
        )

    def admin(self, *args: str) -> str:
        """Run ``sceau admin …`` against the same database; return its output."""
        done = subprocess.run(
            [SCEAU, "admin", *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout

    def new_user(self, name: str) -> tuple[str, str]:
        """Provision a user with a fresh phone number; return its id and phone."""
        phone = f"+33{next(_PHONES)}"
        answer = self.http.put(
            f"/v1/users/{name}", json={"phone": phone, "display_name": name.title()}
        )
        assert answer.status_code in (200, 201), answer.text
        return name, phone

    def new_activation(self, user: str) -> dict[str, Any]:
        """Create an activation: code, QR URI…"""
        answer = self.http.post(f"/v1/users/{user}/activations")
        assert answer.status_code == 201, answer.text
        value: dict[str, Any] = answer.json()
        return value

    def sms_code(self, phone: str) -> str:
        """The last one-time activation code sent to ``phone``, read from the SMS outbox."""
        output = self.admin("outbox", "--phone", phone, "--limit", "5")
        codes = re.findall(r"\[activation_code\][^\n]*?(\d{6})", output)
        assert codes, output
        return codes[-1]

    def create(self, user: str, kind: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """Ask the user to validate an operation."""
        answer = self.http.post(
            "/v1/operations",
            json={"user": user, "type": kind, "data": data, **extra},
        )
        assert answer.status_code == 201, answer.text
        value: dict[str, Any] = answer.json()
        return value

    def operation(self, operation_id: str) -> dict[str, Any]:
        """Read an operation."""
        answer = self.http.get(f"/v1/operations/{operation_id}")
        assert answer.status_code == 200, answer.text
        value: dict[str, Any] = answer.json()
        return value

    def verified_result(self, operation_id: str) -> ResultClaims:
        """Read an operation's result JWS and verify it with the published JWKS."""
        view = self.operation(operation_id)
        assert view["result"], view
        jwks = httpx.get(f"{self.url}/.well-known/jwks.json", timeout=10).json()
        return verify_result(
            view["result"],
            jwks_document=jwks,
            expected_operation_id=operation_id,
            expected_issuer=self.url,
            expected_digest=view["digest"],
        )


@dataclass
class Outcome:
    """What a ``sceau-device`` run gave: exit code, JSON on stdout, sentences on stderr."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        """The last JSON document printed on standard output."""
        lines = [line for line in self.out.splitlines() if line.startswith("{")]
        assert lines, f"no JSON output; stderr: {self.err}"
        return json.loads(lines[-1])


@dataclass
class Device:
    """One computer running ``sceau-device``, with its own keystore and file keyring."""

    home: Path
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "XDG_DATA_HOME": str(self.home),
            "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
            "SCEAU_LANG": "fr",
        }
        self.env.pop("SCEAU_DEVICE_KEYSTORE", None)

    def run(self, *args: str, stdin: str | None = None, timeout: float = 60) -> Outcome:
        """Run ``sceau-device ARGS --json``."""
        done = subprocess.run(
            [SCEAU_DEVICE, *args, "--json"],
            env=self.env,
            input=stdin or "",
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert "Traceback" not in done.stderr, done.stderr
        return Outcome(done.returncode, done.stdout, done.stderr)

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start a long-running ``sceau-device ARGS --json`` (``listen``)."""
        return subprocess.Popen(
            [SCEAU_DEVICE, *args, "--json"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    @property
    def keystore(self) -> Path:
        """The default keystore path under this device's data directory."""
        return self.home / "sceau" / "device-keystore.json"


@contextlib.contextmanager
def serving(home: Path, **extra: str) -> Iterator[tuple[Bank, subprocess.Popen[bytes]]]:
    """Run ``sceau serve`` on loopback (a fresh SQLite file unless ``extra`` names another
    database); yield the bank and the process.

    ``extra`` adds or replaces environment variables of the server. Its output goes to
    ``home / "server.log"``. It is stopped at the end (SIGTERM) if the test did not stop it.
    """
    home.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "SCEAU_DATABASE_URL": f"sqlite:///{home / 'sceau.db'}",
        "SCEAU_PUBLIC_URL": url,
        "SCEAU_MASTER_KEY": "e2e-master-key-0123456789abcdef-0123456789",
        "SCEAU_SECRET": "e2e-hmac-secret-0123456789abcdef-0123456789",
        "SCEAU_CHECKPOINT_KEY": str(home / "checkpoint.pem"),
        "SCEAU_CHECKPOINT_JOURNAL": str(home / "checkpoints.jsonl"),
        "SCEAU_OPERATIONS_PER_MINUTE": "100",
        # The test double of the bank's online-banking password check (issue 5).
        "SCEAU_PASSWORD_VERIFIER": "tests.password_verifier:FixedPasswordVerifier",
        **extra,
    }
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [SCEAU, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=home,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def ready() -> bool:
        if server.poll() is not None:
            pytest.fail(f"sceau serve exited: {(home / 'server.log').read_text()}")
        try:
            return httpx.get(f"{url}/.well-known/jwks.json", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(ready, timeout=30, what="sceau serve to answer")
        created = subprocess.run(
            [SCEAU, "admin", "rp", "create", "e2e-bank"],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        api_key = re.search(r"sceau_sk_[A-Za-z0-9_-]+", created)
        assert api_key, created
        bank = Bank(url=url, api_key=api_key.group(0), env=env, cwd=home)
        try:
            yield bank, server
        finally:
            bank.http.close()
    finally:
        if server.poll() is None:
            server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)
        log.close()


@pytest.fixture(scope="session", params=BACKENDS)
def bank(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bank]:
    """A real ``sceau serve`` on loopback with a fresh database, and an RP API key."""
    home = tmp_path_factory.mktemp("server")
    if request.param == "postgresql":
        database_url = postgres_databases().create()
    else:
        database_url = f"sqlite:///{home / 'sceau.db'}"
    try:
        with serving(home, SCEAU_DATABASE_URL=database_url) as (served, _):
            yield served
    finally:
        if request.param == "postgresql":
            postgres_databases().drop(database_url)


def activate(bank: Bank, device: Device, user: str, *, typed: bool = False) -> dict[str, Any]:
    """Provision ``user``, create an activation and activate ``device`` with the code 4826."""
    _, phone = bank.new_user(user)
    activation = bank.new_activation(user)
    target = [activation["code"], "--server", bank.url] if typed else [activation["qr_uri"]]
    outcome = device.run(
        "activate",
        *target,
        "--name",
        f"Ordinateur de {user}",
        "--sms-code",
        bank.sms_code(phone),
        "--code-stdin",
        stdin=f"{CODE}\n",
    )
    assert outcome.code == 0, outcome.err
    value: dict[str, Any] = outcome.json
    assert value["activation_id"] == activation["activation_id"]
    return value


@pytest.fixture(scope="session")
def customer(bank: Bank, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Device]:
    """One customer with an activated device, shared by the approval tests."""
    device = Device(tmp_path_factory.mktemp("alice-laptop"))
    activate(bank, device, "alice")
    return "alice", device
