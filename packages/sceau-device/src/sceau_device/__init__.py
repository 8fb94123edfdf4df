# SPDX-License-Identifier: Apache-2.0
"""The Sceau authenticator: device SDK and command line.

Start with :class:`~sceau_device.activation.ActivationSession` to activate a device, then use
:class:`~sceau_device.authenticator.Authenticator` on the keystore profile it created. Every
protocol computation comes from :mod:`sceau_core`; every failure is a
:class:`~sceau_device.errors.DeviceError` carrying the customer's sentence.
"""

from __future__ import annotations

# First: the package imports httpx without its command-line client (see the module).
import sceau_device._httpx  # noqa: F401
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
