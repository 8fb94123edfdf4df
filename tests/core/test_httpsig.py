# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import http_sf
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    MappingKeyResolver,
)
from http_message_signatures import InvalidSignature as LibraryInvalidSignature
from http_message_signatures.algorithms import (
    ECDSA_P256_SHA256,
    ED25519,
    HMAC_SHA256,
    HTTPSignatureAlgorithm,
)
from hypothesis import given
from hypothesis import strategies as st

from sceau_core.errors import Expired, InvalidEncoding, InvalidSignature, Mismatch
from sceau_core.httpsig import (
    COUNTER_HEADER,
    COVERED_COMPONENTS,
    HttpRequest,
    SignedRequestInfo,
    content_digest,
    sign_request,
    verify_request,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "rfc9421"


def _load_rfc_keys() -> tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey]:
    private = serialization.load_pem_private_key(
        (VECTORS / "test-key-ecc-p256.pem").read_bytes(), password=None
    )
    public = serialization.load_pem_public_key((VECTORS / "test-key-ecc-p256.pub.pem").read_bytes())
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    return private, public


RFC_PRIVATE_KEY, RFC_PUBLIC_KEY = _load_rfc_keys()

DEVICE_KEY = RFC_PRIVATE_KEY
OTHER_KEY = ec.derive_private_key(0x5CEA0, ec.SECP256R1())
NOW = 1_700_000_000
KEY_ID = "act-1"
URL = "https://bank.example/v1/devices/approve?op=42"
BODY = b'{"decision":"approve"}'


def counting_rng(size: int) -> bytes:
    return bytes(range(size))


def base_request(**changes: object) -> HttpRequest:
    fields: dict[str, object] = {
        "method": "POST",
        "url": URL,
        "headers": {"Content-Type": "application/json"},
        "body": BODY,
    }
    fields.update(changes)
    return HttpRequest(**fields)  # type: ignore[arg-type]


def signed(request: HttpRequest | None = None, *, counter: int = 42) -> HttpRequest:
    request = base_request() if request is None else request
    headers = sign_request(
        request, private_key=DEVICE_KEY, key_id=KEY_ID, counter=counter, now=NOW, rng=counting_rng
    )
    return request.with_headers(headers)


def device_key(key_id: str) -> ec.EllipticCurvePublicKey:
    assert key_id == KEY_ID
    return DEVICE_KEY.public_key()


def verify(
    request: HttpRequest,
    *,
    now: int = NOW,
    resolve_key: Callable[[str], ec.EllipticCurvePublicKey] = device_key,
) -> SignedRequestInfo:
    return verify_request(request, resolve_key=resolve_key, now=now)


class _MutableRequest:
    def __init__(self, request: HttpRequest) -> None:
        self.method = request.method
        self.url = request.url
        self.headers = dict(request.headers)


def sign_with_library(
    request: HttpRequest,
    *,
    covered: Sequence[str] = COVERED_COMPONENTS,
    algorithm: type[HTTPSignatureAlgorithm] = ECDSA_P256_SHA256,
    key: object = DEVICE_KEY,
    label: str = "sceau",
    nonce: str | None = "AAECAwQFBgcICQoLDA0ODw",
    include_alg: bool = True,
    tag: str | None = None,
    append: bool = False,
) -> HttpRequest:
    """Sign with the library directly, to build validly signed requests outside the profile."""
    if "Content-Digest" not in request.headers:
        request = request.with_headers({"Content-Digest": content_digest(request.body)})
    if "Sceau-Counter" not in request.headers:
        request = request.with_headers({"Sceau-Counter": "42"})
    message = _MutableRequest(request)
    signer = HTTPMessageSigner(
        signature_algorithm=algorithm,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={KEY_ID: key}),  # type: ignore[dict-item]
    )
    signer.sign(
        message,
        key_id=KEY_ID,
        created=datetime.fromtimestamp(NOW, tz=UTC),
        nonce=nonce,
        label=label,
        tag=tag,
        include_alg=include_alg,
        covered_component_ids=covered,
        append_if_signature_exists=append,
        use_existing_digest=True,
    )
    return HttpRequest(request.method, request.url, message.headers, request.body)


# RFC 9421 Appendix B.2.4 (a response signed with test-key-ecc-p256), read by the library.


@dataclass(frozen=True)
class _Response:
    status_code: int
    headers: Mapping[str, str]


def rfc_b24_response() -> tuple[_Response, bytes]:
    text = (VECTORS / "b2-4-signed-response.http").read_bytes()
    assert text.endswith(b"\n")
    head, _, body = text[:-1].partition(b"\n\n")
    status_line, *field_lines = head.decode("ascii").split("\n")
    assert status_line == "HTTP/1.1 200 OK"
    headers = dict(line.split(": ", 1) for line in field_lines)
    assert int(headers["Content-Length"]) == len(body)
    return _Response(status_code=200, headers=headers), body


def rfc_verifier() -> HTTPMessageVerifier:
    return HTTPMessageVerifier(
        signature_algorithm=ECDSA_P256_SHA256,
        key_resolver=MappingKeyResolver(
            public_keys={"test-key-ecc-p256": RFC_PUBLIC_KEY}, private_keys={}
        ),
    )


