# SPDX-License-Identifier: Apache-2.0
"""What the device learns about its credentials' lifecycle: its devices, a code reset started.

The requests themselves are :class:`~sceau_device.authenticator.Authenticator` methods
(``devices``, ``remove_device``, ``cancel_device``, ``device_approval``, ``enable_biometrics``,
``disable_biometrics``, ``start_code_reset``, ``finish_code_reset``,
``reset_code_with_biometrics``); this module holds the values they return and the customer's
sentences about them, French first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from sceau_device.errors import BiometricsInvalidated, InputError, ServerFailure

__all__ = [
    "RESET_METHODS",
    "DeviceInfo",
    "ResetChallenge",
    "ResetMethod",
    "find_device",
    "reset_biometrics_invalidated",
]

ResetMethod = Literal["biometric", "sms"]
RESET_METHODS: Final[tuple[ResetMethod, ...]] = ("biometric", "sms")


@dataclass(frozen=True)
class DeviceInfo:
    """One of the customer's devices, as the server lists it."""

    activation_id: str
    device_name: str | None
    status: str
    current: bool
    activated_at: int | None
    hold_until: int | None
    biometrics: bool
    locked_until: int | None
    blocked: bool

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> DeviceInfo:
        """Parse one entry of ``GET /v1/device/devices``."""
        try:
            return cls(
                activation_id=str(value["activation_id"]),
                device_name=value.get("device_name"),
                status=str(value["status"]),
                current=value.get("current") is True,
                activated_at=_int(value.get("activated_at")),
                hold_until=_int(value.get("hold_until")),
                biometrics=value.get("biometrics") is True,
                locked_until=_int(value.get("locked_until")),
                blocked=value.get("blocked") is True,
            )
        except (KeyError, TypeError) as error:
            raise ServerFailure(f"malformed device: {error}") from error


@dataclass(frozen=True)
class ResetChallenge:
    """A forgotten-code reset the server started: finish it before ``expires_at``.

    For the ``sms`` method the server has just sent a 6-digit code to the customer's phone.
    """

    reset_id: str
    method: ResetMethod
    challenge: str
    expires_at: int
    attempts_left: int

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> ResetChallenge:
        """Parse the answer of ``POST /v1/device/reset``."""
        try:
            assert value is not None
            method = value["method"]
            if method not in RESET_METHODS:
                raise TypeError(f"unknown method {method!r}")
            return cls(
                reset_id=str(value["reset_id"]),
                method=method,
                challenge=str(value["challenge"]),
                expires_at=int(value["expires_at"]),
                attempts_left=int(value["attempts_left"]),
            )
        except (AssertionError, KeyError, TypeError, ValueError) as error:
            raise ServerFailure(f"malformed reset: {error}") from error


def _int(value: object) -> int | None:
    return value if type(value) is int else None


def find_device(devices: Sequence[DeviceInfo], name_or_id: str) -> DeviceInfo:
    """The device whose activation id or name (any case) is ``name_or_id``.

    Raises :class:`InputError` when none matches or when several carry that name.
    """
    wanted = name_or_id.strip()
    for device in devices:
        if device.activation_id == wanted:
            return device
    named = [d for d in devices if (d.device_name or "").casefold() == wanted.casefold()]
    if len(named) == 1:
        return named[0]
    if not named:
        listed = ", ".join(f"« {d.device_name or d.activation_id} »" for d in devices) or "—"
        raise InputError(
            f"Aucun appareil « {wanted} ». Vos appareils : {listed}.",
            f"No device “{wanted}”. Your devices: {listed}.",
        )
    ids = ", ".join(d.activation_id for d in named)
    raise InputError(
        f"Plusieurs appareils s’appellent « {wanted} » : indiquez son identifiant ({ids}).",
        f"Several devices are named “{wanted}”: give its identifier ({ids}).",
    )


def reset_biometrics_invalidated() -> BiometricsInvalidated:
    """The error of a biometric reset after the enrolled biometrics changed."""
    return BiometricsInvalidated(
        "Les empreintes ou visages enregistrés sur cet appareil ont changé : la biométrie ne "
        "peut plus réinitialiser votre code. Réinitialisez-le par SMS, ou appelez votre banque.",
        "The fingerprints or faces enrolled on this device changed: biometrics can no longer "
        "reset your code. Reset it by SMS, or call your bank.",
    )
