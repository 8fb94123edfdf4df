# SPDX-License-Identifier: Apache-2.0
"""Wire encodings shared by every Sceau message.

- base64url without padding (RFC 4648 §5), decoded strictly: padding, whitespace and
  non-canonical trailing bits are refused, so one value has exactly one encoding.
- canonical JSON: RFC 8785 (JSON Canonicalization Scheme), UTF-8.
- digests: SHA-256 over the canonical JSON bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

import rfc8785

from sceau_core.errors import InvalidEncoding

__all__ = [
    "b64url_decode",
    "b64url_encode",
    "canonical_json",
    "parse_json_object",
    "sha256",
    "sha256_b64url",
]

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def b64url_encode(data: bytes) -> str:
    """Encode bytes as base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, *, length: int | None = None, field: str = "value") -> bytes:
    """Decode unpadded base64url strictly; with ``length``, require exactly that many bytes."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise InvalidEncoding(f"{field} is not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise InvalidEncoding(f"{field} is not unpadded base64url") from error
    if b64url_encode(data) != text:
        raise InvalidEncoding(f"{field} is not canonical base64url")
    if length is not None and len(data) != length:
        raise InvalidEncoding(f"{field} must be {length} bytes, not {len(data)}")
    return data


def canonical_json(value: Mapping[str, Any]) -> bytes:
    """Serialize a JSON object per RFC 8785 (sorted keys, no spaces, ECMAScript numbers)."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, UnicodeError) as error:
        raise InvalidEncoding(f"value cannot be canonicalized: {error}") from error


def parse_json_object(data: bytes | str, *, field: str = "message") -> dict[str, Any]:
    """Parse a JSON object, refusing duplicate keys, NaN/Infinity and non-object tops."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, item in pairs:
            if key in result:
                raise InvalidEncoding(f"{field} has a duplicate key {key!r}")
            result[key] = item
        return result

    def no_constants(name: str) -> Any:
        raise InvalidEncoding(f"{field} contains {name}, which JSON does not allow")

    try:
        value = json.loads(data, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvalidEncoding(f"{field} is not valid JSON") from error
    if not isinstance(value, dict):
        raise InvalidEncoding(f"{field} must be a JSON object")
    return value


def sha256(data: bytes) -> bytes:
    """SHA-256 of ``data``."""
    return hashlib.sha256(data).digest()


def sha256_b64url(data: bytes) -> str:
    """SHA-256 of ``data``, base64url-encoded."""
    return b64url_encode(hashlib.sha256(data).digest())
