# SPDX-License-Identifier: Apache-2.0
"""Regression tests from an adversarial review of the core: each asserts the secure behaviour."""

from __future__ import annotations

import base64
import decimal
import random
from collections.abc import Callable
from urllib.parse import quote

import pytest

from sceau_core.activation import (
    ActivationCode,
    QrPayload,
    ServerBinding,
    verify_binding,
    verify_registration_proof,
)
from sceau_core.display import render_lines
from sceau_core.encoding import b64url_encode
from sceau_core.errors import (
    InvalidEncoding,
    InvalidOperation,
    InvalidSignature,
    MalformedInput,
    SceauError,
)
from sceau_core.hazmat.p256 import CURVE_ORDER
from sceau_core.keys import encode_public_key, generate_private_key, key_fingerprint
from sceau_core.money import Amount
from sceau_core.operations import (
    AddPayeeData,
    BatchLine,
    BatchTransferData,
    CardPaymentData,
    OperationType,
    RequestContext,
    TransferData,
    batch_lines_digest,
    check_batch,
)
from sceau_core.results import (
    ResultClaims,
    ResultStatus,
    jwks,
    sign_result,
    verify_result,
)

IBAN = "FR7630006000011234567890189"


def _rng(seed: int = 1) -> Callable[[int], bytes]:
    return random.Random(seed).randbytes


# ---------------------------------------------------------------------------------------------
# F1 (medium, D1/D8): attacker-controlled free text can hide or forge what the customer reads.
# check_text refuses Cc/Cf/Cs/Co/Cn/Zl/Zp only; invisible "letters"/symbols/marks, unbounded
# combining-mark stacks and runs of wide spaces all pass and are copied into signed display lines.
# ---------------------------------------------------------------------------------------------

INVISIBLE = [
    "\u3164",  # HANGUL FILLER (Lo, default-ignorable)
    "\u115f",  # HANGUL CHOSEONG FILLER (Lo)
    "\uffa0",  # HALFWIDTH HANGUL FILLER (Lo)
    "\u2800",  # BRAILLE PATTERN BLANK (So) - renders as blank
    "\u034f",  # COMBINING GRAPHEME JOINER (Mn, default-ignorable)
    "\ufe0f",  # VARIATION SELECTOR-16 (Mn, default-ignorable)
    "\U000e0100",  # VARIATION SELECTOR-17 (Mn, default-ignorable)
    "\u180b",  # MONGOLIAN FREE VARIATION SELECTOR ONE (Mn, default-ignorable)
]


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_f1_payee_name_made_only_of_invisible_characters_is_refused(char: str) -> None:
    # A new payee whose name the device shows as "Bénéficiaire : " (blank).
    with pytest.raises(InvalidOperation):
        AddPayeeData.from_json({"payee_name": char * 3, "payee_iban": IBAN})


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_f1_invisible_padding_around_a_name_is_refused(char: str) -> None:
    # "Jean Dupont" + invisible filler looks exactly like "Jean Dupont" and dodges the
    # "no leading/trailing white space" rule.
    with pytest.raises(InvalidOperation):
        TransferData.from_json(
            {
                "amount": {"value": "10.00", "currency": "EUR"},
                "payee_name": "Jean Dupont" + char,
                "payee_iban": IBAN,
            }
        )


def test_f1_stacked_combining_marks_are_refused() -> None:
    # 60 stacked marks over one letter ("zalgo") overflow vertically onto neighbouring lines,
    # e.g. over "Montant : …" which is the line just above the payee.
    with pytest.raises(InvalidOperation):
        TransferData.from_json(
            {
                "amount": {"value": "9999.00", "currency": "EUR"},
                "payee_name": "J" + "\u030d" * 60 + "ean",
                "payee_iban": IBAN,
            }
        )


def test_f1_wide_space_run_cannot_forge_a_display_line() -> None:
    # A 3-D Secure merchant name padded with ideographic spaces wraps on a phone so that a fake
    # "Montant : 1,00 €" shows on its own row, above the real amount line.
    forged = "Boutique" + "\u3000" * 24 + "Montant\u00a0: 1,00\u00a0€"
    obj = {
        "acs_transaction_id": "6f1c3b0e-2a4d-4c5e-8f9a-0b1c2d3e4f50",
        "merchant_name": forged,
        "amount": {"value": "4999.00", "currency": "EUR"},
        "card_last4": "4242",
    }
    try:
        data = CardPaymentData.from_json(obj)
    except InvalidOperation:
        return
    lines = render_lines(OperationType.CARD_PAYMENT, data, RequestContext(), "fr")
    pytest.fail(f"forged line accepted and signed for display: {lines[1]!r}")


# ---------------------------------------------------------------------------------------------
# F2 (low, P4/transport): the activation QR/binding accept server URLs that mislead or break.
# ---------------------------------------------------------------------------------------------


def _code() -> ActivationCode:
    return ActivationCode.generate(_rng(2))


