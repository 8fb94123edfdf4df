# SPDX-License-Identifier: Apache-2.0
"""The phone in the browser ("Démo — téléphone simulé"): what the Sceau app shows and does.

Each form here talks to the simulated device of :mod:`sceau_server.demo.phone` in this process,
never to the Sceau server directly: the device SDK does that, over signed HTTP. The code typed on
the PIN pad is handed to the SDK and dropped: it is never logged, stored, echoed in a page or
sent anywhere (the SDK sends only its blinded OPRF input).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sceau_core.operations import OperationType
from sceau_device.errors import DeviceError
from sceau_device.texts import say
from sceau_server.demo import console
from sceau_server.demo.bank import CUSTOMER_ID, CUSTOMER_PHONE, OPERATOR_PHONE
from sceau_server.demo.company import PHONES as COMPANY_PHONES
from sceau_server.demo.company import member_of
from sceau_server.demo.phone import Phone
from sceau_server.demo.web import (
    event,
    event_stream,
    flash,
    form_of,
    redirect,
    render,
    services,
)

__all__ = ["routes"]

_PHONE_NUMBERS = {CUSTOMER_ID: CUSTOMER_PHONE, **COMPANY_PHONES}
_MORE_SIGNATURES = (
    "Votre signature est enregistrée. D’autres signatures sont attendues avant l’exécution de "
    "l’opération.",
    "Your signature is recorded. Other signatures are needed before the operation is carried out.",
)
_HEARTBEAT = 15.0
_TICK = 0.5


def _phone(request: Request) -> Phone:
    slot = request.path_params["slot"]
    phones = services(request).phones
    if slot not in phones:
        raise HTTPException(status_code=404)
    return phones[slot]


def _number(slot: str) -> str:
    return _PHONE_NUMBERS.get(slot, OPERATOR_PHONE)


def _home(phone: Phone, operation_id: str | None = None) -> str:
    suffix = f"?op={operation_id}" if operation_id else ""
    return f"/telephone/{phone.slot}{suffix}"


async def _messages(demo: Any, number: str) -> list[dict[str, Any]]:
    """The newest SMS received at ``number``, shown beside the phone."""
    messages = await run_in_threadpool(console.sms_messages, demo.ctx, limit=30)
    return [message for message in messages if message["phone"] == number][:4]


def _failed(request: Request, error: DeviceError) -> None:
    flash(request, "error", error.message("fr"), error.message("en"))


async def phone_page(request: Request) -> Response:
    """The phone's screen: activation, or the pending operations and the device's status."""
    demo = services(request)
    phone = _phone(request)
    screen = await run_in_threadpool(phone.screen)
    selected = None
    others: list[Any] = []
    if screen.pending is not None and screen.pending.operations:
        wanted = request.query_params.get("op")
        operations = list(reversed(screen.pending.operations))  # the newest request first
        selected = next((op for op in operations if op.id == wanted), operations[0])
        others = [op for op in operations if op.id != selected.id]
    number = _number(phone.slot)
    messages = await _messages(demo, number)
    activation = demo.bank.activations.get(phone.slot)
    return render(
        request,
        "phone.html",
        area="phone",
        phone=phone,
        member=member_of(phone.slot),
        screen=screen,
        selected=selected,
        others=others,
        is_login=selected is not None and selected.type is OperationType.LOGIN,
        messages=messages,
        number=number,
        can_scan=activation is not None and activation["expires_at"] > demo.bank.now(),
        version=phone.version,
        pending_ids=",".join(sorted(op.id for op in (screen.pending.operations or ())))
        if screen.pending is not None
        else "",
    )


async def start_activation(request: Request) -> Response:
    """Step 1: the activation code (or the QR payload); the server key is verified and pinned."""
    form = await form_of(request)
    phone = _phone(request)
    demo = services(request)
    text = form.get("activation").strip()
    if form.get("scanner"):
        activation = demo.bank.activations.get(phone.slot)
        text = "" if activation is None else str(activation["qr_uri"])
    if not text:
        flash(
            request,
            "error",
            "Saisissez le code d’activation affiché par votre banque, ou scannez son QR code.",
            "Type the activation code your bank shows, or scan its QR code.",
        )
        return redirect(_home(phone))
    try:
        await run_in_threadpool(phone.start_activation, text)
    except DeviceError as error:
        _failed(request, error)
    return redirect(_home(phone))


async def finish_activation(request: Request) -> Response:
    """Step 2: device name, SMS code, the code chosen twice; the device becomes active."""
    form = await form_of(request)
    phone = _phone(request)
    try:
        on_hold = await run_in_threadpool(
            lambda: phone.finish_activation(
                device_name=form.get("nom"),
                sms_code=form.get("sms").strip(),
                code=form.get("code"),
                confirm=form.get("confirmation"),
                biometrics=form.has("biometrie"),
            )
        )
    except DeviceError as error:
        _failed(request, error)
        return redirect(_home(phone))
    name = " ".join(form.get("nom").split())
    if on_hold:
        flash(
            request,
            "info",
            f"« {name} » est enregistré, en attente : votre appareil actuel doit approuver ce "
            "nouvel appareil (ou, sans réponse, il s’activera à la fin du délai d’attente).",
            f"“{name}” is registered, on hold: your current device must approve this new "
            "device (or, without an answer, it becomes active when the hold ends).",
        )
    else:
        flash(
            request,
            "success",
            say("activated", "fr", name=name),
            say("activated", "en", name=name),
        )
    return redirect(_home(phone))


async def cancel_activation(request: Request) -> Response:
    """Abandon the activation in progress."""
    await form_of(request)
    phone = _phone(request)
    await run_in_threadpool(phone.cancel_activation)
    return redirect(_home(phone))


async def decide(request: Request) -> Response:
    """Valider (code or biometrics), Refuser, or Ce n'est pas moi."""
    form = await form_of(request)
    phone = _phone(request)
    operation_id = request.path_params["operation_id"]
    action = form.get("action")
    match = form.get("nombre").strip() or None
    try:
        if action == "valider":
            code = form.get("code")
            decided = await run_in_threadpool(phone.approve_with_code, operation_id, code, match)
            del code
            if decided.status == "pending":
                flash(request, "success", *_MORE_SIGNATURES)
                return redirect(_home(phone))
            words = ("approved", "approved")
        elif action == "biometrie":
            await run_in_threadpool(phone.approve_with_biometrics, operation_id, match)
            words = ("approved", "approved")
        elif action == "refuser":
            await run_in_threadpool(phone.reject, operation_id)
            words = ("rejected", "rejected")
        elif action == "pas-moi":
            await run_in_threadpool(phone.not_me, operation_id)
            words = ("not_me_done", "not_me_done")
        else:
            raise HTTPException(status_code=400)
    except DeviceError as error:
        _failed(request, error)
        return redirect(_home(phone, operation_id))
    flash(
        request,
        "success" if words[0] == "approved" else "info",
        say(words[0], "fr"),
        say(words[1], "en"),
    )
    return redirect(_home(phone))


