# SPDX-License-Identifier: Apache-2.0
"""Batch import (brief B2, issue 8): SEPA pain.001 files and the JSON form, refused by line."""

from __future__ import annotations

import datetime
import functools
import importlib.util
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceau_core.errors import InvalidBatch, InvalidOperation
from sceau_core.money import Amount
from sceau_core.operations import BatchLine, batch_lines_digest, check_batch
from sceau_core.pain001 import (
    MAX_DAYS_AHEAD,
    MAX_FILE_BYTES,
    MAX_IMPORT_LINES,
    ImportedBatch,
    parse_json_batch,
    parse_json_lines,
    parse_pain001,
)

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "pain001"
DEBTOR = "FR7630004012340098765432178"
TODAY = datetime.date(2026, 3, 2)
"""The bank's today for the sample files, created that day for 2026-03-13 (and 2026-03-30)."""
EXECUTION = datetime.date(2026, 3, 4)


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "make_pain001", ROOT / "scripts" / "make_pain001.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_pain001 = _generator()
build_pain001: Callable[..., bytes] = functools.partial(
    make_pain001.build_pain001, execution_date=EXECUTION
)


def vector(name: str) -> bytes:
    return (VECTORS / name).read_bytes()


def refusal(data: bytes, **kwargs: Any) -> InvalidBatch:
    with pytest.raises(InvalidBatch) as caught:
        parse_pain001(data, **{"today": TODAY, **kwargs})
    return caught.value


# --- the sample files -------------------------------------------------------------------------


def test_pain_001_001_03_with_two_blocks() -> None:
    batch = parse_pain001(vector("valid-03.xml"), today=TODAY)
    assert batch.source == "pain.001.001.03"
    assert batch.debtor_iban == DEBTOR
    assert batch.debtor_name == "Ateliers Réunis SAS"
    assert batch.batch_reference == "ARS-VIR-2026-0311"
    assert (batch.count, batch.total) == (5, Amount.parse("18254.37", "EUR"))
    assert (batch.declared_count, batch.declared_sum) == (5, Decimal("18254.37"))
    assert batch.lines[0] == BatchLine(
        payee_name="Société Bretonne de Nettoyage",
        payee_iban="FR7630002056781234567890168",
        amount=Amount.parse("12500.00", "EUR"),
        reference="Facture F2026-00117 du 28/02/2026",
    )
    # "2880.5" is exactly 2 880,50 €; a structured creditor reference is the line's reference.
    assert batch.lines[1].amount == Amount.parse("2880.50", "EUR")
    assert batch.lines[1].reference == "RF18539007547034"
    assert batch.lines[2].reference is None
    assert batch.end_to_end_ids == (
        "F2026-00117",
        "F2026-00118",
        "F2026-00119",
        "NDF-2026-02-LB",
        "NOTPROVIDED",
    )
    first, second = batch.payment_informations
    assert (first.payment_information_id, first.first_line, first.count) == (
        "ARS-VIR-2026-0311-FOURN",
        1,
        3,
    )
    assert (second.execution_date, second.first_line, second.declared_sum) == (
        "2026-03-13",
        4,
        Decimal("2374.37"),
    )
    assert (batch.execution_date, batch.category_purpose) == ("2026-03-13", None)


def test_pain_001_001_09() -> None:
    batch = parse_pain001(vector("valid-09.xml"), today=TODAY)
    assert batch.source == "pain.001.001.09"
    assert batch.debtor_name == "Boulangerie Martin & Fils"
    assert [line.payee_iban[:2] for line in batch.lines] == ["FR", "NL", "IT"]
    assert batch.total == Amount.parse("7421.08", "EUR")
    assert batch.payment_informations[0].execution_date == "2026-03-30"
    data = batch.to_data()
    assert (data.execution_date, data.category_purpose) == ("2026-03-30", "SALA")


def test_the_imported_batch_is_what_signatories_approve() -> None:
    batch = parse_pain001(vector("valid-03.xml"), today=TODAY)
    data = batch.to_data()
    assert (data.debtor_iban, data.count, data.total) == (DEBTOR, 5, batch.total)
    assert data.lines_digest == batch_lines_digest(batch.lines)
    assert data.batch_reference == "ARS-VIR-2026-0311"
    assert data.to_json()["execution_date"] == "2026-03-13"
    check_batch(batch.lines, data)
    # The same transfers as JSON give the same digest: one batch, one thing to sign.
    again = parse_json_batch(
        {
            "debtor_iban": DEBTOR,
            "batch_reference": "ARS-VIR-2026-0311",
            "execution_date": "2026-03-13",
            "lines": [line.to_json() for line in batch.lines],
        },
        today=TODAY,
    )
    assert again.to_data() == data
    # The same lines on another day are another operation: approvals of one do not fit the other.
    later = parse_pain001(VALID.replace(b"2026-03-13", b"2026-03-20"), today=TODAY).to_data()
    assert later.lines_digest == data.lines_digest
    assert later != data
    assert later.to_json()["execution_date"] == "2026-03-20"