def test_rfc_test_key_pair_is_consistent() -> None:
    assert DEVICE_KEY.public_key().public_numbers() == RFC_PUBLIC_KEY.public_numbers()


def test_rfc9421_b24_signature_verifies_with_the_library() -> None:
    response, body = rfc_b24_response()
    [result] = rfc_verifier().verify(response, max_age=None, body=body)
    assert result.label == "sig-b24"
    assert result.parameters == {"created": 1618884473, "keyid": "test-key-ecc-p256"}
    assert list(result.covered_components) == [
        '"@status"',
        '"content-type"',
        '"content-digest"',
        '"content-length"',
        '"@signature-params"',
    ]
    assert result.body == body


def test_rfc9421_b24_signature_base_is_the_rfc_text() -> None:
    response, _ = rfc_b24_response()
    expected_base = (VECTORS / "b2-4-signature-base.txt").read_bytes().removesuffix(b"\n")
    prepared = HTTPMessageSigner(signature_algorithm=ECDSA_P256_SHA256).prepare(
        response,
        key_id="test-key-ecc-p256",
        created=datetime.fromtimestamp(1618884473, tz=UTC),
        label="sig-b24",
        include_alg=False,
        covered_component_ids=("@status", "content-type", "content-digest", "content-length"),
        use_existing_digest=True,
    )
    assert prepared.signature_base == expected_base
    assert "sig-b24=" + prepared.signature_params == response.headers["Signature-Input"]
    # The RFC's signature also verifies over the RFC's base without the library.
    raw = base64.b64decode(response.headers["Signature"].removeprefix("sig-b24=:").rstrip(":"))
    der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
    RFC_PUBLIC_KEY.verify(der, expected_base, ec.ECDSA(hashes.SHA256()))


def test_rfc9421_b24_refuses_a_changed_covered_field() -> None:
    response, body = rfc_b24_response()
    tampered = _Response(200, {**response.headers, "Content-Type": "application/jsonx"})
    with pytest.raises(LibraryInvalidSignature):
        rfc_verifier().verify(tampered, max_age=None, body=body)


# Content-Digest (RFC 9530).


def test_content_digest_is_sha256_structured_field() -> None:
    # The SHA-256 that the RFC 9421 drafts' test-request prints for this body.
    assert content_digest(b'{"hello": "world"}') == (
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    )
    assert content_digest(b"") == "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"


# Sceau's profile: signing.


def test_sign_request_known_answer() -> None:
    request = base_request()
    headers = sign_request(
        request, private_key=DEVICE_KEY, key_id=KEY_ID, counter=42, now=NOW, rng=counting_rng
    )
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(BODY).digest()).decode() + ":"
    params = (
        '("@method" "@target-uri" "content-digest" "sceau-counter")'
        f';created={NOW};keyid="act-1";alg="ecdsa-p256-sha256";nonce="AAECAwQFBgcICQoLDA0ODw"'
    )
    assert list(headers) == ["Content-Digest", "Sceau-Counter", "Signature-Input", "Signature"]
    assert headers["Content-Digest"] == digest
    assert headers["Sceau-Counter"] == "42"
    assert headers["Signature-Input"] == "sceau=" + params
    base = (
        '"@method": POST\n'
        f'"@target-uri": {URL}\n'
        f'"content-digest": {digest}\n'
        '"sceau-counter": 42\n'
        f'"@signature-params": {params}'
    ).encode()
    assert headers["Signature"].startswith("sceau=:")
    raw = base64.b64decode(headers["Signature"].removeprefix("sceau=:").removesuffix(":"))
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
    RFC_PUBLIC_KEY.verify(der, base, ec.ECDSA(hashes.SHA256()))
    again = sign_request(
        request, private_key=DEVICE_KEY, key_id=KEY_ID, counter=42, now=NOW, rng=counting_rng
    )
    assert again == headers  # RFC 6979 nonces: no randomness beyond rng


@given(
    key_id=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=40),
    counter=st.integers(1, 2**53 - 1),
    now=st.integers(0, 2**33),
    nonce=st.binary(min_size=16, max_size=16),
    body=st.binary(max_size=64),
    method=st.sampled_from(["GET", "POST", "DELETE"]),
    target=st.sampled_from(["/", "/v1/device/events", "/v1/x?a=b&c=%20d", "/%7Euser/;p=1"]),
)
def test_sign_request_writes_what_the_rfc9421_library_writes(
    key_id: str, counter: int, now: int, nonce: bytes, body: bytes, method: str, target: str
) -> None:
    request = base_request(method=method, url=f"https://bank.example{target}", body=body)
    headers = sign_request(
        request,
        private_key=DEVICE_KEY,
        key_id=key_id,
        counter=counter,
        now=now,
        rng=lambda _size: nonce,
    )
    message = _MutableRequest(
        request.with_headers(
            {"Content-Digest": content_digest(body), "Sceau-Counter": str(counter)}
        )
    )
    prepared = HTTPMessageSigner(signature_algorithm=ECDSA_P256_SHA256).prepare(
        message,
        key_id=key_id,
        created=datetime.fromtimestamp(now, tz=UTC),
        nonce=base64.urlsafe_b64encode(nonce).decode().rstrip("="),
        label="sceau",
        include_alg=True,
        covered_component_ids=COVERED_COMPONENTS,
        use_existing_digest=True,
    )
    assert headers["Content-Digest"] == message.headers["Content-Digest"]
    assert headers["Signature-Input"] == "sceau=" + prepared.signature_params
    raw = base64.b64decode(headers["Signature"].removeprefix("sceau=:").removesuffix(":"))
    der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
    DEVICE_KEY.public_key().verify(der, prepared.signature_base, ec.ECDSA(hashes.SHA256()))


