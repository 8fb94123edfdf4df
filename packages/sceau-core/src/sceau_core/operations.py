# SPDX-License-Identifier: Apache-2.0
"""The operation a customer approves: what the server stores and signs, what the device signs.

Dynamic linking (brief D1, RTS art. 5): an :class:`Operation` holds the whole of what the customer
approves — its type, typed data (amount, payee name and IBAN, merchant, document…), the exact
lines shown to the customer, the request context, the server's single-use challenge and the
validity window. :meth:`Operation.canonical` is the RFC 8785 encoding of :meth:`Operation.to_json`
and :attr:`Operation.digest` its base64url SHA-256; approvals sign that digest, so changing one
cent, one IBAN digit or one character of a display line invalidates them.

The wire form of an operation::

    {"v": 1, "id": "op_…", "type": "transfer",
     "data": {"amount": {"value": "1234.56", "currency": "EUR"},
              "payee_name": "Jean Dupont", "payee_iban": "FR76…"},
     "display": ["Virement", "Montant : 1 234,56 €", …],
     "context": {"channel": "web", "ip": "203.0.113.7"},
     "challenge": "<b64url of 32 random bytes>",
     "created_at": 1767225600, "expires_at": 1767225900, "locale": "fr"}

Rules common to every object of this module:

- Parsing is strict: unknown members, missing members, wrong JSON types and ``null`` are refused
  with an error naming the field (``data.payee_iban: check digits do not verify``). An optional
  member is omitted, never ``null``.
- The typed data parsers (``TransferData.from_json`` …) accept what a relying party may send and
  normalize it: IBANs to electronic format, free text to Unicode NFC, UUIDs and IP addresses to
  their canonical spelling. :meth:`Operation.from_json` accepts only the canonical form, so a
  signed operation has exactly one JSON form.
- Free text (names, references, titles, places) is at most 140 characters, NFC, without leading or
  trailing white space and without control, format (e.g. bidirectional overrides), private-use,
  surrogate, unassigned or line/paragraph separator characters; spaces of any width are allowed.

A batch (brief D4, B2) is approved through :class:`BatchTransferData`, which carries the count,
the total and ``lines_digest``: the base64url SHA-256 of the RFC 8785 canonical JSON **array**
whose elements are the lines' :meth:`BatchLine.to_json` objects, in the batch's order, and,
when the batch has them, its requested execution date and its category purpose: what the bank
executes is what the signatories read and sign.
"""

from __future__ import annotations

import datetime
import decimal
import hmac
import ipaddress
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar, Final, Literal, TypeAlias
from urllib.parse import urlsplit

from sceau_core.encoding import b64url_decode, b64url_encode, canonical_json, sha256_b64url
from sceau_core.errors import Expired, InvalidAmount, InvalidOperation, MalformedInput
from sceau_core.money import Amount, normalize_iban, parse_card_last4, parse_iban

__all__ = [
    "CATEGORY_PURPOSES",
    "CHALLENGE_BYTES",
    "DATA_TYPES",
    "DEFAULT_TTL",
    "INTERNAL_TYPES",
    "LOCALES",
    "MAX_BATCH_LINES",
    "MAX_CHALLENGE_BYTES",
    "MAX_DISPLAY_LINES",
    "MAX_DISPLAY_LINE_LENGTH",
    "MAX_DOCUMENT_PAGES",
    "MAX_TEXT_LENGTH",
    "MAX_URL_HOST_LENGTH",
    "MAX_URL_LENGTH",
    "MAX_USER_AGENT_LENGTH",
    "MIN_CHALLENGE_BYTES",
    "AddPayeeData",
    "BatchLine",
    "BatchTransferData",
    "CardPaymentData",
    "Channel",
    "ESignatureData",
    "Locale",
    "LoginData",
    "NewDeviceData",
    "Operation",
    "OperationData",
    "OperationType",
    "RequestContext",
    "RightsChangeData",
    "TransferData",
    "batch_lines_digest",
    "check_batch",
    "check_date",
    "check_text",
    "parse_batch_lines",
    "parse_data",
]

Locale: TypeAlias = Literal["fr", "en"]
LOCALES: Final[tuple[Locale, ...]] = ("fr", "en")
"""The languages an operation can be shown in, French first."""

CHALLENGE_BYTES: Final = 32
"""Random bytes in the challenge that :meth:`Operation.create` draws."""

MIN_CHALLENGE_BYTES: Final = 16
"""Fewest random bytes a challenge may carry."""

MAX_CHALLENGE_BYTES: Final = 64
"""Most random bytes a challenge may carry."""

DEFAULT_TTL: Final = 300
"""Default validity of an operation, in seconds (brief D3: five minutes)."""

MAX_TEXT_LENGTH: Final = 140
"""Longest free text (names, references): the SEPA remittance information limit."""

MAX_BATCH_LINES: Final = 100_000
"""Most lines in one batch transfer."""

CATEGORY_PURPOSES: Final = ("SALA", "SUPP", "PENS", "TAXS", "INTC")
"""The ISO 20022 category purpose codes a batch may carry, each shown in words to its signatories:
salaries, suppliers, pensions, taxes, intra-company payments."""

MAX_DISPLAY_LINES: Final = 40
"""Most lines in an operation's display."""

MAX_DISPLAY_LINE_LENGTH: Final = 200
"""Longest display line, in code points."""

MAX_USER_AGENT_LENGTH: Final = 512
"""Longest ``User-Agent`` kept in a request context."""

MAX_URL_LENGTH: Final = 2048
"""Longest merchant URL."""

MAX_URL_HOST_LENGTH: Final = 180
"""Longest merchant host name, which the display shows in full."""

MAX_DOCUMENT_PAGES: Final = 100_000
"""Most pages a document to sign may declare."""

