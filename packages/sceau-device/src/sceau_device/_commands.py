# SPDX-License-Identifier: Apache-2.0
"""The commands of ``sceau-device``, run once :mod:`sceau_device.cli` has read the command line.

Kept apart so that ``--help`` and a refused command line load only argparse: this module
brings in the whole SDK (keystore, protocol core, HTTP client).
"""

from __future__ import annotations

import argparse
import getpass
import json
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from sceau_core.display import TEXT
from sceau_core.operations import Operation, OperationType
from sceau_device.activation import ActivationSession
from sceau_device.authenticator import Authenticator, Decided, check_new_code
from sceau_device.biometrics import PlatformAuthenticator, SimulatedBiometrics
from sceau_device.display import operation_json, render_operation, summary_line
from sceau_device.errors import (
    FINAL_LOCK_WARNING,
    AuthenticationRefused,
    BiometricsError,
    BiometricsInvalidated,
    DeviceError,
    ExitCode,
    InputError,
    Locked,
)
from sceau_device.keystore import Keystore, default_keystore_path
from sceau_device.lifecycle import DeviceInfo, ResetChallenge
from sceau_device.texts import format_time, say

__all__ = ["Console", "run"]


class Console:
    """Where the command reads and writes: prompts on stderr, results on stdout."""

    def __init__(
        self,
        *,
        lang: str,
        json_output: bool,
        code_stdin: bool,
        stdin: TextIO,
        stdout: TextIO,
        stderr: TextIO,
    ) -> None:
        self.lang = lang
        self.json = json_output
        self.code_stdin = code_stdin
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr

    @property
    def interactive(self) -> bool:
        """Whether a person can answer prompts."""
        return not self.code_stdin and self.stdin.isatty()

    def say(self, key: str, **values: object) -> str:
        """A fixed sentence in the command's language."""
        return say(key, self.lang, **values)

    def out(self, line: str = "") -> None:
        """A line of human output (on stderr in JSON mode, so stdout stays JSON)."""
        print(line, file=self.stderr if self.json else self.stdout, flush=True)

    def info(self, line: str) -> None:
        """A status line, always on stderr."""
        print(line, file=self.stderr, flush=True)

    def emit(self, value: dict[str, Any]) -> None:
        """One JSON result on stdout (JSON mode only)."""
        if self.json:
            print(json.dumps(value, ensure_ascii=False), file=self.stdout, flush=True)

    def ask(self, prompt: str) -> str:
        """A visible answer (activation code, SMS code, login number, choice)."""
        if self.code_stdin or not self.stdin.isatty():
            print(prompt, end="", file=self.stderr, flush=True)
            line = self.stdin.readline()
            if not line:
                raise InputError(
                    f"Réponse attendue sur l’entrée standard : {prompt.strip()}",
                    f"Answer expected on standard input: {prompt.strip()}",
                )
            return line.strip()
        print(prompt, end="", file=self.stderr, flush=True)
        return self.stdin.readline().strip()

    def secret(self, prompt: str) -> str:
        """A masked answer (the code): from standard input with ``--code-stdin``."""
        if self.code_stdin:
            line = self.stdin.readline()
            if not line:
                raise InputError(
                    "Code attendu sur l’entrée standard (--code-stdin), une ligne par code.",
                    "Code expected on standard input (--code-stdin), one line per code.",
                )
            return line.strip()
        if not self.stdin.isatty():
            raise InputError(
                "Saisie masquée impossible hors d’un terminal : utilisez --code-stdin.",
                "Masked input needs a terminal: use --code-stdin.",
            )
        return getpass.getpass(prompt, stream=self.stderr).strip()

    def confirm(self, key: str, yes: bool) -> bool:
        """Ask a yes/no question, unless ``--yes`` or a script (which means yes)."""
        return self.confirm_text(self.say(key), yes)

    def confirm_text(self, question: str, yes: bool) -> bool:
        """Ask the yes/no ``question``, unless ``--yes`` or a script (which means yes)."""
        if yes or self.json or not self.interactive:
            return True
        return self.ask(question).lower().startswith(self.say("yes"))


def _keystore(arguments: argparse.Namespace, console: Console) -> Keystore:
    keystore = Keystore(
        arguments.keystore or default_keystore_path(),
        insecure_file_key=arguments.insecure_file_key,
    )
    kind = keystore.wrapping_kind
    if kind == "insecure-file" or (kind is None and arguments.insecure_file_key):
        console.info(console.say("insecure_key", path=keystore.key_file))
    return keystore