@pytest.mark.parametrize(
    ("name", "line", "end_to_end_id", "message"),
    [
        ("bad-iban.xml", 3, "F2026-00119", "check digits do not verify"),
        ("bad-currency.xml", 4, "NDF-2026-02-LB", "is in USD, the batch currency is EUR"),
        (
            "bad-decimals.xml",
            2,
            "F2026-00118",
            "2880.505 has 3 decimals, EUR amounts have at most 2",
        ),
        (
            "bad-ctrlsum.xml",
            None,
            None,
            "GrpHdr/CtrlSum: the file declares a control sum of 18254.73",
        ),
        (
            "bad-pmtinf-ctrlsum.xml",
            None,
            None,
            "PmtInf 2 (ARS-VIR-2026-0311-FRAIS)/CtrlSum: the file declares a control sum of"
            " 2374.00, but its transactions add up to 2374.37",
        ),
        (
            "bad-count.xml",
            None,
            None,
            "GrpHdr/NbOfTxs: the file declares 6 transactions, but holds 5",
        ),
        ("doctype-entities.xml", None, None, "DOCTYPE"),
        ("external-entity.xml", None, None, "DOCTYPE"),
    ],
)
def test_bad_files_are_refused_with_the_line_named(
    name: str, line: int | None, end_to_end_id: str | None, message: str
) -> None:
    error = refusal(vector(name))
    assert message in str(error)
    assert (error.line, error.end_to_end_id) == (line, end_to_end_id)
    if line is not None:
        assert str(error).startswith(f"line {line} (EndToEndId {end_to_end_id}): ")
    assert isinstance(error, InvalidOperation)


def test_the_entity_bomb_is_refused_before_any_expansion() -> None:
    # Expanded, its entities would take 10⁹ characters of memory.
    tracemalloc.start()
    try:
        error = refusal(vector("doctype-entities.xml"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "DOCTYPE" in str(error)
    assert peak < 1_000_000


# --- variations on the valid file -------------------------------------------------------------

VALID = vector("valid-03.xml")


def changed(old: str, new: str) -> bytes:
    text = VALID.decode()
    assert old in text, old
    return text.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'Ccy="EUR">499.50<',
            'Ccy="EUR">0.00<',
            "line 3 (EndToEndId F2026-00119): Amt/InstdAmt: must be greater than zero",
        ),
        (
            'Ccy="EUR">499.50<',
            'Ccy="EUR">-499.50<',
            "line 3 (EndToEndId F2026-00119): Amt/InstdAmt: '-499.50' is not a plain decimal",
        ),
        ('Ccy="EUR">499.50<', 'Ccy="EUR">0499.50<', "not a plain decimal"),
        ('Ccy="EUR">499.50<', 'Ccy="EUR">4.995e2<', "not a plain decimal"),
        (
            '<InstdAmt Ccy="EUR">499.50</InstdAmt>',
            "<InstdAmt>499.50</InstdAmt>",
            "line 3 (EndToEndId F2026-00119): Amt/InstdAmt has no Ccy",
        ),
        (
            "<Nm>Imprimerie du Centre</Nm>",
            "<Nm>Imprimerie  du Centre</Nm>",
            "line 3 (EndToEndId F2026-00119): Cdtr/Nm: contains two spaces in a row",
        ),
        (
            "<Nm>Imprimerie du Centre</Nm>",
            "<Nm>Imprimerie du Centre\u202e</Nm>",
            "line 3 (EndToEndId F2026-00119): Cdtr/Nm: contains the control or invisible"
            " character U+202E",
        ),
        ("<EndToEndId>F2026-00119</EndToEndId>", "", "line 3: PmtId/EndToEndId is missing"),
        (
            "<Ustrd>Acompte commande 4471</Ustrd>",
            "<Ustrd>A</Ustrd><Ustrd>B</Ustrd>",
            "line 5 (EndToEndId NOTPROVIDED): RmtInf: at most one",
        ),
        (
            "<Cdtr>\n          <Nm>Léa Bernard</Nm>\n        </Cdtr>",
            "<Cdtr/>",
            "line 4 (EndToEndId NDF-2026-02-LB): Cdtr/Nm is missing",
        ),
        ("<PmtMtd>TRF</PmtMtd>", "<PmtMtd>CHK</PmtMtd>", "only credit transfers"),
        (
            "<IBAN>FR7630004012340098765432178</IBAN>\n        </Id>\n      </DbtrAcct>",
            "<IBAN>FR7630002056781234567890168</IBAN>\n        </Id>\n      </DbtrAcct>",
            "PmtInf 2 (ARS-VIR-2026-0311-FRAIS): debits another account",
        ),
        (
            "<Ccy>EUR</Ccy>",
            "<Ccy>CHF</Ccy>",
            "line 1 (EndToEndId F2026-00117): Amt/InstdAmt is in EUR, the batch currency is CHF",
        ),
        ("<MsgId>ARS-VIR-2026-0311</MsgId>", "", "GrpHdr: MsgId is missing"),
        (
            "<ReqdExctnDt>2026-03-13</ReqdExctnDt>",
            "<ReqdExctnDt>13/03/2026</ReqdExctnDt>",
            "is not a date",
        ),
        (
            "<ReqdExctnDt>2026-03-13</ReqdExctnDt>",
            "<ReqdExctnDt>2026-02-30</ReqdExctnDt>",
            "PmtInf 1 (ARS-VIR-2026-0311-FOURN): ReqdExctnDt: 2026-02-30 is not a calendar date",
        ),
        (
            "<ReqdExctnDt>2026-03-13</ReqdExctnDt>",
            "",
            "PmtInf 1 (ARS-VIR-2026-0311-FOURN): ReqdExctnDt is missing (the requested execution",
        ),
        ("</GrpHdr>", "</GrpHdr><GrpHdr/>", "Document: GrpHdr appears more than once"),
        ("pain.001.001.03", "pain.001.001.02", "not a pain.001.001.03 or pain.001.001.09 Document"),
        ("</Document>", "</Documen>", "not well-formed XML"),
    ],
)
def test_each_rule_of_a_file(old: str, new: str, message: str) -> None:
    assert message in str(refusal(changed(old, new)))


