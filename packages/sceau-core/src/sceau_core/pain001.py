# SPDX-License-Identifier: Apache-2.0
"""Batch import (brief B2, issue 8): SEPA pain.001 credit-transfer files and the JSON form.

A company's batch of transfers reaches Sceau either as an ISO 20022 ``pain.001`` customer
credit-transfer initiation file (versions ``pain.001.001.03``, the SEPA rulebook's long-standing
one, and ``pain.001.001.09``) or as JSON. Both give an :class:`ImportedBatch`: the debtor's IBAN,
the lines (:class:`~sceau_core.operations.BatchLine`: creditor name, IBAN, amount, remittance
reference), and what the file declared. :meth:`ImportedBatch.to_data` summarizes it into the
:class:`~sceau_core.operations.BatchTransferData` that every signatory approves (brief D4).

What a file must be, else :class:`~sceau_core.errors.InvalidBatch` names the transaction at
fault by its 1-based number in file order (``line``) and its ``EndToEndId`` when it has one:

- well-formed XML in the pain.001.001.03 or .09 namespace, at most :data:`MAX_FILE_BYTES`, with
  **no DOCTYPE at all**: no DTD, hence no entity to expand (billion laughs) and no external
  entity to fetch. The standard library's expat parser is driven directly, with a handler that
  refuses the declaration before any of it is processed, and its tree built by
  ``xml.etree.ElementTree.TreeBuilder``;
- nothing that another reader of the same file could take for a transaction Sceau did not
  show: every element in the document's namespace (but inside ``SplmtryData/Envlp``), every
  ``PmtInf`` and ``CdtTrfTxInf`` in its place, one amount in ``Amt``; at most
  :data:`MAX_MARKUP` ``<`` in the file, so that empty elements cannot fill the memory;
- one debtor account (every payment information block debits the same IBAN), payment method
  ``TRF``, at most :data:`MAX_IMPORT_LINES` transactions (counted before any is read);
- each transaction: an ``InstdAmt`` in the batch's currency, positive, with at most the
  currency's number of decimals (fewer are exact and padded: ``"12.5"`` is 12,50 €; ``"12.345"``
  EUR is refused, it cannot be paid without rounding); a creditor name; a valid creditor IBAN
  (ISO 13616 check digits, the country's length and format); at most one remittance text
  (``RmtInf/Ustrd``, or the structured creditor reference ``RmtInf/Strd/CdtrRefInf/Ref``);
- the declared ``NbOfTxs`` and, when present, ``CtrlSum`` of the group header and of every
  payment information block equal the count and the exact decimal sum of their transactions;
- one requested execution date (``ReqdExctnDt``, a real calendar date; ``ReqdExctnDt/Dt`` in
  .09, never a ``DtTm``) for the whole batch, from the bank's today (which the caller passes:
  the core has no clock) to :data:`MAX_DAYS_AHEAD` days after it, and at most one category purpose
  (``PmtTpInf/CtgyPurp/Cd``, one of :data:`~sceau_core.operations.CATEGORY_PURPOSES`): both are
  in the :class:`~sceau_core.operations.BatchTransferData` the signatories read and sign. Blocks
  of different dates are refused rather than shown side by side: the signed count and total
  then say how much leaves the account on the one day shown, and a file per date is what a
  company's software writes anyway;
- nothing that would change what the bank executes, whom it pays or who pays the fees without
  the signatories seeing it. Each block and transaction holds only the elements Sceau reads or
  knows to be harmless (identifiers, ``CreDtTm``, ``InitgPty``, ``BtchBookg``, the debtor's
  bank, party details of the debtor and creditor); the payment type is SEPA at normal priority
  (``SvcLvl/Cd`` ``SEPA``, ``InstrPrty`` ``NORM``, no ``LclInstrm`` such as instant transfers),
  the charge bearer ``SLEV``; a creditor's bank (``CdtrAgt``) is only a BIC, as SEPA transfers
  are routed by the IBAN that the signatories see, and a BIC of the IBAN's country (or of a
  territory using that country's IBANs, or given by schwifty's registry for the IBAN's bank code),
  since a bank routing by the unseen BIC would pay elsewhere; a structured remittance is only a
  creditor reference. Anything else (``UltmtDbtr``, ``UltmtCdtr``, ``Purp``, ``IntrmyAgt1``,
  ``InstrForCdtrAgt``, ``RgltryRptg``, ``Tax``, ``ChrgsAcct``, ``SplmtryData``…) is refused,
  naming the block or line and the element.

``MsgId``, ``PmtInfId`` and ``EndToEndId`` are checked text of at most :data:`MAX_ID_LENGTH`
characters (ISO 20022 ``Max35Text``): they appear in lists and refusals. Every refusal names the
block (``PmtInf 2 (its PmtInfId)``), the line or the group header, and the element's full path.
A structured creditor reference (``RmtInf/Strd/CdtrRefInf/Ref``) is ``Max35Text`` too.

The batch's currency is the one the caller expects (the account's), else the debtor account's
``Ccy``, else the first transaction's. Values are taken as the file gives them, except that text
is put in Unicode NFC and IBANs in electronic form (upper case, no spaces); text that a customer
could not read safely (controls, invisible characters, two spaces in a row…) is refused, not
repaired, because the lines are shown and signed as they are.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final
from xml.etree.ElementTree import Element, ParseError, TreeBuilder, XMLParser
from xml.parsers import expat

from babel.numbers import get_currency_precision, is_currency
from schwifty import BIC, IBAN, registry
from schwifty.exceptions import SchwiftyException

from sceau_core.errors import InvalidBatch, InvalidIban, MalformedInput
from sceau_core.money import Amount, normalize_iban, parse_iban
from sceau_core.operations import (
    CATEGORY_PURPOSES,
    MAX_TEXT_LENGTH,
    BatchLine,
    BatchTransferData,
    check_date,
    check_text,
    exact_sum,
)

__all__ = [
    "MAX_DAYS_AHEAD",
    "MAX_FILE_BYTES",
    "MAX_ID_LENGTH",
    "MAX_IMPORT_LINES",
    "MAX_MARKUP",
    "PAIN001_NAMESPACES",
    "SHARED_BIC_COUNTRIES",
    "ImportedBatch",
    "PaymentInformation",
    "parse_json_batch",
    "parse_json_lines",
    "parse_pain001",
]

MAX_IMPORT_LINES: Final = 10_000
"""Most transactions in one imported batch (issue 8)."""

MAX_DAYS_AHEAD: Final = 365
"""Furthest requested execution date accepted, in days after the bank's today."""