def _biometrics_for(keystore: Keystore, console: Console) -> SimulatedBiometrics:
    return SimulatedBiometrics(
        keystore.path.with_name("simulated-biometrics.json"), out=console.stderr
    )


def _authenticator(arguments: argparse.Namespace, console: Console) -> Authenticator:
    keystore = _keystore(arguments, console)
    profile = keystore.get(arguments.profile)
    biometrics: PlatformAuthenticator | None = None
    if profile.inherence == SimulatedBiometrics.name:
        biometrics = _biometrics_for(keystore, console)
    return Authenticator(keystore, profile.name, biometrics=biometrics)


def run(arguments: argparse.Namespace, console: Console) -> ExitCode:
    command = arguments.command
    if command == "activate":
        return _activate(arguments, console)
    if command == "profiles":
        return _profiles(arguments, console)
    with _authenticator(arguments, console) as authenticator:
        handlers: dict[str, Callable[[Authenticator, argparse.Namespace, Console], ExitCode]] = {
            "list": _list,
            "pending": _list,
            "show": _show,
            "approve": _approve,
            "reject": _refuse,
            "not-me": _refuse,
            "listen": _listen,
            "change-code": _change_code,
            "status": _status,
            "remove": _remove,
            "reset-code": _reset_code,
            "devices": _devices,
            "remove-device": _remove_device,
            "cancel-device": _cancel_device,
            "approve-device": _approve_device,
            "biometrics": _biometrics,
        }
        return handlers[command](authenticator, arguments, console)


# --- activation and profiles ------------------------------------------------------------------


def _choose_code(console: Console) -> str:
    while True:
        code = console.secret(console.say("choose_code"))
        try:
            check_new_code(code)
        except InputError as error:
            if not console.interactive:
                raise
            console.info(error.message(console.lang))
            continue
        if console.code_stdin:
            return code
        if console.secret(console.say("confirm_code")) == code:
            return code
        console.info(console.say("codes_differ"))


def _activate(arguments: argparse.Namespace, console: Console) -> ExitCode:
    keystore = _keystore(arguments, console)
    code: str | None = None
    if console.code_stdin:
        code = _choose_code(console)  # checked before anything is sent
    activation = arguments.activation or console.ask(console.say("activation_prompt"))
    server = arguments.server
    if not activation.lower().startswith("sceau:") and not server and console.interactive:
        server = console.ask(console.say("server_prompt"))
    session = ActivationSession.start(
        keystore, activation, server_url=server, profile_name=arguments.profile
    )
    finished = False
    try:
        console.out(console.say("server_checked", url=session.binding.server_url))
        console.out(console.say("fingerprint", fingerprint=session.server_key_fingerprint))
        name = arguments.name
        if not name:
            default = socket.gethostname() or "Ordinateur"
            name = console.ask(console.say("device_name_prompt")) if console.interactive else ""
            name = name or default
        sms = arguments.sms_code
        while True:
            if not sms:
                sms = console.ask(console.say("sms_prompt"))
            try:
                session.register(name, sms)
                break
            except AuthenticationRefused as error:
                if not console.interactive or arguments.sms_code or not error.attempts_left:
                    raise
                console.info(error.message(console.lang))
                sms = None
        console.out(console.say("registered"))
        if code is None:
            code = _choose_code(console)
        biometrics = _biometrics_for(keystore, console) if arguments.biometrics else None
        authenticator = session.choose_code(code, biometrics=biometrics)
        del code
        finished = True
    finally:
        if not finished:
            session.abandon()
    profile = authenticator.profile
    authenticator.close()
    console.out(console.say("activated", name=profile.device_name))
    if session.hold_until is not None:
        console.out(console.say("on_hold", until=format_time(session.hold_until, console.lang)))
    console.emit(
        {
            "ok": True,
            "status": "on_hold" if session.hold_until is not None else "active",
            "hold_until": session.hold_until,
            "profile": profile.name,
            "activation_id": profile.activation_id,
            "device_name": profile.device_name,
            "server_url": profile.server_url,
            "server_key_fingerprint": session.server_key_fingerprint,
            "biometrics": profile.inherence is not None,
        }
    )
    return ExitCode.OK


