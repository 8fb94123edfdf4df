# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import hashlib
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from sceau_core.encoding import b64url_encode, canonical_json
from sceau_core.errors import InvalidEncoding, InvalidSignature, Mismatch
from sceau_core.keys import generate_private_key
from sceau_core.results import ResultClaims, ResultStatus, jwks, key_id, sign_result, verify_result

ISSUER = "https://sceau.example.bank"


def claims(**changes: object) -> ResultClaims:
    values: dict[str, object] = {
        "issuer": ISSUER,
        "operation_id": "op_1",
        "digest": b64url_encode(bytes(range(32))),
        "operation_type": "transfer",
        "status": ResultStatus.APPROVED,
        "factors": ("knowledge", "possession"),
        "signers": ("act_1",),
        "issued_at": 1_764_236_400,
    }
    values.update(changes)
    return ResultClaims(**values)  # type: ignore[arg-type]


def test_result_jws_verifies_with_the_published_jwks() -> None:
    key = generate_private_key(os.urandom)
    token = sign_result(claims(), private_key=key)
    document = jwks([key.public_key()])
    assert document["keys"][0]["kid"] == key_id(key.public_key())
    assert document["keys"][0]["alg"] == "ES256"
    assert "d" not in document["keys"][0]
    verified = verify_result(
        token, jwks_document=document, expected_operation_id="op_1", expected_issuer=ISSUER
    )
    assert verified == claims()


def test_result_signed_by_another_key_is_refused() -> None:
    token = sign_result(claims(), private_key=generate_private_key(os.urandom))
    with pytest.raises(InvalidSignature):
        verify_result(
            token,
            jwks_document=jwks([generate_private_key(os.urandom).public_key()]),
            expected_operation_id="op_1",
            expected_issuer=ISSUER,
        )


def test_result_for_another_operation_or_digest_is_refused() -> None:
    key = generate_private_key(os.urandom)
    token = sign_result(claims(), private_key=key)
    document = jwks([key.public_key()])
    with pytest.raises(Mismatch):
        verify_result(
            token, jwks_document=document, expected_operation_id="op_2", expected_issuer=ISSUER
        )
    with pytest.raises(Mismatch):
        verify_result(
            token,
            jwks_document=document,
            expected_operation_id="op_1",
            expected_issuer=ISSUER,
            expected_digest=b64url_encode(bytes(32)),
        )


_CHANGED_CLAIMS = {
    "iss": "https://evil.example",
    "op": "op_2",
    "digest": b64url_encode(bytes(32)),
    "type": "add_payee",
    "status": "rejected",
    "factors": ["inherence", "possession"],
    "signers": ["act_2"],
    "iat": 1_764_236_401,
}


@pytest.mark.parametrize("claim", sorted(_CHANGED_CLAIMS))
def test_changing_any_claim_of_a_signed_result_breaks_its_signature(claim: str) -> None:
    key = generate_private_key(os.urandom)
    header, _, signature = sign_result(claims(), private_key=key).split(".")
    payload = {**claims().to_json(), claim: _CHANGED_CLAIMS[claim]}
    ResultClaims.from_json(payload)  # still a well-formed result: only the signature can refuse
    forged = f"{header}.{b64url_encode(canonical_json(payload))}.{signature}"
    with pytest.raises(InvalidSignature):
        verify_result(
            forged,
            jwks_document=jwks([key.public_key()]),
            expected_operation_id=payload["op"],
            expected_issuer=payload["iss"],
        )


@pytest.mark.parametrize("typ", ["JWT", None])
def test_another_jws_of_the_server_key_does_not_pass_for_a_result(typ: str | None) -> None:
    # Protocol §7 step 3: the server key may sign other JWS; only typ sceau-result+jws is one.
    key = generate_private_key(os.urandom)
    header = {"alg": "ES256", "kid": key_id(key.public_key())}
    if typ is not None:
        header["typ"] = typ
    payload = b64url_encode(canonical_json(claims().to_json()))
    signing_input = f"{b64url_encode(canonical_json(header))}.{payload}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    s = min(s, order - s)  # low S, so that only the typ can refuse it
    token = f"{signing_input}.{b64url_encode(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
    with pytest.raises(InvalidEncoding, match="typ"):
        verify_result(
            token,
            jwks_document=jwks([key.public_key()]),
            expected_operation_id="op_1",
            expected_issuer=ISSUER,
        )


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c", "e30.e30.e30"])
def test_garbage_tokens_are_refused(token: str) -> None:
    key = generate_private_key(os.urandom)
    with pytest.raises((InvalidSignature, InvalidEncoding)):
        verify_result(
            token,
            jwks_document=jwks([key.public_key()]),
            expected_operation_id="x",
            expected_issuer=ISSUER,
        )


def _rfc7638_thumbprint(public_key: ec.EllipticCurvePublicKey) -> str:
    # RFC 7638 §3.2: SHA-256 of the JWK's required members, sorted, without white space.
    numbers = public_key.public_numbers()
    size = (public_key.curve.key_size + 7) // 8
    member = {"secp256r1": "P-256", "secp384r1": "P-384"}[public_key.curve.name]
    jwk = (
        f'{{"crv":"{member}","kty":"EC",'
        f'"x":"{b64url_encode(numbers.x.to_bytes(size, "big"))}",'
        f'"y":"{b64url_encode(numbers.y.to_bytes(size, "big"))}"}}'
    )
    return b64url_encode(hashlib.sha256(jwk.encode()).digest())


def test_key_id_is_each_key_own_rfc7638_thumbprint_every_time() -> None:
    keys = [generate_private_key(os.urandom).public_key() for _ in range(3)]
    keys.append(ec.generate_private_key(ec.SECP384R1()).public_key())
    for _ in range(2):
        assert [key_id(key) for key in keys] == [_rfc7638_thumbprint(key) for key in keys]
    assert len({key_id(key) for key in keys}) == len(keys)
