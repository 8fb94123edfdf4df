# SPDX-License-Identifier: Apache-2.0
"""The demo's own logic through real HTTP, without a browser: what a page without JavaScript does.

These tests share one ``sceau demo`` process, but none depends on another: each story of Marie's
starts by giving her what it needs (a blank phone, or a phone of her own freshly activated), so
that each passes alone, in any order, and on any pytest-xdist worker.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from sceau_server import audit
from sceau_server.demo.i18n import ENGLISH
from tests.demo.conftest import Visitor, marie_with_a_new_phone, marie_without_a_phone, text_of
from tests.demo.harness import CODE, DemoProcess, start_demo

# With ``--dist loadgroup``, the tests share one demo on one worker.
pytestmark = pytest.mark.xdist_group("sceau-demo-http")

TEMPLATES = Path(__file__).parents[2] / "packages/sceau-server/src/sceau_server/demo/templates"


def _operation_id(response: httpx.Response) -> str:
    found = re.search(
        r"/(?:banque/operations|acs|back-office/connexion)/(op_[A-Za-z0-9_-]+)", str(response.url)
    )
    assert found, response.url
    return found.group(1)


def _balance(visitor: Visitor) -> Decimal:
    page = visitor.get("/banque/")
    found = re.search(r'class="balance">([^<]+)<', page.text)
    assert found, text_of(page)
    shown = html.unescape(found.group(1)).replace("\u202f", "").replace("\u00a0", "")
    return Decimal(shown.replace(" ", "").removesuffix("€").replace(",", "."))


def _match(response: httpx.Response) -> str:
    found = re.search(r'id="nombre">(\d{2})<', response.text)
    assert found, text_of(response)
    return found.group(1)


def test_the_demo_prints_its_addresses_and_credentials_in_french(demo: DemoProcess) -> None:
    output = demo.output
    assert "Sceau — démonstration prête" in output
    for path in ("/banque/", "/telephone/marie", "/boutique/", "/back-office/", "/sms"):
        assert f"{demo.url}{path}" in output
    assert f"{demo.sceau_url}/.well-known/jwks.json" in output
    assert "identifiant : marie" in output
    assert "identifiant : operateur" in output
    assert "Tout reste sur cette machine" in output


def test_the_demo_help_is_in_english_as_the_rest_of_sceau() -> None:
    sceau = str(Path(sys.executable).with_name("sceau"))
    helps = [
        subprocess.run([sceau, *words], capture_output=True, text=True, timeout=60, check=True)
        for words in (["--help"], ["demo", "--help"])
    ]
    assert [done.stderr for done in helps] == ["", ""]
    main, demo = (done.stdout for done in helps)
    assert main.startswith("usage: sceau ")
    assert demo.startswith("usage: sceau demo ")
    for text in (main, demo):
        assert "options:" in text
        assert text.isascii(), text  # no French sentence inside argparse's English words
    for option in ("--host HOST", "--port PORT", "--sceau-port PORT", "--data DIR"):
        assert option in demo
    assert "loopback" in demo


def test_the_demo_refuses_to_listen_beyond_loopback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sceau_server.demo", "--host", "0.0.0.0", "--data", str(tmp_path)],  # noqa: S104
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "boucle locale" in done.stderr
    assert not any(tmp_path.iterdir())


def test_demo_data_made_for_other_ports_is_refused_in_a_sentence(tmp_path: Path) -> None:
    import socket

    (tmp_path / "demo.json").write_text("{}", encoding="utf-8")
    (tmp_path / "sceau-url").write_text("http://127.0.0.1:8001\n", encoding="utf-8")
    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    done = subprocess.run(
        [
            *(sys.executable, "-m", "sceau_server.demo", "--data", str(tmp_path)),
            *("--port", str(ports[0]), "--sceau-port", str(ports[1])),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "créées pour le serveur Sceau http://127.0.0.1:8001" in done.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["demo.json", "sceau-url"]


def test_pages_are_french_first_with_an_english_switch(visitor: Visitor) -> None:
    home = visitor.get("/")
    assert home.status_code == 200
    assert '<html lang="fr">' in home.text
    assert "Sceau en cinq minutes" in text_of(home)
    csp = home.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    english = visitor.get("/langue/en?suite=/")
    assert '<html lang="en">' in english.text
    assert "Sceau in five minutes" in text_of(english)
    back = visitor.get("/langue/fr?suite=https://evil.example/")
    assert back.url.path == "/"
    assert "Sceau en cinq minutes" in text_of(back)
    missing = visitor.get("/nulle-part")
    assert missing.status_code == 404
    assert "Page introuvable" in text_of(missing)
    assert visitor.get("/static/demo.css").status_code == 200


def test_every_template_text_has_its_english_translation() -> None:
    texts: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        source = template.read_text(encoding="utf-8")
        texts.update(re.findall(r'_\("((?:[^"\\]|\\.)*)"\)', source))
        texts.update(re.findall(r"_\('((?:[^'\\]|\\.)*)'\)", source))
    missing = sorted(text for text in texts if text not in ENGLISH)
    assert not missing, missing


def test_every_kind_of_sms_is_named_in_words_on_the_sms_page() -> None:
    from sceau_server.services.events import ALERTS

    named = set(re.findall(r'"([a-z_]+)": _\(', (TEMPLATES / "sms.html").read_text("utf-8")))
    assert named == set(ALERTS["fr"])


def test_a_wrong_password_is_refused_without_saying_which_part(visitor: Visitor) -> None:
    answer = visitor.post("/banque/connexion", {"identifiant": "marie", "mot_de_passe": "non"})
    assert answer.status_code == 401
    assert "Identifiant ou mot de passe incorrect." in text_of(answer)
    unknown = visitor.post("/banque/connexion", {"identifiant": "paul", "mot_de_passe": "non"})
    assert "Identifiant ou mot de passe incorrect." in text_of(unknown)


def test_a_form_without_the_session_token_is_refused(demo: DemoProcess) -> None:
    with httpx.Client(base_url=demo.url) as stranger:
        answer = stranger.post(
            "/banque/connexion", data={"identifiant": "marie", "mot_de_passe": "x", "csrf": "x"}
        )
    assert answer.status_code == 403
    assert "Formulaire refusé" in text_of(answer)


def _activate(demo: DemoProcess, visitor: Visitor) -> None:
    """Log in (Sceau not active yet), create an activation, and activate the phone over HTTP."""
    logged = visitor.post(
        "/banque/connexion", {"identifiant": "marie", "mot_de_passe": demo.customer_password}
    )
    assert "Activez Sceau" in text_of(logged)
    page = visitor.post("/banque/securite/activer")
    code = re.search(r'id="code-activation">([0-9A-Z-]+)<', page.text)
    assert code, text_of(page)
    assert "<svg" in page.text
    sms_page = text_of(visitor.get("/sms"))
    sms = re.search(r"votre code de confirmation est (\d{6})", sms_page)
    assert sms, sms_page
    assert "Code de confirmation" in sms_page
    assert "activation_code" not in sms_page
    step = visitor.post("/telephone/marie/activation", {"activation": code.group(1)})
    assert "Serveur de votre banque vérifié" in text_of(step)
    trivial = visitor.post(
        "/telephone/marie/activation/terminer",
        {"nom": "Téléphone de Marie", "sms": sms.group(1), "code": "1111", "confirmation": "1111"},
    )
    assert "Code refusé : Ce code répète quatre fois le même chiffre." in text_of(trivial)
    done = visitor.post(
        "/telephone/marie/activation/terminer",
        {
            "nom": "Téléphone de Marie",
            "sms": sms.group(1),
            "code": CODE,
            "confirmation": CODE,
            "biometrie": "1",
        },
    )
    assert "Sceau est activé sur « Téléphone de Marie »" in text_of(done)
    assert "Aucune opération en attente." in text_of(done)


def _events(visitor: Visitor, operation_id: str, count: int) -> list[str]:
    names: list[str] = []
    with visitor.http.stream("GET", f"/operations/{operation_id}/evenements", timeout=30) as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                names.append(line.removeprefix("event: "))
                if len(names) == count:
                    break
    return names


def test_a_customer_activates_sceau_and_approves_a_transfer(
    demo: DemoProcess, visitor: Visitor
) -> None:
    marie_without_a_phone(demo, visitor)
    _activate(demo, visitor)
    before = _balance(visitor)
    waiting = visitor.post(
        "/banque/virement",
        {"beneficiaire": "0", "montant": "150,00", "reference": "Loyer", "nonce": "abcdefgh1"},
    )
    operation_id = _operation_id(waiting)
    page = text_of(waiting)
    assert "Validez ce virement sur votre téléphone" in page
    assert "Demande envoyée à votre appareil « Téléphone de Marie »" in page
    assert "Temps restant" in page
    assert _events(visitor, operation_id, 1) == ["state"]

    phone = text_of(visitor.get("/telephone/marie"))
    for line in ("Virement", "Montant : 150,00 €", "Bénéficiaire : Jean Dupont",
                 "IBAN : FR76 •••• •••• 0189", "Référence : Loyer"):  # fmt: skip
        assert line.replace(" ", " ") in phone.replace("\u202f", " ").replace("\u00a0", " ")
    assert "Votre banque ne vous demandera jamais de valider une opération par téléphone." in phone
    assert "Appareil : Téléphone de Marie" in phone.replace("\u00a0", " ")

    wrong = visitor.post(
        f"/telephone/marie/operations/{operation_id}", {"action": "valider", "code": "9153"}
    )
    assert "Authentification refusée. Il vous reste 4 essais." in text_of(wrong)
    right = visitor.post(
        f"/telephone/marie/operations/{operation_id}", {"action": "valider", "code": CODE}
    )
    assert "Opération validée." in text_of(right)
    assert _events(visitor, operation_id, 1) == ["final"]

    done = text_of(visitor.get(f"/banque/operations/{operation_id}"))
    assert "Virement effectué" in done
    assert "Résultat signé par Sceau, vérifié par la banque" in done
    assert "code + appareil" in done
    assert _balance(visitor) == before - Decimal("150.00")
    again = visitor.post(
        "/banque/virement",
        {"beneficiaire": "0", "montant": "150,00", "reference": "Loyer", "nonce": "abcdefgh1"},
    )
    assert _operation_id(again) == operation_id  # The same form, posted twice: one operation.


def test_a_login_refused_on_the_phone_stays_logged_out(demo: DemoProcess, visitor: Visitor) -> None:
    marie_with_a_new_phone(demo, visitor)
    visitor.post("/banque/deconnexion")
    waiting = visitor.post(
        "/banque/connexion", {"identifiant": "marie", "mot_de_passe": demo.customer_password}
    )
    operation_id = _operation_id(waiting)
    assert "Validez votre connexion sur votre téléphone" in text_of(waiting)
    assert _match(waiting)
    refused = visitor.post(f"/telephone/marie/operations/{operation_id}", {"action": "refuser"})
    assert "Opération refusée." in text_of(refused)
    page = text_of(visitor.get(f"/banque/operations/{operation_id}"))
    assert "Connexion refusée" in page
    assert visitor.get("/banque/").url.path == "/banque/connexion"


def test_a_login_asked_again_cancels_the_earlier_one_on_the_phone(
    demo: DemoProcess, visitor: Visitor
) -> None:
    marie_with_a_new_phone(demo, visitor)
    visitor.post("/banque/deconnexion")
    login = {"identifiant": "marie", "mot_de_passe": demo.customer_password}
    first = _operation_id(visitor.post("/banque/connexion", login))
    assert first in visitor.get("/telephone/marie").text
    wrong = visitor.post("/banque/connexion", {**login, "mot_de_passe": "non"})
    assert wrong.status_code == 401
    assert first in visitor.get("/telephone/marie").text  # a refused login changes nothing
    second = _operation_id(visitor.post("/banque/connexion", login))
    assert second != first
    phone = visitor.get("/telephone/marie").text
    assert first not in phone
    assert second in phone
    replaced = text_of(visitor.get(f"/banque/operations/{first}"))
    assert "Opération annulée" in replaced
    assert "Une demande de connexion plus récente a remplacé celle-ci" in replaced
    late = visitor.post(f"/telephone/marie/operations/{first}", {"action": "valider", "code": CODE})
    assert "Opération validée" not in text_of(late)
    refused = visitor.post(f"/telephone/marie/operations/{second}", {"action": "refuser"})
    assert "Opération refusée." in text_of(refused)
    assert "Aucune opération en attente." in text_of(visitor.get("/telephone/marie"))
    assert visitor.get("/banque/").url.path == "/banque/connexion"


def test_a_login_from_another_browser_cancels_nothing(demo: DemoProcess, visitor: Visitor) -> None:
    """Someone else with Marie's password cannot cancel the login she is approving."""
    marie_with_a_new_phone(demo, visitor)
    visitor.post("/banque/deconnexion")
    login = {"identifiant": "marie", "mot_de_passe": demo.customer_password}
    waiting = visitor.post("/banque/connexion", login)
    first, number = _operation_id(waiting), _match(waiting)
    intruder = Visitor(demo)
    try:
        second = _operation_id(intruder.post("/banque/connexion", login))
        again = _operation_id(intruder.post("/banque/connexion", login))
    finally:
        intruder.close()
    assert len({first, second, again}) == 3
    phone = visitor.get("/telephone/marie").text
    assert first in phone
    assert second not in phone  # the intruder's own earlier login is replaced by their next
    assert again in phone
    page = text_of(visitor.get(f"/banque/operations/{first}"))
    assert "Validez votre connexion sur votre téléphone" in page
    assert "Opération annulée" not in page
    assert _events(visitor, first, 1) == ["state"]
    approved = visitor.post(
        f"/telephone/marie/operations/{first}", {"action": "biometrie", "nombre": number}
    )
    assert "Opération validée." in text_of(approved)
    assert visitor.get(f"/banque/operations/{first}").url.path == "/banque/"
    assert again in visitor.get("/telephone/marie").text


