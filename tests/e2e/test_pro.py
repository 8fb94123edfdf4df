# SPDX-License-Identifier: Apache-2.0
"""Sceau Pro end to end (issue 8): a company's shared account, its rule, batches, pain.001.

The real ``sceau serve`` process of :mod:`tests.e2e.conftest`; the bank is this test process over
HTTP; each member's device is the real device SDK (:class:`Authenticator`), activated over HTTP
with the SMS code from the outbox, each with its own keystore and file keyring.
"""

from __future__ import annotations

import datetime
import importlib.util
import itertools
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from babel.dates import format_date
from keyrings.alt.file import PlaintextKeyring

from sceau_core.operations import BatchTransferData, Operation
from sceau_device.activation import ActivationSession
from sceau_device.authenticator import Authenticator
from sceau_device.errors import OperationUnavailable, ServerFailure, TamperedOperation
from sceau_device.keystore import Keystore
from tests.e2e.conftest import CODE, Bank

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "pain001"
EXECUTION = datetime.date.today() + datetime.timedelta(days=7)
"""An execution date the bank accepts whatever its time zone: a week from today."""


def sample(name: str) -> str:
    """The sample file ``name``, asking for :data:`EXECUTION` instead of its 2026 date."""
    return (VECTORS / name).read_text().replace("2026-03-13", EXECUTION.isoformat())


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
_ACCOUNTS = itertools.count(1)
TWO_OF_THREE = {"v": 1, "currency": "EUR", "tiers": [{"above": "0.00", "validators": 2}]}
VALIDATE = ["view", "validate"]
PREPARE = ["view", "prepare"]


def sdk_device(
    bank: Bank, home: Path, user: str, phone: str, transport: httpx.BaseTransport | None = None
) -> Authenticator:
    """Activate a device of ``user`` with the SDK over real HTTP; return its authenticator."""
    activation = bank.new_activation(user)
    home.mkdir(parents=True, exist_ok=True)
    backend = PlaintextKeyring()
    backend.file_path = str(home / "keyring_pass.cfg")  # type: ignore[misc]
    keystore = Keystore(home / "device-keystore.json", keyring_backend=backend)
    session = ActivationSession.start(keystore, activation["qr_uri"])
    session.register(f"Poste de {user}", bank.sms_code(phone))
    device = session.choose_code(CODE)
    if transport is None:
        return device
    device.close()
    return Authenticator(keystore, device.profile.name, transport=transport)


@dataclass
class Company:
    """An organisation, its members' devices and a shared account."""

    bank: Bank
    iban: str
    members: dict[str, str]
    devices: dict[str, Authenticator]
    phones: dict[str, str]
    users: dict[str, str]

    def create(self, kind: str, data: dict[str, Any], *, by: str = "dave") -> dict[str, Any]:
        path = "/v1/operations/batch" if kind == "batch_transfer" else "/v1/operations"
        answer = self.bank.http.post(
            path,
            json={"user": self.users[by], "type": kind, "data": data, "account": self.iban},
        )
        assert answer.status_code == 201, answer.text
        value: dict[str, Any] = answer.json()
        return value

    def pending_ids(self, who: str) -> set[str]:
        return {operation.id for operation in self.devices[who].pending().operations}

    def operation(self, who: str, operation_id: str) -> Operation:
        return self.devices[who].operation(operation_id)


def transfer(amount: str = "1500.00") -> dict[str, Any]:
    return {
        "amount": {"value": amount, "currency": "EUR"},
        "payee_name": "Imprimerie du Centre",
        "payee_iban": "DE89370400440532013000",
        "reference": "Facture 2026-118",
    }


