# SPDX-License-Identifier: Apache-2.0
"""The demo's company (Sceau Pro, issue 8): Atelier Dupont SARL and its shared account.

Three members, each a Sceau user with their own simulated phone, device and code (never a
shared credential): Claire Dupont (manager and the organisation's administrator: view,
prepare, validate), Bruno Lefèvre (finance director: view, validate) and Inès Moreau
(accountant: view, prepare, never asked to validate). One shared account, the suppliers'
account, whose approval rule asks for two distinct validators.

The company space of the bank imports a prepared SEPA file of 50 transfers
(``lot-fournisseurs-50.xml``, pain.001.001.03) through ``POST /v1/operations/pain001``; the bank
checks that Sceau recorded exactly the batch it sent (count, total, lines digest), follows the
signatures (the relying party's view: ``approvals``, ``still_needed``) and, once final, believes
only the result JWS verified with Sceau's JWKS. The file is sent as prepared the day of the import
(:func:`prepared_batch`): created that day, for execution two days later, as a company's software
would write it; the bank refuses an execution date in the past.

``company.json`` (mode 0600, beside ``demo.json``) keeps the members' demo credentials, printed
at every start like the other demo passwords: their password (and its scrypt hash, which the
login checks) and the Sceau code of their simulated phone, so that a visitor can play each
member. The batches the bank asked for are kept there too.
"""

from __future__ import annotations

import copy
import datetime
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from sqlalchemy import select

from sceau_core.errors import SceauError
from sceau_core.pain001 import parse_pain001
from sceau_device.authenticator import check_new_code
from sceau_device.errors import InputError
from sceau_server.demo import console
from sceau_server.demo.bank import FINAL, BankError, check_password, hash_password
from sceau_server.demo.config import write_private_json
from sceau_server.demo.phone import Phones
from sceau_server.demo.sceau_api import SceauApi, SceauProblem, UnverifiedResult
from sceau_server.services.context import ServerContext
from sceau_server.storage.models import (
    Account,
    AccountRight,
    Approval,
    Member,
    Operation,
    Organisation,
    User,
)

__all__ = [
    "ACCOUNT_IBAN",
    "ACCOUNT_NAME",
    "BATCH_FILE",
    "MEMBERS",
    "ORGANISATION_ID",
    "ORGANISATION_NAME",
    "PHONES",
    "Company",
    "CompanyMember",
    "company_overview",
    "prepared_batch",
    "signatures_text",
]

ORGANISATION_ID: Final = "atelier-dupont"
ORGANISATION_NAME: Final = "Atelier Dupont SARL"
ACCOUNT_IBAN: Final = "FR7630004021500700202601157"
ACCOUNT_NAME: Final = "Compte fournisseurs"
BATCH_FILE: Final = Path(__file__).parent / "lot-fournisseurs-50.xml"
_DATES: Final = re.compile(
    r"<CreDtTm>[0-9-]{10}(T[0-9:]{8}</CreDtTm>)|<ReqdExctnDt>[0-9-]{10}</ReqdExctnDt>"
)
RULE: Final[dict[str, Any]] = {
    "v": 1,
    "currency": "EUR",
    "tiers": [{"above": "0.00", "validators": 2}],
}


@dataclass(frozen=True)
class CompanyMember:
    """One member of the company: who they are, their phone, their rights on the account."""

    ident: str
    name: str
    role: str
    role_en: str
    phone: str
    rights: tuple[str, ...]
    admin: bool = False

    @property
    def can_prepare(self) -> bool:
        """Whether the member may submit operations on the account."""
        return "prepare" in self.rights or "validate" in self.rights

    @property
    def can_validate(self) -> bool:
        """Whether the member's approval counts (and they are asked)."""
        return "validate" in self.rights


MEMBERS: Final = (
    CompanyMember(
        "claire",
        "Claire Dupont",
        "Gérante",
        "Manager",
        "+33611220001",
        ("view", "prepare", "validate"),
        admin=True,
    ),
    CompanyMember(
        "bruno",
        "Bruno Lefèvre",
        "Directeur financier",
        "Finance director",
        "+33611220002",
        ("view", "validate"),
    ),
    CompanyMember(
        "ines", "Inès Moreau", "Comptable", "Accountant", "+33611220003", ("view", "prepare")
    ),
)
PHONES: Final = {member.ident: member.phone for member in MEMBERS}
RIGHTS: Final = {
    "fr": {"view": "consultation", "prepare": "préparation", "validate": "validation"},
    "en": {"view": "view", "prepare": "prepare", "validate": "validate"},
}