def _fp() -> str:
    return key_fingerprint(generate_private_key(_rng(3)).public_key())


@pytest.mark.parametrize(
    "url",
    [
        "https://mabanque.fr@evil.example",  # userinfo: host is evil.example
        "https://mabanque.fr:x@evil.example/sceau",
        "http://mabanque.fr",  # plain HTTP to a non-loopback host (brief: refused)
        "https://mabanque.fr:abc",  # port that does not parse (raw ValueError later)
        "https://mabanque.fr:99999",
    ],
)
def test_f2_qr_payload_refuses_misleading_or_invalid_server_urls(url: str) -> None:
    payload = f"sceau://activate?v=1&code={_code().text.replace('-', '')}"
    payload += f"&server={quote(url, safe='')}&fp={_fp()}"
    with pytest.raises(InvalidEncoding):
        QrPayload.parse(payload)


def test_f2_server_binding_refuses_userinfo_in_server_url() -> None:
    key = generate_private_key(_rng(4)).public_key()
    with pytest.raises(InvalidEncoding):
        ServerBinding(
            activation_id="act_1",
            server_url="https://mabanque.fr@evil.example",
            server_public_key=encode_public_key(key),
            oprf_public_key=b64url_encode(bytes(31) + b"\x01"),
        )


# ---------------------------------------------------------------------------------------------
# F3 (low, brief §4 "verify functions raise a typed error"): non-ASCII tag/proof crashes with
# UnicodeEncodeError instead of InvalidSignature.
# ---------------------------------------------------------------------------------------------


def test_f3_verify_registration_proof_raises_typed_error_on_non_ascii_proof() -> None:
    registration = {"activation_id": "act_1", "device_name": "x", "device_public_key": "y"}
    with pytest.raises(InvalidSignature):
        verify_registration_proof(bytes(32), registration, "\u00e9" * 43)


def test_f3_verify_binding_raises_typed_error_on_non_ascii_tag() -> None:
    key = generate_private_key(_rng(5)).public_key()
    binding = ServerBinding(
        activation_id="act_1",
        server_url="https://mabanque.fr",
        server_public_key=encode_public_key(key),
        oprf_public_key="4h0T7G8RfVBP5TUjYdFhsWK8uPqsdlSiZC0EmCMTuG0",
    )
    with pytest.raises(InvalidSignature):
        verify_binding(_code(), binding, "\u00e9" * 43)


# ---------------------------------------------------------------------------------------------
# F4 (low, purity / R2): sign_result draws ECDSA nonces from the OS, unlike every other signer.
# ---------------------------------------------------------------------------------------------


def _claims() -> ResultClaims:
    return ResultClaims(
        issuer="https://mabanque.fr",
        operation_id="op_1",
        digest=b64url_encode(bytes(32)),
        operation_type="transfer",
        status=ResultStatus.APPROVED,
        factors=("knowledge", "possession"),
        signers=("act_1",),
        issued_at=1_767_225_600,
    )


def test_f4_sign_result_is_deterministic_and_reads_no_os_randomness() -> None:
    key = generate_private_key(_rng(6))
    assert sign_result(_claims(), private_key=key) == sign_result(_claims(), private_key=key)


# ---------------------------------------------------------------------------------------------
# F5 (low, R2): verify_result accepts malleable ECDSA signatures:
# a second, different token for the same result (high-S twin).
# ---------------------------------------------------------------------------------------------


def test_f5_result_jws_with_malleated_signature_is_refused() -> None:
    key = generate_private_key(_rng(7))
    document = jwks([key.public_key()])
    token = sign_result(_claims(), private_key=key)
    header, payload, signature = token.split(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    s = int.from_bytes(raw[32:], "big")
    flipped = raw[:32] + (CURVE_ORDER - s).to_bytes(32, "big")
    twin = f"{header}.{payload}.{b64url_encode(flipped)}"
    assert twin != token
    with pytest.raises(SceauError):
        verify_result(
            twin,
            jwks_document=document,
            expected_operation_id="op_1",
            expected_issuer="https://mabanque.fr",
        )


# ---------------------------------------------------------------------------------------------
# F6 (low, D4 / purity): check_batch sums in the ambient decimal context, so a host that lowered
# decimal precision accepts a batch whose lines do not add up to the total shown.
# ---------------------------------------------------------------------------------------------


def test_f6_check_batch_is_exact_whatever_the_ambient_decimal_context() -> None:
    def line(value: str) -> BatchLine:
        return BatchLine(payee_name="A", payee_iban=IBAN, amount=Amount.parse(value, "EUR"))

    lines = [line("999999.99"), line("0.04")]  # really 1 000 000,03 €
    shown = BatchTransferData(
        debtor_iban=IBAN,
        count=2,
        total=Amount.parse("1000000.00", "EUR"),  # the device shows 1 000 000,00 €
        lines_digest=batch_lines_digest(lines),
    )
    with decimal.localcontext() as context:
        context.prec = 6
        with pytest.raises(MalformedInput):
            check_batch(lines, shown)
