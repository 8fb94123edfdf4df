# SPDX-License-Identifier: Apache-2.0
"""Every story of the seed, played end to end in Chromium against the real ``sceau demo``.

Marie's browser has two pages side by side, the bank and her simulated phone, as a newcomer
would arrange two windows. Each test is a chapter of her story and starts from what it needs
(the ``newcomer`` and ``marie`` fixtures: a blank phone, or her phone just activated and her
bank open), so that each passes alone and in any order: activation, a transfer approved with
the code, a refusal, "Ce n'est pas moi", an expiry, a new payee approved with the (simulated)
biometrics, an e-signature, a login with number matching, a card payment at the demo merchant
through the 3-D Secure style page, five wrong codes and the lock, the operator logging in with
their own Sceau and lifting the lock, and "Code oublié" both ways (biometrics; an SMS code and
the online-banking password), after which only the new code works. axe-core checks the bank,
phone, merchant and console pages on the way.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from sceau_server import audit
from tests.browser.conftest import Person, accessible, shot, sms_code
from tests.demo.harness import CODE, DemoProcess

# With ``--dist loadgroup``, the tests share one demo on one worker.
pytestmark = pytest.mark.xdist_group("sceau-demo-browser")

NEW_CODE = "5937"
THIRD_CODE = "8426"
WRONG = "9153"


def _phone_shows(phone: Page, heading: str) -> None:
    """The phone page, already open, shows the new operation live (no reload by the test)."""
    expect(phone.locator(".op-card h2")).to_have_text(heading)


def _type_code(phone: Page, code: str) -> None:
    pad = phone.locator("[data-pin-pad]")
    for digit in code:
        pad.get_by_role("button", name=digit, exact=True).click()
    expect(phone.get_by_label("Code Sceau, 4 chiffres, masqué")).to_have_value(code)


def _approve(phone: Page, code: str = CODE, *, pad: bool = False) -> None:
    """Valider with the code: typed on the PIN pad, or in the masked field (keyboard)."""
    if pad:
        _type_code(phone, code)
    else:
        phone.get_by_label("Code Sceau, 4 chiffres, masqué").fill(code)
    phone.get_by_role("button", name="Valider", exact=True).click()


def _flash(page: Page) -> str:
    return page.locator(".flash").inner_text()


def _transfer(bank: Page, demo: DemoProcess, amount: str, *, short: bool = False) -> None:
    bank.goto(demo.url + "/banque/virement")
    bank.get_by_label("Montant en euros").fill(amount)
    bank.get_by_label("Référence (facultatif)").fill("Loyer décembre")
    if short:
        bank.get_by_label("Délai pour valider sur le téléphone").select_option("court")
    bank.get_by_role("button", name="Valider le virement avec Sceau").click()
    expect(
        bank.get_by_role("heading", name="Validez ce virement sur votre téléphone")
    ).to_be_visible()


def test_marie_activates_sceau_from_her_bank(newcomer: Person, demo: DemoProcess) -> None:
    marie = newcomer
    home = marie.go("home", "/")
    expect(home.get_by_role("heading", name="Sceau en cinq minutes")).to_be_visible()
    expect(home.get_by_text(demo.customer_password)).to_be_visible()
    accessible(home, "home")
    bank = marie.go("bank", "/banque/connexion")
    bank.keyboard.press("Tab")
    expect(bank.get_by_role("link", name="Aller au contenu")).to_be_focused()
    accessible(bank, "bank-login")
    bank.get_by_label("Identifiant").fill("marie")
    bank.get_by_label("Mot de passe").fill(demo.customer_password)
    bank.get_by_role("button", name="Se connecter").click()
    expect(bank.get_by_role("heading", name="Bonjour Marie Dupont")).to_be_visible()
    expect(bank.get_by_text("Sceau n’est pas encore activé.")).to_be_visible()
    accessible(bank, "bank-accounts")
    bank.get_by_role("navigation", name="Ma Banque").get_by_role("link", name="Sécurité").click()
    bank.get_by_role("button", name="Activer Sceau").click()
    expect(bank.get_by_role("img", name="QR code d’activation de Sceau")).to_be_visible()
    code = bank.locator("#code-activation").inner_text()
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){5}", code), code
    expect(bank.get_by_role("timer")).to_contain_text("min")
    shot(bank, "01-bank-activation-code")
    accessible(bank, "bank-security")

    phone = marie.go("phone", "/telephone/marie")
    expect(phone.get_by_text("Démo — téléphone simulé")).to_be_visible()
    accessible(phone, "phone-activation")
    phone.get_by_label("Code d’activation ou contenu du QR code").fill(code)
    phone.get_by_role("button", name="Continuer").click()
    expect(
        phone.get_by_text("Serveur de votre banque vérifié avec le code d’activation.")
    ).to_be_visible()
    accessible(phone, "phone-activation-code")
    sms = sms_code(phone)
    outbox = marie.go("sms", "/sms")
    expect(
        outbox.get_by_role("cell", name=re.compile(f"code de confirmation est {sms}"))
    ).to_be_visible()
    accessible(outbox, "sms")
    phone.get_by_label("Code reçu par SMS").fill(sms)
    phone.get_by_label("Code", exact=True).fill("1234")
    phone.get_by_label("Saisissez-le une seconde fois").fill("1234")
    phone.get_by_role("button", name="Activer Sceau").click()
    expect(phone.get_by_role("alert")).to_have_text(
        "Code refusé : Ce code est une suite de chiffres."
    )
    phone.get_by_label("Code reçu par SMS").fill(sms)
    phone.get_by_label("Code", exact=True).fill(CODE)
    phone.get_by_label("Saisissez-le une seconde fois").fill(CODE)
    phone.get_by_role("button", name="Activer Sceau").click()
    expect(phone.locator(".flash")).to_have_text(
        "Sceau est activé sur « Téléphone de Marie ». Votre code n’est enregistré nulle part."
    )
    expect(phone.get_by_role("heading", name="Aucune opération en attente.")).to_be_visible()
    expect(phone.locator(".device-state")).to_contain_text("Il vous reste 5 essais")
    shot(phone, "02-phone-activated")
    accessible(phone, "phone-idle")
    bank.reload()
    expect(bank.get_by_role("cell", name="Téléphone de Marie", exact=True)).to_be_visible()
    marie.check()


def test_a_transfer_shown_on_the_phone_and_approved_with_the_code(
    marie: Person, demo: DemoProcess
) -> None:
    phone = marie.go("phone", "/telephone/marie")
    expect(phone.get_by_role("heading", name="Aucune opération en attente.")).to_be_visible()
    bank = marie.page("bank")
    bank.goto(demo.url + "/banque/virement")
    accessible(bank, "bank-transfer-form")
    _transfer(bank, demo, "150,00")
    expect(
        bank.get_by_text("Demande envoyée à votre appareil « Téléphone de Marie »")
    ).to_be_visible()
    expect(bank.get_by_role("timer")).to_contain_text(re.compile(r"\d min \d\d s"))
    shot(bank, "bank-waiting", docs=True)
    accessible(bank, "bank-waiting")

    _phone_shows(phone, "Virement")
    lines = phone.locator(".op-card .signed-lines")
    for line in ("Montant : 150,00 €", "Bénéficiaire : Jean Dupont", "IBAN : FR76 •••• •••• 0189"):
        expect(lines).to_contain_text(line)
    expect(phone.locator(".reminder")).to_have_text(
        "Votre banque ne vous demandera jamais de valider une opération par téléphone."
    )
    expect(phone.get_by_text("Appareil : Téléphone de Marie").last).to_be_visible()
    expect(phone.get_by_role("timer")).to_contain_text("min")
    shot(phone, "phone-transfer", docs=True)
    accessible(phone, "phone-operation")

    _approve(phone, pad=True)
    expect(phone.locator(".flash")).to_have_text("Opération validée.")
    expect(bank.get_by_role("heading", name="Virement effectué")).to_be_visible()
    expect(
        bank.get_by_text("Le virement de 150,00 € vers Jean Dupont est effectué")
    ).to_be_visible()
    expect(
        bank.get_by_role("heading", name="Résultat signé par Sceau, vérifié par la banque")
    ).to_be_visible()
    expect(bank.locator(".facts")).to_contain_text("code + appareil")
    shot(bank, "03-bank-transfer-done")
    accessible(bank, "bank-transfer-done")
    marie.check()


def test_a_refused_transfer(marie: Person, demo: DemoProcess) -> None:
    phone = marie.go("phone", "/telephone/marie")
    bank = marie.page("bank")
    _transfer(bank, demo, "20,00")
    _phone_shows(phone, "Virement")
    phone.get_by_role("button", name="Refuser").click()
    expect(phone.locator(".flash")).to_have_text("Opération refusée.")
    expect(bank.get_by_role("heading", name="Opération refusée")).to_be_visible()
    expect(bank.get_by_text("rien n’a été fait")).to_be_visible()
    shot(bank, "04-bank-refused")
    marie.check()


def test_ce_n_est_pas_moi(marie: Person, demo: DemoProcess) -> None:
    phone = marie.go("phone", "/telephone/marie")
    bank = marie.page("bank")
    _transfer(bank, demo, "999,00")
    _phone_shows(phone, "Virement")
    phone.get_by_role("button", name="Ce n’est pas moi").click()
    expect(phone.locator(".flash")).to_contain_text("signalée à votre banque comme une fraude")
    expect(bank.get_by_role("heading", name="Ce n’est pas moi")).to_be_visible()
    expect(bank.get_by_text("notre service de lutte contre la fraude est prévenu")).to_be_visible()
    shot(bank, "05-bank-not-me")
    accessible(bank, "bank-not-me")
    marie.check()


def test_an_operation_not_approved_in_time_expires(marie: Person, demo: DemoProcess) -> None:
    phone = marie.go("phone", "/telephone/marie")
    bank = marie.page("bank")
    _transfer(bank, demo, "35,00", short=True)
    _phone_shows(phone, "Virement")
    expect(bank.get_by_role("heading", name="Opération expirée")).to_be_visible(timeout=20_000)
    expect(
        bank.get_by_text("Le délai de validation est dépassé : rien n’a été fait.")
    ).to_be_visible()
    expect(phone.get_by_role("heading", name="Aucune opération en attente.")).to_be_visible()
    shot(bank, "06-bank-expired")
    marie.check()


def test_a_new_payee_approved_with_biometrics(marie: Person, demo: DemoProcess) -> None:
    phone = marie.go("phone", "/telephone/marie")
    bank = marie.go("bank", "/banque/beneficiaires")
    accessible(bank, "bank-payees")
    bank.get_by_label("Nom du bénéficiaire").fill("Lucie Bernard")
    bank.get_by_label("IBAN").fill("FR24 3000 3012 3400 0112 2334 455")
    bank.get_by_role("button", name="Ajouter avec Sceau").click()
    expect(
        bank.get_by_role("heading", name="Validez l’ajout de ce bénéficiaire sur votre téléphone")
    ).to_be_visible()
    _phone_shows(phone, "Ajout d’un bénéficiaire")
    expect(phone.locator(".op-card .signed-lines")).to_contain_text("IBAN : FR24 •••• •••• 4455")
    phone.get_by_role("button", name="Valider avec la biométrie (simulée)").click()
    expect(phone.locator(".flash")).to_have_text("Opération validée.")
    expect(bank.get_by_role("heading", name="Bénéficiaire ajouté")).to_be_visible()
    expect(bank.locator(".facts")).to_contain_text("biométrie + appareil")
    bank.goto(demo.url + "/banque/beneficiaires")
    expect(bank.get_by_text("Lucie Bernard")).to_be_visible()
    marie.check()


def test_an_electronic_signature(marie: Person) -> None:
    phone = marie.go("phone", "/telephone/marie")
    bank = marie.go("bank", "/banque/signature")
    accessible(bank, "bank-signature")
    bank.get_by_role("button", name="Signer avec Sceau").click()
    _phone_shows(phone, "Signature électronique")
    expect(phone.locator(".op-card .signed-lines")).to_contain_text(
        "Document : Avenant n° 2 au contrat de prêt immobilier"
    )
    # Keyboard only: the code field, then the PIN pad in reading order, then back and Enter.
    field = phone.get_by_label("Code Sceau, 4 chiffres, masqué")
    field.focus()
    phone.keyboard.type(CODE[:3])
    phone.keyboard.press("Tab")
    expect(
        phone.locator("[data-pin-pad]").get_by_role("button", name="1", exact=True)
    ).to_be_focused()
    phone.keyboard.press("Shift+Tab")
    expect(field).to_be_focused()
    phone.keyboard.press("End")  # Focusing by keyboard selects the field's text.
    phone.keyboard.type(CODE[3:])
    phone.keyboard.press("Enter")
    expect(bank.get_by_role("heading", name="Document signé")).to_be_visible()
    shot(bank, "07-bank-signed")
    marie.check()


def test_login_again_with_number_matching(marie: Person, demo: DemoProcess) -> None:
    phone = marie.go("phone", "/telephone/marie")
    bank = marie.go("bank", "/banque/")
    bank.get_by_role("button", name="Déconnexion").click()
    expect(bank.locator(".flash")).to_have_text("Vous êtes déconnectée.")
    bank.get_by_label("Identifiant").fill("marie")
    bank.get_by_label("Mot de passe").fill(demo.customer_password)
    bank.get_by_role("button", name="Se connecter").click()
    expect(
        bank.get_by_role("heading", name="Validez votre connexion sur votre téléphone")
    ).to_be_visible()
    number = bank.locator("#nombre").inner_text()
    assert re.fullmatch(r"\d\d", number), number
    shot(bank, "08-bank-login-number")
    accessible(bank, "bank-login-number")
    _phone_shows(phone, "Connexion à votre banque en ligne")
    phone.get_by_label("Saisissez le nombre affiché sur votre écran").fill(number)
    phone.get_by_label("Code Sceau, 4 chiffres, masqué").fill(CODE)
    shot(phone, "09-phone-login")
    phone.get_by_label("Code Sceau, 4 chiffres, masqué").press("Enter")
    expect(bank.locator(".flash")).to_have_text("Connexion validée sur votre téléphone. Bienvenue.")
    expect(bank.get_by_role("heading", name="Bonjour Marie Dupont")).to_be_visible()
    marie.check()


def test_a_card_payment_with_a_3d_secure_challenge(marie: Person) -> None:
    phone = marie.go("phone", "/telephone/marie")
    shop = marie.go("shop", "/boutique/")
    accessible(shop, "shop")
    shop.get_by_role("button", name="Acheter Le Petit Prince, édition illustrée").click()
    expect(shop.get_by_role("heading", name="Paiement de votre commande")).to_be_visible()
    accessible(shop, "shop-payment")
    shop.get_by_role("button", name="Payer 14,90 €").click()
    expect(shop.get_by_text("Paiement sécurisé par votre banque")).to_be_visible()
    expect(
        shop.get_by_role("heading", name="Validez ce paiement sur votre téléphone")
    ).to_be_visible()
    shot(shop, "10-acs-challenge")
    accessible(shop, "acs-challenge")
    _phone_shows(phone, "Paiement par carte")
    lines = phone.locator(".op-card .signed-lines")
    expect(lines).to_contain_text("Marchand : Librairie des Quais")
    expect(lines).to_contain_text("Montant : 14,90 €")
    expect(lines).to_contain_text("Carte : •••• 4242")
    _approve(phone)
    expect(shop.get_by_role("heading", name="Paiement accepté")).to_be_visible()
    shop.get_by_role("link", name="Retour chez Librairie des Quais").click()
    expect(shop.get_by_role("heading", name="Commande confirmée")).to_be_visible()
    shot(shop, "11-shop-order-confirmed")
    marie.check()


def test_five_wrong_codes_lock_authentication(marie: Person, demo: DemoProcess) -> None:
    _lock_with_a_transfer_waiting(marie, demo)
    phone = marie.page("phone")
    bank = marie.page("bank")
    shot(phone, "12-phone-locked")
    accessible(phone, "phone-locked")
    expect(bank.locator("#lock-message")).to_contain_text(
        "Authentification bloquée : trop de codes erronés."
    )
    shot(bank, "13-bank-locked")
    marie.check()


def _lock_with_a_transfer_waiting(marie: Person, demo: DemoProcess) -> str:
    """Five wrong codes on a transfer: Marie's phone is locked; return the transfer's id."""
    phone = marie.go("phone", "/telephone/marie")
    bank = marie.page("bank")
    _transfer(bank, demo, "10,00")
    _phone_shows(phone, "Virement")
    for left in (4, 3, 2, 1):
        _approve(phone, WRONG)
        expect(phone.locator(".flash")).to_have_text(
            f"Authentification refusée. Il vous reste {left} essai{'s' if left > 1 else ''}."
        )
    _approve(phone, WRONG)
    expect(phone.locator(".flash")).to_contain_text("Authentification bloquée après trop d’essais")
    expect(phone.locator(".device-state")).to_contain_text("Bloqué jusqu’au")
    found = re.search(r"/banque/operations/(op_[A-Za-z0-9_-]+)", bank.url)
    assert found, bank.url
    return found.group(1)


def test_the_operator_approves_their_own_login_and_lifts_the_lock(
    operator: Person, marie: Person, demo: DemoProcess
) -> None:
    transfer = _lock_with_a_transfer_waiting(marie, demo)
    console = operator.go("console", "/back-office/")
    expect(console.get_by_role("heading", name="Connexion des opérateurs")).to_be_visible()
    accessible(console, "console-login")
    console.get_by_label("Identifiant").fill("operateur")
    console.get_by_label("Mot de passe").fill(demo.operator_password)
    console.get_by_role("button", name="Se connecter").click()
    expect(
        console.get_by_role("heading", name="Validez votre connexion sur votre téléphone")
    ).to_be_visible()
    expect(
        console.get_by_text("Demande envoyée à votre appareil « Téléphone de l’opérateur »")
    ).to_be_visible()
    number = console.locator("#nombre").inner_text()
    phone_link = console.get_by_role("link", name="Ouvrir le téléphone simulé")
    expect(phone_link).to_have_attribute("href", "/telephone/operateur")
    phone = operator.go("phone", "/telephone/operateur")
    expect(phone.get_by_role("heading", name="Téléphone de l’opérateur")).to_be_visible()
    _phone_shows(phone, "Connexion à votre banque en ligne")
    phone.get_by_label("Saisissez le nombre affiché sur votre écran").fill(number)
    phone.get_by_role("button", name="Valider avec la biométrie (simulée)").click()
    expect(phone.locator(".flash")).to_have_text("Opération validée.")
    expect(console.get_by_role("heading", name="Tableau de bord")).to_be_visible()
    expect(console.get_by_text("Journal d’audit vérifié")).to_be_visible()
    shot(console, "14-console-dashboard")
    accessible(console, "console-dashboard")

    console.get_by_role("link", name="Utilisateurs et appareils").first.click()
    expect(console.locator("tr", has_text=marie.device)).to_contain_text("Bloqué jusqu’au")
    shot(console, "console", docs=True)
    accessible(console, "console-users")
    console.get_by_role("button", name="Débloquer Téléphone de Marie").click()
    expect(console.locator(".flash")).to_have_text(
        "Authentification débloquée ; le client a été prévenu par SMS."
    )
    marie_phone = marie.page("phone")
    expect(marie_phone.locator(".device-state")).to_contain_text("Il vous reste 5 essais")
    _approve(marie_phone)
    expect(marie.page("bank").get_by_role("heading", name="Virement effectué")).to_be_visible()

    console.get_by_role("link", name="Opérations").first.click()
    accessible(console, "console-operations")
    console.locator(f'a[href="/back-office/operations/{transfer}"]').click()
    expect(
        console.get_by_text("Signature vérifiée avec la clé publiée du serveur (JWKS).")
    ).to_be_visible()
    accessible(console, "console-operation")
    with console.expect_download() as download_info:
        console.get_by_role("link", name="Exporter la preuve").click()
    bundle = download_info.value.path().read_bytes()
    report = audit.verify_evidence(
        bundle,
        public_key=audit.load_checkpoint_public_key(demo.data / "audit-checkpoint.pub.pem"),
    )
    assert "result_jws" in report.bound
    console.get_by_role("link", name="Journal d’audit").first.click()
    expect(console.locator("#verification")).to_contain_text("Journal d’audit vérifié")
    expect(console.get_by_text("activation.unlocked").first).to_be_visible()
    accessible(console, "console-audit")
    operator.check()
    marie.check()


def test_code_oublie_with_biometrics(marie: Person, demo: DemoProcess) -> None:
    phone = marie.go("phone", "/telephone/marie")
    phone.get_by_role("link", name="Code oublié").click()
    expect(phone.get_by_role("heading", name="Code oublié", exact=True)).to_be_visible()
    accessible(phone, "phone-forgot")
    shot(phone, "15-phone-forgot")
    way = phone.get_by_role("region", name="Avec la biométrie")
    way.get_by_label("Nouveau code").fill("1111")
    way.get_by_label("Saisissez-le une seconde fois").fill("1111")
    way.get_by_role("button", name="Réinitialiser avec la biométrie (simulée)").click()
    expect(phone.get_by_role("alert")).to_contain_text("Code refusé")
    way.get_by_label("Nouveau code").fill(NEW_CODE)
    way.get_by_label("Saisissez-le une seconde fois").fill(NEW_CODE)
    way.get_by_role("button", name="Réinitialiser avec la biométrie (simulée)").click()
    expect(phone.locator(".flash")).to_have_text(
        "Votre nouveau code Sceau est enregistré\u00a0: il est utilisable dès maintenant. "
        "L’ancien ne fonctionne plus."
    )
    expect(phone.locator(".sms-list li").first).to_contain_text("réinitialisé (biométrie)")
    bank = marie.page("bank")
    _transfer(bank, demo, "12,00")
    _phone_shows(phone, "Virement")
    _approve(phone, CODE)  # the old code no longer works
    expect(phone.locator(".flash")).to_have_text(
        "Authentification refusée. Il vous reste 4 essais."
    )
    _approve(phone, NEW_CODE)
    expect(bank.get_by_role("heading", name="Virement effectué")).to_be_visible()
    marie.check()


def test_code_oublie_by_sms_and_the_bank_password(marie: Person, demo: DemoProcess) -> None:
    phone = marie.go("phone", "/telephone/marie/code-oublie")
    way = phone.get_by_role("region", name="Par SMS et mot de passe")
    way.get_by_role("button", name="Recevoir un code par SMS").click()
    expect(phone.locator(".flash")).to_have_text("Un code vient de vous être envoyé par SMS.")
    expect(phone.locator(".sms-list li").first).to_contain_text("pour réinitialiser votre code")
    expect(way.get_by_role("timer")).to_contain_text("min")
    accessible(phone, "phone-forgot-sms")
    received = sms_code(phone)

    def attempt(sms: str, password: str) -> None:
        way.get_by_label("Code reçu par SMS").fill(sms)
        way.get_by_label("Mot de passe de votre banque en ligne").fill(password)
        way.get_by_label("Nouveau code").fill(THIRD_CODE)
        way.get_by_label("Saisissez-le une seconde fois").fill(THIRD_CODE)
        way.get_by_role("button", name="Réinitialiser mon code").click()

    # The device key and the SMS code are both possession: without the password, refused.
    attempt(received, "")
    expect(phone.get_by_role("alert")).to_contain_text(
        "Un code SMS et cet appareil ne suffisent pas"
    )
    # A wrong password costs an attempt, without saying which element was wrong.
    attempt(received, "pas-le-bon")
    expect(phone.get_by_role("alert")).to_have_text(
        "Authentification refusée. Il vous reste 2 essais."
    )
    attempt(received, demo.customer_password)
    expect(phone.locator(".flash")).to_contain_text("il est utilisable dès maintenant")
    expect(phone.locator(".sms-list li").first).to_contain_text(
        "réinitialisé (code SMS et mot de passe)"
    )
    bank = marie.page("bank")
    _transfer(bank, demo, "13,00")
    _phone_shows(phone, "Virement")
    _approve(phone, CODE)  # the code before the reset no longer works
    expect(phone.locator(".flash")).to_have_text(
        "Authentification refusée. Il vous reste 4 essais."
    )
    _approve(phone, THIRD_CODE)
    expect(bank.get_by_role("heading", name="Virement effectué")).to_be_visible()
    marie.check()


def test_the_bank_speaks_english_too(marie: Person) -> None:
    bank = marie.go("bank", "/banque/")
    bank.get_by_role("link", name="English").click()
    expect(bank.get_by_role("heading", name="Hello Marie Dupont")).to_be_visible()
    expect(bank.get_by_role("navigation", name="Ma Banque")).to_contain_text("My accounts")
    accessible(bank, "bank-english")
    phone = marie.go("phone", "/telephone/marie")
    expect(phone.get_by_text("Demo — simulated phone")).to_be_visible()
    expect(phone.get_by_role("link", name="Forgot your code")).to_be_visible()
    bank.get_by_role("link", name="Français").click()
    expect(bank.get_by_role("heading", name="Bonjour Marie Dupont")).to_be_visible()
    marie.check()
