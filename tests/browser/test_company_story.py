# SPDX-License-Identifier: Apache-2.0
"""The company story (Sceau Pro) in Chromium, against its own real ``sceau demo``.

Claire (manager) logs in to the company space, approving her login on her own phone, and
imports the batch of 50 supplier transfers; she signs it on her phone, and the bank's page says
"1 signature sur 2" without a reload; Bruno (finance director) pages to the last line on his
own phone, then signs; the bank's page shows the batch signed by both, and the operator's
console lists both signatories. Each person has their own browser, device and code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Person, _person, accessible, shot
from tests.demo.harness import DemoProcess, start_demo

pytestmark = pytest.mark.xdist_group("sceau-demo-company-browser")


@pytest.fixture(scope="module")
def company_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoProcess]:
    """A demo of its own: the company story does not depend on Marie's."""
    process = start_demo(tmp_path_factory.mktemp("demo-company-browser"))
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def people(browser: Browser, company_demo: DemoProcess) -> Iterator[dict[str, Person]]:
    """Claire's, Bruno's and the operator's browsers."""
    persons = {name: _person(browser, company_demo) for name in ("claire", "bruno", "operator")}
    try:
        yield persons
    finally:
        for person in persons.values():
            person.context.close()


def re_signed(name: str) -> re.Pattern[str]:
    """A signatory's line in the console: their name and their approval."""
    return re.compile(rf"^{re.escape(name)} — Validée, ")


def _approve(phone: Page, code: str) -> None:
    phone.get_by_label("Code Sceau, 4 chiffres, masqué").fill(code)
    phone.get_by_role("button", name="Valider", exact=True).click()


def test_two_members_sign_a_batch_of_fifty_transfers(
    people: dict[str, Person], company_demo: DemoProcess
) -> None:
    demo = company_demo
    claire, bruno, operator = people["claire"], people["bruno"], people["operator"]
    password, code = demo.members["claire"]

    bank = claire.go("bank", "/banque/connexion")
    bank.get_by_role("link", name="Espace entreprise").click()
    expect(bank.get_by_role("heading", name="Connexion à l’espace entreprise")).to_be_visible()
    accessible(bank, "company-login")
    bank.get_by_label("Identifiant").fill("claire")
    bank.get_by_label("Mot de passe").fill(password)
    bank.get_by_role("button", name="Se connecter").click()
    expect(
        bank.get_by_role("heading", name="Validez votre connexion sur votre téléphone")
    ).to_be_visible()
    number = bank.locator("#nombre").inner_text()
    phone = claire.go("phone", "/telephone/claire")
    expect(phone.get_by_role("heading", name="Téléphone de Claire Dupont")).to_be_visible()
    expect(phone.locator(".op-card h2")).to_have_text("Connexion à votre banque en ligne")
    phone.get_by_label("Saisissez le nombre affiché sur votre écran").fill(number)
    _approve(phone, code)
    expect(
        bank.get_by_role("heading", name="Espace entreprise — Atelier Dupont SARL")
    ).to_be_visible()
    expect(bank.get_by_text("Connecté : Claire Dupont (Gérante)")).to_be_visible()
    accessible(bank, "company-home")

    bank.get_by_role("button", name="Importer le lot de 50 virements").click()
    expect(bank.locator("#signatures")).to_have_text("0 signature sur 2")
    expect(bank.get_by_text("526 307,42 €", exact=True)).to_be_visible()
    accessible(bank, "company-batch-waiting")

    expect(phone.locator(".op-card h2")).to_have_text("Virements groupés")
    expect(phone.locator(".op-card .signed-lines")).to_contain_text("50")
    _approve(phone, code)
    expect(phone.locator(".flash")).to_contain_text("Votre signature est enregistrée.")
    expect(bank.locator("#signatures")).to_have_text("1 signature sur 2 : Claire Dupont")
    shot(bank, "company-batch-one-signature")

    bruno_phone = bruno.go("phone", "/telephone/bruno")
    expect(bruno_phone.get_by_role("heading", name="Téléphone de Bruno Lefèvre")).to_be_visible()
    expect(bruno_phone.locator(".op-card h2")).to_have_text("Virements groupés")
    bruno_phone.get_by_role("link", name="Voir les lignes une à une (50)").click()
    expect(bruno_phone.get_by_text("Lignes 1 à 10 sur 50")).to_be_visible()
    expect(bruno_phone.locator(".facts")).to_contain_text("FR76 3000 4021 5007 0020 2601 157")
    for _ in range(4):
        bruno_phone.get_by_role("link", name="Lignes suivantes").click()
    expect(bruno_phone.get_by_text("Lignes 41 à 50 sur 50")).to_be_visible()
    expect(bruno_phone.locator("#ligne-50")).to_contain_text("Boulangerie Martin & Fils")
    expect(bruno_phone.get_by_role("link", name="Lignes suivantes")).to_have_count(0)
    shot(bruno_phone, "company-phone-lines", docs=True)
    accessible(bruno_phone, "company-phone-lines")
    bruno_phone.get_by_role("link", name="Retour à l’opération").click()
    _approve(bruno_phone, demo.members["bruno"][1])
    expect(bruno_phone.locator(".flash")).to_have_text("Opération validée.")

    expect(
        bank.get_by_role("heading", name="Lot signé par Claire Dupont et Bruno Lefèvre")
    ).to_be_visible()
    expect(bank.get_by_text("Résultat signé par Sceau, vérifié par la banque")).to_be_visible()
    shot(bank, "company-batch-signed", docs=True)
    accessible(bank, "company-batch-signed")

    console = operator.go("console", "/back-office/")
    console.get_by_label("Identifiant").fill("operateur")
    console.get_by_label("Mot de passe").fill(demo.operator_password)
    console.get_by_role("button", name="Se connecter").click()
    number = console.locator("#nombre").inner_text()
    operator_phone = operator.go("phone", "/telephone/operateur")
    operator_phone.get_by_label("Saisissez le nombre affiché sur votre écran").fill(number)
    operator_phone.get_by_role("button", name="Valider avec la biométrie (simulée)").click()
    expect(console.get_by_role("heading", name="Tableau de bord")).to_be_visible()
    console.get_by_role("link", name="Entreprises").click()
    expect(console.get_by_role("heading", name="Atelier Dupont SARL")).to_be_visible()
    batch = console.locator("table.company-operations tbody tr").filter(
        has_text="Virements groupés"
    )
    expect(batch).to_contain_text("50 lignes")
    expect(batch).to_contain_text("Validée")
    expect(batch.locator("li")).to_have_text(
        [re_signed("Claire Dupont"), re_signed("Bruno Lefèvre")]
    )
    shot(console, "company-console")
    accessible(console, "console-companies")
    for person in (claire, bruno, operator):
        person.check()
