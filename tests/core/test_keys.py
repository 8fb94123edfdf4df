# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from sceau_core.encoding import b64url_encode
from sceau_core.errors import InvalidEncoding, InvalidSignature
from sceau_core.hazmat.p256 import CURVE_ORDER, scalar_from_seed
from sceau_core.keys import (
    decode_public_key,
    encode_public_key,
    generate_private_key,
    key_fingerprint,
    sign_message,
    verify_message,
)


def test_seed_derivation_is_deterministic_and_salted() -> None:
    seed = bytes(range(32))
    first = scalar_from_seed(seed, salt=b"s1", info=b"i")
    assert first == scalar_from_seed(seed, salt=b"s1", info=b"i")
    assert first != scalar_from_seed(seed, salt=b"s2", info=b"i")
    assert first != scalar_from_seed(seed, salt=b"s1", info=b"j")
    assert 1 <= first < CURVE_ORDER


@settings(max_examples=50)
@given(st.binary(min_size=32, max_size=64))
def test_seed_scalars_are_always_valid_private_keys(seed: bytes) -> None:
    assert 1 <= scalar_from_seed(seed, salt=b"", info=b"x") <= CURVE_ORDER - 1


def test_short_seeds_are_refused() -> None:
    with pytest.raises(InvalidEncoding):
        scalar_from_seed(b"x" * 31, salt=b"", info=b"")


def test_public_key_round_trip_and_fingerprint() -> None:
    key = generate_private_key(os.urandom).public_key()
    text = encode_public_key(key)
    assert encode_public_key(decode_public_key(text)) == text
    assert len(key_fingerprint(key)) == 43


def test_points_off_the_curve_are_refused() -> None:
    with pytest.raises(InvalidEncoding):
        decode_public_key(b64url_encode(b"\x04" + b"\x01" * 64))
    with pytest.raises(InvalidEncoding):
        decode_public_key(b64url_encode(b"\x02" + b"\x01" * 64))


def test_signatures_are_bound_to_key_label_and_message() -> None:
    key = generate_private_key(os.urandom)
    signature = sign_message(key, label="sceau/test", message=b"hello")
    verify_message(key.public_key(), signature, label="sceau/test", message=b"hello")
    other: ec.EllipticCurvePrivateKey = generate_private_key(os.urandom)
    for public_key, label, message in [
        (other.public_key(), "sceau/test", b"hello"),
        (key.public_key(), "sceau/other", b"hello"),
        (key.public_key(), "sceau/test", b"hellO"),
    ]:
        with pytest.raises(InvalidSignature):
            verify_message(public_key, signature, label=label, message=message)
    with pytest.raises(InvalidSignature):
        verify_message(key.public_key(), signature[:-1], label="sceau/test", message=b"hello")


def test_decoding_a_key_again_gives_that_key_and_a_refused_point_stays_refused() -> None:
    keys = [generate_private_key(os.urandom).public_key() for _ in range(3)]
    for _ in range(2):
        for key in keys:
            assert decode_public_key(encode_public_key(key)) == key
        with pytest.raises(InvalidEncoding, match="device key is not a point on P-256"):
            decode_public_key(b64url_encode(b"\x04" + b"\x01" * 64), field="device key")
