# SPDX-License-Identifier: Apache-2.0
"""The ``sceau`` command: the server, its administration and the demo.

::

    sceau serve [--host H] [--port P] [--tls-cert FILE --tls-key FILE]
    sceau admin db upgrade
    sceau admin rp create NAME [--scopes S ...] [--callback-allow URL ...]
    sceau admin outbox [--phone +33…] [--limit N]
    sceau admin unlock ACTIVATION_ID
    sceau admin audit verify [--journal FILE] | sceau admin audit checkpoint
    sceau admin evidence OPERATION_ID --out FILE
    sceau demo

Every command reads its configuration from the ``SCEAU_*`` environment variables
(:mod:`sceau_server.settings`).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
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
    serve.add_argument("--tls-cert", help="PEM certificate chain, to terminate TLS")
    serve.add_argument("--tls-key", help="PEM private key of the certificate")

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

    unlock = admin.add_parser("unlock", help="lift a lock or block after identifying the user")
    unlock.add_argument("activation_id")
    unlock.add_argument("--operator", default="admin")

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


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``sceau``."""
    arguments = _parser().parse_args(argv)
    if arguments.command == "demo":
        return _demo()
    try:
        settings = Settings.from_env()
    except ConfigurationError as error:
        print(f"sceau: configuration error: {error}", file=sys.stderr)
        return 2
    if arguments.command == "serve":
        return _serve(settings, arguments)
    return _admin(settings, arguments)


def _demo() -> int:
    name = "sceau_server.demo" if importlib.util.find_spec("sceau_server.demo") else None
    module = importlib.import_module(name or "sceau_server.walkthrough")
    result: int = module.main()
    return result


def _serve(settings: Settings, arguments: argparse.Namespace) -> int:
    import uvicorn

    from sceau_server.api import create_app
    from sceau_server.migrations import upgrade

    if bool(arguments.tls_cert) != bool(arguments.tls_key):
        print("sceau: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    upgrade(settings.database_url)
    uvicorn.run(
        create_app(settings),
        host=arguments.host,
        port=arguments.port,
        ssl_certfile=arguments.tls_cert,
        ssl_keyfile=arguments.tls_key,
        proxy_headers=False,
        server_header=False,
        log_level="info",
    )
    return 0


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
    from sceau_server.errors import NotFound
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
    if arguments.admin == "unlock":
        try:
            unlock(ctx, arguments.activation_id, operator=arguments.operator)
        except NotFound:
            print(f"sceau: no activation {arguments.activation_id}", file=sys.stderr)
            return 1
        print(f"Activation {arguments.activation_id} unlocked; the customer was told.")
        return 0
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
