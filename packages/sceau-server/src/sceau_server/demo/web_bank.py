# SPDX-License-Identifier: Apache-2.0
"""Ma Banque's pages, the demo merchant, its 3-D Secure style challenge page, and the waiting page.

Every sensitive action (login once Sceau is active, transfer, new payee, e-signature, card
payment) becomes an operation the bank asks Sceau to validate; the browser then waits on
``/banque/operations/<id>`` (or ``/acs/<id>`` for a card payment), which says which device was
asked, counts down, and follows the operation live through this site's own event stream
(``/operations/<id>/evenements``: the bank long-polls Sceau and watches the device's lock). Once
the operation is final the bank verifies the result JWS with Sceau's JWKS
(:meth:`~sceau_server.demo.bank.Bank.settle`) and only then acts and says so.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

import httpx
import segno
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sceau_device.texts import format_time
from sceau_server.demo.bank import (
    DOCUMENTS,
    MERCHANT_NAME,
    PRODUCTS,
    BankError,
    Product,
)
from sceau_server.demo.i18n import Formatter
from sceau_server.demo.sceau_api import SceauApi, SceauProblem
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

__all__ = [
    "UNREACHABLE",
    "lock_message",
    "operation_page",
    "operation_views",
    "outcome",
    "routes",
    "ttl_choice",
]

_WAIT_SLICE = 1.5

UNREACHABLE = ": Sceau unreachable, retrying\n\n"
"""The comment an event stream sends while Sceau does not answer (it retries each second)."""


async def operation_views(
    api: SceauApi, operation_id: str, stopping: threading.Event
) -> AsyncGenerator[dict[str, Any] | None, None]:
    """The operation as Sceau sees it after each long poll, or ``None`` when Sceau did not
    answer (the next poll then waits a second), until ``stopping`` is set."""
    async with httpx.AsyncClient(
        base_url=api.base_url, headers=api.auth_headers, timeout=_WAIT_SLICE + 10
    ) as client:
        while not stopping.is_set():
            try:
                answer = await client.get(
                    f"/v1/operations/{operation_id}/wait", params={"timeout": _WAIT_SLICE}
                )
                view = answer.json()
                if answer.status_code != 200:
                    raise SceauProblem(answer.status_code, view)
            except (httpx.HTTPError, ValueError, SceauProblem):
                yield None
                await asyncio.sleep(1.0)
                continue
            yield view


_SVG_TAG = re.compile(r"<(/?)([A-Za-z]+)((?:\s+[A-Za-z:-]+=\"[^\"<>]*\")*)\s*(/?)>")
_SVG_ATTRIBUTES = frozenset({"width", "height", "class", "transform", "stroke", "d", "fill"})
_SVG_ATTRIBUTE = re.compile(r"([A-Za-z:-]+)=\"[^\"<>]*\"")


# --- helpers -----------------------------------------------------------------------------------


def ttl_choice(request: Request, choice: str) -> int | None:
    """The validity the form chose: the demo's short one, or the configured one."""
    config = services(request).config
    if choice == "court":
        return config.short_ttl
    return config.ttl


def _customer(request: Request) -> str | None:
    value = session_of(request).data.get("customer")
    return value if isinstance(value, str) else None


def _require_customer(request: Request) -> str:
    customer = _customer(request)
    if customer is None:
        raise HTTPException(status_code=401)
    return customer


def safe_qr_svg(svg: str, qr_uri: str) -> str:
    """The server's QR code SVG if it holds only plain drawing, else one drawn here."""
    text = svg.strip()
    rest = _SVG_TAG.sub("", text)
    tags = _SVG_TAG.findall(text)
    clean = (
        text.startswith("<svg")
        and text.endswith("</svg>")
        and not rest.strip()
        and all(name in ("svg", "path") for _, name, _, _ in tags)
        and all(
            attribute in _SVG_ATTRIBUTES
            for _, _, attributes, _ in tags
            for attribute in _SVG_ATTRIBUTE.findall(attributes)
        )
    )
    if clean:
        return text
    drawn: str = segno.make(qr_uri, error="m").svg_inline(scale=4)
    return drawn


