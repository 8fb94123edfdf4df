# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sceau_core.encoding import b64url_decode, b64url_encode, canonical_json, parse_json_object
from sceau_core.errors import InvalidEncoding


@given(st.binary(max_size=200))
def test_base64url_round_trips(data: bytes) -> None:
    text = b64url_encode(data)
    assert "=" not in text
    assert b64url_decode(text) == data


@pytest.mark.parametrize(
    "text",
    ["AAE=", "AA E", "AA+/", "A", "AB", "AAB", "ÿÿ"],
    ids=[
        "padding",
        "space",
        "std-alphabet",
        "one-char",
        "non-canonical-bits",
        "non-canon-3",
        "utf8",
    ],
)
def test_base64url_refuses_non_canonical_text(text: str) -> None:
    with pytest.raises(InvalidEncoding):
        b64url_decode(text)


def test_base64url_length_is_enforced() -> None:
    with pytest.raises(InvalidEncoding, match="must be 32 bytes"):
        b64url_decode(b64url_encode(b"x" * 31), length=32)


def test_canonical_json_sorts_keys_as_rfc8785_section_3_2_3() -> None:
    # The sorting example of RFC 8785 §3.2.3: keys compare as UTF-16 code units, so the emoji
    # (a surrogate pair, 0xD83D…) sorts before U+FB33.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    order = list(parse_json_object(canonical_json(value)).values())
    assert order == [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ]


def test_canonical_json_prints_numbers_as_ecmascript() -> None:
    # RFC 8785 §3.2.2.3 and its Appendix B samples.
    assert canonical_json({"a": 1e21, "b": 333333333.3333333, "c": 0.000001, "d": 1e-7}) == (
        b'{"a":1e+21,"b":333333333.3333333,"c":0.000001,"d":1e-7}'
    )


def test_canonical_json_refuses_lone_surrogates() -> None:
    with pytest.raises(InvalidEncoding):
        canonical_json({"\ud83d": 1})


def test_canonical_json_refuses_floats_it_cannot_represent() -> None:
    with pytest.raises(InvalidEncoding):
        canonical_json({"x": float("nan")})


@pytest.mark.parametrize("text", ['{"a":1,"a":2}', "[1]", '{"a":NaN}', "{", b"\xff"], ids=str)
def test_parse_json_object_is_strict(text: str | bytes) -> None:
    with pytest.raises(InvalidEncoding):
        parse_json_object(text)
