# SPDX-License-Identifier: Apache-2.0
"""The simulated phones: the Python device SDK running inside the demo process.

Each phone (a *slot*: the customer's, the operator's) is a real :mod:`sceau_device` keystore
under the data directory, with the explicit insecure file key (this is a demo: nothing here is a
secure element), and :class:`~sceau_device.biometrics.SimulatedBiometrics`. What the browser's
"phone" page does is what the app does: it activates with the code (or QR payload), the SMS code
and a chosen code; it shows the pending operations, each verified with the pinned server key;
it approves with the code or the simulated biometrics, refuses, or says "Ce n'est pas moi"; and
"Code oublié" runs the SDK's reset, with the simulated biometrics or with the SMS code and the
online-banking password (checked by the demo bank's verifier).

The code typed on the phone page is handed to the SDK object and dropped: the SDK blinds it for
the OPRF, so neither the code nor anything derived from it without the blind reaches the server,
and this module never logs, stores or echoes it.

A listener thread per active phone follows the device's server-sent events (the SDK's
:meth:`~sceau_device.authenticator.Authenticator.listen`) and publishes, on the demo's notifier
channel ``phone:<slot>``, that the phone's pending operations changed; the phone page's own
event stream turns that into a reload.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from sceau_core.operations import Operation
from sceau_device.activation import ActivationSession
from sceau_device.authenticator import (
    Authenticator,
    Decided,
    DeviceStatus,
    PendingOperations,
    check_new_code,
)
from sceau_device.biometrics import SimulatedBiometrics
from sceau_device.errors import (
    AuthenticationRefused,
    DeviceError,
    DeviceRevoked,
    InputError,
    KeystoreError,
    RequestRefused,
)
from sceau_device.keystore import Keystore, Profile
from sceau_device.lifecycle import ResetChallenge
from sceau_server.services.notifier import InProcessNotifier

__all__ = ["Phone", "PhoneScreen", "Phones"]

State = Literal["new", "activating", "active", "unavailable"]


@dataclass(frozen=True)
class PhoneScreen:
    """What the phone shows now: its state, its device, status and pending operations."""

    state: State
    device_name: str | None = None
    status: DeviceStatus | None = None
    pending: PendingOperations | None = None
    error: DeviceError | None = None
    server_fingerprint: str | None = None
    held: str | None = None
    """The name of a new device waiting, on hold, for this one's approval (brief L2)."""
    held_until: int | None = None
    """When that new device becomes active without an answer."""


