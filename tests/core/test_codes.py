# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import pytest

from sceau_core.codes import (
    WEAK_CODE_REASONS,
    check_code_strength,
    code_to_oprf_input,
)
from sceau_core.errors import InvalidEncoding, WeakCode


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("0000", "same_digit"),
        ("1111", "same_digit"),
        ("1234", "sequence"),
        ("7890", "sequence"),
        ("9876", "sequence"),
        ("1212", "repeated_pair"),
        ("1122", "repeated_pair"),
        ("2580", "keypad_pattern"),
        ("0852", "keypad_pattern"),
        ("1004", "common"),
        ("1987", "common"),
        ("2024", "common"),
    ],
)
def test_trivial_codes_are_refused_with_a_reason(code: str, reason: str) -> None:
    with pytest.raises(WeakCode) as caught:
        check_code_strength(code)
    assert caught.value.reason == reason
    assert WEAK_CODE_REASONS["fr"][reason]
    assert WEAK_CODE_REASONS["en"][reason]


@pytest.mark.parametrize("code", ["4826", "3917", "5061", "8203"])
def test_ordinary_codes_are_accepted(code: str) -> None:
    check_code_strength(code)


def test_most_codes_remain_available() -> None:
    refused = 0
    for number in range(10_000):
        try:
            check_code_strength(f"{number:04d}")
        except WeakCode:
            refused += 1
    assert 100 < refused < 400  # over 96 % of the codes stay available


@pytest.mark.parametrize("code", ["123", "12345", "12a4", "１２３４", " 1234", ""])
def test_only_four_ascii_digits_are_a_code(code: str) -> None:
    with pytest.raises(InvalidEncoding):
        code_to_oprf_input(code)


def test_oprf_input_is_the_four_ascii_digits() -> None:
    assert code_to_oprf_input("4826") == b"4826"