def make_company(bank: Bank, tmp_path: Path, rule: dict[str, Any]) -> Company:
    """Alice, Bob and Carol validate; Dave views and prepares; each has their own device."""
    tag = secrets.token_hex(4)
    organisation = f"org-{tag}"
    answer = bank.http.put(f"/v1/organisations/{organisation}", json={"name": "Ateliers Réunis"})
    assert answer.status_code == 201, answer.text
    members: dict[str, str] = {}
    devices: dict[str, Authenticator] = {}
    phones: dict[str, str] = {}
    users: dict[str, str] = {}
    for name in ("alice", "bob", "carol", "dave"):
        user, phone = bank.new_user(f"{name}-{tag}")
        users[name], phones[name] = user, phone
        devices[name] = sdk_device(bank, tmp_path / name, user, phone)
        answer = bank.http.put(
            f"/v1/organisations/{organisation}/members/{user}",
            json={"display_name": name.title(), "admin": name == "alice"},
        )
        assert answer.status_code == 201, answer.text
        members[name] = answer.json()["id"]
    iban = make_pain001.french_iban(30004, 1234, 10**9 + secrets.randbelow(10**9))
    rights = [
        {"member": members[name], "rights": PREPARE if name == "dave" else VALIDATE}
        for name in ("alice", "bob", "carol", "dave")
    ]
    answer = bank.http.put(
        f"/v1/accounts/{iban}",
        json={
            "organisation": organisation,
            "currency": "EUR",
            "name": "Compte fournisseurs",
            "rule": rule,
            "members": rights,
        },
    )
    assert answer.status_code == 201, answer.text
    return Company(bank, iban, members, devices, phones, users)


@pytest.fixture(scope="module")
def company(bank: Bank, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Company]:
    """One company per server, shared by the tests: each works on its own operations."""
    value = make_company(bank, tmp_path_factory.mktemp("company"), TWO_OF_THREE)
    yield value
    for device in value.devices.values():
        device.close()


def test_two_of_three_met_by_two_members_devices(bank: Bank, company: Company) -> None:
    created = company.create("transfer", transfer())
    assert created["operation"]["display"][-1] == "Cette opération nécessite 2 signatures"
    assert created["account"] == company.iban
    assert created["still_needed"] == 2
    for who in ("alice", "bob", "carol"):
        assert created["id"] in company.pending_ids(who)
    first = company.devices["alice"].approve_with_code(
        company.operation("alice", created["id"]), CODE
    )
    assert first.status == "pending"
    view = bank.operation(created["id"])
    assert view["status"] == "pending"
    assert view["still_needed"] == 1
    assert [(a["member"], a["decision"]) for a in view["approvals"]] == [
        (company.members["alice"], "approve")
    ]
    assert created["id"] not in company.pending_ids("alice")
    second = company.devices["bob"].approve_with_code(company.operation("bob", created["id"]), CODE)
    assert second.status == "approved"
    view = bank.operation(created["id"])
    assert view["status"] == "approved"
    assert view["approvals"][1]["name"] == "Bob"
    claims = bank.verified_result(created["id"])
    assert sorted(claims.signers) == sorted([company.members["alice"], company.members["bob"]])
    assert created["id"] not in company.pending_ids("carol")


def test_the_same_member_approving_twice_counts_once(bank: Bank, company: Company) -> None:
    created = company.create("transfer", transfer())
    operation = company.operation("alice", created["id"])
    assert company.devices["alice"].approve_with_code(operation, CODE).status == "pending"
    assert created["id"] not in company.pending_ids("alice")
    for decide in (
        lambda: company.devices["alice"].approve_with_code(operation, CODE),
        lambda: company.devices["alice"].reject(operation),
    ):
        with pytest.raises(ServerFailure) as refused:
            decide()
        assert refused.value.status == 409
    view = bank.operation(created["id"])
    assert (view["status"], view["still_needed"], len(view["approvals"])) == ("pending", 1, 1)
    assert company.devices["alice"].pending().attempts_left == 5
    done = company.devices["carol"].approve_with_code(
        company.operation("carol", created["id"]), CODE
    )
    assert done.status == "approved"


def test_a_refusal_by_one_ends_it(bank: Bank, company: Company) -> None:
    created = company.create("transfer", transfer())
    operation = company.operation("alice", created["id"])
    assert company.devices["alice"].approve_with_code(operation, CODE).status == "pending"
    refused = company.devices["carol"].reject(company.operation("carol", created["id"]))
    assert refused.status == "rejected"
    view = bank.operation(created["id"])
    assert view["status"] == "rejected"
    assert [a["decision"] for a in view["approvals"]] == ["approve", "reject"]
    assert bank.verified_result(created["id"]).signers == (company.members["carol"],)
    assert created["id"] not in company.pending_ids("bob")
    with pytest.raises(OperationUnavailable):
        company.devices["bob"].approve_with_code(operation, CODE)


