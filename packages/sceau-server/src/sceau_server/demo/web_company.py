# SPDX-License-Identifier: Apache-2.0
"""The company pages (Sceau Pro): the bank's "Espace entreprise", the batch on each member's
phone, and the back-office's view of the company (:mod:`sceau_server.demo.company`).

A member logs in with their password and approves the login on their own simulated phone
(number matching, as Marie does). The company space shows the shared account, its rule and
every member's rights as Sceau has them, and imports the prepared file of 50 transfers; the
batch's page follows the signatures live ("1 signature sur 2") through this site's event stream
and, once final, shows the result JWS the bank verified. On a validator's phone, the batch's
lines are fetched by the device SDK, checked against the signed count, total and digest, and
shown ten at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sceau_core.operations import BatchTransferData
from sceau_device.errors import DeviceError, OperationUnavailable, ServerFailure
from sceau_server.demo.bank import BankError
from sceau_server.demo.company import (
    MEMBERS,
    RIGHTS,
    Company,
    collected,
    member_of,
    signatures_text,
)
from sceau_server.demo.web import (
    event,
    event_stream,
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
from sceau_server.demo.web_bank import UNREACHABLE, operation_page, operation_views

__all__ = ["PAGE_SIZE", "routes"]

PAGE_SIZE = 10
_WAIT_SLICE = 1.5
_MEMBER = "member"
_PENDING_LOGIN = "pending_member_login"


def _company(request: Request) -> Company:
    company = services(request).company
    if company is None:
        raise HTTPException(status_code=404)
    return company


def _member(request: Request) -> str | None:
    value = session_of(request).data.get(_MEMBER)
    return value if isinstance(value, str) and member_of(value) is not None else None


def _require_member(request: Request) -> str:
    member = _member(request)
    if member is None:
        raise HTTPException(status_code=401)
    return member


# --- logging in ----------------------------------------------------------------------------------


async def company_login(request: Request) -> Response:
    """The member's password, then the login approved on their own phone."""
    company = _company(request)
    demo = services(request)
    if request.method == "GET":
        if _member(request) is not None:
            return redirect("/banque/entreprise/")
        return render(request, "company_login.html", area="bank", member=None, error=None, ident="")
    form = await form_of(request)
    ident = form.get("identifiant").strip().lower()
    ok = await run_in_threadpool(company.check_login, ident, form.get("mot_de_passe"))
    if not ok:
        return render(
            request,
            "company_login.html",
            status=401,
            area="bank",
            member=None,
            error="bad",
            ident=ident,
        )
    try:
        record = await run_in_threadpool(
            lambda: demo.bank.login(
                ident,
                rp="bank",
                context=request_context(request),
                ttl=demo.config.ttl,
                same_browser=session_of(request).operations(),
            )
        )
    except BankError as error:
        return render(
            request,
            "company_login.html",
            status=409,
            area="bank",
            member=None,
            error=error.message(lang_of(request)),
            ident=ident,
        )
    session = session_of(request)
    session.remember_operation(record["id"])
    session.data[_PENDING_LOGIN] = record["id"]
    return redirect(f"/banque/entreprise/connexion/{record['id']}")


async def company_login_wait(request: Request) -> Response:
    """Wait for the member's approval of their login; once verified, open the company space."""
    operation_id = request.path_params["operation_id"]
    demo = services(request)
    session = session_of(request)
    record = demo.bank.record(operation_id)
    if (
        record is None
        or record["kind"] != "login"
        or member_of(record["owner"]) is None
        or not session.owns(operation_id)
    ):
        raise HTTPException(status_code=404)
    settled = await run_in_threadpool(demo.bank.settle, operation_id)
    if (
        settled["status"] == "approved"
        and settled["verified"]
        and session.data.get(_PENDING_LOGIN) == operation_id
    ):
        session.data.pop(_PENDING_LOGIN, None)
        renew_session(request)
        session.data[_MEMBER] = settled["owner"]
        flash(
            request,
            "success",
            "Connexion validée sur votre téléphone. Bienvenue dans votre espace entreprise.",
            "Sign-in approved on your phone. Welcome to your business space.",
        )
        return redirect("/banque/entreprise/")
    return await operation_page(
        request,
        operation_id,
        area="bank",
        done_url="/banque/entreprise/connexion",
        done_label="Se connecter à nouveau",
    )


