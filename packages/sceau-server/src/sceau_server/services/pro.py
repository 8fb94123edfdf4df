# SPDX-License-Identifier: Apache-2.0
"""Sceau Pro (issue 8, docs/pro.md §4): organisations, members, shared accounts and their rules.

A relying party declares a company (``organisations``), its members (each an existing user with
their own devices and code) and its shared accounts, each with an approval rule
(:class:`sceau_core.rules.ApprovalRule`) and every member's rights on it. An operation created
on an account is decided by the account's validators under the rule **as it was at creation**;
eligibility (the ``validate`` right) is read live at every decision, so a right withdrawn
mid-way stops counting at once. A batch transfer's lines are kept apart from the operation,
which signs their digest; a validator's device reads them with a signed request.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sceau_core.approval import Decision
from sceau_core.display import render_rule_lines
from sceau_core.errors import InvalidBatch, MalformedInput
from sceau_core.money import Amount, parse_iban
from sceau_core.operations import (
    BatchTransferData,
    CardPaymentData,
    Operation,
    OperationData,
    OperationType,
    RequestContext,
    RightsChangeData,
    TransferData,
    parse_data,
)
from sceau_core.pain001 import ImportedBatch, parse_json_batch, parse_pain001
from sceau_core.rules import (
    AccountMember,
    ApprovalRule,
    Refused,
    Right,
    RuleOutcome,
    evaluate,
    validator_ids,
)
from sceau_server.errors import (
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    InvalidOperationData,
    NotFound,
)
from sceau_server.services.accounts import get_user
from sceau_server.services.context import ServerContext, random_id
from sceau_server.services.events import audit
from sceau_server.storage import repository
from sceau_server.storage.models import (
    Account,
    AccountRight,
    Activation,
    Approval,
    BatchLines,
    Member,
    Organisation,
    RelyingParty,
    User,
)
from sceau_server.storage.models import Operation as OperationRow
from sceau_server.storage.repository import AnyOperation

__all__ = [
    "ACCOUNT_TYPES",
    "AccountPlan",
    "BatchRefused",
    "account_validators",
    "account_view",
    "approvals_view",
    "batch_from_pain001",
    "batch_lines_body",
    "decided_member_ids",
    "decider",
    "evaluate_operation",
    "member_view",
    "organisation_view",
    "parse_batch",
    "pending_account_operations",
    "plan_account_operation",
    "put_account",
    "put_member",
    "put_organisation",
    "refuse_if_decided",
    "refuse_shared_debtor",
    "request_rights_change",
    "settle_rights_change",
    "store_lines",
    "validator_devices",
]

ACCOUNT_TYPES = frozenset(
    {
        OperationType.TRANSFER,
        OperationType.CARD_PAYMENT,
        OperationType.ADD_PAYEE,
        OperationType.E_SIGNATURE,
        OperationType.BATCH_TRANSFER,
    }
)
"""The operation types a relying party may create on a shared account."""


class BatchRefused(InvalidOperationData):
    """A batch refused at import: the problem names the line and its ``EndToEndId``."""

    slug = "invalid-batch"
    title = "Invalid batch"

    @classmethod
    def of(cls, error: InvalidBatch) -> BatchRefused:
        """The problem for ``error``, with its ``line`` and ``end_to_end_id`` members."""
        return cls(str(error), extra={"line": error.line, "end_to_end_id": error.end_to_end_id})


# --- organisations, members, accounts (RP API) ---------------------------------------------------


def _organisation(
    session: Session, rp: RelyingParty, organisation_id: str, *, lock: bool = False
) -> Organisation:
    organisation = session.get(Organisation, organisation_id, with_for_update=lock)
    if organisation is None or organisation.rp_id != rp.id:
        raise NotFound("No such organisation.")
    return organisation


def organisation_view(organisation: Organisation) -> dict[str, Any]:
    """An organisation as the RP API shows it."""
    return {"id": organisation.id, "name": organisation.name, "created_at": organisation.created_at}


def put_organisation(
    ctx: ServerContext, session: Session, rp: RelyingParty, organisation_id: str, *, name: str
) -> tuple[dict[str, Any], bool]:
    """Create or rename an organisation; return its view and whether it was created."""
    now = ctx.now()
    organisation = session.get(Organisation, organisation_id, with_for_update=True)
    if organisation is not None and organisation.rp_id != rp.id:
        raise Conflict("This organisation id belongs to another relying party.")
    created = organisation is None
    if organisation is None:
        organisation = Organisation(id=organisation_id, rp_id=rp.id, name=name, created_at=now)
        session.add(organisation)
    elif organisation.name != name:
        organisation.name = name
    else:
        return organisation_view(organisation), False
    session.flush()
    audit(
        session,
        event="organisation.created" if created else "organisation.updated",
        now=now,
        actor=rp.id,
        subject=organisation_id,
        data={"name": name},
    )
    return organisation_view(organisation), created


def member_view(session: Session, member: Member) -> dict[str, Any]:
    """A member as the RP API shows it: ``id`` is what approval rules name."""
    user = session.get(User, member.user_id)
    assert user is not None
    return {
        "id": member.id,
        "organisation": member.organisation_id,
        "user": user.external_id,
        "display_name": member.display_name,
        "admin": member.admin,
        "created_at": member.created_at,
    }


def put_member(
    ctx: ServerContext,
    session: Session,
    rp: RelyingParty,
    organisation_id: str,
    external_id: str,
    *,
    display_name: str,
    admin: bool,
) -> tuple[dict[str, Any], bool]:
    """Add a user to an organisation or update their name or administrator flag."""
    now = ctx.now()
    # Locked: two members given one name at the same time would both pass the check below.
    organisation = _organisation(session, rp, organisation_id, lock=True)
    user = get_user(session, external_id)
    member = session.scalars(
        select(Member)
        .where(Member.organisation_id == organisation.id, Member.user_id == user.id)
        .with_for_update()
    ).first()
    # Signatories and the administrator tell members apart by name alone (rights changes,
    # "Signature obligatoire de"): a second member shown as "Bob" could be given Bob's rights.
    for other in session.scalars(select(Member).where(Member.organisation_id == organisation.id)):
        if other is not member and other.display_name.casefold() == display_name.casefold():
            raise Conflict(
                f"display_name: another member of {organisation.id} is already shown under"
                " this name."
            )
    created = member is None
    if member is None:
        member = Member(
            id=random_id("m"),
            organisation_id=organisation.id,
            user_id=user.id,
            display_name=display_name,
            admin=admin,
            created_at=now,
        )
        session.add(member)
    elif (member.display_name, member.admin) != (display_name, admin):
        member.display_name = display_name
        member.admin = admin
    else:
        return member_view(session, member), False
    session.flush()
    audit(
        session,
        event="member.created" if created else "member.updated",
        now=now,
        actor=rp.id,
        subject=member.id,
        data={"organisation": organisation.id, "user": external_id, "admin": admin},
    )
    return member_view(session, member), created


def account_members(session: Session, account_id: str) -> list[AccountMember]:
    """Every member's rights on the account, as the rules module reads them."""
    rows = session.scalars(select(AccountRight).where(AccountRight.account_id == account_id)).all()
    return [
        AccountMember(
            member_id=row.member_id, rights=frozenset(Right(r) for r in json.loads(row.rights))
        )
        for row in rows
    ]