MAX_ID_LENGTH: Final = 35
"""Longest ``MsgId``, ``PmtInfId``, ``EndToEndId`` and creditor reference (``CdtrRefInf/Ref``):
ISO 20022 ``Max35Text``."""

MAX_FILE_BYTES: Final = 16 * 1024 * 1024
"""Largest pain.001 file accepted; 10 000 transactions with long names take about 8 MiB."""

MAX_MARKUP: Final = 128 * MAX_IMPORT_LINES + 8192
"""Most ``<`` characters in a file: every element, comment or instruction starts with one.

A real transaction takes 20 to 60; the bound keeps a file of empty elements (16 MiB of
``<a/>`` would build a tree of several hundred MiB) from being parsed at all."""

PAIN001_NAMESPACES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03": "pain.001.001.03",
        "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09": "pain.001.001.09",
    }
)
"""The XML namespaces accepted, and the version each one names."""

_DECIMAL = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]+))?")
_COUNT = re.compile(r"[0-9]{1,15}")
_BIC = re.compile(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
_CURRENCY = re.compile(r"[A-Z]{3}")

SHARED_BIC_COUNTRIES: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        # French overseas departments and collectivities (SEPA members or not) use FR IBANs;
        # their banks' BICs carry the territory's code (BFCORERX, AGRIGPGX, BCADNCNN…).
        "FR": frozenset({"GF", "GP", "MQ", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF"}),
        # Monaco's IBANs use French bank codes: the Monaco branches of French banks may be
        # reached by the French bank's BIC (CCBPFRPP…) as well as by an MC one (SOGEMCM1).
        "MC": frozenset({"FR"}),
        # Guernsey, Jersey and the Isle of Man use GB IBANs, with GG, JE and IM BICs.
        "GB": frozenset({"GG", "JE", "IM"}),
        # The Åland Islands use FI IBANs.
        "FI": frozenset({"AX"}),
    }
)
"""BIC country codes that an IBAN country's banks may have besides its own (the EPC's list
of SEPA territories and the IBAN countries they use). Other differences are accepted only where
schwifty's bank registry gives the IBAN's bank code that BIC's institution and country."""
_TRANSACTION = "CdtTrfTxInf"

# What each part of a file may hold: what Sceau reads, and what cannot change what the bank
# executes. Any other element is refused (see _UNSHOWN for the reason given).
_INITIATION_ELEMENTS: Final = frozenset({"GrpHdr", "PmtInf"})
_HEADER_ELEMENTS: Final = frozenset(
    {"MsgId", "CreDtTm", "Authstn", "NbOfTxs", "CtrlSum", "InitgPty", "FwdgAgt"}
)
_BLOCK_ELEMENTS: Final = frozenset(
    {
        "PmtInfId", "PmtMtd", "BtchBookg", "NbOfTxs", "CtrlSum", "PmtTpInf", "ReqdExctnDt",
        "Dbtr", "DbtrAcct", "DbtrAgt", "ChrgBr", _TRANSACTION,
    }
)  # fmt: skip
_TRANSACTION_ELEMENTS: Final = frozenset(
    {"PmtId", "PmtTpInf", "Amt", "ChrgBr", "CdtrAgt", "Cdtr", "CdtrAcct", "RmtInf"}
)
_PAYMENT_TYPE_ELEMENTS: Final = frozenset({"InstrPrty", "SvcLvl", "CtgyPurp"})
_ACCOUNT_ELEMENTS: Final = frozenset({"Id", "Tp", "Ccy", "Nm"})

_UNSHOWN: Final[Mapping[str, str]] = MappingProxyType(
    {
        "UltmtDbtr": "ultimate debtor, on whose behalf the transfers would be made",
        "UltmtCdtr": "ultimate creditor, to whom the creditor would be paying on",
        "Purp": "purpose of the transfer",
        "LclInstrm": "local instrument, such as an instant transfer",
        "IntrmyAgt1": "intermediary bank",
        "IntrmyAgt1Acct": "intermediary bank's account",
        "IntrmyAgt2": "intermediary bank",
        "IntrmyAgt2Acct": "intermediary bank's account",
        "IntrmyAgt3": "intermediary bank",
        "IntrmyAgt3Acct": "intermediary bank's account",
        "CdtrAgtAcct": "creditor's bank's account",
        "DbtrAgtAcct": "debtor's bank's account",
        "InstrForCdtrAgt": "instruction for the creditor's bank",
        "InstrForDbtrAgt": "instruction for the debtor's bank",
        "RgltryRptg": "regulatory reporting",
        "Tax": "tax information",
        "RltdRmtInf": "remittance information sent separately",
        "ChrgsAcct": "another account to debit the charges from",
        "ChrgsAcctAgt": "bank of the account for the charges",
        "XchgRateInf": "exchange rate",
        "ChqInstr": "cheque instruction",
        "PoolgAdjstmntDt": "pooling adjustment date",
        "PrvsInstgAgt1": "previous instructing bank",
        "SplmtryData": "supplementary data",
    }
)


# Where the elements that say what the bank executes may stand, by the local names of their
# parent (and, for an IBAN, of its grandparent). The parts that Sceau accepts without reading
# them through (a party, a bank, a payment id) may hold none of them, nor any of _UNSHOWN: a
# reader that finds elements by their name wherever they are would take them for the batch's.
_PLACES: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "PmtInf": frozenset({"CstmrCdtTrfInitn"}),
        _TRANSACTION: frozenset({"PmtInf"}),
        "ReqdExctnDt": frozenset({"PmtInf"}),
        "PmtMtd": frozenset({"PmtInf"}),
        "Dbtr": frozenset({"PmtInf"}),
        "DbtrAcct": frozenset({"PmtInf"}),
        "DbtrAgt": frozenset({"PmtInf"}),
        "NbOfTxs": frozenset({"GrpHdr", "PmtInf"}),
        "CtrlSum": frozenset({"GrpHdr", "PmtInf"}),
        "ChrgBr": frozenset({"PmtInf", _TRANSACTION}),
        "PmtTpInf": frozenset({"PmtInf", _TRANSACTION}),
        "InstrPrty": frozenset({"PmtTpInf"}),
        "SvcLvl": frozenset({"PmtTpInf"}),
        "CtgyPurp": frozenset({"PmtTpInf"}),
        "PmtId": frozenset({_TRANSACTION}),
        "EndToEndId": frozenset({"PmtId"}),
        "Amt": frozenset({_TRANSACTION}),
        "InstdAmt": frozenset({"Amt"}),
        "EqvtAmt": frozenset({"Amt"}),
        "Cdtr": frozenset({_TRANSACTION}),
        "CdtrAcct": frozenset({_TRANSACTION}),
        "CdtrAgt": frozenset({_TRANSACTION}),
        "RmtInf": frozenset({_TRANSACTION}),
        "Ustrd": frozenset({"RmtInf"}),
        "Strd": frozenset({"RmtInf"}),
        "Ccy": frozenset({"DbtrAcct", "CdtrAcct"}),
        "IBAN": frozenset({"Id"}),
        **{name: frozenset() for name in _UNSHOWN},
    }
)
_IBAN_ACCOUNTS: Final = frozenset({"DbtrAcct", "CdtrAcct"})


