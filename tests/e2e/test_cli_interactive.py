# SPDX-License-Identifier: Apache-2.0
"""``sceau-device`` as a person uses it: in a terminal, masked prompts, against ``sceau serve``.

The command runs in a pseudo-terminal (the standard library's :mod:`pty`), so its prompts take
the interactive path that ``--code-stdin`` skips: the code chosen twice, masked, a trivial code
refused with its reason and asked again, a wrong code answered with the attempts left and
asked again.
"""

from __future__ import annotations

import os
import pty
import select
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import CODE, SCEAU_DEVICE, Bank, Device

TRANSFER = {
    "amount": {"value": "1234.56", "currency": "EUR"},
    "payee_name": "Jean Dupont",
    "payee_iban": "FR7630006000011234567890189",
}


def plain(text: str) -> str:
    """``text`` with its typographic spaces (before a colon, in amounts) as plain spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


class Terminal:
    """One ``sceau-device`` process on a pseudo-terminal: read what it shows, type answers."""

    def __init__(self, device: Device, *args: str) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes sceau-device, the terminal as its stdio
            os.execve(SCEAU_DEVICE, [SCEAU_DEVICE, *args], device.env)  # noqa: S606
        self.shown = ""

    def expect(self, text: str, timeout: float = 60) -> str:
        """Read until ``text`` is shown; return what was shown up to and including it."""
        deadline = time.monotonic() + timeout
        while text not in self.shown:
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} never shown; the terminal shows:\n{self.shown}")
            ready, _, _ = select.select([self.fd], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # the process ended and closed the terminal
                    chunk = b""
                if not chunk:
                    pytest.fail(f"{text!r} never shown before the end:\n{self.shown}")
                self.shown += plain(chunk.decode(errors="replace").replace("\r\n", "\n"))
        head, _, tail = self.shown.partition(text)
        self.shown = tail
        return head + text

    def type(self, line: str) -> None:
        """Type ``line`` and Enter."""
        os.write(self.fd, f"{line}\r".encode())

    def end(self) -> tuple[int, str]:
        """Wait for the process to end; return its exit code and what it showed last."""
        rest = self.shown
        while True:
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            rest += plain(chunk.decode(errors="replace").replace("\r\n", "\n"))
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        self.pid = 0
        return os.waitstatus_to_exitcode(status), rest

    def kill(self) -> None:
        """Stop the process if it still runs (a failed test)."""
        if self.pid:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
            os.close(self.fd)
            self.pid = 0


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    """The terminals a test opened, stopped at the end if the test failed half-way."""
    opened: list[Terminal] = []
    yield opened
    for terminal in opened:
        terminal.kill()


def test_activation_and_approval_in_a_terminal(
    bank: Bank, tmp_path: Path, terminals: list[Terminal]
) -> None:
    user, phone = bank.new_user("ines")
    activation = bank.new_activation(user)
    device = Device(tmp_path / "ines-laptop")
    activate = Terminal(device, "activate", activation["qr_uri"])
    terminals.append(activate)
    activate.expect(f"Serveur de votre banque vérifié : {bank.url}")
    activate.expect("Nom de cet appareil")
    activate.type("Portable d’Inès")
    activate.expect("Code reçu par SMS")
    activate.type(bank.sms_code(phone))
    activate.expect("Appareil enregistré.")
    # A trivial code is refused with its reason, and the code is asked again.
    activate.expect("Choisissez votre code Sceau")
    activate.type("1234")
    echoed = activate.expect("Choisissez votre code Sceau")
    assert "1234" not in echoed  # masked: what is typed is not shown
    assert "Ce code est une suite de chiffres." in echoed
    # Two different entries: said, and asked again.
    activate.type(CODE)
    assert CODE not in activate.expect("Saisissez-le une seconde fois")
    activate.type("4862")
    echoed = activate.expect("Choisissez votre code Sceau")
    assert "4862" not in echoed
    assert "Les deux saisies sont différentes." in echoed
    activate.type(CODE)
    activate.expect("Saisissez-le une seconde fois")
    activate.type(CODE)
    code, shown = activate.end()
    assert code == 0, shown
    assert CODE not in shown
    assert "Sceau est activé sur « Portable d’Inès »" in shown
    assert CODE.encode() not in device.keystore.read_bytes()

    created = bank.create(user, "transfer", TRANSFER)
    approve = Terminal(device, "approve", created["id"])
    terminals.append(approve)
    for line in created["operation"]["display"]:
        approve.expect(plain(line))
    approve.expect("Votre banque ne vous demandera jamais")
    approve.expect("Saisissez votre code Sceau")
    approve.type("1397")
    echoed = approve.expect("Saisissez votre code Sceau")
    assert "1397" not in echoed
    assert "Authentification refusée. Il vous reste 4 essais." in echoed
    assert bank.operation(created["id"])["status"] == "pending"
    approve.type(CODE)
    code, shown = approve.end()
    assert code == 0, shown
    assert "Opération validée." in shown
    assert CODE not in shown
    assert bank.verified_result(created["id"]).status.value == "approved"
