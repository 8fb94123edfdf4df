# SPDX-License-Identifier: Apache-2.0
"""The customer's 4-digit code: its format, and the trivial codes refused at choice time (K5).

The code itself never leaves the device and is never stored (K1): this module only checks a
candidate the customer is choosing, so that the device can refuse it with a reason.

Refused codes, each with a reason the device shows:

- ``same_digit``: one digit four times (0000, 1111, …);
- ``sequence``: four consecutive digits up or down, wrapping (0123, 1234, 7890, 3210, 9876, …);
- ``repeated_pair``: a pair said twice (1212, 6969) or each digit doubled (1122, 7788);
- ``keypad_pattern``: a straight line on a phone keypad (2580, 0852, 1470, 3690, 7410, 9630,
  1590, 7530, 3570, 9510, 1475, …);
- ``common``: one of the most chosen codes in published PIN studies (1004, 2000, 2001, 1010,
  4321, 1313, 5683, 1998…2025 as years, …).
"""

from __future__ import annotations

import itertools
import re

from sceau_core.errors import InvalidEncoding, WeakCode

__all__ = [
    "CODE_LENGTH",
    "WEAK_CODE_REASONS",
    "check_code_format",
    "check_code_strength",
    "code_to_oprf_input",
]

CODE_LENGTH = 4
_FORMAT = re.compile(r"^[0-9]{4}$")

_KEYPAD_LINES = {
    "2580", "0852", "1470", "0741", "3690", "0963", "7410", "9630", "1590", "0951",
    "7530", "0357", "3570", "9510", "1475", "3695", "7412", "9632", "1236", "7896",
    "1793", "3971", "1397", "7931",
}  # fmt: skip
_COMMON = {
    "1004", "2000", "2001", "1010", "4321", "1313", "5683", "1000", "0007", "1007",
    "1231", "1230", "0101", "1984", "6969", "1122", "2468", "1357", "8642", "7531",
} | {str(year) for year in range(1950, 2031)}  # fmt: skip

WEAK_CODE_REASONS: dict[str, dict[str, str]] = {
    "fr": {
        "same_digit": "Ce code répète quatre fois le même chiffre.",
        "sequence": "Ce code est une suite de chiffres.",
        "repeated_pair": "Ce code répète une même paire de chiffres.",
        "keypad_pattern": "Ce code dessine une ligne sur le clavier.",
        "common": "Ce code fait partie des plus utilisés : il est trop facile à deviner.",
    },
    "en": {
        "same_digit": "This code repeats the same digit four times.",
        "sequence": "This code is a sequence of digits.",
        "repeated_pair": "This code repeats the same pair of digits.",
        "keypad_pattern": "This code draws a line on the keypad.",
        "common": "This code is among the most used ones: it is too easy to guess.",
    },
}


def check_code_format(code: str) -> None:
    """Refuse anything that is not exactly 4 ASCII digits."""
    if not isinstance(code, str) or not _FORMAT.fullmatch(code):
        raise InvalidEncoding("the code must be exactly 4 digits")


def _is_sequence(code: str) -> bool:
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(code)}
    return steps in ({1}, {9})


def _weakness(code: str) -> str | None:
    if len(set(code)) == 1:
        return "same_digit"
    if _is_sequence(code):
        return "sequence"
    if code[:2] == code[2:] or (code[0] == code[1] and code[2] == code[3]):
        return "repeated_pair"
    if code in _KEYPAD_LINES:
        return "keypad_pattern"
    if code in _COMMON:
        return "common"
    return None


def check_code_strength(code: str) -> None:
    """Raise :class:`WeakCode` for a trivial code; ``reason`` keys :data:`WEAK_CODE_REASONS`."""
    check_code_format(code)
    reason = _weakness(code)
    if reason is not None:
        raise WeakCode(reason)


def code_to_oprf_input(code: str) -> bytes:
    """The OPRF private input: the code as its 4 ASCII digit bytes."""
    check_code_format(code)
    return code.encode("ascii")
