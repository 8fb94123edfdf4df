# SPDX-License-Identifier: Apache-2.0
"""The exact lines a customer reads, in French and English, and the device's fixed words."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sceau_core.display import TEXT, attempts_left, describe_user_agent, render_lines
from sceau_core.errors import InvalidOperation
from sceau_core.operations import (
    AddPayeeData,
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
    check_text,
)

NBSP = "\u00a0"  # before a French colon, and between an amount and its currency sign
NNBSP = "\u202f"  # between French digit groups
SHA = "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b"
IBAN_A = "FR7630006000011234567890189"
IBAN_B = "DE89370400440532013000"

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Safari/605.1.15"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def transfer() -> TransferData:
    return TransferData.from_json(
        {
            "amount": {"value": "1234.56", "currency": "EUR"},
            "payee_name": "Jean Dupont",
            "payee_iban": IBAN_A,
            "reference": "Loyer janvier",
            "debtor_iban": IBAN_B,
        }
    )


def card_payment(**changes: Any) -> CardPaymentData:
    obj = {
        "acs_transaction_id": "8a880dc0-d2d2-4067-bcb1-b08d1690b26e",
        "merchant_name": "Librairie Dupont",
        "merchant_url": "https://shop.example.fr/checkout?cart=12",
        "amount": {"value": "49.90", "currency": "EUR"},
        "card_last4": "4242",
        **changes,
    }
    return CardPaymentData.from_json(obj)


def batch(count: int = 50) -> BatchTransferData:
    return BatchTransferData.from_json(
        {
            "debtor_iban": IBAN_A,
            "count": count,
            "total": {"value": "12345.67", "currency": "EUR"},
            "lines_digest": "A" * 43,
            "batch_reference": "Salaires janvier",
        }
    )


EXPECTED: list[tuple[OperationData, tuple[str, ...], tuple[str, ...]]] = [
    (
        LoginData(),
        ("Connexion à votre banque en ligne",),
        ("Online banking sign-in",),
    ),
    (
        card_payment(),
        (
            "Paiement par carte",
            f"Marchand{NBSP}: Librairie Dupont",
            f"Site{NBSP}: shop.example.fr",
            f"Montant{NBSP}: 49,90{NBSP}€",
            f"Carte{NBSP}: •••• 4242",
        ),
        (
            "Card payment",
            "Merchant: Librairie Dupont",
            "Website: shop.example.fr",
            "Amount: €49.90",
            "Card: •••• 4242",
        ),
    ),
    (
        transfer(),
        (
            "Virement",
            f"Montant{NBSP}: 1{NNBSP}234,56{NBSP}€",
            f"Bénéficiaire{NBSP}: Jean Dupont",
            f"IBAN{NBSP}: FR76 •••• •••• 0189",
            f"Référence{NBSP}: Loyer janvier",
            f"Compte débité{NBSP}: DE89 •••• •••• 3000",
        ),
        (
            "Transfer",
            "Amount: €1,234.56",
            "Payee: Jean Dupont",
            "IBAN: FR76 •••• •••• 0189",
            "Reference: Loyer janvier",
            "From account: DE89 •••• •••• 3000",
        ),
    ),
    (
        AddPayeeData(payee_name="Jean Dupont", payee_iban=IBAN_A),
        (
            "Ajout d’un bénéficiaire",
            f"Bénéficiaire{NBSP}: Jean Dupont",
            f"IBAN{NBSP}: FR76 •••• •••• 0189",
        ),
        ("New payee", "Payee: Jean Dupont", "IBAN: FR76 •••• •••• 0189"),
    ),
    (
        ESignatureData(document_title="Offre de prêt", document_sha256=SHA, document_pages=12),
        (
            "Signature électronique",
            f"Document{NBSP}: Offre de prêt",
            f"Pages{NBSP}: 12",
            f"Empreinte{NBSP}: 3a7bd3e2360a3d29…",
        ),
        (
            "Electronic signature",
            "Document: Offre de prêt",
            "Pages: 12",
            "Fingerprint: 3a7bd3e2360a3d29…",
        ),
    ),
    (
        batch(),
        (
            "Virements groupés",
            f"Nombre{NBSP}: 50 virements",
            f"Total{NBSP}: 12{NNBSP}345,67{NBSP}€",
            f"Compte débité{NBSP}: FR76 •••• •••• 0189",
            f"Référence{NBSP}: Salaires janvier",
        ),
        (
            "Batch transfer",
            "Count: 50 transfers",
            "Total: €12,345.67",
            "From account: FR76 •••• •••• 0189",
            "Reference: Salaires janvier",
        ),
    ),
    (
        NewDeviceData(
            activation_id="act_new", device_name="Pixel de Camille", replaces="iPhone de Camille"
        ),
        (
            "Nouvel appareil Sceau",
            f"Appareil{NBSP}: Pixel de Camille",
            f"Remplace{NBSP}: iPhone de Camille",
            f"Attention{NBSP}: validez seulement si vous activez vous-même cet appareil",
        ),
        (
            "New Sceau device",
            "Device: Pixel de Camille",
            "Replaces: iPhone de Camille",
            "Warning: approve only if you are activating this device yourself",
        ),
    ),
    (
        RightsChangeData(
            account_iban="FR7630004012340098765432178",
            account_name="Compte fournisseurs",
            member="m_bob",
            member_name="Bob Martin",
            rights_before=("view", "validate"),
            rights_after=("view",),
        ),
        (
            "Modification des droits sur un compte",
            f"Compte{NBSP}: Compte fournisseurs (FR76 •••• •••• 2178)",
            f"Membre{NBSP}: Bob Martin",
            f"Droits actuels{NBSP}: consultation, validation",
            f"Nouveaux droits{NBSP}: consultation",
        ),
        (
            "Change of rights on an account",
            "Account: Compte fournisseurs (FR76 •••• •••• 2178)",
            "Member: Bob Martin",
            "Current rights: view, validate",
            "New rights: view",
        ),
    ),
]


@pytest.mark.parametrize(
    ("data", "french", "english"), EXPECTED, ids=[data.TYPE.value for data, _, _ in EXPECTED]
)
def test_each_operation_type_renders_exact_lines_in_french_and_english(
    data: OperationData, french: tuple[str, ...], english: tuple[str, ...]
) -> None:
    assert render_lines(data.TYPE, data, RequestContext(), "fr") == french
    assert render_lines(data.TYPE, data, RequestContext(), "en") == english


def test_every_operation_type_has_an_expected_rendering() -> None:
    assert {data.TYPE for data, _, _ in EXPECTED} == set(OperationType)


def test_optional_data_lines_appear_only_when_given() -> None:
    short_transfer = TransferData(
        amount=transfer().amount, payee_name="Jean Dupont", payee_iban=IBAN_A
    )
    assert render_lines(OperationType.TRANSFER, short_transfer, RequestContext(), "fr") == (
        "Virement",
        f"Montant{NBSP}: 1{NNBSP}234,56{NBSP}€",
        f"Bénéficiaire{NBSP}: Jean Dupont",
        f"IBAN{NBSP}: FR76 •••• •••• 0189",
    )
    no_url = CardPaymentData(
        acs_transaction_id="8a880dc0-d2d2-4067-bcb1-b08d1690b26e",
        merchant_name="Librairie Dupont",
        amount=transfer().amount,
        card_last4="0004",
    )
    assert render_lines(OperationType.CARD_PAYMENT, no_url, RequestContext(), "en") == (
        "Card payment",
        "Merchant: Librairie Dupont",
        "Amount: €1,234.56",
        "Card: •••• 0004",
    )
    no_pages = ESignatureData(document_title="Mandat SEPA", document_sha256=SHA)
    assert render_lines(OperationType.E_SIGNATURE, no_pages, RequestContext(), "fr") == (
        "Signature électronique",
        f"Document{NBSP}: Mandat SEPA",
        f"Empreinte{NBSP}: 3a7bd3e2360a3d29…",
    )


def test_merchant_site_shows_only_the_lower_case_host() -> None:
    data = card_payment(merchant_url="https://Shop.Example.FR:8443/pay?next=https://evil.example/")
    assert f"Site{NBSP}: shop.example.fr" in render_lines(
        OperationType.CARD_PAYMENT, data, RequestContext(), "fr"
    )


@pytest.mark.parametrize(
    ("count", "french", "english"),
    [
        (1, "1 virement", "1 transfer"),
        (2, "2 virements", "2 transfers"),
        (10_000, f"10{NNBSP}000 virements", "10,000 transfers"),
    ],
)
def test_batch_count_is_written_with_plural_and_digit_grouping(
    count: int, french: str, english: str
) -> None:
    data = batch(count)
    assert render_lines(OperationType.BATCH_TRANSFER, data, RequestContext(), "fr")[1] == (
        f"Nombre{NBSP}: {french}"
    )
    assert render_lines(OperationType.BATCH_TRANSFER, data, RequestContext(), "en")[1] == (
        f"Count: {english}"
    )


def test_a_batch_shows_its_execution_date_and_category_purpose_before_its_reference() -> None:
    data = BatchTransferData.from_json(
        {**batch().to_json(), "execution_date": "2026-01-30", "category_purpose": "SALA"}
    )
    assert render_lines(data.TYPE, data, RequestContext(), "fr")[4:] == (
        f"Date d’exécution{NBSP}: vendredi 30 janvier 2026",
        f"Nature{NBSP}: salaires",
        f"Référence{NBSP}: Salaires janvier",
    )
    assert render_lines(data.TYPE, data, RequestContext(), "en")[4:] == (
        "Execution date: Friday, January 30, 2026",
        "Purpose: salaries",
        "Reference: Salaires janvier",
    )


def test_amounts_in_other_currencies_follow_the_locale() -> None:
    data = TransferData.from_json(
        {"amount": {"value": "500", "currency": "JPY"}, "payee_name": "A", "payee_iban": IBAN_A}
    )
    assert (
        render_lines(data.TYPE, data, RequestContext(), "fr")[1] == f"Montant{NBSP}: 500{NBSP}JPY"
    )
    assert render_lines(data.TYPE, data, RequestContext(), "en")[1] == "Amount: ¥500"


def test_context_lines_follow_the_operation_lines() -> None:
    context = RequestContext(
        ip="203.0.113.7", user_agent=FIREFOX_WINDOWS, channel=Channel.WEB, location="Paris, France"
    )
    assert render_lines(OperationType.LOGIN, LoginData(), context, "fr") == (
        "Connexion à votre banque en ligne",
        f"Depuis{NBSP}: Firefox sur Windows",
        f"Adresse IP{NBSP}: 203.0.113.7",
        f"Lieu{NBSP}: Paris, France",
        f"Canal{NBSP}: Site internet",
    )
    assert render_lines(OperationType.LOGIN, LoginData(), context, "en") == (
        "Online banking sign-in",
        "Device: Firefox on Windows",
        "IP address: 203.0.113.7",
        "Location: Paris, France",
        "Channel: Website",
    )
    phone = RequestContext(channel=Channel.PHONE, ip="2001:db8::1")
    assert render_lines(OperationType.TRANSFER, transfer(), phone, "fr")[-2:] == (
        f"Adresse IP{NBSP}: 2001:db8::1",
        f"Canal{NBSP}: Téléphone",
    )


@pytest.mark.parametrize(
    ("user_agent", "french", "english"),
    [
        (FIREFOX_WINDOWS, "Firefox sur Windows", "Firefox on Windows"),
        (CHROME_ANDROID, "Chrome sur Android", "Chrome on Android"),
        (SAFARI_IPHONE, "Safari sur iOS", "Safari on iOS"),
        (SAFARI_MAC, "Safari sur macOS", "Safari on macOS"),
        (EDGE_WINDOWS, "Edge sur Windows", "Edge on Windows"),
        (FIREFOX_LINUX, "Firefox sur Linux", "Firefox on Linux"),
        ("BanqueApp/3.2 (iPhone; iOS 17.5)", "iOS", "iOS"),
        ("curl/8.5.0", "Appareil inconnu", "Unknown device"),
    ],
)
def test_user_agent_is_shown_as_browser_and_system(
    user_agent: str, french: str, english: str
) -> None:
    assert describe_user_agent(user_agent, "fr") == french
    assert describe_user_agent(user_agent, "en") == english


def test_user_agent_text_never_reaches_the_screen() -> None:
    lure = "Votre conseiller Jean vous demande de valider"
    context = RequestContext(user_agent=f"{lure} Firefox/128.0")
    lines = render_lines(OperationType.LOGIN, LoginData(), context, "fr")
    assert lines[1] == f"Depuis{NBSP}: Firefox"
    assert all(lure not in line for line in lines)


def test_french_lines_put_a_no_break_space_before_every_colon_and_english_none() -> None:
    context = RequestContext(
        ip="203.0.113.7", user_agent=FIREFOX_WINDOWS, channel=Channel.API, location="Lyon"
    )
    for data, _, _ in EXPECTED:
        french = render_lines(data.TYPE, data, context, "fr")
        english = render_lines(data.TYPE, data, context, "en")
        assert ":" not in french[0] + english[0]
        for line in french[1:]:
            assert re.fullmatch(r"[^:\s]+( [^:\s]+)*\u00a0: \S.*", line), line
        for line in english[1:]:
            assert re.fullmatch(r"[^:\s]+( [^:\s]+)*: \S.*", line), line


def test_rendered_lines_are_valid_operation_display_lines() -> None:
    context = RequestContext(
        ip="2001:db8::1", user_agent=SAFARI_IPHONE, channel=Channel.MOBILE, location="x" * 140
    )
    for data, _, _ in EXPECTED:
        for locale in ("fr", "en"):
            op = Operation.create(
                id="op_1", type=data.TYPE, data=data, context=context,
                locale=locale, now=1, rng=lambda n: bytes(n),
            )  # fmt: skip
            for number, line in enumerate(op.display, start=1):
                assert check_text(line, field=f"line {number}", max_length=200) == line


def test_render_lines_refuses_mismatched_type_and_unknown_locale() -> None:
    with pytest.raises(InvalidOperation, match=r"^data: a login operation needs LoginData"):
        render_lines(OperationType.LOGIN, transfer(), RequestContext(), "fr")
    with pytest.raises(InvalidOperation, match=r"^locale: must be one of fr, en$"):
        render_lines(OperationType.TRANSFER, transfer(), RequestContext(), "de")
    with pytest.raises(InvalidOperation, match=r"^type: must be an OperationType$"):
        render_lines("transfer", transfer(), RequestContext(), "fr")  # type: ignore[arg-type]


# --- the device's fixed words -------------------------------------------------------------------


def test_fixed_words_exist_in_every_locale_with_the_same_keys() -> None:
    assert set(TEXT) == {"fr", "en"}
    assert set(TEXT["fr"]) == set(TEXT["en"])
    with pytest.raises(TypeError):
        TEXT["fr"]["approve"] = "OK"  # type: ignore[index]


@pytest.mark.parametrize(
    ("key", "french", "english"),
    [
        ("approve", "Valider", "Approve"),
        ("decline", "Refuser", "Decline"),
        ("not_me", "Ce n’est pas moi", "This wasn’t me"),
        ("forgot_code", "Code oublié", "Forgot your code"),
        ("enter_code", "Saisissez votre code Sceau", "Enter your Sceau code"),
        ("expired", "Opération expirée", "Operation expired"),
        ("attempts_left", "Il vous reste {n} essais", "{n} attempts left"),
        (
            "reminder",
            "Votre banque ne vous demandera jamais de valider une opération par téléphone.",
            "Your bank will never ask you to approve an operation over the phone.",
        ),
    ],
)
def test_fixed_words(key: str, french: str, english: str) -> None:
    assert TEXT["fr"][key] == french
    assert TEXT["en"][key] == english


@pytest.mark.parametrize(
    ("n", "french", "english"),
    [
        (4, "Il vous reste 4 essais", "4 attempts left"),
        (2, "Il vous reste 2 essais", "2 attempts left"),
        (1, "Il vous reste 1 essai", "1 attempt left"),
        (0, "Il ne vous reste aucun essai", "No attempts left"),
    ],
)
def test_attempts_left_uses_the_right_plural(n: int, french: str, english: str) -> None:
    assert attempts_left(n, "fr") == french
    assert attempts_left(n, "en") == english
