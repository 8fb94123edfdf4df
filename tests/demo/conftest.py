# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the demo's HTTP tests: one real ``sceau demo`` process, and visitors.

A :class:`Visitor` is a browser without JavaScript: an ``httpx`` client with its own cookies
that fills each form's CSRF token from the page it comes from, as a browser would.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.demo.harness import DemoProcess, csrf_of, start_demo


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
