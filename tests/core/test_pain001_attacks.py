# SPDX-License-Identifier: Apache-2.0
"""Attacks on the pain.001 import: what the signatories see must be all the file says.

A lax reader of the same file (one that matches elements by local name, or looks for
``CdtTrfTxInf`` anywhere) must never find a transaction that Sceau did not show and sign.
"""

from __future__ import annotations

import unicodedata

import pytest

from sceau_core.errors import InvalidBatch
from sceau_core.pain001 import MAX_FILE_BYTES, MAX_MARKUP, parse_json_batch, parse_pain001
from tests.core.test_pain001 import DEBTOR, TODAY, VALID, build_pain001, changed, refusal

V03 = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
V09 = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
THIRD = "      <CdtTrfTxInf>\n        <PmtId>\n          <EndToEndId>F2026-00119<"


def _hidden(namespace: str) -> str:
    """A transaction of 99 000 EUR to another payee, in ``namespace``."""
    return (
        f'<CdtTrfTxInf xmlns="{namespace}"><PmtId><EndToEndId>HIDDEN</EndToEndId></PmtId>'
        '<Amt><InstdAmt Ccy="EUR">99000.00</InstdAmt></Amt><Cdtr><Nm>Mallory</Nm></Cdtr>'
        "<CdtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></CdtrAcct></CdtTrfTxInf>\n"
    )


@pytest.mark.parametrize(
    ("where", "namespace"),
    [
        pytest.param(THIRD, V09, id="other-pain001-version"),
        pytest.param(THIRD, "urn:evil", id="foreign-namespace"),
        pytest.param(THIRD, "", id="no-namespace"),
        pytest.param("        <RmtInf>\n          <Ustrd>Facture", V03, id="inside-a-transaction"),
        pytest.param(
            "    <PmtInf>\n      <PmtInfId>ARS-VIR-2026-0311-FOURN", V03, id="outside-a-block"
        ),
    ],
)
def test_a_transaction_out_of_place_is_refused_not_ignored(where: str, namespace: str) -> None:
    # Counts and sums still match the lines Sceau reads: only the structure gives it away.
    error = refusal(changed(where, _hidden(namespace) + where))
    assert "CdtTrfTxInf" in str(error) or "namespace" in str(error)


def test_a_block_in_another_namespace_is_refused() -> None:
    block = (
        f'<PmtInf xmlns="{V09}"><PmtInfId>X</PmtInfId><PmtMtd>TRF</PmtMtd>'
        "<DbtrAcct><Id><IBAN>FR7630004012340098765432178</IBAN></Id></DbtrAcct>"
        f"{_hidden(V09)}</PmtInf>\n"
    )
    where = "    <PmtInf>\n      <PmtInfId>ARS-VIR-2026-0311-FRAIS"
    assert isinstance(refusal(changed(where, block + where)), InvalidBatch)


def test_an_amount_is_one_choice() -> None:
    """``Amt`` is an XSD choice: a second amount a lax reader might take is refused."""
    old = '<InstdAmt Ccy="EUR">499.50</InstdAmt>'
    both = (
        old + '\n          <EqvtAmt><Amt Ccy="USD">99000.00</Amt><CcyOfTrf>EUR</CcyOfTrf></EqvtAmt>'
    )
    error = refusal(changed(old, both))
    assert error.line == 3
    assert "Amt" in str(error)


def test_prefixes_are_read_and_supplementary_data_refused() -> None:
    """The namespace counts, not its prefix; SplmtryData, whatever it holds, is not shown."""
    text = VALID.decode()
    prefixed = (
        text.replace(f'xmlns="{V03}"', f'xmlns:p="{V03}"')
        .replace("<", "<p:")
        .replace("<p:/", "</p:")
        .replace("<p:?xml", "<?xml")
    )
    assert parse_pain001(prefixed.encode(), today=TODAY).count == 5
    supplementary = (
        '<SplmtryData><Envlp><x:Note xmlns:x="urn:example">libre</x:Note></Envlp></SplmtryData>'
    )
    data = build_pain001(3, version="09").decode()
    data = data.replace("</CdtTrfTxInf>", supplementary + "</CdtTrfTxInf>", 1)
    error = refusal(data.encode())
    assert (error.line, error.end_to_end_id) == (1, "E2E-000001")
    assert "SplmtryData (supplementary data) is not accepted" in str(error)