def account_view(session: Session, account: Account) -> dict[str, Any]:
    """A shared account as the RP API shows it."""
    members = sorted(account_members(session, account.id), key=lambda m: m.member_id)
    return {
        "iban": account.iban,
        "organisation": account.organisation_id,
        "currency": account.currency,
        "name": account.name,
        "rule": json.loads(account.rule),
        "rule_version": account.rule_version,
        "members": [member.to_json() for member in members],
    }


def _rule_text(rule: ApprovalRule) -> str:
    return json.dumps(rule.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def find_account(session: Session, rp: RelyingParty, iban: str) -> Account:
    """The relying party's account with this IBAN, or :class:`NotFound`."""
    try:
        iban = parse_iban(iban, field="account")
    except MalformedInput as error:
        raise InvalidOperationData(str(error)) from error
    account = session.scalars(select(Account).where(Account.iban == iban)).first()
    if account is None:
        raise NotFound("No such account.")
    organisation = session.get(Organisation, account.organisation_id)
    if organisation is None or organisation.rp_id != rp.id:
        raise NotFound("No such account.")
    return account


def put_account(
    ctx: ServerContext,
    session: Session,
    rp: RelyingParty,
    iban_text: str,
    request: dict[str, Any],
) -> tuple[dict[str, Any], bool]:
    """Create an account with its rule and members' rights, or update its name and rule.

    Rights are given once, at creation; afterwards each change is an operation the
    organisation's administrator validates.
    """
    now = ctx.now()
    try:
        iban = parse_iban(iban_text, field="iban")
        rule = ApprovalRule.from_json(request["rule"])
        members = [
            AccountMember.from_json(item, field=f"members[{index}]")
            for index, item in enumerate(request.get("members") or [])
        ]
    except MalformedInput as error:
        raise InvalidOperationData(str(error)) from error
    if rule.currency != request["currency"]:
        raise InvalidOperationData(
            f"rule.currency: {rule.currency} differs from the account currency"
            f" {request['currency']}"
        )
    if len({member.member_id for member in members}) != len(members):
        raise InvalidOperationData("members: a member is listed twice")
    organisation = _organisation(session, rp, request["organisation"])
    account = session.scalars(select(Account).where(Account.iban == iban).with_for_update()).first()
    if account is None:
        for index, member in enumerate(members):
            row = session.get(Member, member.member_id)
            if row is None or row.organisation_id != organisation.id:
                raise InvalidOperationData(
                    f"members[{index}].member: not a member of {organisation.id}"
                )
        _check_rule(rule, members)
        account = Account(
            id=random_id("acc"),
            organisation_id=organisation.id,
            iban=iban,
            currency=request["currency"],
            name=request["name"],
            rule=_rule_text(rule),
            rule_version=1,
            created_at=now,
        )
        session.add(account)
        session.flush()
        for member in members:
            session.add(
                AccountRight(
                    account_id=account.id,
                    member_id=member.member_id,
                    rights=json.dumps(member.to_json()["rights"]),
                )
            )
        session.flush()
        audit(
            session,
            event="account.created",
            now=now,
            actor=rp.id,
            subject=account.id,
            data={"iban": iban, "rule": rule.to_json(), "members": [m.to_json() for m in members]},
        )
        return account_view(session, account), True
    if account.organisation_id != organisation.id:
        raise NotFound("No such account.")
    if account.currency != request["currency"]:
        raise Conflict("An account's currency cannot change.")
    current = account_members(session, account.id)
    if "members" in request and {m.member_id: m.rights for m in members} != {
        m.member_id: m.rights for m in current
    }:
        raise Conflict(
            "Rights change only through a rights change validated by the organisation's"
            " administrator (POST /v1/accounts/{iban}/rights)."
        )
    _check_rule(rule, current)
    text = _rule_text(rule)
    if (account.name, account.rule) == (request["name"], text):
        return account_view(session, account), False
    if account.rule != text:
        account.rule = text
        account.rule_version += 1
    account.name = request["name"]
    session.flush()
    audit(
        session,
        event="account.updated",
        now=now,
        actor=rp.id,
        subject=account.id,
        data={"rule": rule.to_json(), "rule_version": account.rule_version},
    )
    return account_view(session, account), False


def _check_rule(rule: ApprovalRule, members: Sequence[AccountMember]) -> None:
    try:
        rule.check_members(members)
    except MalformedInput as error:
        raise InvalidOperationData(f"rule.{error}") from error


# --- operations on an account ---------------------------------------------------------------------


@dataclass(frozen=True)
class AccountPlan:
    """What creating an operation on an account decided: data, rule lines, lines to store."""

    account: Account
    data: OperationData
    rule_text: str
    rule_lines: tuple[str, ...]
    lines_json: str | None
    devices: tuple[str, ...]


def parse_batch(raw: object, currency: str | None, *, today: datetime.date) -> ImportedBatch:
    """The JSON batch of a ``batch_transfer`` request, checked line by line.

    ``today`` is the bank's date (:meth:`~sceau_server.settings.Settings.bank_today`): the
    batch's execution date may not be before it, nor more than 365 days after it.
    """
    try:
        return parse_json_batch(raw, currency=currency, today=today)
    except InvalidBatch as error:
        raise BatchRefused.of(error) from error


def batch_from_pain001(
    data: bytes, currency: str | None, *, today: datetime.date
) -> tuple[ImportedBatch, dict[str, Any]]:
    """A pain.001 file checked, and as the JSON batch it stands for (lines named on refusal).

    ``today`` is the bank's date, as for :func:`parse_batch`.
    """
    try:
        imported = parse_pain001(data, currency=currency, today=today)
    except InvalidBatch as error:
        raise BatchRefused.of(error) from error
    batch: dict[str, Any] = {
        "debtor_iban": imported.debtor_iban,
        "lines": [line.to_json() for line in imported.lines],
    }
    for key in ("batch_reference", "execution_date", "category_purpose"):
        value = getattr(imported, key)
        if value is not None:
            batch[key] = value
    return imported, batch


def lines_text(imported: ImportedBatch) -> str:
    """The RFC 8785 array of the lines, whose SHA-256 is the operation's ``lines_digest``."""
    return json.dumps(
        [line.to_json() for line in imported.lines],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    )


def _amount(data: OperationData) -> Amount | None:
    if isinstance(data, TransferData | CardPaymentData):
        return data.amount
    if isinstance(data, BatchTransferData):
        return data.total
    return None


def plan_account_operation(
    session: Session,
    rp: RelyingParty,
    initiator: User,
    operation_type: OperationType,
    iban: str,
    raw_data: object,
    locale: str,
    *,
    today: datetime.date,
    batch: ImportedBatch | None = None,
) -> AccountPlan:
    """Check an operation asked on a shared account and prepare what its creation stores.

    The initiator must be a member with ``prepare`` (or ``validate``) on the account; the rule
    must be able to approve it with the account's validators today (else 422, nothing stored).
    ``today`` is the bank's date, against which a batch's execution date is checked.
    """
    account = find_account(session, rp, iban)
    if operation_type not in ACCOUNT_TYPES:
        raise InvalidOperationData(f"type: a {operation_type.value} has no account")
    member = _member_of(session, account.organisation_id, initiator.id)
    members = account_members(session, account.id)
    rights = next((m.rights for m in members if member and m.member_id == member.id), frozenset())
    if not rights & {Right.PREPARE, Right.VALIDATE}:
        raise Forbidden("The user cannot prepare operations on this account.")
    lines_json = None
    if operation_type is OperationType.BATCH_TRANSFER:
        imported = batch or parse_batch(raw_data, account.currency, today=today)
        if imported.debtor_iban != account.iban:
            raise InvalidOperationData("debtor_iban: differs from the account")
        data: OperationData = imported.to_data()
        lines_json = lines_text(imported)
    else:
        data = parse_data(operation_type, raw_data)
        if isinstance(data, TransferData) and data.debtor_iban not in (None, account.iban):
            raise InvalidOperationData("debtor_iban: differs from the account")
    rule = ApprovalRule.from_json(json.loads(account.rule))
    amount = _amount(data)
    eligible = validator_ids(members)
    try:
        requirement = rule.requirement(amount, is_batch=lines_json is not None)
        outcome = evaluate(
            rule,
            operation_amount=amount,
            is_batch=lines_json is not None,
            eligible_validators=eligible,
            approvals=[],
        )
    except MalformedInput as error:
        raise InvalidOperationData(str(error)) from error
    if isinstance(outcome, Refused):
        raise InvalidOperationData(f"account: the rule cannot be met ({outcome.detail})")
    names = []
    for member_id in sorted(requirement.required):
        named = session.get(Member, member_id)
        assert named is not None
        names.append(named.display_name)
    devices = validator_devices(session, eligible)
    if not devices:
        raise Conflict("No validator of this account has an active device.")
    return AccountPlan(
        account=account,
        data=data,
        rule_text=account.rule,
        rule_lines=render_rule_lines(requirement.validators, names, locale),
        lines_json=lines_json,
        devices=tuple(devices),
    )


def refuse_shared_debtor(session: Session, data: OperationData) -> None:
    """A personal operation may not debit a shared account: its rule would be bypassed (422)."""
    if not isinstance(data, TransferData | BatchTransferData) or data.debtor_iban is None:
        return
    if session.scalars(select(Account.id).where(Account.iban == data.debtor_iban)).first():
        raise InvalidOperationData(
            "debtor_iban: a shared account (Sceau Pro); its operations are created with"
            ' "account", under its approval rule'
        )


def _member_of(session: Session, organisation_id: str, user_id: int) -> Member | None:
    return session.scalars(
        select(Member).where(Member.organisation_id == organisation_id, Member.user_id == user_id)
    ).first()


def validator_devices(session: Session, member_ids: frozenset[str] | set[str]) -> list[str]:
    """The active devices of these members."""
    if not member_ids:
        return []
    return list(
        session.scalars(
            select(Activation.id)
            .join(Member, Member.user_id == Activation.user_id)
            .where(Member.id.in_(sorted(member_ids)), Activation.status == "active")
            .order_by(Activation.id)
        ).all()
    )


def store_lines(session: Session, operation_id: str, lines_json: str) -> None:
    """Keep a batch's lines next to its operation."""
    session.add(BatchLines(operation_id=operation_id, lines=lines_json))


# --- devices: who decides, what they see --------------------------------------------------------


def account_validators(session: Session, account_id: str) -> frozenset[str]:
    """The account's members who hold the validate right, read now."""
    return validator_ids(account_members(session, account_id))


def decider(session: Session, row: AnyOperation, user: User) -> Member:
    """The member of ``row``'s account who is ``user``; they must hold the validate right.

    A member without validate is refused (403) before anything is counted; a user who is not
    a member does not see the operation (404).
    """
    assert row.account_id is not None
    account = session.get(Account, row.account_id)
    assert account is not None
    member = _member_of(session, account.organisation_id, user.id)
    if member is None:
        raise NotFound("No such operation.")
    if member.id not in account_validators(session, account.id):
        raise Forbidden("You cannot validate operations on this account.")
    return member


def refuse_if_decided(session: Session, row: AnyOperation, member: Member) -> None:
    """A member decides once, from any of their devices (409 before anything is counted)."""
    if member.id in decided_member_ids(session, row.id):
        raise Conflict("You have already decided on this operation.")


def decided_member_ids(session: Session, operation_id: str) -> set[str]:
    """The members who decided on the operation, from any of their devices."""
    return {
        member_id
        for member_id in session.scalars(
            select(Approval.member_id).where(Approval.operation_id == operation_id)
        ).all()
        if member_id is not None
    }


def pending_account_operations(session: Session, user_id: int, now: int) -> list[OperationRow]:
    """Pending operations of accounts where the user validates and has not decided yet."""
    memberships = session.scalars(select(Member).where(Member.user_id == user_id)).all()
    member_ids = {member.id for member in memberships}
    if not member_ids:
        return []
    accounts = session.scalars(
        select(AccountRight).where(AccountRight.member_id.in_(sorted(member_ids)))
    ).all()
    account_ids = sorted(
        right.account_id for right in accounts if Right.VALIDATE.value in json.loads(right.rights)
    )
    if not account_ids:
        return []
    rows = session.scalars(
        select(OperationRow)
        .where(
            OperationRow.account_id.in_(account_ids),
            OperationRow.status == "pending",
            OperationRow.expires_at > now,
        )
        .order_by(OperationRow.created_at)
    ).all()
    return [row for row in rows if not member_ids & decided_member_ids(session, row.id)]


def batch_lines_body(session: Session, row: AnyOperation, user: User) -> str:
    """The ``{"lines": [...]}`` document of a batch, for its user or an account's validator.

    A member of the account without the validate right is answered 404 like anyone else, so
    that the answer does not tell them the operation exists.
    """
    if row.account_id is not None:
        try:
            decider(session, row, user)
        except Forbidden as error:
            raise NotFound("No such operation.") from error
    elif row.user_id != user.id:
        raise NotFound("No such operation.")
    stored = session.get(BatchLines, row.id)
    if stored is None:
        raise NotFound("This operation has no lines.")
    return f'{{"lines":{stored.lines}}}'


# --- the rule in the decision path --------------------------------------------------------------


def _approvals(session: Session, operation_id: str) -> list[Approval]:
    return list(
        session.scalars(
            select(Approval).where(Approval.operation_id == operation_id).order_by(Approval.id)
        ).all()
    )


def evaluate_operation(session: Session, row: AnyOperation) -> RuleOutcome:
    """The rule snapshot of ``row`` against its decisions and the account's live validators."""
    assert row.account_id is not None
    assert row.rule is not None
    operation = Operation.from_json(json.loads(row.body))
    decisions = [
        (approval.member_id, Decision(approval.decision))
        for approval in _approvals(session, row.id)
        if approval.member_id is not None
    ]
    amount = _amount(operation.data)
    return evaluate(
        ApprovalRule.from_json(json.loads(row.rule)),
        operation_amount=amount,
        is_batch=operation.type is OperationType.BATCH_TRANSFER,
        eligible_validators=account_validators(session, row.account_id),
        approvals=decisions,
    )


def approvals_view(session: Session, row: AnyOperation) -> dict[str, Any]:
    """The view's ``account``, ``approvals`` (member, name, decision, at) and ``still_needed``."""
    if row.account_id is None:
        return {}
    account = session.get(Account, row.account_id)
    assert account is not None
    approvals = []
    for approval in _approvals(session, row.id):
        member = session.get(Member, approval.member_id) if approval.member_id else None
        approvals.append(
            {
                "member": approval.member_id,
                "name": None if member is None else member.display_name,
                "decision": approval.decision,
                "at": approval.created_at,
            }
        )
    view: dict[str, Any] = {"account": account.iban, "approvals": approvals}
    if row.status == "pending":
        outcome = evaluate_operation(session, row)
        view["still_needed"] = getattr(outcome, "still_needed", 0)
    return view


# --- rights changes, validated by the organisation's administrator ------------------------------


def _parse_rights(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        return ()
    try:
        member = AccountMember.from_json({"member": "m", "rights": raw}, field="")
    except MalformedInput as error:
        raise InvalidOperationData(str(error)) from error
    return tuple(member.to_json()["rights"])


def _with_rights(
    members: Sequence[AccountMember], member_id: str, rights: tuple[str, ...]
) -> list[AccountMember]:
    others = [member for member in members if member.member_id != member_id]
    if rights:
        others.append(AccountMember(member_id, frozenset(Right(right) for right in rights)))
    return others


def request_rights_change(
    ctx: ServerContext,
    session: Session,
    rp: RelyingParty,
    iban: str,
    request: dict[str, Any],
    idempotency_key: str | None,
    notes: list[tuple[str, str]],
) -> tuple[AnyOperation, bool]:
    """Create the ``rights_change`` operation the organisation's administrator approves.

    Nothing changes until it is approved; a change that would leave the account's rule
    impossible to meet is refused at once (422). A retry with the same ``idempotency_key`` and
    body answers the operation the first request made; return it and whether it is new.
    """
    now = ctx.now()
    request_hash = hashlib.sha256(
        json.dumps(
            {"account": iban.upper(), "rights_change": request},
            sort_keys=True,
            separators=(",", ":"),
        ).encode("ascii")
    ).hexdigest()
    if idempotency_key is not None:
        existing = repository.find_idempotent_operation(session, rp.id, idempotency_key)
        if existing is not None:
            if not secrets.compare_digest(existing.request_hash or "", request_hash):
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was used with another request body."
                )
            return existing, False
    account = find_account(session, rp, iban)
    member = session.get(Member, request["member"])
    if member is None or member.organisation_id != account.organisation_id:
        raise InvalidOperationData(f"member: not a member of {account.organisation_id}")
    admin_user = get_user(session, request["admin"])
    admin = _member_of(session, account.organisation_id, admin_user.id)
    if admin is None or not admin.admin:
        raise Forbidden("Only the organisation's administrator can approve a rights change.")
    members = account_members(session, account.id)
    before = next((tuple(m.to_json()["rights"]) for m in members if m.member_id == member.id), ())
    after = _parse_rights(request["rights"])
    if before == after:
        raise Conflict("The member already has these rights.")
    _check_rule(
        ApprovalRule.from_json(json.loads(account.rule)), _with_rights(members, member.id, after)
    )
    devices = session.scalars(
        select(Activation.id).where(
            Activation.user_id == admin_user.id, Activation.status == "active"
        )
    ).all()
    if not devices:
        raise Conflict("The administrator has no active device.")
    data = RightsChangeData(
        account_iban=account.iban,
        account_name=account.name,
        member=member.id,
        member_name=member.display_name,
        rights_before=before,
        rights_after=after,
    )
    try:
        operation = Operation.create(
            id=random_id("op"),
            type=OperationType.RIGHTS_CHANGE,
            data=data,
            context=RequestContext(),
            locale="en" if admin_user.locale == "en" else "fr",
            now=now,
            ttl=ctx.settings.ttl_for(OperationType.RIGHTS_CHANGE.value),
            rng=os.urandom,
        )
    except MalformedInput as error:
        raise InvalidOperationData(str(error)) from error
    from sceau_server.services.operations import store_new_operation

    row = store_new_operation(
        session,
        operation,
        signing_key=ctx.signing_key,
        rp_id=rp.id,
        user=admin_user,
        actor=rp.id,
        now=now,
        devices=devices,
        notes=notes,
        audit_data={"account": account.iban, "member": member.id},
        idempotency_key=idempotency_key,
        request_hash=request_hash,
    )
    return row, True


def settle_rights_change(
    ctx: ServerContext, session: Session, row: AnyOperation, status: str
) -> list[OperationRow]:
    """Apply an approved rights change (called by the operation's finalize).

    It applies only if its approver is still the organisation's administrator, the member's
    rights are still those the administrator saw and the rule can still be met with the new
    ones; otherwise it is recorded as not applied, with the reason. Return the account's pending
    operations that the new rights leave impossible to approve, for the caller to refuse.
    """
    if status != "approved":
        return []
    data = Operation.from_json(json.loads(row.body)).data
    assert isinstance(data, RightsChangeData)
    account = session.scalars(
        select(Account).where(Account.iban == data.account_iban).with_for_update()
    ).first()
    if account is None:
        return []
    members = account_members(session, account.id)
    current = next(
        (tuple(m.to_json()["rights"]) for m in members if m.member_id == data.member), ()
    )
    approver = session.scalars(
        select(Member)
        .where(Member.organisation_id == account.organisation_id, Member.user_id == row.user_id)
        .with_for_update()
    ).first()
    reason = None
    if approver is None or not approver.admin:
        reason = "the approver is no longer the organisation's administrator"
    elif current != data.rights_before:
        reason = "the member's rights changed since the request"
    applied = reason is None
    if applied:
        try:
            ApprovalRule.from_json(json.loads(account.rule)).check_members(
                _with_rights(members, data.member, data.rights_after)
            )
        except MalformedInput:
            applied = False
            reason = "the account's rule could no longer be met"
    if applied:
        right = session.get(AccountRight, (account.id, data.member))
        if not data.rights_after:
            if right is not None:
                session.delete(right)
        elif right is None:
            session.add(
                AccountRight(
                    account_id=account.id,
                    member_id=data.member,
                    rights=json.dumps(list(data.rights_after)),
                )
            )
        else:
            right.rights = json.dumps(list(data.rights_after))
        session.flush()
    audit(
        session,
        event="rights.changed" if applied else "rights.not_changed",
        now=ctx.now(),
        actor=row.decided_by or "server",
        subject=account.id,
        data={
            "operation": row.id,
            "member": data.member,
            "before": list(data.rights_before),
            "after": list(data.rights_after),
            **({} if reason is None else {"reason": reason}),
        },
    )
    return _impossible_operations(session, account.id, ctx.now()) if applied else []


def _impossible_operations(session: Session, account_id: str, now: int) -> list[OperationRow]:
    """The account's pending operations whose rule can no longer be met, locked."""
    rows = session.scalars(
        select(OperationRow)
        .where(
            OperationRow.account_id == account_id,
            OperationRow.status == "pending",
            OperationRow.expires_at > now,
        )
        .order_by(OperationRow.id)
        .with_for_update()
    ).all()
    return [row for row in rows if isinstance(evaluate_operation(session, row), Refused)]
