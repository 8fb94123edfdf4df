# SPDX-License-Identifier: Apache-2.0
"""Start the real ``sceau demo`` process on free loopback ports with a temporary data directory.

Both the HTTP tests (``tests/demo``) and the browser tests (``tests/browser``) drive the demo
exactly as a newcomer does: one process, started with ``python -m sceau_server.demo``, reached
over HTTP. The demo's credentials are read from what it prints.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

CODE = "4826"
"""The Sceau code the tests choose (not trivial)."""

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(check: Callable[[], Any], *, timeout: float, what: str) -> Any:
    """Poll ``check`` every 50 ms until it returns a true value; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@dataclass
class DemoProcess:
    """A running ``sceau demo``: its addresses, data directory, output and credentials."""

    url: str
    sceau_url: str
    data: Path
    log: Path
    process: subprocess.Popen[bytes]
    customer_password: str = ""
    operator_password: str = ""
    members: dict[str, tuple[str, str]] = field(default_factory=dict)
    """The company's members: identifier -> (password, seeded Sceau code), as printed."""

    @property
    def output(self) -> str:
        """Everything the demo printed so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> int:
        """Stop the demo as Ctrl+C would (SIGTERM); return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


def start_demo(home: Path, **env: str) -> DemoProcess:
    """Start ``python -m sceau_server.demo`` under ``home`` and wait until it serves."""
    port, sceau_port = free_port(), free_port()
    while sceau_port == port:
        sceau_port = free_port()
    data = home / "data"
    log = home / "demo.log"
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith("SCEAU_")},
        "SCEAU_DEMO_SHORT_TTL": "4",
        "SCEAU_OPERATIONS_PER_MINUTE": "200",
        # Each test gives Marie a fresh phone on the one demo the session shares.
        "SCEAU_ACTIVATIONS_PER_HOUR": "200",
        "SCEAU_SWEEP_INTERVAL": "0.5",
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sceau_server.demo",
                "--port",
                str(port),
                "--sceau-port",
                str(sceau_port),
                "--data",
                str(data),
            ],
            cwd=home,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    demo = DemoProcess(
        url=f"http://127.0.0.1:{port}",
        sceau_url=f"http://127.0.0.1:{sceau_port}",
        data=data,
        log=log,
        process=process,
    )

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"sceau demo exited:\n{demo.output}")
        try:
            return httpx.get(demo.url + "/", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(ready, timeout=180, what="sceau demo to serve")
        passwords = re.findall(r"mot de passe : (\S+)", demo.output)
        assert len(passwords) == 2, demo.output
        demo.customer_password, demo.operator_password = passwords
        demo.members = {
            ident: (password, code)
            for ident, password, code in re.findall(
                r"identifiant : (\S+)\s+mot de passe du membre : (\S+)\s+code Sceau : (\d{4})",
                demo.output,
            )
        }
    except BaseException:
        demo.stop()
        raise
    return demo


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = _CSRF.search(html)
    assert found, "no form on this page"
    return found.group(1)
