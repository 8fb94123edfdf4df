# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import base64
import json
import re
import struct
from collections.abc import Callable

import pytest
import rfc8785
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


# RFC 8785 §3.2.2: the example input as printed; §3.2.4: its canonical UTF-8 bytes as printed.
RFC8785_INPUT = r"""{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"""
RFC8785_OUTPUT_HEX = (
    "7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72"
    "75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a"
    "5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31"
    "65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37"
    "5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30"
    "30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d"
)


def test_canonical_json_matches_rfc8785_section_3_2_4_bytes() -> None:
    expected = bytes.fromhex(RFC8785_OUTPUT_HEX.replace(" ", ""))
    assert canonical_json(json.loads(RFC8785_INPUT)) == expected
    # The same value parsed as Sceau parses wire data; then the bytes read as text.
    assert canonical_json(parse_json_object(RFC8785_INPUT)) == expected
    assert expected.decode() == (
        r"""{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"""
        r""""string":"€$\u000f\nA'B\"\\\\\"/"}"""
    )


# RFC 8785 Appendix B: IEEE 754 binary64 values (hex) and their canonical JSON numbers.
RFC8785_APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "expected"), RFC8785_APPENDIX_B)
def test_canonical_json_numbers_match_rfc8785_appendix_b(bits: str, expected: str) -> None:
    (number,) = struct.unpack(">d", bytes.fromhex(bits))
    assert canonical_json({"n": number}) == b'{"n":' + expected.encode() + b"}"


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
def test_canonical_json_refuses_rfc8785_appendix_b_nan_and_infinity(bits: str) -> None:
    (number,) = struct.unpack(">d", bytes.fromhex(bits))
    with pytest.raises(InvalidEncoding):
        canonical_json({"n": number})


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


# Characters where JSON encoders tend to differ: the controls and their short escapes, the
# quote, the backslash and the solidus, DEL, the ECMAScript line terminators U+2028/2029, lone
# surrogates, and code points around the UTF-16 ordering boundary (U+D7FF, U+E000, U+FFFF,
# beyond U+FFFF).
NASTY_CHARACTERS = st.sampled_from(
    [chr(c) for c in range(0x20)]
    + ['"', "\\", "/", "\x7f", "\x80", "\u2028", "\u2029", "\ud7ff", "\ud800", "\udfff"]
    + ["\ue000", "\ufb33", "\ufeff", "\uffff", "\U00010000", "\U0001f600", "\U0010ffff", "é", "a"]
)
JSON_TEXT = st.one_of(
    st.text(NASTY_CHARACTERS, max_size=8),
    st.text(max_size=8),
    st.text(st.characters(codec="utf-8"), max_size=8),
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.sampled_from([2**53 - 1, 2**53, -(2**53) + 1, -(2**53), 10**30, 0, -1]),
    st.floats(),
    JSON_TEXT,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(JSON_TEXT, children, max_size=5),
    ),
    max_leaves=20,
)


def _assert_encoded_as_rfc8785(value: dict[str, object]) -> None:
    """``canonical_json`` gives rfc8785's bytes, or refuses what rfc8785 refuses."""
    try:
        expected = rfc8785.dumps(value)
    except ValueError:  # CanonicalizationError, or UnicodeError for a lone surrogate key
        with pytest.raises(InvalidEncoding):
            canonical_json(value)
    else:
        assert canonical_json(value) == expected


@given(st.dictionaries(JSON_TEXT, JSON_VALUES, max_size=6))
def test_canonical_json_is_byte_identical_to_rfc8785_or_refuses_alike(
    value: dict[str, object],
) -> None:
    _assert_encoded_as_rfc8785(value)


@given(st.dictionaries(JSON_TEXT, st.integers() | st.floats() | st.booleans(), max_size=4))
def test_canonical_json_of_numbers_is_rfc8785(value: dict[str, object]) -> None:
    _assert_encoded_as_rfc8785(value)


@given(
    st.dictionaries(
        st.text(st.sampled_from(["a", "\u20ac", "\ud7ff", "\ue000", "\uffff", "\U0001f600"])),
        st.integers(min_value=0, max_value=9),
        min_size=2,
        max_size=6,
    )
)
def test_canonical_json_orders_keys_by_utf16_code_units_as_rfc8785(value: dict[str, int]) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


def _base64_module_decode(text: str) -> bytes:
    """b64url_decode's contract, through the base64 module: decode, then encode back."""
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text) or len(text) % 4 == 1:
        raise InvalidEncoding("value is not unpadded base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode() != text:
        raise InvalidEncoding("value is not canonical base64url")
    return data


@given(
    st.one_of(
        st.text("AEIMQUYcgkosw048BRhx_-9azZ", max_size=11),
        st.binary(max_size=10).map(lambda data: base64.urlsafe_b64encode(data).decode()),
        st.text(max_size=6),
    )
)
def test_base64url_decodes_and_refuses_as_the_base64_module(text: str) -> None:
    def outcome(decode: Callable[[str], bytes]) -> object:
        try:
            return decode(text)
        except InvalidEncoding as error:
            return str(error)

    assert outcome(b64url_decode) == outcome(_base64_module_decode)


@given(st.binary(max_size=70))
def test_base64url_encodes_as_the_base64_module(data: bytes) -> None:
    assert b64url_encode(data) == base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_base64url_refuses_every_non_canonical_last_character_as_the_base64_module() -> None:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for prefix in ("", "A", "AA", "AAAA", "AAAAA", "AAAAAA"):
        for last in alphabet:
            text = prefix + last
            try:
                expected: object = _base64_module_decode(text)
            except InvalidEncoding as error:
                expected = str(error)
            try:
                actual: object = b64url_decode(text)
            except InvalidEncoding as error:
                actual = str(error)
            assert actual == expected, text