def lock_message(lock: dict[str, Any] | None, lang: str) -> str | None:
    """What the waiting page says when the device is locked after too many wrong codes."""
    if lock is None:
        return None
    if lock.get("blocked") or lock.get("locked_until") is None:
        if lang == "en":
            return (
                "Authentication blocked: too many wrong codes. Your Sceau authentication is "
                "permanently blocked; contact your adviser to unblock it."
            )
        return (
            "Authentification bloquée : trop de codes erronés. Votre authentification Sceau est "
            "bloquée définitivement ; contactez votre conseiller pour la débloquer."
        )
    until = format_time(int(lock["locked_until"]), lang)
    if lang == "en":
        return (
            f"Authentication locked: too many wrong codes. Your Sceau authentication is locked "
            f"until {until}. You can approve again after that time, or contact your adviser."
        )
    return (
        f"Authentification bloquée : trop de codes erronés. Votre authentification Sceau est "
        f"bloquée jusqu’au {until}. Vous pourrez valider ensuite, ou contactez votre conseiller."
    )


def outcome(record: dict[str, Any], lang: str) -> dict[str, str]:
    """The final state's words for the customer: ``css`` class, ``title`` and ``text``."""
    fmt = Formatter(lang)
    en = lang == "en"
    status, kind, details = record["status"], record["kind"], record["details"]
    if status == "approved":
        if kind == "transfer":
            amount, payee = fmt.money(details["amount"]), details["payee_name"]
            return {
                "css": "success",
                "title": "Transfer done" if en else "Virement effectué",
                "text": (
                    f"The transfer of {amount} to {payee} is done: your balance is up to date."
                    if en
                    else f"Le virement de {amount} vers {payee} est effectué : votre solde est "
                    "à jour."
                ),
            }
        if kind == "add_payee":
            payee, iban = details["payee_name"], fmt.iban(details["payee_iban"])
            return {
                "css": "success",
                "title": "Payee added" if en else "Bénéficiaire ajouté",
                "text": (
                    f"{payee} ({iban}) is now one of your payees."
                    if en
                    else f"{payee} ({iban}) fait désormais partie de vos bénéficiaires."
                ),
            }
        if kind == "e_signature":
            title = details["title"]
            return {
                "css": "success",
                "title": "Document signed" if en else "Document signé",
                "text": (
                    f"“{title}” is signed electronically."
                    if en
                    else f"« {title} » est signé électroniquement."
                ),
            }
        if kind == "card_payment":
            amount = fmt.money(details["amount"])
            return {
                "css": "success",
                "title": "Payment accepted" if en else "Paiement accepté",
                "text": (
                    f"Your payment of {amount} to {MERCHANT_NAME} is accepted."
                    if en
                    else f"Votre paiement de {amount} à {MERCHANT_NAME} est accepté."
                ),
            }
        return {
            "css": "success",
            "title": "Sign-in approved" if en else "Connexion validée",
            "text": "Welcome." if en else "Bienvenue.",
        }
    if status == "rejected":
        if kind == "login":
            return {
                "css": "danger",
                "title": "Sign-in declined" if en else "Connexion refusée",
                "text": (
                    "The sign-in was declined on your phone, or the number typed there was not "
                    "the one shown here. You are not signed in."
                    if en
                    else "La connexion a été refusée sur votre téléphone, ou le nombre saisi "
                    "n’était pas celui affiché ici. Vous n’êtes pas connecté."
                ),
            }
        return {
            "css": "danger",
            "title": "Operation declined" if en else "Opération refusée",
            "text": (
                "You declined this operation on your phone: nothing was done."
                if en
                else "Vous avez refusé cette opération sur votre téléphone : rien n’a été fait."
            ),
        }
    if status == "not_me":
        return {
            "css": "danger",
            "title": fmt.word("not_me"),
            "text": (
                "You reported that this operation is not yours: it is cancelled and our fraud "
                "team is alerted. "
                if en
                else "Vous avez signalé que cette opération n’est pas de vous : elle est annulée "
                "et notre service de lutte contre la fraude est prévenu. "
            )
            + fmt.word("reminder"),
        }
    if status == "expired":
        return {
            "css": "warning",
            "title": fmt.word("expired"),
            "text": (
                "The time to approve it is over: nothing was done. You can start again."
                if en
                else "Le délai de validation est dépassé : rien n’a été fait. Vous pouvez "
                "recommencer."
            ),
        }
    if status == "cancelled" and record.get("replaced"):
        return {
            "css": "warning",
            "title": "Operation cancelled" if en else "Opération annulée",
            "text": (
                "A newer sign-in request replaced this one: nothing was done."
                if en
                else "Une demande de connexion plus récente a remplacé celle-ci : rien n’a "
                "été fait."
            ),
        }
    if status == "cancelled":
        return {
            "css": "warning",
            "title": "Operation cancelled" if en else "Opération annulée",
            "text": (
                "You cancelled this request: nothing was done."
                if en
                else "Vous avez annulé cette demande : rien n’a été fait."
            ),
        }
    return {
        "css": "danger",
        "title": "Unverified result" if en else "Résultat non vérifié",
        "text": (
            "The result Sceau sent does not verify with its published keys: the bank ignores it "
            "and nothing was done."
            if en
            else "Le résultat reçu de Sceau ne se vérifie pas avec ses clés publiées : la banque "
            "l’ignore et rien n’a été fait."
        ),
    }


