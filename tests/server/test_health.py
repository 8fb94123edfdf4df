# SPDX-License-Identifier: Apache-2.0
"""Health, readiness and Prometheus metrics, without RP authentication."""

from __future__ import annotations

import re
from typing import Any

from tests.server.conftest import RelyingPartyClient, ServerHandle


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition, 0 when absent."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if match and match.group(1) == name:
            found = ",".join(sorted((match.group(2) or "").split(","))) if match.group(2) else ""
            if found == wanted:
                return float(match.group(3))
    return 0.0


def test_health_and_readiness(server: ServerHandle) -> None:
    http = server.client()
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200, ready.text
    checks: dict[str, Any] = ready.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["migrations"] == "ok"
    if server.settings.database_url.startswith("postgresql"):
        assert checks["notifications"] == "ok"


def test_metrics_count_operations_failures_and_latency(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    http = server.client()
    before = http.get("/metrics").text
    device = server.enrol(bank, "metrics-client")
    created = bank.create_operation(user="metrics-client", type="login", data={}).json()
    wrong, _ = device.evaluate(created["id"], "1111")
    assert wrong.status_code == 200
    assert device.approve(created["id"], match=created["match"]).status_code == 200
    response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    for labels in (
        {"type": "login", "outcome": "created"},
        {"type": "login", "outcome": "approved"},
    ):
        grown = _sample(after, "sceau_operations_total", **labels) - _sample(
            before, "sceau_operations_total", **labels
        )
        assert grown >= 1, labels
    assert _sample(after, "sceau_code_failures_total") >= 1
    route = "/v1/device/operations/{operation_id}/decision"
    assert (
        _sample(after, "sceau_http_request_duration_seconds_count", method="POST", route=route) >= 1
    )
    assert "sceau_device_streams" in after
    assert "process_cpu_seconds_total" in after


def test_metrics_can_be_turned_off(make_server: Any) -> None:
    server = make_server(metrics=False)
    http = server.client()
    assert http.get("/metrics").status_code == 404
    assert http.get("/healthz").status_code == 200