def _profiles(arguments: argparse.Namespace, console: Console) -> ExitCode:
    keystore = _keystore(arguments, console)
    profiles = keystore.profiles()
    default = keystore.default_name()
    if not profiles:
        console.out(console.say("profiles_none"))
    for profile in profiles:
        console.out(
            console.say(
                "profile_line",
                marker="*" if profile.name == default else " ",
                name=profile.name,
                device=profile.device_name,
                url=profile.server_url,
                state=profile.state,
            )
        )
    console.emit(
        {
            "ok": True,
            "default": default,
            "profiles": [
                {
                    "name": p.name,
                    "device_name": p.device_name,
                    "server_url": p.server_url,
                    "activation_id": p.activation_id,
                    "state": p.state,
                    "biometrics": p.inherence is not None,
                }
                for p in profiles
            ],
        }
    )
    return ExitCode.OK


# --- operations ---------------------------------------------------------------------------


def _show_operation(authenticator: Authenticator, operation: Operation, console: Console) -> None:
    for line in render_operation(
        operation,
        device_name=authenticator.profile.device_name,
        now=authenticator.now(),
        locale=console.lang,
    ):
        console.out(line)


def _list(
    authenticator: Authenticator, _arguments: argparse.Namespace, console: Console
) -> ExitCode:
    pending = authenticator.pending()
    for refused in pending.refused:
        console.info(console.say("refused_operation") + f" ({refused.operation_id or '?'})")
    now = authenticator.now()
    if not pending.operations:
        console.out(console.say("no_pending"))
    else:
        console.out(console.say("pending_count", n=len(pending.operations)))
        for operation in pending.operations:
            console.out("  " + summary_line(operation, now=now, locale=console.lang))
    console.emit(
        {
            "ok": True,
            "operations": [operation_json(op, now=now) for op in pending.operations],
            "refused": [
                {"id": refused.operation_id, "reason": refused.reason}
                for refused in pending.refused
            ],
            "attempts_left": pending.attempts_left,
            "locked_until": pending.locked_until,
            "blocked": pending.blocked,
        }
    )
    return ExitCode.SECURITY if pending.refused else ExitCode.OK


def _show(
    authenticator: Authenticator, arguments: argparse.Namespace, console: Console
) -> ExitCode:
    operation = authenticator.operation(arguments.operation)
    _show_operation(authenticator, operation, console)
    console.emit({"ok": True, "operation": operation_json(operation, now=authenticator.now())})
    return ExitCode.OK


def _decided(decided: Decided, operation: Operation, console: Console) -> ExitCode:
    key = {"approved": "approved", "rejected": "rejected", "not_me": "not_me_done"}.get(
        decided.status, "rejected"
    )
    console.out(console.say(key))
    console.emit(
        {
            "ok": True,
            "operation": decided.operation_id,
            "status": decided.status,
            "decision": decided.decision.value,
            "factors": [factor.value for factor in decided.factors],
            "display": list(operation.display),
        }
    )
    return ExitCode.OK


def _match_for(operation: Operation, given: str | None, console: Console) -> str | None:
    if operation.type is not OperationType.LOGIN:
        return None
    if given:
        return given
    return console.ask(console.say("match_prompt"))


def _approve_one(
    authenticator: Authenticator,
    operation: Operation,
    console: Console,
    *,
    biometrics: bool,
    match: str | None,
) -> Decided:
    match = _match_for(operation, match, console)
    if biometrics:
        try:
            return authenticator.approve_with_biometrics(operation, match=match)
        except BiometricsInvalidated as error:
            # The enrolled biometrics changed: the device asks for the code (brief I1).
            if not (console.interactive or console.code_stdin):
                raise
            console.info(error.message(console.lang))
    while True:
        code = console.secret(console.say("enter_code_prompt"))
        try:
            return authenticator.approve_with_code(operation, code, match=match)
        except Locked:
            raise
        except AuthenticationRefused as error:
            if not console.interactive or not error.attempts_left:
                raise
            console.info(error.message(console.lang))
        except InputError as error:
            if not console.interactive:
                raise
            console.info(error.message(console.lang))


def _approve(
    authenticator: Authenticator, arguments: argparse.Namespace, console: Console
) -> ExitCode:
    operation = authenticator.operation(arguments.operation)
    _show_operation(authenticator, operation, console)
    decided = _approve_one(
        authenticator,
        operation,
        console,
        biometrics=arguments.biometrics,
        match=arguments.match,
    )
    return _decided(decided, operation, console)