def test_round_trip_returns_what_was_signed() -> None:
    info = verify(signed(counter=7))
    assert info == SignedRequestInfo(
        key_id=KEY_ID, created=NOW, nonce="AAECAwQFBgcICQoLDA0ODw", counter=7
    )


def test_empty_body_is_signed_with_the_digest_of_nothing() -> None:
    request = signed(base_request(method="GET", body=b""))
    assert request.headers["content-digest"] == content_digest(b"")
    assert verify(request).counter == 42


def test_signing_replaces_stale_profile_headers_in_any_case() -> None:
    stale = base_request(
        headers={"content-digest": "sha-256=:AAAA:", "SIGNATURE": "x", "Sceau-Counter": "1"}
    )
    request = signed(stale)
    assert len(request.headers) == 4
    assert verify(request).counter == 42


def test_target_uri_is_normalized_on_both_sides() -> None:
    request = signed()
    respelled = HttpRequest(
        "POST", "HTTPS://Bank.EXAMPLE:443/v1/devices/approve?op=42", request.headers, BODY
    )
    assert respelled.url == URL
    assert verify(respelled).counter == 42


@pytest.mark.parametrize(
    ("counter", "key_id"),
    [(0, KEY_ID), (2**53, KEY_ID), (-1, KEY_ID), (True, KEY_ID), (1, ""), (1, "act\n1")],
)
def test_sign_request_refuses_bad_counters_and_key_ids(counter: int, key_id: str) -> None:
    with pytest.raises(InvalidEncoding):
        sign_request(
            base_request(),
            private_key=DEVICE_KEY,
            key_id=key_id,
            counter=counter,
            now=NOW,
            rng=counting_rng,
        )


def test_sign_request_refuses_other_curves_and_short_randomness() -> None:
    p384 = ec.derive_private_key(7, ec.SECP384R1())
    with pytest.raises(InvalidEncoding, match="P-256"):
        sign_request(
            base_request(), private_key=p384, key_id=KEY_ID, counter=1, now=NOW, rng=counting_rng
        )
    with pytest.raises(InvalidEncoding, match="16 bytes"):
        sign_request(
            base_request(),
            private_key=DEVICE_KEY,
            key_id=KEY_ID,
            counter=1,
            now=NOW,
            rng=lambda size: bytes(size - 1),
        )


# Sceau's profile: tampering and refusals.


def _replace(request: HttpRequest, **changes: object) -> HttpRequest:
    fields: dict[str, object] = {
        "method": request.method,
        "url": request.url,
        "headers": request.headers,
        "body": request.body,
    }
    fields.update(changes)
    return HttpRequest(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {"method": "PUT"},
        {"url": "https://bank.example/v1/devices/refuse?op=42"},
        {"url": "https://bank.example/v1/devices/approve?op=43"},
        {"url": "https://bank.example/v1/devices/approve"},
        {"url": "https://evil.example/v1/devices/approve?op=42"},
        {"url": "https://bank.example:8443/v1/devices/approve?op=42"},
        {"url": "http://bank.example/v1/devices/approve?op=42"},
    ],
    ids=["method", "path", "query", "query-dropped", "host", "port", "scheme"],
)
def test_changed_method_or_target_uri_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidSignature):
        verify(_replace(signed(), **changes))


def test_changed_counter_is_refused() -> None:
    request = signed()
    with pytest.raises(InvalidSignature):
        verify(request.with_headers({"Sceau-Counter": "43"}))


def test_body_changed_by_one_byte_is_refused() -> None:
    request = signed()
    body = bytearray(request.body)
    body[5] ^= 0x01
    with pytest.raises(Mismatch) as caught:
        verify(_replace(request, body=bytes(body)))
    assert caught.value.field == "content-digest"


def test_body_and_digest_changed_together_break_the_signature() -> None:
    request = signed()
    forged_body = request.body + b" "
    forged = _replace(request, body=forged_body).with_headers(
        {"Content-Digest": content_digest(forged_body)}
    )
    with pytest.raises(InvalidSignature):
        verify(forged)


def test_created_window_bounds() -> None:
    request = signed()
    assert verify(request, now=NOW + 60).created == NOW
    assert verify(request, now=NOW - 5).created == NOW
    with pytest.raises(Expired):
        verify(request, now=NOW + 61)
    with pytest.raises(Expired):
        verify(request, now=NOW - 6)
    info = verify_request(request, resolve_key=device_key, now=NOW + 100, max_age=120)
    assert info.created == NOW


