# SPDX-License-Identifier: Apache-2.0
"""Browser fixtures: the real ``sceau demo`` process and Debian's Chromium, driven by Playwright.

Chromium is the distribution's (``/usr/bin/chromium``, installed by ``scripts/system-packages``);
no browser is ever downloaded. It runs headless, without sandbox (containers), GPU, QUIC or any
background network service: the pages under test reach only the demo on 127.0.0.1.

Screenshots of the key screens go to ``test-artifacts/screenshots/``; with
``SCEAU_DOCS_SCREENSHOTS=1`` the three README screenshots are also written to
``docs/screenshots/``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)

from tests.demo.conftest import (
    Visitor,
    activate_phone,
    marie_without_a_phone,
    marie_without_devices,
)
from tests.demo.harness import DemoProcess, start_demo

ROOT = Path(__file__).parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = ROOT / "test-artifacts" / "screenshots"
AXE_REPORTS = ROOT / "test-artifacts" / "axe"
DOCS = ROOT / "docs" / "screenshots"
_axe = Axe()

expect.set_options(timeout=20_000)


def shot(page: Page, name: str, *, docs: bool = False) -> None:
    """Save a screenshot of the page; ``docs``: also the README's copy when asked to."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    if docs and os.environ.get("SCEAU_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)


def accessible(page: Page, name: str) -> None:
    """Run axe-core in the page; fail on any serious or critical violation."""
    results = _axe.run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    AXE_REPORTS.mkdir(parents=True, exist_ok=True)
    (AXE_REPORTS / f"{name}.json").write_text(
        json.dumps(
            [
                {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
                for v in violations
            ],
            indent=2,
        )
    )
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']]}"
        for v in serious
    )


@dataclass
class Person:
    """One person's browser: a context with a page per party they use."""

    demo: DemoProcess
    context: BrowserContext
    pages: dict[str, Page] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    device: str = ""
    """The activation id of the phone the fixture activated, if it did."""

    def page(self, name: str) -> Page:
        """The page ``name`` (opened on first use)."""
        if name not in self.pages:
            page = self.context.new_page()
            page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
            page.on("console", self._console)
            self.pages[name] = page
        return self.pages[name]

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.problems.append(f"console: {message.text}")

    def go(self, name: str, path: str) -> Page:
        """Open ``path`` of the demo in the page ``name``."""
        page = self.page(name)
        page.goto(self.demo.url + path)
        return page

    def check(self) -> None:
        """No script error and no Content-Security-Policy violation so far."""
        assert not self.problems, self.problems


def sms_code(page: Page) -> str:
    """The newest activation code among the SMS the phone page shows."""
    text = page.locator(".sms-list li").first.inner_text()
    found = re.search(r"\b(\d{6})\b", text)
    assert found, text
    return found.group(1)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoProcess]:
    """The real demo on free loopback ports, with a fresh data directory."""
    process = start_demo(tmp_path_factory.mktemp("demo-browser"))
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _person(browser: Browser, demo: DemoProcess) -> Person:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="fr-FR", accept_downloads=True
    )
    return Person(demo=demo, context=context)


@pytest.fixture
def newcomer(browser: Browser, demo: DemoProcess) -> Iterator[Person]:
    """Marie's browser as on the demo's first start: logged out, no device, a blank phone."""
    visitor = Visitor(demo)
    try:
        marie_without_a_phone(demo, visitor)
    finally:
        visitor.close()
    person = _person(browser, demo)
    try:
        yield person
    finally:
        person.context.close()


@pytest.fixture
def marie(browser: Browser, demo: DemoProcess) -> Iterator[Person]:
    """Marie's browser, logged in to her bank, with her phone just activated (code ``CODE``).

    The bank's pages and her simulated phone are two pages side by side in it; nothing is
    pending for her, whatever earlier tests left.
    """
    visitor = Visitor(demo)
    person = _person(browser, demo)
    try:
        marie_without_devices(demo, visitor)
        bank = person.go("bank", "/banque/connexion")
        bank.get_by_label("Identifiant").fill("marie")
        bank.get_by_label("Mot de passe").fill(demo.customer_password)
        bank.get_by_role("button", name="Se connecter").click()
        expect(bank.get_by_role("heading", name="Bonjour Marie Dupont")).to_be_visible()
        person.device = activate_phone(demo, visitor)
        yield person
    finally:
        visitor.close()
        person.context.close()


@pytest.fixture
def operator(browser: Browser, demo: DemoProcess) -> Iterator[Person]:
    """The operator's browser: the back-office and the operator's simulated phone."""
    person = _person(browser, demo)
    try:
        yield person
    finally:
        person.context.close()
