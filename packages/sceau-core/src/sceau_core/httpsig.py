# SPDX-License-Identifier: Apache-2.0
"""Device request signatures: HTTP Message Signatures (RFC 9421) over a Content-Digest (RFC 9530).

Every request a device sends is signed with its activation's P-256 device key (brief P1, P2, P3).
Sceau fixes one profile of RFC 9421, and the verifier accepts nothing else:

- The signature is labelled ``sceau``; a request carries exactly one signature, with that label.
- The covered components are, in this order: ``"@method"``, ``"@target-uri"``,
  ``"content-digest"``, ``"sceau-counter"``, each without component parameters.
- The signature parameters are exactly ``created``, ``nonce``, ``keyid`` and ``alg``, in any order
  (:func:`sign_request` writes ``created;keyid;alg;nonce``). ``created`` is Unix seconds;
  ``nonce`` is 16 to 43 base64url characters (the signer draws 16 bytes: 22 characters);
  ``keyid`` is the activation id; ``alg`` is ``"ecdsa-p256-sha256"``.
- The signature is ECDSA P-256 with SHA-256, sent as 64 bytes ``r || s`` (RFC 9421 §3.3.4). The
  signer uses deterministic nonces (RFC 6979), so signing draws no randomness beyond ``rng``.
- ``Content-Digest`` is always present, even for an empty body, and holds exactly one member:
  ``sha-256=:<base64 of SHA-256(body)>:``.
- ``Sceau-Counter`` carries the device's strictly increasing counter as a decimal integer without
  leading zeros, with ``0 < counter < 2**53``.
- ``@target-uri`` is computed from the URL after :class:`HttpRequest` normalizes it: lowercase
  scheme and host, no default port (80 for http, 443 for https), ``/`` for an empty path; the
  rest (path, query, percent-encoding) is kept byte for byte. The server uses its public base URL
  (the one devices are configured with), not the address a proxy forwarded the request to.

Verification (:func:`verify_request`) raises, and never returns ``False``:

- :class:`~sceau_core.errors.InvalidEncoding` when a header the profile needs is missing or
  is not valid syntax (structured fields, base64, decimal, nonce alphabet or length,
  signature length);
- :class:`~sceau_core.errors.Mismatch` when the headers are well formed but are not this
  profile (another label, other covered components or parameters, another ``alg``, a digest
  algorithm other than sha-256), or when Content-Digest is not the digest of the body received;
- :class:`~sceau_core.errors.Expired` when ``created`` is outside
  ``[now - max_age, now + max_skew]``;
- :class:`~sceau_core.errors.InvalidSignature` when the signature does not verify under the key
  that ``resolve_key`` returns for the ``keyid``.

Verification proves that the device key signed this request recently. Two checks stay with the
caller, who holds the state: the nonce must not have been seen within the time window (replay),
and the counter must be greater than the last one accepted for the activation (brief P3).
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import http_sf
from cryptography.exceptions import InvalidSignature as CryptographyInvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from http_message_signatures import ContentDigest

from sceau_core.encoding import b64url_encode, sha256
from sceau_core.errors import Expired, InvalidEncoding, InvalidSignature, Mismatch
from sceau_core.hazmat.p256 import ECDSA_SHA256, ECDSA_SHA256_DETERMINISTIC

__all__ = [
    "ALGORITHM",
    "COUNTER_HEADER",
    "COVERED_COMPONENTS",
    "SIGNATURE_LABEL",
    "HttpRequest",
    "SignedRequestInfo",
    "content_digest",
    "sign_request",
    "verify_request",
]

SIGNATURE_LABEL: Final = "sceau"
ALGORITHM: Final = "ecdsa-p256-sha256"
COUNTER_HEADER: Final = "Sceau-Counter"
COVERED_COMPONENTS: Final = ("@method", "@target-uri", "content-digest", "sceau-counter")

_PARAMETERS: Final = frozenset({"created", "nonce", "keyid", "alg"})
_NONCE_BYTES: Final = 16
_COUNTER_LIMIT: Final = 2**53
_SIGNATURE_LENGTH: Final = 64
_DIGEST_ALGORITHM: Final = "sha-256"

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKENS = re.compile(rf"(?:{_TOKEN.pattern}\n)*{_TOKEN.pattern}")
_METHOD = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Z]+")
_FIELD_VALUE_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_URI_CHARACTERS = r"A-Za-z0-9\-._~!$&'()*+,;=%"
_TARGET_URI = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://"
    rf"(?P<host>\[[0-9A-Fa-f:.]+\]|[{_URI_CHARACTERS}]+)"
    r"(?::(?P<port>[0-9]*))?"
    rf"(?P<path>/[{_URI_CHARACTERS}:@/]*)?"
    rf"(?:\?(?P<query>[{_URI_CHARACTERS}:@/?]*))?"
)
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,43}")
_COUNTER = re.compile(r"[1-9][0-9]{0,15}")
_KEY_ID = re.compile(r"[\x20-\x7e]+")


def _well_formed(headers: Mapping[str, str]) -> bool:
    """Whether every name is an HTTP token and no value has a control character but tab.

    Names are checked together, joined by a newline (no token holds one, and a name holding one
    adds a newline to the count); values are checked together, concatenated.
    """
    names = "\n".join(headers)
    return (
        _TOKENS.fullmatch(names) is not None
        and names.count("\n") == len(headers) - 1
        and _FIELD_VALUE_FORBIDDEN.search("".join(headers.values())) is None
    )


class _Headers(Mapping[str, str]):
    """An immutable, case-insensitive copy of HTTP header fields, one value per name.

    Names must be HTTP tokens and must not repeat in another case; values lose surrounding
    spaces and tabs (RFC 9110 §5.5) and may not contain control characters other than tab.
    Iteration yields the names as they were given.
    """

    __slots__ = ("_fields",)

    def __init__(self, headers: Mapping[str, str]) -> None:
        if not _well_formed(headers):
            self._refuse(headers)
        fields = {name.lower(): (name, value) for name, value in headers.items()}
        if len(fields) != len(headers):
            self._refuse(headers)
        self._fields = {key: (name, value.strip(" \t")) for key, (name, value) in fields.items()}

    @staticmethod
    def _refuse(headers: Mapping[str, str]) -> None:
        """Raise for the first header, in order, that is malformed or repeats another."""
        seen: set[str] = set()
        for name, value in headers.items():
            if not _TOKEN.fullmatch(name):
                raise InvalidEncoding(f"header name {name!r} is not an HTTP token")
            if _FIELD_VALUE_FORBIDDEN.search(value):
                raise InvalidEncoding(f"header {name} has a value with control characters")
            key = name.lower()
            if key in seen:
                raise InvalidEncoding(f"header {name} is given twice")
            seen.add(key)

    def __getitem__(self, name: str) -> str:
        if not isinstance(name, str):
            raise KeyError(name)
        return self._fields[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._fields.values())

    def __len__(self) -> int:
        return len(self._fields)

    def _lowered(self) -> dict[str, str]:
        return {key: value for key, (_, value) in self._fields.items()}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        try:
            other_headers = other if isinstance(other, _Headers) else _Headers(other)
        except InvalidEncoding:
            return False
        return self._lowered() == other_headers._lowered()

    def __hash__(self) -> int:
        return hash(frozenset(self._lowered().items()))

    def __repr__(self) -> str:
        return f"{{{', '.join(f'{name!r}: {value!r}' for name, value in self.items())}}}"


def _normalize_target_uri(url: str) -> str:
    match = _TARGET_URI.fullmatch(url)
    if match is None or _BAD_PERCENT.search(url):
        raise InvalidEncoding("url must be an absolute, percent-encoded http(s) URI")
    scheme, host, port = match["scheme"].lower(), match["host"].lower(), match["port"]
    if scheme not in _DEFAULT_PORTS:
        raise InvalidEncoding("url must be an http or https URI")
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError as error:
            raise InvalidEncoding("url has a malformed IPv6 host") from error
    port_suffix = ""
    if port is not None:
        if not port or int(port) > 65535:
            raise InvalidEncoding("url has a malformed port")
        if int(port) != _DEFAULT_PORTS[scheme]:
            port_suffix = f":{int(port)}"
    query = "" if match["query"] is None else "?" + match["query"]
    return f"{scheme}://{host}{port_suffix}{match['path'] or '/'}{query}"


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request as Sceau signs it.

    ``url`` is the absolute target URI the server is reached at (its public base URL plus the
    path and query), normalized as the module docstring says; ``headers`` is stored as an
    immutable, case-insensitive copy. Malformed values raise
    :class:`~sceau_core.errors.InvalidEncoding`.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""

    def __post_init__(self) -> None:
        if not _METHOD.fullmatch(self.method):
            raise InvalidEncoding("method must be an upper-case HTTP token")
        if not isinstance(self.body, bytes):
            raise InvalidEncoding("body must be bytes")
        if not isinstance(self.headers, Mapping):
            raise InvalidEncoding("headers must be a mapping of names to values")
        object.__setattr__(self, "url", _normalize_target_uri(self.url))
        object.__setattr__(self, "headers", _Headers(self.headers))

    def with_headers(self, headers: Mapping[str, str]) -> HttpRequest:
        """Return a copy with ``headers`` added, replacing same-named fields in any case."""
        replaced = {name.lower() for name in headers}
        kept = {name: value for name, value in self.headers.items() if name.lower() not in replaced}
        return HttpRequest(self.method, self.url, {**kept, **headers}, self.body)


@dataclass(frozen=True)
class SignedRequestInfo:
    """What a verified request signature tells: who signed, when, with which nonce and counter.

    The caller still refuses a nonce already seen in the time window and a counter that is not
    greater than the last one accepted for ``key_id`` (brief P2, P3).
    """

    key_id: str
    created: int
    nonce: str
    counter: int

    def __post_init__(self) -> None:
        if not _KEY_ID.fullmatch(self.key_id):
            raise InvalidEncoding("keyid must be non-empty printable ASCII")
        if type(self.created) is not int:
            raise InvalidEncoding("created must be an integer")
        if not _NONCE.fullmatch(self.nonce):
            raise InvalidEncoding("nonce must be 16 to 43 base64url characters")
        _check_counter(self.counter)


def _check_counter(counter: int) -> None:
    if type(counter) is not int or not 0 < counter < _COUNTER_LIMIT:
        raise InvalidEncoding("counter must be an integer with 0 < counter < 2**53")


def content_digest(body: bytes) -> str:
    """The Content-Digest field value for ``body``: ``sha-256=:<base64 SHA-256>:`` (RFC 9530)."""
    if not isinstance(body, bytes):
        raise InvalidEncoding("body must be bytes")
    value: str = ContentDigest.create(body)
    return value


def sign_request(
    request: HttpRequest,
    *,
    private_key: ec.EllipticCurvePrivateKey,
    key_id: str,
    counter: int,
    now: int,
    rng: Callable[[int], bytes],
) -> dict[str, str]:
    """Sign ``request`` under Sceau's profile and return the four header fields to add.

    The result maps ``Content-Digest``, ``Sceau-Counter``, ``Signature-Input`` and ``Signature``
    to their values; they replace any fields of the same names the request already has (see
    :meth:`HttpRequest.with_headers`). ``key_id`` is the activation id, ``now`` the Unix time
    written as ``created``, and ``rng`` supplies the 16-byte nonce. An out-of-range counter, an
    unusable key id or a key on another curve raises :class:`~sceau_core.errors.InvalidEncoding`.
    """
    _check_counter(counter)
    if not _KEY_ID.fullmatch(key_id):
        raise InvalidEncoding("key_id must be non-empty printable ASCII")
    if not isinstance(getattr(private_key, "curve", None), ec.SECP256R1):
        raise InvalidEncoding("private_key must be a P-256 key")
    if type(now) is not int or now < 0:
        raise InvalidEncoding("now must be a non-negative integer")
    nonce_bytes = rng(_NONCE_BYTES)
    if len(nonce_bytes) != _NONCE_BYTES:
        raise InvalidEncoding(f"rng must return {_NONCE_BYTES} bytes")
    digest = content_digest(request.body)
    params = _signature_params(created=now, key_id=key_id, nonce=b64url_encode(nonce_bytes))
    base = _base_lines(request.method, request.url, digest, str(counter), params)
    r, s = decode_dss_signature(private_key.sign(base, ECDSA_SHA256_DETERMINISTIC))
    raw = r.to_bytes(_SIGNATURE_LENGTH // 2, "big") + s.to_bytes(_SIGNATURE_LENGTH // 2, "big")
    return {
        "Content-Digest": digest,
        COUNTER_HEADER: str(counter),
        "Signature-Input": f"{SIGNATURE_LABEL}={params}",
        "Signature": f"{SIGNATURE_LABEL}=:{base64.b64encode(raw).decode('ascii')}:",
    }


def _signature_params(*, created: int, key_id: str, nonce: str) -> str:
    """The "@signature-params" value :func:`sign_request` writes, as RFC 9421 §2.3 serializes it.

    The RFC 9421 library writes the same bytes (the tests compare them); building them here
    costs a few microseconds against a millisecond through its structured-field machinery.
    """
    return (
        _COMPONENTS_SERIALIZED
        + _serialize_parameter("created", created)
        + _serialize_parameter("keyid", key_id)
        + _serialize_parameter("alg", ALGORITHM)
        + _serialize_parameter("nonce", nonce)
    )


def _header(request: HttpRequest, name: str) -> str:
    try:
        return request.headers[name]
    except KeyError:
        raise InvalidEncoding(f"{name} header is missing") from None


def _parse_dictionary(value: str, field: str) -> dict[str, Any]:
    def refuse_duplicate(key: str, context: str) -> None:
        raise InvalidEncoding(f"{field} has a duplicate {context} key {key!r}")

    try:
        parsed = http_sf.parse(
            value.encode("ascii"), tltype="dictionary", on_duplicate_key=refuse_duplicate
        )
    except InvalidEncoding:
        raise
    except (ValueError, TypeError) as error:
        raise InvalidEncoding(f"{field} is not a structured-field dictionary") from error
    if not isinstance(parsed, dict) or not parsed:
        raise InvalidEncoding(f"{field} is empty")
    return parsed


def _single_member(members: dict[str, Any]) -> Any:
    if set(members) != {SIGNATURE_LABEL}:
        raise Mismatch("signature label")
    return members[SIGNATURE_LABEL]


@dataclass(frozen=True)
class _SignatureInput:
    key_id: str
    created: int
    nonce: str
    params: str  # The member's serialization: the "@signature-params" line of the base.


_COMPONENTS_SERIALIZED: Final = http_sf.ser(
    {SIGNATURE_LABEL: list[http_sf.types.ItemType](COVERED_COMPONENTS)}
).removeprefix(f"{SIGNATURE_LABEL}=")

# Signature-Input exactly as :func:`sign_request` writes it, parameters in any order: the covered
# components, then four parameters whose values are an integer as RFC 8941 serializes one (no
# leading zero, no "-0", at most 15 digits) or a string without escapes. A member in this form is
# its own serialization, so it is the "@signature-params" line as it is. Anything else (another
# spacing, escapes, tokens, other or repeated parameters, several members) is parsed by http-sf.
_CANONICAL_SIGNATURE_INPUT: Final = re.compile(
    re.escape(f"{SIGNATURE_LABEL}={_COMPONENTS_SERIALIZED}")
    + r'((?:;(?:created|keyid|alg|nonce)=(?:0|-?[1-9][0-9]{0,14}|"[ !#-\[\]-~]*")){4})'
)
_CANONICAL_PARAMETER: Final = re.compile(r';([a-z]+)=(?:(-?[0-9]+)|"([^"]*)")')
# Signature exactly as :func:`sign_request` writes it: one member, 64 bytes in padded base64.
_CANONICAL_SIGNATURE: Final = re.compile(
    re.escape(f"{SIGNATURE_LABEL}=:") + r"([A-Za-z0-9+/]{85}[AQgw]==):"
)


def _canonical_signature_input(value: str) -> tuple[dict[str, Any], str] | None:
    """The parameters and the "@signature-params" line of a canonical Signature-Input, or None."""
    match = _CANONICAL_SIGNATURE_INPUT.fullmatch(value)
    if match is None:
        return None
    parameters: dict[str, Any] = {}
    for name, number, text in _CANONICAL_PARAMETER.findall(match[1]):
        parameters[name] = int(number) if number else text
    if len(parameters) != len(_PARAMETERS):
        return None  # A repeated parameter: http-sf refuses it with its own message.
    return parameters, value[len(SIGNATURE_LABEL) + 1 :]


def _generic_signature_input(value: str) -> dict[str, Any]:
    """The parameters of any Signature-Input in the profile's shape, through http-sf."""
    members = _parse_dictionary(value, "Signature-Input")
    components, parameters = _single_member(members)
    if not isinstance(components, list):
        raise InvalidEncoding("Signature-Input member must be an inner list")
    if not all(isinstance(component, str) for component, _ in components):
        raise InvalidEncoding("covered component identifiers must be strings")
    names = tuple(component for component, _ in components)
    if names != COVERED_COMPONENTS or any(flags for _, flags in components):
        raise Mismatch("covered components")
    if set(parameters) != _PARAMETERS:
        raise Mismatch("signature parameters")
    return dict(parameters)


