# SPDX-License-Identifier: Apache-2.0
"""Amounts, IBANs and card references as they travel in operations (brief D1, §5).

Wire rules, fixed so that one value has exactly one encoding:

- An amount is a JSON object ``{"value": "12.30", "currency": "EUR"}``. ``value`` is a string
  matching ``^(0|[1-9][0-9]*)(\\.[0-9]+)?$`` with exactly as many decimals as the currency's
  minor unit (CLDR data through Babel: EUR 2, JPY 0, KWD 3); no sign, exponent, space, or JSON
  number. The coefficient has at most 15 digits, so an EUR amount is at most
  9 999 999 999 999.99 and every amount survives a round trip through an IEEE 754 double.
- An IBAN travels in electronic format: upper case, no spaces, a valid ISO 13616 length and
  ISO 7064 mod 97-10 check digits. Customers see it masked except its country, check digits and
  last four characters: ``FR76 •••• •••• 0189``.
- A card travels only as the last four digits of its PAN: the server never receives a full PAN.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from babel.core import Locale, UnknownLocaleError
from babel.numbers import (
    NumberPattern,
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    is_currency,
)

from sceau_core.errors import InvalidAmount, InvalidIban, InvalidOperation, MalformedInput

__all__ = [
    "MASK",
    "MAX_AMOUNT_DIGITS",
    "Amount",
    "mask_card",
    "mask_iban",
    "normalize_iban",
    "parse_card_last4",
    "parse_iban",
]

MAX_AMOUNT_DIGITS = 15
"""The most digits an amount's wire string may hold, integer and decimal parts together."""

MASK = "\u2022\u2022\u2022\u2022"
"""Four bullets (U+2022) standing for hidden characters in a masked IBAN or card number."""

_DECIMAL = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_IBAN_CHARS = re.compile(r"[A-Z0-9]{5,34}")
_LAST4 = re.compile(r"[0-9]{4}")

# ISO 4217 codes that are valid but name no money a customer can pay with: precious metals,
# bond-market units, special drawing rights, the testing code and "no currency".
_NOT_MONEY = frozenset(
    {"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"}
)