def test_blocks_of_different_execution_dates_are_refused() -> None:
    """One batch, one date: the signed count and total are what leaves the account that day."""
    second = "<ReqdExctnDt>2026-03-13</ReqdExctnDt>"
    text = VALID.decode()
    at = text.rindex(second)
    mixed = text[:at] + "<ReqdExctnDt>2026-03-16</ReqdExctnDt>" + text[at + len(second) :]
    error = refusal(mixed.encode())
    assert str(error) == (
        "PmtInf 2 (ARS-VIR-2026-0311-FRAIS): ReqdExctnDt is 2026-03-16, the first block's"
        " 2026-03-13: one batch has one execution date, which its signatories approve; send one"
        " file per date"
    )
    assert error.line is None


def test_a_09_execution_date_is_a_date_not_a_date_and_time() -> None:
    data = build_pain001(2, version="09").decode()
    assert "<ReqdExctnDt><Dt>2026-03-04</Dt></ReqdExctnDt>" in data
    timed = data.replace("<Dt>2026-03-04</Dt>", "<DtTm>2026-03-04T09:00:00</DtTm>")
    assert "ReqdExctnDt/DtTm is not accepted" in str(refusal(timed.encode()))


@pytest.mark.parametrize(
    ("anchor", "extra", "message"),
    [
        (
            "<EndToEndId>F2026-00119</EndToEndId>",
            "<InstdAmt Ccy='EUR'>99999.00</InstdAmt>",
            "line 3: InstdAmt inside PmtId is not accepted",
        ),
        (
            "<EndToEndId>F2026-00119</EndToEndId>",
            "<IBAN>DE89370400440532013000</IBAN>",
            "line 3: IBAN inside PmtId is not accepted",
        ),
        (
            "<Nm>Imprimerie du Centre</Nm>",
            "<UltmtCdtr><Nm>Mallory</Nm></UltmtCdtr>",
            "line 3: UltmtCdtr (ultimate creditor, to whom the creditor would be paying on)"
            " inside Cdtr is not accepted",
        ),
        (
            "<Nm>Imprimerie du Centre</Nm>",
            "<ChrgBr>DEBT</ChrgBr>",
            "line 3: ChrgBr inside Cdtr is not accepted",
        ),
        (
            "<Dbtr>\n        <Nm>Ateliers Réunis SAS</Nm>",
            "<ReqdExctnDt>2026-12-31</ReqdExctnDt><LclInstrm><Cd>INST</Cd></LclInstrm>",
            "PmtInf 1: ReqdExctnDt inside Dbtr is not accepted",
        ),
        (
            "<InitgPty>\n        <Nm>Ateliers Réunis SAS</Nm>",
            "<IntrmyAgt1><FinInstnId><BIC>CITIUS33</BIC></FinInstnId></IntrmyAgt1>",
            "file: IntrmyAgt1 (intermediary bank) inside InitgPty is not accepted",
        ),
        (
            "<InitgPty>\n        <Nm>Ateliers Réunis SAS</Nm>",
            "<SplmtryData><Envlp><Cd>X</Cd></Envlp></SplmtryData>",
            "file: SplmtryData (supplementary data) inside InitgPty is not accepted",
        ),
    ],
)
def test_what_would_change_the_execution_is_refused_hidden_in_a_part_too(
    anchor: str, extra: str, message: str
) -> None:
    """A reader that finds elements by name wherever they stand would take these for the
    transfer's own: inside a party, a bank or a payment id, they are refused too."""
    error = refusal(changed(anchor, anchor + extra))
    assert message in str(error), str(error)


BLOCK_1 = "<PmtInfId>ARS-VIR-2026-0311-FOURN</PmtInfId>"
LINE_3 = "<Nm>Imprimerie du Centre</Nm>\n        </Cdtr>"


