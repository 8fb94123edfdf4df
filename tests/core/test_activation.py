# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import itertools
import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceau_core.activation import (
    ALPHABET,
    ActivationCode,
    QrPayload,
    ServerBinding,
    binding_tag,
    check_one_time_code,
    generate_one_time_code,
    keyed_digest,
    verify_binding,
)
from sceau_core.encoding import b64url_encode
from sceau_core.errors import (
    InvalidActivationCode,
    InvalidEncoding,
    InvalidSignature,
    Mismatch,
    ServerKeyNotPinned,
)
from sceau_core.hazmat import oprf
from sceau_core.keys import encode_public_key, generate_private_key, key_fingerprint


def make_binding(url: str = "https://sceau.example.bank") -> ServerBinding:
    _, oprf_public = oprf.generate_key_pair(os.urandom)
    return ServerBinding(
        activation_id="act_123",
        server_url=url,
        server_public_key=encode_public_key(generate_private_key(os.urandom).public_key()),
        oprf_public_key=b64url_encode(oprf_public),
    )


def test_code_is_shown_in_six_groups_of_four() -> None:
    code = ActivationCode.generate(os.urandom)
    groups = code.text.split("-")
    assert [len(g) for g in groups] == [4] * 6
    assert all(c in ALPHABET for c in "".join(groups))
    assert len({ActivationCode.generate(os.urandom).data for _ in range(200)}) == 200


@settings(max_examples=50)
@given(st.binary(min_size=14, max_size=14))
def test_the_code_carries_all_110_bits_drawn(drawn: bytes) -> None:
    requests: list[int] = []

    def rng(length: int) -> bytes:
        requests.append(length)
        return drawn[:length]

    code = ActivationCode.generate(rng)
    assert requests == [14]
    # The 22 data symbols, read as base-32 digits, are exactly the first 110 bits drawn: distinct
    # draws give distinct codes, so a code is as unpredictable as 110 bits of the rng.
    value = 0
    for symbol in code.data:
        value = value * 32 + ALPHABET.index(symbol)
    assert value == int.from_bytes(drawn, "big") >> 2
    assert value.bit_length() <= 110


def test_code_repr_does_not_show_the_secret() -> None:
    code = ActivationCode.generate(os.urandom)
    assert code.data not in repr(code)


def test_every_single_typo_and_every_transposition_is_detected() -> None:
    rng = random.Random(7)
    for _ in range(5):
        text = ActivationCode.generate(rng.randbytes).text.replace("-", "")
        for i, replacement in itertools.product(range(len(text)), ALPHABET):
            if replacement != text[i]:
                with pytest.raises(InvalidActivationCode):
                    ActivationCode.parse(text[:i] + replacement + text[i + 1 :])
        for i, j in itertools.combinations(range(len(text)), 2):
            if text[i] != text[j]:
                swapped = list(text)
                swapped[i], swapped[j] = swapped[j], swapped[i]
                with pytest.raises(InvalidActivationCode):
                    ActivationCode.parse("".join(swapped))


def test_parsing_is_lenient_like_crockford_base32() -> None:
    code = ActivationCode.generate(os.urandom)
    typed = code.text.lower().replace("-", " ").replace("1", "l").replace("0", "o")
    assert ActivationCode.parse(typed) == code


@pytest.mark.parametrize("text", ["", "ABCD", "U" * 24, "!" * 24])
def test_garbage_is_refused_with_a_plain_message(text: str) -> None:
    with pytest.raises(InvalidActivationCode):
        ActivationCode.parse(text)


def test_binding_tag_authenticates_keys_with_the_code() -> None:
    code = ActivationCode.generate(os.urandom)
    binding = make_binding()
    tag = binding_tag(code, binding)
    verify_binding(code, binding, tag, expected_fingerprint=binding.server_key_fingerprint)