async def forgot_code(request: Request) -> Response:
    """Code oublié: prove it is you (biometrics, or an SMS code and the bank's password)."""
    demo = services(request)
    phone = _phone(request)
    screen = await run_in_threadpool(phone.screen)
    number = _number(phone.slot)
    return render(
        request,
        "phone_forgot.html",
        area="phone",
        phone=phone,
        screen=screen,
        reset=phone.code_reset(),
        messages=await _messages(demo, number),
        number=number,
    )


def _forgot(phone: Phone) -> str:
    return f"/telephone/{phone.slot}/code-oublie"


def _code_reset_done(request: Request) -> None:
    flash(request, "success", say("code_reset_done", "fr"), say("code_reset_done", "en"))


async def reset_with_biometrics(request: Request) -> Response:
    """Code oublié with the device key and the simulated biometrics: the new code at once."""
    form = await form_of(request)
    phone = _phone(request)
    code, confirm = form.get("nouveau"), form.get("confirmation")
    try:
        await run_in_threadpool(phone.reset_with_biometrics, code, confirm)
    except DeviceError as error:
        _failed(request, error)
        return redirect(_forgot(phone))
    finally:
        del code, confirm
    _code_reset_done(request)
    return redirect(_home(phone))


async def start_sms_reset(request: Request) -> Response:
    """Code oublié by SMS, step 1: a 6-digit code goes to the registered phone number."""
    await form_of(request)
    phone = _phone(request)
    try:
        await run_in_threadpool(phone.start_sms_reset)
    except DeviceError as error:
        _failed(request, error)
        return redirect(_forgot(phone))
    flash(request, "info", say("reset_sms_sent", "fr"), say("reset_sms_sent", "en"))
    return redirect(_forgot(phone))


