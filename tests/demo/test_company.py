# SPDX-License-Identifier: Apache-2.0
"""The demo's company (Sceau Pro) through real HTTP, without a browser.

Atelier Dupont SARL: Claire and Bruno validate, Inès prepares but never validates; a shared
account asks for two signatures. The refusals first (nobody logged in, a wrong password, a
member without the validate right), then the batch of 50 transfers signed by two members' own
phones, followed on the bank's page and its event stream.
"""

from __future__ import annotations

import datetime
import re

import httpx
import pytest
from babel.dates import format_date

from tests.demo.conftest import Visitor, text_of
from tests.demo.harness import CODE, DemoProcess

pytestmark = pytest.mark.xdist_group("sceau-demo-http")

_BATCH = re.compile(r"/banque/entreprise/lots/(op_[A-Za-z0-9_-]+)")


def _login(visitor: Visitor, demo: DemoProcess, ident: str) -> httpx.Response:
    """Log ``ident`` in: password, then the login approved with their code on their phone."""
    password, code = demo.members[ident]
    waiting = visitor.post(
        "/banque/entreprise/connexion", {"identifiant": ident, "mot_de_passe": password}
    )
    found = re.search(r"/banque/entreprise/connexion/(op_[A-Za-z0-9_-]+)", str(waiting.url))
    assert found, text_of(waiting)
    number = re.search(r'id="nombre">(\d{2})<', waiting.text)
    assert number, text_of(waiting)
    visitor.get(f"/telephone/{ident}?op={found.group(1)}")
    visitor.post(
        f"/telephone/{ident}/operations/{found.group(1)}",
        {"action": "valider", "code": code, "nombre": number.group(1)},
    )
    home = visitor.get(f"/banque/entreprise/connexion/{found.group(1)}")
    assert home.url.path == "/banque/entreprise/", text_of(home)
    return home


def _approve(visitor: Visitor, demo: DemoProcess, ident: str, operation_id: str) -> str:
    visitor.get(f"/telephone/{ident}?op={operation_id}")
    answer = visitor.post(
        f"/telephone/{ident}/operations/{operation_id}",
        {"action": "valider", "code": demo.members[ident][1]},
    )
    return text_of(answer)


def test_the_banner_prints_each_member_with_their_own_credentials(demo: DemoProcess) -> None:
    assert sorted(demo.members) == ["bruno", "claire", "ines"]
    passwords = {password for password, _ in demo.members.values()}
    codes = {code for _, code in demo.members.values()}
    assert len(passwords) == 3
    assert CODE not in codes
    assert f"{demo.url}/banque/entreprise/" in demo.output
    for ident in demo.members:
        assert f"{demo.url}/telephone/{ident}" in demo.output


def test_the_company_pages_need_a_logged_in_member(visitor: Visitor) -> None:
    home = visitor.get("/banque/entreprise/")
    assert home.url.path == "/banque/entreprise/connexion"
    assert "Connexion à l’espace entreprise" in text_of(home)
    refused = visitor.post("/banque/entreprise/importer", {"nonce": "abcdefgh1234"})
    assert refused.status_code == 401
    assert visitor.get("/banque/entreprise/lots/op_unknown").status_code == 401
    assert visitor.get("/back-office/entreprises").url.path == "/back-office/connexion"


def test_a_customer_is_not_a_member_and_a_wrong_password_is_refused(
    demo: DemoProcess, visitor: Visitor
) -> None:
    for ident, password in (("marie", demo.customer_password), ("claire", "pas-le-bon")):
        answer = visitor.post(
            "/banque/entreprise/connexion", {"identifiant": ident, "mot_de_passe": password}
        )
        assert answer.status_code == 401
        assert "Identifiant ou mot de passe incorrect." in text_of(answer)
    assert visitor.get("/banque/entreprise/").url.path == "/banque/entreprise/connexion"


def test_two_members_sign_the_batch_on_their_own_phones(
    demo: DemoProcess, visitor: Visitor
) -> None:
    home = text_of(_login(visitor, demo, "claire"))
    assert "Connecté : Claire Dupont (Gérante)" in home
    assert "FR76 3000 4021 5007 0020 2601 157" in home
    assert "Inès Moreau Comptable consultation, préparation" in home

    imported = visitor.post("/banque/entreprise/importer", {"nonce": "lot0000000001"})
    found = _BATCH.search(str(imported.url))
    assert found, text_of(imported)
    batch = found.group(1)
    page = text_of(imported)
    assert "0 signature sur 2" in page
    assert "50 virements" in page
    assert "526 307,42 €" in page
    # The prepared file is dated the day it is imported, for execution two days later.
    day = format_date(datetime.date.today() + datetime.timedelta(days=2), "full", locale="fr")
    assert f"Date d’exécution : {day}" in page.replace("\u00a0", " ")

    # The bank's event stream says where the signatures are.
    with visitor.http.stream("GET", f"/banque/entreprise/lots/{batch}/evenements") as stream:
        first = next(line for line in stream.iter_lines() if line.startswith("data:"))
    assert '"signatures":"0 signature sur 2"' in first

    # Inès prepares but does not validate: never asked, her phone cannot open the lines, and
    # her decision counts for nothing.
    ines = text_of(visitor.get("/telephone/ines"))
    assert "Aucune opération en attente." in ines
    lines = visitor.get(f"/telephone/ines/operations/{batch}/lignes")
    assert lines.status_code == 403
    assert "Vous n’avez pas le droit de validation sur ce compte" in text_of(lines)
    visitor.post(
        f"/telephone/ines/operations/{batch}",
        {"action": "valider", "code": demo.members["ines"][1]},
    )
    assert "0 signature sur 2" in text_of(visitor.get(f"/banque/entreprise/lots/{batch}"))

    assert "Votre signature est enregistrée" in _approve(visitor, demo, "claire", batch)
    assert "1 signature sur 2 : Claire Dupont" in text_of(
        visitor.get(f"/banque/entreprise/lots/{batch}")
    )

    last = visitor.get(f"/telephone/bruno/operations/{batch}/lignes?page=5")
    assert last.status_code == 200
    shown = text_of(last)
    assert "Lignes 41 à 50 sur 50" in shown
    assert "Boulangerie Martin & Fils" in shown
    assert "Compte débité FR76 3000 4021 5007 0020 2601 157" in shown
    assert "Lignes suivantes" not in shown

    _approve(visitor, demo, "bruno", batch)
    done = text_of(visitor.get(f"/banque/entreprise/lots/{batch}"))
    assert "Lot signé par Claire Dupont et Bruno Lefèvre" in done
    assert "Résultat signé par Sceau, vérifié par la banque" in done
    assert "Validée" in done


def test_the_company_space_in_english(demo: DemoProcess, visitor: Visitor) -> None:
    visitor.get("/langue/en?suite=/")
    _login(visitor, demo, "bruno")
    home = text_of(visitor.get("/banque/entreprise/"))
    assert "Business space" in home
    assert "Signed in: Bruno Lefèvre (Finance director)" in home
    assert "Import a batch" in home