@pytest.mark.parametrize(
    ("anchor", "extra", "message"),
    [
        (
            LINE_3,
            "<UltmtCdtr><Nm>Mallory Factoring</Nm></UltmtCdtr>",
            "line 3 (EndToEndId F2026-00119): UltmtCdtr (ultimate creditor, to whom the creditor"
            " would be paying on) is not accepted: the signatories would not see it",
        ),
        (
            BLOCK_1,
            "<UltmtDbtr><Nm>Filiale SARL</Nm></UltmtDbtr>",
            "PmtInf 1 (ARS-VIR-2026-0311-FOURN): UltmtDbtr (ultimate debtor",
        ),
        (LINE_3, "<UltmtDbtr><Nm>Filiale SARL</Nm></UltmtDbtr>", "line 3 (EndToEndId F2026-00119)"),
        (LINE_3, "<Purp><Cd>GDDS</Cd></Purp>", "Purp (purpose of the transfer) is not accepted"),
        (
            LINE_3,
            "<IntrmyAgt1><FinInstnId><BIC>CHASUS33</BIC></FinInstnId></IntrmyAgt1>",
            "line 3 (EndToEndId F2026-00119): IntrmyAgt1 (intermediary bank) is not accepted",
        ),
        (
            LINE_3,
            "<InstrForCdtrAgt><Cd>CHQB</Cd></InstrForCdtrAgt>",
            "InstrForCdtrAgt (instruction for the creditor's bank) is not accepted",
        ),
        (
            LINE_3,
            "<RgltryRptg><DbtCdtRptgInd>DEBT</DbtCdtRptgInd></RgltryRptg>",
            "RgltryRptg (regulatory reporting) is not accepted",
        ),
        (LINE_3, "<Tax><Cdtr><TaxId>1</TaxId></Cdtr></Tax>", "Tax (tax information)"),
        (
            BLOCK_1,
            "<ChrgsAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></ChrgsAcct>",
            "PmtInf 1 (ARS-VIR-2026-0311-FOURN): ChrgsAcct (another account to debit the charges",
        ),
        (
            LINE_3,
            "<SplmtryData><Envlp><Note>x</Note></Envlp></SplmtryData>",
            "SplmtryData (supplementary data) is not accepted",
        ),
        (LINE_3, "<ChrgBr>DEBT</ChrgBr>", "line 3 (EndToEndId F2026-00119): ChrgBr is 'DEBT'"),
        (
            LINE_3,
            "<PmtTpInf><InstrPrty>HIGH</InstrPrty></PmtTpInf>",
            "line 3 (EndToEndId F2026-00119): PmtTpInf/InstrPrty is 'HIGH'; only NORM",
        ),
        (
            LINE_3,
            "<PmtTpInf><LclInstrm><Cd>INST</Cd></LclInstrm></PmtTpInf>",
            "PmtTpInf/LclInstrm (local instrument, such as an instant transfer) is not accepted",
        ),
        (
            LINE_3,
            "<PmtTpInf><CtgyPurp><Cd>SALA</Cd></CtgyPurp></PmtTpInf>",
            "line 3 (EndToEndId F2026-00119): PmtTpInf/CtgyPurp: give the category purpose once",
        ),
        (
            LINE_3,
            "<CdtrAgt><FinInstnId><BIC>SOGEFRPP</BIC><ClrSysMmbId><MmbId>1</MmbId></ClrSysMmbId>"
            "</FinInstnId></CdtrAgt>",
            "CdtrAgt/FinInstnId/ClrSysMmbId is not accepted",
        ),
        (
            LINE_3,
            "<CdtrAgt><FinInstnId><BIC>not a bic</BIC></FinInstnId></CdtrAgt>",
            "CdtrAgt/FinInstnId/BIC: 'not a bic' is not a BIC",
        ),
        (
            "<IBAN>FR7610278060392030405060773</IBAN>\n          </Id>",
            "<Ccy>USD</Ccy>",
            "line 3 (EndToEndId F2026-00119): CdtrAcct/Ccy is USD",
        ),
        (
            "<IBAN>FR7610278060392030405060773</IBAN>",
            "<Othr><Id>X</Id></Othr>",
            "CdtrAcct/Id/Othr is not accepted",
        ),
        (
            "<Ref>RF18539007547034</Ref>\n            </CdtrRefInf>",
            "<RfrdDocAmt><DuePyblAmt Ccy='EUR'>1.00</DuePyblAmt></RfrdDocAmt>",
            "line 2 (EndToEndId F2026-00118): RmtInf/Strd/RfrdDocAmt is not accepted",
        ),
        (
            "</InitgPty>",
            "<FwdgAgt><FinInstnId><BIC>BNPAFRPP</BIC></FinInstnId></FwdgAgt>",
            None,
        ),
    ],
)
def test_what_would_change_the_execution_is_refused_naming_block_or_line(
    anchor: str, extra: str, message: str | None
) -> None:
    data = changed(anchor, anchor + extra)
    if message is None:
        assert parse_pain001(data, today=TODAY).count == 5
        return
    error = refusal(data)
    assert message in str(error)
    assert isinstance(error, InvalidOperation)


@pytest.mark.parametrize(
    ("payment_type", "message"),
    [
        ("<InstrPrty>NORM</InstrPrty><SvcLvl><Cd>SEPA</Cd></SvcLvl>", None),
        ("<SvcLvl><Cd>URGP</Cd></SvcLvl>", "PmtTpInf/SvcLvl/Cd is 'URGP'; only SEPA"),
        ("<SvcLvl><Prtry>X</Prtry></SvcLvl>", "PmtTpInf/SvcLvl/Prtry is not accepted"),
        ("<InstrPrty>HIGH</InstrPrty>", "PmtTpInf/InstrPrty is 'HIGH'; only NORM"),
        ("<CtgyPurp><Cd>CASH</Cd></CtgyPurp>", "PmtTpInf/CtgyPurp/Cd is 'CASH'; Sceau shows only"),
        (
            "<CtgyPurp><Cd>SALA</Cd></CtgyPurp>",
            "the category purpose (PmtTpInf/CtgyPurp/Cd) is SALA, in the first block not given",
        ),
    ],
)
def test_the_payment_type_of_a_block(payment_type: str, message: str | None) -> None:
    text = VALID.decode()
    at = text.rindex("<SvcLvl>\n          <Cd>SEPA</Cd>\n        </SvcLvl>")
    end = text.index("</PmtTpInf>", at)
    data = (text[:at] + payment_type + text[end:]).encode()
    if message is None:
        assert parse_pain001(data, today=TODAY).count == 5
        return
    error = refusal(data)
    assert message in str(error)
    assert str(error).startswith("PmtInf 2 (ARS-VIR-2026-0311-FRAIS): ")