def test_verification_uses_the_callers_clock_only() -> None:
    # Year 2096: a verifier that read the system clock would see `created` far in the future.
    later = 4_000_000_000
    request = base_request()
    headers = sign_request(
        request, private_key=DEVICE_KEY, key_id=KEY_ID, counter=1, now=later, rng=counting_rng
    )
    info = verify(request.with_headers(headers), now=later + 30)
    assert info.created == later


def test_signature_by_another_key_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        verify(signed(), resolve_key=lambda _key_id: OTHER_KEY.public_key())


def test_resolved_key_on_another_curve_is_refused() -> None:
    p384 = ec.derive_private_key(7, ec.SECP384R1()).public_key()
    with pytest.raises(InvalidSignature, match="P-256"):
        verify(signed(), resolve_key=lambda _key_id: p384)


def test_resolve_key_errors_pass_through() -> None:
    def unknown(key_id: str) -> ec.EllipticCurvePublicKey:
        raise Mismatch(f"keyid {key_id}")

    def broken(_key_id: str) -> ec.EllipticCurvePublicKey:
        raise LookupError("database down")

    with pytest.raises(Mismatch, match="keyid act-1"):
        verify(signed(), resolve_key=unknown)
    with pytest.raises(LookupError, match="database down"):
        verify(signed(), resolve_key=broken)


def test_stale_request_never_reaches_the_key_lookup() -> None:
    calls: list[str] = []

    def recording(key_id: str) -> ec.EllipticCurvePublicKey:
        calls.append(key_id)
        return device_key(key_id)

    with pytest.raises(Expired):
        verify(signed(), now=NOW + 3600, resolve_key=recording)
    assert calls == []
    verify(signed(), resolve_key=recording)
    assert calls == [KEY_ID]


def test_library_signed_request_in_the_profile_verifies() -> None:
    # Guards the refusal tests below: the helper itself produces acceptable requests.
    assert verify(sign_with_library(base_request())).nonce == "AAECAwQFBgcICQoLDA0ODw"


def test_signature_params_are_covered_as_serialized_again_not_as_received() -> None:
    # RFC 9421 §2.3: the base's last line is the parsed member serialized again, so spacing,
    # parameter order and string escapes as sent by another signer do not break verification.
    key_id = 'act "1" \\ b'
    nonce = "AAECAwQFBgcICQoLDA0ODw"
    request = base_request().with_headers(
        {"Content-Digest": content_digest(BODY), "Sceau-Counter": "7"}
    )
    params = (
        '("@method" "@target-uri" "content-digest" "sceau-counter")'
        f';nonce="{nonce}";alg="ecdsa-p256-sha256";created={NOW};keyid="act \\"1\\" \\\\ b"'
    )
    base = (
        f'"@method": POST\n"@target-uri": {URL}\n"content-digest": {content_digest(BODY)}\n'
        f'"sceau-counter": 7\n"@signature-params": {params}'
    ).encode("ascii")
    der = DEVICE_KEY.sign(base, ec.ECDSA(hashes.SHA256()))
    raw = ECDSA_P256_SHA256.signature_from_der(der)
    sent_input = params.replace('" "', '"   "').replace('")', '" )')
    signed_request = request.with_headers(
        {
            "Signature-Input": f"sceau={sent_input}",
            "Signature": f"sceau=:{base64.b64encode(raw).decode()}:",
        }
    )
    info = verify(signed_request, resolve_key=lambda _: DEVICE_KEY.public_key())
    assert (info.key_id, info.nonce, info.counter) == (key_id, nonce, 7)


def _signed_over(member: str) -> HttpRequest:
    """A request whose Signature-Input member is ``member``, signed over http-sf's own
    serialization of it (as a conforming signer that wrote it this way would sign)."""
    parsed = http_sf.parse(f"sceau={member}".encode("ascii"), tltype="dictionary")
    params = http_sf.ser(parsed).removeprefix("sceau=")
    request = base_request().with_headers(
        {"Content-Digest": content_digest(BODY), "Sceau-Counter": "7"}
    )
    base = (
        f'"@method": POST\n"@target-uri": {URL}\n"content-digest": {content_digest(BODY)}\n'
        f'"sceau-counter": 7\n"@signature-params": {params}'
    ).encode("ascii")
    raw = ECDSA_P256_SHA256.signature_from_der(DEVICE_KEY.sign(base, ec.ECDSA(hashes.SHA256())))
    return request.with_headers(
        {
            "Signature-Input": f"sceau={member}",
            "Signature": f"sceau=:{base64.b64encode(raw).decode()}:",
        }
    )


