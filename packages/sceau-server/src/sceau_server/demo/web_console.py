# SPDX-License-Identifier: Apache-2.0
"""The back-office: the operator logs in with a password *and* approves with their own Sceau.

After the password, the console asks Sceau (as its own relying party) to validate the operator's
login with number matching, on the operator's simulated phone; it verifies the result JWS like
the bank does. Then the operator sees users, devices, operations (with their signed result and
the evidence export), the SMS outbox and the audit log with its verification, and can lift a
lock or revoke a device through the admin API (saying why and how the customer was identified,
both audited), or sign an audit checkpoint (:mod:`sceau_server.demo.console`).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sceau_server.demo import console
from sceau_server.demo.bank import OPERATOR_ID, BankError
from sceau_server.demo.sceau_api import SceauProblem
from sceau_server.demo.web import (
    flash,
    form_of,
    lang_of,
    redirect,
    render,
    renew_session,
    request_context,
    services,
    session_of,
)
from sceau_server.demo.web_bank import operation_page

__all__ = ["routes"]


def _operator(request: Request) -> str | None:
    value = session_of(request).data.get("operator")
    return value if isinstance(value, str) else None


async def console_login(request: Request) -> Response:
    """The operator's password, then their own Sceau approval."""
    demo = services(request)
    session = session_of(request)
    if request.method == "GET":
        if _operator(request) is not None:
            return redirect("/back-office/")
        return render(request, "console_login.html", area="console", error=None, ident="")
    form = await form_of(request)
    ident = form.get("identifiant").strip().lower()
    ok = await run_in_threadpool(
        demo.bank.check_login, "operators", ident, form.get("mot_de_passe")
    )
    if not ok:
        return render(
            request,
            "console_login.html",
            status=401,
            area="console",
            error="bad_credentials",
            ident=ident,
        )
    try:
        record = await run_in_threadpool(
            lambda: demo.bank.login(
                ident,
                rp="console",
                context=request_context(request),
                ttl=demo.config.ttl,
                same_browser=session_of(request).operations(),
            )
        )
    except BankError as error:
        return render(
            request,
            "console_login.html",
            status=409,
            area="console",
            error=error.message(lang_of(request)),
            ident=ident,
        )
    session.remember_operation(record["id"])
    session.data["pending_operator_login"] = record["id"]
    return redirect(f"/back-office/connexion/{record['id']}")


async def console_login_wait(request: Request) -> Response:
    """The operator's login waiting for their approval; approved and verified, it opens."""
    operation_id = request.path_params["operation_id"]
    demo = services(request)
    session = session_of(request)
    record = demo.bank.record(operation_id)
    if record is None or record["rp"] != "console":
        raise HTTPException(status_code=404)
    settled = await run_in_threadpool(demo.bank.settle, operation_id)
    if (
        settled["status"] == "approved"
        and settled["verified"]
        and session.data.get("pending_operator_login") == operation_id
    ):
        session.data.pop("pending_operator_login", None)
        renew_session(request)
        session.data["operator"] = settled["owner"]
        flash(
            request,
            "success",
            "Connexion validée avec votre Sceau. Bienvenue dans le back-office.",
            "Sign-in approved with your Sceau. Welcome to the back-office.",
        )
        return redirect("/back-office/")
    return await operation_page(
        request,
        operation_id,
        area="console",
        done_url="/back-office/connexion",
        done_label="Se connecter à nouveau",
    )


async def console_logout(request: Request) -> Response:
    """Log the operator out."""
    await form_of(request)
    session_of(request).data.pop("operator", None)
    flash(request, "info", "Vous êtes déconnecté du back-office.", "You are signed out.")
    return redirect("/back-office/connexion")


def _guard(request: Request) -> Response | None:
    if _operator(request) is None:
        return redirect("/back-office/connexion")
    return None


async def console_home(request: Request) -> Response:
    """The dashboard: counts and the audit log's verification."""
    if (refusal := _guard(request)) is not None:
        return refusal
    ctx = services(request).ctx
    counts = await run_in_threadpool(console.dashboard, ctx)
    status = await run_in_threadpool(console.verify_audit, ctx)
    return render(request, "console_home.html", area="console", counts=counts, audit=status)


async def console_users(request: Request) -> Response:
    """Users and their devices, with unlock and revoke."""
    if (refusal := _guard(request)) is not None:
        return refusal
    people = await run_in_threadpool(console.users, services(request).ctx)
    return render(request, "console_users.html", area="console", people=people)


_WORDS = {
    "unblock": (
        "Authentification débloquée ; le client a été prévenu par SMS.",
        "Authentication unlocked; the customer was told by SMS.",
    ),
    "revoke": (
        "Appareil révoqué : ses clés ne servent plus à rien ; le client a été prévenu.",
        "Device revoked: its keys are useless now; the customer was told.",
    ),
}