async def finish_sms_reset(request: Request) -> Response:
    """Code oublié by SMS, step 2: the SMS code, the online-banking password, the new code."""
    form = await form_of(request)
    phone = _phone(request)
    try:
        await run_in_threadpool(
            lambda: phone.finish_sms_reset(
                sms_code=form.get("sms").strip(),
                password=form.get("mot_de_passe"),
                code=form.get("nouveau"),
                confirm=form.get("confirmation"),
            )
        )
    except DeviceError as error:
        _failed(request, error)
        return redirect(_forgot(phone))
    _code_reset_done(request)
    return redirect(_home(phone))


async def reset_phone(request: Request) -> Response:
    """Forget this phone's local keys (a revoked device, or to activate it again)."""
    await form_of(request)
    phone = _phone(request)
    await run_in_threadpool(phone.forget)
    flash(
        request,
        "info",
        "Les clés de ce téléphone simulé sont effacées : activez-le à nouveau depuis votre banque.",
        "This simulated phone's keys are erased: activate it again from your bank.",
    )
    return redirect(_home(phone))


async def phone_events(request: Request) -> Response:
    """Tell the phone page when its pending operations or its state change."""
    phone = _phone(request)
    demo = services(request)

    async def stream() -> AsyncIterator[str]:
        async with demo.notifier.subscribe(f"phone:{phone.slot}") as subscription:
            yield event("state", await run_in_threadpool(demo.phones.state, phone.slot))
            quiet = 0.0
            while not demo.stopping.is_set():
                message = await subscription.get(_TICK)
                if message is not None:
                    quiet = 0.0
                    yield event("state", await run_in_threadpool(demo.phones.state, phone.slot))
                    continue
                quiet += _TICK
                if quiet >= _HEARTBEAT:
                    quiet = 0.0
                    yield ": keep-alive\n\n"

    return event_stream(stream())


def routes() -> list[BaseRoute]:
    """The phone's routes."""
    return [
        Route("/telephone/{slot}", phone_page),
        Route("/telephone/{slot}/activation", start_activation, methods=["POST"]),
        Route("/telephone/{slot}/activation/terminer", finish_activation, methods=["POST"]),
        Route("/telephone/{slot}/activation/annuler", cancel_activation, methods=["POST"]),
        Route("/telephone/{slot}/operations/{operation_id}", decide, methods=["POST"]),
        Route("/telephone/{slot}/code-oublie", forgot_code),
        Route("/telephone/{slot}/code-oublie/biometrie", reset_with_biometrics, methods=["POST"]),
        Route("/telephone/{slot}/code-oublie/sms", start_sms_reset, methods=["POST"]),
        Route("/telephone/{slot}/code-oublie/sms/terminer", finish_sms_reset, methods=["POST"]),
        Route("/telephone/{slot}/reinitialiser", reset_phone, methods=["POST"]),
        Route("/telephone/{slot}/evenements", phone_events),
    ]
