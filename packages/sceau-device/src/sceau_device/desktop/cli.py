# SPDX-License-Identifier: Apache-2.0
"""``sceau-desktop``: Sceau Pro in a terminal window of a computer (brief B3).

Runs the Textual application on one activated profile of the device keystore (the one
``sceau-device activate`` created), or with ``--demo`` on a simulation that needs no server.
Textual is an optional dependency: ``pip install "sceau-device[desktop]"``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sceau_device.errors import DeviceError, ExitCode

__all__ = ["main"]

_NO_TEXTUAL = {
    "fr": (
        "L’application de bureau Sceau Pro a besoin de Textual : "
        'pip install "sceau-device[desktop]"'
    ),
    "en": 'The Sceau Pro desktop application needs Textual: pip install "sceau-device[desktop]"',
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sceau-desktop",
        description="Sceau Pro, l'authentificateur de votre banque, sur votre ordinateur.",
    )
    parser.add_argument(
        "--keystore",
        type=Path,
        metavar="PATH",
        help="trousseau de l'appareil (défaut : $XDG_DATA_HOME/sceau/device-keystore.json)",
    )
    parser.add_argument("--profile", help="profil (une banque) à utiliser")
    parser.add_argument(
        "--lang",
        choices=("fr", "en"),
        default=os.environ.get("SCEAU_LANG", "fr"),
        help="langue (fr par défaut)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="démonstration sans serveur (simulation, code 4826)",
    )
    parser.add_argument(
        "--insecure-file-key",
        action="store_true",
        help="DANGEREUX, tests uniquement : clé du trousseau dans un fichier",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``sceau-desktop``; returns the exit code."""
    arguments = _parser().parse_args(argv)
    lang = "en" if arguments.lang == "en" else "fr"
    try:
        from sceau_device.desktop.app import SceauDesktop
    except ImportError:
        print(_NO_TEXTUAL[lang], file=sys.stderr)
        return int(ExitCode.USAGE)
    if arguments.demo:
        from sceau_device.desktop.simulation import demo_desk

        desk = demo_desk()
        SceauDesktop(desk, desk, locale=lang).run()
        return int(ExitCode.OK)
    from sceau_device.authenticator import Authenticator
    from sceau_device.desktop.adapter import AuthenticatorDesk
    from sceau_device.keystore import Keystore, default_keystore_path

    try:
        keystore = Keystore(
            arguments.keystore or default_keystore_path(),
            insecure_file_key=arguments.insecure_file_key,
        )
        real = AuthenticatorDesk(Authenticator(keystore, arguments.profile))
    except DeviceError as error:
        print(error.message(lang), file=sys.stderr)
        return int(error.exit_code)
    try:
        SceauDesktop(real, real, locale=lang).run()
    finally:
        real.close()
    return int(ExitCode.OK)


if __name__ == "__main__":
    raise SystemExit(main())
