# SPDX-License-Identifier: Apache-2.0
"""The Sceau authenticator: device SDK and command line.

Start with :class:`~sceau_device.activation.ActivationSession` to activate a device, then use
:class:`~sceau_device.authenticator.Authenticator` on the keystore profile it created. Every
protocol computation comes from :mod:`sceau_core`; every failure is a
:class:`~sceau_device.errors.DeviceError` carrying the customer's sentence.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sceau_device.activation import ActivationSession
    from sceau_device.authenticator import (
        Authenticator,
        Decided,
        DeviceStatus,
        PendingOperations,
        RefusedOperation,
        Removal,
    )
    from sceau_device.biometrics import PlatformAuthenticator, SimulatedBiometrics
    from sceau_device.errors import DeviceError, ExitCode
    from sceau_device.keystore import Keystore, Profile, default_keystore_path

# Each name is imported on first use (PEP 562), so that ``sceau-device --help`` does not load
# the whole SDK.
_HOMES = {
    "ActivationSession": "sceau_device.activation",
    "Authenticator": "sceau_device.authenticator",
    "Decided": "sceau_device.authenticator",
    "DeviceError": "sceau_device.errors",
    "DeviceStatus": "sceau_device.authenticator",
    "ExitCode": "sceau_device.errors",
    "Keystore": "sceau_device.keystore",
    "PendingOperations": "sceau_device.authenticator",
    "PlatformAuthenticator": "sceau_device.biometrics",
    "Profile": "sceau_device.keystore",
    "RefusedOperation": "sceau_device.authenticator",
    "Removal": "sceau_device.authenticator",
    "SimulatedBiometrics": "sceau_device.biometrics",
    "default_keystore_path": "sceau_device.keystore",
}

__all__ = [
    "ActivationSession",
    "Authenticator",
    "Decided",
    "DeviceError",
    "DeviceStatus",
    "ExitCode",
    "Keystore",
    "PendingOperations",
    "PlatformAuthenticator",
    "Profile",
    "RefusedOperation",
    "Removal",
    "SimulatedBiometrics",
    "default_keystore_path",
]


if not TYPE_CHECKING:
    # Hidden from type checkers, which would otherwise accept any name as an ``object``.

    def __getattr__(name: str) -> object:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value: object = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *_HOMES})