# RFC 8785 numbers are IEEE 754 doubles; beyond 2**53 - 1 integers lose precision.
_MAX_JSON_INT: Final = 2**53 - 1

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_UUID_ANY_CASE = re.compile(_UUID.pattern, re.IGNORECASE)
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_URL_CHARS = re.compile(r"[!-~]+")
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt, Unicode 15.1) that are
# not already Cf, plus the blank Braille pattern: characters a screen shows as nothing.
_INVISIBLE_RANGES = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F),
    (0x2800, 0x2800), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0),
    (0xE0100, 0xE01EF),
)  # fmt: skip
_SPACES = frozenset({"\u0020", "\u00a0", "\u202f"})
_MAX_COMBINING_RUN = 2


def _plain_text_pattern() -> re.Pattern[str]:
    """Text that :func:`_check_characters` accepts if it is in NFC, found without its scans.

    Every character the class holds passes the per-character checks whatever surrounds it (a
    letter, digit, punctuation or symbol: not a control, not a space, not a combining mark, not
    invisible); a space of ``_SPACES`` passes when no space follows it; the text also needs an
    ASCII letter or digit. Any other text takes the scans.
    """
    ranges: list[list[int]] = []
    for code in [*range(0x21, 0x250), *range(0x2010, 0x20C1)]:
        if unicodedata.category(chr(code))[0] not in "LNPS" or any(
            low <= code <= high for low, high in _INVISIBLE_RANGES
        ):
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    members = "".join(
        re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
        for low, high in ranges
    )
    spaces = "".join(sorted(_SPACES))
    return re.compile(f"(?=.*[0-9A-Za-z])(?:[{members}]|[{spaces}](?![{spaces}]))*", re.DOTALL)


_PLAIN_TEXT: Final = _plain_text_pattern()


class OperationType(StrEnum):
    """The kinds of operation a customer approves (the seed's sensitive operations)."""

    LOGIN = "login"
    CARD_PAYMENT = "card_payment"
    TRANSFER = "transfer"
    ADD_PAYEE = "add_payee"
    E_SIGNATURE = "e_signature"
    BATCH_TRANSFER = "batch_transfer"
    NEW_DEVICE = "new_device"
    RIGHTS_CHANGE = "rights_change"


class Channel(StrEnum):
    """The channel through which the operation was requested."""

    WEB = "web"
    MOBILE = "mobile"
    PHONE = "phone"
    API = "api"


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