def test_a_new_device_waits_for_the_current_one_to_approve_it(
    demo: DemoProcess, visitor: Visitor
) -> None:
    """Activating again while the phone works: the current device approves the new one (L2)."""
    marie_with_a_new_phone(demo, visitor)
    visitor.post("/banque/deconnexion")
    waiting = visitor.post(
        "/banque/connexion", {"identifiant": "marie", "mot_de_passe": demo.customer_password}
    )
    login = _operation_id(waiting)
    visitor.post(
        f"/telephone/marie/operations/{login}", {"action": "biometrie", "nombre": _match(waiting)}
    )
    assert visitor.get(f"/banque/operations/{login}").url.path == "/banque/"
    page = visitor.post("/banque/securite/activer")
    code = re.search(r'id="code-activation">([0-9A-Z-]+)<', page.text)
    assert code, text_of(page)
    sms = re.findall(r"votre code de confirmation est (\d{6})", text_of(visitor.get("/sms")))[0]
    visitor.post("/telephone/marie/activation", {"activation": code.group(1)})
    held = visitor.post(
        "/telephone/marie/activation/terminer",
        {"nom": "Nouveau téléphone", "sms": sms, "code": "7316", "confirmation": "7316"},
    )
    screen = text_of(held)
    assert "« Nouveau téléphone » est enregistré, en attente" in screen
    assert (
        "Un nouvel appareil attend l’approbation de celui-ci : « Nouveau téléphone », "
        "en attente jusqu’au" in screen
    )
    new_device = re.search(r'/telephone/marie/operations/(op_[A-Za-z0-9_-]+)"', held.text)
    assert new_device, screen
    visitor.post(
        f"/telephone/marie/operations/{new_device.group(1)}", {"action": "valider", "code": CODE}
    )
    after = text_of(visitor.get("/telephone/marie"))
    assert "Appareil : Nouveau téléphone" in after.replace("\u00a0", " ")
    assert "Un nouvel appareil attend" not in after
    devices = visitor.get("/banque/securite").text
    assert "<td>Nouveau téléphone</td>" in devices
    assert "<td>Téléphone de Marie</td>" not in devices


