# SPDX-License-Identifier: Apache-2.0
"""Activation: the activation code, its QR payload, the server-key pin and one-time SMS codes.

Activation code (brief L1, P4)
    22 random symbols of Crockford's base32 alphabet (110 bits) followed by 2 check symbols, shown
    as six groups of four: ``K7QM-2XPA-…``. The check symbols make the 24 symbols a Reed-Solomon
    codeword over GF(32) (primitive polynomial x^5 + x^2 + 1, generator roots α and α², α = 2),
    whose minimum distance is 3: any single mistyped symbol and any swap of two symbols, check
    symbols included, is detected before anything is sent. Decoding is lenient as Crockford
    specifies: case-insensitive, ``I``/``L`` read as 1, ``O`` as 0, hyphens and spaces ignored.

Server-key pin (brief P4, K6)
    When the bank creates the activation, the server binds its signing key, this activation's
    OPRF public key, the activation id and its public URL with an HMAC keyed by the activation
    code: ``tag = HMAC-SHA256(K, JCS(binding))`` with
    ``K = HKDF-SHA256(ikm=<22 data symbols, ASCII>, salt="", info="sceau/v1/activation-binding")``.
    The device, holding the code (typed or scanned), checks the tag before it pins anything, so
    nobody without the code can make it pin another key. The QR path also carries the server key's
    fingerprint, which must match as well.

Lookup and registration (brief L1)
    The code itself never crosses the network. The device finds its activation with
    ``lookup_id = base64url(HKDF-SHA256(ikm=<data symbols>, salt="",
    info="sceau/v1/activation-lookup", L=16))``
    and proves it holds the code with ``HMAC-SHA256(K_reg, JCS(registration))`` where
    ``K_reg = HKDF-SHA256(ikm=<data symbols>, salt="", info="sceau/v1/activation-registration")``.

One-time codes (brief L1)
    The server never stores an activation code or an SMS code, nor a bare hash of one: it stores
    ``HMAC-SHA256(server_key, label || 0x00 || subject || 0x00 || code)``.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sceau_core.encoding import b64url_decode, b64url_encode, canonical_json
from sceau_core.errors import (
    InvalidActivationCode,
    InvalidEncoding,
    InvalidSignature,
    Mismatch,
    ServerKeyNotPinned,
)
from sceau_core.keys import decode_public_key, key_fingerprint

__all__ = [
    "ALPHABET",
    "DATA_SYMBOLS",
    "ActivationCode",
    "QrPayload",
    "ServerBinding",
    "binding_tag",
    "check_one_time_code",
    "generate_one_time_code",
    "is_loopback",
    "keyed_digest",
    "registration_proof",
    "verify_binding",
    "verify_registration_proof",
]

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DATA_SYMBOLS = 22
CHECK_SYMBOLS = 2
_GROUP = 4
_LENIENT = {"I": "1", "L": "1", "O": "0"}

# GF(32) with the primitive polynomial x^5 + x^2 + 1.
_EXP = [0] * 62
_LOG = [0] * 32
_value = 1
for _power in range(31):
    _EXP[_power] = _EXP[_power + 31] = _value
    _LOG[_value] = _power
    _value <<= 1
    if _value & 0b100000:
        _value ^= 0b100101


def _gf_mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def _poly_eval(symbols: list[int], x: int) -> int:
    result = 0
    for symbol in symbols:
        result = _gf_mul(result, x) ^ symbol
    return result


# g(x) = (x + α)(x + α²) = x² + (α + α²)x + α³
_G1 = _EXP[1] ^ _EXP[2]
_G0 = _EXP[3]


def _check_symbols(data: list[int]) -> list[int]:
    remainder = [0, 0]
    for symbol in data:
        factor = symbol ^ remainder[0]
        remainder = [remainder[1] ^ _gf_mul(factor, _G1), _gf_mul(factor, _G0)]
    return remainder


def _is_codeword(symbols: list[int]) -> bool:
    return _poly_eval(symbols, _EXP[1]) == 0 and _poly_eval(symbols, _EXP[2]) == 0


@dataclass(frozen=True)
class ActivationCode:
    """A valid activation code; ``data`` is the 22 random symbols. The repr hides them."""

    data: str = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.data) != DATA_SYMBOLS or any(c not in ALPHABET for c in self.data):
            raise InvalidActivationCode(f"an activation code has {DATA_SYMBOLS} data symbols")

    @classmethod
    def generate(cls, rng: Callable[[int], bytes]) -> ActivationCode:
        """Draw 110 random bits from ``rng``."""
        bits = int.from_bytes(rng(14), "big") >> 2
        data = "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in reversed(range(DATA_SYMBOLS)))
        return cls(data)

    @classmethod
    def parse(cls, text: str) -> ActivationCode:
        """Parse a typed or scanned code; a typo raises :class:`InvalidActivationCode`."""
        cleaned = [_LENIENT.get(c, c) for c in text.upper() if c not in "- \t" and not c.isspace()]
        if any(c not in ALPHABET for c in cleaned):
            raise InvalidActivationCode("the activation code contains a character it cannot have")
        if len(cleaned) != DATA_SYMBOLS + CHECK_SYMBOLS:
            raise InvalidActivationCode(
                f"the activation code has {DATA_SYMBOLS + CHECK_SYMBOLS} characters, "
                f"not {len(cleaned)}"
            )
        if not _is_codeword([ALPHABET.index(c) for c in cleaned]):
            raise InvalidActivationCode("the activation code has a typo: check each character")
        return cls("".join(cleaned[:DATA_SYMBOLS]))

    @property
    def text(self) -> str:
        """The code as shown to the customer: six groups of four symbols."""
        check = _check_symbols([ALPHABET.index(c) for c in self.data])
        symbols = self.data + "".join(ALPHABET[s] for s in check)
        return "-".join(symbols[i : i + _GROUP] for i in range(0, len(symbols), _GROUP))

    def _derive(self, info: bytes, length: int = 32) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=b"", info=info).derive(
            self.data.encode("ascii")
        )

    def binding_key(self) -> bytes:
        """The 32-byte HMAC key that authenticates the server binding."""
        return self._derive(b"sceau/v1/activation-binding")

    def registration_key(self) -> bytes:
        """The 32-byte HMAC key with which the device proves it holds the code."""
        return self._derive(b"sceau/v1/activation-registration")

    def lookup_id(self) -> str:
        """A public identifier of the code (16 bytes, base64url) that reveals nothing of it.

        The device sends this, never the code, to find its activation.
        """
        return b64url_encode(self._derive(b"sceau/v1/activation-lookup", 16))


def keyed_digest(*, key: bytes, label: str, subject: str, secret: str) -> str:
    """``HMAC-SHA256(key, label || 0 || subject || 0 || secret)``, base64url: the stored form."""
    if len(key) < 32:
        raise InvalidEncoding("the server key for keyed digests must be at least 32 bytes")
    message = b"\x00".join(part.encode("utf-8") for part in (label, subject, secret))
    return b64url_encode(hmac.digest(key, message, sha256))


def generate_one_time_code(rng: Callable[[int], bytes], *, digits: int = 6) -> str:
    """A uniformly random decimal one-time code (rejection sampling, no modulo bias)."""
    if not 4 <= digits <= 9:
        raise ValueError("a one-time code has 4 to 9 digits")
    bound = 10**digits
    limit = (1 << 32) - (1 << 32) % bound
    while True:
        value = int.from_bytes(rng(4), "big")
        if value < limit:
            return str(value % bound).zfill(digits)


def check_one_time_code(
    candidate: str, *, key: bytes, label: str, subject: str, expected_digest: str
) -> None:
    """Compare a one-time code with the stored keyed digest in constant time; raise on mismatch."""
    digest = keyed_digest(key=key, label=label, subject=subject, secret=candidate)
    if not _same_ascii(expected_digest, digest):
        raise Mismatch("one-time code")


@dataclass(frozen=True)
class ServerBinding:
    """What the device pins at activation, authenticated by the activation code."""

    activation_id: str
    server_url: str
    server_public_key: str
    oprf_public_key: str

    def __post_init__(self) -> None:
        decode_public_key(self.server_public_key, field="server_public_key")
        b64url_decode(self.oprf_public_key, length=32, field="oprf_public_key")
        _check_server_url(self.server_url)
        if not self.activation_id or len(self.activation_id) > 64:
            raise InvalidEncoding("activation_id must be 1 to 64 characters")

    @property
    def server_key_fingerprint(self) -> str:
        """Fingerprint of the server's signing key."""
        return key_fingerprint(decode_public_key(self.server_public_key))

    def to_json(self) -> dict[str, Any]:
        """The binding as the JSON object the tag covers."""
        return {
            "activation_id": self.activation_id,
            "oprf_public_key": self.oprf_public_key,
            "server_public_key": self.server_public_key,
            "server_url": self.server_url,
            "v": 1,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ServerBinding:
        """Parse the JSON object, refusing unknown or missing fields."""
        expected = {"activation_id", "oprf_public_key", "server_public_key", "server_url", "v"}
        if set(value) != expected or value["v"] != 1:
            raise InvalidEncoding("server binding must have exactly the v1 fields")
        fields = {k: value[k] for k in expected - {"v"}}
        if not all(isinstance(v, str) for v in fields.values()):
            raise InvalidEncoding("server binding fields are strings")
        return cls(**fields)


def _same_ascii(expected: str, received: object) -> bool:
    """Constant-time equality of an ASCII value we computed and one we received (any type)."""
    if not isinstance(received, str) or not received.isascii():
        return False
    return hmac.compare_digest(expected.encode("ascii"), received.encode("ascii"))


def registration_proof(registration_key: bytes, registration: Mapping[str, Any]) -> str:
    """``HMAC-SHA256(registration_key, JCS(registration))``, base64url."""
    return b64url_encode(hmac.digest(registration_key, canonical_json(registration), sha256))


def verify_registration_proof(
    registration_key: bytes, registration: Mapping[str, Any], proof: str
) -> None:
    """Check that the device that sent ``registration`` holds the activation code."""
    expected = registration_proof(registration_key, registration)
    if not _same_ascii(expected, proof):
        raise InvalidSignature("the registration is not authenticated by the activation code")


def binding_tag(code: ActivationCode, binding: ServerBinding) -> str:
    """The HMAC tag the server publishes beside the binding."""
    return b64url_encode(hmac.digest(code.binding_key(), canonical_json(binding.to_json()), sha256))


def verify_binding(
    code: ActivationCode,
    binding: ServerBinding,
    tag: str,
    *,
    expected_fingerprint: str | None = None,
    expected_server_url: str | None = None,
) -> None:
    """Check the binding before pinning it (brief P4).

    Raises :class:`InvalidSignature` when the tag is wrong (the binding was not made by a server
    that knows this code) and :class:`ServerKeyNotPinned` when the key or URL differs from what
    the QR code announced.
    """
    expected_tag = binding_tag(code, binding)
    if not _same_ascii(expected_tag, tag):
        raise InvalidSignature("the server binding is not authenticated by this activation code")
    if expected_fingerprint is not None and not _same_ascii(
        binding.server_key_fingerprint, expected_fingerprint
    ):
        raise ServerKeyNotPinned("the server key differs from the one in the QR code")
    if expected_server_url is not None and binding.server_url != expected_server_url:
        raise ServerKeyNotPinned("the server address differs from the one in the QR code")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address (no other host name is)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_server_url(url: str) -> None:
    """An https URL (http only on loopback), with no user info, query or fragment."""
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise InvalidEncoding("the server URL must be an absolute http(s) URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidEncoding("the server URL must not carry user information")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise InvalidEncoding("the server URL has no query or fragment")
    try:
        parts.port  # noqa: B018 (parsing the port is the check)
    except ValueError as error:
        raise InvalidEncoding("the server URL has an invalid port") from error
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise InvalidEncoding("the server URL must use https (http only on this machine)")


QR_PREFIX = "sceau://activate?"


@dataclass(frozen=True)
class QrPayload:
    """What the activation QR code carries: the code, the server URL and its key's fingerprint."""

    code: ActivationCode
    server_url: str
    server_key_fingerprint: str

    def __post_init__(self) -> None:
        _check_server_url(self.server_url)
        b64url_decode(self.server_key_fingerprint, length=32, field="server key fingerprint")

    def to_uri(self) -> str:
        """``sceau://activate?v=1&code=…&server=…&fp=…``."""
        code = self.code.text.replace("-", "")
        server = quote(self.server_url, safe="")
        return f"{QR_PREFIX}v=1&code={code}&server={server}&fp={self.server_key_fingerprint}"

    @classmethod
    def parse(cls, uri: str) -> QrPayload:
        """Parse a scanned QR code, refusing anything but a complete v1 payload."""
        if not uri.startswith(QR_PREFIX):
            raise InvalidEncoding("this QR code is not a Sceau activation code")
        try:
            query = parse_qs(uri[len(QR_PREFIX) :], strict_parsing=True)
        except ValueError as error:
            raise InvalidEncoding("the activation QR code is malformed") from error
        if set(query) != {"v", "code", "server", "fp"} or any(len(v) != 1 for v in query.values()):
            raise InvalidEncoding("the activation QR code must have exactly v, code, server, fp")
        if query["v"][0] != "1":
            raise InvalidEncoding("unsupported activation QR code version")
        return cls(
            code=ActivationCode.parse(query["code"][0]),
            server_url=query["server"][0],
            server_key_fingerprint=query["fp"][0],
        )