def prepared_batch(today: datetime.date) -> bytes:
    """:data:`BATCH_FILE` as prepared on ``today``: created then, to be executed two days later."""
    execution = today + datetime.timedelta(days=2)

    def dated(match: re.Match[str]) -> str:
        if match.group(1):
            return f"<CreDtTm>{today.isoformat()}{match.group(1)}"
        return f"<ReqdExctnDt>{execution.isoformat()}</ReqdExctnDt>"

    text, count = _DATES.subn(dated, BATCH_FILE.read_text("utf-8"))
    assert count == 2, "the prepared file has one CreDtTm and one ReqdExctnDt"
    return text.encode("utf-8")


def member_of(ident: object) -> CompanyMember | None:
    """The member whose identifier is ``ident``, if any."""
    return next((member for member in MEMBERS if member.ident == ident), None)


def signatures_text(collected: int, needed: int, lang: str) -> str:
    """``1 signature sur 2`` (``1 of 2 signatures``)."""
    if lang == "en":
        return f"{collected} of {needed} signature{'s' if needed > 1 else ''}"
    return f"{collected} signature{'s' if collected > 1 else ''} sur {needed}"


# The code the guides and tests suggest a visitor choose for Marie's phone: a member's seeded code
# never equals it, so that "the code Marie chose is written nowhere" keeps its meaning.
_VISITOR_CODE: Final = "4826"


def _random_code() -> str:
    while True:
        code = f"{secrets.randbelow(10_000):04d}"
        if code == _VISITOR_CODE:
            continue
        try:
            check_new_code(code)
        except InputError:
            continue
        return code


def _password() -> str:
    words = ("atelier", "rabot", "varlope", "chevron", "mortaise", "copeau", "gouge", "ciseau")
    return f"{secrets.choice(words)}-{secrets.randbelow(9000) + 1000}"