def _checked_signature_input(parameters: dict[str, Any], params: str | None) -> _SignatureInput:
    """Check the parameters; ``params`` is the "@signature-params" line, None to write it."""
    created, nonce, key_id, alg = (
        parameters[name] for name in ("created", "nonce", "keyid", "alg")
    )
    if type(created) is not int:
        raise InvalidEncoding("created must be an integer")
    if not all(isinstance(text, str) for text in (nonce, key_id, alg)):
        raise InvalidEncoding("nonce, keyid and alg must be strings")
    if alg != ALGORITHM:
        raise Mismatch("alg")
    if not _NONCE.fullmatch(nonce):
        raise InvalidEncoding("nonce must be 16 to 43 base64url characters")
    if not _KEY_ID.fullmatch(key_id):
        raise InvalidEncoding("keyid must not be empty")
    if params is None:
        params = _COMPONENTS_SERIALIZED + "".join(
            _serialize_parameter(name, item) for name, item in parameters.items()
        )
    return _SignatureInput(key_id=key_id, created=created, nonce=nonce, params=params)


def _signature_input(value: str) -> _SignatureInput:
    canonical = _canonical_signature_input(value)
    if canonical is None:
        return _checked_signature_input(_generic_signature_input(value), None)
    return _checked_signature_input(*canonical)