async def operation_page(
    request: Request, operation_id: str, *, area: str, done_url: str, done_label: str
) -> Response:
    """The waiting page of an operation this browser asked for, or its final state."""
    demo = services(request)
    session = session_of(request)
    if not session.owns(operation_id):
        raise HTTPException(status_code=404)
    record = await run_in_threadpool(demo.bank.settle, operation_id)
    lock = None
    if record["status"] == "pending":
        lock = await run_in_threadpool(demo.bank.lock_state, record["owner"], record["rp"])
    lang = lang_of(request)
    return render(
        request,
        "operation.html",
        area=area,
        record=record,
        lock=lock_message(lock, lang),
        result=None if record["status"] == "pending" else outcome(record, lang),
        done_url=done_url,
        done_label=done_label,
        phone_url=f"/telephone/{record['owner']}",
    )


async def operation_events(request: Request) -> Response:
    """This browser's live view of an operation: ``state`` events, then one ``final`` event."""
    demo = services(request)
    operation_id = request.path_params["operation_id"]
    if not session_of(request).owns(operation_id):
        raise HTTPException(status_code=404)
    record = demo.bank.record(operation_id)
    if record is None:
        raise HTTPException(status_code=404)
    api = demo.bank.apis[record["rp"]]
    lang = lang_of(request)

    async def stream() -> AsyncIterator[str]:
        last: str | None = "unset"
        async with aclosing(operation_views(api, operation_id, demo.stopping)) as views:
            async for view in views:
                if view is None:
                    yield UNREACHABLE
                    continue
                if view["status"] != "pending":
                    settled = await run_in_threadpool(demo.bank.settle, operation_id, view)
                    yield event("final", {"status": settled["status"]})
                    return
                lock = await run_in_threadpool(demo.bank.lock_state, record["owner"], record["rp"])
                message = lock_message(lock, lang)
                if message != last:
                    last = message
                    yield event("state", {"status": "pending", "lock": message})
                else:
                    yield ": waiting\n\n"

    return event_stream(stream())


async def cancel_operation(request: Request) -> Response:
    """Give up an operation this browser asked for."""
    await form_of(request)
    operation_id = request.path_params["operation_id"]
    if not session_of(request).owns(operation_id):
        raise HTTPException(status_code=404)
    demo = services(request)
    record = await run_in_threadpool(demo.bank.cancel, operation_id)
    if record is None:
        raise HTTPException(status_code=404)
    if record["kind"] == "card_payment":
        return redirect(f"/acs/{operation_id}")
    if record["rp"] == "console":
        return redirect(f"/back-office/connexion/{operation_id}")
    return redirect(f"/banque/operations/{operation_id}")


# --- Ma Banque ---------------------------------------------------------------------------------


async def bank_home(request: Request) -> Response:
    """Mes comptes: the balance, the card, the latest transactions."""
    customer = _customer(request)
    if customer is None:
        return redirect("/banque/connexion")
    demo = services(request)
    person = demo.bank.customer(customer)
    devices = await run_in_threadpool(demo.bank.active_devices, customer)
    return render(request, "bank_home.html", area="bank", person=person, devices=devices)


