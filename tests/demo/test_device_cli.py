# SPDX-License-Identifier: Apache-2.0
"""The real ``sceau-device`` against ``sceau demo`` (issue 6).

Marie activates the command-line authenticator with the QR code's content that Ma Banque shows
and the SMS code of the demo's outbox, then approves a transfer with it: the bank shows it done,
with the result Sceau signed.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from tests.demo.conftest import Visitor, text_of
from tests.demo.harness import CODE, start_demo
from tests.e2e.conftest import Device


def test_the_real_sceau_device_approves_a_transfer_of_the_demo_bank(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    demo = start_demo(tmp_path / "demo")
    visitor = Visitor(demo)
    try:
        logged = visitor.post(
            "/banque/connexion", {"identifiant": "marie", "mot_de_passe": demo.customer_password}
        )
        assert "Activez Sceau" in text_of(logged)
        page = visitor.post("/banque/securite/activer")
        qr = re.search(r'id="contenu-qr">([^<]+)<', page.text)
        assert qr, text_of(page)
        sms = re.search(r"votre code de confirmation est (\d{6})", text_of(visitor.get("/sms")))
        assert sms
        device = Device(tmp_path / "ordinateur")
        activated = device.run(
            "activate",
            html.unescape(qr.group(1)),
            "--name",
            "Ordinateur de Marie",
            "--sms-code",
            sms.group(1),
            "--code-stdin",
            stdin=f"{CODE}\n",
        )
        assert activated.code == 0, activated.err
        assert activated.json["status"] == "active"
        assert activated.json["server_url"] == demo.sceau_url

        waiting = visitor.post(
            "/banque/virement",
            {"beneficiaire": "0", "montant": "75,00", "reference": "Cadeau", "nonce": "cli000001"},
        )
        found = re.search(r"/banque/operations/(op_[A-Za-z0-9_-]+)", str(waiting.url))
        assert found, waiting.url
        assert "Demande envoyée à votre appareil « Ordinateur de Marie »" in text_of(waiting)
        approved = device.run("approve", found.group(1), "--code-stdin", stdin=f"{CODE}\n")
        assert approved.code == 0, approved.err
        assert "Montant\u00a0: 75,00\u00a0€" in approved.err
        assert approved.json["status"] == "approved"
        done = text_of(visitor.get(f"/banque/operations/{found.group(1)}"))
        assert "Virement effectué" in done
        assert "Résultat signé par Sceau, vérifié par la banque" in done
        assert "code + appareil" in done
    finally:
        visitor.close()
        demo.stop()