def _parse_signature_input(request: HttpRequest) -> _SignatureInput:
    return _signature_input(_header(request, "Signature-Input"))


def _serialize_parameter(name: str, value: int | str) -> str:
    """One checked parameter as ``http_sf.ser`` writes it (RFC 8941 §4.1.1.2), without its cost.

    Names are the profile's four keys; ``created`` is an integer of at most 15 digits (parsed as
    one); the others are strings (tokens were refused) of printable ASCII (checked above), so
    escaping ``\\`` and ``"`` is all that serializing them does.
    """
    if type(value) is int:
        return f";{name}={value}"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f';{name}="{escaped}"'


def _generic_signature(value: str) -> bytes:
    member = _single_member(_parse_dictionary(value, "Signature"))
    signature, parameters = member
    if not isinstance(signature, bytes) or parameters:
        raise InvalidEncoding("Signature member must be a byte sequence without parameters")
    if len(signature) != _SIGNATURE_LENGTH:
        raise InvalidEncoding(f"signature must be {_SIGNATURE_LENGTH} bytes")
    return signature


def _signature(value: str) -> bytes:
    match = _CANONICAL_SIGNATURE.fullmatch(value)
    if match is None:
        return _generic_signature(value)
    return base64.b64decode(match[1], validate=True)


def _parse_signature(request: HttpRequest) -> bytes:
    return _signature(_header(request, "Signature"))