async def console_device_action(request: Request) -> Response:
    """Unblock or revoke a device through the admin API; who, why and how are audited."""
    form = await form_of(request)
    if (refusal := _guard(request)) is not None:
        return refusal
    demo = services(request)
    activation_id = request.path_params["activation_id"]
    action = {"debloquer": "unblock", "revoquer": "revoke"}.get(request.path_params["action"])
    if action is None:
        raise HTTPException(status_code=404)
    operator = _operator(request) or OPERATOR_ID
    reason = " ".join(form.get("motif").split()) or "Demande du client"
    check = " ".join(form.get("verification").split()) or "Non précisée"
    try:
        await run_in_threadpool(
            lambda: demo.bank.apis["console"].admin_action(
                activation_id,
                action,
                operator=operator,
                reason=reason[:200],
                identity_check=check[:200],
            )
        )
    except SceauProblem as problem:
        if problem.status != 404:
            raise
        flash(
            request,
            "error",
            "Cet appareil n’existe plus ou est déjà révoqué.",
            "This device no longer exists or is already revoked.",
        )
        return redirect("/back-office/utilisateurs")
    owner = await run_in_threadpool(console.activation_owner, demo.ctx, activation_id)
    if owner is not None and owner in demo.phones:
        demo.phones[owner].touch()
    flash(request, "success", *_WORDS[action])
    return redirect("/back-office/utilisateurs")


async def console_operations(request: Request) -> Response:
    """The latest operations."""
    if (refusal := _guard(request)) is not None:
        return refusal
    rows = await run_in_threadpool(console.operations, services(request).ctx)
    return render(request, "console_operations.html", area="console", operations=rows)


async def console_operation(request: Request) -> Response:
    """One operation: what was signed, the approvals, the result JWS and its verification."""
    if (refusal := _guard(request)) is not None:
        return refusal
    detail = await run_in_threadpool(
        console.operation_detail, services(request).ctx, request.path_params["operation_id"]
    )
    if detail is None:
        raise HTTPException(status_code=404)
    return render(request, "console_operation.html", area="console", op=detail)


async def console_evidence(request: Request) -> Response:
    """Download the operation's evidence bundle (checked first, as a third party would)."""
    if (refusal := _guard(request)) is not None:
        return refusal
    operation_id = request.path_params["operation_id"]
    bundle = await run_in_threadpool(console.evidence, services(request).ctx, operation_id)
    if bundle is None:
        raise HTTPException(status_code=404)
    return Response(
        bundle.data,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="preuve-{operation_id}.json"',
            "Cache-Control": "no-store",
            "Sceau-Evidence-Entries": str(bundle.entries),
            "Sceau-Evidence-Checkpoint": str(bundle.checkpoint),
        },
    )


async def console_audit(request: Request) -> Response:
    """The audit log's latest entries and its verification status."""
    if (refusal := _guard(request)) is not None:
        return refusal
    ctx = services(request).ctx
    status = await run_in_threadpool(console.verify_audit, ctx)
    entries = await run_in_threadpool(console.audit_entries, ctx)
    return render(request, "console_audit.html", area="console", audit=status, entries=entries)


async def console_checkpoint(request: Request) -> Response:
    """Sign an audit checkpoint now."""
    await form_of(request)
    if (refusal := _guard(request)) is not None:
        return refusal
    seq = await run_in_threadpool(console.sign_checkpoint, services(request).ctx)
    if seq is None:
        flash(request, "info", "Aucune nouvelle entrée à signer.", "No new entry to sign.")
    else:
        flash(
            request,
            "success",
            f"Point de contrôle signé à l’entrée {seq}.",
            f"Checkpoint signed at entry {seq}.",
        )
    return redirect("/back-office/audit")


def routes() -> list[BaseRoute]:
    """The back-office's routes."""

    async def to_home(_request: Request) -> Response:
        return redirect("/back-office/")

    return [
        Route("/back-office", to_home),
        Route("/back-office/", console_home),
        Route("/back-office/connexion", console_login, methods=["GET", "POST"]),
        Route("/back-office/connexion/{operation_id}", console_login_wait),
        Route("/back-office/deconnexion", console_logout, methods=["POST"]),
        Route("/back-office/utilisateurs", console_users),
        Route(
            "/back-office/appareils/{activation_id}/{action}",
            console_device_action,
            methods=["POST"],
        ),
        Route("/back-office/operations", console_operations),
        Route("/back-office/operations/{operation_id}", console_operation),
        Route("/back-office/operations/{operation_id}/preuve", console_evidence),
        Route("/back-office/audit", console_audit),
        Route("/back-office/audit/point-de-controle", console_checkpoint, methods=["POST"]),
    ]