def test_a_substituted_server_key_is_refused_without_the_code() -> None:
    code = ActivationCode.generate(os.urandom)
    genuine = make_binding()
    tag = binding_tag(code, genuine)
    forged = ServerBinding(
        activation_id=genuine.activation_id,
        server_url=genuine.server_url,
        server_public_key=encode_public_key(generate_private_key(os.urandom).public_key()),
        oprf_public_key=genuine.oprf_public_key,
    )
    with pytest.raises(InvalidSignature):
        verify_binding(code, forged, tag)
    # The attacker can tag its own binding only under a code it knows, not the customer's.
    with pytest.raises(InvalidSignature):
        verify_binding(code, forged, binding_tag(ActivationCode.generate(os.urandom), forged))


def test_the_binding_tag_and_one_time_codes_are_compared_in_constant_time(
    constant_time_comparisons: list[tuple[object, object]],
) -> None:
    compared = constant_time_comparisons
    code = ActivationCode.generate(os.urandom)
    binding = make_binding()
    tag = binding_tag(code, binding)
    verify_binding(code, binding, tag)
    key = os.urandom(32)
    stored = keyed_digest(key=key, label="sms", subject="act_1", secret="123456")
    check_one_time_code("123456", key=key, label="sms", subject="act_1", expected_digest=stored)
    assert (tag.encode(), tag.encode()) in compared
    assert (stored.encode(), stored.encode()) in compared


def test_qr_fingerprint_must_match_the_bound_key() -> None:
    code = ActivationCode.generate(os.urandom)
    binding = make_binding()
    other_key = generate_private_key(os.urandom).public_key()
    with pytest.raises(ServerKeyNotPinned):
        verify_binding(
            code,
            binding,
            binding_tag(code, binding),
            expected_fingerprint=key_fingerprint(other_key),
        )
    with pytest.raises(ServerKeyNotPinned):
        verify_binding(
            code, binding, binding_tag(code, binding), expected_server_url="https://evil.example"
        )


def test_qr_payload_round_trips() -> None:
    code = ActivationCode.generate(os.urandom)
    binding = make_binding("https://sceau.example.bank:8443/sca")
    payload = QrPayload(code, binding.server_url, binding.server_key_fingerprint)
    uri = payload.to_uri()
    assert uri.startswith("sceau://activate?v=1&code=")
    assert QrPayload.parse(uri) == payload


@pytest.mark.parametrize(
    "uri",
    [
        "https://activate?v=1",
        "sceau://activate?v=2&code=X&server=https%3A%2F%2Fa&fp=x",
        "sceau://activate?v=1&code=X",
        "sceau://activate?v=1&v=1&code=X&server=a&fp=b",
        "sceau://activate?v=1&code=X&server=ftp%3A%2F%2Fa&fp=b&extra=1",
    ],
)
def test_malformed_qr_payloads_are_refused(uri: str) -> None:
    with pytest.raises(InvalidEncoding):
        QrPayload.parse(uri)


def test_binding_refuses_urls_with_query_and_bad_keys() -> None:
    with pytest.raises(InvalidEncoding):
        make_binding("https://bank.example/?next=evil")
    with pytest.raises(InvalidEncoding):
        ServerBinding("a", "https://b.example", "not-a-key", b64url_encode(bytes(32)))


@settings(max_examples=30)
@given(st.binary(min_size=64, max_size=64))
def test_one_time_codes_are_uniform_digits(seed: bytes) -> None:
    rng = random.Random(seed)
    code = generate_one_time_code(rng.randbytes)
    assert len(code) == 6
    assert code.isdigit()


def test_one_time_codes_are_stored_keyed_and_checked_against_their_subject_and_label() -> None:
    key = os.urandom(32)
    stored = keyed_digest(key=key, label="sms", subject="act_1", secret="123456")
    assert "123456" not in stored
    check_one_time_code("123456", key=key, label="sms", subject="act_1", expected_digest=stored)
    for candidate, subject, label in [
        ("123457", "act_1", "sms"),
        ("123456", "act_2", "sms"),
        ("123456", "act_1", "reset"),
    ]:
        with pytest.raises(Mismatch):
            check_one_time_code(
                candidate, key=key, label=label, subject=subject, expected_digest=stored
            )
    with pytest.raises(InvalidEncoding):
        keyed_digest(key=b"short", label="sms", subject="a", secret="1")