def _signature_base(request: HttpRequest, params: str) -> bytes:
    """The RFC 9421 §2.5 signature base of Sceau's profile, from the values already parsed.

    The covered components are fixed (checked by :func:`_parse_signature_input`) and each is
    one ASCII line: the method and the normalized target URI, and the two header fields as
    received (trimmed; a name cannot repeat). The last line is the Signature-Input member as
    parsed and serialized again, as the RFC requires.
    """
    return _base_lines(
        request.method,
        request.url,
        request.headers["Content-Digest"],
        request.headers[COUNTER_HEADER],
        params,
    )


def _base_lines(method: str, url: str, digest: str, counter: str, params: str) -> bytes:
    lines = (
        f'"@method": {method}\n'
        f'"@target-uri": {url}\n'
        f'"content-digest": {digest}\n'
        f'"sceau-counter": {counter}\n'
        f'"@signature-params": {params}'
    )
    try:
        return lines.encode("ascii")
    except UnicodeEncodeError:
        raise InvalidEncoding("signature base is not ASCII") from None


def _parse_counter(request: HttpRequest) -> int:
    text = _header(request, COUNTER_HEADER)
    if not _COUNTER.fullmatch(text):
        raise InvalidEncoding(f"{COUNTER_HEADER} must be a decimal integer without leading zeros")
    counter = int(text)
    _check_counter(counter)
    return counter


