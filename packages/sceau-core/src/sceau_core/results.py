# SPDX-License-Identifier: Apache-2.0
"""Final results: a compact JWS (RFC 7515, ES256) the relying party verifies (brief R2).

Header: ``{"alg": "ES256", "kid": "<RFC 7638 thumbprint>", "typ": "sceau-result+jws"}``.
Payload: the RFC 8785 encoding of::

    {"iss": "<server URL>", "op": "<operation id>", "digest": "<operation digest>",
     "type": "transfer", "status": "approved" | "rejected" | "not_me" | "expired" | "cancelled",
     "factors": ["knowledge", "possession"], "signers": ["<activation id>", ...],
     "iat": 1764236400}

The server publishes its public keys as a JWKS (RFC 7517) at ``/.well-known/jwks.json``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from sceau_core.encoding import b64url_decode, b64url_encode, canonical_json, parse_json_object
from sceau_core.errors import InvalidEncoding, InvalidSignature, Mismatch
from sceau_core.hazmat.p256 import CURVE_ORDER, ECDSA_SHA256_DETERMINISTIC, der_to_raw_signature

__all__ = [
    "RESULT_TYPE",
    "ResultClaims",
    "ResultStatus",
    "jwks",
    "key_id",
    "sign_result",
    "verify_result",
]

RESULT_TYPE = "sceau-result+jws"
_ALGORITHMS = ["ES256"]


class ResultStatus(StrEnum):
    """The final state of an operation."""

    APPROVED = "approved"
    REJECTED = "rejected"
    NOT_ME = "not_me"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ResultClaims:
    """What a result JWS states."""

    issuer: str
    operation_id: str
    digest: str
    operation_type: str
    status: ResultStatus
    factors: tuple[str, ...]
    signers: tuple[str, ...]
    issued_at: int

    def __post_init__(self) -> None:
        b64url_decode(self.digest, length=32, field="digest")
        if not isinstance(self.issued_at, int) or self.issued_at < 0:
            raise InvalidEncoding("iat must be a non-negative integer")

    def to_json(self) -> dict[str, Any]:
        """The JWS payload as a JSON object."""
        return {
            "iss": self.issuer,
            "op": self.operation_id,
            "digest": self.digest,
            "type": self.operation_type,
            "status": self.status.value,
            "factors": list(self.factors),
            "signers": list(self.signers),
            "iat": self.issued_at,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ResultClaims:
        """Parse a payload strictly."""
        expected = {"iss", "op", "digest", "type", "status", "factors", "signers", "iat"}
        if set(value) != expected:
            raise InvalidEncoding("result claims have exactly the v1 fields")
        if not all(isinstance(value[k], str) for k in ("iss", "op", "digest", "type", "status")):
            raise InvalidEncoding("result text claims must be strings")
        lists = (value["factors"], value["signers"])
        if not all(isinstance(v, list) and all(isinstance(i, str) for i in v) for v in lists):
            raise InvalidEncoding("factors and signers are lists of strings")
        if type(value["iat"]) is not int:
            raise InvalidEncoding("iat must be an integer")
        try:
            status = ResultStatus(value["status"])
        except ValueError as error:
            raise InvalidEncoding("unknown result status") from error
        return cls(
            issuer=value["iss"],
            operation_id=value["op"],
            digest=value["digest"],
            operation_type=value["type"],
            status=status,
            factors=tuple(value["factors"]),
            signers=tuple(value["signers"]),
            issued_at=value["iat"],
        )


def _jwk(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> ECKey:
    imported = ECKey.import_key(key)
    imported.ensure_kid()
    return imported


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """The RFC 7638 thumbprint used as ``kid``."""
    point = public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _thumbprint(type(public_key.curve), point)


@functools.lru_cache(maxsize=64)
def _thumbprint(curve: type[ec.EllipticCurve], point: bytes) -> str:
    # Every result a server signs names its key: the thumbprint is computed once per key.
    return _jwk(ec.EllipticCurvePublicKey.from_encoded_point(curve(), point)).kid or ""


def jwks(public_keys: Sequence[ec.EllipticCurvePublicKey]) -> dict[str, Any]:
    """A JWKS (RFC 7517) publishing ``public_keys`` for ES256 signature verification."""
    keys = []
    for public_key in public_keys:
        value = dict(_jwk(public_key).as_dict(private=False))
        value.update({"use": "sig", "alg": "ES256"})
        keys.append(value)
    return {"keys": keys}


@functools.lru_cache(maxsize=64)
def _protected_header(kid: str) -> str:
    """The encoded JWS protected header of the results signed by the key ``kid``."""
    return b64url_encode(canonical_json({"alg": "ES256", "kid": kid, "typ": RESULT_TYPE}))


def sign_result(claims: ResultClaims, *, private_key: ec.EllipticCurvePrivateKey) -> str:
    """Sign ``claims`` as a compact JWS with ES256.

    The signature is deterministic (RFC 6979) and low-S, so one result has exactly one token and
    signing reads no randomness.
    """
    header = _protected_header(key_id(private_key.public_key()))
    signing_input = f"{header}.{b64url_encode(canonical_json(claims.to_json()))}"
    der = private_key.sign(signing_input.encode("ascii"), ECDSA_SHA256_DETERMINISTIC)
    raw = der_to_raw_signature(der)
    s = int.from_bytes(raw[32:], "big")
    if s > CURVE_ORDER // 2:
        raw = raw[:32] + (CURVE_ORDER - s).to_bytes(32, "big")
    return f"{signing_input}.{b64url_encode(raw)}"


def _check_low_s(token: str) -> None:
    signature = b64url_decode(token.rsplit(".", 1)[-1], length=64, field="JWS signature")
    if int.from_bytes(signature[32:], "big") > CURVE_ORDER // 2:
        raise InvalidSignature("the result JWS signature is not in low-S form")


def verify_result(
    token: str,
    *,
    jwks_document: Mapping[str, Any],
    expected_operation_id: str,
    expected_issuer: str,
    expected_digest: str | None = None,
) -> ResultClaims:
    """Verify a result JWS with the server's JWKS and check it is about the expected operation."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise InvalidEncoding("a result JWS has three dot-separated parts")
    _check_low_s(token)
    try:
        key_set = KeySet.import_key_set(dict(jwks_document))  # type: ignore[arg-type]
        compact = jws.deserialize_compact(token, key_set, algorithms=_ALGORITHMS)
    except JoseError as error:
        raise InvalidSignature(f"the result JWS does not verify: {error.error}") from error
    except (ValueError, TypeError, KeyError) as error:
        raise InvalidEncoding("the result JWS or the JWKS is malformed") from error
    if compact.headers().get("typ") != RESULT_TYPE:
        raise InvalidEncoding(f"the result JWS must have typ {RESULT_TYPE}")
    claims = ResultClaims.from_json(parse_json_object(compact.payload, field="result claims"))
    if claims.operation_id != expected_operation_id:
        raise Mismatch("operation id")
    if claims.issuer != expected_issuer:
        raise Mismatch("issuer")
    if expected_digest is not None and claims.digest != expected_digest:
        raise Mismatch("operation digest")
    return claims