def _out_of_place(root: Element) -> None:
    """Refuse an element of :data:`_PLACES` that stands anywhere but in its place.

    Runs once the file has been read: what stands at a level that Sceau reads was refused
    there, with its reason; what is left is hidden inside a part accepted as a whole.
    """
    block = line = 0
    stack: list[tuple[Element, str, str, int, int]] = [(root, "", "", 0, 0)]
    while stack:
        element, parent, grandparent, in_block, in_line = stack.pop()
        name = element.tag.rpartition("}")[2]
        places = _PLACES.get(name)
        if name == "PmtInf":
            block += 1
            in_block, in_line = block, 0
        elif name == _TRANSACTION:
            line += 1
            in_line = line
        if places is not None and (
            parent not in places or (name == "IBAN" and grandparent not in _IBAN_ACCOUNTS)
        ):
            where = f"line {in_line}" if in_line else f"PmtInf {in_block}" if in_block else "file"
            reason = _UNSHOWN.get(name)
            what = f"{name} ({reason})" if reason else name
            raise InvalidBatch(
                f"{where}: {what} inside {parent} is not accepted: a reader of the file could"
                " take it for the transfer's own, which the signatories would not see"
            )
        stack.extend((child, name, parent, in_block, in_line) for child in reversed(element))


@dataclass(frozen=True)
class PaymentInformation:
    """One ``PmtInf`` block of a pain.001 file: its transactions are lines ``first_line`` on.

    ``declared_count`` and ``declared_sum`` are its ``NbOfTxs`` and ``CtrlSum`` when given;
    ``execution_date`` its requested execution date (ISO 8601 ``YYYY-MM-DD``) when given.
    """

    payment_information_id: str | None
    execution_date: str | None
    first_line: int
    count: int
    declared_count: int | None
    declared_sum: Decimal | None


@dataclass(frozen=True)
class ImportedBatch:
    """A batch imported from a pain.001 file or from JSON, checked line by line.

    ``source`` is ``"json"`` or the pain.001 version (``"pain.001.001.03"``…); ``end_to_end_ids``
    is aligned with ``lines`` (``None`` where the source gave none); ``declared_count`` and
    ``declared_sum`` are what the file's group header (or the JSON ``count`` and ``total``)
    declared, already checked against the lines; ``batch_reference`` is the file's message id;
    ``execution_date`` and ``category_purpose`` are the batch's requested execution date and
    ``CtgyPurp`` code, when it has them.
    """

    source: str
    debtor_iban: str
    lines: tuple[BatchLine, ...]
    total: Amount
    end_to_end_ids: tuple[str | None, ...]
    declared_count: int | None = None
    declared_sum: Decimal | None = None
    debtor_name: str | None = None
    batch_reference: str | None = None
    payment_informations: tuple[PaymentInformation, ...] = ()
    execution_date: str | None = None
    category_purpose: str | None = None

    @property
    def currency(self) -> str:
        """The one currency of every line."""
        return self.total.currency

    @property
    def count(self) -> int:
        """The number of lines."""
        return len(self.lines)

    def to_data(self) -> BatchTransferData:
        """The batch summary every signatory approves: debtor, count, total, lines digest, date."""
        return BatchTransferData.for_lines(
            debtor_iban=self.debtor_iban,
            lines=self.lines,
            batch_reference=self.batch_reference,
            execution_date=self.execution_date,
            category_purpose=self.category_purpose,
        )


def _where(line: int, end_to_end_id: str | None) -> str:
    return f"line {line} (EndToEndId {end_to_end_id})" if end_to_end_id else f"line {line}"


@contextmanager
def _on_line(line: int, end_to_end_id: str | None) -> Iterator[None]:
    """Turn any ``MalformedInput`` raised inside into an ``InvalidBatch`` naming the line."""
    try:
        yield
    except MalformedInput as error:
        if isinstance(error, InvalidBatch) and error.line is not None:
            raise
        raise InvalidBatch(
            f"{_where(line, end_to_end_id)}: {error}", line=line, end_to_end_id=end_to_end_id
        ) from error


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def _text(value: str, *, field: str, max_length: int = MAX_TEXT_LENGTH) -> str:
    """``value`` in NFC if :func:`~sceau_core.operations.check_text` accepts it, else refused."""
    try:
        return check_text(_nfc(value), field=field, max_length=max_length)
    except MalformedInput as error:
        raise InvalidBatch(str(error)) from error


def _identifier(value: str, *, field: str) -> str:
    """An ISO 20022 identifier (``Max35Text``), which people read in lists and refusals."""
    return _text(value, field=field, max_length=MAX_ID_LENGTH)


def _shown_id(found: Element | None) -> str | None:
    """The ``EndToEndId`` element's text if it may be shown in a refusal, else ``None``."""
    if found is None or len(found) or found.text is None:
        return None
    try:
        return _identifier(found.text, field="PmtId/EndToEndId")
    except InvalidBatch:
        return None


def _currency(text: str, *, field: str) -> str:
    if _CURRENCY.fullmatch(text) is None or not is_currency(text):
        raise InvalidBatch(f"{field}: {text!r} is not an ISO 4217 currency code")
    return text