async def bank_login(request: Request) -> Response:
    """The login form; with Sceau active, the login is then approved on the phone."""
    demo = services(request)
    session = session_of(request)
    if request.method == "GET":
        if _customer(request) is not None:
            return redirect("/banque/")
        return render(request, "bank_login.html", area="bank", error=None, ident="")
    form = await form_of(request)
    ident = form.get("identifiant").strip().lower()
    password = form.get("mot_de_passe")
    ok = await run_in_threadpool(demo.bank.check_login, "customers", ident, password)
    if not ok:
        return render(
            request,
            "bank_login.html",
            status=401,
            area="bank",
            error="bad_credentials",
            ident=ident,
        )
    devices = await run_in_threadpool(demo.bank.active_devices, ident)
    if not devices:
        renew_session(request)
        session.data["customer"] = ident
        flash(
            request,
            "info",
            "Vous êtes connectée. Activez Sceau dans « Sécurité » pour valider vos opérations "
            "sur votre téléphone.",
            "You are signed in. Activate Sceau in “Security” to approve your operations on "
            "your phone.",
        )
        return redirect("/banque/")
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
            "bank_login.html",
            status=409,
            area="bank",
            error=error.message(lang_of(request)),
            ident=ident,
        )
    session.remember_operation(record["id"])
    session.data["pending_login"] = record["id"]
    return redirect(f"/banque/operations/{record['id']}")


async def bank_logout(request: Request) -> Response:
    """Log out."""
    await form_of(request)
    session = session_of(request)
    session.data.pop("customer", None)
    session.data.pop("pending_login", None)
    flash(request, "info", "Vous êtes déconnectée.", "You are signed out.")
    return redirect("/banque/connexion")


async def bank_operation(request: Request) -> Response:
    """The waiting page of a bank operation; a validated login opens the session."""
    operation_id = request.path_params["operation_id"]
    session = session_of(request)
    demo = services(request)
    record = demo.bank.record(operation_id)
    if record is None or record["rp"] != "bank" or record["kind"] == "card_payment":
        raise HTTPException(status_code=404)
    if record["kind"] == "login":
        settled = await run_in_threadpool(demo.bank.settle, operation_id)
        if (
            settled["status"] == "approved"
            and settled["verified"]
            and session.data.get("pending_login") == operation_id
        ):
            session.data.pop("pending_login", None)
            renew_session(request)
            session.data["customer"] = settled["owner"]
            flash(
                request,
                "success",
                "Connexion validée sur votre téléphone. Bienvenue.",
                "Sign-in approved on your phone. Welcome.",
            )
            return redirect("/banque/")
        if _customer(request) is None:
            return await operation_page(
                request,
                operation_id,
                area="bank",
                done_url="/banque/connexion",
                done_label="Se connecter à nouveau",
            )
    _require_customer(request)
    return await operation_page(
        request, operation_id, area="bank", done_url="/banque/", done_label="Retour à mes comptes"
    )


async def bank_security(request: Request) -> Response:
    """Sécurité: the customer's Sceau devices, and activating a new one."""
    customer = _customer(request)
    if customer is None:
        return redirect("/banque/connexion")
    demo = services(request)
    devices = await run_in_threadpool(demo.bank.devices, customer)
    activation = demo.bank.activations.get(customer)
    now = demo.bank.now()
    if activation is not None:
        used = any(device["activation_id"] == activation["activation_id"] for device in devices)
        if used or activation["expires_at"] <= now:
            activation = None
    person = demo.bank.customer(customer)
    return render(
        request,
        "bank_security.html",
        area="bank",
        devices=devices,
        activation=activation,
        person=person,
    )


async def bank_activate(request: Request) -> Response:
    """Create an activation: its code and QR code are shown, the SMS code goes to the phone."""
    await form_of(request)
    customer = _require_customer(request)
    demo = services(request)
    try:
        activation = await run_in_threadpool(demo.bank.start_activation, customer)
    except SceauProblem as problem:
        # Sceau's own words for the customer when it gives them (too many activations).
        flash(
            request,
            "error",
            str(
                problem.problem.get("message_fr")
                or f"Sceau a refusé l’activation ({problem.status})."
            ),
            str(
                problem.problem.get("message_en")
                or f"Sceau refused the activation ({problem.status})."
            ),
        )
        return redirect("/banque/securite")
    activation["qr_svg"] = safe_qr_svg(activation["qr_svg"], activation["qr_uri"])
    return redirect("/banque/securite#activation")