@pytest.mark.parametrize("shape", ["wide", "deep"])
def test_a_file_of_empty_markup_is_refused_before_it_is_built(shape: str) -> None:
    """16 MiB of ``<a/>`` would take hundreds of MiB as a tree: refused from a byte count."""
    head, _, tail = VALID.partition(b"<PmtInf>")
    room = MAX_FILE_BYTES - len(VALID) - 16
    filler = (
        b"<a/>" * (room // 4) if shape == "wide" else b"<a>" * (room // 7) + b"</a>" * (room // 7)
    )
    error = refusal(head + filler + b"<PmtInf>" + tail)
    assert "more markup than" in str(error)
    assert MAX_MARKUP >= 100 * 10_000


def test_the_digest_covers_every_line_and_only_spelling_is_normalized() -> None:
    """What signatories approve changes with any line; IBAN case and NFD do not."""
    line = {
        "payee_name": "Société Générale SA",
        "payee_iban": "FR7630006000011234567890189",
        "amount": {"value": "10.00", "currency": "EUR"},
        "reference": "Facture 12",
    }
    other = {
        **line,
        "payee_name": "Imprimerie du Centre",
        "amount": {"value": "20.00", "currency": "EUR"},
    }

    def data(*lines: dict[str, object]) -> tuple[int, str, str]:
        batch = parse_json_batch(
            {"debtor_iban": DEBTOR, "execution_date": "2026-03-13", "lines": list(lines)},
            today=TODAY,
        ).to_data()
        return batch.count, str(batch.total.value), batch.lines_digest

    base = data(line, other)
    same = data(
        {
            **line,
            "payee_name": unicodedata.normalize("NFD", "Société Générale SA"),
            "payee_iban": "fr76 3000 6000 0112 3456 7890 189",
        },
        other,
    )
    assert same == base
    variants = [
        data(other, line),
        data(line, other, line),
        data(line),
        data({**line, "payee_name": "Société\u00a0Générale SA"}, other),
        data({**line, "reference": "Facture 13"}, other),
        data({key: value for key, value in line.items() if key != "reference"}, other),
        data({**line, "amount": {"value": "10.01", "currency": "EUR"}}, other),
    ]
    assert len({variant[2] for variant in variants} | {base[2]}) == len(variants) + 1
    assert data(line, other, line)[:2] == (3, "40.00")
    for bad in ("0.00", "-10.00", "10", "1e1"):
        with pytest.raises(InvalidBatch) as caught:
            data(other, {**line, "amount": {"value": bad, "currency": "EUR"}})
        assert caught.value.line == 2
    for name in ("Société  Générale", " Société", "Socie\u0301\u0301\u0301\u0301te", "A\u202eB"):
        with pytest.raises(InvalidBatch):
            data({**line, "payee_name": name})


def test_a_structured_creditor_reference_is_at_most_35_characters() -> None:
    """``CdtrRefInf/Ref`` is ``Max35Text`` in .03 and .09 like the identifiers: a longer one
    was signed, then made the file fail the schema check of the bank that executes it."""
    reference = "RF18" + "5" * 32
    error = refusal(changed("<Ref>RF18539007547034</Ref>", f"<Ref>{reference}</Ref>"))
    assert str(error).startswith("line 2 (EndToEndId F2026-00118): RmtInf/Strd/CdtrRefInf/Ref")
    assert "35" in str(error)
    accepted = parse_pain001(
        changed("<Ref>RF18539007547034</Ref>", f"<Ref>{reference[:35]}</Ref>"), today=TODAY
    )
    assert accepted.lines[1].reference == reference[:35]
