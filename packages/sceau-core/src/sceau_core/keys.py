# SPDX-License-Identifier: Apache-2.0
"""P-256 keys as Sceau carries them: encodings, fingerprints, signing and verification.

- A public key travels as base64url of its 65-byte uncompressed SEC1 point (``04 || x || y``).
- A key fingerprint is base64url(SHA-256(those 65 bytes)).
- A signature is ECDSA P-256 with SHA-256, as 64 bytes ``r || s`` (the JWS and RFC 9421 form),
  carried as base64url. Every signed Sceau message starts with a domain label (see
  :func:`sign_message`) so that a signature made for one purpose is never valid for another.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from cryptography.exceptions import InvalidSignature as _CryptographyInvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sceau_core.encoding import b64url_decode, b64url_encode, sha256
from sceau_core.errors import InvalidEncoding, InvalidSignature
from sceau_core.hazmat.p256 import (
    ECDSA_SHA256,
    ECDSA_SHA256_DETERMINISTIC,
    der_to_raw_signature,
    private_key_from_seed,
    raw_to_der_signature,
)

__all__ = [
    "PUBLIC_KEY_LENGTH",
    "SIGNATURE_LENGTH",
    "decode_public_key",
    "encode_public_key",
    "generate_private_key",
    "key_fingerprint",
    "public_key_bytes",
    "sign_message",
    "verify_message",
]

PUBLIC_KEY_LENGTH = 65
SIGNATURE_LENGTH = 64


def generate_private_key(rng: Callable[[int], bytes]) -> ec.EllipticCurvePrivateKey:
    """Draw a fresh P-256 key from 32 bytes of ``rng``."""
    return private_key_from_seed(rng(32), salt=b"", info=b"sceau/v1/keygen")


def public_key_bytes(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """The 65-byte uncompressed SEC1 encoding of a P-256 public key."""
    return public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def encode_public_key(public_key: ec.EllipticCurvePublicKey) -> str:
    """base64url of the uncompressed SEC1 point."""
    return b64url_encode(public_key_bytes(public_key))


def decode_public_key(text: str, *, field: str = "public key") -> ec.EllipticCurvePublicKey:
    """Parse a base64url uncompressed P-256 point, refusing points not on the curve."""
    data = b64url_decode(text, length=PUBLIC_KEY_LENGTH, field=field)
    if data[0] != 0x04:
        raise InvalidEncoding(f"{field} must be an uncompressed P-256 point")
    try:
        return _p256_point(data)
    except ValueError as error:
        raise InvalidEncoding(f"{field} is not a point on P-256") from error


@functools.lru_cache(maxsize=1024)
def _p256_point(data: bytes) -> ec.EllipticCurvePublicKey:
    # A device's key is read for each request it signs and for its approval: the point's
    # on-curve check runs once per key. A point refused raises, and refusals are not cached.
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), data)


def key_fingerprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """base64url(SHA-256(uncompressed SEC1 point))."""
    return b64url_encode(sha256(public_key_bytes(public_key)))


def _labelled(label: str, message: bytes) -> bytes:
    if not label or "\x00" in label:
        raise ValueError("a signature label must be non-empty and contain no NUL")
    return label.encode("ascii") + b"\x00" + message


def sign_message(private_key: ec.EllipticCurvePrivateKey, *, label: str, message: bytes) -> bytes:
    """Sign ``label || 0x00 || message`` with ECDSA P-256/SHA-256; return 64 bytes ``r || s``.

    Signing is deterministic (RFC 6979): it needs no randomness, so a weak random source can
    never leak the key, and the protocol vectors are reproducible.
    """
    der = private_key.sign(_labelled(label, message), ECDSA_SHA256_DETERMINISTIC)
    return der_to_raw_signature(der)


def verify_message(
    public_key: ec.EllipticCurvePublicKey, signature: bytes, *, label: str, message: bytes
) -> None:
    """Verify a signature made by :func:`sign_message`; raise :class:`InvalidSignature`."""
    if len(signature) != SIGNATURE_LENGTH:
        raise InvalidSignature("signature must be 64 bytes")
    try:
        public_key.verify(raw_to_der_signature(signature), _labelled(label, message), ECDSA_SHA256)
    except _CryptographyInvalidSignature as error:
        raise InvalidSignature("signature does not verify") from error
