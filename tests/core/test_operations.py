# SPDX-License-Identifier: Apache-2.0
"""The operation model: typed data, strict parsing, canonical bytes and digest, batches (D1, D4)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from sceau_core.display import render_lines
from sceau_core.encoding import parse_json_object
from sceau_core.errors import (
    Expired,
    InvalidAmount,
    InvalidEncoding,
    InvalidIban,
    InvalidOperation,
    MalformedInput,
)
from sceau_core.money import Amount, parse_iban
from sceau_core.operations import (
    CATEGORY_PURPOSES,
    AddPayeeData,
    BatchLine,
    BatchTransferData,
    CardPaymentData,
    Channel,
    ESignatureData,
    LoginData,
    NewDeviceData,
    Operation,
    OperationData,
    OperationType,
    RequestContext,
    RightsChangeData,
    TransferData,
    batch_lines_digest,
    check_batch,
    check_text,
    parse_batch_lines,
    parse_data,
)

NOW = 1_767_225_600
IBAN_A = "FR7630006000011234567890189"
IBAN_B = "DE89370400440532013000"
IBAN_C = "GB82WEST12345698765432"
SHA = "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b"
ACS_ID = "8a880dc0-d2d2-4067-bcb1-b08d1690b26e"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


def starts(message: str) -> str:
    return "^" + re.escape(message)


def exactly(message: str) -> str:
    return "^" + re.escape(message) + "$"


INVISIBLE = "contains the control or invisible character U+"
PRECISION = {"EUR": 2, "JPY": 0, "KWD": 3}


def eur(value: object) -> dict[str, object]:
    return {"value": value, "currency": "EUR"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fixed_rng(seed: int = 0) -> Callable[[int], bytes]:
    return lambda n: bytes((seed + i) % 256 for i in range(n))


def b64url_sha256(data: bytes) -> str:
    return b64url(hashlib.sha256(data).digest())


def fr_iban(bban: str) -> str:
    """Build a French IBAN from a 23-digit BBAN with ISO 7064 mod 97-10 (F=15, R=27)."""
    check = 98 - int(bban + "152700") % 97
    return f"FR{check:02d}{bban}"


def transfer_json(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "amount": {"value": "1234.56", "currency": "EUR"},
        "payee_name": "Jean Dupont",
        "payee_iban": IBAN_A,
    }
    obj.update(changes)
    return obj


def make_operation(
    data: OperationData | None = None,
    *,
    context: RequestContext | None = None,
    locale: str = "fr",
) -> Operation:
    data = data or TransferData.from_json(transfer_json())
    return Operation.create(
        id="op_1",
        type=data.TYPE,
        data=data,
        context=context or RequestContext(),
        locale=locale,  # type: ignore[arg-type]
        now=NOW,
        ttl=300,
        rng=fixed_rng(),
    )


def lines_of(count: int, currency: str = "EUR") -> list[BatchLine]:
    return [
        BatchLine(
            payee_name=f"Fournisseur n°{number}",
            payee_iban=fr_iban(f"{number:023d}"),
            amount=Amount(Decimal(number).scaleb(-2), currency),
            reference=f"Facture {number}" if number % 2 else None,
        )
        for number in range(1, count + 1)
    ]


# --- free text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Jean Dupont",
        "Zoë d’Aubigné",
        "SARL L’Écluse & Fils",
        "北京",
        "Café 🍰",
        "1\u202f234,56\u00a0€",
    ],
)
def test_printable_text_is_accepted(text: str) -> None:
    assert check_text(text, field="payee_name") == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must not be empty or start or end with white space"),
        (" Jean", "must not be empty or start or end with white space"),
        ("Jean\u00a0", "must not be empty or start or end with white space"),
        ("x" * 141, "longer than 140 characters"),
        ("Jean\nDupont", "contains the control or invisible character U+000A"),
        ("Jean\u0007", "contains the control or invisible character U+0007"),
        ("Jean\u202eDupont", "contains the control or invisible character U+202E"),
        ("Jean\u200bDupont", "contains the control or invisible character U+200B"),
        ("Jean\u2028Dupont", "contains the control or invisible character U+2028"),
        ("Jean\ue000", "contains the control or invisible character U+E000"),
        ("Jean\u0378", "contains the control or invisible character U+0378"),
        ("Jean\ud800", "contains the control or invisible character U+D800"),
        ("Ze\u0301phyr", "must be in Unicode normalization form C"),
        (42, "must be a string, not a number"),
    ],
)
def test_bad_text_is_refused_naming_the_field(text: object, message: str) -> None:
    with pytest.raises(InvalidOperation, match=exactly(f"payee_name: {message}")):
        check_text(text, field="payee_name")


# --- typed data ---------------------------------------------------------------------------------

DATA_EXAMPLES: list[tuple[type[Any], dict[str, Any]]] = [
    (LoginData, {}),
    (
        CardPaymentData,
        {
            "acs_transaction_id": ACS_ID,
            "merchant_name": "Librairie Dupont",
            "merchant_url": "https://shop.example.fr/checkout?id=1",
            "amount": {"value": "49.90", "currency": "EUR"},
            "card_last4": "4242",
        },
    ),
    (
        TransferData,
        transfer_json(reference="Loyer janvier", debtor_iban=IBAN_B),
    ),
    (AddPayeeData, {"payee_name": "Jean Dupont", "payee_iban": IBAN_A}),
    (
        ESignatureData,
        {"document_title": "Offre de prêt", "document_sha256": SHA, "document_pages": 12},
    ),
    (
        BatchTransferData,
        {
            "debtor_iban": IBAN_A,
            "count": 50,
            "total": {"value": "12345.67", "currency": "EUR"},
            "lines_digest": b64url_sha256(b"lines"),
            "batch_reference": "Salaires janvier",
            "execution_date": "2026-01-30",
            "category_purpose": "SALA",
        },
    ),
]


OPTIONAL: dict[type[Any], tuple[str, ...]] = {
    CardPaymentData: ("merchant_url",),
    TransferData: ("reference", "debtor_iban"),
    ESignatureData: ("document_pages",),
    BatchTransferData: ("batch_reference", "execution_date", "category_purpose"),
}


@pytest.mark.parametrize(("cls", "obj"), DATA_EXAMPLES, ids=lambda x: getattr(x, "__name__", ""))
def test_each_type_of_data_round_trips_through_json(cls: type[Any], obj: dict[str, Any]) -> None:
    data = cls.from_json(obj)
    assert data.to_json() == obj
    assert cls.from_json(json.loads(json.dumps(data.to_json()))) == data
    assert parse_data(data.TYPE.value, obj) == data
    assert parse_data(data.TYPE, obj) == data


@pytest.mark.parametrize(
    ("cls", "obj"), DATA_EXAMPLES[1:], ids=lambda x: getattr(x, "__name__", "")
)
def test_each_type_of_data_refuses_unknown_missing_null_and_mistyped_fields(
    cls: type[Any], obj: dict[str, Any]
) -> None:
    with pytest.raises(InvalidOperation, match=exactly("data.memo: unknown field")):
        cls.from_json({**obj, "memo": "x"})
    for key in obj:
        if key in OPTIONAL.get(cls, ()):
            without = {k: v for k, v in obj.items() if k != key}
            assert cls.from_json(without).to_json() == without
            continue
        with pytest.raises(InvalidOperation, match=rf"^data\.{key}: missing$"):
            cls.from_json({k: v for k, v in obj.items() if k != key})
        with pytest.raises(InvalidOperation, match=rf"^data\.{key}: must not be null"):
            cls.from_json({**obj, key: None})
        with pytest.raises(MalformedInput, match=rf"^data\.{key}: must be "):
            cls.from_json({**obj, key: ["wrong", "type"]})
    with pytest.raises(
        InvalidOperation, match=exactly("data: must be a JSON object, not an array")
    ):
        cls.from_json([obj])


def test_login_data_carries_nothing_not_even_the_match_number() -> None:
    assert LoginData.from_json({}).to_json() == {}
    with pytest.raises(InvalidOperation, match=exactly("data.match: unknown field")):
        LoginData.from_json({"match": "37"})


def test_transfer_data_normalizes_what_a_relying_party_sends() -> None:
    data = TransferData.from_json(
        transfer_json(
            payee_name="Ze\u0301phyrin Dupont",
            payee_iban="fr76 3000 6000 0112 3456 7890 189",
            debtor_iban="de89 3704 0044 0532 0130 00",
        )
    )
    assert data.payee_name == "Zéphyrin Dupont"
    assert unicodedata.is_normalized("NFC", data.payee_name)
    assert data.payee_iban == IBAN_A
    assert data.debtor_iban == IBAN_B


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"amount": eur("0.00")}, InvalidAmount, "data.amount.value: must be greater than zero"),
        ({"amount": eur(12.3)}, InvalidAmount, "data.amount.value: must be a decimal string"),
        ({"amount": eur("12.3")}, InvalidAmount, "data.amount.value: EUR amounts have exactly 2"),
        ({"payee_iban": IBAN_A[:-1] + "8"}, InvalidIban, "data.payee_iban: check digits do not"),
        ({"payee_iban": IBAN_A[:-1]}, InvalidIban, "data.payee_iban: wrong length"),
        ({"payee_name": "Jean\u202eDupont"}, InvalidOperation, f"data.payee_name: {INVISIBLE}202E"),
        ({"payee_name": "Jean\tDupont"}, InvalidOperation, f"data.payee_name: {INVISIBLE}0009"),
        ({"payee_name": "x" * 141}, InvalidOperation, "data.payee_name: longer than 140"),
        ({"reference": "x" * 141}, InvalidOperation, "data.reference: longer than 140 characters"),
        ({"reference": ""}, InvalidOperation, "data.reference: must not be empty"),
        ({"debtor_iban": "XX00"}, InvalidIban, "data.debtor_iban: must be 5 to 34 letters"),
    ],
)  # fmt: skip
def test_transfer_errors_name_the_field(
    changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=starts(message)):
        TransferData.from_json(transfer_json(**changes))


def test_data_constructors_refuse_non_canonical_values() -> None:
    amount = Amount.parse("1.00", "EUR")
    with pytest.raises(InvalidOperation, match=starts("payee_iban: must be in electronic format")):
        TransferData(amount=amount, payee_name="A", payee_iban="fr76 3000 6000 0112 3456 7890 189")
    with pytest.raises(
        InvalidOperation, match=starts("payee_name: must be in Unicode normalization")
    ):
        AddPayeeData(payee_name="Ze\u0301phyr", payee_iban=IBAN_A)
    with pytest.raises(InvalidAmount, match=exactly("amount: must be an Amount, not str")):
        TransferData(amount="1.00", payee_name="A", payee_iban=IBAN_A)  # type: ignore[arg-type]
    zero = Amount.parse("0.00", "EUR")
    with pytest.raises(InvalidAmount, match=exactly("amount: must be greater than zero")):
        TransferData(amount=zero, payee_name="A", payee_iban=IBAN_A)
    with pytest.raises(InvalidAmount, match=exactly("amount: must be greater than zero")):
        BatchLine(payee_name="A", payee_iban=IBAN_A, amount=zero)
    with pytest.raises(InvalidAmount, match=exactly("total: must be greater than zero")):
        BatchTransferData(debtor_iban=IBAN_A, count=1, total=zero, lines_digest="A" * 43)


def test_card_payment_rules() -> None:
    base = dict(DATA_EXAMPLES[1][1])
    upper = CardPaymentData.from_json({**base, "acs_transaction_id": ACS_ID.upper()})
    assert upper.acs_transaction_id == ACS_ID
    assert upper.merchant_host == "shop.example.fr"
    assert (
        CardPaymentData.from_json(
            {**base, "merchant_url": "http://EXAMPLE.com:8080/"}
        ).merchant_host
        == "example.com"
    )
    for transaction in ["8a880dc0d2d24067bcb1b08d1690b26e", "{" + ACS_ID + "}", ACS_ID[:-1], ""]:
        with pytest.raises(
            InvalidOperation,
            match=exactly("data.acs_transaction_id: must be a lower-case canonical UUID"),
        ):
            CardPaymentData.from_json({**base, "acs_transaction_id": transaction})
    for last4 in ["4242424242424242", "424", 4242]:
        with pytest.raises(
            InvalidOperation, match=starts("data.card_last4: must be exactly the last 4 digits")
        ):
            CardPaymentData.from_json({**base, "card_last4": last4})
    bad_urls = {
        "javascript:alert(1)": "must be an absolute http or https URL",
        "ftp://example.com/": "must be an absolute http or https URL",
        "/checkout": "must be an absolute http or https URL",
        "https://bank.example@evil.example/": "must not contain a user name or password",
        "https://exa mple.com/": "must be an ASCII URL",
        "https://exämple.com/": "must be an ASCII URL",
        "https://example.com:99999/": "is not a valid URL",
        "https://[::1/": "is not a valid URL",
        "https://" + "a" * 181 + "/": "host longer than 180 characters",
        "https://example.com/" + "a" * 2048: "must be an ASCII URL of at most 2048 characters",
    }
    for url, message in bad_urls.items():
        with pytest.raises(InvalidOperation, match=starts(f"data.merchant_url: {message}")):
            CardPaymentData.from_json({**base, "merchant_url": url})
    with pytest.raises(
        InvalidAmount, match=exactly("data.amount.value: must be greater than zero")
    ):
        CardPaymentData.from_json({**base, "amount": {"value": "0.00", "currency": "EUR"}})
    assert (
        CardPaymentData.from_json(
            {k: v for k, v in base.items() if k != "merchant_url"}
        ).merchant_host
        is None
    )


def test_e_signature_rules() -> None:
    base = dict(DATA_EXAMPLES[4][1])
    with pytest.raises(
        InvalidOperation, match=starts("data.document_sha256: must be 64 lower-case hex")
    ):
        ESignatureData.from_json({**base, "document_sha256": SHA.upper()})
    with pytest.raises(
        InvalidOperation, match=starts("data.document_sha256: must be 64 lower-case hex")
    ):
        ESignatureData.from_json({**base, "document_sha256": SHA[:-1]})
    for pages, message in [
        (0, "must be between 1 and 100000"),
        (100_001, "must be between"),
        (True, "must be an integer, not a boolean"),
        ("3", "must be an integer, not a string"),
        (3.0, "must be an integer, not a number"),
    ]:
        with pytest.raises(InvalidOperation, match=starts(f"data.document_pages: {message}")):
            ESignatureData.from_json({**base, "document_pages": pages})


def test_batch_data_rules() -> None:
    base = dict(DATA_EXAMPLES[5][1])
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"count": 0}, InvalidOperation, "data.count: must be between 1 and 100000"),
        ({"count": "50"}, InvalidOperation, "data.count: must be an integer, not a string"),
        (
            {"total": {"value": "0.00", "currency": "EUR"}},
            InvalidAmount,
            "data.total.value: must be greater than zero",
        ),
        (
            {"lines_digest": b64url_sha256(b"x")[:-1]},
            InvalidEncoding,
            "data.lines_digest is not canonical base64url",
        ),
        (
            {"lines_digest": 12},
            InvalidOperation,
            "data.lines_digest: must be a string, not a number",
        ),
        ({"debtor_iban": IBAN_A[:-1] + "8"}, InvalidIban, "data.debtor_iban: check digits"),
        (
            {"execution_date": "2026-02-29"},
            InvalidOperation,
            "data.execution_date: 2026-02-29 is not a calendar date",
        ),
        (
            {"execution_date": "20260130"},
            InvalidOperation,
            "data.execution_date: '20260130' is not a date (YYYY-MM-DD)",
        ),
        (
            {"execution_date": 20260130},
            InvalidOperation,
            "data.execution_date: must be a string, not a number",
        ),
        (
            {"category_purpose": "sala"},
            InvalidOperation,
            "data.category_purpose: must be one of SALA, SUPP, PENS, TAXS, INTC",
        ),
    ]
    for changes, error, message in cases:
        with pytest.raises(error, match=starts(message)):
            BatchTransferData.from_json({**base, **changes})


def test_request_context_rules() -> None:
    context = RequestContext.from_json(
        {"ip": "2001:0DB8:0000::0001", "user_agent": FIREFOX, "channel": "web", "location": "Lyon"}
    )
    assert context == RequestContext(
        ip="2001:db8::1", user_agent=FIREFOX, channel=Channel.WEB, location="Lyon"
    )
    assert context.to_json()["channel"] == "web"
    assert type(context.to_json()["channel"]) is str
    assert RequestContext.from_json({}) == RequestContext()
    assert RequestContext().to_json() == {}
    for ip in ["fe80::1%eth0", "203.0.113.7/32", "203.0.113.007", "localhost", ""]:
        with pytest.raises(InvalidOperation, match=starts("context.ip: must be an IP address")):
            RequestContext.from_json({"ip": ip})
    with pytest.raises(
        InvalidOperation, match=exactly("context.channel: must be one of web, mobile, phone, api")
    ):
        RequestContext.from_json({"channel": "sms"})
    with pytest.raises(InvalidOperation, match=starts("context.user_agent: longer than 512")):
        RequestContext.from_json({"user_agent": "a" * 513})
    with pytest.raises(InvalidOperation, match=starts("context.location: contains the control")):
        RequestContext.from_json({"location": "Lyon\u0000"})
    with pytest.raises(InvalidOperation, match=exactly("context.country: unknown field")):
        RequestContext.from_json({"country": "FR"})


# --- operations ---------------------------------------------------------------------------------


def test_create_draws_the_challenge_from_rng_and_renders_the_display() -> None:
    data = TransferData.from_json(transfer_json())
    context = RequestContext(channel=Channel.WEB)
    requested: list[int] = []

    def rng(n: int) -> bytes:
        requested.append(n)
        return bytes(range(n))

    op = Operation.create(
        id="op_1", type=OperationType.TRANSFER, data=data, context=context,
        locale="fr", now=NOW, ttl=120, rng=rng,
    )  # fmt: skip
    assert requested == [32]
    assert base64.urlsafe_b64decode(op.challenge + "=") == bytes(range(32))
    assert (op.created_at, op.expires_at, op.v, op.locale) == (NOW, NOW + 120, 1, "fr")
    assert op.display == render_lines(OperationType.TRANSFER, data, context, "fr")
    assert op.display[0] == "Virement"
    default = Operation.create(
        id="op_2", type=OperationType.TRANSFER, data=data, context=context,
        locale="en", now=NOW, rng=rng,
    )  # fmt: skip
    assert default.expires_at == NOW + 300


def test_create_refuses_a_short_rng_and_a_bad_ttl() -> None:
    data = TransferData.from_json(transfer_json())
    common: dict[str, Any] = {
        "id": "op_1", "type": OperationType.TRANSFER, "data": data,
        "context": RequestContext(), "locale": "fr", "now": NOW,
    }  # fmt: skip
    with pytest.raises(InvalidOperation, match=re.escape("rng must return 32 bytes")):
        Operation.create(**common, rng=lambda _n: bytes(16))
    for ttl in (0, -5, True):
        with pytest.raises(InvalidOperation, match=starts("ttl: ")):
            Operation.create(**common, ttl=ttl, rng=fixed_rng())


def test_operation_canonical_bytes_and_digest_vector() -> None:
    """A fixed vector for other implementations: the canonical bytes and digest of one transfer."""
    data = TransferData.from_json(transfer_json())
    op = Operation.create(
        id="op_vector_1", type=OperationType.TRANSFER, data=data,
        context=RequestContext(channel=Channel.WEB, ip="203.0.113.7"),
        locale="fr", now=NOW, ttl=300, rng=lambda n: bytes(range(n)),
    )  # fmt: skip
    expected = (
        '{"challenge":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",'
        '"context":{"channel":"web","ip":"203.0.113.7"},"created_at":1767225600,'
        '"data":{"amount":{"currency":"EUR","value":"1234.56"},'
        '"payee_iban":"FR7630006000011234567890189","payee_name":"Jean Dupont"},'
        '"display":["Virement","Montant\u00a0: 1\u202f234,56\u00a0€",'
        '"Bénéficiaire\u00a0: Jean Dupont",'
        '"IBAN\u00a0: FR76 •••• •••• 0189","Adresse IP\u00a0: 203.0.113.7",'
        '"Canal\u00a0: Site internet"],'
        '"expires_at":1767225900,"id":"op_vector_1","locale":"fr","type":"transfer","v":1}'
    ).encode()
    assert op.canonical() == expected
    assert op.canonical() == rfc8785.dumps(op.to_json())
    assert op.digest == b64url_sha256(expected)
    assert op.digest == "gtkirO6J2StmlgfBwmNd4aXhv4tqtILdxpU9T1gwUVo"


def test_operation_round_trips_and_refuses_non_canonical_input() -> None:
    op = make_operation(
        TransferData.from_json(transfer_json(reference="Loyer", debtor_iban=IBAN_B)),
        context=RequestContext(ip="2001:db8::1", user_agent=FIREFOX, channel=Channel.MOBILE),
    )
    obj = op.to_json()
    assert Operation.from_json(obj) == op
    assert Operation.from_json(parse_json_object(op.canonical())) == op
    non_canonical = {
        ("data", "payee_iban"): "fr76 3000 6000 0112 3456 7890 189",
        ("data", "debtor_iban"): "DE89 3704 0044 0532 0130 00",
        ("data", "payee_name"): "Jean Dupont".replace("e", "e\u0301", 1),
        ("context", "ip"): "2001:0db8::1",
    }
    for (outer, inner), value in non_canonical.items():
        changed = json.loads(json.dumps(obj))
        changed[outer][inner] = value
        with pytest.raises(
            InvalidOperation, match=exactly(f"{outer}.{inner}: not in canonical form")
        ):
            Operation.from_json(changed)


NEXT_LINE_NAME = transfer_json(payee_name="A\u0085B")


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"extra": 1}, InvalidOperation, "extra: unknown field"),
        ({"challenge": None}, InvalidOperation, "challenge: must not be null"),
        ({"v": 2}, InvalidOperation, "v: must be 1"),
        ({"v": True}, InvalidOperation, "v: must be 1"),
        ({"id": ""}, InvalidOperation, "id: must be 1 to 64 characters"),
        ({"id": "op 1"}, InvalidOperation, "id: must be 1 to 64 characters"),
        ({"id": "op/1"}, InvalidOperation, "id: must be 1 to 64 characters"),
        ({"id": "é"}, InvalidOperation, "id: must be 1 to 64 characters"),
        ({"id": "a" * 65}, InvalidOperation, "id: must be 1 to 64 characters"),
        ({"type": "refund"}, InvalidOperation, "type: must be one of login, card_payment"),
        ({"type": "login"}, InvalidOperation, "data.amount: unknown field"),
        ({"data": []}, InvalidOperation, "data: must be a JSON object, not an array"),
        ({"data": transfer_json(memo="x")}, InvalidOperation, "data.memo: unknown field"),
        ({"data": NEXT_LINE_NAME}, InvalidOperation, f"data.payee_name: {INVISIBLE}0085"),
        ({"display": "Virement"}, InvalidOperation, "display: must be a JSON array, not a string"),
        ({"display": []}, InvalidOperation, "display: must have 1 to 40 lines"),
        ({"display": ["x"] * 41}, InvalidOperation, "display: must have 1 to 40 lines"),
        ({"display": ["Virement", 7]}, InvalidOperation, "display line 2: must be a string, not a"),
        ({"display": ["x" * 201]}, InvalidOperation, "display line 1: longer than 200 characters"),
        ({"display": ["Virement", "Montant : 1 €\n"]}, InvalidOperation, "display line 2: must"),
        ({"display": ["Vire\u200bment"]}, InvalidOperation, "display line 1: contains the control"),
        ({"context": {"ip": "x"}}, InvalidOperation, "context.ip: must be an IP address"),
        ({"challenge": "AAEC"}, InvalidOperation, "challenge: must encode 16 to 64 bytes, not 3"),
        ({"challenge": "AAE="}, InvalidEncoding, "challenge is not unpadded base64url"),
        ({"challenge": 7}, InvalidOperation, "challenge: must be a string, not a number"),
        ({"created_at": str(NOW)}, InvalidOperation, "created_at: must be an integer, not a str"),
        ({"created_at": float(NOW)}, InvalidOperation, "created_at: must be an integer, not a num"),
        ({"expires_at": True}, InvalidOperation, "expires_at: must be an integer, not a boolean"),
        ({"expires_at": NOW}, InvalidOperation, "expires_at: must be later than created_at"),
        ({"expires_at": 2**53}, InvalidOperation, "expires_at: must be between 0 and"),
        ({"created_at": -1}, InvalidOperation, "created_at: must be between 0 and"),
        ({"locale": "de"}, InvalidOperation, "locale: must be one of fr, en"),
    ],
)  # fmt: skip
def test_operation_from_json_is_strict(
    changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    obj = {**make_operation().to_json(), **changes}
    with pytest.raises(error, match=starts(message)):
        Operation.from_json(obj)


def test_operation_from_json_refuses_missing_members_and_non_objects() -> None:
    obj = make_operation().to_json()
    for key in obj:
        with pytest.raises(InvalidOperation, match=exactly(f"{key}: missing")):
            Operation.from_json({k: v for k, v in obj.items() if k != key})
    with pytest.raises(InvalidOperation, match=exactly("must be a JSON object, not an array")):
        Operation.from_json([obj])


def test_operation_constructor_checks_data_against_type() -> None:
    op = make_operation()
    with pytest.raises(
        InvalidOperation, match=exactly("data: a login operation needs LoginData, not TransferData")
    ):
        dataclasses.replace(op, type=OperationType.LOGIN)
    with pytest.raises(InvalidOperation, match=exactly("display: must be a tuple of lines")):
        dataclasses.replace(op, display=list(op.display))  # type: ignore[arg-type]
    with pytest.raises(InvalidOperation, match=exactly("type: must be an OperationType")):
        dataclasses.replace(op, type="transfer")  # type: ignore[arg-type]


def test_expiry_is_checked_against_the_given_time() -> None:
    op = make_operation()
    op.check_not_expired(now=op.created_at)
    op.check_not_expired(now=op.expires_at - 1)
    for now in (op.expires_at, op.expires_at + 1, op.expires_at + 86_400):
        with pytest.raises(Expired, match=re.escape("operation op_1 expired at 1767225900")):
            op.check_not_expired(now=now)


# --- property tests -----------------------------------------------------------------------------


def is_acceptable_text(text: str) -> bool:
    try:
        check_text(text, field="name")
    except InvalidOperation:
        return False
    return True


names = (
    st.text(
        st.one_of(
            st.characters(categories=("L", "N", "P", "S")),
            st.sampled_from(" \u00a0\u202f'’\"\\"),
        ),
        min_size=1,
        max_size=60,
    )
    .map(lambda text: unicodedata.normalize("NFC", text).strip())
    .filter(lambda text: text != "" and unicodedata.is_normalized("NFC", text))
    .filter(is_acceptable_text)
)
ibans = st.text("0123456789", min_size=23, max_size=23).map(fr_iban)
amounts = st.builds(
    lambda currency, units: Amount(Decimal(units).scaleb(-PRECISION[currency]), currency),
    st.sampled_from(["EUR", "JPY", "KWD"]),
    st.integers(min_value=1, max_value=10**13),
)  # fmt: skip
optional_names = st.none() | names
user_agents = st.sampled_from(
    [FIREFOX, "curl/8.5.0", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) "
     "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"]
)  # fmt: skip
contexts = st.builds(
    RequestContext,
    ip=st.none() | st.ip_addresses().map(str),
    user_agent=st.none() | user_agents,
    channel=st.none() | st.sampled_from(Channel),
    location=optional_names,
)
hexes = st.text("0123456789abcdef", min_size=64, max_size=64)
data_strategies: dict[OperationType, st.SearchStrategy[Any]] = {
    OperationType.LOGIN: st.just(LoginData()),
    OperationType.CARD_PAYMENT: st.builds(
        CardPaymentData,
        acs_transaction_id=st.uuids().map(str),
        merchant_name=names,
        amount=amounts,
        card_last4=st.text("0123456789", min_size=4, max_size=4),
        merchant_url=st.none() | st.sampled_from(["https://shop.example/", "http://a.example:8080/x?y=z"]),
    ),
    OperationType.TRANSFER: st.builds(
        TransferData, amount=amounts, payee_name=names, payee_iban=ibans,
        reference=optional_names, debtor_iban=st.none() | ibans,
    ),
    OperationType.ADD_PAYEE: st.builds(AddPayeeData, payee_name=names, payee_iban=ibans),
    OperationType.E_SIGNATURE: st.builds(
        ESignatureData, document_title=names, document_sha256=hexes,
        document_pages=st.none() | st.integers(1, 100_000),
    ),
    OperationType.BATCH_TRANSFER: st.builds(
        BatchTransferData, debtor_iban=ibans, count=st.integers(1, 100_000), total=amounts,
        lines_digest=st.binary(min_size=32, max_size=32).map(b64url),
        batch_reference=optional_names,
        execution_date=st.none() | st.dates().map(lambda day: day.isoformat()),
        category_purpose=st.none() | st.sampled_from(CATEGORY_PURPOSES),
    ),
    OperationType.NEW_DEVICE: st.builds(
        NewDeviceData, activation_id=st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
        device_name=names, replaces=optional_names,
    ),
    OperationType.RIGHTS_CHANGE: st.builds(
        RightsChangeData, account_iban=ibans, account_name=names,
        member=st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True), member_name=names,
        rights_before=st.just(("view", "validate")),
        rights_after=st.sampled_from([(), ("view",), ("view", "prepare")]),
    ),
}  # fmt: skip


@st.composite
def operations(draw: st.DrawFn) -> Operation:
    operation_type = draw(st.sampled_from(OperationType))
    challenge = draw(st.binary(min_size=32, max_size=32))
    return Operation.create(
        id=draw(st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)),
        type=operation_type,
        data=draw(data_strategies[operation_type]),
        context=draw(contexts),
        locale=draw(st.sampled_from(["fr", "en"])),
        now=draw(st.integers(1, 2**40)),
        ttl=draw(st.integers(1, 86_400)),
        rng=lambda n: challenge[:n],
    )


@settings(max_examples=80, deadline=None)
@given(operations())
def test_random_operations_round_trip_through_json_and_canonical_bytes(op: Operation) -> None:
    assert Operation.from_json(op.to_json()) == op
    text = json.dumps(op.to_json(), ensure_ascii=False)
    assert Operation.from_json(parse_json_object(text)) == op
    again = Operation.from_json(parse_json_object(op.canonical()))
    assert again == op
    assert again.canonical() == op.canonical() == rfc8785.dumps(op.to_json())
    assert again.digest == op.digest == b64url_sha256(op.canonical())


def _plus_one_minor_unit(amount: Amount) -> Amount:
    _, _, exponent = amount.value.as_tuple()
    return Amount(amount.value + Decimal(1).scaleb(int(exponent)), amount.currency)


def _other_iban(iban: str) -> str:
    bban = iban[4:]
    other = fr_iban(bban[:-1] + str((int(bban[-1]) + 1) % 10))
    assert other != iban
    assert parse_iban(other) == other
    return other


def _mutations(op: Operation) -> list[tuple[str, Operation]]:
    data = op.data
    changed: list[tuple[str, Operation]] = [
        ("expires_at", dataclasses.replace(op, expires_at=op.expires_at + 1)),
        ("created_at", dataclasses.replace(op, created_at=op.created_at - 1)),
        ("id", dataclasses.replace(op, id=op.id + "x" if len(op.id) < 64 else "y")),
        ("locale", dataclasses.replace(op, locale="en" if op.locale == "fr" else "fr")),
    ]
    raw = base64.urlsafe_b64decode(op.challenge + "=")
    flipped = bytes([raw[0] ^ 1]) + raw[1:]
    challenge = base64.urlsafe_b64encode(flipped).rstrip(b"=").decode()
    changed.append(("challenge", dataclasses.replace(op, challenge=challenge)))
    line = op.display[-1]
    letter = "x" if line[-1] != "x" else "y"
    display = (*op.display[:-1], line[:-1] + letter)
    changed.append(("display", dataclasses.replace(op, display=display)))
    if isinstance(data, TransferData | CardPaymentData):
        more = dataclasses.replace(data, amount=_plus_one_minor_unit(data.amount))
        changed.append(("amount", dataclasses.replace(op, data=more)))
    if isinstance(data, TransferData | AddPayeeData):
        other = dataclasses.replace(data, payee_iban=_other_iban(data.payee_iban))
        changed.append(("payee_iban", dataclasses.replace(op, data=other)))
    if isinstance(data, NewDeviceData):
        other_id = data.activation_id[:-1] + ("x" if data.activation_id[-1] != "x" else "y")
        moved = dataclasses.replace(data, activation_id=other_id)
        changed.append(("activation_id", dataclasses.replace(op, data=moved)))
    if isinstance(data, RightsChangeData):
        fewer = dataclasses.replace(data, rights_after=("prepare",))
        changed.append(("rights_after", dataclasses.replace(op, data=fewer)))
    if isinstance(data, BatchTransferData):
        more_total = dataclasses.replace(data, total=_plus_one_minor_unit(data.total))
        changed.append(("total", dataclasses.replace(op, data=more_total)))
        count = data.count + 1 if data.count < 100_000 else 1
        changed.append(
            ("count", dataclasses.replace(op, data=dataclasses.replace(data, count=count)))
        )
    return changed


@settings(max_examples=50, deadline=None)
@given(operations())
def test_changing_any_single_field_changes_the_digest(op: Operation) -> None:
    mutations = _mutations(op)
    assert len(mutations) >= 6
    digests = {op.digest}
    for _name, changed in mutations:
        assert Operation.from_json(changed.to_json()) == changed
        digests.add(changed.digest)
    assert len(digests) == len(mutations) + 1


# --- batches ------------------------------------------------------------------------------------


def test_batch_digest_is_sha256_of_the_canonical_array_of_lines() -> None:
    line = BatchLine(payee_name="A", payee_iban=IBAN_A, amount=Amount.parse("12.30", "EUR"))
    written = (
        b'[{"amount":{"currency":"EUR","value":"12.30"},'
        b'"payee_iban":"FR7630006000011234567890189","payee_name":"A"}]'
    )
    assert batch_lines_digest([line]) == b64url_sha256(written)
    with_reference = dataclasses.replace(line, reference="Facture 1")
    assert batch_lines_digest([with_reference]) == b64url_sha256(
        written[:-2] + b',"reference":"Facture 1"}]'
    )


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.builds(
            BatchLine, payee_name=names, payee_iban=ibans, amount=amounts, reference=optional_names
        ),
        min_size=1, max_size=8,
    )
)  # fmt: skip
def test_batch_digest_equals_the_general_rfc8785_encoder(lines: list[BatchLine]) -> None:
    expected = b64url_sha256(rfc8785.dumps([line.to_json() for line in lines]))
    assert batch_lines_digest(lines) == expected


def test_batch_lines_parse_strictly_and_name_the_bad_line() -> None:
    good = [line.to_json() for line in lines_of(5)]
    assert parse_batch_lines(good) == tuple(lines_of(5))
    cases: list[tuple[int, dict[str, Any], type[Exception], str]] = [
        (3, {"payee_iban": IBAN_A[:-1] + "0"}, InvalidIban, "line 3: payee_iban: check digits do"),
        (2, {"memo": "x"}, InvalidOperation, "line 2: memo: unknown field"),
        (5, {"amount": eur("1.0")}, InvalidAmount, "line 5: amount.value: EUR amounts have"),
        (1, {"amount": eur("0.00")}, InvalidAmount, "line 1: amount.value: must be greater"),
        (4, {"payee_name": "A\u202eB"}, InvalidOperation, f"line 4: payee_name: {INVISIBLE}202E"),
        (4, {"reference": None}, InvalidOperation, "line 4: reference: must not be null"),
    ]  # fmt: skip
    for number, changes, error, message in cases:
        lines = [dict(line) for line in good]
        lines[number - 1].update(changes)
        with pytest.raises(error, match=starts(message)):
            parse_batch_lines(lines)
    with pytest.raises(
        InvalidOperation, match=exactly("line 2: must be a JSON object, not a string")
    ):
        parse_batch_lines([good[0], "x"])
    with pytest.raises(InvalidOperation, match=exactly("lines: a batch needs at least one line")):
        parse_batch_lines([])
    with pytest.raises(
        InvalidOperation, match=exactly("lines: must be a JSON array, not an object")
    ):
        parse_batch_lines({"lines": good})


def test_check_batch_refuses_any_change_to_the_lines() -> None:
    lines = lines_of(50)
    data = BatchTransferData.for_lines(debtor_iban=IBAN_B, lines=lines, batch_reference="Paie")
    assert data.count == 50
    assert data.total == Amount.parse("12.75", "EUR")
    assert data.lines_digest == batch_lines_digest(lines)
    check_batch(lines, data)

    def changed(number: int, **changes: Any) -> list[BatchLine]:
        copy = list(lines)
        copy[number - 1] = dataclasses.replace(copy[number - 1], **changes)
        return copy

    one_cent_more = _plus_one_minor_unit(lines[16].amount)
    with pytest.raises(
        InvalidOperation,
        match=exactly("total: the batch declares 12.75, but its lines add up to 12.76"),
    ):
        check_batch(changed(17, amount=one_cent_more), data)
    with pytest.raises(
        InvalidOperation,
        match=exactly("line 9: amount.currency: USD differs from the batch currency EUR"),
    ):
        check_batch(changed(9, amount=Amount.parse("0.09", "USD")), data)
    with pytest.raises(InvalidOperation, match=exactly("lines_digest: does not match the lines")):
        check_batch(changed(23, payee_iban=_other_iban(lines[22].payee_iban)), data)
    with pytest.raises(InvalidOperation, match=exactly("lines_digest: does not match the lines")):
        check_batch(changed(50, payee_name="Fournisseur n°5O"), data)
    with pytest.raises(InvalidOperation, match=exactly("lines_digest: does not match the lines")):
        check_batch(changed(2, reference="Facture 2"), data)
    swapped = list(lines)
    swapped[3], swapped[4] = swapped[4], swapped[3]
    with pytest.raises(InvalidOperation, match=exactly("lines_digest: does not match the lines")):
        check_batch(swapped, data)
    with pytest.raises(
        InvalidOperation, match=exactly("count: the batch declares 50 lines, not 49")
    ):
        check_batch(lines[:-1], data)
    with pytest.raises(
        InvalidOperation, match=exactly("count: the batch declares 50 lines, not 51")
    ):
        check_batch([*lines, lines[0]], data)


def test_batch_summary_refuses_mixed_currencies_and_empty_batches() -> None:
    mixed = [*lines_of(3), *lines_of(1, "USD")]
    with pytest.raises(
        InvalidOperation,
        match=exactly("line 4: amount.currency: USD differs from the batch currency EUR"),
    ):
        BatchTransferData.for_lines(debtor_iban=IBAN_B, lines=mixed)
    with pytest.raises(InvalidOperation, match=exactly("lines: a batch needs at least one line")):
        BatchTransferData.for_lines(debtor_iban=IBAN_B, lines=[])


def test_ten_thousand_lines_round_trip_through_json() -> None:
    lines = lines_of(10_000)
    data = BatchTransferData.for_lines(debtor_iban=IBAN_B, lines=lines)
    wire_lines = json.dumps([line.to_json() for line in lines], ensure_ascii=False)
    wire_data = json.dumps(data.to_json())
    parsed_lines = parse_batch_lines(json.loads(wire_lines))
    parsed_data = BatchTransferData.from_json(json.loads(wire_data))
    check_batch(parsed_lines, parsed_data)
    assert parsed_lines == tuple(lines)
    assert parsed_data == data
    assert batch_lines_digest(parsed_lines) == data.lines_digest
    assert data.total == Amount.parse("500050.00", "EUR")
    changed = list(parsed_lines)
    changed[9_999] = dataclasses.replace(changed[9_999], payee_name="Fournisseur n°10001")
    with pytest.raises(InvalidOperation, match=exactly("lines_digest: does not match the lines")):
        check_batch(changed, parsed_data)


# check_text accepts plain text (Latin letters, digits, punctuation, symbols, single spaces)
# without scanning it character by character; it must decide as the scans do, with their error.
PLAIN_CHARACTERS = ["a", "Z", "0", "é", "É", "ß", "ÿ", "Ł", "ɏ", "€", "•", "…", "‐", "’", "!", "~"]
PLAIN_CHARACTERS += ["_", "@", "\u20c0", " ", "\u00a0", "\u202f"]
EDGE_CHARACTERS = [
    *[" ", "\u00a0", "\u202f", "\u2009", "\u3000", "\u200b", "\u200d", "\u2028", "\u00ad"],
    *["\u0301", "\u0300", "\u20dd", "\u034f", "\u2800", "\ufe0f", "\x00", "\x7f", "\x85"],
    *["\u0250", "\u02b0", "\u2010", "\u20c1", "\u2100", "\u0149", "\u212b", "٣", "\u2000"],
    # Runs the scans refuse: two spaces, three accents on a character without a composed form.
    *["  ", "\u00a0\u202f", "0\u0301\u0300", "0\u0301\u0300\u0301", "\u0301\u0300\u0301"],
]
PLAIN_RUNS = st.lists(st.sampled_from(PLAIN_CHARACTERS), max_size=5).map("".join)
TEXTS = st.one_of(
    # Plain text around one character or run at the edge of what plain text is.
    st.tuples(PLAIN_RUNS, st.sampled_from(EDGE_CHARACTERS), PLAIN_RUNS).map(
        lambda parts: f"x{parts[0]}{parts[1]}{parts[2]}0"
    ),
    st.lists(st.sampled_from(PLAIN_CHARACTERS + EDGE_CHARACTERS), max_size=10).map("".join),
)


@given(TEXTS)
def test_check_text_decides_plain_text_as_its_character_scans(text: str) -> None:
    from sceau_core.operations import _check_characters

    def outcome(check: Callable[[], object]) -> str | None:
        try:
            check()
        except InvalidOperation as error:
            return str(error)
        return None

    if not text or text.strip() != text:
        return  # Refused before any character is looked at.
    assert outcome(lambda: check_text(text, field="f")) == outcome(
        lambda: _check_characters(text, field="f")
    )


def test_plain_lines_of_an_operation_skip_the_character_scans() -> None:
    # Guards the test above: the lines the server renders take the plain-text path.
    from sceau_core.operations import _PLAIN_TEXT

    lines = render_lines(
        OperationType.TRANSFER,
        TransferData.from_json(
            {
                "amount": {"value": "1234.56", "currency": "EUR"},
                "payee_name": "Élodie Lefèvre",
                "payee_iban": "FR7630006000011234567890189",
            }
        ),
        RequestContext(),
        "fr",
    )
    assert all(_PLAIN_TEXT.fullmatch(line) for line in lines), lines
