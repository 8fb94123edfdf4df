# SPDX-License-Identifier: Apache-2.0
"""The ``sceau`` command: the server, its administration and the demo.

::

    sceau serve [--host H] [--port P] [--workers N] [--tls-cert FILE --tls-key FILE]
                [--no-access-log]
    sceau admin db upgrade
    sceau admin rp create NAME [--scopes S ...] [--callback-allow URL ...]
    sceau admin outbox [--phone +33…] [--limit N]
    sceau admin devices list USER
    sceau admin devices revoke ACTIVATION_ID --operator NAME --reason TEXT --identity-check TEXT
    sceau admin devices release ACTIVATION_ID --operator NAME --reason TEXT --identity-check TEXT
    sceau admin unblock ACTIVATION_ID --operator NAME --reason TEXT --identity-check TEXT
    sceau admin audit verify [--journal FILE] | sceau admin audit checkpoint
    sceau admin evidence OPERATION_ID --out FILE
    sceau demo

Every command reads its configuration from the ``SCEAU_*`` environment variables
(:mod:`sceau_server.settings`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from typing import Any

from sceau_server.settings import ConfigurationError, Settings

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sceau", description="Sceau strong customer authentication server"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server (migrates the database first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=_at_least_one,
        metavar="N",
        help="server processes sharing the port, above 1 on PostgreSQL only "
        "(default: SCEAU_WORKERS, else 1)",
    )
    serve.add_argument("--tls-cert", help="PEM certificate chain, to terminate TLS")
    serve.add_argument("--tls-key", help="PEM private key of the certificate")
    serve.add_argument(
        "--no-access-log",
        action="store_true",
        help="do not log each request (the metrics still count them)",
    )

    admin = commands.add_parser("admin", help="administration").add_subparsers(
        dest="admin", required=True
    )
    db = admin.add_parser("db", help="the database").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="apply the migrations")

    rp = admin.add_parser("rp", help="relying parties").add_subparsers(dest="rp", required=True)
    create = rp.add_parser("create", help="create a relying party and print its API key once")
    create.add_argument("name")
    create.add_argument("--scopes", nargs="+", help="default: every scope")
    create.add_argument("--callback-allow", nargs="+", default=[], metavar="URL")

    outbox = admin.add_parser("outbox", help="list the SMS messages the server wrote")
    outbox.add_argument("--phone")
    outbox.add_argument("--limit", type=int, default=20)

    unblock = admin.add_parser(
        "unblock",
        aliases=["unlock"],
        help="lift a lock or a permanent block after identifying the customer (told by SMS)",
    )
    unblock.add_argument("activation_id")
    _operator_arguments(unblock)

    devices = admin.add_parser("devices", help="a customer's devices").add_subparsers(
        dest="devices", required=True
    )
    listing = devices.add_parser("list", help="every device of a customer, with its state")
    listing.add_argument("user", help="the bank's identifier of the customer")
    revoke = devices.add_parser(
        "revoke", help="revoke a device or cancel one on hold (the customer is told by SMS)"
    )
    revoke.add_argument("activation_id")
    _operator_arguments(revoke)
    release = devices.add_parser(
        "release",
        help="activate a new device on hold at once; the device it replaces is revoked "
        "(the customer is told by SMS)",
    )
    release.add_argument("activation_id")
    _operator_arguments(release)

    audit = admin.add_parser("audit", help="the audit log").add_subparsers(
        dest="audit", required=True
    )
    verify = audit.add_parser("verify", help="verify the hash chain and checkpoints")
    verify.add_argument("--journal", help="checkpoint journal to check as anchors")
    audit.add_parser("checkpoint", help="sign a checkpoint now")

    evidence = admin.add_parser("evidence", help="export an operation's dispute bundle")
    evidence.add_argument("operation_id")
    evidence.add_argument("--out", required=True)

    commands.add_parser("demo", help="run the demo")
    return parser


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _operator_arguments(parser: argparse.ArgumentParser) -> None:
    """What every operator action records in the audit log."""
    parser.add_argument("--operator", required=True, help="the operator's name")
    parser.add_argument("--reason", required=True, help="why (recorded in the audit log)")
    parser.add_argument(
        "--identity-check",
        required=True,
        help="how the customer was identified, e.g. 'branch visit, ID card checked'",
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``sceau``."""
    words = sys.argv[1:] if argv is None else list(argv)
    if words[:1] == ["demo"]:
        # The demo has its own options (``sceau demo --port 9000``); see sceau_server.demo.
        from sceau_server.demo.runner import main as demo

        return demo(words[1:])
    arguments = _parser().parse_args(words)
    try:
        settings = Settings.from_env()
    except ConfigurationError as error:
        print(f"sceau: configuration error: {error}", file=sys.stderr)
        return 2
    if arguments.command == "serve":
        return _serve(settings, arguments)
    return _admin(settings, arguments)