def _refuse(
    authenticator: Authenticator, arguments: argparse.Namespace, console: Console
) -> ExitCode:
    operation = authenticator.operation(arguments.operation)
    _show_operation(authenticator, operation, console)
    not_me = arguments.command == "not-me"
    if not console.confirm("confirm_not_me" if not_me else "confirm_reject", arguments.yes):
        console.out(console.say("later"))
        console.emit({"ok": True, "operation": operation.id, "status": "pending"})
        return ExitCode.OK
    decided = authenticator.not_me(operation) if not_me else authenticator.reject(operation)
    return _decided(decided, operation, console)


def _listen(
    authenticator: Authenticator, arguments: argparse.Namespace, console: Console
) -> ExitCode:
    stop = threading.Event()
    incoming: queue.Queue[Operation | BaseException] = queue.Queue()
    decided_here: set[str] = set()
    handled = 0

    def gone(operation_id: str) -> None:
        if operation_id not in decided_here:
            console.info(console.say("gone", id=operation_id))

    def worker() -> None:
        try:
            authenticator.listen(
                incoming.put,
                stop=stop,
                on_refused=lambda refused: console.info(
                    console.say("refused_operation") + f" ({refused.operation_id or '?'})"
                ),
                on_gone=gone,
                on_disconnect=lambda _error, delay: console.info(
                    console.say("reconnecting", seconds=round(delay))
                ),
            )
        except BaseException as error:  # handed to the main thread, which reports it
            incoming.put(error)

    thread = threading.Thread(target=worker, name="sceau-listen", daemon=True)
    thread.start()
    console.info(console.say("listening"))
    deadline = None if arguments.timeout is None else time.monotonic() + arguments.timeout
    try:
        while arguments.count is None or handled < arguments.count:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                break
            try:
                item = incoming.get(timeout=wait)
            except queue.Empty:
                break
            if isinstance(item, BaseException):
                raise item
            handled += 1
            if console.json:
                console.emit(operation_json(item, now=authenticator.now()))
                continue
            _show_operation(authenticator, item, console)
            if console.interactive:
                decided_here.add(item.id)
                if not _decide_interactively(authenticator, item, console):
                    decided_here.discard(item.id)
    finally:
        stop.set()
    return ExitCode.OK


def _decide_interactively(
    authenticator: Authenticator, operation: Operation, console: Console
) -> bool:
    """Ask Valider / Refuser / Ce n'est pas moi / Plus tard; return whether it was decided."""
    text = TEXT[console.lang]
    console.out(
        console.say(
            "choice", approve=text["approve"], decline=text["decline"], not_me=text["not_me"]
        )
    )
    choice = console.ask(console.say("choice_prompt")).strip().lower()[:1]
    keys = ("v", "r", "c", "p") if console.lang == "fr" else ("a", "d", "n", "l")
    try:
        if choice == keys[0]:
            use_biometrics = authenticator.profile.inherence is not None
            try:
                decided = _approve_one(
                    authenticator, operation, console, biometrics=use_biometrics, match=None
                )
            except BiometricsError as error:
                console.info(error.message(console.lang))
                decided = _approve_one(
                    authenticator, operation, console, biometrics=False, match=None
                )
            _decided(decided, operation, console)
        elif choice == keys[1]:
            _decided(authenticator.reject(operation), operation, console)
        elif choice == keys[2]:
            _decided(authenticator.not_me(operation), operation, console)
        else:
            console.out(console.say("later"))
            return False
    except DeviceError as error:
        if isinstance(error, InputError | AuthenticationRefused) or error.exit_code in (
            ExitCode.UNAVAILABLE,
        ):
            console.info(error.message(console.lang))
            return False
        raise
    return True


# --- lifecycle ----------------------------------------------------------------------------


def _change_code(
    authenticator: Authenticator, _arguments: argparse.Namespace, console: Console
) -> ExitCode:
    old = console.secret(console.say("old_code"))
    new = console.secret(console.say("new_code"))
    while True:
        try:
            check_new_code(new)
        except InputError as error:
            if not console.interactive:
                raise
            console.info(error.message(console.lang))
            new = console.secret(console.say("new_code"))
            continue
        if console.code_stdin or console.secret(console.say("confirm_code")) == new:
            break
        console.info(console.say("codes_differ"))
        new = console.secret(console.say("new_code"))
    authenticator.change_code(old, new)
    del old, new
    console.out(console.say("code_changed"))
    console.emit({"ok": True, "code_changed": True})
    return ExitCode.OK