class Phone:
    """One simulated phone; see the module docstring."""

    def __init__(
        self,
        slot: str,
        directory: Path,
        *,
        notifier: InProcessNotifier,
        sink: TextIO,
        server_url: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.slot = slot
        self.directory = directory
        self.server_url = server_url
        """The bank's Sceau server, which the app knows (for a typed activation code)."""
        self.keystore = Keystore(directory / "keystore.json", insecure_file_key=True)
        self.biometrics = SimulatedBiometrics(directory / "biometrics.json", out=sink)
        self._notifier = notifier
        self._clock = clock
        self._lock = threading.RLock()
        self._auth: Authenticator | None = None
        self._activation: ActivationSession | None = None
        self._registered = False
        self._listener: threading.Thread | None = None
        self._stop = threading.Event()
        self._reset: ResetChallenge | None = None
        self.version = 0
        """Grows at each change of the device's state that the page must show (lock lifted…)."""

    # --- state --------------------------------------------------------------------------------

    def profile(self) -> Profile | None:
        """The active profile this phone uses (the keystore's default when it is active)."""
        try:
            profiles = [p for p in self.keystore.profiles() if p.state == "active"]
            default = self.keystore.default_name()
        except DeviceError:
            return None
        for profile in profiles:
            if profile.name == default:
                return profile
        return profiles[-1] if profiles else None

    def authenticator(self) -> Authenticator | None:
        """The SDK authenticator of the active profile, or ``None`` before activation."""
        with self._lock:
            profile = self.profile()
            if profile is None:
                return None
            if self._auth is None or self._auth.profile.name != profile.name:
                if self._auth is not None:
                    self._auth.close()
                self._auth = Authenticator(
                    self.keystore, profile.name, biometrics=self.biometrics, clock=self._clock
                )
            return self._auth

    @property
    def activating(self) -> ActivationSession | None:
        """The activation in progress, once its server was verified and pinned."""
        return self._activation

    def current_pending_ids(self) -> list[str]:
        """The ids of the operations pending on this device now (a signed request), sorted."""
        auth = None if self._activation is not None else self.authenticator()
        if auth is None:
            return []
        try:
            return sorted(operation.id for operation in auth.pending().operations)
        except DeviceError:
            return []

    def screen(self) -> PhoneScreen:
        """Read the device's status and pending operations from the server (signed requests)."""
        if self._activation is not None:
            return PhoneScreen(
                state="activating",
                server_fingerprint=self._activation.server_key_fingerprint,
            )
        held, held_until = self._reconcile()
        auth = self.authenticator()
        if auth is None:
            return PhoneScreen(state="new")
        try:
            status = auth.status()
            pending = auth.pending()
        except DeviceError as error:
            return PhoneScreen(
                state="unavailable", device_name=auth.profile.device_name, error=error
            )
        return PhoneScreen(
            state="active",
            device_name=status.device_name or auth.profile.device_name,
            status=status,
            pending=pending,
            held=held,
            held_until=held_until,
        )

    def _reconcile(self) -> tuple[str | None, int | None]:
        """Follow a replacement: switch to a new device once the server made it active.

        A new activation on a phone that already has an active device may be put on hold by
        the server until the current device approves it (brief L2): both profiles live side by
        side meanwhile. Returns the name of a new device still on hold and the end of its hold,
        if any; forgets those the server refused (cancelled, or ended).
        """
        with self._lock:
            try:
                default = self.keystore.default_name()
                others = [
                    profile
                    for profile in self.keystore.profiles()
                    if profile.state == "active" and profile.name != default
                ]
            except DeviceError:
                return None, None
            held: tuple[str | None, int | None] = (None, None)
            for profile in others:
                candidate = Authenticator(self.keystore, profile.name, clock=self._clock)
                try:
                    status = candidate.status()
                except AuthenticationRefused:
                    with contextlib.suppress(DeviceError):
                        self.keystore.remove_profile(profile.name)
                    continue
                except DeviceError:
                    continue
                finally:
                    candidate.close()
                if status.status == "active":
                    self._switch_to(profile.name)
                    return None, None
                held = (profile.device_name, status.hold_until)
            return held

    def _switch_to(self, name: str) -> None:
        """Use profile ``name`` from now on and delete the others (their keys are revoked)."""
        with self._lock:
            self.stop_listener()
            self.keystore.set_default(name)
            for old in self.keystore.profiles():
                if old.name != name:
                    with contextlib.suppress(DeviceError):
                        self.keystore.remove_profile(old.name)
            self._reset_authenticator()
        self.start_listener()
        self.touch()

    # --- activation ---------------------------------------------------------------------------

    def start_activation(self, text: str) -> ActivationSession:
        """Read the activation code or QR payload and pin the server it authenticates."""
        with self._lock:
            self.cancel_activation()
            session = ActivationSession.start(
                self.keystore,
                text,
                server_url=self.server_url,
                profile_name=f"{self.slot}-{int(self._clock() * 1000)}",
                clock=self._clock,
            )
            self._activation = session
            self._registered = False
            return session

    def cancel_activation(self) -> None:
        """Abandon the activation in progress, if any."""
        with self._lock:
            if self._activation is not None:
                self._activation.abandon()
            self._activation = None
            self._registered = False

    def finish_activation(
        self, *, device_name: str, sms_code: str, code: str, confirm: str, biometrics: bool
    ) -> bool:
        """Register with the SMS code, choose the code (typed twice), commit; ``True`` on hold.

        The code is checked first (4 digits, not trivial, typed twice the same), so a refused
        code costs no SMS attempt. Raises a :class:`DeviceError` with the customer's words.
        When the server puts the new device on hold (this phone's current device must approve
        it), the current one stays in use until then (see :meth:`_reconcile`).
        """
        _check_choice(code, confirm)
        with self._lock:
            session = self._activation
            if session is None:
                raise KeystoreError(
                    "Aucune activation en cours : saisissez d’abord le code d’activation.",
                    "No activation in progress: type the activation code first.",
                )
            if not self._registered:
                session.register(device_name, sms_code)
                self._registered = True
            authenticator = session.choose_code(
                code, biometrics=self.biometrics if biometrics else None
            )
            del code, confirm
            new = authenticator.profile.name
            try:
                on_hold = authenticator.status().status == "on_hold"
            except DeviceError:
                on_hold = False
            finally:
                authenticator.close()
            self._activation = None
            self._registered = False
            if on_hold and self.profile() is not None:
                # The current device is asked to approve the new one: keep using it meanwhile.
                self.touch()
                return True
            self._switch_to(new)
        return False

    def forget(self) -> None:
        """Delete this phone's local profiles (after a revocation, or to start over)."""
        with self._lock:
            self.cancel_activation()
            self.stop_listener()
            self._reset_authenticator()
            for profile in self.keystore.profiles():
                with contextlib.suppress(DeviceError):
                    self.keystore.remove_profile(profile.name)
        self.touch()

    def close(self) -> None:
        """Close the authenticator's connections."""
        with self._lock:
            self._reset_authenticator()

    def _reset_authenticator(self) -> None:
        if self._auth is not None:
            self._auth.close()
        self._auth = None
        self._reset = None

    # --- deciding -----------------------------------------------------------------------------

    def _require(self) -> Authenticator:
        auth = self.authenticator()
        if auth is None:
            raise KeystoreError(
                "Ce téléphone n’est pas encore activé.", "This phone is not activated yet."
            )
        return auth

    def operation(self, operation_id: str) -> Operation:
        """The pending operation ``operation_id``, verified with the pinned server key."""
        return self._require().operation(operation_id)

    def approve_with_code(self, operation_id: str, code: str, match: str | None) -> Decided:
        """Valider with the code (and, for a login, the number shown on the web page)."""
        auth = self._require()
        operation = auth.operation(operation_id)
        try:
            return auth.approve_with_code(operation, code, match=match)
        finally:
            del code

    def approve_with_biometrics(self, operation_id: str, match: str | None) -> Decided:
        """Valider with the simulated biometrics."""
        auth = self._require()
        return auth.approve_with_biometrics(auth.operation(operation_id), match=match)

    def reject(self, operation_id: str) -> Decided:
        """Refuser."""
        auth = self._require()
        return auth.reject(auth.operation(operation_id))

    def not_me(self, operation_id: str) -> Decided:
        """Ce n'est pas moi."""
        auth = self._require()
        return auth.not_me(auth.operation(operation_id))

    # --- the forgotten code (brief L3) --------------------------------------------------------

    def code_reset(self) -> ResetChallenge | None:
        """The SMS reset waiting for its SMS code and password, while it is still valid."""
        reset = self._reset
        if reset is not None and reset.expires_at <= self._clock():
            self._reset = None
            return None
        return reset

    def reset_with_biometrics(self, code: str, confirm: str) -> None:
        """Code oublié with the device key and the (simulated) biometrics: ``code`` at once.

        The new code is checked first (4 digits, not trivial, typed twice the same).
        """
        _check_choice(code, confirm)
        auth = self._require()
        try:
            auth.reset_code_with_biometrics(code)
        finally:
            del code, confirm
        with self._lock:
            self._reset = None
        self.touch()

    def start_sms_reset(self) -> ResetChallenge:
        """Code oublié by SMS, step 1: the server sends a 6-digit code to the registered phone."""
        auth = self._require()
        reset = auth.start_code_reset("sms")
        with self._lock:
            self._reset = reset
        return reset

    def finish_sms_reset(self, *, sms_code: str, password: str, code: str, confirm: str) -> None:
        """Code oublié by SMS, step 2: the SMS code, the online-banking password, the new code.

        The bank's verifier checks the password; a wrong SMS code or password costs one of the
        reset's attempts (:class:`AuthenticationRefused` says how many are left); the last one
        ends the reset, and the customer asks for a new SMS code.
        """
        _check_choice(code, confirm)
        reset = self.code_reset()
        if reset is None:
            raise InputError(
                "Aucune réinitialisation en cours : demandez d’abord un code par SMS.",
                "No reset in progress: first ask for a code by text message.",
            )
        auth = self._require()
        try:
            auth.finish_code_reset(reset, code, sms_code=sms_code, password=password or None)
        except AuthenticationRefused as error:
            if not error.attempts_left:
                self._forget_reset(reset)
            raise
        except RequestRefused as error:
            if error.reason != "password_required":
                self._forget_reset(reset)
            raise
        finally:
            del code, confirm, password
        self._forget_reset(reset)
        self.touch()

    def _forget_reset(self, reset: ResetChallenge) -> None:
        with self._lock:
            if self._reset is reset:
                self._reset = None

    # --- listening ----------------------------------------------------------------------------

    def touch(self) -> None:
        """Tell the phone page that the device's state changed."""
        with self._lock:
            self.version += 1
        self._notifier.publish(f"phone:{self.slot}", "changed")

    def start_listener(self) -> None:
        """Follow the device's event stream in a background thread (if activated)."""
        auth = self.authenticator()
        with self._lock:
            if auth is None or (self._listener is not None and self._listener.is_alive()):
                return
            self._stop = threading.Event()
            self._listener = threading.Thread(
                target=self._listen,
                args=(auth, self._stop),
                name=f"sceau-demo-phone-{self.slot}",
                daemon=True,
            )
            self._listener.start()

    def stop_listener(self) -> None:
        """Ask the listener thread to stop (it ends at its next event or heartbeat)."""
        with self._lock:
            self._stop.set()
            self._listener = None

    def _listen(self, auth: Authenticator, stop: threading.Event) -> None:
        def arrived(_operation: Operation) -> None:
            self._notifier.publish(f"phone:{self.slot}", "changed")

        def gone(_operation_id: str) -> None:
            self._notifier.publish(f"phone:{self.slot}", "changed")

        while not stop.is_set():
            try:
                auth.listen(arrived, stop=stop, on_gone=gone, initial_backoff=0.5, max_backoff=5.0)
                return
            except (DeviceRevoked, AuthenticationRefused):
                # Revoked, replaced or suspended: the page shows it at its next reading.
                if not stop.is_set():
                    self.touch()
                return
            except Exception:
                if stop.is_set():
                    return
                stop.wait(1.0)


def _check_choice(code: str, confirm: str) -> None:
    """Refuse a new code that is not 4 digits, is trivial (brief K5), or was mistyped."""
    check_new_code(code)
    if code != confirm:
        raise InputError(
            "Les deux saisies du code sont différentes.", "The two codes typed differ."
        )


class Phones:
    """The demo's simulated phones, by slot."""

    def __init__(
        self,
        root: Path,
        slots: tuple[str, ...],
        *,
        notifier: InProcessNotifier,
        server_url: str,
    ) -> None:
        self.notifier = notifier
        self._sink = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.slots: dict[str, Phone] = {
            slot: Phone(
                slot, root / slot, notifier=notifier, sink=self._sink, server_url=server_url
            )
            for slot in slots
        }

    def __getitem__(self, slot: str) -> Phone:
        return self.slots[slot]

    def __contains__(self, slot: object) -> bool:
        return slot in self.slots

    def start(self) -> None:
        """Start the listener of every activated phone."""
        for phone in self.slots.values():
            phone.start_listener()

    def close(self) -> None:
        """Stop the listeners and close their connections (which ends their event streams)."""
        for phone in self.slots.values():
            phone.stop_listener()
            with contextlib.suppress(Exception):
                phone.close()
        self._sink.close()

    def state(self, slot: str) -> dict[str, Any]:
        """What the phone page's event stream sends: the pending ids and the state version.

        Blocking (a signed request): call it from a worker thread.
        """
        phone = self.slots[slot]
        return {"pending": phone.current_pending_ids(), "version": phone.version}