def _execution_date(text: object, *, today: datetime.date, field: str) -> str:
    """A requested execution date: a calendar date from the bank's ``today`` to a year ahead."""
    try:
        date = check_date(text, field=field)
    except MalformedInput as error:
        raise InvalidBatch(str(error)) from error
    if date < today:
        raise InvalidBatch(f"{field}: {date} is in the past (today is {today})")
    if (date - today).days > MAX_DAYS_AHEAD:
        raise InvalidBatch(
            f"{field}: {date} is more than {MAX_DAYS_AHEAD} days ahead (today is {today})"
        )
    return date.isoformat()


def _check_agent(bic: str, iban: str, *, field: str) -> None:
    """Refuse a creditor's bank (BIC) in another country than the creditor's IBAN.

    The signatories see the IBAN, not the BIC; a bank that routes by the BIC would pay another
    bank than the one they saw. Accepted: the same country, a territory that uses the IBAN's
    country (:data:`SHARED_BIC_COUNTRIES`), or a BIC that schwifty's bank registry gives for the
    IBAN's bank code (a bank code of one country held by an institution of another).
    """
    country = iban[:2]
    if bic[4:6] == country:
        return
    try:
        bic_country = BIC(bic).country_code
    except SchwiftyException as error:
        raise InvalidBatch(f"{field}: {bic} is not a BIC ({error})") from error
    if bic_country in SHARED_BIC_COUNTRIES.get(country, ()):
        return
    account = IBAN(iban)
    institution = bic[:6]
    if any(
        bank.bic[:6] == institution
        for bank in registry.get_banks_by_code(country, account.bank_code)
    ):
        return
    raise InvalidBatch(
        f"{field}: {bic} is a bank in {bic_country}, the creditor's IBAN is in {country}: the"
        " bank could route the transfer by this BIC, which the signatories do not see; give the"
        " BIC of the IBAN's bank, or none (SEPA routes by the IBAN)"
    )


def _line_amount(text: str, currency: str, *, field: str) -> Amount:
    """Parse an ``InstdAmt``: positive, at most the currency's decimals (fewer are padded)."""
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise InvalidBatch(
            f"{field}: {text!r} is not a plain decimal amount (digits, then an optional point"
            " and decimals; no sign, exponent, space or leading zero)"
        )
    decimals = len(match.group(2) or "")
    precision = get_currency_precision(currency)
    if decimals > precision:
        raise InvalidBatch(
            f"{field}: {text} has {decimals} decimals, {currency} amounts have at most {precision}"
        )
    value = Decimal(text).quantize(Decimal(1).scaleb(-precision))
    amount = Amount(value, currency)
    amount.require_positive(field)
    return amount


def _control_sum(text: str, *, field: str) -> Decimal:
    if _DECIMAL.fullmatch(text) is None:
        raise InvalidBatch(f"{field}: {text!r} is not a plain decimal number")
    return Decimal(text)


def _declared_count(text: str, *, field: str) -> int:
    if _COUNT.fullmatch(text) is None:
        raise InvalidBatch(f"{field}: {text!r} is not a number of transactions")
    return int(text)


def _check_count(declared: int | None, actual: int, *, field: str) -> None:
    if declared is not None and declared != actual:
        raise InvalidBatch(
            f"{field}: the file declares {declared} transactions, but holds {actual}"
        )


def _check_sum(declared: Decimal | None, actual: Decimal, *, field: str) -> None:
    if declared is not None and declared != actual:
        raise InvalidBatch(
            f"{field}: the file declares a control sum of {declared}, but its transactions"
            f" add up to {actual}"
        )


# --- XML --------------------------------------------------------------------------------------


def _refuse_declarations(data: bytes) -> None:
    """Run expat over ``data`` once, refusing any DOCTYPE, entity declaration or reference.

    This first pass sets no element handler, so it runs at expat's own speed; only a document
    that passes it reaches ElementTree, and without a DTD no entity can be defined, hence none
    expanded (ElementTree refuses an undefined one).
    """
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def doctype(*_args: object) -> None:
        raise InvalidBatch("file: a DOCTYPE (DTD) is not allowed in a pain.001 file")

    def entity(*_args: object) -> None:
        raise InvalidBatch("file: entity declarations are not allowed in a pain.001 file")

    def external(*_args: object) -> int:
        raise InvalidBatch("file: external entities are not allowed in a pain.001 file")

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.ExternalEntityRefHandler = external
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        reason = expat.errors.messages.get(error.code, "not well-formed")
        raise InvalidBatch(
            f"file: not well-formed XML at line {error.lineno}, column {error.offset}: {reason}"
        ) from error


def _parse_xml(data: bytes) -> Element:
    """Parse ``data`` into an ElementTree tree once :func:`_refuse_declarations` accepted it."""
    _refuse_declarations(data)
    # The first pass refused every DOCTYPE and entity: what is left is plain elements and text.
    parser = XMLParser(target=TreeBuilder())  # noqa: S314
    try:
        parser.feed(data)
        return parser.close()
    except ParseError as error:
        raise InvalidBatch(f"file: not well-formed XML: {error}") from error


def _at(where: str, message: str) -> str:
    return f"{where}: {message}" if where else message