@given(
    key_id=st.text(alphabet=[chr(code) for code in range(0x20, 0x7F)], min_size=1, max_size=40),
    order=st.permutations(["created", "nonce", "keyid", "alg"]),
)
def test_any_printable_keyid_and_parameter_order_verify(key_id: str, order: list[str]) -> None:
    escaped = key_id.replace("\\", "\\\\").replace('"', '\\"')
    values = {
        "created": str(NOW),
        "nonce": '"AAECAwQFBgcICQoLDA0ODw"',
        "keyid": f'"{escaped}"',
        "alg": '"ecdsa-p256-sha256"',
    }
    member = '("@method" "@target-uri" "content-digest" "sceau-counter")' + "".join(
        f";{name}={values[name]}" for name in order
    )
    info = verify(_signed_over(member), resolve_key=lambda _: DEVICE_KEY.public_key())
    assert (info.key_id, info.counter) == (key_id, 7)


@pytest.mark.parametrize(
    "member",
    [
        '("@method" "@target-uri" content-digest "sceau-counter");created={now};keyid=act-1'
        ';alg="ecdsa-p256-sha256";nonce="AAECAwQFBgcICQoLDA0ODw"',
        '("@method" "@target-uri" "content-digest" "sceau-counter");created={now}'
        ';keyid="act-1";alg=ecdsa-p256-sha256;nonce=AAECAwQFBgcICQoLDA0ODw',
    ],
    ids=["token-component-and-keyid", "token-alg-and-nonce"],
)
def test_tokens_where_the_profile_writes_strings_are_refused(member: str) -> None:
    with pytest.raises(InvalidEncoding):
        verify(_signed_over(member.format(now=NOW)))


@pytest.mark.parametrize(
    ("covered", "field"),
    [
        ((*COVERED_COMPONENTS, "@authority"), "covered components"),
        (COVERED_COMPONENTS[:-1], "covered components"),
        (("@target-uri", "@method", "content-digest", "sceau-counter"), "covered components"),
        (("@method", "@target-uri", '"content-digest";sf', "sceau-counter"), "covered components"),
    ],
    ids=["extra", "missing", "reordered", "with-parameter"],
)
def test_covered_components_must_be_exactly_the_profile(
    covered: tuple[str, ...], field: str
) -> None:
    with pytest.raises(Mismatch) as caught:
        verify(sign_with_library(base_request(), covered=covered))
    assert caught.value.field == field


@pytest.mark.parametrize(
    "options",
    [{"include_alg": False}, {"nonce": None}, {"tag": "sceau"}],
    ids=["no-alg", "no-nonce", "extra-tag"],
)
def test_signature_parameters_must_be_exactly_the_profile(options: dict[str, object]) -> None:
    with pytest.raises(Mismatch) as caught:
        verify(sign_with_library(base_request(), **options))  # type: ignore[arg-type]
    assert caught.value.field == "signature parameters"


@pytest.mark.parametrize(
    ("algorithm", "key"),
    [
        (ED25519, ed25519.Ed25519PrivateKey.from_private_bytes(bytes(32))),
        (HMAC_SHA256, b"shared secret"),
    ],
    ids=["ed25519", "hmac-sha256"],
)
def test_other_algorithms_are_refused(algorithm: type[HTTPSignatureAlgorithm], key: object) -> None:
    with pytest.raises(Mismatch) as caught:
        verify(sign_with_library(base_request(), algorithm=algorithm, key=key))
    assert caught.value.field == "alg"


def test_another_label_is_refused() -> None:
    with pytest.raises(Mismatch) as caught:
        verify(sign_with_library(base_request(), label="sig1"))
    assert caught.value.field == "signature label"


def test_a_second_signature_label_is_refused() -> None:
    request = sign_with_library(base_request())
    assert verify(request).counter == 42
    doubled = sign_with_library(request, label="proxy", append=True)
    assert "proxy=" in doubled.headers["Signature-Input"]
    with pytest.raises(Mismatch) as caught:
        verify(doubled)
    assert caught.value.field == "signature label"


def test_a_repeated_sceau_label_is_refused() -> None:
    request = signed()
    signature_input = request.headers["Signature-Input"]
    signature = request.headers["Signature"]
    doubled = request.with_headers(
        {
            "Signature-Input": f"{signature_input}, {signature_input}",
            "Signature": f"{signature}, {signature}",
        }
    )
    with pytest.raises(InvalidEncoding, match="duplicate"):
        verify(doubled)


@pytest.mark.parametrize(
    "nonce", ["short", "A" * 44, "AAECAwQFBgcICQoLDA0O+w", "AAECAwQFBgcICQoLDA0O/w"]
)
def test_nonce_must_be_16_to_43_base64url_characters(nonce: str) -> None:
    with pytest.raises(InvalidEncoding, match="nonce"):
        verify(sign_with_library(base_request(), nonce=nonce))