async def bank_remove_device(request: Request) -> Response:
    """Remove one of the customer's devices: its keys stop working at once."""
    form = await form_of(request)
    customer = _require_customer(request)
    demo = services(request)
    try:
        await run_in_threadpool(demo.bank.revoke, customer, form.get("appareil"))
    except SceauProblem as problem:
        if problem.status != 404:
            raise
    flash(
        request,
        "success",
        "Appareil retiré : il ne peut plus rien valider.",
        "Device removed: it can no longer approve anything.",
    )
    return redirect("/banque/securite")


async def bank_transfer(request: Request) -> Response:
    """Make a transfer to one of the payees."""
    customer = _customer(request)
    if customer is None:
        return redirect("/banque/connexion")
    demo = services(request)
    person = demo.bank.customer(customer)
    if request.method == "GET":
        return render(
            request, "bank_transfer.html", area="bank", person=person, error=None, form={}
        )
    form = await form_of(request)
    values = {
        name: form.get(name) for name in ("beneficiaire", "montant", "reference", "delai", "nonce")
    }
    try:
        record = await run_in_threadpool(
            lambda: demo.bank.transfer(
                customer,
                payee_index=values["beneficiaire"],
                amount_text=values["montant"],
                reference=values["reference"],
                context=request_context(request),
                ttl=ttl_choice(request, values["delai"]),
                idempotency_key=_idempotency(request, values["nonce"]),
            )
        )
    except BankError as error:
        return render(
            request,
            "bank_transfer.html",
            status=422,
            area="bank",
            person=person,
            error=error.message(lang_of(request)),
            form=values,
        )
    session_of(request).remember_operation(record["id"])
    return redirect(f"/banque/operations/{record['id']}")