class _Reader:
    """Navigation in one pain.001 namespace, refusing what is missing or repeated.

    ``where`` prefixes error messages; inside a transaction it is empty, and the transaction's
    own context adds the line number and ``EndToEndId``.
    """

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self._paths: dict[str, tuple[str, ...]] = {}

    def children(self, element: Element, name: str) -> list[Element]:
        """The direct children of ``element`` named ``name`` in this namespace."""
        return element.findall("{" + self.namespace + "}" + name)

    def find(self, element: Element, path: str, *, where: str) -> Element | None:
        """The element at ``path`` (``A/B/C``) or ``None``; a repeated step is refused."""
        steps = self._paths.get(path)
        if steps is None:
            steps = tuple("{" + self.namespace + "}" + step for step in path.split("/"))
            self._paths[path] = steps
        current = element
        for step in steps:
            found = current.findall(step)
            if len(found) != 1:
                if not found:
                    return None
                raise InvalidBatch(_at(where, f"{path} appears more than once"))
            current = found[0]
        return current

    def get(self, element: Element, path: str, *, where: str) -> Element:
        """The element at ``path``; a missing or repeated step is refused."""
        found = self.find(element, path, where=where)
        if found is None:
            raise InvalidBatch(_at(where, f"{path} is missing"))
        return found

    @staticmethod
    def content(found: Element, path: str, *, where: str) -> str:
        """The text of ``found`` (the element at ``path``), which must hold no element."""
        if len(found):
            raise InvalidBatch(_at(where, f"{path} must hold text, not elements"))
        return found.text or ""

    def text(self, element: Element, path: str, *, where: str) -> str:
        """The text of the element at ``path``, which must exist and hold no element."""
        return self.content(self.get(element, path, where=where), path, where=where)

    def optional_text(self, element: Element, path: str, *, where: str) -> str | None:
        """The text at ``path``, or ``None`` when the element is absent."""
        found = self.find(element, path, where=where)
        return None if found is None else self.content(found, path, where=where)

    @staticmethod
    def only(element: Element, allowed: frozenset[str], *, where: str, path: str = "") -> set[str]:
        """Refuse a child of ``element`` (at ``path``) whose local name is not ``allowed``.

        Return the local names of the children, so that absent elements need no search.
        """
        names = set()
        for child in element:
            name = child.tag.rpartition("}")[2]
            names.add(name)
            if name in allowed:
                continue
            named = f"{path}/{name}" if path else name
            reason = _UNSHOWN.get(name)
            what = f"{named} ({reason})" if reason else named
            raise InvalidBatch(
                _at(
                    where,
                    f"{what} is not accepted: the signatories would not see it, so the bank"
                    " must not receive it",
                )
            )
        return names


def parse_pain001(
    data: bytes, *, today: datetime.date, currency: str | None = None
) -> ImportedBatch:
    """Parse a pain.001.001.03 or .09 credit-transfer file into a checked batch.

    ``today`` is the bank's date, in its time zone: the requested execution date may be neither
    before it nor more than :data:`MAX_DAYS_AHEAD` days after it. ``currency``, when given, is
    the debited account's: every transaction must be in it. See
    the module docstring for every rule; the first violation raises
    :class:`~sceau_core.errors.InvalidBatch`, naming the transaction when there is one.
    """
    if not isinstance(data, bytes):
        raise InvalidBatch("file: must be bytes")
    if len(data) > MAX_FILE_BYTES:
        raise InvalidBatch(f"file: larger than {MAX_FILE_BYTES} bytes")
    if data.count(b"<") > MAX_MARKUP:
        raise InvalidBatch(
            f"file: more markup than {MAX_IMPORT_LINES} transactions need"
            f" (at most {MAX_MARKUP} elements)"
        )
    root = _parse_xml(data)
    namespace, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", "")
    version = PAIN001_NAMESPACES.get(namespace)
    if version is None or local != "Document":
        raise InvalidBatch(
            f"file: not a pain.001.001.03 or pain.001.001.09 Document (root element {root.tag!r})"
        )
    blocks, transactions = _structure(root, namespace)
    batch = _Pain001(_Reader(namespace), version, currency, today).read(root)
    _out_of_place(root)
    if (blocks, transactions) != (len(batch.payment_informations), batch.count):
        raise InvalidBatch(
            f"file: {transactions} CdtTrfTxInf (transactions) and {blocks} PmtInf blocks in the"
            f" file, {batch.count} and {len(batch.payment_informations)} in their place: a"
            " transaction or block elsewhere is refused, never ignored"
        )
    return batch


def _structure(root: Element, namespace: str) -> tuple[int, int]:
    """Refuse elements outside the document's namespace; count blocks and transactions anywhere.

    Sceau reads only the elements of the pain.001 namespace at their place. Another reader of
    the same file might match elements by local name wherever they are: so every element is in
    the document's namespace (only a ``SplmtryData/Envlp`` may hold others, as the schema
    allows), and ``PmtInf`` and ``CdtTrfTxInf`` are counted wherever they are, in any namespace,
    to be compared with what was read.
    """
    prefix = "{" + namespace + "}"
    free = {id(inner) for envelope in root.iter(prefix + "Envlp") for inner in envelope.iter()}
    blocks = transactions = 0
    for element in root.iter():
        tag = element.tag
        local = tag.rpartition("}")[2]
        if local == _TRANSACTION:
            transactions += 1
        elif local == "PmtInf":
            blocks += 1
        if not tag.startswith(prefix) and id(element) not in free:
            raise InvalidBatch(
                f"file: element {tag!r} is not in the namespace of the document ({namespace})"
            )
    return blocks, transactions