def _signature_input_params(request: HttpRequest) -> str:
    return request.headers["Signature-Input"].removeprefix("sceau=")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "sceau=(((",
        "sceau",
        "sceau=:AAAA:",
        "sceau=(@method)",
        'sceau=("@method" "@target-uri" "content-digest" "sceau-counter");created="1"'
        ';keyid="act-1";alg="ecdsa-p256-sha256";nonce="AAECAwQFBgcICQoLDA0ODw"',
        'sceau=("@method" "@target-uri" "content-digest" "sceau-counter");created=1'
        ';keyid=act;alg="ecdsa-p256-sha256";nonce="AAECAwQFBgcICQoLDA0ODw"',
        'sceau=("@method" "@target-uri" "content-digest" "sceau-counter");créé=1',
    ],
    ids=[
        "empty",
        "unbalanced",
        "bare-key",
        "byte-sequence",
        "token-component",
        "string-created",
        "token-keyid",
        "non-ascii",
    ],
)
def test_garbage_signature_input_is_invalid_encoding(value: str) -> None:
    with pytest.raises(InvalidEncoding):
        verify(signed().with_headers({"Signature-Input": value}))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "sceau=garbage",
        "sceau=:AAAA:",
        "sceau=:not base64!:",
        'sceau=("a")',
        "%%%",
        "sceau=:" + base64.b64encode(bytes(64)).decode() + ":;x=1",
        "sceau=:" + base64.b64encode(bytes(65)).decode() + ":",
    ],
    ids=["empty", "token", "short", "bad-base64", "inner-list", "junk", "parameter", "65-bytes"],
)
def test_garbage_signature_is_invalid_encoding(value: str) -> None:
    with pytest.raises(InvalidEncoding):
        verify(signed().with_headers({"Signature": value}))


def test_a_well_formed_wrong_signature_is_invalid_signature() -> None:
    raw = base64.b64encode(bytes(range(64))).decode()
    with pytest.raises(InvalidSignature):
        verify(signed().with_headers({"Signature": f"sceau=:{raw}:"}))


@pytest.mark.parametrize("name", ["Signature-Input", "Signature", "Content-Digest", COUNTER_HEADER])
def test_missing_profile_header_is_invalid_encoding(name: str) -> None:
    request = signed()
    headers = {key: value for key, value in request.headers.items() if key.lower() != name.lower()}
    with pytest.raises(InvalidEncoding, match="missing"):
        verify(_replace(request, headers=headers))


def test_content_digest_with_another_algorithm_only_is_refused() -> None:
    sha512 = base64.b64encode(hashlib.sha512(BODY).digest()).decode()
    request = base_request(headers={"Content-Digest": f"sha-512=:{sha512}:"})
    # Validly signed by the device key, so only the profile rule can refuse it.
    signed_sha512 = sign_with_library(request)
    with pytest.raises(Mismatch) as caught:
        verify(signed_sha512)
    assert caught.value.field == "content-digest algorithm"


def test_content_digest_with_an_extra_algorithm_is_refused() -> None:
    sha512 = base64.b64encode(hashlib.sha512(BODY).digest()).decode()
    both = f"{content_digest(BODY)}, sha-512=:{sha512}:"
    with pytest.raises(Mismatch) as caught:
        verify(sign_with_library(base_request(headers={"Content-Digest": both})))
    assert caught.value.field == "content-digest algorithm"


@pytest.mark.parametrize(
    "value",
    ["sha-256=abc", "sha-256=:AAAA:", "sha-256", "sha-256=:" + "A" * 43 + "=:;p=1", "%%"],
    ids=["token", "short", "bare", "parameter", "junk"],
)
def test_malformed_content_digest_is_invalid_encoding(value: str) -> None:
    with pytest.raises(InvalidEncoding):
        verify(signed().with_headers({"Content-Digest": value}))


@pytest.mark.parametrize("value", ["0", "007", "-1", "1.0", "", "x", str(2**53), "9" * 17])
def test_malformed_counter_is_invalid_encoding(value: str) -> None:
    with pytest.raises(InvalidEncoding, match=r"(?i)counter"):
        verify(signed().with_headers({"Sceau-Counter": value}))


def test_largest_counter_round_trips() -> None:
    assert verify(signed(counter=2**53 - 1)).counter == 2**53 - 1


# HttpRequest and SignedRequestInfo values.


def test_http_request_headers_are_an_immutable_case_insensitive_copy() -> None:
    source = {"X-Trace": " abc\t"}
    request = base_request(headers=source)
    source["X-Trace"] = "changed"
    assert request.headers["x-trace"] == "abc"
    assert list(request.headers) == ["X-Trace"]
    assert request.headers == {"x-TRACE": "abc"}
    with pytest.raises(TypeError):
        request.headers["X-Other"] = "1"  # type: ignore[index]
    assert hash(request) == hash(base_request(headers={"x-trace": "abc"}))


@pytest.mark.parametrize(
    "url",
    [
        "ftp://bank.example/",
        "/relative/path",
        "https://bank.example/a b",
        "https://user@bank.example/",
        "https://bank.example/#fragment",
        "https://bank.example:99999/",
        "https://bank.example:/",
        "https://[::zz]/",
        "https://bank.example/%zz",
        "https://bänk.example/",
        "https:///path",
    ],
)
def test_http_request_refuses_malformed_urls(url: str) -> None:
    with pytest.raises(InvalidEncoding):
        base_request(url=url)


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("https://bank.example", "https://bank.example/"),
        ("HTTP://Bank.Example:80/a?", "http://bank.example/a?"),
        ("http://bank.example:0443/a", "http://bank.example:443/a"),
        ("https://[2001:DB8::1]:8443/a%2Fb?x=%7E", "https://[2001:db8::1]:8443/a%2Fb?x=%7E"),
    ],
)
def test_http_request_normalizes_scheme_host_and_port(url: str, normalized: str) -> None:
    assert base_request(url=url).url == normalized