def test_the_account_currency_is_enforced_and_ibans_are_normalized() -> None:
    assert "batch currency is USD" in str(refusal(VALID, currency="USD"))
    spaced = changed(
        "<IBAN>FR7610278060392030405060773</IBAN>", "<IBAN>fr76 1027 8060 3920 3040 5060 773</IBAN>"
    )
    assert parse_pain001(spaced, today=TODAY).lines[2].payee_iban == "FR7610278060392030405060773"


def test_the_file_size_is_bounded() -> None:
    padding = b" " * (MAX_FILE_BYTES + 1 - len(VALID))
    assert "larger than" in str(refusal(VALID + padding))
    assert MAX_IMPORT_LINES == 10_000


# --- 10 000 lines -----------------------------------------------------------------------------


@pytest.mark.slow
def test_ten_thousand_lines_parse_and_ten_thousand_and_one_are_refused() -> None:
    data = build_pain001(10_000, version="09", blocks=3)
    batch = parse_pain001(data, today=TODAY)
    assert batch.count == 10_000
    assert [block.count for block in batch.payment_informations] == [3334, 3334, 3332]
    assert batch.payment_informations[2].first_line == 6669
    assert batch.to_data().count == 10_000
    error = refusal(build_pain001(10_001))
    assert (error.line, error.end_to_end_id) == (10_001, "E2E-010001")
    assert "more than 10000 transactions" in str(error)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 40),
    st.sampled_from(["03", "09"]),
    st.integers(1, 4),
    st.text("abcdef", max_size=6),
)
def test_generated_files_round_trip(count: int, version: str, blocks: int, seed: str) -> None:
    data = build_pain001(count, version=version, blocks=blocks, seed=seed)
    batch = parse_pain001(data, today=TODAY)
    expected = make_pain001.lines(count, seed=seed)
    assert batch.end_to_end_ids == tuple(item[0] for item in expected)
    assert [
        (line.payee_name, line.payee_iban, str(line.amount), line.reference) for line in batch.lines
    ] == [item[1:] for item in expected]
    assert sum(block.count for block in batch.payment_informations) == count


# --- the JSON form ----------------------------------------------------------------------------

DATED = {"debtor_iban": DEBTOR, "execution_date": "2026-03-13"}
LINE = {
    "payee_name": "Transports Nguyen",
    "payee_iban": "FR7620041010050055500077794",
    "amount": {"value": "150.00", "currency": "EUR"},
}


def test_json_batch() -> None:
    batch = parse_json_batch(
        {
            "debtor_iban": "fr76 3000 4012 3400 9876 5432 178",
            "execution_date": "2026-03-02",
            "lines": [LINE, {**LINE, "reference": "Facture 12"}],
            "count": 2,
            "total": {"value": "300.00", "currency": "EUR"},
            "batch_reference": "Paie mars",
        },
        today=TODAY,
    )
    assert isinstance(batch, ImportedBatch)
    assert (batch.source, batch.debtor_iban, batch.count) == ("json", DEBTOR, 2)
    assert batch.total == Amount.parse("300.00", "EUR")
    assert batch.end_to_end_ids == (None, None)
    # Today itself is a date the bank can execute on.
    assert batch.to_data().execution_date == "2026-03-02"