def _idempotency(request: Request, nonce: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", nonce):
        return None
    return f"{session_of(request).browser[:16]}-{nonce}"


async def bank_payees(request: Request) -> Response:
    """The payees, and adding one."""
    customer = _customer(request)
    if customer is None:
        return redirect("/banque/connexion")
    demo = services(request)
    person = demo.bank.customer(customer)
    if request.method == "GET":
        return render(request, "bank_payees.html", area="bank", person=person, error=None, form={})
    form = await form_of(request)
    values = {name: form.get(name) for name in ("nom", "iban", "delai", "nonce")}
    try:
        record = await run_in_threadpool(
            lambda: demo.bank.add_payee(
                customer,
                name=values["nom"],
                iban=values["iban"],
                context=request_context(request),
                ttl=ttl_choice(request, values["delai"]),
                idempotency_key=_idempotency(request, values["nonce"]),
            )
        )
    except BankError as error:
        return render(
            request,
            "bank_payees.html",
            status=422,
            area="bank",
            person=person,
            error=error.message(lang_of(request)),
            form=values,
        )
    session_of(request).remember_operation(record["id"])
    return redirect(f"/banque/operations/{record['id']}")


async def bank_signature(request: Request) -> Response:
    """A document to sign electronically."""
    customer = _customer(request)
    if customer is None:
        return redirect("/banque/connexion")
    demo = services(request)
    document = DOCUMENTS[0]
    person = demo.bank.customer(customer)
    if request.method == "GET":
        return render(
            request,
            "bank_signature.html",
            area="bank",
            person=person,
            document=document,
            error=None,
        )
    form = await form_of(request)
    try:
        record = await run_in_threadpool(
            lambda: demo.bank.sign_document(
                customer,
                document,
                context=request_context(request),
                ttl=ttl_choice(request, form.get("delai")),
                idempotency_key=_idempotency(request, form.get("nonce")),
            )
        )
    except BankError as error:
        return render(
            request,
            "bank_signature.html",
            status=422,
            area="bank",
            person=person,
            document=document,
            error=error.message(lang_of(request)),
        )
    session_of(request).remember_operation(record["id"])
    return redirect(f"/banque/operations/{record['id']}")


# --- the merchant and the issuer's challenge page -------------------------------------------------


def _product(product_id: str) -> Product:
    for product in PRODUCTS:
        if product.id == product_id:
            return product
    raise HTTPException(status_code=404)


async def shop(request: Request) -> Response:
    """The demo merchant's shop window."""
    return render(request, "shop.html", area="shop", products=PRODUCTS)


async def shop_order(request: Request) -> Response:
    """Put an item in an order and go to the payment page."""
    form = await form_of(request)
    demo = services(request)
    _product(form.get("article"))
    order = demo.bank.new_order(form.get("article"), session_of(request).browser)
    return redirect(f"/boutique/commandes/{order['id']}/paiement")


def _order_of(request: Request) -> dict[str, Any]:
    order = services(request).bank.order(request.path_params["order_id"])
    if order is None or order["browser"] != session_of(request).browser:
        raise HTTPException(status_code=404)
    return order


async def shop_payment(request: Request) -> Response:
    """The merchant's card form; the card's bank then challenges the customer (3-D Secure)."""
    demo = services(request)
    order = _order_of(request)
    product = _product(order["product"])
    if request.method == "GET":
        if order["status"] == "paid":
            return redirect(f"/boutique/commandes/{order['id']}")
        return render(
            request, "shop_payment.html", area="shop", order=order, product=product, error=None
        )
    form = await form_of(request)
    try:
        record = await run_in_threadpool(
            lambda: demo.bank.card_payment(
                order["id"],
                form.get("carte"),
                context=request_context(request),
                ttl=demo.config.ttl,
            )
        )
    except BankError as error:
        return render(
            request,
            "shop_payment.html",
            status=422,
            area="shop",
            order=order,
            product=product,
            error=error.message(lang_of(request)),
        )
    session_of(request).remember_operation(record["id"])
    return redirect(f"/acs/{record['id']}")


async def shop_receipt(request: Request) -> Response:
    """The order's outcome, as the merchant sees it."""
    order = _order_of(request)
    return render(
        request, "shop_order.html", area="shop", order=order, product=_product(order["product"])
    )


async def acs_challenge(request: Request) -> Response:
    """The card issuer's out-of-band challenge page (3-D Secure style)."""
    operation_id = request.path_params["operation_id"]
    record = services(request).bank.record(operation_id)
    if record is None or record["kind"] != "card_payment":
        raise HTTPException(status_code=404)
    return await operation_page(
        request,
        operation_id,
        area="acs",
        done_url=f"/boutique/commandes/{record['details']['order']}",
        done_label=f"Retour chez {MERCHANT_NAME}",
    )


def _to(target: str) -> Any:
    async def endpoint(_request: Request) -> Response:
        return redirect(target)

    return endpoint


def routes() -> list[BaseRoute]:
    """The routes of the bank, the merchant and the challenge page."""
    return [
        Route("/banque/", bank_home),
        Route("/banque", _to("/banque/")),
        Route("/banque/connexion", bank_login, methods=["GET", "POST"]),
        Route("/banque/deconnexion", bank_logout, methods=["POST"]),
        Route("/banque/securite", bank_security),
        Route("/banque/securite/activer", bank_activate, methods=["POST"]),
        Route("/banque/securite/retirer", bank_remove_device, methods=["POST"]),
        Route("/banque/virement", bank_transfer, methods=["GET", "POST"]),
        Route("/banque/beneficiaires", bank_payees, methods=["GET", "POST"]),
        Route("/banque/signature", bank_signature, methods=["GET", "POST"]),
        Route("/banque/operations/{operation_id}", bank_operation),
        Route("/operations/{operation_id}/evenements", operation_events),
        Route("/operations/{operation_id}/annuler", cancel_operation, methods=["POST"]),
        Route("/boutique/", shop),
        Route("/boutique", _to("/boutique/")),
        Route("/boutique/commander", shop_order, methods=["POST"]),
        Route("/boutique/commandes/{order_id}/paiement", shop_payment, methods=["GET", "POST"]),
        Route("/boutique/commandes/{order_id}", shop_receipt),
        Route("/acs/{operation_id}", acs_challenge),
    ]
