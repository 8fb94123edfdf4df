# SPDX-License-Identifier: Apache-2.0
"""``sceau demo [--host 127.0.0.1] [--port 8000] [--sceau-port PORT] [--data DIR]``.

Starts, in this process and on loopback only, the real Sceau server (``--sceau-port``, by
default the port after ``--port``) over a SQLite file under ``--data``, seeds the demo on its
first start (:mod:`sceau_server.demo.seed`), then serves the demo web site on ``--port`` and
prints, in French, the addresses and the demo credentials. ``Ctrl+C`` (or ``SIGTERM``) stops
both servers.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from sceau_server.demo.config import (
    DemoConfig,
    DemoCredentials,
    check_loopback,
    demo_settings,
    load_or_create_credentials,
)
from sceau_server.settings import ConfigurationError

if TYPE_CHECKING:
    import uvicorn

# The names of the seeded people; kept here so that a refused command line imports nothing heavy.
CUSTOMER_ID = "marie"
OPERATOR_ID = "operateur"

__all__ = ["banner", "main"]

_GRACE = 1


class _Stopped(Exception):
    """SIGTERM arrived: stop like Ctrl+C."""


def _parser() -> argparse.ArgumentParser:
    # In English, as the rest of ``sceau --help``; the demo's pages and banner are French first.
    parser = argparse.ArgumentParser(
        prog="sceau demo",
        description=(
            "Run the Sceau demo on this machine only (loopback): a bank, a simulated phone, a "
            "shop and a back-office, with the real Sceau server. The pages are in French, "
            "with an English switch."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port of the demo web site (default: %(default)s)"
    )
    parser.add_argument(
        "--sceau-port",
        type=int,
        default=None,
        metavar="PORT",
        help="port of the Sceau server (default: --port + 1)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("var/demo"),
        metavar="DIR",
        help="directory of the demo's data (default: %(default)s)",
    )
    return parser


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class _ServerThread:
    """The Sceau server's uvicorn, in a background thread with its own event loop."""

    def __init__(self, server: uvicorn.Server) -> None:
        self.server = server
        self.thread = threading.Thread(target=server.run, name="sceau-server", daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the Sceau server did not start")
            if time.monotonic() > deadline:
                raise RuntimeError("the Sceau server did not start in time")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=_GRACE + 8)


def _uvicorn(
    app: Any, host: str, port: int, *, stopping: threading.Event | None = None
) -> uvicorn.Server:
    import uvicorn

    from sceau_server.api.streams import Streams

    streams = getattr(app.state, "streams", None)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if stopping is not None:
                stopping.set()
            super().handle_exit(sig, frame)

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # The Sceau server's event streams end at once (see sceau_server.api.streams).
            if isinstance(streams, Streams):
                streams.close()
            await super().shutdown(sockets)

    return Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            server_header=False,
            proxy_headers=False,
            timeout_graceful_shutdown=_GRACE,
        )
    )


