# SPDX-License-Identifier: Apache-2.0
"""Secrets at rest: AES-256-GCM wrapping under the master key, and the keyed-digest key.

Wrapped values are ``"v1." + base64url(nonce(12) || ciphertext || tag(16))``. The associated data
names what is wrapped (``"oprf-key:<activation id>"``), so a wrapped value copied to another row
does not unwrap there.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sceau_core.encoding import b64url_decode, b64url_encode

__all__ = ["KeyWrapper", "UnwrapError", "derive_key"]

_PREFIX = "v1."
_NONCE = 12


class UnwrapError(Exception):
    """A wrapped secret does not decrypt: another master key, another slot, or tampering."""


def derive_key(secret: str, info: str) -> bytes:
    """A 32-byte key derived from a configured secret string for one purpose."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"", info=info.encode("ascii")).derive(
        secret.encode("utf-8")
    )


class KeyWrapper:
    """Wraps and unwraps secrets with AES-256-GCM under a key derived from the master key."""

    def __init__(self, master_key: str) -> None:
        self._aead = AESGCM(derive_key(master_key, "sceau/v1/master-wrap"))

    def wrap(self, plaintext: bytes, *, slot: str) -> str:
        """Encrypt ``plaintext`` for ``slot`` (the associated data)."""
        nonce = os.urandom(_NONCE)
        return _PREFIX + b64url_encode(
            nonce + self._aead.encrypt(nonce, plaintext, slot.encode("utf-8"))
        )

    def unwrap(self, wrapped: str, *, slot: str) -> bytes:
        """Decrypt a value made by :meth:`wrap` for the same ``slot``."""
        if not wrapped.startswith(_PREFIX):
            raise UnwrapError("unknown wrapping format")
        data = b64url_decode(wrapped[len(_PREFIX) :], field="wrapped secret")
        try:
            return self._aead.decrypt(data[:_NONCE], data[_NONCE:], slot.encode("utf-8"))
        except InvalidTag as error:
            raise UnwrapError(f"the secret in slot {slot} does not unwrap") from error
