# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the demo's HTTP tests: one real ``sceau demo`` process, and visitors.

A :class:`Visitor` is a browser without JavaScript: an ``httpx`` client with its own cookies
that fills each form's CSRF token from the page it comes from, as a browser would.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sceau_server.demo.sceau_api import SceauApi, SceauProblem
from tests.demo.harness import CODE, DemoProcess, csrf_of, start_demo


class Visitor:
    """One browser's session on the demo (no JavaScript)."""

    def __init__(self, demo: DemoProcess) -> None:
        self.demo = demo
        self.http = httpx.Client(base_url=demo.url, timeout=30, follow_redirects=True)
        self._csrf: str | None = None

    def close(self) -> None:
        self.http.close()

    def get(self, path: str) -> httpx.Response:
        response = self.http.get(path)
        if 'name="csrf"' in response.text:
            self._csrf = csrf_of(response.text)
        return response

    def csrf(self) -> str:
        if self._csrf is None:
            self.get("/banque/connexion")
        assert self._csrf is not None
        return self._csrf

    def post(self, path: str, data: dict[str, Any] | None = None) -> httpx.Response:
        response = self.http.post(path, data={"csrf": self.csrf(), **(data or {})})
        if 'name="csrf"' in response.text:
            self._csrf = csrf_of(response.text)
        return response


def text_of(response: httpx.Response) -> str:
    """A page's text without tags, entities decoded, spaces collapsed."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", response.text, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def bank_api(demo: DemoProcess) -> SceauApi:
    """Ma Banque's own client of the Sceau server (its API key is in the demo's ``demo.json``)."""
    key = json.loads((demo.data / "demo.json").read_text(encoding="utf-8"))["bank_api_key"]
    return SceauApi(demo.sceau_url, key)


def _pending_on(page: httpx.Response) -> list[str]:
    found = re.search(r'data-pending="([^"]*)"', page.text)
    assert found, text_of(page)
    return [operation for operation in found.group(1).split(",") if operation]


def activate_phone(
    demo: DemoProcess, visitor: Visitor, *, device_name: str = "Téléphone de Marie"
) -> str:
    """Activate Marie's blank phone with :data:`CODE` from her bank, where ``visitor`` is logged
    in (Marie without a device); cancel what earlier tests left pending for her, so that the
    phone shows nothing; return the device's activation id."""
    page = visitor.post("/banque/securite/activer")
    code = re.search(r'id="code-activation">([0-9A-Z-]+)<', page.text)
    assert code, text_of(page)
    sms = re.search(r"votre code de confirmation est (\d{6})", text_of(visitor.get("/sms")))
    assert sms
    visitor.post("/telephone/marie/activation", {"activation": code.group(1)})
    done = visitor.post(
        "/telephone/marie/activation/terminer",
        {
            "nom": device_name,
            "sms": sms.group(1),
            "code": CODE,
            "confirmation": CODE,
            "biometrie": "1",
        },
    )
    assert f"Sceau est activé sur « {device_name} »" in text_of(done), text_of(done)
    with contextlib.closing(bank_api(demo)) as api:
        for leftover in _pending_on(done):
            with contextlib.suppress(SceauProblem):
                api.cancel(leftover)
        active = [d for d in api.user("marie")["devices"] if d["status"] == "active"]
    assert _pending_on(visitor.get("/telephone/marie")) == []
    assert [d["device_name"] for d in active] == [device_name]
    activation_id: str = active[0]["activation_id"]
    return activation_id


def marie_without_devices(demo: DemoProcess, visitor: Visitor) -> None:
    """Her bank removes every device Marie has (as its support would); her simulated phone
    forgets its keys; ``visitor`` logs in (no device: no approval to wait for).

    What earlier tests left pending for her stays pending: :func:`activate_phone` cancels it.
    """
    with contextlib.closing(bank_api(demo)) as api:
        for device in api.user("marie").get("devices", []):
            api.revoke("marie", device["activation_id"])
    visitor.post("/telephone/marie/reinitialiser")
    logged = visitor.post(
        "/banque/connexion", {"identifiant": "marie", "mot_de_passe": demo.customer_password}
    )
    assert "Activez Sceau" in text_of(logged), text_of(logged)


def marie_with_a_new_phone(
    demo: DemoProcess, visitor: Visitor, *, device_name: str = "Téléphone de Marie"
) -> str:
    """Give Marie a phone of her own, whatever earlier tests left: return its activation id.

    Nothing is pending for her, her code is :data:`CODE`, and ``visitor`` stays logged in to
    the bank.
    """
    marie_without_devices(demo, visitor)
    return activate_phone(demo, visitor, device_name=device_name)


def marie_without_a_phone(demo: DemoProcess, visitor: Visitor) -> None:
    """Marie as on the demo's first start: no device, a blank phone, nothing pending for her.

    ``visitor`` stays logged in to the bank.
    """
    marie_with_a_new_phone(demo, visitor)
    marie_without_devices(demo, visitor)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoProcess]:
    """The real demo, on free loopback ports, with a fresh data directory."""
    process = start_demo(tmp_path_factory.mktemp("demo-http"))
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def visitor(demo: DemoProcess) -> Iterator[Visitor]:
    """A new browser session."""
    client = Visitor(demo)
    try:
        yield client
    finally:
        client.close()