async def company_logout(request: Request) -> Response:
    """Log the member out."""
    await form_of(request)
    session_of(request).data.pop(_MEMBER, None)
    flash(request, "info", "Vous êtes déconnecté.", "You are signed out.")
    return redirect("/banque/entreprise/connexion")


# --- the company space -------------------------------------------------------------------------


def _members_view(company: Company, account: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """Each member with their rights on the account as Sceau has them."""
    ids = company.member_ids()
    rights = {row["member"]: row["rights"] for row in account.get("members", [])}
    words = RIGHTS["en" if lang == "en" else "fr"]
    return [
        {
            "member": member,
            "id": ids.get(member.ident),
            "rights": [words.get(right, right) for right in rights.get(ids.get(member.ident), [])],
            "validates": "validate" in rights.get(ids.get(member.ident), []),
        }
        for member in MEMBERS
    ]


async def company_home(request: Request) -> Response:
    """Espace entreprise: the shared account, its rule, its members, the batches."""
    company = _company(request)
    ident = _member(request)
    if ident is None:
        return redirect("/banque/entreprise/connexion")
    account = await run_in_threadpool(company.account)
    batches = company.batches()
    member = member_of(ident)
    return render(
        request,
        "company_home.html",
        area="bank",
        member=member,
        account=account,
        needed=max(tier["validators"] for tier in account["rule"]["tiers"]),
        members=_members_view(company, account, lang_of(request)),
        batches=batches,
        collected=collected,
        error=None,
    )


async def company_import(request: Request) -> Response:
    """Importer un lot: submit the prepared pain.001 file of 50 transfers."""
    form = await form_of(request)
    company = _company(request)
    ident = _require_member(request)
    nonce = form.get("nonce")
    key = (
        f"{session_of(request).browser[:16]}-{nonce}"
        if nonce.isalnum() and len(nonce) >= 8
        else None
    )
    try:
        record = await run_in_threadpool(lambda: company.import_batch(ident, idempotency_key=key))
    except BankError as error:
        flash(request, "error", error.fr, error.en)
        return redirect("/banque/entreprise/")
    return redirect(f"/banque/entreprise/lots/{record['id']}")


def _batch(request: Request) -> tuple[Company, dict[str, Any], str]:
    company = _company(request)
    ident = _require_member(request)
    record = company.record(request.path_params["operation_id"])
    if record is None:
        raise HTTPException(status_code=404)
    return company, record, ident


def _signer_names(company: Company, record: dict[str, Any]) -> list[str]:
    """The result's signatories (member ids) with their names: "Claire Dupont (m_…)"."""
    names = {
        member_id: member.name
        for ident, member_id in company.member_ids().items()
        if (member := member_of(ident)) is not None
    }
    signers = (record.get("claims") or {}).get("signers") or []
    return [f"{names[s]} ({s})" if s in names else str(s) for s in signers]


async def company_batch(request: Request) -> Response:
    """A batch: its signatures so far, live; once final, the verified result."""
    company, record, ident = _batch(request)
    record = await run_in_threadpool(company.follow, record["id"])
    lang = lang_of(request)
    return render(
        request,
        "company_batch.html",
        area="bank",
        member=member_of(ident),
        record=record,
        signatures=signatures_text(collected(record), record["needed"], lang),
        signers=_signer_names(company, record),
        validators=[member for member in MEMBERS if member.can_validate],
    )


async def company_batch_events(request: Request) -> Response:
    """The batch's live state: a ``state`` event at each new signature, then ``final``."""
    company, record, _ident = _batch(request)
    api = company.api
    lang = lang_of(request)
    demo = services(request)
    operation_id = record["id"]

    async def stream() -> AsyncIterator[str]:
        shown: str | None = None
        async with aclosing(operation_views(api, operation_id, demo.stopping)) as views:
            async for view in views:
                if view is None:
                    yield UNREACHABLE
                    continue
                current = await run_in_threadpool(company.follow, operation_id, view)
                if current["status"] != "pending":
                    yield event("final", {"status": current["status"]})
                    return
                text = signatures_text(collected(current), current["needed"], lang)
                names = [item["name"] for item in current["approvals"]]
                if names:
                    text += (": " if lang == "en" else " : ") + ", ".join(names)
                if text != shown:
                    shown = text
                    yield event("state", {"status": "pending", "lock": None, "signatures": text})
                else:
                    yield ": waiting\n\n"

    return event_stream(stream())


# --- the batch's lines on a member's phone -------------------------------------------------------


async def phone_lines(request: Request) -> Response:
    """Page through a batch's lines on the phone, once the device checked them all."""
    slot = request.path_params["slot"]
    phones = services(request).phones
    if slot not in phones:
        raise HTTPException(status_code=404)
    phone = phones[slot]
    operation_id = request.path_params["operation_id"]
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1

    def read() -> tuple[Any, Any]:
        operation = phone.operation(operation_id)
        auth = phone.authenticator()
        assert auth is not None
        return operation, auth.batch_lines(operation)

    try:
        operation, lines = await run_in_threadpool(read)
    except (ServerFailure, OperationUnavailable) as error:
        member = member_of(slot)
        refused = (isinstance(error, ServerFailure) and error.status == 403) or (
            member is not None and not member.can_validate
        )
        status = 403 if refused else 404
        return render(
            request,
            "phone_lines.html",
            status=status,
            area="phone",
            phone=phone,
            member=member_of(slot),
            operation_id=operation_id,
            error=error.message(lang_of(request)),
            refused=refused,
        )
    except DeviceError as error:
        return render(
            request,
            "phone_lines.html",
            status=404,
            area="phone",
            phone=phone,
            member=member_of(slot),
            operation_id=operation_id,
            error=error.message(lang_of(request)),
            refused=False,
        )
    data = operation.data
    if not isinstance(data, BatchTransferData):
        raise HTTPException(status_code=404)
    pages = max(1, -(-len(lines) // PAGE_SIZE))
    page = min(page, pages)
    first = (page - 1) * PAGE_SIZE
    return render(
        request,
        "phone_lines.html",
        area="phone",
        phone=phone,
        member=member_of(slot),
        operation_id=operation_id,
        operation=operation,
        data=data,
        lines=list(enumerate(lines[first : first + PAGE_SIZE], start=first + 1)),
        page=page,
        pages=pages,
        first=first + 1,
        last=min(first + PAGE_SIZE, len(lines)),
        error=None,
        refused=False,
    )


# --- the back-office -----------------------------------------------------------------------------


async def console_companies(request: Request) -> Response:
    """The companies: members and rights, accounts and rules, operations and every signatory."""
    if session_of(request).data.get("operator") is None:
        return redirect("/back-office/connexion")
    from sceau_server.demo.company import company_overview

    organisations = await run_in_threadpool(company_overview, services(request).ctx)
    return render(
        request,
        "console_companies.html",
        area="console",
        organisations=organisations,
        rights_words=RIGHTS["en" if lang_of(request) == "en" else "fr"],
    )


def routes() -> list[BaseRoute]:
    """The company's routes: the bank's company space, the phone's lines, the back-office."""

    async def to_home(_request: Request) -> Response:
        return redirect("/banque/entreprise/")

    return [
        Route("/banque/entreprise", to_home),
        Route("/banque/entreprise/", company_home),
        Route("/banque/entreprise/connexion", company_login, methods=["GET", "POST"]),
        Route("/banque/entreprise/connexion/{operation_id}", company_login_wait),
        Route("/banque/entreprise/deconnexion", company_logout, methods=["POST"]),
        Route("/banque/entreprise/importer", company_import, methods=["POST"]),
        Route("/banque/entreprise/lots/{operation_id}", company_batch),
        Route("/banque/entreprise/lots/{operation_id}/evenements", company_batch_events),
        Route("/telephone/{slot}/operations/{operation_id}/lignes", phone_lines),
        Route("/back-office/entreprises", console_companies),
    ]
