# SPDX-License-Identifier: Apache-2.0
"""Stopping ``sceau serve`` (Ctrl+C, SIGTERM) while event streams are open.

A device listens (``sceau-device listen``), the bank follows an operation's event stream and
long-polls it; the server is then stopped. Its streams end properly (the bank's stream reaches
its end, no broken connection), the long poll is answered with the current state, and the
process exits with 0, instead of waiting for the streams to end on their own (five minutes for
a device, the operation's expiry for the bank).
"""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Bank, Device, serving, wait_until
from tests.e2e.test_lifecycle import TRANSFER, enrol

# Bounds so that a server which still waits for its streams fails the test instead of hanging it:
# without the fix, the streams would last 300 seconds.
_BOUND = 30


def _gauges(bank: Bank) -> tuple[int, int]:
    """The server's open device streams and relying-party waits (its metrics)."""
    metrics = bank.http.get("/metrics").text
    values = dict(re.findall(r"^(sceau_device_streams|sceau_waiters) (\S+)$", metrics, re.M))
    return int(float(values["sceau_device_streams"])), int(float(values["sceau_waiters"]))


def _lines(process: subprocess.Popen[str]) -> tuple[queue.Queue[str], threading.Thread]:
    """The lines ``process`` prints on its standard output as they come, and their reader."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    return lines, reader


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_sceau_serve_ends_its_open_event_streams_when_stopped(
    tmp_path: Path, signum: signal.Signals
) -> None:
    home = tmp_path / "server"
    with serving(home, SCEAU_SWEEP_INTERVAL="0.2") as (bank, server):
        device = Device(tmp_path / "device")
        enrol(bank, device, "sd-user")
        listener = device.start("listen")
        heard, reader = _lines(listener)
        try:
            created = bank.create("sd-user", "transfer", TRANSFER)
            # The device heard of it over its event stream: the stream is open.
            assert created["id"] in heard.get(timeout=_BOUND)
            waited: queue.Queue[httpx.Response] = queue.Queue()
            waiter = threading.Thread(
                target=lambda: waited.put(
                    bank.http.get(f"/v1/operations/{created['id']}/wait?timeout=60")
                ),
                daemon=True,
            )
            with bank.http.stream(
                "GET", f"/v1/operations/{created['id']}/events", timeout=_BOUND
            ) as events:
                lines = events.iter_lines()
                assert next(lines) == "event: operation"
                assert '"status":"pending"' in next(lines)
                waiter.start()
                # The server counts the device's stream, the bank's stream and its long poll.
                wait_until(
                    lambda: _gauges(bank) == (1, 2), timeout=_BOUND, what="the streams to be open"
                )
                server.send_signal(signum)
                rest = list(lines)  # raises if the server broke the stream instead of ending it
            assert [line for line in rest if line.startswith("event:")] == []
            answer = waited.get(timeout=_BOUND)  # the long poll is answered at once
            assert answer.status_code == 200
            assert answer.json()["status"] == "pending"
            assert server.wait(timeout=_BOUND) == 0
        finally:
            listener.kill()
            listener.wait(timeout=10)
            reader.join(timeout=10)
            for pipe in (listener.stdout, listener.stderr):
                assert pipe is not None
                pipe.close()
    log = (home / "server.log").read_text()
    assert "timeout graceful shutdown exceeded" not in log
    assert "Traceback" not in log
    assert "Application shutdown complete" in log