class _Pain001:
    """One pass over a parsed pain.001 tree."""

    def __init__(
        self, reader: _Reader, version: str, currency: str | None, today: datetime.date
    ) -> None:
        self.x = reader
        self.version = version
        self.currency = currency
        self.today = today
        self.debtor_iban: str | None = None
        self.debtor_name: str | None = None
        self.lines: list[BatchLine] = []
        self.end_to_end_ids: list[str | None] = []
        self.blocks: list[PaymentInformation] = []
        self.category_purpose: str | None = None

    def read(self, root: Element) -> ImportedBatch:
        x = self.x
        initiation = x.get(root, "CstmrCdtTrfInitn", where="Document")
        x.only(initiation, _INITIATION_ELEMENTS, where="CstmrCdtTrfInitn")
        header = x.get(initiation, "GrpHdr", where="Document")
        x.only(header, _HEADER_ELEMENTS, where="GrpHdr")
        message_id = _identifier(x.text(header, "MsgId", where="GrpHdr"), field="GrpHdr/MsgId")
        declared_count = _declared_count(
            x.text(header, "NbOfTxs", where="GrpHdr"), field="GrpHdr/NbOfTxs"
        )
        control = x.optional_text(header, "CtrlSum", where="GrpHdr")
        declared_sum = None if control is None else _control_sum(control, field="GrpHdr/CtrlSum")
        blocks = x.children(initiation, "PmtInf")
        if not blocks:
            raise InvalidBatch("Document: no PmtInf (payment information) block")
        self._check_size(blocks)
        for number, block in enumerate(blocks, start=1):
            self._payment_information(block, number)
        if not self.lines or self.debtor_iban is None:
            raise InvalidBatch("Document: no transaction")
        currency = self.lines[0].amount.currency
        actual = exact_sum(line.amount.value for line in self.lines)
        _check_count(declared_count, len(self.lines), field="GrpHdr/NbOfTxs")
        _check_sum(declared_sum, actual, field="GrpHdr/CtrlSum")
        try:
            total = Amount(actual, currency)
        except MalformedInput as error:
            raise InvalidBatch(str(error)) from error
        return ImportedBatch(
            source=self.version,
            debtor_iban=self.debtor_iban,
            lines=tuple(self.lines),
            total=total,
            end_to_end_ids=tuple(self.end_to_end_ids),
            declared_count=declared_count,
            declared_sum=declared_sum,
            debtor_name=self.debtor_name,
            batch_reference=message_id,
            payment_informations=tuple(self.blocks),
            execution_date=self.blocks[0].execution_date,
            category_purpose=self.category_purpose,
        )

    def _check_size(self, blocks: list[Element]) -> None:
        x = self.x
        seen = 0
        for block in blocks:
            transactions = x.children(block, _TRANSACTION)
            if seen + len(transactions) > MAX_IMPORT_LINES:
                line = MAX_IMPORT_LINES + 1
                extra = transactions[MAX_IMPORT_LINES - seen]
                end_to_end_id = _shown_id(x.find(extra, "PmtId/EndToEndId", where=""))
                raise InvalidBatch(
                    f"{_where(line, end_to_end_id)}: more than {MAX_IMPORT_LINES} transactions"
                    " in one batch",
                    line=line,
                    end_to_end_id=end_to_end_id,
                )
            seen += len(transactions)

    def _payment_information(self, block: Element, number: int) -> None:
        x = self.x
        block_id = x.optional_text(block, "PmtInfId", where=f"PmtInf {number}")
        if block_id is not None:
            block_id = _identifier(block_id, field=f"PmtInf {number}: PmtInfId")
        where = f"PmtInf {number}" + (f" ({block_id})" if block_id else "")
        x.only(block, _BLOCK_ELEMENTS, where=where)
        method = x.text(block, "PmtMtd", where=where)
        if method != "TRF":
            raise InvalidBatch(f"{where}: PmtMtd is {method!r}; only credit transfers (TRF)")
        count_text = x.optional_text(block, "NbOfTxs", where=where)
        declared_count = (
            None if count_text is None else _declared_count(count_text, field=f"{where}/NbOfTxs")
        )
        sum_text = x.optional_text(block, "CtrlSum", where=where)
        declared_sum = (
            None if sum_text is None else _control_sum(sum_text, field=f"{where}/CtrlSum")
        )
        execution_date = self._execution_date(block, where)
        category_purpose = self._payment_type(block, where, in_block=True)
        if not self.blocks:
            self.category_purpose = category_purpose
        elif category_purpose != self.category_purpose:
            raise InvalidBatch(
                f"{where}: the category purpose (PmtTpInf/CtgyPurp/Cd) is"
                f" {category_purpose or 'not given'}, in the first block"
                f" {self.category_purpose or 'not given'}: one batch has one category purpose,"
                " which its signatories read"
            )
        self._charge_bearer(block, where)
        self._debtor(block, where)
        transactions = x.children(block, _TRANSACTION)
        if not transactions:
            raise InvalidBatch(f"{where}: no transaction ({_TRANSACTION})")
        first = len(self.lines) + 1
        for transaction in transactions:
            self._transaction(transaction, len(self.lines) + 1)
        block_lines = self.lines[first - 1 :]
        _check_count(declared_count, len(block_lines), field=f"{where}/NbOfTxs")
        _check_sum(
            declared_sum,
            exact_sum(line.amount.value for line in block_lines),
            field=f"{where}/CtrlSum",
        )
        self.blocks.append(
            PaymentInformation(
                payment_information_id=block_id,
                execution_date=execution_date,
                first_line=first,
                count=len(block_lines),
                declared_count=declared_count,
                declared_sum=declared_sum,
            )
        )

    def _execution_date(self, block: Element, where: str) -> str:
        """The block's requested execution date, which must be the first block's."""
        x = self.x
        path = "ReqdExctnDt"
        if self.version != "pain.001.001.03":
            found = x.find(block, "ReqdExctnDt", where=where)
            if found is not None:
                x.only(found, frozenset({"Dt"}), where=where, path="ReqdExctnDt")
            path = "ReqdExctnDt/Dt"
        text = x.optional_text(block, path, where=where)
        if text is None:
            raise InvalidBatch(f"{where}: {path} is missing (the requested execution date)")
        if self.blocks and text != self.blocks[0].execution_date:
            raise InvalidBatch(
                f"{where}: {path} is {text}, the first block's {self.blocks[0].execution_date}:"
                " one batch has one execution date, which its signatories approve; send one"
                " file per date"
            )
        return _execution_date(text, today=self.today, field=f"{where}: {path}")

    def _payment_type(self, element: Element, where: str, *, in_block: bool) -> str | None:
        """Check ``PmtTpInf`` (SEPA, normal priority); return the block's category purpose."""
        x = self.x
        payment_type = x.find(element, "PmtTpInf", where=where)
        if payment_type is None:
            return None
        x.only(payment_type, _PAYMENT_TYPE_ELEMENTS, where=where, path="PmtTpInf")
        priority = x.optional_text(payment_type, "InstrPrty", where=where)
        if priority is not None and priority != "NORM":
            raise InvalidBatch(
                _at(
                    where,
                    f"PmtTpInf/InstrPrty is {priority!r}; only NORM: an urgent instruction is"
                    " executed and charged otherwise than the signatories were shown",
                )
            )
        level = x.find(element, "PmtTpInf/SvcLvl", where=where)
        if level is not None:
            x.only(level, frozenset({"Cd"}), where=where, path="PmtTpInf/SvcLvl")
            code = x.text(element, "PmtTpInf/SvcLvl/Cd", where=where)
            if code != "SEPA":
                raise InvalidBatch(
                    _at(
                        where,
                        f"PmtTpInf/SvcLvl/Cd is {code!r}; only SEPA credit transfers (SEPA):"
                        " another service level is executed and charged otherwise",
                    )
                )
        purpose = x.find(element, "PmtTpInf/CtgyPurp", where=where)
        if purpose is None:
            return None
        if not in_block:
            raise InvalidBatch(
                _at(where, "PmtTpInf/CtgyPurp: give the category purpose once, in the PmtInf block")
            )
        x.only(purpose, frozenset({"Cd"}), where=where, path="PmtTpInf/CtgyPurp")
        code = x.text(element, "PmtTpInf/CtgyPurp/Cd", where=where)
        if code not in CATEGORY_PURPOSES:
            raise InvalidBatch(
                _at(
                    where,
                    f"PmtTpInf/CtgyPurp/Cd is {code!r}; Sceau shows only"
                    f" {', '.join(CATEGORY_PURPOSES)}",
                )
            )
        return code

    def _charge_bearer(self, element: Element, where: str) -> None:
        bearer = self.x.optional_text(element, "ChrgBr", where=where)
        if bearer is not None and bearer != "SLEV":
            raise InvalidBatch(
                _at(
                    where,
                    f"ChrgBr is {bearer!r}; only SLEV (each side pays its own bank, the SEPA rule):"
                    " another charge bearer changes who pays the fees",
                )
            )

    def _account(self, element: Element, path: str, where: str) -> None:
        """Refuse in an account (``DbtrAcct``, ``CdtrAcct``) anything but its IBAN and details."""
        x = self.x
        account = x.find(element, path, where=where)
        if account is None:
            return
        x.only(account, _ACCOUNT_ELEMENTS, where=where, path=path)
        identifier = x.find(element, f"{path}/Id", where=where)
        if identifier is not None:
            x.only(identifier, frozenset({"IBAN"}), where=where, path=f"{path}/Id")

    def _debtor(self, block: Element, where: str) -> None:
        x = self.x
        self._account(block, "DbtrAcct", where)
        if x.find(block, "DbtrAcct/Id/IBAN", where=where) is None:
            raise InvalidBatch(f"{where}: DbtrAcct/Id/IBAN is missing (the debtor's IBAN)")
        text = x.text(block, "DbtrAcct/Id/IBAN", where=where)
        try:
            iban = parse_iban(text, field=f"{where}: DbtrAcct/Id/IBAN")
        except MalformedInput as error:
            raise InvalidBatch(str(error)) from error
        if self.debtor_iban is None:
            self.debtor_iban = iban
        elif iban != self.debtor_iban:
            raise InvalidBatch(
                f"{where}: debits another account than the first block; one batch debits one"
                " account"
            )
        name = x.optional_text(block, "Dbtr/Nm", where=where)
        if name is not None and self.debtor_name is None:
            self.debtor_name = _nfc(name)
        account_currency = x.optional_text(block, "DbtrAcct/Ccy", where=where)
        if account_currency is not None:
            _currency(account_currency, field=f"{where}: DbtrAcct/Ccy")
            if self.currency is None:
                self.currency = account_currency
            elif account_currency != self.currency:
                raise InvalidBatch(
                    f"{where}: DbtrAcct/Ccy is {account_currency}, the batch currency is"
                    f" {self.currency}"
                )

    def _transaction(self, transaction: Element, line: int) -> None:
        x = self.x
        with _on_line(line, None):
            end_to_end_id = _identifier(
                x.text(transaction, "PmtId/EndToEndId", where=""), field="PmtId/EndToEndId"
            )
        with _on_line(line, end_to_end_id):
            present = x.only(transaction, _TRANSACTION_ELEMENTS, where="")
            if "PmtTpInf" in present:
                self._payment_type(transaction, "", in_block=False)
            if "ChrgBr" in present:
                self._charge_bearer(transaction, "")
            bic = self._creditor_agent(transaction) if "CdtrAgt" in present else None
            self._account(transaction, "CdtrAcct", "")
            amount_choice = x.find(transaction, "Amt", where="")
            if amount_choice is not None and len(amount_choice) != 1:
                raise InvalidBatch("Amt must hold one amount, InstdAmt")
            instructed = x.find(transaction, "Amt/InstdAmt", where="")
            if instructed is None:
                raise InvalidBatch("Amt/InstdAmt is missing (the only kind of amount accepted)")
            currency = instructed.get("Ccy")
            if currency is None:
                raise InvalidBatch("Amt/InstdAmt has no Ccy attribute")
            _currency(currency, field="Amt/InstdAmt/@Ccy")
            if self.currency is None:
                self.currency = currency
            if currency != self.currency:
                raise InvalidBatch(
                    f"Amt/InstdAmt is in {currency}, the batch currency is {self.currency}"
                )
            amount = _line_amount(
                x.content(instructed, "Amt/InstdAmt", where=""), currency, field="Amt/InstdAmt"
            )
            name = x.optional_text(transaction, "Cdtr/Nm", where="")
            if name is None:
                raise InvalidBatch("Cdtr/Nm is missing (the creditor's name)")
            account = x.optional_text(transaction, "CdtrAcct/Id/IBAN", where="")
            if account is None:
                raise InvalidBatch("CdtrAcct/Id/IBAN is missing (the creditor's IBAN)")
            account_currency = x.optional_text(transaction, "CdtrAcct/Ccy", where="")
            if account_currency is not None and account_currency != currency:
                raise InvalidBatch(
                    f"CdtrAcct/Ccy is {account_currency}: the creditor's account must be in the"
                    f" batch currency, {currency}, or the amount would be converted"
                )
            payee_name = _text(name, field="Cdtr/Nm")
            payee_iban = normalize_iban(account, field="CdtrAcct/Id/IBAN")
            reference = self._reference(transaction)
            try:
                batch_line = BatchLine(
                    payee_name=payee_name, payee_iban=payee_iban, amount=amount, reference=reference
                )
            except InvalidIban as error:
                # The IBAN, the costliest check of a line, is validated once, by BatchLine.
                detail = str(error).removeprefix("payee_iban")
                raise InvalidBatch(f"CdtrAcct/Id/IBAN{detail}") from error
            if bic is not None:
                _check_agent(
                    bic, batch_line.payee_iban, field=f"CdtrAgt/FinInstnId/{self._bic_tag}"
                )
            self.lines.append(batch_line)
            self.end_to_end_ids.append(end_to_end_id)

    @property
    def _bic_tag(self) -> str:
        return "BIC" if self.version == "pain.001.001.03" else "BICFI"

    def _creditor_agent(self, transaction: Element) -> str | None:
        """A creditor's bank given by its BIC alone, checked against the IBAN by the caller."""
        x = self.x
        agent = x.find(transaction, "CdtrAgt", where="")
        if agent is None:
            return None
        x.only(agent, frozenset({"FinInstnId"}), where="", path="CdtrAgt")
        tag = self._bic_tag
        path = f"CdtrAgt/FinInstnId/{tag}"
        institution = x.get(transaction, "CdtrAgt/FinInstnId", where="")
        x.only(institution, frozenset({tag}), where="", path="CdtrAgt/FinInstnId")
        bic = x.text(transaction, path, where="")
        if _BIC.fullmatch(bic) is None:
            raise InvalidBatch(f"{path}: {bic!r} is not a BIC")
        return bic

    def _reference(self, transaction: Element) -> str | None:
        x = self.x
        remittance = x.find(transaction, "RmtInf", where="")
        if remittance is None:
            return None
        x.only(remittance, frozenset({"Ustrd", "Strd"}), where="", path="RmtInf")
        if x.find(transaction, "RmtInf/Strd", where="") is not None:
            structured_block = x.get(transaction, "RmtInf/Strd", where="")
            x.only(structured_block, frozenset({"CdtrRefInf"}), where="", path="RmtInf/Strd")
            reference = x.get(transaction, "RmtInf/Strd/CdtrRefInf", where="")
            x.only(reference, frozenset({"Tp", "Ref"}), where="", path="RmtInf/Strd/CdtrRefInf")
        unstructured = x.children(remittance, "Ustrd")
        structured = x.optional_text(transaction, "RmtInf/Strd/CdtrRefInf/Ref", where="")
        if len(unstructured) > 1 or (unstructured and structured is not None):
            raise InvalidBatch("RmtInf: at most one remittance text (Ustrd or Strd)")
        if unstructured:
            return _text(x.text(transaction, "RmtInf/Ustrd", where=""), field="RmtInf/Ustrd")
        if structured is None:
            return None
        return _text(structured, field="RmtInf/Strd/CdtrRefInf/Ref", max_length=MAX_ID_LENGTH)