def _members(
    obj: object, *, field: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Check that ``obj`` is a JSON object with exactly the allowed members, none ``null``."""
    if not isinstance(obj, dict):
        where = f"{field}: " if field else ""
        raise InvalidOperation(f"{where}must be a JSON object, not {_kind(obj)}")
    for key, value in obj.items():
        if key not in required and key not in optional:
            raise InvalidOperation(f"{_path(field, str(key))}: unknown field")
        if value is None:
            raise InvalidOperation(
                f"{_path(field, key)}: must not be null (omit an optional field instead)"
            )
    for key in required:
        if key not in obj:
            raise InvalidOperation(f"{_path(field, key)}: missing")
    return obj


def _kind(value: object) -> str:
    """Name the JSON kind of a parsed value, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _matches(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _nfc(value: object) -> Any:
    """NFC-normalize ``value`` if it is a string; leave any other value for the type check."""
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def _iban_text(value: object) -> Any:
    # Non-ASCII text is left for the IBAN check, whose error names the field.
    return normalize_iban(value) if isinstance(value, str) and value.isascii() else value


def check_text(value: object, *, field: str, max_length: int = MAX_TEXT_LENGTH) -> str:
    """Return ``value`` if it is acceptable free text for a customer's screen, else raise.

    Acceptable: a non-empty string of at most ``max_length`` code points, in Unicode NFC, with no
    leading or trailing white space, and none of the Unicode categories Cc (controls), Cf (format,
    including bidirectional overrides and zero-width characters), Cs, Co, Cn, Zl or Zp. Because
    the text reaches a customer's screen inside signed lines, nothing in it may hide or fake a
    line: no default-ignorable (invisible) character, no space other than U+0020, U+00A0 or
    U+202F and never two in a row, no more than two combining marks on one character, and at
    least one letter or digit.
    """
    if not isinstance(value, str):
        raise InvalidOperation(f"{field}: must be a string, not {_kind(value)}")
    if not value or value.strip() != value:
        raise InvalidOperation(f"{field}: must not be empty or start or end with white space")
    if len(value) > max_length:
        raise InvalidOperation(f"{field}: longer than {max_length} characters")
    if _PLAIN_TEXT.fullmatch(value) is None:
        _check_characters(value, field=field)
    elif not unicodedata.is_normalized("NFC", value):
        # Plain text has nothing else _check_characters refuses.
        raise InvalidOperation(f"{field}: must be in Unicode normalization form C")
    return value


def _check_characters(value: str, *, field: str) -> None:
    if not value.isprintable():
        # isprintable() also rejects spaces other than U+0020, which French text needs.
        for char in value:
            if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
                raise InvalidOperation(
                    f"{field}: contains the control or invisible character U+{ord(char):04X}"
                )
    if not unicodedata.is_normalized("NFC", value):
        raise InvalidOperation(f"{field}: must be in Unicode normalization form C")
    _check_visible(value, field=field)


def _check_visible(value: str, *, field: str) -> None:
    combining = 0
    previous_space = False
    visible = False
    for char in value:
        code = ord(char)
        # The ranges are sorted: Latin text, below the first one, skips the scan.
        if code >= _INVISIBLE_RANGES[0][0] and any(
            low <= code <= high for low, high in _INVISIBLE_RANGES
        ):
            raise InvalidOperation(f"{field}: contains the invisible character U+{code:04X}")
        category = unicodedata.category(char)
        is_space = category == "Zs"
        if is_space and char not in _SPACES:
            raise InvalidOperation(f"{field}: contains the unusual space U+{code:04X}")
        if is_space and previous_space:
            raise InvalidOperation(f"{field}: contains two spaces in a row")
        previous_space = is_space
        combining = combining + 1 if category in {"Mn", "Me"} else 0
        if combining > _MAX_COMBINING_RUN:
            raise InvalidOperation(f"{field}: stacks more than two accents on one character")
        visible = visible or category[0] in {"L", "N"}
    if not visible:
        raise InvalidOperation(f"{field}: must contain at least one letter or digit")


def check_date(value: object, *, field: str) -> datetime.date:
    """Return the calendar date that ``value`` names (ISO 8601 ``YYYY-MM-DD``), else raise.

    ``2026-02-30`` has the right shape but is no date: it is refused, not moved to March.
    """
    if not isinstance(value, str):
        raise InvalidOperation(f"{field}: must be a string, not {_kind(value)}")
    if _ISO_DATE.fullmatch(value) is None:
        raise InvalidOperation(f"{field}: {value!r} is not a date (YYYY-MM-DD)")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as error:
        raise InvalidOperation(f"{field}: {value} is not a calendar date") from error


def _check_optional_text(value: object, *, field: str, max_length: int = MAX_TEXT_LENGTH) -> None:
    if value is not None:
        check_text(value, field=field, max_length=max_length)


def _check_iban(value: object, *, field: str) -> None:
    if not isinstance(value, str):
        raise InvalidOperation(f"{field}: must be a string, not {_kind(value)}")
    if parse_iban(value, field=field) != value:
        raise InvalidOperation(f"{field}: must be in electronic format (upper case, no spaces)")


def _check_amount(value: object, *, field: str) -> Amount:
    if not isinstance(value, Amount):
        raise InvalidAmount(f"{field}: must be an Amount, not {type(value).__name__}")
    value.require_positive(field)
    return value


def _check_int(value: object, *, field: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidOperation(f"{field}: must be an integer, not {_kind(value)}")
    if not minimum <= value <= maximum:
        raise InvalidOperation(f"{field}: must be between {minimum} and {maximum}")
    return value


def _put(obj: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        obj[key] = value


def _url_host(url: str) -> str:
    """Return the lower-case host of an http(s) URL already checked by the card payment."""
    return urlsplit(url).hostname or ""


def _check_url(value: object, *, field: str) -> None:
    if not isinstance(value, str):
        raise InvalidOperation(f"{field}: must be a string, not {_kind(value)}")
    if len(value) > MAX_URL_LENGTH or not _URL_CHARS.fullmatch(value):
        raise InvalidOperation(
            f"{field}: must be an ASCII URL of at most {MAX_URL_LENGTH} characters, without spaces"
        )
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - parsing the port validates it.
    except ValueError as error:
        raise InvalidOperation(f"{field}: is not a valid URL") from error
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidOperation(f"{field}: must be an absolute http or https URL")
    if parts.username is not None or parts.password is not None:
        raise InvalidOperation(f"{field}: must not contain a user name or password")
    if len(host) > MAX_URL_HOST_LENGTH:
        raise InvalidOperation(f"{field}: host longer than {MAX_URL_HOST_LENGTH} characters")


@dataclass(frozen=True)
class LoginData:
    """A login to online banking: the device needs no data (the match number never reaches it)."""

    TYPE: ClassVar[OperationType] = OperationType.LOGIN

    @classmethod
    def from_json(cls, obj: object, *, field: str = "data") -> LoginData:
        """Parse ``{}``; any member is refused."""
        _members(obj, field=field, required=())
        return cls()

    def to_json(self) -> dict[str, Any]:
        """Return the wire form, ``{}``."""
        return {}


@dataclass(frozen=True)
class CardPaymentData:
    """A card payment authenticated out of band for 3-D Secure.

    ``acs_transaction_id`` is the ACS's UUID for the transaction, in lower-case canonical form;
    ``card_last4`` the last four digits of the PAN (never the full number).
    """

    TYPE: ClassVar[OperationType] = OperationType.CARD_PAYMENT

    acs_transaction_id: str
    merchant_name: str
    amount: Amount
    card_last4: str
    merchant_url: str | None = None

    def __post_init__(self) -> None:
        if not _matches(_UUID, self.acs_transaction_id):
            raise InvalidOperation("acs_transaction_id: must be a lower-case canonical UUID")
        check_text(self.merchant_name, field="merchant_name")
        _check_amount(self.amount, field="amount")
        parse_card_last4(self.card_last4, field="card_last4")
        if self.merchant_url is not None:
            _check_url(self.merchant_url, field="merchant_url")

    @property
    def merchant_host(self) -> str | None:
        """The merchant site's host name, lower case, or ``None`` without a URL."""
        return None if self.merchant_url is None else _url_host(self.merchant_url)

    @classmethod
    def from_json(cls, obj: object, *, field: str = "data") -> CardPaymentData:
        """Parse the card payment data strictly; upper-case UUIDs are lower-cased."""
        value = _members(
            obj,
            field=field,
            required=("acs_transaction_id", "merchant_name", "amount", "card_last4"),
            optional=("merchant_url",),
        )
        transaction = value["acs_transaction_id"]
        if isinstance(transaction, str) and _UUID_ANY_CASE.fullmatch(transaction):
            transaction = transaction.lower()
        amount = Amount.from_json(value["amount"], positive=True, field=_path(field, "amount"))
        with _within(field):
            return cls(
                acs_transaction_id=transaction,
                merchant_name=_nfc(value["merchant_name"]),
                amount=amount,
                card_last4=value["card_last4"],
                merchant_url=value.get("merchant_url"),
            )

    def to_json(self) -> dict[str, Any]:
        """Return the wire form."""
        obj: dict[str, Any] = {
            "acs_transaction_id": self.acs_transaction_id,
            "merchant_name": self.merchant_name,
            "amount": self.amount.to_json(),
            "card_last4": self.card_last4,
        }
        _put(obj, "merchant_url", self.merchant_url)
        return obj


@dataclass(frozen=True)
class TransferData:
    """A credit transfer: the payee's name and IBAN, the amount, an optional remittance text."""

    TYPE: ClassVar[OperationType] = OperationType.TRANSFER

    amount: Amount
    payee_name: str
    payee_iban: str
    reference: str | None = None
    debtor_iban: str | None = None

    def __post_init__(self) -> None:
        _check_amount(self.amount, field="amount")
        check_text(self.payee_name, field="payee_name")
        _check_iban(self.payee_iban, field="payee_iban")
        _check_optional_text(self.reference, field="reference")
        if self.debtor_iban is not None:
            _check_iban(self.debtor_iban, field="debtor_iban")

    @classmethod
    def from_json(cls, obj: object, *, field: str = "data") -> TransferData:
        """Parse the transfer data strictly; IBANs and text are normalized."""
        value = _members(
            obj,
            field=field,
            required=("amount", "payee_name", "payee_iban"),
            optional=("reference", "debtor_iban"),
        )
        amount = Amount.from_json(value["amount"], positive=True, field=_path(field, "amount"))
        debtor = value.get("debtor_iban")
        with _within(field):
            return cls(
                amount=amount,
                payee_name=_nfc(value["payee_name"]),
                payee_iban=_iban_text(value["payee_iban"]),
                reference=_nfc(value.get("reference")),
                debtor_iban=_iban_text(debtor),
            )

    def to_json(self) -> dict[str, Any]:
        """Return the wire form."""
        obj: dict[str, Any] = {
            "amount": self.amount.to_json(),
            "payee_name": self.payee_name,
            "payee_iban": self.payee_iban,
        }
        _put(obj, "reference", self.reference)
        _put(obj, "debtor_iban", self.debtor_iban)
        return obj


@dataclass(frozen=True)
class AddPayeeData:
    """A new payee added to the customer's list of beneficiaries."""

    TYPE: ClassVar[OperationType] = OperationType.ADD_PAYEE

    payee_name: str
    payee_iban: str

    def __post_init__(self) -> None:
        check_text(self.payee_name, field="payee_name")
        _check_iban(self.payee_iban, field="payee_iban")

    @classmethod
    def from_json(cls, obj: object, *, field: str = "data") -> AddPayeeData:
        """Parse the new payee strictly; the IBAN and the name are normalized."""
        value = _members(obj, field=field, required=("payee_name", "payee_iban"))
        with _within(field):
            return cls(
                payee_name=_nfc(value["payee_name"]),
                payee_iban=_iban_text(value["payee_iban"]),
            )

    def to_json(self) -> dict[str, Any]:
        """Return the wire form."""
        return {"payee_name": self.payee_name, "payee_iban": self.payee_iban}


@dataclass(frozen=True)
class ESignatureData:
    """A document to sign: its title, its SHA-256 (64 lower-case hex digits), its page count."""

    TYPE: ClassVar[OperationType] = OperationType.E_SIGNATURE

    document_title: str
    document_sha256: str
    document_pages: int | None = None

    def __post_init__(self) -> None:
        check_text(self.document_title, field="document_title")
        if not _matches(_SHA256_HEX, self.document_sha256):
            raise InvalidOperation("document_sha256: must be 64 lower-case hexadecimal digits")
        if self.document_pages is not None:
            _check_int(
                self.document_pages, field="document_pages", minimum=1, maximum=MAX_DOCUMENT_PAGES
            )

    @classmethod
    def from_json(cls, obj: object, *, field: str = "data") -> ESignatureData:
        """Parse the document strictly; the title is normalized, the digest is not."""
        value = _members(
            obj,
            field=field,
            required=("document_title", "document_sha256"),
            optional=("document_pages",),
        )
        with _within(field):
            return cls(
                document_title=_nfc(value["document_title"]),
                document_sha256=value["document_sha256"],
                document_pages=value.get("document_pages"),
            )

    def to_json(self) -> dict[str, Any]:
        """Return the wire form."""
        obj: dict[str, Any] = {
            "document_title": self.document_title,
            "document_sha256": self.document_sha256,
        }
        _put(obj, "document_pages", self.document_pages)
        return obj


@dataclass(frozen=True)
class BatchLine:
    """One transfer of a batch: payee name and IBAN, a positive amount, an optional reference."""

    payee_name: str
    payee_iban: str
    amount: Amount
    reference: str | None = None

    def __post_init__(self) -> None:
        check_text(self.payee_name, field="payee_name")
        _check_iban(self.payee_iban, field="payee_iban")
        _check_amount(self.amount, field="amount")
        _check_optional_text(self.reference, field="reference")

    @classmethod
    def from_json(cls, obj: object, *, field: str = "") -> BatchLine:
        """Parse one line strictly; the IBAN and the text are normalized."""
        value = _members(
            obj,
            field=field,
            required=("payee_name", "payee_iban", "amount"),
            optional=("reference",),
        )
        amount = Amount.from_json(value["amount"], positive=True, field=_path(field, "amount"))
        with _within(field):
            return cls(
                payee_name=_nfc(value["payee_name"]),
                payee_iban=_iban_text(value["payee_iban"]),
                amount=amount,
                reference=_nfc(value.get("reference")),
            )

    def to_json(self) -> dict[str, Any]:
        """Return the line's object, as it enters :func:`batch_lines_digest`."""
        obj: dict[str, Any] = {
            "payee_name": self.payee_name,
            "payee_iban": self.payee_iban,
            "amount": self.amount.to_json(),
        }
        _put(obj, "reference", self.reference)
        return obj


def parse_batch_lines(obj: object) -> tuple[BatchLine, ...]:
    """Parse a JSON array of batch lines; an error names the first bad line, counting from 1."""
    if not isinstance(obj, list):
        raise InvalidOperation(f"lines: must be a JSON array, not {_kind(obj)}")
    if not obj:
        raise InvalidOperation("lines: a batch needs at least one line")
    if len(obj) > MAX_BATCH_LINES:
        raise InvalidOperation(f"lines: more than {MAX_BATCH_LINES} lines")
    lines = []
    for number, item in enumerate(obj, start=1):
        try:
            lines.append(BatchLine.from_json(item))
        except MalformedInput as error:
            raise type(error)(f"line {number}: {error}") from error
    return tuple(lines)


def batch_lines_digest(lines: Iterable[BatchLine]) -> str:
    """Digest a batch's lines, in order, for :attr:`BatchTransferData.lines_digest`.

    The digest is ``base64url(SHA-256(JCS([line_1.to_json(), …, line_n.to_json()])))`` without
    padding, where JCS is the RFC 8785 canonical JSON of the **array** of line objects in the
    batch's order, encoded in UTF-8. Each line object has the members ``payee_name``,
    ``payee_iban`` (electronic format), ``amount`` (``{"value": "12.30", "currency": "EUR"}``)
    and, only when present, ``reference``; for example
    ``[{"amount":{"currency":"EUR","value":"12.30"},"payee_iban":"FR76…","payee_name":"A"}]``.
    """
    # Line objects hold only ASCII keys and strings without surrogates, for which the standard
    # library's compact, key-sorted, non-ASCII-preserving encoding is byte for byte RFC 8785
    # (same escapes, same key order), and about ten times faster than the general encoder.
    # tests/core/test_operations.py checks the equality against rfc8785 itself.
    encoded = json.dumps(
        [line.to_json() for line in lines],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    )
    return sha256_b64url(encoded.encode("utf-8"))


@dataclass(frozen=True)
class BatchTransferData:
    """A batch of transfers from one account, approved over its count, total and lines (D4).

    The lines themselves are not in the operation: ``lines_digest`` binds them (see
    :func:`batch_lines_digest`), and :func:`check_batch` checks a list of lines against it.
    ``execution_date`` is the day the bank debits the account and sends every transfer (ISO 8601
    ``YYYY-MM-DD``); ``category_purpose`` one of :data:`CATEGORY_PURPOSES` (``SALA``: salaries).
    Both are signed and shown, so that neither can change after the approvals.
    """

    TYPE: ClassVar[OperationType] = OperationType.BATCH_TRANSFER

    debtor_iban: str
    count: int
    total: Amount
    lines_digest: str
    batch_reference: str | None = None
    execution_date: str | None = None
    category_purpose: str | None = None

    def __post_init__(self) -> None:
        _check_iban(self.debtor_iban, field="debtor_iban")
        _check_int(self.count, field="count", minimum=1, maximum=MAX_BATCH_LINES)
        _check_amount(self.total, field="total")
        if not isinstance(self.lines_digest, str):
            raise InvalidOperation(
                f"lines_digest: must be a string, not {_kind(self.lines_digest)}"
            )
        b64url_decode(self.lines_digest, length=32, field="lines_digest")
        _check_optional_text(self.batch_reference, field="batch_reference")
        if self.execution_date is not None:
            check_date(self.execution_date, field="execution_date")
        if self.category_purpose is not None and self.category_purpose not in CATEGORY_PURPOSES:
            raise InvalidOperation(
                f"category_purpose: must be one of {', '.join(CATEGORY_PURPOSES)}"
            )

    @property
    def execution_day(self) -> datetime.date | None:
        """The requested execution date as a date, or ``None`` when the batch names none."""
        return (
            None
            if self.execution_date is None
            else datetime.date.fromisoformat(self.execution_date)
        )

    @classmethod
    def for_lines(
        cls,
        *,
        debtor_iban: str,
        lines: Sequence[BatchLine],
        batch_reference: str | None = None,
        execution_date: str | None = None,
        category_purpose: str | None = None,
    ) -> BatchTransferData:
        """Summarize ``lines`` (one currency, at least one line) into the data to approve."""
        if not lines:
            raise InvalidOperation("lines: a batch needs at least one line")
        currency = lines[0].amount.currency
        _check_currencies(lines, currency)
        with _within("total"):
            total = Amount(exact_sum(line.amount.value for line in lines), currency)
        return cls(
            debtor_iban=debtor_iban,
            count=len(lines),
            total=total,
            lines_digest=batch_lines_digest(lines),
            batch_reference=batch_reference,
            execution_date=execution_date,
            category_purpose=category_purpose,
        )

    @classmethod
    def from_json(cls, obj: object, *, field: str = "data") -> BatchTransferData:
        """Parse the batch summary strictly; the IBAN and the reference are normalized."""
        value = _members(
            obj,
            field=field,
            required=("debtor_iban", "count", "total", "lines_digest"),
            optional=("batch_reference", "execution_date", "category_purpose"),
        )
        total = Amount.from_json(value["total"], positive=True, field=_path(field, "total"))
        with _within(field):
            return cls(
                debtor_iban=_iban_text(value["debtor_iban"]),
                count=value["count"],
                total=total,
                lines_digest=value["lines_digest"],
                batch_reference=_nfc(value.get("batch_reference")),
                execution_date=value.get("execution_date"),
                category_purpose=value.get("category_purpose"),
            )

    def to_json(self) -> dict[str, Any]:
        """Return the wire form."""
        obj: dict[str, Any] = {
            "debtor_iban": self.debtor_iban,
            "count": self.count,
            "total": self.total.to_json(),
            "lines_digest": self.lines_digest,
        }
        _put(obj, "batch_reference", self.batch_reference)
        _put(obj, "execution_date", self.execution_date)
        _put(obj, "category_purpose", self.category_purpose)
        return obj


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """Sum decimals exactly, whatever the caller's ambient ``decimal`` context says.

    A rounded sum could let lines adding up to 1 000 000,03 € pass for a 1 000 000,00 € total.
    """
    context = decimal.Context(prec=60, traps=[decimal.Inexact, decimal.Rounded])
    with decimal.localcontext(context):
        return sum(values, Decimal(0))


def _check_currencies(lines: Sequence[BatchLine], currency: str) -> None:
    for number, line in enumerate(lines, start=1):
        if line.amount.currency != currency:
            raise InvalidOperation(
                f"line {number}: amount.currency: {line.amount.currency} differs from the"
                f" batch currency {currency}"
            )


def check_batch(lines: Sequence[BatchLine], data: BatchTransferData) -> None:
    """Check that ``lines`` are exactly the batch that ``data`` summarizes; raise if not.

    The checks run in this order: each line's currency against the total's (naming the first
    line that differs, counting from 1), the number of lines against ``count``, their sum
    against ``total``, then their digest against ``lines_digest``. The digest covers every
    line, so a change that keeps the count and the total (an IBAN, a name, two amounts swapped)
    is still refused; such a change cannot be traced to one line from the digest alone.
    """
    _check_currencies(lines, data.total.currency)
    if len(lines) != data.count:
        raise InvalidOperation(f"count: the batch declares {data.count} lines, not {len(lines)}")
    total = exact_sum(line.amount.value for line in lines)
    if total != data.total.value:
        raise InvalidOperation(
            f"total: the batch declares {data.total}, but its lines add up to {total}"
        )
    digest = batch_lines_digest(lines)
    if not hmac.compare_digest(digest.encode("ascii"), data.lines_digest.encode("ascii")):
        raise InvalidOperation("lines_digest: does not match the lines")


@dataclass(frozen=True)
class NewDeviceData:
    """A new device for the customer's Sceau, which one of their current devices approves (L2).

    The server creates this operation itself when a device is activated for a customer who
    already has one (a relying party cannot ask for it, see :data:`INTERNAL_TYPES`).
    ``activation_id`` names the new device's activation, so an approval releases that device and
    no other; ``device_name`` is the name the new device gave itself; ``replaces`` is the name of
    the device it will replace, omitted when it is added beside the others.
    """

    TYPE: ClassVar[OperationType] = OperationType.NEW_DEVICE

    activation_id: str
    device_name: str
    replaces: str | None = None

    def __post_init__(self) -> None:
        if not _matches(_ID, self.activation_id):
            raise InvalidOperation(
                "activation_id: must be 1 to 64 characters among A-Z, a-z, 0-9, _ and -"
            )
        check_text(self.device_name, field="device_name")
        _check_optional_text(self.replaces, field="replaces")

    @classmethod
    def from_json(cls, obj: object, *, field: str = "data") -> NewDeviceData:
        """Parse the new device strictly; the names are normalized."""
        value = _members(
            obj, field=field, required=("activation_id", "device_name"), optional=("replaces",)
        )
        with _within(field):
            return cls(
                activation_id=value["activation_id"],
                device_name=_nfc(value["device_name"]),
                replaces=_nfc(value.get("replaces")),
            )

    def to_json(self) -> dict[str, Any]:
        """Return the wire form."""
        obj: dict[str, Any] = {
            "activation_id": self.activation_id,
            "device_name": self.device_name,
        }
        _put(obj, "replaces", self.replaces)
        return obj


_RIGHTS: Final = ("view", "prepare", "validate")


def _check_rights(value: object, *, field: str) -> tuple[str, ...]:
    if not isinstance(value, tuple) or not all(isinstance(item, str) for item in value):
        raise InvalidOperation(f"{field}: must be a tuple of rights")
    if any(item not in _RIGHTS for item in value):
        raise InvalidOperation(f"{field}: each right is one of {', '.join(_RIGHTS)}")
    if list(value) != sorted(set(value), key=_RIGHTS.index):
        raise InvalidOperation(f"{field}: distinct rights, in the order view, prepare, validate")
    return value


@dataclass(frozen=True)
class RightsChangeData:
    """A change of a member's rights on a company's shared account (Sceau Pro, issue 8).

    The server creates it when the bank asks for the change; the organisation's administrator
    approves it with Sceau, and only then does it apply (a relying party cannot ask for it
    directly, see :data:`INTERNAL_TYPES`). ``rights_before`` and ``rights_after`` are among
    ``view``, ``prepare``, ``validate``, in that order; empty means no right at all.
    """

    TYPE: ClassVar[OperationType] = OperationType.RIGHTS_CHANGE

    account_iban: str
    account_name: str
    member: str
    member_name: str
    rights_before: tuple[str, ...]
    rights_after: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_iban(self.account_iban, field="account_iban")
        check_text(self.account_name, field="account_name")
        if not _matches(_ID, self.member):
            raise InvalidOperation(
                "member: must be 1 to 64 characters among A-Z, a-z, 0-9, _ and -"
            )
        check_text(self.member_name, field="member_name")
        _check_rights(self.rights_before, field="rights_before")
        _check_rights(self.rights_after, field="rights_after")
        if self.rights_before == self.rights_after:
            raise InvalidOperation("rights_after: must differ from rights_before")

    @classmethod
    def from_json(cls, obj: object, *, field: str = "data") -> RightsChangeData:
        """Parse the change strictly; the names are normalized."""
        value = _members(
            obj,
            field=field,
            required=(
                "account_iban",
                "account_name",
                "member",
                "member_name",
                "rights_before",
                "rights_after",
            ),
        )
        with _within(field):
            for key in ("rights_before", "rights_after"):
                if not isinstance(value[key], list):
                    raise InvalidOperation(f"{key}: must be a JSON array, not {_kind(value[key])}")
            return cls(
                account_iban=_iban_text(value["account_iban"]),
                account_name=_nfc(value["account_name"]),
                member=value["member"],
                member_name=_nfc(value["member_name"]),
                rights_before=tuple(value["rights_before"]),
                rights_after=tuple(value["rights_after"]),
            )

    def to_json(self) -> dict[str, Any]:
        """Return the wire form."""
        return {
            "account_iban": self.account_iban,
            "account_name": self.account_name,
            "member": self.member,
            "member_name": self.member_name,
            "rights_before": list(self.rights_before),
            "rights_after": list(self.rights_after),
        }


OperationData: TypeAlias = (
    LoginData
    | CardPaymentData
    | TransferData
    | AddPayeeData
    | ESignatureData
    | BatchTransferData
    | NewDeviceData
    | RightsChangeData
)

DATA_TYPES: Final[Mapping[OperationType, type[OperationData]]] = MappingProxyType(
    {
        OperationType.LOGIN: LoginData,
        OperationType.CARD_PAYMENT: CardPaymentData,
        OperationType.TRANSFER: TransferData,
        OperationType.ADD_PAYEE: AddPayeeData,
        OperationType.E_SIGNATURE: ESignatureData,
        OperationType.BATCH_TRANSFER: BatchTransferData,
        OperationType.NEW_DEVICE: NewDeviceData,
        OperationType.RIGHTS_CHANGE: RightsChangeData,
    }
)
"""The data class of each operation type."""

INTERNAL_TYPES: Final[frozenset[OperationType]] = frozenset(
    {OperationType.NEW_DEVICE, OperationType.RIGHTS_CHANGE}
)
"""The operation types the server creates itself; a relying party can never request them."""


def _operation_type(value: object, *, field: str = "type") -> OperationType:
    if isinstance(value, OperationType):
        return value
    if isinstance(value, str):
        try:
            return OperationType(value)
        except ValueError:
            pass
    names = ", ".join(member.value for member in OperationType)
    raise InvalidOperation(f"{field}: must be one of {names}")


def parse_data(type: OperationType | str, obj: object, *, field: str = "data") -> OperationData:
    """Parse the data of an operation of ``type`` with that type's strict parser."""
    return DATA_TYPES[_operation_type(type)].from_json(obj, field=field)


@dataclass(frozen=True)
class RequestContext:
    """Where the operation was requested from; every member is optional.

    ``ip`` is an IPv4 or IPv6 address in its canonical (compressed) spelling; ``user_agent`` the
    requester's HTTP ``User-Agent`` (the display shows only the browser and system it names);
    ``channel`` the channel of the request; ``location`` a place the bank derived, e.g. from the
    address.
    """

    ip: str | None = None
    user_agent: str | None = None
    channel: Channel | None = None
    location: str | None = None

    def __post_init__(self) -> None:
        ip: object = self.ip
        if ip is not None and (not isinstance(ip, str) or _canonical_ip(ip) != ip):
            raise InvalidOperation("ip: must be an IP address in canonical form")
        _check_optional_text(self.user_agent, field="user_agent", max_length=MAX_USER_AGENT_LENGTH)
        if self.channel is not None and not isinstance(self.channel, Channel):
            raise InvalidOperation("channel: must be a Channel")
        _check_optional_text(self.location, field="location")

    @classmethod
    def from_json(cls, obj: object, *, field: str = "context") -> RequestContext:
        """Parse the context strictly; the IP address is canonicalized, text normalized."""
        value = _members(
            obj, field=field, required=(), optional=("ip", "user_agent", "channel", "location")
        )
        ip = value.get("ip")
        if isinstance(ip, str):
            ip = _canonical_ip(ip) or ip
        channel = value.get("channel")
        if channel is not None:
            try:
                channel = Channel(channel)
            except ValueError as error:
                names = ", ".join(member.value for member in Channel)
                raise InvalidOperation(
                    f"{_path(field, 'channel')}: must be one of {names}"
                ) from error
        with _within(field):
            return cls(
                ip=ip,
                user_agent=_nfc(value.get("user_agent")),
                channel=channel,
                location=_nfc(value.get("location")),
            )

    def to_json(self) -> dict[str, Any]:
        """Return the wire form, omitting absent members."""
        obj: dict[str, Any] = {}
        _put(obj, "ip", self.ip)
        _put(obj, "user_agent", self.user_agent)
        _put(obj, "channel", None if self.channel is None else self.channel.value)
        _put(obj, "location", self.location)
        return obj


def _canonical_ip(text: str) -> str | None:
    """Return the canonical spelling of an IP address without a zone, or ``None``."""
    if "%" in text:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


_OPERATION_MEMBERS = (
    "v",
    "id",
    "type",
    "data",
    "display",
    "context",
    "challenge",
    "created_at",
    "expires_at",
    "locale",
)


@dataclass(frozen=True)
class Operation:
    """An operation as the server stores and signs it and the device signs it (brief D1).

    ``display`` holds the exact lines the customer reads, rendered by the server in ``locale``
    (see :mod:`sceau_core.display`); the device adds only its own chrome. ``challenge`` is the
    base64url encoding of 16 to 64 random bytes, single use. The operation is valid from
    ``created_at`` (included) to ``expires_at`` (excluded), in Unix seconds.
    """

    id: str
    type: OperationType
    data: OperationData
    display: tuple[str, ...]
    context: RequestContext
    challenge: str
    created_at: int
    expires_at: int
    locale: Locale
    v: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.v, bool) or self.v != 1:
            raise InvalidOperation("v: must be 1")
        if not _matches(_ID, self.id):
            raise InvalidOperation("id: must be 1 to 64 characters among A-Z, a-z, 0-9, _ and -")
        if not isinstance(self.type, OperationType):
            raise InvalidOperation("type: must be an OperationType")
        expected = DATA_TYPES[self.type]
        if not isinstance(self.data, expected):
            raise InvalidOperation(
                f"data: a {self.type.value} operation needs {expected.__name__},"
                f" not {type(self.data).__name__}"
            )
        self._check_display()
        if not isinstance(self.context, RequestContext):
            raise InvalidOperation("context: must be a RequestContext")
        if not isinstance(self.challenge, str):
            raise InvalidOperation(f"challenge: must be a string, not {_kind(self.challenge)}")
        size = len(b64url_decode(self.challenge, field="challenge"))
        if not MIN_CHALLENGE_BYTES <= size <= MAX_CHALLENGE_BYTES:
            raise InvalidOperation(
                f"challenge: must encode {MIN_CHALLENGE_BYTES} to {MAX_CHALLENGE_BYTES} bytes,"
                f" not {size}"
            )
        _check_int(self.created_at, field="created_at", minimum=0, maximum=_MAX_JSON_INT)
        _check_int(self.expires_at, field="expires_at", minimum=0, maximum=_MAX_JSON_INT)
        if self.expires_at <= self.created_at:
            raise InvalidOperation("expires_at: must be later than created_at")
        if self.locale not in LOCALES:
            raise InvalidOperation(f"locale: must be one of {', '.join(LOCALES)}")

    def _check_display(self) -> None:
        if not isinstance(self.display, tuple):
            raise InvalidOperation("display: must be a tuple of lines")
        if not 1 <= len(self.display) <= MAX_DISPLAY_LINES:
            raise InvalidOperation(f"display: must have 1 to {MAX_DISPLAY_LINES} lines")
        for number, line in enumerate(self.display, start=1):
            check_text(line, field=f"display line {number}", max_length=MAX_DISPLAY_LINE_LENGTH)

    @classmethod
    def create(
        cls,
        *,
        id: str,
        type: OperationType,
        data: OperationData,
        context: RequestContext,
        locale: Locale,
        now: int,
        ttl: int = DEFAULT_TTL,
        rng: Callable[[int], bytes],
    ) -> Operation:
        """Create an operation valid for ``ttl`` seconds from ``now``, with a fresh challenge.

        The challenge is :data:`CHALLENGE_BYTES` bytes drawn from ``rng`` (``os.urandom`` in
        production); the display lines are rendered by :func:`sceau_core.display.render_lines`.
        """
        # display imports this module's types; importing it here avoids an import cycle.
        from sceau_core.display import render_lines

        _check_int(ttl, field="ttl", minimum=1, maximum=_MAX_JSON_INT)
        random: object = rng(CHALLENGE_BYTES)
        if not isinstance(random, bytes) or len(random) != CHALLENGE_BYTES:
            raise InvalidOperation(f"challenge: rng must return {CHALLENGE_BYTES} bytes")
        return cls(
            id=id,
            type=type,
            data=data,
            display=render_lines(type, data, context, locale),
            context=context,
            challenge=b64url_encode(random),
            created_at=now,
            expires_at=now + ttl,
            locale=locale,
        )

    def to_json(self) -> dict[str, Any]:
        """Return the wire form, a plain JSON-compatible dict."""
        return {
            "v": self.v,
            "id": self.id,
            "type": self.type.value,
            "data": self.data.to_json(),
            "display": list(self.display),
            "context": self.context.to_json(),
            "challenge": self.challenge,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "locale": self.locale,
        }

    @classmethod
    def from_json(cls, obj: object) -> Operation:
        """Parse an operation strictly; only its canonical form is accepted.

        Besides the structure and types of every member, the input must be exactly what
        :meth:`to_json` gives back for the parsed operation (IBANs in electronic format, text in
        NFC, canonical IP address…), so the JSON that was signed is the JSON that is shown.
        """
        value = _members(obj, field="", required=_OPERATION_MEMBERS)
        operation_type = _operation_type(value["type"])
        data = parse_data(operation_type, value["data"], field="data")
        context = RequestContext.from_json(value["context"], field="context")
        display = value["display"]
        if not isinstance(display, list):
            raise InvalidOperation(f"display: must be a JSON array, not {_kind(display)}")
        operation = cls(
            v=value["v"],
            id=value["id"],
            type=operation_type,
            data=data,
            display=tuple(display),
            context=context,
            challenge=value["challenge"],
            created_at=value["created_at"],
            expires_at=value["expires_at"],
            locale=value["locale"],
        )
        difference = _first_difference(operation.to_json(), value, "")
        if difference is not None:
            raise InvalidOperation(f"{difference}: not in canonical form")
        return operation

    def canonical(self) -> bytes:
        """Return the RFC 8785 canonical JSON of :meth:`to_json`: the bytes approvals cover."""
        # Computed once per instance: every field is immutable (frozen dataclasses, tuples), so
        # the bytes cannot change, and the pure-Python RFC 8785 encoder is costly.
        cached: bytes | None = self.__dict__.get("_canonical")
        if cached is None:
            cached = canonical_json(self.to_json())
            object.__setattr__(self, "_canonical", cached)
        return cached

    @property
    def digest(self) -> str:
        """The base64url SHA-256 of :meth:`canonical`, which approvals and results bind."""
        cached: str | None = self.__dict__.get("_digest")
        if cached is None:
            cached = sha256_b64url(self.canonical())
            object.__setattr__(self, "_digest", cached)
        return cached

    def check_not_expired(self, *, now: int) -> None:
        """Raise ``Expired`` unless ``now`` is before ``expires_at``."""
        if now >= self.expires_at:
            raise Expired(f"operation {self.id} expired at {self.expires_at}")


def _first_difference(expected: object, actual: object, path: str) -> str | None:
    """Return the path of the first place where two JSON values differ, or ``None``."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            if key not in expected or key not in actual:
                return _path(path, key)
            found = _first_difference(expected[key], actual[key], _path(path, key))
            if found is not None:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return path
        for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
            found = _first_difference(left, right, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    if type(expected) is not type(actual) or expected != actual:
        return path or "operation"
    return None