def test_the_code_is_never_written_anywhere(demo: DemoProcess) -> None:
    alone = re.compile(rb"(?<![0-9A-Za-z_-])" + CODE.encode() + rb"(?![0-9A-Za-z_-])")
    assert not alone.search(demo.output.encode())
    for path in demo.data.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl", ".log", ".key", ".db", ".db-wal"):
            assert not alone.search(path.read_bytes()), path


def test_the_operator_logs_in_with_their_own_sceau_and_exports_evidence(
    demo: DemoProcess, visitor: Visitor
) -> None:
    marie = Visitor(demo)
    try:
        device_id = marie_with_a_new_phone(demo, marie, device_name="Nouveau téléphone")
        waiting = marie.post(
            "/banque/virement",
            {"beneficiaire": "0", "montant": "42,00", "reference": "Preuve", "nonce": "preuve001"},
        )
        transfer = _operation_id(waiting)
        marie.post(f"/telephone/marie/operations/{transfer}", {"action": "biometrie"})
        assert "Virement effectué" in text_of(marie.get(f"/banque/operations/{transfer}"))
    finally:
        marie.close()

    assert visitor.get("/back-office/").url.path == "/back-office/connexion"
    waiting = visitor.post(
        "/back-office/connexion",
        {"identifiant": "operateur", "mot_de_passe": demo.operator_password},
    )
    operation_id = _operation_id(waiting)
    number = _match(waiting)
    assert "Téléphone de l’opérateur" in text_of(waiting)
    phone = text_of(visitor.get("/telephone/operateur"))
    assert "Connexion à votre banque en ligne" in phone
    assert "Saisissez le nombre affiché sur votre écran" in phone
    visitor.post(
        f"/telephone/operateur/operations/{operation_id}",
        {"action": "biometrie", "nombre": number},
    )
    home = visitor.get(f"/back-office/connexion/{operation_id}")
    assert home.url.path == "/back-office/"
    assert "Journal d’audit vérifié" in text_of(home)

    users = text_of(visitor.get("/back-office/utilisateurs"))
    assert "Marie Dupont" in users
    assert "Nouveau téléphone" in users
    rows = visitor.get("/back-office/operations")
    assert f'/back-office/operations/{transfer}">Virement<' in rows.text, text_of(rows)
    detail = text_of(visitor.get(f"/back-office/operations/{transfer}"))
    assert "Signature vérifiée avec la clé publiée du serveur (JWKS)." in detail
    bundle = visitor.get(f"/back-office/operations/{transfer}/preuve")
    assert bundle.headers["content-type"] == "application/json"
    report = audit.verify_evidence(
        bundle.content,
        public_key=audit.load_checkpoint_public_key(demo.data / "audit-checkpoint.pub.pem"),
    )
    assert set(report.bound) == {"operation", "approvals[0]", "result_jws"}
    assert json.loads(bundle.content)["operation_id"] == transfer
    checkpoint = visitor.post("/back-office/audit/point-de-controle")
    assert "Journal d’audit vérifié" in text_of(checkpoint)

    # The customer lost the phone and called: the operator revokes it, saying why and how the
    # customer was identified; the phone stops working and the customer is told.
    listing = visitor.get("/back-office/utilisateurs").text
    assert f"<td>Nouveau téléphone<br><code>{device_id}</code>" in listing, listing
    revoked = visitor.post(
        f"/back-office/appareils/{device_id}/revoquer",
        {"motif": "Téléphone perdu", "verification": "Pièce d’identité vérifiée en agence"},
    )
    assert "Appareil révoqué : ses clés ne servent plus à rien ; le client a été prévenu." in (
        text_of(revoked)
    )
    phone = text_of(visitor.get("/telephone/marie"))
    assert "Effacer ce téléphone et recommencer" in phone
    sms = text_of(visitor.get("/sms"))
    assert "votre banque a retiré l’appareil « Nouveau téléphone »" in sms
    entry = text_of(visitor.get("/back-office/audit"))
    assert "activation.revoked" in entry
    assert "Téléphone perdu" in entry


def test_too_many_activations_are_refused_in_sceaus_words(tmp_path: Path) -> None:
    demo = start_demo(tmp_path, SCEAU_ACTIVATIONS_PER_HOUR="1")
    visitor = Visitor(demo)
    try:
        visitor.post(
            "/banque/connexion", {"identifiant": "marie", "mot_de_passe": demo.customer_password}
        )
        first = visitor.post("/banque/securite/activer")
        assert re.search(r'id="code-activation">[0-9A-Z-]+<', first.text), text_of(first)
        sent = text_of(visitor.get("/sms"))
        again = text_of(visitor.post("/banque/securite/activer"))
        assert "Trop de demandes d’activation : réessayez plus tard, ou appelez votre banque." in (
            again
        )
        assert text_of(visitor.get("/sms")) == sent
    finally:
        visitor.close()
        demo.stop()