@pytest.mark.parametrize(
    "changes",
    [
        {"method": "get"},
        {"method": "GET /"},
        {"headers": {"Bad Name": "x"}},
        {"headers": {"X-A": "line\nbreak"}},
        {"headers": {"X-A": "1", "x-a": "2"}},
        {"body": "text"},
    ],
    ids=["lower-method", "method-space", "header-name", "header-newline", "header-twice", "str"],
)
def test_http_request_refuses_malformed_fields(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidEncoding):
        base_request(**changes)


@pytest.mark.parametrize(
    "changes",
    [{"key_id": ""}, {"created": "1"}, {"nonce": "short"}, {"counter": 0}],
)
def test_signed_request_info_validates(changes: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "key_id": KEY_ID,
        "created": NOW,
        "nonce": "AAECAwQFBgcICQoLDA0ODw",
        "counter": 1,
    }
    fields.update(changes)
    with pytest.raises(InvalidEncoding):
        SignedRequestInfo(**fields)  # type: ignore[arg-type]


# Properties.

_SEGMENT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~", min_size=1, max_size=12)
_PATHS = st.lists(_SEGMENT, max_size=5).map(lambda segments: "/" + "/".join(segments))
_QUERIES = st.one_of(st.just(""), _SEGMENT.map(lambda text: f"?q={text}"))


@given(
    body=st.binary(max_size=300),
    path=_PATHS,
    query=_QUERIES,
    counter=st.integers(min_value=1, max_value=2**53 - 1),
    nonce=st.binary(min_size=16, max_size=16),
)
def test_sign_then_verify_round_trips(
    body: bytes, path: str, query: str, counter: int, nonce: bytes
) -> None:
    request = HttpRequest("PUT", f"https://bank.example{path}{query}", {}, body)
    headers = sign_request(
        request,
        private_key=DEVICE_KEY,
        key_id=KEY_ID,
        counter=counter,
        now=NOW,
        rng=lambda _size: nonce,
    )
    info = verify(request.with_headers(headers))
    assert (info.counter, info.created, info.key_id) == (counter, NOW, KEY_ID)


@given(
    body=st.binary(min_size=1, max_size=300),
    path=_PATHS,
    data=st.data(),
)
def test_flipping_any_body_byte_breaks_verification(
    body: bytes, path: str, data: st.DataObject
) -> None:
    request = signed(HttpRequest("POST", f"https://bank.example{path}", {}, body))
    index = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    mask = data.draw(st.integers(min_value=1, max_value=255))
    tampered = bytearray(body)
    tampered[index] ^= mask
    with pytest.raises(Mismatch):
        verify(_replace(request, body=bytes(tampered)))


# The verifier reads a Signature-Input or Signature written exactly as sign_request writes it
# without http-sf; these check that doing so changes nothing: over headers near that form and
# far from it, the result is http-sf's own, or both refuse with the same error.
# Each part of a Signature-Input: the form sign_request writes first, then variants of it.
SIGNATURE_INPUT_PARTS: dict[str, list[str]] = {
    "label": ["sceau", "sig1", "Sceau", "sceau ", "*"],
    "components": [
        '("@method" "@target-uri" "content-digest" "sceau-counter")',
        '( "@method" "@target-uri" "content-digest" "sceau-counter" )',
        '("@method"  "@target-uri" "content-digest" "sceau-counter")',
        '("@target-uri" "@method" "content-digest" "sceau-counter")',
        '("@method" "@target-uri" "content-digest")',
        '("@method" "@target-uri" "content-digest" "sceau-counter";sf)',
        '("@method" "@target-uri" "content-digest" sceau-counter)',
        "()",
        '"@method"',
    ],
    "created": [
        f"={NOW}",
        "=0",
        "=-0",
        "=00",
        "=-5",
        "=0123",
        "=123456789012345",
        "=1234567890123456",
        "=1.5",
        '="1"',
        "",
        "=?1",
    ],
    "keyid": [
        '="act-1"',
        '="act \\"1\\" \\\\ b"',
        '=""',
        '="é"',
        '=" ~!#[]"',
        "=act-1",
        "=:AAAA:",
        "",
    ],
    "alg": ['="ecdsa-p256-sha256"', '="ecdsa-p384-sha384"', "=ecdsa-p256-sha256"],
    "nonce": [
        '="AAECAwQFBgcICQoLDA0ODw"',
        '="AAEC"',
        '="AAECAwQFBgcICQoLDA0OD\\w"',
        "=AAECAwQFBgcICQoLDA0ODw",
        '="AAECAwQFBgcICQoLDA0ODw";x',
    ],
    "suffix": ["", ", other=1", ", sceau=1", " ", ";", ";created=1", ";expires=1"],
}