def _content_digest_value(digest: bytes) -> str:
    """The Content-Digest field as ``http_sf.ser`` writes a sha-256 member holding ``digest``."""
    return f"{_DIGEST_ALGORITHM}=:{base64.b64encode(digest).decode('ascii')}:"


def _check_content_digest(request: HttpRequest) -> None:
    value = _header(request, "Content-Digest")
    if value == _content_digest_value(sha256(request.body)):
        return  # The field as the profile writes it: parsing it would find this very digest.
    members = _parse_dictionary(value, "Content-Digest")
    if set(members) != {_DIGEST_ALGORITHM}:
        raise Mismatch("content-digest algorithm")
    digest, parameters = members[_DIGEST_ALGORITHM]
    if not isinstance(digest, bytes) or parameters or len(digest) != 32:
        raise InvalidEncoding("Content-Digest sha-256 must be a 32-byte byte sequence")
    if not hmac.compare_digest(digest, sha256(request.body)):
        raise Mismatch("content-digest")


def verify_request(
    request: HttpRequest,
    *,
    resolve_key: Callable[[str], ec.EllipticCurvePublicKey],
    now: int,
    max_age: int = 60,
    max_skew: int = 5,
) -> SignedRequestInfo:
    """Verify a device request signed under Sceau's profile and return what it proves.

    ``now`` is the verifier's Unix time; ``created`` must lie in
    ``[now - max_age, now + max_skew]``.
    ``resolve_key`` maps the signature's ``keyid`` (the activation id) to the device's public
    key. It is called only after the headers parse, fit the profile and are fresh, and the body
    matches its digest. Whatever it raises propagates unchanged: to refuse an unknown or revoked
    activation, raise a :class:`~sceau_core.errors.VerificationFailed` subclass; any other
    exception is the caller's own. The errors this function raises are listed in the module
    docstring. The nonce replay check and the counter comparison are the caller's (brief P2, P3).
    """
    signature_input = _parse_signature_input(request)
    signature = _parse_signature(request)
    counter = _parse_counter(request)
    if not now - max_age <= signature_input.created <= now + max_skew:
        raise Expired("request signature created outside the accepted time window")
    _check_content_digest(request)
    base = _signature_base(request, signature_input.params)
    public_key = resolve_key(signature_input.key_id)
    if not isinstance(getattr(public_key, "curve", None), ec.SECP256R1):
        raise InvalidSignature("the key resolved for this keyid is not a P-256 public key")
    half = _SIGNATURE_LENGTH // 2
    der_signature = encode_dss_signature(
        int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
    )
    try:
        public_key.verify(der_signature, base, ECDSA_SHA256)
    except CryptographyInvalidSignature:
        raise InvalidSignature("request signature does not verify") from None
    return SignedRequestInfo(
        key_id=signature_input.key_id,
        created=signature_input.created,
        nonce=signature_input.nonce,
        counter=counter,
    )
