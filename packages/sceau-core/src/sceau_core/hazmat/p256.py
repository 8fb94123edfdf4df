# SPDX-License-Identifier: Apache-2.0
"""P-256 private keys from seeds, and the raw ``r || s`` signature encoding.

A seed becomes a P-256 scalar as FIPS 186-5 Appendix A.2.1 ("key pair generation using extra
random bits") prescribes: expand the seed with HKDF-SHA256 to 48 bytes (64 bits more than the
order), read them as a big-endian integer ``c``, and take ``d = (c mod (n - 1)) + 1``. The bias
is below 2**-64 and ``d`` is never zero.
"""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sceau_core.errors import InvalidEncoding

__all__ = [
    "CURVE_ORDER",
    "ECDSA_SHA256",
    "ECDSA_SHA256_DETERMINISTIC",
    "SEED_EXPANSION_LENGTH",
    "der_to_raw_signature",
    "private_key_from_seed",
    "raw_to_der_signature",
    "scalar_from_seed",
]

CURVE_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
SEED_EXPANSION_LENGTH = 48
_COORDINATE_LENGTH = 32

# The signature algorithms, made once: each construction asks the OpenSSL backend again.
ECDSA_SHA256: Final = ec.ECDSA(hashes.SHA256())
"""ECDSA with SHA-256, for verifying."""
ECDSA_SHA256_DETERMINISTIC: Final = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
"""ECDSA with SHA-256 and RFC 6979 nonces, for signing."""


def scalar_from_seed(seed: bytes, *, salt: bytes, info: bytes) -> int:
    """Derive a P-256 private scalar in ``[1, n - 1]`` from ``seed`` (FIPS 186-5 A.2.1)."""
    if len(seed) < 32:
        raise InvalidEncoding("a key seed must be at least 32 bytes")
    expanded = HKDF(
        algorithm=hashes.SHA256(), length=SEED_EXPANSION_LENGTH, salt=salt, info=info
    ).derive(seed)
    return int.from_bytes(expanded, "big") % (CURVE_ORDER - 1) + 1


def private_key_from_seed(seed: bytes, *, salt: bytes, info: bytes) -> ec.EllipticCurvePrivateKey:
    """Derive a deterministic P-256 private key from ``seed``."""
    return ec.derive_private_key(scalar_from_seed(seed, salt=salt, info=info), ec.SECP256R1())


def der_to_raw_signature(der: bytes) -> bytes:
    """Convert an ASN.1 DER ECDSA signature to the fixed 64-byte ``r || s`` form."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(_COORDINATE_LENGTH, "big") + s.to_bytes(_COORDINATE_LENGTH, "big")


def raw_to_der_signature(raw: bytes) -> bytes:
    """Convert a 64-byte ``r || s`` ECDSA signature to ASN.1 DER."""
    if len(raw) != 2 * _COORDINATE_LENGTH:
        raise InvalidEncoding("an ECDSA P-256 signature must be 64 bytes (r || s)")
    r = int.from_bytes(raw[:_COORDINATE_LENGTH], "big")
    s = int.from_bytes(raw[_COORDINATE_LENGTH:], "big")
    return encode_dss_signature(r, s)