def _serve(settings: Settings, arguments: argparse.Namespace) -> int:
    import uvicorn
    from sqlalchemy.engine import make_url

    from sceau_core.activation import is_loopback
    from sceau_server.api import create_app
    from sceau_server.api.streams import closing_server
    from sceau_server.migrations import upgrade

    if bool(arguments.tls_cert) != bool(arguments.tls_key):
        print("sceau: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    if settings.development_secrets:
        names = " and ".join(settings.development_secrets)
        what = (
            f"{names} are built-in development secrets"
            if len(settings.development_secrets) > 1
            else f"{names} is a built-in development secret"
        )
        if not is_loopback(arguments.host) and not settings.allow_dev_secrets:
            print(
                f"sceau: refusing to serve on {arguments.host}: {what}, published in the "
                "source; set real secrets (and SCEAU_ENV=production), or "
                "SCEAU_ALLOW_DEV_SECRETS=on for a test machine.",
                file=sys.stderr,
            )
            return 2
        print(
            f"sceau: warning: {what}, published in the source, so API keys and stored keys "
            "are not protected; in production set SCEAU_MASTER_KEY, SCEAU_SECRET and "
            "SCEAU_ENV=production.",
            file=sys.stderr,
        )
    workers = arguments.workers or settings.workers
    if workers > 1 and make_url(settings.database_url).get_backend_name() == "sqlite":
        print(
            "sceau: several workers need PostgreSQL, because SQLite has a single writer "
            "and tells only its own process of new operations.",
            file=sys.stderr,
        )
        return 2
    from sceau_server.services.sms import default_sender
    from sceau_server.services.verifier import load_verifier

    try:
        load_verifier(settings.password_verifier)
        default_sender(settings)
    except ConfigurationError as error:
        print(f"sceau: configuration error: {error}", file=sys.stderr)
        return 2
    upgrade(settings.database_url)
    if workers > 1:
        return _serve_workers(settings, arguments, workers)
    app = create_app(settings)
    # Ctrl+C or SIGTERM ends the open event streams, so the server stops at once.
    server = closing_server(uvicorn.Config(app, **_server_options(arguments)), app.state.streams)
    # uvicorn stops gracefully on SIGINT or SIGTERM, then raises the signal again for the
    # previous handler: a graceful stop is a normal exit, without a traceback.
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        server.run()
    except (KeyboardInterrupt, _Stopped):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    print("sceau: server stopped.", file=sys.stderr)
    return 0


def _server_options(arguments: argparse.Namespace) -> dict[str, Any]:
    """The uvicorn settings of ``sceau serve``, but the application."""
    return {
        "host": arguments.host,
        "port": arguments.port,
        "ssl_certfile": arguments.tls_cert,
        "ssl_keyfile": arguments.tls_key,
        "proxy_headers": False,
        "server_header": False,
        "log_level": "info",
        "access_log": not arguments.no_access_log,
    }


class _Stopped(Exception):
    """SIGTERM arrived after the server stopped gracefully."""


def _stopped(_signum: int, _frame: Any) -> None:
    raise _Stopped


def _serve_workers(settings: Settings, arguments: argparse.Namespace, workers: int) -> int:
    """Run ``workers`` server processes on one listening socket, bound here once.

    Each worker builds its own application (database pool, notifier listener, background
    tasks), as one node of a cluster does. SIGINT or SIGTERM stops every worker gracefully; a
    worker that ends on its own stops the others, and the command then fails: a node never
    goes on at part of its capacity without saying so.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    import uvicorn

    from sceau_server.services.context import ServerContext

    # The workers would otherwise race to create the server signing key of a new database.
    ServerContext.create(settings).close()
    options = _server_options(arguments)
    # Bound here, so that the port is taken once; the application string is never loaded here.
    listener = uvicorn.Config("sceau_server.api:create_app", factory=True, **options).bind_socket()
    spawn = multiprocessing.get_context("spawn")
    processes = [
        spawn.Process(
            target=_worker, args=(settings, options, listener), name=f"sceau-worker-{number}"
        )
        for number in range(1, workers + 1)
    ]
    stopping = False

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        # The first signal stops gracefully; another one forces the stop, as for one process.
        forward = signal.SIGINT if stopping else signal.SIGTERM
        stopping = True
        for process in processes:
            if process.pid is not None and process.exitcode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, forward)

    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    failed = False
    try:
        for process in processes:
            if stopping:
                break
            process.start()
        running = [process for process in processes if process.pid is not None]
        while running:
            ended = set(wait([process.sentinel for process in running]))
            for process in [process for process in running if process.sentinel in ended]:
                running.remove(process)
                process.join()
                code = process.exitcode
                if stopping and code in (0, -signal.SIGTERM, -signal.SIGINT):
                    continue
                failed = True
                print(
                    f"sceau: {process.name} (process {process.pid}) {_ended(code)}"
                    + ("." if stopping else "; stopping the other workers."),
                    file=sys.stderr,
                )
                if not stopping:
                    stop(signal.SIGTERM, None)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        listener.close()
    if failed:
        print("sceau: server stopped after a worker failed.", file=sys.stderr)
        return 1
    print("sceau: server stopped.", file=sys.stderr)
    return 0


def _ended(code: int | None) -> str:
    if code is not None and code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


def _worker(settings: Settings, options: dict[str, Any], listener: Any) -> None:
    """One worker of ``sceau serve --workers N``: a whole server on the shared socket."""
    signal.signal(signal.SIGTERM, _stopped)
    server = None
    try:
        import uvicorn

        from sceau_server.api import create_app
        from sceau_server.api.streams import closing_server

        app = create_app(settings)
        server = closing_server(uvicorn.Config(app, **options), app.state.streams)
        _stop_with_parent(server)
        server.run(sockets=[listener])
    except (KeyboardInterrupt, _Stopped):
        return
    if server is None or not server.started:
        sys.exit(3)  # uvicorn's code for a server that could not start


def _stop_with_parent(server: Any) -> None:
    """Stop the worker gracefully if the command dies without stopping it (kill -9)."""
    import multiprocessing
    import threading
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        server.should_exit = True

    threading.Thread(target=watch, name="sceau-parent-watch", daemon=True).start()


def _admin(settings: Settings, arguments: argparse.Namespace) -> int:
    from sceau_server import audit
    from sceau_server.migrations import upgrade

    if arguments.admin == "db":
        upgrade(settings.database_url)
        print("Database is up to date.")
        return 0
    if arguments.admin == "audit" and arguments.audit == "verify":
        return audit.cli_audit_verify(
            settings.database_url,
            audit.checkpoint_public_key_path(settings.checkpoint_key_path),
            journal_path=arguments.journal,
        )
    upgrade(settings.database_url)
    from sceau_server.services.context import ServerContext

    ctx = ServerContext.create(settings)
    try:
        return _admin_with_context(ctx, arguments)
    finally:
        ctx.close()


def _admin_with_context(ctx: Any, arguments: argparse.Namespace) -> int:
    from sqlalchemy import select

    from sceau_server import audit
    from sceau_server.errors import Conflict, NotFound
    from sceau_server.services.accounts import ALL_SCOPES, create_rp
    from sceau_server.services.checkpoints import write_checkpoint
    from sceau_server.services.maintenance import unlock
    from sceau_server.storage.models import SmsMessage

    if arguments.admin == "rp":
        try:
            rp = create_rp(
                ctx,
                name=arguments.name,
                scopes=list(arguments.scopes or ALL_SCOPES),
                callback_allow=list(arguments.callback_allow),
            )
        except ValueError as error:
            print(f"sceau: {error}", file=sys.stderr)
            return 2
        except Conflict:
            print(
                f"sceau: a relying party is already named {arguments.name.strip()!r}; "
                "choose another name.",
                file=sys.stderr,
            )
            return 1
        print(f"Relying party {rp.name} created: {rp.id}")
        print(f"API key (shown once, store it now): {rp.api_key}")
        print(f"Webhook secret (shown once): {rp.webhook_secret}")
        print(f"Scopes: {' '.join(rp.scopes)}")
        return 0
    if arguments.admin == "outbox":
        with ctx.read() as session:
            query = select(SmsMessage).order_by(SmsMessage.id.desc()).limit(arguments.limit)
            if arguments.phone:
                query = query.where(SmsMessage.phone == arguments.phone)
            for message in reversed(session.scalars(query).all()):
                print(f"#{message.id} {message.phone} [{message.kind}] {message.message}")
        return 0
    if arguments.admin in ("unblock", "unlock"):
        try:
            unlock(
                ctx,
                arguments.activation_id,
                operator=arguments.operator,
                reason=arguments.reason,
                identity_check=arguments.identity_check,
                actor="admin",
            )
        except NotFound:
            print(f"sceau: no active activation {arguments.activation_id}", file=sys.stderr)
            return 1
        print(f"Activation {arguments.activation_id} unblocked; the customer was told by SMS.")
        return 0
    if arguments.admin == "devices":
        return _devices(ctx, arguments)
    if arguments.admin == "audit":
        checkpoint = write_checkpoint(ctx)
        print("No new entry to sign." if checkpoint is None else f"Checkpoint at {checkpoint.seq}.")
        return 0
    if arguments.admin == "evidence":
        write_checkpoint(ctx)
        return audit.cli_evidence(
            ctx.settings.database_url,
            arguments.operation_id,
            audit.checkpoint_public_key_path(ctx.settings.checkpoint_key_path),
            arguments.out,
            collect=_collect_evidence,
        )
    return 2


def _devices(ctx: Any, arguments: argparse.Namespace) -> int:
    from sceau_server.errors import Conflict, NotFound
    from sceau_server.services import device_lifecycle

    if arguments.devices == "list":
        try:
            listing = device_lifecycle.operator_devices(ctx, arguments.user)
        except NotFound:
            print(f"sceau: no user {arguments.user}", file=sys.stderr)
            return 1
        if not listing["devices"]:
            print(f"{arguments.user}: no device.")
        for device in listing["devices"]:
            print(_device_line(device))
        return 0
    record = {
        "actor": "admin",
        "operator": arguments.operator,
        "reason": arguments.reason,
        "identity_check": arguments.identity_check,
    }
    if arguments.devices == "release":
        try:
            device = device_lifecycle.operator_release(ctx, arguments.activation_id, **record)
        except NotFound:
            print(f"sceau: no device {arguments.activation_id}", file=sys.stderr)
            return 1
        except Conflict:
            print(f"sceau: device {arguments.activation_id} is not on hold", file=sys.stderr)
            return 1
        print(
            f"Device {device['activation_id']} is active; the device it replaces is revoked "
            "and the customer was told by SMS."
        )
        return 0
    try:
        device = device_lifecycle.operator_revoke(ctx, arguments.activation_id, **record)
    except NotFound:
        print(f"sceau: no live device {arguments.activation_id}", file=sys.stderr)
        return 1
    print(f"Device {device['activation_id']} revoked; the customer was told by SMS.")
    return 0


def _device_line(device: dict[str, Any]) -> str:
    """One device in ``sceau admin devices list``."""
    import datetime

    def when(timestamp: int | None) -> str:
        if timestamp is None:
            return "-"
        moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
        return moment.strftime("%Y-%m-%d %H:%M UTC")

    state = device["status"]
    if device["blocked"]:
        state += ", blocked"
    elif device["locked_until"]:
        state += f", locked until {when(device['locked_until'])}"
    if device["hold_until"]:
        state += f", on hold until {when(device['hold_until'])}"
    if device["end_reason"]:
        state += f", {device['end_reason']} at {when(device['ended_at'])}"
    biometrics = "biometrics" if device["biometrics"] else "code only"
    return (
        f"{device['activation_id']}  {device['device_name'] or '-'}  [{state}]  "
        f"created {when(device['created_at'])}, active since {when(device['activated_at'])}, "
        f"{biometrics}"
    )


def _collect_evidence(session: Any, operation_id: str) -> Any:
    from sqlalchemy import select

    from sceau_server.storage.models import Approval, Operation

    operation = session.get(Operation, operation_id)
    if operation is None:
        return {}
    approvals = session.scalars(
        select(Approval).where(Approval.operation_id == operation_id).order_by(Approval.id)
    ).all()
    return {
        "operation": json.loads(operation.body),
        "approvals": [json.loads(approval.body) for approval in approvals],
        "result_jws": operation.result_jws,
    }


if __name__ == "__main__":
    sys.exit(main())