def _path(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


@contextmanager
def _within(field: str) -> Iterator[None]:
    """Prefix the field path of any ``MalformedInput`` raised inside with ``field``."""
    try:
        yield
    except MalformedInput as error:
        if not field:
            raise
        raise type(error)(f"{field}.{error}") from error


# Babel's answers for a code, a currency and locale pair do not change while the process runs.
_is_currency = functools.lru_cache(maxsize=512)(is_currency)


def _check_currency(currency: object, field: str) -> str:
    if not isinstance(currency, str):
        raise InvalidAmount(f"{field}: must be a string, not {type(currency).__name__}")
    if not _CURRENCY.fullmatch(currency) or not _is_currency(currency):
        raise InvalidAmount(f"{field}: {currency!r} is not an ISO 4217 alphabetic code")
    if currency in _NOT_MONEY:
        raise InvalidAmount(f"{field}: {currency} is not a currency for payments")
    return currency


@dataclass(frozen=True)
class Amount:
    """A non-negative amount of money in one ISO 4217 currency, exact to its minor unit.

    ``value`` carries exactly the currency's number of decimals (``Decimal("12.30")`` for EUR,
    ``Decimal("500")`` for JPY), so ``str(amount)`` is the one canonical wire string. Zero is a
    valid amount; operations that move money require a positive one.
    """

    value: Decimal
    currency: str

    def __post_init__(self) -> None:
        currency = _check_currency(self.currency, "currency")
        value = self.value
        if not isinstance(value, Decimal):
            raise InvalidAmount(f"value: must be a Decimal, not {type(value).__name__}")
        if not value.is_finite():
            raise InvalidAmount("value: must be a finite number")
        if value.is_signed():
            raise InvalidAmount("value: must not be negative")
        precision = get_currency_precision(currency)
        _, digits, exponent = value.as_tuple()
        if exponent != -precision:
            raise InvalidAmount(
                f"value: {currency} amounts have exactly {precision} decimals, not {-int(exponent)}"
            )
        if len(digits) > MAX_AMOUNT_DIGITS:
            raise InvalidAmount(f"value: more than {MAX_AMOUNT_DIGITS} digits")

    @classmethod
    def parse(
        cls, value: str, currency: str, *, positive: bool = False, field: str = "amount"
    ) -> Amount:
        """Parse a plain decimal string in ``currency``; with ``positive``, refuse zero.

        Floats and integers are refused: an amount is always written as a string, so that no
        binary rounding can change it on the way. Error messages start with ``field``.
        """
        raw: object = value
        if isinstance(raw, bool | int | float):
            raise InvalidAmount(
                f'{_path(field, "value")}: must be a decimal string such as "12.30",'
                f" not {type(raw).__name__}"
            )
        if not isinstance(raw, str):
            raise InvalidAmount(
                f"{_path(field, 'value')}: must be a string, not {type(raw).__name__}"
            )
        if len(raw) > MAX_AMOUNT_DIGITS + 1:
            raise InvalidAmount(f"{_path(field, 'value')}: more than {MAX_AMOUNT_DIGITS} digits")
        if not _DECIMAL.fullmatch(raw):
            raise InvalidAmount(
                f"{_path(field, 'value')}: must be a plain decimal string (digits, then an"
                " optional point and decimals; no sign, exponent, space or leading zero)"
            )
        with _within(field):
            amount = cls(Decimal(raw), currency)
            if positive:
                amount.require_positive("value")
        return amount

    @classmethod
    def from_json(cls, obj: object, *, positive: bool = False, field: str = "amount") -> Amount:
        """Parse ``{"value": "12.30", "currency": "EUR"}`` strictly (no other member)."""
        if not isinstance(obj, dict):
            raise InvalidAmount(f"{field}: must be a JSON object, not {type(obj).__name__}")
        unknown = sorted(str(key) for key in obj if key not in ("value", "currency"))
        if unknown:
            raise InvalidAmount(f"{_path(field, unknown[0])}: unknown field")
        for key in ("value", "currency"):
            if key not in obj:
                raise InvalidAmount(f"{_path(field, key)}: missing")
        return cls.parse(obj["value"], obj["currency"], positive=positive, field=field)

    def require_positive(self, field: str = "amount") -> None:
        """Raise ``InvalidAmount`` naming ``field`` unless this amount is greater than zero."""
        if not self.value:
            raise InvalidAmount(f"{field}: must be greater than zero")

    def __str__(self) -> str:
        return format(self.value, "f")

    def to_json(self) -> dict[str, Any]:
        """Return the wire form ``{"value": "12.30", "currency": "EUR"}``."""
        return {"value": str(self), "currency": self.currency}

    def format(self, locale: str) -> str:
        """Format for a customer with Babel: ``"1 234,56 €"`` in fr_FR, ``"€1,234.56"`` in en.

        The French form keeps Babel's narrow no-break space (U+202F) between digit groups and
        its no-break space (U+00A0) before the symbol, so the amount never wraps on a screen.
        """
        try:
            prepared = _currency_format(self.currency, locale)
            if prepared is None:
                return format_currency(self.value, self.currency, locale=locale)
            babel_locale, pattern = prepared
            text: str = pattern.apply(self.value, babel_locale, currency=self.currency)
            return text
        except (UnknownLocaleError, ValueError) as error:
            raise MalformedInput(f"locale: {locale!r} is not a known locale") from error


@functools.lru_cache(maxsize=256)
def _currency_format(currency: str, locale: str) -> tuple[Locale, NumberPattern] | None:
    """The locale's currency pattern with ``currency``'s symbol written in, as Babel would.

    ``format_currency`` formats the number with the pattern, then replaces each ``¤`` with the
    symbol; the number holds no ``¤``, so writing the symbol into the pattern's prefixes and
    suffixes once gives the same text, and spares the currency name that Babel looks up (with
    its plural rules) for a ``¤¤¤`` that standard patterns do not have. A pattern with ``¤¤``
    or ``¤¤¤`` is left to ``format_currency`` (None).
    """
    babel_locale = Locale.parse(locale)
    pattern = babel_locale.currency_formats["standard"]
    if any("¤¤" in affix for affix in (*pattern.prefix, *pattern.suffix)):
        return None
    symbol = get_currency_symbol(currency, babel_locale)
    prefix = tuple(affix.replace("¤", symbol) for affix in pattern.prefix)
    suffix = tuple(affix.replace("¤", symbol) for affix in pattern.suffix)
    return babel_locale, NumberPattern(
        pattern.pattern,
        (prefix[0], prefix[1]),
        (suffix[0], suffix[1]),
        pattern.grouping,
        pattern.int_prec,
        pattern.frac_prec,
        pattern.exp_prec,
        pattern.exp_plus,
        pattern.number_pattern,
    )


def normalize_iban(text: str, *, field: str = "iban") -> str:
    """Remove ASCII spaces and upper-case ``text``, without validating the IBAN itself.

    Any non-ASCII character is refused first: Unicode upper-casing would turn "ß" into "SS"
    and "ı" into "I", making a valid IBAN out of text that is not one.
    """
    raw: object = text
    if not isinstance(raw, str):
        raise InvalidIban(f"{field}: must be a string, not {type(raw).__name__}")
    if not raw.isascii():
        raise InvalidIban(f"{field}: must contain only ASCII letters, digits and spaces")
    return raw.replace(" ", "").upper()


def parse_iban(text: str, *, field: str = "iban") -> str:
    """Validate an IBAN and return it in electronic format (``FR7630006000011234567890189``).

    Spaces and lower case are accepted on input. The country must be known to ISO 13616, the
    length and structure must match that country's format and the check digits must verify.
    """
    # schwifty loads its IBAN and bank registries on import (tens of milliseconds); most
    # processes that import this module (the device command line's start) never need them.
    from schwifty import IBAN
    from schwifty.exceptions import (
        InvalidChecksumDigits,
        InvalidCountryCode,
        InvalidLength,
        InvalidStructure,
        SchwiftyException,
    )

    compact = normalize_iban(text, field=field)
    if not _IBAN_CHARS.fullmatch(compact):
        raise InvalidIban(f"{field}: must be 5 to 34 letters and digits")
    try:
        IBAN(compact)
    except InvalidCountryCode as error:
        raise InvalidIban(f"{field}: unknown country code {compact[:2]!r}") from error
    except InvalidLength as error:
        raise InvalidIban(f"{field}: wrong length for an IBAN of {compact[:2]}") from error
    except InvalidChecksumDigits as error:
        raise InvalidIban(f"{field}: check digits do not verify") from error
    except InvalidStructure as error:
        raise InvalidIban(f"{field}: does not match the format of {compact[:2]}") from error
    except SchwiftyException as error:
        raise InvalidIban(f"{field}: not a valid IBAN") from error
    return compact


def mask_iban(iban: str) -> str:
    """Mask an IBAN except its country, check digits and last four: ``FR76 •••• •••• 0189``.

    The middle is always drawn as two groups of four bullets, whatever the IBAN's length, so the
    mask reveals nothing about the hidden part.
    """
    compact = parse_iban(iban)
    return f"{compact[:4]} {MASK} {MASK} {compact[-4:]}"


def parse_card_last4(text: str, *, field: str = "card_last4") -> str:
    """Return ``text`` if it is exactly four ASCII digits (the end of a PAN), else raise."""
    raw: object = text
    if not isinstance(raw, str) or not _LAST4.fullmatch(raw):
        raise InvalidOperation(f"{field}: must be exactly the last 4 digits of the card number")
    return raw


def mask_card(last4: str) -> str:
    """Show a card by the last four digits of its PAN: ``•••• 4242``."""
    return f"{MASK} {parse_card_last4(last4)}"