def _status(
    authenticator: Authenticator, _arguments: argparse.Namespace, console: Console
) -> ExitCode:
    status = authenticator.status()
    pending = authenticator.pending() if status.status == "active" else None
    profile = authenticator.profile
    state_key = f"state_{status.status}"
    from sceau_device.texts import WORDS

    state = (
        console.say(state_key)
        if state_key in WORDS["fr"]
        else console.say("state_other", state=status.status)
    )
    console.out(console.say("status_profile", profile=profile.name, url=profile.server_url))
    console.out(console.say("status_name", name=status.device_name or profile.device_name))
    console.out(console.say("status_state", state=state))
    locked_until = status.locked_until or (pending.locked_until if pending else None)
    blocked = status.blocked or (pending.blocked if pending else False)
    if blocked:
        console.out(console.say("status_blocked"))
    elif locked_until:
        console.out(console.say("status_locked", until=format_time(locked_until, console.lang)))
    if status.next_lock_final:
        console.out(FINAL_LOCK_WARNING[console.lang])
    if status.hold_until is not None:
        console.out(console.say("status_hold", until=format_time(status.hold_until, console.lang)))
    if pending is not None:
        console.out(console.say("status_attempts", n=pending.attempts_left))
    console.out(
        console.say("status_biometrics", state=console.say("on" if status.inherence else "off"))
    )
    console.emit(
        {
            "ok": True,
            "profile": profile.name,
            "server_url": profile.server_url,
            "activation_id": status.activation_id,
            "device_name": status.device_name,
            "status": status.status,
            "locked_until": locked_until,
            "blocked": blocked,
            "attempts_left": None if pending is None else pending.attempts_left,
            "pending": None if pending is None else len(pending.operations),
            "biometrics": status.inherence,
            "counter": status.counter,
            "hold_until": status.hold_until,
            "next_lock_final": status.next_lock_final,
        }
    )
    return ExitCode.OK


def _remove(
    authenticator: Authenticator, arguments: argparse.Namespace, console: Console
) -> ExitCode:
    if not console.confirm("confirm_remove", arguments.yes):
        return ExitCode.OK
    removal = authenticator.remove()
    console.out(console.say("removed"))
    console.emit(
        {"ok": True, "profile": removal.profile, "server_confirmed": removal.server_confirmed}
    )
    return ExitCode.OK


# --- the forgotten code, devices, biometrics (issue 5) --------------------------------------------


def _reset_method(
    authenticator: Authenticator, arguments: argparse.Namespace, console: Console
) -> str:
    if arguments.biometric:
        return "biometric"
    if arguments.sms:
        return "sms"
    if authenticator.profile.inherence is None:
        return "sms"
    if not console.interactive:
        raise InputError(
            "Choisissez la méthode : --biometric ou --sms.",
            "Choose the method: --biometric or --sms.",
        )
    while True:
        console.out(console.say("reset_choice"))
        choice = console.ask(console.say("reset_choice_prompt")).strip().lower()[:1]
        if choice in ("b", "s"):
            return "biometric" if choice == "b" else "sms"


def _reset_code(
    authenticator: Authenticator, arguments: argparse.Namespace, console: Console
) -> ExitCode:
    """Code oublié: a new code, after biometrics or an SMS code and the online-banking password."""
    method = _reset_method(authenticator, arguments, console)
    new = _choose_code(console)  # refused at once when trivial (brief K5)
    if method == "biometric":
        authenticator.reset_code_with_biometrics(new)
    else:
        reset = authenticator.start_code_reset("sms")
        console.info(console.say("reset_sms_sent"))
        _finish_sms_reset(authenticator, reset, new, console)
    del new
    console.out(console.say("code_reset_done"))
    console.emit({"ok": True, "code_reset": True, "method": method})
    return ExitCode.OK