# --- JSON -------------------------------------------------------------------------------------


def parse_json_lines(obj: object, *, currency: str | None = None) -> tuple[BatchLine, ...]:
    """Parse the JSON array of lines the relying party's API takes, one currency throughout.

    Each line is ``{"payee_name", "payee_iban", "amount": {"value", "currency"},
    "reference"?}`` (see :class:`~sceau_core.operations.BatchLine`); an error names the line,
    counting from 1. ``currency``, when given, is the debited account's.
    """
    if not isinstance(obj, list):
        raise InvalidBatch("lines: must be a JSON array")
    if not obj:
        raise InvalidBatch("lines: a batch needs at least one line")
    if len(obj) > MAX_IMPORT_LINES:
        raise InvalidBatch(
            f"line {MAX_IMPORT_LINES + 1}: more than {MAX_IMPORT_LINES} lines in one batch",
            line=MAX_IMPORT_LINES + 1,
        )
    lines: list[BatchLine] = []
    for number, item in enumerate(obj, start=1):
        with _on_line(number, None):
            line = BatchLine.from_json(item)
            if currency is None:
                currency = line.amount.currency
            if line.amount.currency != currency:
                raise InvalidBatch(
                    f"amount.currency: {line.amount.currency} differs from the batch"
                    f" currency {currency}"
                )
            lines.append(line)
    return tuple(lines)