def banner(
    config: DemoConfig,
    credentials: DemoCredentials,
    company: Sequence[tuple[str, str, str, str]] = (),
) -> str:
    """What ``sceau demo`` prints once it is ready, in French.

    ``company``: each member of the demo's company as (identifier, name, password, Sceau code).
    """
    site = config.bank_url
    members = [
        f"  Membre     identifiant : {ident:<12} mot de passe du membre : {password:<16} "
        f"code Sceau : {code}   ({name}, téléphone : {site}/telephone/{ident})"
        for ident, name, password, code in company
    ]
    if members:
        members = [
            "",
            "  Atelier Dupont SARL (espace entreprise, codes de démonstration) :",
            *members,
        ]
    return "\n".join(
        [
            "",
            "Sceau — démonstration prête. Ouvrez votre navigateur :",
            "",
            f"  Accueil de la démo               {site}/",
            f"  Ma Banque (site de la banque)    {site}/banque/",
            f"  Téléphone simulé de Marie        {site}/telephone/{CUSTOMER_ID}",
            f"  Boutique (paiement 3-D Secure)   {site}/boutique/",
            f"  Back-office (opérateur)          {site}/back-office/",
            f"  SMS reçus                        {site}/sms",
            f"  Espace entreprise (Sceau Pro)    {site}/banque/entreprise/",
            f"  Serveur Sceau (API, JWKS)        {config.sceau_url}/.well-known/jwks.json",
            "",
            f"  Cliente    identifiant : {CUSTOMER_ID:<12} mot de passe : "
            f"{credentials.customer_password}",
            f"  Opérateur  identifiant : {OPERATOR_ID:<12} mot de passe : "
            f"{credentials.operator_password}",
            "             (il valide sa connexion sur son téléphone simulé : "
            f"{site}/telephone/{OPERATOR_ID})",
            *members,
            "",
            f"  Données : {config.data}",
            "  Tout reste sur cette machine (boucle locale). Ctrl+C pour arrêter.",
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo until interrupted; return the exit code (0, 1 failure, 2 usage)."""
    if argv is None:
        argv = sys.argv[1:]
        if argv[:1] == ["demo"]:  # ``sceau demo …`` calling ``main()`` as it is.
            argv = argv[1:]
    arguments = _parser().parse_args(list(argv))
    try:
        check_loopback(arguments.host)
    except ValueError:
        print(
            f"sceau demo : {arguments.host} n’est pas une adresse de boucle locale. La démo "
            "n’écoute que sur cette machine (127.0.0.1, ::1 ou localhost).",
            file=sys.stderr,
        )
        return 2
    try:
        config = DemoConfig.from_env(
            host=arguments.host,
            port=arguments.port,
            sceau_port=arguments.sceau_port,
            data=arguments.data,
        )
    except ValueError as error:
        print(f"sceau demo : configuration invalide : {error}.", file=sys.stderr)
        return 2
    for port in (config.port, config.sceau_port):
        if not _port_free(config.host, port):
            print(
                f"sceau demo : le port {port} est déjà utilisé ; choisissez-en un autre avec "
                "--port (et --sceau-port).",
                file=sys.stderr,
            )
            return 1
    first = not (config.data / "demo.json").exists()
    # The phones of the demo's people keep the Sceau server's address in their keystores, and
    # requests are signed over it: data made for one address cannot serve another.
    address_file = config.data / "sceau-url"
    if not first and address_file.exists():
        made_for = address_file.read_text(encoding="utf-8").strip()
        if made_for != config.sceau_url:
            print(
                f"sceau demo : les données de {config.data} ont été créées pour le serveur Sceau "
                f"{made_for} : relancez la démo avec les mêmes ports, ou choisissez un autre "
                "dossier avec --data (ou supprimez celui-ci pour repartir de zéro).",
                file=sys.stderr,
            )
            return 2
    print(
        "Sceau — démarrage de la démonstration"
        + (f" (première fois : création des données dans {config.data})" if first else "")
        + "…",
        flush=True,
    )
    config.data.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not address_file.exists():
        address_file.write_text(config.sceau_url + "\n", encoding="utf-8")
    credentials_path = config.data / "demo.json"
    credentials = load_or_create_credentials(credentials_path)
    try:
        settings = demo_settings(config, credentials)
    except ConfigurationError as error:
        print(f"sceau demo : configuration invalide : {error}", file=sys.stderr)
        return 2
    from sceau_server.api import create_app
    from sceau_server.demo.bank import Bank, BankPasswordVerifier
    from sceau_server.demo.company import MEMBERS, Company
    from sceau_server.demo.phone import Phones
    from sceau_server.demo.sceau_api import SceauApi
    from sceau_server.demo.seed import ensure_api_keys, seed_people
    from sceau_server.demo.web import DemoServices, create_demo_app
    from sceau_server.migrations import upgrade
    from sceau_server.services.context import ServerContext
    from sceau_server.services.notifier import InProcessNotifier

    upgrade(settings.database_url)
    verifier = BankPasswordVerifier()
    ctx = ServerContext.create(settings, verifier=verifier)
    sceau = _ServerThread(
        _uvicorn(create_app(settings, context=ctx), config.host, config.sceau_port)
    )
    notifier = InProcessNotifier()
    phones = Phones(
        config.phones,
        (CUSTOMER_ID, OPERATOR_ID, *(member.ident for member in MEMBERS)),
        notifier=notifier,
        server_url=config.sceau_url,
    )
    apis: dict[str, SceauApi] = {}
    previous = signal.getsignal(signal.SIGTERM)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise _Stopped

    started = False
    try:
        sceau.start()
        ensure_api_keys(ctx, credentials, credentials_path)
        assert credentials.bank_api_key is not None
        assert credentials.console_api_key is not None
        apis["bank"] = SceauApi(config.sceau_url, credentials.bank_api_key)
        apis["console"] = SceauApi(config.sceau_url, credentials.console_api_key)
        seed_people(
            ctx,
            credentials,
            credentials_path,
            bank_api=apis["bank"],
            console_api=apis["console"],
            phones=phones,
        )
        company = Company(config.data / "company.json", apis["bank"])
        company.load_or_create()
        company.seed(ctx, phones)
        bank = Bank(config.data / "bank.json", apis)
        bank.load_or_create(credentials.customer_password, credentials.operator_password)
        verifier.bank = bank
        services = DemoServices(
            config=config,
            settings=settings,
            ctx=ctx,
            bank=bank,
            phones=phones,
            notifier=notifier,
            credentials=credentials,
            company=company,
        )
        site = _uvicorn(
            create_demo_app(services), config.host, config.port, stopping=services.stopping
        )
        signal.signal(signal.SIGTERM, stop)
        shown = [(m.ident, m.name, password, code) for m, password, code in company.credentials()]
        print(banner(config, credentials, shown), flush=True)
        started = True
        site.run()
    except (KeyboardInterrupt, _Stopped):
        pass
    except Exception as error:
        if started:
            raise
        # A failure while starting (a port taken meanwhile, a damaged data directory…).
        print(
            f"sceau demo : la démonstration n’a pas pu démarrer ({type(error).__name__}: "
            f"{error}). Essayez un autre répertoire avec --data.",
            file=sys.stderr,
        )
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
        phones.close()
        sceau.stop()
        for api in apis.values():
            with contextlib.suppress(Exception):
                api.close()
        ctx.close()
    print("Démo arrêtée.", flush=True)
    return 0
