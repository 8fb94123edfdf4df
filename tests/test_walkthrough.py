# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import subprocess
import sys


def test_the_terminal_walkthrough_tells_the_whole_story() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sceau_server.walkthrough"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # French typography puts no-break spaces around ":" and in amounts; compare on plain spaces.
    out = result.stdout.replace("\u00a0", " ").replace("\u202f", " ")
    assert "1234 refusé : Ce code est une suite de chiffres." in out
    assert "Montant : 1 234,56 €" in out
    assert "authentification refusée" in out
    assert "validation acceptée" in out
    assert "refusé : operation digest does not match" in out
    assert "Fin du parcours." in out