def _finish_sms_reset(
    authenticator: Authenticator, reset: ResetChallenge, new: str, console: Console
) -> None:
    """Ask the SMS code and the password until they are accepted or the attempts run out.

    With ``--code-stdin`` each attempt reads one SMS-code line and one password line; when the
    input ends, the last refusal is the command's answer.
    """
    last: AuthenticationRefused | None = None
    while True:
        try:
            sms = console.ask(console.say("reset_sms_prompt"))
            password = console.secret(console.say("reset_password_prompt"))
        except InputError:
            if last is not None:
                raise last from None
            raise
        try:
            authenticator.finish_code_reset(reset, new, sms_code=sms, password=password)
            return
        except AuthenticationRefused as error:
            retry = console.interactive or console.code_stdin
            if isinstance(error, Locked) or not retry or not error.attempts_left:
                raise
            console.info(error.message(console.lang))
            last = error
        except InputError as error:
            if not console.interactive:
                raise
            console.info(error.message(console.lang))
        finally:
            del password


def _device_json(device: DeviceInfo) -> dict[str, Any]:
    return {
        "activation_id": device.activation_id,
        "device_name": device.device_name,
        "status": device.status,
        "current": device.current,
        "activated_at": device.activated_at,
        "hold_until": device.hold_until,
        "biometrics": device.biometrics,
        "locked_until": device.locked_until,
        "blocked": device.blocked,
    }


def _device_state(device: DeviceInfo, console: Console) -> str:
    from sceau_device.texts import WORDS

    key = f"state_{device.status}"
    state = console.say(key) if key in WORDS["fr"] else device.status
    if device.hold_until is not None:
        state = console.say("status_hold", until=format_time(device.hold_until, console.lang))
    return state


def _devices(
    authenticator: Authenticator, _arguments: argparse.Namespace, console: Console
) -> ExitCode:
    devices = authenticator.devices()
    if not devices:
        console.out(console.say("devices_none"))
    else:
        console.out(console.say("devices_count", n=len(devices)))
    for device in devices:
        console.out(
            console.say(
                "device_line",
                marker="*" if device.current else " ",
                name=device.device_name or "?",
                state=_device_state(device, console),
                id=device.activation_id,
            )
        )
    console.emit({"ok": True, "devices": [_device_json(device) for device in devices]})
    return ExitCode.OK


def _remove_device(
    authenticator: Authenticator, arguments: argparse.Namespace, console: Console
) -> ExitCode:
    if not console.confirm_text(
        console.say("confirm_remove_device", name=arguments.name), arguments.yes
    ):
        return ExitCode.OK
    removed = authenticator.remove_device(arguments.name)
    console.out(console.say("device_removed", name=removed.device_name or removed.activation_id))
    console.emit({"ok": True, "removed": _device_json(removed)})
    return ExitCode.OK


def _cancel_device(
    authenticator: Authenticator, arguments: argparse.Namespace, console: Console
) -> ExitCode:
    label = arguments.name or "?"
    if not console.confirm_text(console.say("confirm_cancel_device", name=label), arguments.yes):
        return ExitCode.OK
    cancelled = authenticator.cancel_device(arguments.name)
    name = cancelled.device_name or cancelled.activation_id
    console.out(console.say("device_cancelled", name=name))
    console.emit({"ok": True, "cancelled": _device_json(cancelled)})
    return ExitCode.OK


def _approve_device(
    authenticator: Authenticator, arguments: argparse.Namespace, console: Console
) -> ExitCode:
    operation = authenticator.device_approval()
    _show_operation(authenticator, operation, console)
    decided = _approve_one(
        authenticator, operation, console, biometrics=arguments.biometrics, match=None
    )
    return _decided(decided, operation, console)


def _biometrics(
    authenticator: Authenticator, arguments: argparse.Namespace, console: Console
) -> ExitCode:
    platform = _biometrics_for(authenticator.keystore, console)
    if arguments.action == "simulate-change":
        platform.add_fingerprint()
        console.out(console.say("biometrics_changed"))
        console.emit({"ok": True, "simulated": "enrollment_changed"})
        return ExitCode.OK
    code = console.secret(console.say("enter_code_prompt"))
    if arguments.action == "enable":
        authenticator.enable_biometrics(code, platform)
        console.out(console.say("biometrics_enabled"))
    else:
        authenticator.disable_biometrics(code)
        console.out(console.say("biometrics_disabled"))
    del code
    console.emit({"ok": True, "biometrics": arguments.action == "enable"})
    return ExitCode.OK