def test_json_batch_execution_date_and_category_purpose_are_signed() -> None:
    batch = parse_json_batch(
        {
            "debtor_iban": DEBTOR,
            "lines": [LINE],
            "execution_date": "2026-03-31",
            "category_purpose": "SALA",
        },
        today=TODAY,
    )
    data = batch.to_data()
    assert data.to_json()["execution_date"] == "2026-03-31"
    assert data.to_json()["category_purpose"] == "SALA"


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [
        ({"lines": [LINE]}, "debtor_iban: missing", None),
        ({**DATED, "lines": []}, "at least one line", None),
        ({**DATED, "lines": {}}, "JSON array", None),
        (
            {**DATED, "debtor_iban": "FR7630004012340098765432179", "lines": [LINE]},
            "debtor_iban: check digits",
            None,
        ),
        (
            {
                **DATED,
                "lines": [LINE, {**LINE, "payee_iban": "FR7620041010050055500077795"}],
            },
            "line 2: payee_iban: check digits do not verify",
            2,
        ),
        (
            {
                **DATED,
                "lines": [LINE, {**LINE, "amount": {"value": "1.5", "currency": "EUR"}}],
            },
            "line 2: amount.value: EUR amounts have exactly 2 decimals",
            2,
        ),
        (
            {
                **DATED,
                "lines": [LINE, {**LINE, "amount": {"value": "1.50", "currency": "USD"}}],
            },
            "line 2: amount.currency: USD differs from the batch currency EUR",
            2,
        ),
        ({**DATED, "lines": [LINE], "count": 2}, "count: the file declares 2", None),
        (
            {
                **DATED,
                "lines": [LINE],
                "total": {"value": "150.01", "currency": "EUR"},
            },
            "total: the file declares a control sum of 150.01",
            None,
        ),
        ({**DATED, "lines": [LINE], "extra": 1}, "extra: unknown field", None),
        ({**DATED, "lines": [LINE], "count": None}, "must not be null", None),
        (
            {**DATED, "lines": [LINE], "execution_date": "2026-02-29"},
            "execution_date: 2026-02-29 is not a calendar date",
            None,
        ),
        (
            {**DATED, "lines": [LINE], "execution_date": "31/03/2026"},
            "execution_date: '31/03/2026' is not a date (YYYY-MM-DD)",
            None,
        ),
        (
            {**DATED, "lines": [LINE], "execution_date": 20260331},
            "execution_date: must be a string",
            None,
        ),
        (
            {**DATED, "lines": [LINE], "category_purpose": "CASH"},
            "category_purpose: must be one of SALA, SUPP, PENS, TAXS, INTC",
            None,
        ),
    ],
)
def test_json_batch_is_refused_with_the_line_named(
    body: dict[str, Any], message: str, line: int | None
) -> None:
    with pytest.raises(InvalidBatch) as caught:
        parse_json_batch(body, today=TODAY)
    assert message in str(caught.value)
    assert caught.value.line == line


def test_json_lines_are_limited_to_ten_thousand() -> None:
    assert len(parse_json_lines([LINE] * MAX_IMPORT_LINES)) == MAX_IMPORT_LINES
    with pytest.raises(InvalidBatch) as caught:
        parse_json_lines([LINE] * (MAX_IMPORT_LINES + 1))
    assert caught.value.line == MAX_IMPORT_LINES + 1
    with pytest.raises(InvalidBatch, match=r"line 1: amount\.currency: EUR differs from the batch"):
        parse_json_lines([LINE], currency="USD")


# --- the execution date against the bank's today ----------------------------------------------


@pytest.mark.parametrize(
    ("name", "today", "message"),
    [
        (
            "valid-03.xml",
            datetime.date(2026, 3, 14),
            "PmtInf 1 (ARS-VIR-2026-0311-FOURN): ReqdExctnDt: 2026-03-13 is in the past"
            " (today is 2026-03-14)",
        ),
        (
            "valid-03.xml",
            datetime.date(2025, 3, 12),
            "PmtInf 1 (ARS-VIR-2026-0311-FOURN): ReqdExctnDt: 2026-03-13 is more than 365 days"
            " ahead (today is 2025-03-12)",
        ),
        (
            "valid-09.xml",
            datetime.date(2026, 11, 28),
            "PmtInf 1 (PAIE-2026-03-SAL): ReqdExctnDt/Dt: 2026-03-30 is in the past"
            " (today is 2026-11-28)",
        ),
    ],
)
def test_a_file_dated_in_the_past_or_over_a_year_ahead_is_refused(
    name: str, today: datetime.date, message: str
) -> None:
    error = refusal(vector(name), today=today)
    assert str(error) == message
    assert error.line is None


def test_today_and_a_year_ahead_are_accepted() -> None:
    assert parse_pain001(VALID, today=datetime.date(2026, 3, 13)).execution_date == "2026-03-13"
    a_year_before = datetime.date(2025, 3, 13)
    assert (datetime.date(2026, 3, 13) - a_year_before).days == MAX_DAYS_AHEAD
    assert parse_pain001(VALID, today=a_year_before).execution_date == "2026-03-13"


@pytest.mark.parametrize(
    ("execution_date", "message"),
    [
        ("2026-03-01", "execution_date: 2026-03-01 is in the past (today is 2026-03-02)"),
        (
            "2027-03-03",
            "execution_date: 2027-03-03 is more than 365 days ahead (today is 2026-03-02)",
        ),
    ],
)
def test_a_json_batch_dated_in_the_past_or_over_a_year_ahead_is_refused(
    execution_date: str, message: str
) -> None:
    with pytest.raises(InvalidBatch) as caught:
        parse_json_batch({**DATED, "execution_date": execution_date, "lines": [LINE]}, today=TODAY)
    assert str(caught.value) == message
    a_year_ahead = parse_json_batch(
        {**DATED, "execution_date": "2027-03-02", "lines": [LINE]}, today=TODAY
    )
    assert a_year_ahead.execution_date == "2027-03-02"


def test_a_json_batch_without_its_execution_date_is_refused() -> None:
    """Like a file's ReqdExctnDt: every batch shows and signs the day it leaves the account."""
    with pytest.raises(InvalidBatch) as caught:
        parse_json_batch({"debtor_iban": DEBTOR, "lines": [LINE]}, today=TODAY)
    assert str(caught.value) == (
        "execution_date: missing (the requested execution date, YYYY-MM-DD, which the"
        " signatories approve)"
    )


def test_generated_files_ask_for_a_date_the_bank_accepts_today() -> None:
    today = datetime.date.today()
    batch = parse_pain001(make_pain001.build_pain001(3, version="09"), today=today)
    assert today < datetime.date.fromisoformat(str(batch.execution_date))


