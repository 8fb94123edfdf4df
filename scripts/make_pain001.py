#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write a SEPA pain.001 credit-transfer file of any size, for tests and benchmarks.

The structure follows the ISO 20022 pain.001.001.03 and pain.001.001.09 schemas (group header,
one or more payment information blocks, credit transfer transactions); every value is invented.
IBANs are computed, not copied: French ones carry a correct RIB key and every one correct
ISO 13616 check digits. The output is deterministic for a given seed and execution date (by
default two days after today, which a bank accepts on any day), so a test can regenerate the
10 000-line file instead of committing it::

    scripts/make_pain001.py --count 10000 --version 09 > /tmp/batch.xml

Tests import :func:`build_pain001` from this file.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import sys
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

NAMESPACES = {
    "03": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03",
    "09": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09",
}

PAYEES = (
    "Atelier Lefèvre",
    "Boulangerie Martin & Fils",
    "Müller Werkzeuge GmbH",
    "Transports Nguyen",
    "Cabinet Dubois-Garnier",
    "Imprimerie du Centre",
    "Société Bretonne de Nettoyage",
    "García Distribución SL",
    "Van den Berg BV",
    "Électricité Moreau",
    "Chloé Rousseau",
    "Léa Bernard",
)


def iban(country: str, bban: str) -> str:
    """The IBAN of ``bban`` in ``country``, with its ISO 7064 mod 97-10 check digits."""
    digits = "".join(str(int(char, 36)) for char in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def french_iban(bank: int, branch: int, account: int) -> str:
    """A French IBAN whose RIB key (the national check digits) is right, for numeric accounts."""
    key = 97 - (89 * bank + 15 * branch + 3 * account) % 97
    return iban("FR", f"{bank:05d}{branch:05d}{account:011d}{key:02d}")


def german_iban(bank: int, account: int) -> str:
    """A German IBAN from a bank code (8 digits) and an account number (10 digits)."""
    return iban("DE", f"{bank:08d}{account:010d}")


DEBTOR_IBAN = french_iban(30004, 1234, 987654321)


def default_execution_date() -> datetime.date:
    """Two days after today: in the future wherever the bank's time zone puts today."""
    return datetime.date.today() + datetime.timedelta(days=2)


def _draw(seed: str, number: int) -> int:
    """A deterministic number for line ``number`` (no pseudo-random generator needed)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{number}".encode()).digest()[:8], "big")


def lines(count: int, *, seed: str = "sceau") -> list[tuple[str, str, str, str, str]]:
    """``count`` transactions: (EndToEndId, creditor name, creditor IBAN, amount, reference)."""
    result = []
    for number in range(1, count + 1):
        value = _draw(seed, number)
        name = PAYEES[value % len(PAYEES)]
        if value % 3:
            payee = french_iban(10000 + value % 89999, value % 99999, value % 10**11)
        else:
            payee = german_iban(10000000 + value % 89999999, value % 10**10)
        cents = 100 + (value >> 20) % 2_000_000
        amount = f"{Decimal(cents).scaleb(-2):f}"
        result.append((f"E2E-{number:06d}", name, payee, amount, f"Facture F2026-{number:05d}"))
    return result


def build_pain001(
    count: int,
    *,
    version: str = "03",
    blocks: int = 1,
    seed: str = "sceau",
    message_id: str = "SCEAU-GEN-0001",
    debtor_iban: str = DEBTOR_IBAN,
    execution_date: datetime.date | None = None,
) -> bytes:
    """A well-formed pain.001 file of ``count`` transactions spread over ``blocks`` blocks.

    Every block asks for ``execution_date``, by default :func:`default_execution_date`.
    """
    namespace = NAMESPACES[version]
    date = execution_date or default_execution_date()
    day = date.isoformat()
    created = (date - datetime.timedelta(days=2)).isoformat()
    transactions = lines(count, seed=seed)
    total = sum((Decimal(t[3]) for t in transactions), Decimal(0))
    bic = "BICFI" if version == "09" else "BIC"
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<Document xmlns={quoteattr(namespace)}>",
        "<CstmrCdtTrfInitn>",
        "<GrpHdr>",
        f"<MsgId>{escape(message_id)}</MsgId>",
        f"<CreDtTm>{created}T09:15:00</CreDtTm>",
        f"<NbOfTxs>{count}</NbOfTxs>",
        f"<CtrlSum>{total:f}</CtrlSum>",
        "<InitgPty><Nm>Ateliers Réunis SAS</Nm></InitgPty>",
        "</GrpHdr>",
    ]
    size = -(-count // blocks)
    for block in range(blocks):
        part = transactions[block * size : (block + 1) * size]
        if not part:
            break
        subtotal = sum((Decimal(t[3]) for t in part), Decimal(0))
        requested = f"<Dt>{day}</Dt>" if version == "09" else day
        out += [
            "<PmtInf>",
            f"<PmtInfId>{escape(message_id)}-{block + 1}</PmtInfId>",
            "<PmtMtd>TRF</PmtMtd>",
            "<BtchBookg>true</BtchBookg>",
            f"<NbOfTxs>{len(part)}</NbOfTxs>",
            f"<CtrlSum>{subtotal:f}</CtrlSum>",
            "<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf>",
            f"<ReqdExctnDt>{requested}</ReqdExctnDt>",
            "<Dbtr><Nm>Ateliers Réunis SAS</Nm></Dbtr>",
            f"<DbtrAcct><Id><IBAN>{debtor_iban}</IBAN></Id><Ccy>EUR</Ccy></DbtrAcct>",
            f"<DbtrAgt><FinInstnId><{bic}>BNPAFRPPXXX</{bic}></FinInstnId></DbtrAgt>",
            "<ChrgBr>SLEV</ChrgBr>",
        ]
        for end_to_end, name, payee, amount, reference in part:
            out += [
                "<CdtTrfTxInf>",
                f"<PmtId><EndToEndId>{end_to_end}</EndToEndId></PmtId>",
                f'<Amt><InstdAmt Ccy="EUR">{amount}</InstdAmt></Amt>',
                f"<Cdtr><Nm>{escape(name)}</Nm></Cdtr>",
                f"<CdtrAcct><Id><IBAN>{payee}</IBAN></Id></CdtrAcct>",
                f"<RmtInf><Ustrd>{escape(reference)}</Ustrd></RmtInf>",
                "</CdtTrfTxInf>",
            ]
        out.append("</PmtInf>")
    out += ["</CstmrCdtTrfInitn>", "</Document>", ""]
    return "\n".join(out).encode("utf-8")


def main() -> int:
    """Write the file to standard output or to ``--output``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="transactions (10000)")
    parser.add_argument("--version", choices=sorted(NAMESPACES), default="03")
    parser.add_argument("--blocks", type=int, default=1, help="payment information blocks")
    parser.add_argument("--seed", default="sceau")
    parser.add_argument(
        "--date",
        type=datetime.date.fromisoformat,
        help="requested execution date, YYYY-MM-DD (default: two days after today)",
    )
    parser.add_argument("--output", "-o", help="file to write (default: standard output)")
    arguments = parser.parse_args()
    data = build_pain001(
        arguments.count,
        version=arguments.version,
        blocks=arguments.blocks,
        seed=arguments.seed,
        execution_date=arguments.date,
    )
    if arguments.output:
        with open(arguments.output, "wb") as file:
            file.write(data)
    else:
        sys.stdout.buffer.write(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
