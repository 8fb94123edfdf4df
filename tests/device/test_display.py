# SPDX-License-Identifier: Apache-2.0
"""What the customer reads: the server's signed lines in the device's chrome."""

from __future__ import annotations

from sceau_core.operations import OperationType
from sceau_device.display import render_operation, summary_line
from sceau_device.texts import format_duration
from tests.device.fake_server import FakeServer


def test_a_transfer_in_french() -> None:
    server = FakeServer()
    operation = server.add_operation(
        context={"channel": "web", "ip": "203.0.113.7", "location": "Lyon, France"}
    )
    text = "\n".join(
        render_operation(
            operation, device_name="Ordinateur du bureau", now=operation.created_at + 55
        )
    )
    for line in operation.display:
        assert line in text  # exactly the signed lines
    assert "Virement" in text
    assert "Montant\u00a0: 1\u202f234,56\u00a0€" in text
    assert "FR76 •••• •••• 0189" in text
    assert "Lieu\u00a0: Lyon, France" in text
    assert "Ordinateur du bureau" in text
    assert "Temps restant\u00a0: 4 min 05 s" in text
    assert "Votre banque ne vous demandera jamais de valider une opération par téléphone." in text


def test_english_chrome_and_a_login() -> None:
    server = FakeServer()
    operation = server.add_operation(OperationType.LOGIN, locale="en")
    text = "\n".join(
        render_operation(operation, device_name="Laptop", now=operation.created_at, locale="en")
    )
    assert "Online banking sign-in" in text
    assert "Time left: 5 min 00 s" in text
    assert "Enter the number shown on your screen" in text
    assert "Your bank will never ask you to approve an operation over the phone." in text


def test_time_left_and_expiry() -> None:
    assert format_duration(45, "fr") == "45 s"
    assert format_duration(0, "fr") == "Opération expirée"
    assert format_duration(-3, "en") == "Operation expired"
    server = FakeServer()
    operation = server.add_operation()
    assert "Opération expirée" in summary_line(operation, now=operation.expires_at)
