# SPDX-License-Identifier: Apache-2.0
"""The ``sceau-desktop`` command: help, and a clear refusal without an activated profile."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sceau_device.desktop.cli import main
from sceau_device.errors import ExitCode


def test_help_is_in_french() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sceau_device.desktop.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Sceau Pro, l'authentificateur de votre banque, sur votre ordinateur." in done.stdout
    assert "--demo" in done.stdout


def test_without_a_profile_it_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--keystore", str(tmp_path / "device-keystore.json")])
    assert code == int(ExitCode.KEYSTORE)
    assert "sceau-device activate" in capsys.readouterr().err
