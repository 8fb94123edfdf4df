# SPDX-License-Identifier: Apache-2.0
"""Stopping ``sceau demo`` (Ctrl+C, SIGTERM) while event streams are open.

A phone page follows its event stream, and the seeded operator's simulated phone follows its
device stream on the demo's Sceau server. Stopped, the demo ends both properly: the page's
stream reaches its end (no broken connection), the Sceau server ends its device streams instead
of cancelling them after a grace period, and the process says so and exits with 0.
"""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.demo.harness import start_demo

# Bounds so that a demo which still waits for its streams fails the test instead of hanging it.
_BOUND = 30


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_demo_ends_its_open_event_streams_when_stopped(
    tmp_path: Path, signum: signal.Signals
) -> None:
    demo = start_demo(tmp_path)
    try:
        with httpx.Client(base_url=demo.url, timeout=_BOUND) as browser:
            phone = browser.get("/telephone/operateur")
            assert "Téléphone de l’opérateur" in phone.text
            with browser.stream("GET", "/telephone/operateur/evenements") as events:
                lines = events.iter_lines()
                assert next(lines) == "event: state"
                assert '"version"' in next(lines)
                demo.process.send_signal(signum)
                list(lines)  # raises if the demo broke the stream instead of ending it
        assert demo.process.wait(timeout=_BOUND) == 0
    finally:
        demo.stop()
    output = demo.output
    assert "Démo arrêtée." in output
    assert "Traceback" not in output
    assert "timeout graceful shutdown exceeded" not in output