# --- identifiers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "<EndToEndId>F2026-00119</EndToEndId>",
            "<EndToEndId>F2026-00119\u202e</EndToEndId>",
            "line 3: PmtId/EndToEndId: contains the control or invisible character U+202E",
        ),
        (
            "<EndToEndId>F2026-00119</EndToEndId>",
            f"<EndToEndId>{'E' * 36}</EndToEndId>",
            "line 3: PmtId/EndToEndId: longer than 35 characters",
        ),
        (
            "<EndToEndId>F2026-00119</EndToEndId>",
            "<EndToEndId>F2026-\t00119</EndToEndId>",
            "line 3: PmtId/EndToEndId: contains the control or invisible character U+0009",
        ),
        (
            "<PmtInfId>ARS-VIR-2026-0311-FRAIS</PmtInfId>",
            "<PmtInfId>ARS-VIR-2026-0311-FRAIS\u2066X</PmtInfId>",
            "PmtInf 2: PmtInfId: contains the control or invisible character U+2066",
        ),
        (
            "<PmtInfId>ARS-VIR-2026-0311-FRAIS</PmtInfId>",
            f"<PmtInfId>{'P' * 36}</PmtInfId>",
            "PmtInf 2: PmtInfId: longer than 35 characters",
        ),
        (
            "<MsgId>ARS-VIR-2026-0311</MsgId>",
            "<MsgId>ARS-VIR-2026-0311\u200f</MsgId>",
            "GrpHdr/MsgId: contains the control or invisible character U+200F",
        ),
        (
            "<MsgId>ARS-VIR-2026-0311</MsgId>",
            f"<MsgId>{'M' * 36}</MsgId>",
            "GrpHdr/MsgId: longer than 35 characters",
        ),
    ],
)
def test_identifiers_are_checked_text_of_at_most_35_characters(
    old: str, new: str, message: str
) -> None:
    error = refusal(changed(old, new))
    assert str(error) == message
    # A refused EndToEndId is not repeated in the error's fields either.
    assert error.end_to_end_id is None


def test_identifiers_of_35_characters_are_accepted() -> None:
    data = changed("<EndToEndId>F2026-00119</EndToEndId>", f"<EndToEndId>{'E' * 35}</EndToEndId>")
    assert parse_pain001(data, today=TODAY).end_to_end_ids[2] == "E" * 35


def test_a_bad_end_to_end_id_past_the_limit_is_not_shown() -> None:
    data = make_pain001.build_pain001(10_001, execution_date=EXECUTION).decode()
    data = data.replace("<EndToEndId>E2E-010001<", "<EndToEndId>E2E-\u202e010001<")
    error = refusal(data.encode())
    assert (error.line, error.end_to_end_id) == (10_001, None)
    assert str(error).startswith("line 10001: more than 10000 transactions")


# --- every refusal says where -----------------------------------------------------------------

SECOND_TYPE = "<SvcLvl>\n          <Cd>SEPA</Cd>\n        </SvcLvl>"


