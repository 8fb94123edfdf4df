# SPDX-License-Identifier: Apache-2.0
"""Wire encodings shared by every Sceau message.

- base64url without padding (RFC 4648 §5), decoded strictly: padding, whitespace and
  non-canonical trailing bits are refused, so one value has exactly one encoding.
- canonical JSON: RFC 8785 (JSON Canonicalization Scheme), UTF-8. Values made only of objects
  with string keys, arrays, strings, integers within ±(2⁵³ − 1), booleans and null are written by
  the standard library's C encoder, whose output is then byte for byte the one RFC 8785 asks for
  (see ``_fast_encodable``); anything else goes through the ``rfc8785`` package.
- digests: SHA-256 over the canonical JSON bytes.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

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
_TO_URLSAFE: Final = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE: Final = bytes.maketrans(b"-_", b"+/")
_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# By the length of the text modulo 4: the characters its last one may be (2 or 4 low bits zero).
_LAST_CHARACTERS: Final = {0: _ALPHABET, 2: _ALPHABET[::16], 3: _ALPHABET[::4]}

_SAFE_INTEGER: Final = 2**53 - 1
# Code points from U+E000 up sort differently by UTF-16 code units (RFC 8785 §3.2.3) than by
# code point (Python) once a key holds a character beyond U+FFFF; such keys take the slow path.
_ORDER_MAY_DIFFER: Final = re.compile("[\ue000-\U0010ffff]")
_JSON_ENCODER: Final = json.JSONEncoder(
    ensure_ascii=False,
    sort_keys=True,
    separators=(",", ":"),
    allow_nan=False,
    check_circular=False,
)


def b64url_encode(data: bytes) -> str:
    """Encode bytes as base64url without padding."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode()


def b64url_decode(text: str, *, length: int | None = None, field: str = "value") -> bytes:
    """Decode unpadded base64url strictly; with ``length``, require exactly that many bytes."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise InvalidEncoding(f"{field} is not unpadded base64url")
    # The last character of a text that ends mid-byte holds bits beyond the data, which must
    # be zero: otherwise other texts decode to the same bytes.
    if text and text[-1] not in _LAST_CHARACTERS[len(text) % 4]:
        raise InvalidEncoding(f"{field} is not canonical base64url")
    try:
        data = binascii.a2b_base64(
            (text + "=" * (-len(text) % 4)).encode("ascii").translate(_FROM_URLSAFE),
            strict_mode=True,
        )
    except (binascii.Error, ValueError) as error:
        raise InvalidEncoding(f"{field} is not unpadded base64url") from error
    if length is not None and len(data) != length:
        raise InvalidEncoding(f"{field} must be {length} bytes, not {len(data)}")
    return data


def _fast_encodable(value: object) -> bool:
    """Whether ``json`` writes ``value`` exactly as RFC 8785 does.

    For these values the two agree: integers print alike; strings escape the same characters
    the same way (``"``, ``\\``, the short forms ``\\b \\f \\n \\r \\t`` and ``\\u00xx`` in lower
    case for the other controls below U+0020, everything else as UTF-8, DEL and U+2028/2029
    included; a lone surrogate fails the UTF-8 encoding and is left to ``rfc8785`` to refuse);
    keys are exact strings whose code-point order is their UTF-16 order. Floats, which Python
    prints differently from ECMAScript, and every other type are not.
    """
    if type(value) is dict:
        for key in value:
            if type(key) is not str or (not key.isascii() and _ORDER_MAY_DIFFER.search(key)):
                return False
        return _fast_encodable_members(value.values())
    if type(value) is list or type(value) is tuple:
        return _fast_encodable_members(value)
    return False


def _fast_encodable_members(members: Iterable[object]) -> bool:
    for item in members:
        # The leaves, which most members are, are checked without a call of their own.
        if type(item) is str or type(item) is bool or item is None:
            continue
        if type(item) is int:
            if -_SAFE_INTEGER <= item <= _SAFE_INTEGER:
                continue
            return False
        if not _fast_encodable(item):
            return False
    return True


def canonical_json(value: Mapping[str, Any]) -> bytes:
    """Serialize a JSON object per RFC 8785 (sorted keys, no spaces, ECMAScript numbers)."""
    if type(value) is dict and _fast_encodable(value):
        try:
            return _JSON_ENCODER.encode(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # A lone surrogate: rfc8785 refuses it below.
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
