# SPDX-License-Identifier: Apache-2.0
"""The ``sceau-device`` command line: the Sceau authenticator on a computer or in a terminal.

Interactive by default (masked prompts, the code typed twice when it is chosen), scriptable
with ``--code-stdin`` (the code read from standard input, one per line), ``--json`` (one JSON
object per result on standard output) and the documented exit codes. Every error is one plain
sentence, French first (``--lang en`` for English); no stack trace is ever printed
(``SCEAU_DEBUG=1`` shows one for unexpected failures).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from sceau_device.errors import DeviceError, ExitCode

__all__ = ["main"]

EPILOG = """\
Codes de sortie / exit codes:
  0  réussi / success
  1  authentification refusée (code, biométrie, SMS) / authentication refused
  2  commande ou saisie incorrecte, adresse http non locale / usage or input error
  3  serveur injoignable, connexion perdue / network error
  4  authentification bloquée après trop d'essais / locked after too many attempts
  5  contrôle de sécurité échoué (clé du serveur, signature d'une opération) / security check failed
  6  trousseau de clés indisponible, profil inconnu, appareil révoqué / keystore error
  7  opération expirée, déjà traitée ou inconnue / operation not pending
  8  erreur du serveur / server error
  130 interrompu / interrupted

Variables: SCEAU_DEVICE_KEYSTORE (chemin du trousseau), SCEAU_LANG (fr, en),
XDG_DATA_HOME (trousseau par défaut sous $XDG_DATA_HOME/sceau/).
"""


class _UsageError(SystemExit):
    """A command line that argparse refused: ``parser`` refused it, ``reason`` says why."""

    def __init__(self, parser: argparse.ArgumentParser, reason: str) -> None:
        super().__init__(int(ExitCode.USAGE))
        self.parser = parser
        self.reason = reason

    def sentence(self, lang: str) -> str:
        """Why the command line was refused, in ``lang``."""
        prog = self.parser.prog
        if lang == "en":
            return f"{prog}: wrong command line ({self.reason}). Help: {prog.split()[0]} --help"
        return f"{prog} : commande incorrecte ({self.reason}). Aide : {prog.split()[0]} --help"


class _Parser(argparse.ArgumentParser):
    """argparse whose refusals are raised (:class:`_UsageError`), to be said in the user's
    language and, with ``--json``, as one JSON document."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(self, message)


class _OutputOptions(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ValueError(message)


def _output_options(words: Sequence[str]) -> tuple[str, bool]:
    """The language and ``--json`` of a command line that the parser refused.

    Read with argparse's own rules (abbreviations such as ``--js`` included), ignoring what
    else the line holds; the defaults if even these are wrong.
    """
    parser = _OutputOptions(add_help=False)
    parser.add_argument("--lang", choices=("fr", "en"))
    parser.add_argument("--json", action="store_true")
    try:
        known, _ = parser.parse_known_args(list(words))
    except ValueError:
        return os.environ.get("SCEAU_LANG", "fr"), False
    return known.lang or os.environ.get("SCEAU_LANG", "fr"), bool(known.json)


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument(
        "--keystore",
        type=Path,
        default=default(None),
        metavar="PATH",
        help="trousseau de l'appareil (défaut : $XDG_DATA_HOME/sceau/device-keystore.json)",
    )
    parser.add_argument("--profile", default=default(None), help="profil (une banque) à utiliser")
    parser.add_argument(
        "--lang",
        choices=("fr", "en"),
        default=default(os.environ.get("SCEAU_LANG", "fr") if not suppress else None),
        help="langue des messages (fr par défaut)",
    )
    parser.add_argument(
        "--json", action="store_true", default=default(False), help="sortie JSON pour les scripts"
    )
    parser.add_argument(
        "--insecure-file-key",
        action="store_true",
        default=default(False),
        help=(
            "DANGEREUX, tests uniquement : garder la clé du trousseau dans un fichier "
            "au lieu du trousseau de clés du système"
        ),
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sceau-device",
        description="Sceau, l'authentificateur de votre banque, dans le terminal.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _global_options(parser, suppress=False)
    common = _Parser(add_help=False)
    _global_options(common, suppress=True)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(name: str, help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            parents=[common],
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            **kwargs,
        )

    activate = command("activate", "activer Sceau sur cet ordinateur")
    activate.add_argument(
        "activation", nargs="?", help="code d'activation, ou contenu du QR code (sceau://…)"
    )
    activate.add_argument("--server", help="adresse du serveur Sceau (avec un code tapé)")
    activate.add_argument("--name", help="nom de cet appareil")
    activate.add_argument("--sms-code", help="code à 6 chiffres reçu par SMS")
    activate.add_argument(
        "--code-stdin", action="store_true", help="lire le code Sceau choisi sur l'entrée standard"
    )
    activate.add_argument(
        "--biometrics",
        action="store_true",
        help="activer aussi la biométrie SIMULÉE (tests et démonstrations uniquement)",
    )

    command("profiles", "lister les profils (banques) de ce trousseau")
    command("list", "lister les opérations en attente", aliases=["pending"])

    show = command("show", "afficher une opération en attente")
    show.add_argument("operation")

    approve = command("approve", "valider une opération")
    approve.add_argument("operation")
    approve.add_argument(
        "--code-stdin", action="store_true", help="lire le code Sceau sur l'entrée standard"
    )
    approve.add_argument(
        "--biometrics", action="store_true", help="valider avec la biométrie (simulée)"
    )
    approve.add_argument("--match", help="connexion : le nombre affiché par le site")

    for name, text in (
        ("reject", "refuser une opération"),
        ("not-me", "refuser une opération et la signaler : « Ce n'est pas moi »"),
    ):
        refuse = command(name, text)
        refuse.add_argument("operation")
        refuse.add_argument("--yes", action="store_true", help="sans demander de confirmation")

    listen = command("listen", "attendre les opérations et les traiter au fil de l'eau")
    listen.add_argument("--count", type=int, help="s'arrêter après N opérations")
    listen.add_argument("--timeout", type=float, help="s'arrêter après N secondes")

    change = command("change-code", "changer le code Sceau (en connaissant l'actuel)")
    change.add_argument(
        "--code-stdin",
        action="store_true",
        help="lire l'ancien puis le nouveau code sur l'entrée standard (une ligne chacun)",
    )

    reset = command(
        "reset-code",
        "Code oublié : réinitialiser le code Sceau (biométrie, ou code SMS et mot de passe)",
    )
    method = reset.add_mutually_exclusive_group()
    method.add_argument("--biometric", action="store_true", help="avec la biométrie (simulée)")
    method.add_argument(
        "--sms",
        action="store_true",
        help="avec un code reçu par SMS et le mot de passe de votre banque en ligne",
    )
    reset.add_argument(
        "--code-stdin",
        action="store_true",
        help=(
            "lire sur l'entrée standard, une ligne chacun : le nouveau code, puis (--sms) le "
            "code SMS et le mot de passe"
        ),
    )

    command("status", "état de cet appareil")
    remove = command("remove", "retirer cet appareil")
    remove.add_argument("--yes", action="store_true", help="sans demander de confirmation")

    command("devices", "lister vos appareils (actifs et en attente)")
    remove_device = command("remove-device", "retirer un autre de vos appareils")
    remove_device.add_argument("name", help="nom ou identifiant de l'appareil")
    remove_device.add_argument("--yes", action="store_true", help="sans demander de confirmation")
    cancel_device = command("cancel-device", "annuler un nouvel appareil en attente")
    cancel_device.add_argument("name", nargs="?", help="nom ou identifiant (s'il y en a plusieurs)")
    cancel_device.add_argument("--yes", action="store_true", help="sans demander de confirmation")
    approve_device = command("approve-device", "valider le nouvel appareil qui attend votre accord")
    approve_device.add_argument(
        "--code-stdin", action="store_true", help="lire le code Sceau sur l'entrée standard"
    )
    approve_device.add_argument(
        "--biometrics", action="store_true", help="valider avec la biométrie (simulée)"
    )

    biometrics = command("biometrics", "activer ou désactiver la biométrie (avec votre code)")
    biometrics.add_argument(
        "action",
        choices=("enable", "disable", "simulate-change"),
        help=(
            "enable : activer ; disable : désactiver ; simulate-change : SIMULER l'ajout "
            "d'une empreinte sur l'appareil (tests et démonstrations)"
        ),
    )
    biometrics.add_argument(
        "--code-stdin", action="store_true", help="lire le code Sceau sur l'entrée standard"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``sceau-device``; returns the exit code.

    With ``--json``, a failure writes exactly one JSON object on stdout (``"ok": false``, the
    machine word, the sentence and the exit code) and the sentence on stderr, whatever failed:
    the command line itself, the command, an interruption or an unexpected error.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        arguments = _parser().parse_args(words)
    except _UsageError as refused:
        lang, json_output = _output_options(words)
        sentence = refused.sentence(lang)
        refused.parser.print_usage(sys.stderr)
        print(sentence, file=sys.stderr)
        if json_output:
            failure = {"error": "usage", "message": sentence, "exit_code": refused.code}
            print(json.dumps({"ok": False, **failure}, ensure_ascii=False), flush=True)
        raise
    # Only now, so that --help and a refused command line never load the SDK.
    from sceau_device._commands import Console, run

    console = Console(
        lang=arguments.lang or "fr",
        json_output=arguments.json,
        code_stdin=getattr(arguments, "code_stdin", False),
        stdin=sys.stdin,
        stdout=sys.stdout,
        stderr=sys.stderr,
    )
    try:
        return int(run(arguments, console))
    except DeviceError as error:
        console.info(error.message(console.lang))
        console.emit({"ok": False, **error.to_json(console.lang)})
        return int(error.exit_code)
    except KeyboardInterrupt:
        sentence = "Interrompu." if console.lang == "fr" else "Interrupted."
        console.info("\n" + sentence)
        code = int(ExitCode.INTERRUPTED)
        console.emit({"ok": False, "error": "interrupted", "message": sentence, "exit_code": code})
        return code
    except Exception as error:
        if os.environ.get("SCEAU_DEBUG"):
            traceback.print_exc()
        sentence = (
            "Erreur inattendue : "
            f"{type(error).__name__}. Relancez avec SCEAU_DEBUG=1 pour le détail."
            if console.lang == "fr"
            else f"Unexpected error: {type(error).__name__}. Run with SCEAU_DEBUG=1 for details."
        )
        console.info(sentence)
        code = int(ExitCode.SERVER)
        console.emit({"ok": False, "error": "unexpected", "message": sentence, "exit_code": code})
        return code


if __name__ == "__main__":
    sys.exit(main())
