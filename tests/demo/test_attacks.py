# SPDX-License-Identifier: Apache-2.0
"""Attacks on the demo's pages over real HTTP, each one a visitor's or an attacker's browser."""

from __future__ import annotations

import contextlib

import httpx
import pytest

from tests.demo.conftest import Visitor, bank_api, marie_without_devices
from tests.demo.harness import DemoProcess
from tests.demo.test_company import _login

pytestmark = pytest.mark.xdist_group("sceau-demo-http")

_COOKIE = "sceau_demo_session"


def _planted(demo: DemoProcess, visitor: Visitor) -> httpx.Client:
    """The attacker's browser, holding the session id the visitor has before logging in (as a
    cookie planted by a sibling site or read over a shared computer would give it)."""
    visitor.get("/banque/connexion")
    planted = visitor.http.cookies[_COOKIE]
    return httpx.Client(base_url=demo.url, cookies={_COOKIE: planted}, follow_redirects=False)


def test_a_session_id_known_before_the_password_login_is_worthless_after_it(
    demo: DemoProcess, visitor: Visitor
) -> None:
    with _planted(demo, visitor) as attacker:
        marie_without_devices(demo, visitor)  # Marie logs in with her password only
        assert visitor.get("/banque/").url.path == "/banque/"
        page = attacker.get("/banque/")
    assert page.status_code == 303
    assert page.headers["location"] == "/banque/connexion"


def test_a_csrf_token_known_before_the_login_is_refused_after_it(
    demo: DemoProcess, visitor: Visitor
) -> None:
    """A site on the same host (another port: same site, cookies sent) that planted the session
    knows its form token: after the login, a form with that token is refused."""
    known = visitor.csrf()
    marie_without_devices(demo, visitor)
    refused = visitor.http.post("/banque/deconnexion", data={"csrf": known})
    assert refused.status_code == 403
    assert visitor.get("/banque/").url.path == "/banque/"


def test_a_session_id_known_before_a_login_approved_on_the_phone_is_worthless_after_it(
    demo: DemoProcess, visitor: Visitor
) -> None:
    with _planted(demo, visitor) as attacker:
        _login(visitor, demo, "claire")
        assert visitor.get("/banque/entreprise/").url.path == "/banque/entreprise/"
        page = attacker.get("/banque/entreprise/")
    assert page.status_code != 200
    assert "Claire" not in page.text


def test_a_language_link_from_another_site_does_not_change_the_customers_language(
    demo: DemoProcess, visitor: Visitor
) -> None:
    """The switch is a link (a GET): another site's link, followed by Marie while she is logged
    in, changes at most what her browser shows, never the language Sceau uses for her phone
    and her SMS."""
    marie_without_devices(demo, visitor)
    try:
        switched = visitor.http.get("/langue/en?suite=/", headers={"Sec-Fetch-Site": "cross-site"})
        assert switched.status_code == 200
        with contextlib.closing(bank_api(demo)) as api:
            assert api.user("marie")["locale"] == "fr"
        visitor.get("/langue/en?suite=/")  # her own click on the demo's page (same site)
        with contextlib.closing(bank_api(demo)) as api:
            assert api.user("marie")["locale"] == "en"
    finally:
        visitor.get("/langue/fr?suite=/")


def test_requests_without_a_cookie_do_not_push_a_logged_in_customer_out(
    demo: DemoProcess, visitor: Visitor
) -> None:
    """Any site can make a browser send requests to the demo without its cookie (images,
    ``SameSite``): each makes a new session, and the memory keeps at most 2000; Marie, logged in,
    stays logged in after 2100 of them."""
    marie_without_devices(demo, visitor)
    with httpx.Client(base_url=demo.url) as anonymous:
        for _ in range(2100):
            anonymous.get("/static/favicon.svg")
            anonymous.cookies.clear()
    assert visitor.get("/banque/").url.path == "/banque/"
