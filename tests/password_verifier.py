# SPDX-License-Identifier: Apache-2.0
"""A test double of the bank's online-banking password check (tests only, never shipped).

The server's tests and the end-to-end server plug it with
``SCEAU_PASSWORD_VERIFIER=tests.password_verifier:FixedPasswordVerifier``: it accepts one fixed
password, compared in constant time, and records who was checked (never the password).
"""

from __future__ import annotations

import hmac
import threading
from typing import ClassVar, Final

from sceau_server.services.verifier import PasswordCheck, PasswordRejected

__all__ = ["PASSWORD", "PATH", "FixedPasswordVerifier"]

PASSWORD: Final = "Mot-de-passe-banque-2026"
PATH: Final = "tests.password_verifier:FixedPasswordVerifier"


class FixedPasswordVerifier:
    """Accepts :data:`PASSWORD` for every customer; ``checked`` lists the customers asked about."""

    checked: ClassVar[list[str]] = []
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def verify(self, check: PasswordCheck) -> None:
        """Return for the fixed password; raise :class:`PasswordRejected` otherwise."""
        with self._lock:
            self.checked.append(check.user)
        if not hmac.compare_digest(check.password.encode("utf-8"), PASSWORD.encode("utf-8")):
            raise PasswordRejected("wrong online-banking password")
