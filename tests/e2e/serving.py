# SPDX-License-Identifier: Apache-2.0
"""A ``sceau serve`` of a test's own: for a policy of its own, or to stop it during the test."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import SCEAU, Bank, wait_until

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def serving(home: Path, **extra: str) -> Iterator[tuple[Bank, subprocess.Popen[bytes]]]:
    """Run ``sceau serve`` on loopback with a fresh SQLite file; yield the bank and the process.

    The server's output goes to ``home / "server.log"``. It is stopped at the end (SIGTERM) if
    the test did not stop it.
    """
    home.mkdir(parents=True, exist_ok=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "SCEAU_DATABASE_URL": f"sqlite:///{home / 'sceau.db'}",
        "SCEAU_PUBLIC_URL": url,
        "SCEAU_MASTER_KEY": "e2e-master-key-0123456789abcdef-lifecycle",
        "SCEAU_SECRET": "e2e-hmac-secret-0123456789abcdef-lifecycle",
        "SCEAU_CHECKPOINT_KEY": str(home / "checkpoint.pem"),
        "SCEAU_CHECKPOINT_JOURNAL": str(home / "checkpoints.jsonl"),
        "SCEAU_OPERATIONS_PER_MINUTE": "100",
        "SCEAU_SWEEP_INTERVAL": "0.2",
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
            [SCEAU, "admin", "rp", "create", "e2e-own-server"],
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