@st.composite
def signature_input_headers(draw: st.DrawFn) -> str:
    # Mostly the written form with one or two parts changed: most inputs then reach the checks
    # that follow the parse, where a difference in the parse would show.
    changed = draw(st.sets(st.sampled_from(sorted(SIGNATURE_INPUT_PARTS)), max_size=2))
    part = {
        name: draw(st.sampled_from(choices[1:])) if name in changed else choices[0]
        for name, choices in SIGNATURE_INPUT_PARTS.items()
    }
    order = draw(st.permutations(["created", "keyid", "alg", "nonce"]))
    return (
        f"{part['label']}={part['components']}"
        + "".join(f";{name}{part[name]}" for name in order)
        + part["suffix"]
    )


def _outcome(read: Callable[[], object]) -> object:
    try:
        return read()
    except (InvalidEncoding, Mismatch) as error:
        return (type(error), str(error))


@given(st.one_of(signature_input_headers(), st.text(max_size=60)))
def test_signature_input_is_read_as_http_sf_reads_it(value: str) -> None:
    from sceau_core import httpsig

    fast = _outcome(lambda: httpsig._signature_input(value))
    generic = _outcome(
        lambda: httpsig._checked_signature_input(httpsig._generic_signature_input(value), None)
    )
    assert fast == generic


def test_signature_input_as_the_sdk_writes_it_is_read_without_http_sf() -> None:
    # Guards the test above: the form sign_request writes is the one read without http-sf.
    from sceau_core import httpsig

    request = signed()
    value = request.headers["Signature-Input"]
    canonical = httpsig._canonical_signature_input(value)
    assert canonical is not None
    parameters, params = canonical
    assert (
        params == http_sf.ser(http_sf.parse(value.encode(), tltype="dictionary"))[len("sceau=") :]
    )
    assert (parameters["created"], parameters["keyid"]) == (NOW, KEY_ID)
    assert httpsig._CANONICAL_SIGNATURE.fullmatch(request.headers["Signature"])


@given(
    st.one_of(
        st.binary(min_size=62, max_size=66).map(
            lambda raw: f"sceau=:{base64.b64encode(raw).decode()}:"
        ),
        st.binary(min_size=64, max_size=64).map(
            lambda raw: f"sceau=:{base64.b64encode(raw).decode().rstrip('=')}:"
        ),
        st.tuples(st.binary(min_size=64, max_size=64), st.sampled_from("ABQRgw")).map(
            lambda pair: f"sceau=:{base64.b64encode(pair[0]).decode()[:85]}{pair[1]}==:"
        ),
        st.binary(min_size=64, max_size=64).map(
            lambda raw: f"sig1=:{base64.b64encode(raw).decode()}:"
        ),
        st.binary(min_size=64, max_size=64).map(
            lambda raw: f"sceau=:{base64.b64encode(raw).decode()}:;a=1"
        ),
        st.text(max_size=100),
    )
)
def test_signature_is_read_as_http_sf_reads_it(value: str) -> None:
    from sceau_core import httpsig

    assert _outcome(lambda: httpsig._signature(value)) == _outcome(
        lambda: httpsig._generic_signature(value)
    )


@given(st.binary(max_size=64))
def test_content_digest_compared_is_the_one_http_sf_writes(body: bytes) -> None:
    from sceau_core import httpsig

    digest = hashlib.sha256(body).digest()
    expected = http_sf.ser({"sha-256": (digest, {})})
    assert httpsig._content_digest_value(digest) == expected == content_digest(body)


HEADER_NAMES = st.sampled_from(
    [
        *["Content-Type", "content-type", "X-Trace", "Sceau-Counter", "a", "bad name", ""],
        *["x\ny", "é", "x:y", "X-TRACE", "!#$%&'*+-.^_`|~"],
    ]
)
HEADER_VALUES = st.sampled_from(
    [
        *["", "application/json", " padded\t", "tab\tinside", "nul\x00", "del\x7f", "lf\n"],
        *["é€", "\x1f", "cr\r"],
    ]
)


@given(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=5))
def test_headers_are_accepted_or_refused_one_by_one_in_order(pairs: list[tuple[str, str]]) -> None:
    # HttpRequest checks all header fields at once; the outcome must be the field-by-field one:
    # the first malformed or repeated field in order is named, and good fields are trimmed.
    headers = dict(pairs)
    expected: object
    try:
        seen: dict[str, tuple[str, str]] = {}
        for name, value in headers.items():
            if not re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", name):
                raise InvalidEncoding(f"header name {name!r} is not an HTTP token")
            if re.search(r"[\x00-\x08\x0a-\x1f\x7f]", value):
                raise InvalidEncoding(f"header {name} has a value with control characters")
            if name.lower() in seen:
                raise InvalidEncoding(f"header {name} is given twice")
            seen[name.lower()] = (name, value.strip(" \t"))
        expected = dict(seen.values())
    except InvalidEncoding as error:
        expected = str(error)
    try:
        actual: object = dict(base_request(headers=headers).headers.items())
    except InvalidEncoding as error:
        actual = str(error)
    assert actual == expected
