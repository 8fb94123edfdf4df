# SPDX-License-Identifier: Apache-2.0
"""The bank's hook that checks a customer's online-banking password (brief L3).

A forgotten-code reset without biometrics needs the device key and an SMS code — two
possession elements, which are not strong authentication (RTS art. 4, 24(2)(b), 26) — plus a
knowledge element that only the bank can check: the customer's online-banking password. Sceau
never stores it; it hands it, once, to the bank's :class:`PasswordVerifier`, which may also
check personal data or the result of an identity proofing that the device collected
(``details``). Personal data alone is never enough: a reset request without a password is
refused before the verifier is called.

The bank plugs its verifier with ``SCEAU_PASSWORD_VERIFIER=package.module:Name``, where
``Name`` is a class or a factory called without arguments, or an object with a ``verify``
method. Without it, :class:`RefuseAllVerifier` refuses every SMS reset with a clear message,
and the customer is told to use biometrics or to call the bank.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sceau_server.settings import ConfigurationError

__all__ = [
    "PasswordCheck",
    "PasswordRejected",
    "PasswordVerifier",
    "RefuseAllVerifier",
    "VerifierUnavailable",
    "load_verifier",
]


@dataclass(frozen=True)
class PasswordCheck:
    """What the verifier is asked: is this the customer's online-banking password?

    ``user`` is the bank's own identifier of the customer (the external id); ``details`` holds
    the extra answers the bank's app collected (personal data, an identity-proofing reference),
    name to value, possibly empty. The password and the details are never logged or audited.
    """

    user: str
    password: str = field(repr=False)
    activation_id: str
    reset_id: str
    details: Mapping[str, str] = field(default_factory=dict, repr=False)


class PasswordRejected(Exception):
    """The password (or a detail) is wrong: the reset attempt counts as failed."""


class VerifierUnavailable(Exception):
    """The check cannot run now (no verifier configured, the bank's system is down).

    The attempt is not counted; the customer is told that this way of resetting the code is not
    available and to use biometrics or to call the bank. The message is for the server's log.
    """


@runtime_checkable
class PasswordVerifier(Protocol):
    """Checks a password; raises :class:`PasswordRejected` or :class:`VerifierUnavailable`.

    Returning normally means the password is right. The call happens inside the request that
    carries it (not inside a database transaction); it should answer within a few seconds and
    compare in constant time.
    """

    def verify(self, check: PasswordCheck) -> None:
        """Accept the password by returning, or refuse it by raising."""


class RefuseAllVerifier:
    """The default verifier: no bank hook is configured, so no SMS reset can succeed."""

    configured = False
    """Tells the reset service that SMS resets are unavailable (no SMS is sent for nothing)."""

    def verify(self, check: PasswordCheck) -> None:
        """Refuse, saying why in the server's log."""
        del check
        raise VerifierUnavailable(
            "no online-banking password verifier is configured: set SCEAU_PASSWORD_VERIFIER"
        )


def load_verifier(path: str | None) -> PasswordVerifier:
    """The verifier named by ``path`` (``package.module:Name`` or ``package.module.Name``).

    ``None`` gives :class:`RefuseAllVerifier`. Raises :class:`ConfigurationError` when the name
    cannot be imported or does not give an object with a ``verify`` method.
    """
    if not path:
        return RefuseAllVerifier()
    module_name, separator, attribute = path.partition(":")
    if not separator:
        module_name, _, attribute = path.rpartition(".")
    if not module_name or not attribute:
        raise ConfigurationError("SCEAU_PASSWORD_VERIFIER must be package.module:Name")
    try:
        target = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ConfigurationError(f"SCEAU_PASSWORD_VERIFIER: cannot import {path}") from error
    verifier = target if callable(getattr(target, "verify", None)) else None
    if verifier is None or isinstance(target, type):
        if not callable(target):
            raise ConfigurationError(f"SCEAU_PASSWORD_VERIFIER: {path} is not a verifier")
        verifier = target()
    if not isinstance(verifier, PasswordVerifier):
        raise ConfigurationError(f"SCEAU_PASSWORD_VERIFIER: {path} has no verify method")
    return verifier