_JSON_MEMBERS: Final = (
    "debtor_iban",
    "lines",
    "batch_reference",
    "count",
    "total",
    "execution_date",
    "category_purpose",
)


def parse_json_batch(
    obj: object, *, today: datetime.date, currency: str | None = None
) -> ImportedBatch:
    """Parse the JSON form of a batch that the relying party's API takes.

    ``{"debtor_iban": "FR76…", "execution_date": "2026-12-01", "lines": [...],
    "batch_reference"?: "…", "count"?: 3, "total"?: {"value": "1234.56", "currency": "EUR"},
    "category_purpose"?: "SALA"}``: ``count`` and ``total``, when given, are control values like
    a file's ``NbOfTxs`` and ``CtrlSum``, checked against the lines; ``execution_date``, required
    like a file's ``ReqdExctnDt``, is a calendar date from the bank's ``today`` to
    :data:`MAX_DAYS_AHEAD` days after it; it and ``category_purpose`` are signed and shown.
    """
    if not isinstance(obj, dict):
        raise InvalidBatch("batch: must be a JSON object")
    for key, value in obj.items():
        if key not in _JSON_MEMBERS:
            raise InvalidBatch(f"{key}: unknown field")
        if value is None:
            raise InvalidBatch(f"{key}: must not be null (omit it instead)")
    for key in ("debtor_iban", "lines"):
        if key not in obj:
            raise InvalidBatch(f"{key}: missing")
    if "execution_date" not in obj:
        raise InvalidBatch(
            "execution_date: missing (the requested execution date, YYYY-MM-DD, which the"
            " signatories approve)"
        )
    lines = parse_json_lines(obj["lines"], currency=currency)
    batch_currency = lines[0].amount.currency
    try:
        debtor_iban = parse_iban(obj["debtor_iban"], field="debtor_iban")
        reference = obj.get("batch_reference")
        if reference is not None:
            reference = check_text(
                _nfc(reference) if isinstance(reference, str) else reference,
                field="batch_reference",
            )
        execution_date = _execution_date(obj["execution_date"], today=today, field="execution_date")
        category_purpose = obj.get("category_purpose")
        if category_purpose is not None and category_purpose not in CATEGORY_PURPOSES:
            raise InvalidBatch(f"category_purpose: must be one of {', '.join(CATEGORY_PURPOSES)}")
        total = Amount(exact_sum(line.amount.value for line in lines), batch_currency)
        declared_total = (
            None if "total" not in obj else Amount.from_json(obj["total"], field="total")
        )
    except InvalidBatch:
        raise
    except MalformedInput as error:
        raise InvalidBatch(str(error)) from error
    declared_count = _json_count(obj.get("count"))
    _check_count(declared_count, len(lines), field="count")
    if declared_total is not None:
        if declared_total.currency != batch_currency:
            raise InvalidBatch(
                f"total.currency: {declared_total.currency} differs from the batch currency"
                f" {batch_currency}"
            )
        _check_sum(declared_total.value, total.value, field="total")
    return ImportedBatch(
        source="json",
        debtor_iban=debtor_iban,
        lines=lines,
        total=total,
        end_to_end_ids=(None,) * len(lines),
        declared_count=declared_count,
        declared_sum=None if declared_total is None else declared_total.value,
        batch_reference=reference,
        execution_date=execution_date,
        category_purpose=category_purpose,
    )


def _json_count(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidBatch("count: must be a positive integer")
    return value