@pytest.mark.parametrize(
    ("old", "new", "message", "line"),
    [
        (
            SECOND_TYPE,
            "<SvcLvl/>",
            "PmtInf 2 (ARS-VIR-2026-0311-FRAIS): PmtTpInf/SvcLvl/Cd is missing",
            None,
        ),
        (
            SECOND_TYPE,
            "<SvcLvl><Cd>SEPA</Cd></SvcLvl><SvcLvl><Cd>SEPA</Cd></SvcLvl>",
            "PmtInf 2 (ARS-VIR-2026-0311-FRAIS): PmtTpInf/SvcLvl appears more than once",
            None,
        ),
        (
            SECOND_TYPE,
            SECOND_TYPE + "<CtgyPurp/>",
            "PmtInf 2 (ARS-VIR-2026-0311-FRAIS): PmtTpInf/CtgyPurp/Cd is missing",
            None,
        ),
        (
            "<Ccy>EUR</Ccy>",
            "<Ccy>eur</Ccy>",
            "PmtInf 1 (ARS-VIR-2026-0311-FOURN): DbtrAcct/Ccy: 'eur' is not an ISO 4217"
            " currency code",
            None,
        ),
        (
            "<Ccy>EUR</Ccy>",
            "<Ccy></Ccy>",
            "PmtInf 1 (ARS-VIR-2026-0311-FOURN): DbtrAcct/Ccy: '' is not an ISO 4217 currency code",
            None,
        ),
        (
            "<IBAN>FR7630004012340098765432178</IBAN>\n        </Id>",
            "<IBAN>FR7630004012340098765432178</IBAN>\n        </Id><Id/>",
            "PmtInf 1 (ARS-VIR-2026-0311-FOURN): DbtrAcct/Id appears more than once",
            None,
        ),
        (
            '<InstdAmt Ccy="EUR">12500.00</InstdAmt>',
            '<InstdAmt Ccy="eur">12500.00</InstdAmt>',
            "line 1 (EndToEndId F2026-00117): Amt/InstdAmt/@Ccy: 'eur' is not an ISO 4217"
            " currency code",
            1,
        ),
        (
            "<BIC>SOGEFRPP</BIC>",
            "",
            "line 1 (EndToEndId F2026-00117): CdtrAgt/FinInstnId/BIC is missing",
            1,
        ),
        (
            "<IBAN>FR7610278060392030405060773</IBAN>",
            "<IBAN>FR7610278060392030405060774</IBAN>",
            "line 3 (EndToEndId F2026-00119): CdtrAcct/Id/IBAN: check digits do not verify",
            3,
        ),
        (
            "<IBAN>FR7610278060392030405060773</IBAN>",
            "<IBAN>FR7610278060392030405060773ß</IBAN>",
            "line 3 (EndToEndId F2026-00119): CdtrAcct/Id/IBAN: must contain only ASCII letters,"
            " digits and spaces",
            3,
        ),
        (
            "<IBAN>FR7610278060392030405060773</IBAN>",
            "<IBAN>XX7610278060392030405060773</IBAN>",
            "line 3 (EndToEndId F2026-00119): CdtrAcct/Id/IBAN: unknown country code 'XX'",
            3,
        ),
        (
            "<Ustrd>Acompte commande 4471</Ustrd>",
            "<Ustrd>Acompte\u00adcommande 4471</Ustrd>",
            "line 5 (EndToEndId NOTPROVIDED): RmtInf/Ustrd: contains the control or invisible"
            " character U+00AD",
            5,
        ),
        (
            "<Ref>RF18539007547034</Ref>",
            "<Ref>RF18539007547034\u202e</Ref>",
            "line 2 (EndToEndId F2026-00118): RmtInf/Strd/CdtrRefInf/Ref: contains the control"
            " or invisible character U+202E",
            2,
        ),
        (
            "</RmtInf>\n      </CdtTrfTxInf>\n      <CdtTrfTxInf>\n        <PmtId>\n"
            "          <EndToEndId>F2026-00119",
            "<Strd/></RmtInf>\n      </CdtTrfTxInf>\n      <CdtTrfTxInf>\n        <PmtId>\n"
            "          <EndToEndId>F2026-00119",
            "line 2 (EndToEndId F2026-00118): RmtInf/Strd appears more than once",
            2,
        ),
    ],
)
def test_every_refusal_names_its_block_or_line_and_the_element_path(
    old: str, new: str, message: str, line: int | None
) -> None:
    text = VALID.decode()
    at = text.rindex(old) if old == SECOND_TYPE else text.index(old)
    error = refusal((text[:at] + new + text[at + len(old) :]).encode())
    assert str(error).startswith(message), str(error)
    assert error.line == line


# --- the creditor's bank ----------------------------------------------------------------------


def _with_agent(bic: str, iban: str) -> bytes:
    """``valid-03.xml`` with line 1 paid to ``iban`` at the bank ``bic``."""
    data = changed("<BIC>SOGEFRPP</BIC>", f"<BIC>{bic}</BIC>").decode()
    return data.replace("FR7630002056781234567890168", iban, 1).encode()


@pytest.mark.parametrize(
    ("bic", "iban"),
    [
        pytest.param("BNPAFRPP", "FR7630002056781234567890168", id="same-country"),
        pytest.param("BFCORERX", "FR7630002056781234567890168", id="reunion-bank-fr-iban"),
        pytest.param("AGRIGPGX", "FR7630002056781234567890168", id="guadeloupe-bank-fr-iban"),
        pytest.param("CCBPFRPPNCE", "MC5810807006001234567890184", id="french-bank-monaco-iban"),
        pytest.param("RBOSGGSX", "GB60BARC20000055779911", id="guernsey-bank-gb-iban"),
        pytest.param("FIOBCZPP", "SK0620100000002600001234", id="registry-cz-bank-sk-code"),
        pytest.param("ADWSGB22XXX", "LT543008600000000012", id="registry-gb-bank-lt-code"),
    ],
)
def test_a_creditor_bank_of_the_iban_country_or_its_registry_is_accepted(
    bic: str, iban: str
) -> None:
    assert parse_pain001(_with_agent(bic, iban), today=TODAY).lines[0].payee_iban == iban


@pytest.mark.parametrize(
    ("bic", "iban", "message"),
    [
        (
            "DEUTDEFF",
            "FR7630002056781234567890168",
            "line 1 (EndToEndId F2026-00117): CdtrAgt/FinInstnId/BIC: DEUTDEFF is a bank in DE,"
            " the creditor's IBAN is in FR: the bank could route the transfer by this BIC, which"
            " the signatories do not see",
        ),
        # Guernsey's banks have GB IBANs, not the other way round.
        ("BNPAFRPP", "GB60BARC20000055779911", "BNPAFRPP is a bank in FR, the creditor's IBAN"),
        ("SOGEMCM1", "FR7630002056781234567890168", "SOGEMCM1 is a bank in MC"),
        # Fio banka holds an SK bank code, not every SK one.
        ("FIOBCZPP", "SK5811000000002600001234", "FIOBCZPP is a bank in CZ"),
        (
            "ABCDXX22",
            "FR7630002056781234567890168",
            "line 1 (EndToEndId F2026-00117): CdtrAgt/FinInstnId/BIC: ABCDXX22 is not a BIC",
        ),
    ],
)
def test_a_creditor_bank_in_another_country_than_the_iban_is_refused(
    bic: str, iban: str, message: str
) -> None:
    error = refusal(_with_agent(bic, iban))
    assert message in str(error), str(error)
    assert error.line == 1
