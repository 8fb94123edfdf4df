# SPDX-License-Identifier: Apache-2.0
"""Biometrics (brief I1): a platform authenticator unlocks a separate key; no boolean is trusted.

A phone's platform authenticator (Android Keystore with ``setUserAuthenticationRequired`` and
``setInvalidatedByBiometricEnrollment``, iOS Secure Enclave with ``.biometryCurrentSet``) creates
a P-256 key that signs only after the user's fingerprint or face, and that is destroyed when the
enrolled biometrics change. The SDK asks it for a *signature* over the approval; the server
checks that signature with the inherence public key registered at activation. A "biometrics OK"
flag would prove nothing and is never sent.

:class:`PlatformAuthenticator` is that interface. :class:`SimulatedBiometrics` is the reference
software implementation, for tests and demos only: its keys are in a plain 0600 file, it reads no
fingerprint, and it says ``SIMULATION`` every time it is used.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final, Protocol, TextIO

from cryptography.hazmat.primitives.asymmetric import ec

from sceau_core.encoding import b64url_decode, b64url_encode
from sceau_core.errors import SceauError
from sceau_core.keys import encode_public_key, generate_private_key, sign_message
from sceau_device.errors import BiometricsError, BiometricsInvalidated

__all__ = [
    "SIMULATION_NOTICE",
    "PlatformAuthenticator",
    "SimulatedBiometrics",
    "biometrics_cancelled",
    "biometrics_invalidated",
]

SIMULATION_NOTICE: Final = (
    "SIMULATION : biométrie simulée par logiciel, aucune empreinte n’est lue "
    "(pour les tests et les démonstrations uniquement)."
)


def biometrics_cancelled() -> BiometricsError:
    """The error for a biometric check that the user cancelled or that failed."""
    return BiometricsError(
        "Vérification biométrique annulée ou échouée : rien n’a été signé.",
        "Biometric check cancelled or failed: nothing was signed.",
    )


def biometrics_invalidated() -> BiometricsInvalidated:
    """The error for a biometric key destroyed by a change of the enrolled biometrics."""
    return BiometricsInvalidated(
        "Les empreintes ou visages enregistrés sur cet appareil ont changé : la biométrie est "
        "désactivée pour Sceau. Validez avec votre code.",
        "The fingerprints or faces enrolled on this device changed: biometrics are disabled "
        "for Sceau. Approve with your code.",
    )


class PlatformAuthenticator(Protocol):
    """A platform authenticator holding keys that sign only after the user's biometrics."""

    name: str
    """A short name stored in the keystore profile (``"simulated"``, ``"android-keystore"``…)."""

    def create_key(self, alias: str) -> str:
        """Create a P-256 key under ``alias``; return its public key (b64url SEC1).

        The key must require user presence for every signature and **must be invalidated when
        the enrolled biometrics change** (a fingerprint or a face added or removed): from then
        on :meth:`sign` raises :class:`~sceau_device.errors.BiometricsInvalidated`, and the
        device asks for the code until biometrics are enrolled again (which needs the code).
        An existing key of that alias is replaced.
        """

    def sign(self, alias: str, *, label: str, message: bytes, prompt: str) -> bytes:
        """Ask the user's biometrics (showing ``prompt``), then sign ``label || 0 || message``.

        Returns the 64-byte ``r || s`` signature. Raises
        :class:`~sceau_device.errors.BiometricsError` when the user cancels or fails, and
        :class:`~sceau_device.errors.BiometricsInvalidated` when the key was invalidated by a
        change of enrollment.
        """

    def delete_key(self, alias: str) -> None:
        """Delete the key of ``alias``, if any."""


class SimulatedBiometrics:
    """A SIMULATION of a platform authenticator, for tests and demos; not a security feature.

    Keys live in ``state_path`` (JSON, mode 0600) with the simulated enrollment they were made
    under; :meth:`change_enrollment` plays "a new fingerprint was enrolled" and invalidates them.
    ``presence`` plays the user's finger: it receives the prompt and returns whether the check
    passed (by default it passes). Every use writes :data:`SIMULATION_NOTICE` to ``out``.
    """

    name = "simulated"

    def __init__(
        self,
        state_path: Path | str,
        *,
        presence: Callable[[str], bool] | None = None,
        out: TextIO | None = None,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.state_path = Path(state_path)
        self._presence = presence or (lambda _prompt: True)
        self._out = out
        self._rng = rng

    def _notice(self) -> None:
        print(SIMULATION_NOTICE, file=self._out or sys.stderr, flush=True)

    def create_key(self, alias: str) -> str:
        """Create a simulated biometric key; see :meth:`PlatformAuthenticator.create_key`."""
        self._notice()
        with self._state() as state:
            key = generate_private_key(self._rng)
            scalar = key.private_numbers().private_value.to_bytes(32, "big")
            state["keys"][alias] = {
                "d": b64url_encode(scalar),
                "enrollment": state["enrollment"],
            }
            return encode_public_key(key.public_key())

    def sign(self, alias: str, *, label: str, message: bytes, prompt: str) -> bytes:
        """Simulate the check, then sign; see :meth:`PlatformAuthenticator.sign`."""
        self._notice()
        with self._state() as state:
            entry = state["keys"].get(alias)
            if entry is None or entry["enrollment"] != state["enrollment"]:
                raise biometrics_invalidated()
            scalar = b64url_decode(entry["d"], length=32, field="simulated key")
        if not self._presence(prompt):
            raise biometrics_cancelled()
        key = ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())
        return sign_message(key, label=label, message=message)

    def delete_key(self, alias: str) -> None:
        """Delete a simulated key."""
        with self._state() as state:
            state["keys"].pop(alias, None)

    def change_enrollment(self) -> None:
        """Simulate enrolling or removing a fingerprint: every existing key becomes unusable."""
        self._notice()
        with self._state() as state:
            state["enrollment"] = b64url_encode(self._rng(16))

    def add_fingerprint(self) -> None:
        """Simulate "a fingerprint was added" in the phone's settings (see ``change_enrollment``).

        Afterwards biometric approvals and biometric code resets fail with
        :class:`~sceau_device.errors.BiometricsInvalidated`, and the device asks for the code.
        """
        self.change_enrollment()

    @contextlib.contextmanager
    def _state(self) -> Iterator[dict[str, Any]]:
        try:
            state = json.loads(self.state_path.read_bytes())
            if not isinstance(state, dict) or set(state) != {"simulation", "enrollment", "keys"}:
                raise ValueError("not a simulated biometrics file")
        except FileNotFoundError:
            state = {"simulation": True, "enrollment": b64url_encode(self._rng(16)), "keys": {}}
        except (ValueError, SceauError) as error:
            raise BiometricsError(
                "Les données de la biométrie simulée sont illisibles.",
                "The simulated biometrics data is unreadable.",
                detail=str(error),
            ) from error
        yield state
        self.state_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.state_path.with_name(self.state_path.name + ".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            json.dump(state, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.state_path)