def test_a_member_without_validate_is_never_asked_and_cannot_approve(
    bank: Bank, company: Company
) -> None:
    created = company.create("transfer", transfer())
    assert created["id"] not in company.pending_ids("dave")
    operation = company.operation("alice", created["id"])
    with pytest.raises(ServerFailure) as refused:
        company.devices["dave"].approve_with_code(operation, CODE)
    assert refused.value.status == 403
    with pytest.raises(ServerFailure) as rejected:
        company.devices["dave"].reject(operation)
    assert rejected.value.status == 403
    assert company.devices["dave"].pending().attempts_left == 5
    view = bank.operation(created["id"])
    assert (view["status"], view["approvals"], view["still_needed"]) == ("pending", [], 2)


def batch_data(iban: str, count: int, *, seed: str = "sceau") -> dict[str, Any]:
    return {
        "debtor_iban": iban,
        "execution_date": EXECUTION.isoformat(),
        "lines": [
            {
                "payee_name": name,
                "payee_iban": payee,
                "amount": {"value": amount, "currency": "EUR"},
                "reference": reference,
            }
            for _, name, payee, amount, reference in make_pain001.lines(count, seed=seed)
        ],
        "batch_reference": "Paie mars",
    }


class _ChangeOneLine(httpx.BaseTransport):
    """Real HTTP, except that the answer of a lines request has its line 5 000 changed."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def close(self) -> None:
        self.inner.close()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not request.url.path.endswith("/lines"):
            return response
        document = json.loads(response.read())
        response.close()
        line = document["lines"][4999]
        line["payee_iban"] = "DE89370400440532013000"
        return httpx.Response(
            response.status_code,
            headers={"content-type": "application/json"},
            content=json.dumps(document).encode(),
        )


def test_a_batch_of_10000_lines_approved_and_one_changed_line_rejected(
    bank: Bank, company: Company
) -> None:
    batch = batch_data(company.iban, 10_000)
    created = company.create("batch_transfer", batch)
    data = created["operation"]["data"]
    assert data["count"] == 10_000
    operation = company.operation("alice", created["id"])
    assert isinstance(operation.data, BatchTransferData)
    lines = company.devices["alice"].batch_lines(operation)
    assert len(lines) == 10_000
    assert lines[4999].payee_name == batch["lines"][4999]["payee_name"]
    # A device that receives the lines with one changed refuses them: nothing is shown.
    tampered = Authenticator(
        company.devices["bob"].keystore,
        company.devices["bob"].profile.name,
        transport=_ChangeOneLine(),
    )
    with pytest.raises(TamperedOperation):
        tampered.batch_lines(company.operation("bob", created["id"]))
    tampered.close()
    # The same batch with one line changed is another digest: approvals do not carry over.
    changed = json.loads(json.dumps(batch))
    changed["lines"][4999]["payee_iban"] = "DE89370400440532013000"
    other = company.create("batch_transfer", changed)
    assert other["operation"]["data"]["lines_digest"] != data["lines_digest"]
    assert company.devices["alice"].approve_with_code(operation, CODE).status == "pending"
    assert bank.operation(other["id"])["approvals"] == []
    done = company.devices["bob"].approve_with_code(company.operation("bob", created["id"]), CODE)
    assert done.status == "approved"
    assert bank.operation(other["id"])["status"] == "pending"
    refused = company.devices["carol"].reject(company.operation("carol", other["id"]))
    assert refused.status == "rejected"


def test_more_than_10000_lines_are_refused_with_the_line_named(
    bank: Bank, company: Company
) -> None:
    batch = batch_data(company.iban, 10_001, seed="over")
    answer = bank.http.post(
        "/v1/operations/batch",
        json={
            "user": company.users["dave"],
            "type": "batch_transfer",
            "data": batch,
            "account": company.iban,
        },
    )
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert answer.headers["content-type"] == "application/problem+json"
    assert (problem["type"], problem["line"]) == ("urn:sceau:problem:invalid-batch", 10_001)


def _post_file(bank: Bank, company: Company, content: bytes) -> httpx.Response:
    return bank.http.post(
        "/v1/operations/pain001",
        params={"user": company.users["dave"], "account": company.iban},
        content=content,
        headers={"Content-Type": "application/xml"},
    )


@pytest.mark.parametrize(
    ("name", "line", "end_to_end_id", "where"),
    [
        ("bad-iban.xml", 3, "F2026-00119", "check digits do not verify"),
        ("bad-ctrlsum.xml", None, None, "GrpHdr/CtrlSum"),
        ("bad-pmtinf-ctrlsum.xml", None, None, "PmtInf 2 (ARS-VIR-2026-0311-FRAIS)/CtrlSum"),
    ],
)
def test_a_pain001_file_is_refused_with_the_line_named(
    bank: Bank, company: Company, name: str, line: int | None, end_to_end_id: str | None, where: str
) -> None:
    before = company.pending_ids("alice")
    answer = _post_file(bank, company, sample(name).encode())
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["type"] == "urn:sceau:problem:invalid-batch"
    assert (problem["line"], problem["end_to_end_id"]) == (line, end_to_end_id)
    assert where in problem["detail"]
    assert company.pending_ids("alice") == before


@pytest.mark.parametrize(
    ("old", "new", "line", "where"),
    [
        (
            f"<ReqdExctnDt>{EXECUTION}</ReqdExctnDt>",
            f"<ReqdExctnDt>{EXECUTION + datetime.timedelta(days=3)}</ReqdExctnDt>",
            None,
            f"PmtInf 2 (ARS-VIR-2026-0311-FRAIS): ReqdExctnDt is"
            f" {EXECUTION + datetime.timedelta(days=3)}",
        ),
        (
            "<Nm>Imprimerie du Centre</Nm>",
            "<Nm>Imprimerie du Centre</Nm></Cdtr><UltmtCdtr><Nm>M</Nm></UltmtCdtr><Cdtr>",
            3,
            "UltmtCdtr (ultimate creditor",
        ),
    ],
)
def test_a_pain001_file_that_would_execute_otherwise_than_shown_is_refused(
    bank: Bank, company: Company, old: str, new: str, line: int | None, where: str
) -> None:
    """The last ``old`` of valid-03.xml (debiting the company) becomes ``new``: nothing is made."""
    before = company.pending_ids("alice")
    text = sample("valid-03.xml").replace("FR7630004012340098765432178", company.iban)
    head, found, tail = text.rpartition(old)
    assert found
    answer = _post_file(bank, company, (head + new + tail).encode())
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["type"] == "urn:sceau:problem:invalid-batch"
    assert problem["line"] == line
    assert where in problem["detail"]
    assert company.pending_ids("alice") == before


def test_a_batch_dated_in_the_past_or_undated_is_refused_and_nothing_is_made(
    bank: Bank, company: Company
) -> None:
    """Two days ago is past in every time zone the bank may be set to."""
    before = company.pending_ids("alice")
    past = datetime.date.today() - datetime.timedelta(days=2)
    text = sample("valid-03.xml").replace("FR7630004012340098765432178", company.iban)
    answer = _post_file(
        bank, company, text.replace(EXECUTION.isoformat(), past.isoformat()).encode()
    )
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["type"] == "urn:sceau:problem:invalid-batch"
    assert problem["detail"].startswith(
        f"PmtInf 1 (ARS-VIR-2026-0311-FOURN): ReqdExctnDt: {past} is in the past (today is "
    )
    undated = batch_data(company.iban, 2)
    del undated["execution_date"]
    for path in ("/v1/operations", "/v1/operations/batch"):
        answer = bank.http.post(
            path,
            json={
                "user": company.users["dave"],
                "type": "batch_transfer",
                "account": company.iban,
                "data": undated,
            },
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["type"] == "urn:sceau:problem:invalid-batch"
        assert answer.json()["detail"].startswith("execution_date: missing")
    assert company.pending_ids("alice") == before


def test_a_pain001_file_becomes_a_batch_every_validator_can_page_through(
    bank: Bank, company: Company
) -> None:
    content = make_pain001.build_pain001(
        50, version="09", blocks=2, debtor_iban=company.iban, execution_date=EXECUTION
    )
    answer = _post_file(bank, company, content)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["operation"]["data"]["count"] == 50
    assert created["operation"]["data"]["batch_reference"] == "SCEAU-GEN-0001"
    assert created["operation"]["data"]["execution_date"] == EXECUTION.isoformat()
    day = format_date(EXECUTION, "full", locale="fr")
    for who in ("alice", "bob", "carol"):
        operation = company.operation(who, created["id"])
        assert f"Date d’exécution\u00a0: {day}" in operation.display
        lines = company.devices[who].batch_lines(operation)
        assert len(lines) == 50
    # A member without validate is told no more than a stranger: no such operation (404).
    with pytest.raises(OperationUnavailable):
        company.devices["dave"].batch_lines(company.operation("alice", created["id"]))
    wrong_type = bank.http.post(
        "/v1/operations/pain001",
        params={"user": company.users["dave"], "account": company.iban},
        content=content,
        headers={"Content-Type": "application/json"},
    )
    assert wrong_type.status_code == 422