class Company:
    """The company's state at the bank and its conversation with Sceau (module docstring)."""

    def __init__(
        self, path: Path, api: SceauApi, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self.api = api
        self._clock = clock
        self._lock = threading.RLock()
        self._state: dict[str, Any] = {}

    # --- persistence ------------------------------------------------------------------------

    def load_or_create(self) -> None:
        """Read ``company.json``, or create it with fresh demo credentials."""
        with self._lock:
            if self.path.exists():
                self._state = json.loads(self.path.read_text(encoding="utf-8"))
                return
            members = {}
            for member in MEMBERS:
                password = _password()
                members[member.ident] = {
                    "password": password,
                    "password_hash": hash_password(password),
                    "code": _random_code(),
                }
            self._state = {"v": 1, "seeded": False, "members": members, "batches": {}}
            self._save()

    def _save(self) -> None:
        write_private_json(self.path, self._state)

    def credentials(self) -> list[tuple[CompanyMember, str, str]]:
        """Each member with their demo password and Sceau code (for the banner)."""
        with self._lock:
            return [
                (
                    member,
                    self._state["members"][member.ident]["password"],
                    self._state["members"][member.ident]["code"],
                )
                for member in MEMBERS
            ]

    def check_login(self, ident: str, password: str) -> bool:
        """Whether ``ident`` is a member and ``password`` theirs (scrypt, constant time)."""
        with self._lock:
            entry = self._state["members"].get(ident) if member_of(ident) else None
            stored = None if entry is None else entry["password_hash"]
        if stored is None:
            check_password(hash_password("x"), password)
            return False
        return check_password(stored, password)

    # --- first start --------------------------------------------------------------------------

    def seed(self, ctx: ServerContext, phones: Phones) -> None:
        """Provision the members, activate their phones, create the organisation and account.

        Idempotent like :func:`~sceau_server.demo.seed.seed_people`: an interrupted first start
        finishes on the next one.
        """
        for member in MEMBERS:
            self.api.put_user(
                member.ident, phone=member.phone, display_name=member.name, locale="fr"
            )
            phone = phones[member.ident]
            if phone.profile() is not None:
                continue
            activation = self.api.create_activation(member.ident)
            sms_code = console.activation_code_sms(ctx, member.phone)
            if sms_code is None:
                raise RuntimeError(f"the activation SMS of {member.ident} is missing")
            phone.start_activation(activation["qr_uri"])
            with self._lock:
                code = self._state["members"][member.ident]["code"]
            phone.finish_activation(
                device_name=f"Téléphone de {member.name}",
                sms_code=sms_code,
                code=code,
                confirm=code,
                biometrics=False,
            )
        with self._lock:
            if self._state.get("seeded"):
                return
        self.api.put_organisation(ORGANISATION_ID, name=ORGANISATION_NAME)
        ids = {
            member.ident: self.api.put_member(
                ORGANISATION_ID, member.ident, display_name=member.name, admin=member.admin
            )["id"]
            for member in MEMBERS
        }
        self.api.put_account(
            ACCOUNT_IBAN,
            {
                "organisation": ORGANISATION_ID,
                "currency": "EUR",
                "name": ACCOUNT_NAME,
                "rule": RULE,
                "members": [
                    {"member": ids[member.ident], "rights": list(member.rights)}
                    for member in MEMBERS
                ],
            },
        )
        with self._lock:
            self._state["member_ids"] = ids
            self._state["seeded"] = True
            self._save()

    # --- the account and its batches -----------------------------------------------------------

    def member_ids(self) -> dict[str, str]:
        """Each member's Sceau member id (``m_…``, what rules and rights name), by identifier."""
        with self._lock:
            return dict(self._state.get("member_ids") or {})

    def account(self) -> dict[str, Any]:
        """The shared account as Sceau has it: rule and every member's rights."""
        return self.api.account(ACCOUNT_IBAN)

    def import_batch(self, ident: str, *, idempotency_key: str | None) -> dict[str, Any]:
        """Submit the prepared pain.001 file for the account's validators to sign.

        Raises :class:`~sceau_server.demo.bank.BankError` with the member's words when the
        member may not prepare or Sceau refuses the file.
        """
        member = member_of(ident)
        if member is None or not member.can_prepare:
            raise BankError(
                "Vos droits sur ce compte ne permettent pas d’importer des virements.",
                "Your rights on this account do not allow importing transfers.",
            )
        today = datetime.datetime.fromtimestamp(self._clock()).date()
        content = prepared_batch(today)
        expected = parse_pain001(content, currency="EUR", today=today).to_data().to_json()
        try:
            view = self.api.create_pain001(
                ident, ACCOUNT_IBAN, content, idempotency_key=idempotency_key
            )
        except SceauProblem as problem:
            if problem.status == 403:
                raise BankError(
                    "Sceau refuse : vos droits sur ce compte ne permettent pas cette opération.",
                    "Sceau refuses: your rights on this account do not allow this operation.",
                ) from problem
            if problem.status == 409:
                raise BankError(
                    "Aucun valideur de ce compte n’a d’appareil Sceau actif.",
                    "None of this account’s validators has an active Sceau device.",
                ) from problem
            line = problem.problem.get("line")
            where = f" (ligne {line})" if line else ""
            where_en = f" (line {line})" if line else ""
            raise BankError(
                f"Fichier refusé par Sceau{where} : {problem.detail}",
                f"File refused by Sceau{where_en}: {problem.detail}",
            ) from problem
        if view["operation"]["data"] != expected:
            raise BankError(
                "Sceau n’a pas enregistré exactement le lot envoyé : rien n’est fait.",
                "Sceau did not record exactly the batch sent: nothing is done.",
            )
        with self._lock:
            known = self._state["batches"].get(view["id"])
            if known is not None:
                return copy.deepcopy(dict(known))
        data = view["operation"]["data"]
        record: dict[str, Any] = {
            "id": view["id"],
            "owner": ident,
            "digest": view["digest"],
            "display": view["operation"]["display"],
            "created_at": view["created_at"],
            "expires_at": view["expires_at"],
            "count": data["count"],
            "total": data["total"]["value"],
            "currency": data["total"]["currency"],
            "batch_reference": data.get("batch_reference"),
            "needed": int(view.get("still_needed") or 2),
            "approvals": [],
            "still_needed": view.get("still_needed"),
            "status": "pending",
            "verified": None,
            "claims": None,
            "kid": None,
            "result": None,
            "error": None,
        }
        with self._lock:
            self._state["batches"][record["id"]] = record
            self._save()
        return copy.deepcopy(record)

    def record(self, operation_id: str) -> dict[str, Any] | None:
        """A copy of a batch the bank asked for."""
        with self._lock:
            value = self._state["batches"].get(operation_id)
            return None if value is None else copy.deepcopy(value)

    def batches(self) -> list[dict[str, Any]]:
        """Every batch the bank asked for, newest first."""
        with self._lock:
            rows = [copy.deepcopy(row) for row in self._state["batches"].values()]
        return sorted(rows, key=lambda row: (-row["created_at"], row["id"]))

    def follow(self, operation_id: str, view: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Read the batch's signatures from Sceau; once final, verify the result JWS once."""
        record = self.record(operation_id)
        if record is None:
            raise KeyError(operation_id)
        if record["status"] != "pending":
            return record
        current = dict(view) if view is not None else self.api.operation(operation_id)
        with self._lock:
            stored = self._state["batches"][operation_id]
            if stored["status"] != "pending":
                return copy.deepcopy(stored)
            approvals = [
                {
                    "member": str(item.get("member")),
                    "name": str(item.get("name")),
                    "decision": str(item.get("decision")),
                    "at": item.get("at"),
                }
                for item in current.get("approvals") or []
            ]
            changed = approvals != stored["approvals"]
            stored.update(approvals=approvals, still_needed=current.get("still_needed"))
            if current["status"] in FINAL:
                try:
                    verified = self.api.verified_result(current, expected_digest=stored["digest"])
                except UnverifiedResult as error:
                    stored.update(status="unverified", verified=False, error=str(error))
                else:
                    claims = verified.claims.to_json()
                    stored.update(
                        status=claims["status"],
                        verified=True,
                        claims=claims,
                        kid=verified.kid,
                        result=verified.token,
                    )
                self._save()
            elif changed:
                self._save()
            return copy.deepcopy(stored)


def collected(record: Mapping[str, Any]) -> int:
    """How many members approved the batch so far."""
    return sum(1 for item in record["approvals"] if item["decision"] == "approve")


# --- the back-office's view ---------------------------------------------------------------------


def company_overview(ctx: ServerContext) -> list[dict[str, Any]]:
    """Every organisation: its members, accounts with rule and rights, and their operations."""
    with ctx.read() as session:
        result = []
        for organisation in session.scalars(select(Organisation).order_by(Organisation.name)):
            members = session.execute(
                select(Member, User.external_id)
                .join(User, User.id == Member.user_id)
                .where(Member.organisation_id == organisation.id)
                .order_by(Member.display_name, Member.id)
            ).all()
            names = {member.id: member.display_name for member, _ in members}
            accounts = []
            for account in session.scalars(
                select(Account).where(Account.organisation_id == organisation.id)
            ):
                rights = {
                    row.member_id: json.loads(row.rights)
                    for row in session.scalars(
                        select(AccountRight).where(AccountRight.account_id == account.id)
                    )
                }
                operations = []
                for operation in session.scalars(
                    select(Operation)
                    .where(Operation.account_id == account.id)
                    .order_by(Operation.created_at.desc(), Operation.id)
                    .limit(50)
                ):
                    approvals = session.scalars(
                        select(Approval)
                        .where(Approval.operation_id == operation.id)
                        .order_by(Approval.id)
                    ).all()
                    body = json.loads(operation.body)
                    data = body.get("data", {})
                    operations.append(
                        {
                            "id": operation.id,
                            "type": operation.type,
                            "status": operation.status,
                            "created_at": operation.created_at,
                            "title": body["display"][0],
                            "count": data.get("count"),
                            "total": (data.get("total") or data.get("amount") or {}).get("value"),
                            "signatories": [
                                {
                                    "name": names.get(approval.member_id or "", "?"),
                                    "member": approval.member_id,
                                    "decision": approval.decision,
                                    "at": approval.created_at,
                                }
                                for approval in approvals
                            ],
                        }
                    )
                accounts.append(
                    {
                        "iban": account.iban,
                        "name": account.name,
                        "currency": account.currency,
                        "rule": _rule_summary(account.rule),
                        "rights": rights,
                        "operations": operations,
                    }
                )
            result.append(
                {
                    "id": organisation.id,
                    "name": organisation.name,
                    "created_at": organisation.created_at,
                    "members": [
                        {
                            "id": member.id,
                            "user": user,
                            "name": member.display_name,
                            "admin": member.admin,
                        }
                        for member, user in members
                    ],
                    "accounts": accounts,
                }
            )
        return result


def _rule_summary(text: str) -> list[dict[str, Any]]:
    try:
        rule = json.loads(text)
        return [
            {
                "above": Decimal(str(tier["above"])),
                "validators": int(tier["validators"]),
                "batch_validators": tier.get("batch_validators"),
                "required": list(tier.get("required") or []),
            }
            for tier in rule["tiers"]
        ]
    except (ValueError, KeyError, TypeError, SceauError):
        return []
