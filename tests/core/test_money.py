# SPDX-License-Identifier: Apache-2.0
"""Amounts (ISO 4217 minor units, Babel formatting), IBANs and card references."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel.numbers import format_currency, get_currency_precision
from hypothesis import given
from hypothesis import strategies as st

from sceau_core.errors import InvalidAmount, InvalidIban, InvalidOperation, MalformedInput
from sceau_core.money import (
    Amount,
    mask_card,
    mask_iban,
    normalize_iban,
    parse_card_last4,
    parse_iban,
)

VALID_IBANS = [
    "FR7630006000011234567890189",
    "FR1420041010050500013M02606",
    "DE89370400440532013000",
    "GB82WEST12345698765432",
    "BE68539007547034",
    "NL91ABNA0417164300",
    "CH9300762011623852957",
    "IT60X0542811101000000123456",
    "ES9121000418450200051332",
    "MC5811222000010123456789030",
    "LU280019400644750000",
]

# --- amounts: parsing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "decimal"),
    [
        ("12.30", "EUR", Decimal("12.30")),
        ("0.01", "EUR", Decimal("0.01")),
        ("1234.56", "EUR", Decimal("1234.56")),
        ("500", "JPY", Decimal("500")),
        ("1.234", "KWD", Decimal("1.234")),
        ("0.500", "BHD", Decimal("0.500")),
        ("9999999999999.99", "EUR", Decimal("9999999999999.99")),
        ("999999999999999", "JPY", Decimal("999999999999999")),
    ],
)
def test_amount_parses_plain_decimals_with_the_currency_minor_unit(
    value: str, currency: str, decimal: Decimal
) -> None:
    amount = Amount.parse(value, currency, positive=True)
    assert amount.value == decimal
    assert amount.currency == currency
    assert str(amount) == value
    assert amount.to_json() == {"value": value, "currency": currency}


@pytest.mark.parametrize(
    ("value", "currency", "message"),
    [
        ("12.3", "EUR", "exactly 2 decimals, not 1"),
        ("12.300", "EUR", "exactly 2 decimals, not 3"),
        ("12", "EUR", "exactly 2 decimals, not 0"),
        ("500.0", "JPY", "exactly 0 decimals, not 1"),
        ("1.23", "KWD", "exactly 3 decimals, not 2"),
        ("1.2345", "KWD", "exactly 3 decimals, not 4"),
    ],
)
def test_amount_refuses_any_other_number_of_decimals(
    value: str, currency: str, message: str
) -> None:
    with pytest.raises(InvalidAmount, match=f"^amount.value: {currency} amounts have {message}$"):
        Amount.parse(value, currency)


@pytest.mark.parametrize(
    "value",
    [
        "-1.00",
        "+1.00",
        "1e3",
        "1E+2",
        "1.00e0",
        " 1.00",
        "1.00 ",
        "1 000.00",
        "1.00\n",
        "01.00",
        "00.10",
        ".50",
        "1.",
        "1,00",
        "１.００",  # full-width digits, which str.isdigit() would accept
        "NaN",
        "Infinity",
        "0x10",
        "1_000.00",
        "",
    ],
)
def test_amount_refuses_anything_but_a_plain_decimal_string(value: str) -> None:
    with pytest.raises(InvalidAmount, match=r"^amount\.value: must be a plain decimal string"):
        Amount.parse(value, "EUR")


@pytest.mark.parametrize("value", [12.3, 1230.0, 1230, 0, True])
def test_amount_refuses_floats_and_integers_with_a_clear_message(value: object) -> None:
    with pytest.raises(InvalidAmount, match=r'must be a decimal string such as "12\.30", not'):
        Amount.parse(value, "EUR")  # type: ignore[arg-type]


def test_amount_refuses_other_python_types() -> None:
    with pytest.raises(InvalidAmount, match=r"must be a string, not Decimal"):
        Amount.parse(Decimal("12.30"), "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "currency"),
    [
        ("99999999999999.99", "EUR"),  # 16 digits
        ("1000000000000000", "JPY"),
        ("999999999999999999999999.99", "EUR"),
        ("1" * 10_000 + ".00", "EUR"),
    ],
)
def test_amount_refuses_more_than_15_digits(value: str, currency: str) -> None:
    with pytest.raises(InvalidAmount, match=r"more than 15 digits"):
        Amount.parse(value, currency)


def test_zero_is_an_amount_but_not_a_payment() -> None:
    assert Amount.parse("0.00", "EUR").value == 0
    with pytest.raises(InvalidAmount, match=r"^amount\.value: must be greater than zero$"):
        Amount.parse("0.00", "EUR", positive=True)
    with pytest.raises(InvalidAmount, match=r"^total: must be greater than zero$"):
        Amount.parse("0", "JPY").require_positive("total")


@pytest.mark.parametrize(
    ("currency", "message"),
    [
        ("eur", "is not an ISO 4217 alphabetic code"),
        ("EURO", "is not an ISO 4217 alphabetic code"),
        ("ZZZ", "is not an ISO 4217 alphabetic code"),
        ("€", "is not an ISO 4217 alphabetic code"),
        ("XXX", "is not a currency for payments"),
        ("XAU", "is not a currency for payments"),
        ("XTS", "is not a currency for payments"),
        (978, "must be a string, not int"),
    ],
)
def test_amount_refuses_unknown_currencies(currency: object, message: str) -> None:
    with pytest.raises(InvalidAmount, match=f"^amount.currency: .*{message}"):
        Amount.parse("1.00", currency)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [Decimal("12.3"), Decimal("-12.30"), Decimal("-0.00"), Decimal("NaN"), Decimal("Infinity")],
)
def test_amount_constructor_enforces_the_same_rules(value: Decimal) -> None:
    with pytest.raises(InvalidAmount, match=r"^value: "):
        Amount(value, "EUR")


def test_amount_constructor_refuses_floats() -> None:
    with pytest.raises(InvalidAmount, match=r"^value: must be a Decimal, not float$"):
        Amount(12.30, "EUR")  # type: ignore[arg-type]


def test_amounts_are_hashable_values() -> None:
    assert Amount.parse("12.30", "EUR") == Amount(Decimal("12.30"), "EUR")
    assert Amount.parse("12.30", "EUR") != Amount.parse("12.31", "EUR")
    assert Amount.parse("12.30", "EUR") != Amount.parse("12.30", "USD")
    assert len({Amount.parse("1.00", "EUR"), Amount.parse("1.00", "EUR")}) == 1


@given(
    st.sampled_from(["EUR", "JPY", "KWD", "USD", "CHF"]),
    st.integers(min_value=0, max_value=10**15 - 1),
)
def test_amount_wire_string_round_trips(currency: str, minor_units: int) -> None:
    precision = {"EUR": 2, "JPY": 0, "KWD": 3, "USD": 2, "CHF": 2}[currency]
    amount = Amount(Decimal(minor_units).scaleb(-precision), currency)
    assert Amount.parse(str(amount), currency) == amount
    assert Amount.from_json(amount.to_json()) == amount
    assert "E" not in str(amount)


# --- amounts: JSON ----------------------------------------------------------------------------


def test_amount_from_json_is_strict() -> None:
    assert Amount.from_json({"value": "1.00", "currency": "EUR"}) == Amount.parse("1.00", "EUR")
    with pytest.raises(InvalidAmount, match=r"^amount\.fx: unknown field$"):
        Amount.from_json({"value": "1.00", "currency": "EUR", "fx": "1"})
    with pytest.raises(InvalidAmount, match=r"^amount\.currency: missing$"):
        Amount.from_json({"value": "1.00"})
    with pytest.raises(InvalidAmount, match=r"^amount\.value: missing$"):
        Amount.from_json({"currency": "EUR"})
    with pytest.raises(InvalidAmount, match=r"^amount: must be a JSON object, not str$"):
        Amount.from_json("1.00 EUR")
    with pytest.raises(InvalidAmount, match=r"^data\.total\.value: must be a decimal string"):
        Amount.from_json({"value": 1.0, "currency": "EUR"}, field="data.total")
    with pytest.raises(InvalidAmount, match=r"^data\.total\.value: must be greater than zero$"):
        Amount.from_json({"value": "0.00", "currency": "EUR"}, positive=True, field="data.total")


# --- amounts: formatting ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "locale", "text"),
    [
        ("1234.56", "EUR", "fr_FR", "1\u202f234,56\u00a0€"),
        ("1234.56", "EUR", "fr", "1\u202f234,56\u00a0€"),
        ("1234.56", "EUR", "en", "€1,234.56"),
        ("0.05", "EUR", "fr_FR", "0,05\u00a0€"),
        ("9999999999999.99", "EUR", "fr_FR", "9\u202f999\u202f999\u202f999\u202f999,99\u00a0€"),
        ("500", "JPY", "en", "¥500"),
        ("500", "JPY", "fr_FR", "500\u00a0JPY"),
        ("1.234", "KWD", "fr_FR", "1,234\u00a0KWD"),
        ("12.30", "USD", "fr_FR", "12,30\u00a0$US"),
        ("12.30", "GBP", "en", "£12.30"),
    ],
)
def test_amount_formats_in_the_customer_locale(
    value: str, currency: str, locale: str, text: str
) -> None:
    assert Amount.parse(value, currency).format(locale) == text


def test_amount_format_refuses_an_unknown_locale() -> None:
    with pytest.raises(MalformedInput, match=r"locale: 'xx_ZZ' is not a known locale"):
        Amount.parse("1.00", "EUR").format("xx_ZZ")


@given(
    st.sampled_from(["EUR", "USD", "GBP", "CHF", "JPY", "KWD", "SEK", "PLN", "INR", "CLF", "XOF"]),
    st.sampled_from(["fr", "fr_FR", "en", "en_IN", "de_CH", "es", "ar_EG", "ja", "he", "sw"]),
    st.integers(min_value=0, max_value=10**13 - 1),
)
def test_amount_format_is_babel_format_currency(currency: str, locale: str, units: int) -> None:
    # Amount.format writes the symbol into the locale's pattern once per pair; the text must
    # stay what Babel's format_currency gives for every amount.
    amount = Amount(Decimal(units).scaleb(-get_currency_precision(currency)), currency)
    assert amount.format(locale) == format_currency(amount.value, currency, locale=locale)


# --- IBANs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_valid_ibans_are_kept_in_electronic_format(iban: str) -> None:
    assert parse_iban(iban) == iban


def test_iban_input_is_normalized_to_electronic_format() -> None:
    assert parse_iban("fr76 3000 6000 0112 3456 7890 189") == "FR7630006000011234567890189"
    assert normalize_iban("de89 3704 0044 0532 0130 00") == "DE89370400440532013000"


@pytest.mark.parametrize(
    ("iban", "message"),
    [
        ("FR7630006000011234567890188", "check digits do not verify"),
        ("FR7730006000011234567890189", "check digits do not verify"),
        ("FR763000600001123456789018", "wrong length for an IBAN of FR"),
        ("FR76300060000112345678901890", "wrong length for an IBAN of FR"),
        ("XX7630006000011234567890189", "unknown country code 'XX'"),
        ("DE8937040044053201300A", "does not match the format of DE"),
        ("FR76-3000-6000-0112-3456-7890-189", "must be 5 to 34 letters and digits"),
        (
            "FR76\u00a03000\u00a06000\u00a00112\u00a03456\u00a07890\u00a0189",
            "must contain only ASCII letters, digits and spaces",
        ),
        ("FR76\t30006000011234567890189", "must be 5 to 34 letters and digits"),
        ("FR76", "must be 5 to 34 letters and digits"),
        ("", "must be 5 to 34 letters and digits"),
    ],
)
def test_invalid_ibans_are_refused_with_the_reason(iban: str, message: str) -> None:
    with pytest.raises(InvalidIban, match=f"^payee_iban: {message}"):
        parse_iban(iban, field="payee_iban")


def test_iban_must_be_a_string() -> None:
    with pytest.raises(InvalidIban, match=r"^iban: must be a string, not int$"):
        parse_iban(7630006000011234567890189)  # type: ignore[arg-type]


@pytest.mark.parametrize("iban", ["FR7630006000011234567890189", "DE89370400440532013000"])
def test_every_single_digit_change_is_refused(iban: str) -> None:
    changed = 0
    for position, char in enumerate(iban):
        if not char.isdigit():
            continue
        for digit in "0123456789":
            if digit == char:
                continue
            with pytest.raises(InvalidIban):
                parse_iban(iban[:position] + digit + iban[position + 1 :])
            changed += 1
    assert changed == 9 * sum(char.isdigit() for char in iban)


@pytest.mark.parametrize(
    ("iban", "masked"),
    [
        ("FR7630006000011234567890189", "FR76 •••• •••• 0189"),
        ("fr76 3000 6000 0112 3456 7890 189", "FR76 •••• •••• 0189"),
        ("DE89370400440532013000", "DE89 •••• •••• 3000"),
        ("BE68539007547034", "BE68 •••• •••• 7034"),
        ("FR1420041010050500013M02606", "FR14 •••• •••• 2606"),
    ],
)
def test_iban_is_masked_except_country_check_digits_and_last_four(iban: str, masked: str) -> None:
    assert mask_iban(iban) == masked
    assert mask_iban(iban).count("\u2022") == 8


def test_masking_refuses_an_invalid_iban() -> None:
    with pytest.raises(InvalidIban):
        mask_iban("FR7630006000011234567890188")


# --- cards ------------------------------------------------------------------------------------


def test_card_is_shown_by_its_last_four_digits() -> None:
    assert parse_card_last4("4242") == "4242"
    assert mask_card("0004") == "\u2022\u2022\u2022\u2022 0004"


@pytest.mark.parametrize(
    "last4", ["424", "42424", "4242424242424242", "4242 4242 4242 4242", "abcd", "４２４２", 4242]
)
def test_only_the_last_four_digits_of_a_card_are_accepted(last4: object) -> None:
    with pytest.raises(InvalidOperation, match=r"^card_last4: must be exactly the last 4 digits"):
        parse_card_last4(last4)  # type: ignore[arg-type]
    with pytest.raises(InvalidOperation):
        mask_card(last4)  # type: ignore[arg-type]


def _schwifty_iban_spelled_with(letters: str) -> str:
    """A valid GB IBAN whose bank code holds ``letters``, built and checked by schwifty."""
    from schwifty import IBAN

    return str(IBAN.generate("GB", bank_code=f"{letters}123456", account_code="12345678"))


@pytest.mark.parametrize(
    ("letters", "ascii_part", "lookalike"),
    [("SSWE", "SS", "\u00df"), ("WIST", "I", "\u0131"), ("WEST", "ST", "\ufb06")],
    ids=["sharp_s", "dotless_i", "st_ligature"],
)
def test_a_non_ascii_character_never_upper_cases_into_a_valid_iban(
    letters: str, ascii_part: str, lookalike: str
) -> None:
    valid = _schwifty_iban_spelled_with(letters)
    assert parse_iban(valid) == valid
    spoofed = valid.replace(ascii_part, lookalike, 1)
    assert spoofed.upper() == valid
    for parse in (normalize_iban, parse_iban):
        with pytest.raises(InvalidIban, match=r"^payee_iban: must contain only ASCII letters"):
            parse(spoofed, field="payee_iban")
