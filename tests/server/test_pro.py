# SPDX-License-Identifier: Apache-2.0
"""Sceau Pro on the server (issue 8, docs/pro.md §4): accounts, rules at creation and decision."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from babel.dates import format_date

from sceau_server.audit import export_evidence, load_or_create_checkpoint_key, verify_evidence
from sceau_server.cli import _collect_evidence
from sceau_server.services.checkpoints import write_checkpoint
from tests.server.conftest import RelyingPartyClient, ServerHandle
from tests.server.device_double import TestDevice

IBAN = "FR7630004012340098765432178"
VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "pain001"
VALIDATE = ["view", "validate"]
EXECUTION = datetime.date.today() + datetime.timedelta(days=7)
"""An execution date the bank accepts whatever its time zone: a week from today."""


def sample(name: str, execution: datetime.date = EXECUTION) -> bytes:
    """The sample file ``name``, asking for ``execution`` instead of its 2026 dates."""
    content = (VECTORS / name).read_bytes()
    for fixed in (b"2026-03-13", b"2026-03-30"):
        content = content.replace(fixed, execution.isoformat().encode())
    return content


def _rule(*tiers: dict[str, Any]) -> dict[str, Any]:
    return {"v": 1, "currency": "EUR", "tiers": list(tiers)}


def setup_company(
    server: ServerHandle,
    bank: RelyingPartyClient,
    names: tuple[str, ...] = ("alice", "bob", "carol"),
    *,
    rule: dict[str, Any] | None = None,
    rights: dict[str, list[str]] | None = None,
) -> tuple[dict[str, TestDevice], dict[str, str]]:
    """An organisation whose members each have one device, and the account ``IBAN``."""
    assert bank.http.put("/v1/organisations/acme", json={"name": "ACME"}).status_code == 201
    devices: dict[str, TestDevice] = {}
    members: dict[str, str] = {}
    for index, name in enumerate(names):
        devices[name] = server.enrol(bank, name, phone=f"+336300000{index:02d}")
        answer = bank.http.put(
            f"/v1/organisations/acme/members/{name}",
            json={"display_name": name.title(), "admin": index == 0},
        )
        assert answer.status_code == 201, answer.text
        members[name] = answer.json()["id"]
    rights = rights or {}
    answer = bank.http.put(
        f"/v1/accounts/{IBAN}",
        json={
            "organisation": "acme",
            "currency": "EUR",
            "name": "Compte courant",
            "rule": rule or _rule({"above": "0.00", "validators": 2}),
            "members": [
                {"member": members[name], "rights": rights.get(name, VALIDATE)} for name in names
            ],
        },
    )
    assert answer.status_code == 201, answer.text
    return devices, members


def transfer(bank: RelyingPartyClient, amount: str, *, user: str = "alice", **extra: Any) -> Any:
    return bank.create_operation(
        user=user,
        type="transfer",
        account=IBAN,
        data={
            "amount": {"value": amount, "currency": "EUR"},
            "payee_name": "Imprimerie du Centre",
            "payee_iban": "DE89370400440532013000",
        },
        **extra,
    )


def test_one_member_with_two_devices_counts_once(make_server: Any) -> None:
    server = make_server(max_devices=2)
    bank = server.relying_party()
    devices, members = setup_company(server, bank)
    second = server.device("Tablette")
    activation = bank.create_activation("alice")
    second.activate(
        activation["code"], sms_code=server.sms_code("+33630000000"), pin="4826", status="on_hold"
    )
    (hold,) = devices["alice"].pending()
    assert devices["alice"].approve(hold.id).status_code == 200
    created = transfer(bank, "50.00").json()
    assert created["id"] in {operation.id for operation in second.pending()}
    assert devices["alice"].approve(created["id"]).json() == {
        "operation": created["id"],
        "status": "pending",
        "still_needed": 1,
    }
    assert created["id"] not in {operation.id for operation in second.pending()}
    before = server.snapshot()
    response = second.call(
        "POST", f"/v1/device/operations/{created['id']}/evaluate", {"blinded_element": "A" * 43}
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    after = server.snapshot()
    assert after["approvals"] == before["approvals"]
    assert after["attempts"] == before["attempts"]
    assert devices["carol"].approve(created["id"]).json()["status"] == "approved"
    view = bank.operation(created["id"])
    claims = server.verify_result(view)
    assert claims.signers == tuple(sorted([members["alice"], members["carol"]]))


def test_tiers_named_signatory_and_signed_rule_lines(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    names = ("alice", "bob", "carol")
    assert bank.http.put("/v1/organisations/acme", json={"name": "ACME"}).status_code == 201
    rule_members = {}
    devices = {}
    for index, name in enumerate(names):
        devices[name] = server.enrol(bank, name, phone=f"+336300001{index:02d}")
        answer = bank.http.put(
            f"/v1/organisations/acme/members/{name}", json={"display_name": f"{name.title()} M."}
        )
        rule_members[name] = answer.json()["id"]
    rule = _rule(
        {"above": "0.00", "validators": 1},
        {"above": "10000.00", "validators": 2},
        {"above": "100000.00", "validators": 2, "required": [rule_members["carol"]]},
    )
    answer = bank.http.put(
        f"/v1/accounts/{IBAN}",
        json={
            "organisation": "acme",
            "currency": "EUR",
            "name": "Compte courant",
            "rule": rule,
            "members": [{"member": rule_members[n], "rights": VALIDATE} for n in names],
        },
    )
    assert answer.status_code == 201, answer.text
    small = transfer(bank, "10000.00").json()
    assert small["operation"]["display"][-1] == "Cette opération nécessite 1 signature"
    assert devices["bob"].approve(small["id"]).json()["status"] == "approved"
    large = transfer(bank, "150000.00").json()
    assert large["operation"]["display"][-2:] == [
        "Cette opération nécessite 2 signatures",
        "Signature obligatoire de\u00a0: Carol M.",
    ]
    assert devices["alice"].approve(large["id"]).json()["still_needed"] == 1
    # Bob's approval does not complete it: only Carol's can.
    assert devices["bob"].approve(large["id"]).json()["still_needed"] == 1
    assert devices["carol"].approve(large["id"]).json()["status"] == "approved"


def test_the_rule_at_creation_holds_and_a_withdrawn_right_stops_counting(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    devices, _members = setup_company(server, bank)
    created = transfer(bank, "75.00").json()
    loosened = bank.http.put(
        f"/v1/accounts/{IBAN}",
        json={
            "organisation": "acme",
            "currency": "EUR",
            "name": "Compte courant",
            "rule": _rule({"above": "0.00", "validators": 1}),
        },
    )
    assert loosened.status_code == 200, loosened.text
    assert loosened.json()["rule_version"] == 2
    assert devices["alice"].approve(created["id"]).json()["status"] == "pending"
    assert bank.operation(created["id"])["still_needed"] == 1


def test_account_configuration_is_checked(server: ServerHandle, bank: RelyingPartyClient) -> None:
    setup_company(server, bank, rights={"carol": ["view", "prepare"]})
    base = {"organisation": "acme", "currency": "EUR", "name": "Compte courant"}
    members = bank.http.get(f"/v1/accounts/{IBAN}").json()["members"]
    carol = next(m["member"] for m in members if m["rights"] == ["view", "prepare"])
    cases = [
        ({**base, "rule": _rule({"above": "0.00", "validators": 3})}, 422, "needs 3 validators"),
        (
            {**base, "rule": _rule({"above": "0.00", "validators": 1, "required": [carol]})},
            422,
            "cannot validate",
        ),
        (
            {**base, "currency": "USD", "rule": _rule({"above": "0.00", "validators": 1})},
            422,
            "differs from the account currency",
        ),
        (
            {**base, "rule": _rule({"above": "0.00", "validators": 1}), "members": []},
            409,
            "rights change",
        ),
    ]
    before = server.snapshot()
    for body, status, words in cases:
        answer = bank.http.put(f"/v1/accounts/{IBAN}", json=body)
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert words in answer.json()["detail"]
    assert server.snapshot() == before
    other = server.relying_party("Autre banque")
    assert other.http.get(f"/v1/accounts/{IBAN}").status_code == 404
    assert other.http.put("/v1/organisations/acme", json={"name": "X"}).status_code == 409
    assert (
        other.http.put("/v1/organisations/acme/members/alice", json={"display_name": "A"})
    ).status_code == 404


def test_a_preparer_is_never_asked_and_a_stranger_sees_nothing(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    devices, _ = setup_company(server, bank, rights={"carol": ["view", "prepare"]})
    stranger = server.enrol(bank, "zoe", phone="+33630000099")
    created = transfer(bank, "20.00", user="carol").json()
    assert created["id"] not in {operation.id for operation in devices["carol"].pending()}
    before = server.snapshot()
    path = f"/v1/device/operations/{created['id']}/evaluate"
    assert devices["carol"].call("POST", path, {"blinded_element": "A" * 43}).status_code == 403
    assert stranger.call("POST", path, {"blinded_element": "A" * 43}).status_code == 404
    assert server.snapshot()["attempts"] == before["attempts"]
    # Nobody outside the account may create on it.
    refused = transfer(bank, "20.00", user="zoe")
    assert refused.status_code == 403


def test_a_partly_signed_operation_expires_with_its_approvals_kept(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    devices, members = setup_company(server, bank)
    # Long enough for the approval on a loaded machine; then past the expiry, whole seconds.
    created = transfer(bank, "30.00", ttl=6).json()
    assert devices["bob"].approve(created["id"]).json()["status"] == "pending"
    time.sleep(max(0.0, created["expires_at"] - time.time()) + 1.1)
    view = bank.operation(created["id"])
    assert view["status"] == "expired"
    assert [a["member"] for a in view["approvals"]] == [members["bob"]]
    assert "still_needed" not in view or view["still_needed"] is None


def test_a_rights_change_applies_once_the_administrator_approves_it(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    devices, members = setup_company(server, bank)
    created = transfer(bank, "40.00").json()
    asked = bank.http.post(
        f"/v1/accounts/{IBAN}/rights",
        json={"member": members["bob"], "rights": ["view"], "admin": "alice"},
    )
    assert asked.status_code == 201, asked.text
    change = asked.json()
    assert change["type"] == "rights_change"
    assert change["operation"]["display"][1:] == [
        "Compte\u00a0: Compte courant (FR76 •••• •••• 2178)",
        "Membre\u00a0: Bob",
        "Droits actuels\u00a0: consultation, validation",
        "Nouveaux droits\u00a0: consultation",
    ]
    # Nothing changes before the approval: Bob still counts.
    assert created["id"] in {operation.id for operation in devices["bob"].pending()}
    assert change["id"] not in {operation.id for operation in devices["bob"].pending()}
    assert devices["alice"].approve(change["id"]).json()["status"] == "approved"
    rights = {
        m["member"]: m["rights"] for m in bank.http.get(f"/v1/accounts/{IBAN}").json()["members"]
    }
    assert rights[members["bob"]] == ["view"]
    # Withdrawn mid-way: Bob is no longer asked, and cannot approve.
    assert created["id"] not in {operation.id for operation in devices["bob"].pending()}
    path = f"/v1/device/operations/{created['id']}/evaluate"
    assert devices["bob"].call("POST", path, {"blinded_element": "A" * 43}).status_code == 403
    # Only an administrator approves; a change that makes the rule impossible is refused.
    not_admin = bank.http.post(
        f"/v1/accounts/{IBAN}/rights",
        json={"member": members["carol"], "rights": ["view"], "admin": "bob"},
    )
    assert not_admin.status_code == 403
    impossible = bank.http.post(
        f"/v1/accounts/{IBAN}/rights",
        json={"member": members["carol"], "rights": ["view"], "admin": "alice"},
    )
    assert impossible.status_code == 422
    assert "needs 2 validators" in impossible.json()["detail"]
    refused = bank.http.post(
        f"/v1/accounts/{IBAN}/rights",
        json={"member": members["bob"], "rights": ["view", "validate"], "admin": "alice"},
    ).json()
    assert devices["alice"].refuse(refused["id"]).json()["status"] == "rejected"
    rights = {
        m["member"]: m["rights"] for m in bank.http.get(f"/v1/accounts/{IBAN}").json()["members"]
    }
    assert rights[members["bob"]] == ["view"]
    assert devices["alice"].approve(created["id"]).json()["still_needed"] == 1
    assert devices["carol"].approve(created["id"]).json()["status"] == "approved"
    assert (
        server.rows("SELECT count(*) AS n FROM audit_entries WHERE event = 'rights.changed'")[0].n
        == 1
    )


def test_the_evidence_bundle_binds_every_signatory_approval(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    devices, _members = setup_company(server, bank)
    created = transfer(bank, "60.00").json()
    assert devices["alice"].approve(created["id"]).json()["status"] == "pending"
    assert devices["carol"].approve(created["id"]).json()["status"] == "approved"
    write_checkpoint(server.ctx)
    key = load_or_create_checkpoint_key(server.settings.checkpoint_key_path)
    with server.ctx.read() as session:
        slots = _collect_evidence(session, created["id"])
        assert len(slots["approvals"]) == 2
        bundle = export_evidence(
            session, operation_id=created["id"], public_key=key.public_key(), **slots
        )
    report = verify_evidence(bundle, public_key=key.public_key())
    assert report.unbound == ()
    assert set(report.bound) == {"operation", "approvals[0]", "approvals[1]", "result_jws"}


def test_a_personal_batch_from_a_pain001_file_is_shown_to_its_user_only(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    owner = server.enrol(bank, "yann", phone="+33630000077")
    other = server.enrol(bank, "zelie", phone="+33630000078")
    content = sample("valid-03.xml")
    created = bank.http.post(
        "/v1/operations/pain001",
        params={"user": "yann"},
        content=content,
        headers={"Content-Type": "application/xml", "Idempotency-Key": "file-1"},
    )
    assert created.status_code == 201, created.text
    again = bank.http.post(
        "/v1/operations/pain001",
        params={"user": "yann"},
        content=content,
        headers={"Content-Type": "application/xml", "Idempotency-Key": "file-1"},
    )
    assert (again.status_code, again.json()["id"]) == (200, created.json()["id"])
    # The same key for the same lines on another day is another request, not a replay.
    moved = bank.http.post(
        "/v1/operations/pain001",
        params={"user": "yann"},
        content=sample("valid-03.xml", EXECUTION + datetime.timedelta(days=1)),
        headers={"Content-Type": "application/xml", "Idempotency-Key": "file-1"},
    )
    assert moved.status_code == 409, moved.text
    assert moved.headers["content-type"].startswith("application/problem+json")
    view = created.json()
    assert view["operation"]["data"]["count"] == 5
    assert view["operation"]["data"]["execution_date"] == EXECUTION.isoformat()
    day = format_date(EXECUTION, "full", locale="fr")
    assert f"Date d’exécution\u00a0: {day}" in view["operation"]["display"]
    assert "account" not in view or view["account"] is None
    path = f"/v1/device/operations/{view['id']}/lines"
    answer = owner.call("GET", path)
    assert answer.status_code == 200
    assert len(answer.json()["lines"]) == 5
    assert other.call("GET", path).status_code == 404
    # Over the general body limit, a batch goes to /v1/operations/batch.
    lines = answer.json()["lines"] * 120
    body = {"user": "yann", "type": "batch_transfer", "data": {
        "debtor_iban": IBAN, "execution_date": EXECUTION.isoformat(), "lines": lines}}  # fmt: skip
    assert bank.http.post("/v1/operations", json=body).status_code == 413
    assert bank.http.post("/v1/operations/batch", json=body).status_code == 201


# --- the execution date against the bank's today (docs/pro.md §2) -----------------------------

MIDNIGHT_IN_PARIS = 1_782_858_600
"""2026-06-30T22:30:00Z: already 1 July in Paris (00:30 CEST), still 30 June in UTC."""


def _refused_batch(answer: Any, message: str) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["type"] == "urn:sceau:problem:invalid-batch"
    assert body["status"] == 422
    assert message in body["detail"], body["detail"]


def _personal_batch(user: str, execution: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "debtor_iban": "FR7630006000011234567890189",
        "lines": [
            {
                "payee_name": "Imprimerie du Centre",
                "payee_iban": "DE89370400440532013000",
                "amount": {"value": "50.00", "currency": "EUR"},
            }
        ],
    }
    if execution is not None:
        data["execution_date"] = execution
    return {"user": user, "type": "batch_transfer", "data": data}


def test_a_batch_dated_before_the_banks_today_is_refused_in_its_time_zone(
    make_server: Any,
) -> None:
    """Half past midnight in Paris: 30 June is past for a Paris bank, today for a UTC one."""
    for zone, accepted, refused in (
        ("Europe/Paris", ("2026-07-01",), ("2026-06-30",)),
        ("UTC", ("2026-06-30", "2026-07-01"), ("2026-06-29",)),
    ):
        server = make_server(bank_timezone=zone)
        bank = server.relying_party()
        server.enrol(bank, "yann", phone="+33630000077")
        server.ctx.clock = lambda: float(MIDNIGHT_IN_PARIS)
        for day in refused:
            before = server.snapshot()
            answer = bank.http.post(
                "/v1/operations/pain001",
                params={"user": "yann"},
                content=sample("valid-03.xml", datetime.date.fromisoformat(day)),
                headers={"Content-Type": "application/xml"},
            )
            today = "2026-07-01" if zone == "Europe/Paris" else "2026-06-30"
            _refused_batch(
                answer,
                f"PmtInf 1 (ARS-VIR-2026-0311-FOURN): ReqdExctnDt: {day} is in the past"
                f" (today is {today})",
            )
            assert answer.json()["line"] is None
            json_answer = bank.http.post("/v1/operations", json=_personal_batch("yann", day))
            _refused_batch(json_answer, f"execution_date: {day} is in the past (today is {today})")
            assert server.snapshot() == before
        for day in accepted:
            answer = bank.http.post(
                "/v1/operations/pain001",
                params={"user": "yann"},
                content=sample("valid-03.xml", datetime.date.fromisoformat(day)),
                headers={"Content-Type": "application/xml"},
            )
            assert answer.status_code == 201, answer.text
            assert answer.json()["operation"]["data"]["execution_date"] == day
        server.ctx.clock = time.time


def test_a_file_retried_after_midnight_answers_the_operation_its_key_made(
    make_server: Any,
) -> None:
    """Sent at 23:50 in Paris for that day, retried at 00:30, when that date is past."""
    server = make_server(bank_timezone="Europe/Paris")
    bank = server.relying_party()
    server.enrol(bank, "yann", phone="+33630000077")
    file = sample("valid-03.xml", datetime.date(2026, 6, 30))
    params = {"user": "yann", "ttl": 3600}
    headers = {"Content-Type": "application/xml", "Idempotency-Key": "upload-0630"}
    server.ctx.clock = lambda: float(MIDNIGHT_IN_PARIS - 2400)
    first = bank.http.post("/v1/operations/pain001", params=params, content=file, headers=headers)
    assert first.status_code == 201, first.text
    server.ctx.clock = lambda: float(MIDNIGHT_IN_PARIS)
    retry = bank.http.post("/v1/operations/pain001", params=params, content=file, headers=headers)
    assert retry.status_code == 200, retry.text
    assert retry.json()["operation"]["id"] == first.json()["operation"]["id"]
    other = bank.http.post(
        "/v1/operations/pain001",
        params=params,
        content=sample("valid-03.xml", datetime.date(2026, 7, 3)),
        headers=headers,
    )
    assert other.status_code == 409, other.text
    # The first one, expired with its day (docs/pro.md §2), is the only operation.
    assert server.rows("SELECT count(*) FROM operations")[0][0] == 1
    server.ctx.clock = time.time


def test_a_batch_more_than_a_year_ahead_or_undated_is_refused_on_every_path(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    setup_company(server, bank)
    server.enrol(bank, "yann", phone="+33630000077")
    today = datetime.date.today()
    far = today + datetime.timedelta(days=400)
    before = server.snapshot()
    on_account = {**_personal_batch("alice", far.isoformat()), "account": IBAN}
    on_account["data"]["debtor_iban"] = IBAN
    for path, body in (
        ("/v1/operations", _personal_batch("yann", far.isoformat())),
        ("/v1/operations/batch", _personal_batch("yann", far.isoformat())),
        ("/v1/operations", on_account),
        ("/v1/operations/batch", on_account),
    ):
        _refused_batch(
            bank.http.post(path, json=body),
            f"execution_date: {far} is more than 365 days ahead (today is ",
        )
    file = bank.http.post(
        "/v1/operations/pain001",
        params={"user": "alice", "account": IBAN},
        content=sample("valid-03.xml", far).replace(b"FR7630004012340098765432178", IBAN.encode()),
        headers={"Content-Type": "application/xml"},
    )
    _refused_batch(file, f"ReqdExctnDt: {far} is more than 365 days ahead (today is ")
    undated = bank.http.post("/v1/operations", json=_personal_batch("yann", None))
    _refused_batch(undated, "execution_date: missing (the requested execution date")
    assert server.snapshot() == before
    dated = bank.http.post("/v1/operations", json=_personal_batch("yann", EXECUTION.isoformat()))
    assert dated.status_code == 201, dated.text


def test_the_server_refuses_to_start_with_an_unknown_bank_time_zone(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("sceau")), "serve"],
        cwd=tmp_path,
        env={**os.environ, "SCEAU_BANK_TIMEZONE": "Europe/Lutece"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert (
        "SCEAU_BANK_TIMEZONE must be a time zone name such as Europe/Paris, not 'Europe/Lutece'"
        in done.stderr
    )
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "var").exists()
