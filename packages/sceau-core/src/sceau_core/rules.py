# SPDX-License-Identifier: Apache-2.0
"""Approval rules of a shared business account (brief B1, issue 8): who must approve, how many.

A company's account has members, each with rights on that account (:class:`Right`: view,
prepare, validate) and each with their own device and code: no credential is ever shared. Only
the members with the ``validate`` right are *eligible validators*: nobody else is asked, and
nobody else's decision ever counts.

An :class:`ApprovalRule` is a list of :class:`Tier` in increasing amount order, in the account's
currency. A tier applies to the amounts strictly above its threshold ``above`` (the first tier's
threshold is zero), up to the next tier's threshold included. It asks for a minimum number of
**distinct** validators, optionally for named members among them, and optionally for a higher
minimum when the operation is a batch. The issue's example::

    up to 10 000 EUR one validator; above, two distinct validators;
    a named validator required above 100 000 EUR; batches always two

is, in the JSON form that the server stores and a bank configures::

    {"v": 1, "currency": "EUR", "tiers": [
      {"above": "0.00",      "validators": 1, "batch_validators": 2},
      {"above": "10000.00",  "validators": 2},
      {"above": "100000.00", "validators": 2, "required": ["m_ceo"]}]}

A rule can never make a larger amount easier to approve: thresholds strictly increase, the
minimum (for single operations and for batches) never decreases from one tier to the next, and
each tier's named members include the previous tier's. The constructor refuses anything else.

:func:`evaluate` is a pure function of the rule, the operation's amount, whether it is a batch,
the eligible validators and the decisions collected so far, taken as a **set**: the order in
which decisions arrive never changes the outcome. The outcome is

- :class:`Refused` as soon as any eligible validator refuses (``reject`` or ``not_me``; ``not_me``
  wins, the operation is then suspected fraud) or the rule can no longer be met (too few eligible
  validators left, a named member who cannot validate);
- :class:`Approved` when enough distinct eligible validators, the named ones among them, have
  approved; ``signatories`` lists every one of them, to be kept and shown in the result;
- :class:`Pending` otherwise, with how many approvals are still needed and who can still give one.

The same member approving twice counts once. This module does no I/O: the server stores the
rule as JSON, maps each approval's activation to its member, and calls :func:`evaluate` after
every verified decision.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, TypeAlias

from babel.numbers import get_currency_precision

from sceau_core.approval import Decision
from sceau_core.errors import InvalidOperation, InvalidRule, MalformedInput
from sceau_core.money import Amount

__all__ = [
    "MAX_REQUIRED",
    "MAX_TIERS",
    "MAX_VALIDATORS",
    "AccountMember",
    "ApprovalRule",
    "Approved",
    "OutcomeStatus",
    "Pending",
    "RefusalReason",
    "Refused",
    "Requirement",
    "Right",
    "RuleOutcome",
    "Tier",
    "evaluate",
    "validator_ids",
]

MAX_TIERS: Final = 16
"""Most tiers in one rule."""

MAX_VALIDATORS: Final = 32
"""Highest minimum number of validators a tier may ask for."""

MAX_REQUIRED: Final = 8
"""Most named members a tier may require."""

_MEMBER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class Right(StrEnum):
    """A member's right on one account (Banque Populaire's consultation, gestion, validation)."""

    VIEW = "view"
    PREPARE = "prepare"
    VALIDATE = "validate"


_RIGHT_ORDER: Final = tuple(Right)


def _check_member_id(value: object, *, field: str) -> str:
    if not isinstance(value, str) or not _MEMBER_ID.fullmatch(value):
        raise InvalidRule(f"{field}: must be 1 to 64 characters among A-Z, a-z, 0-9, _ and -")
    return value


def _check_count(value: object, *, field: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRule(f"{field}: must be an integer")
    if not minimum <= value <= maximum:
        raise InvalidRule(f"{field}: must be between {minimum} and {maximum}")
    return value


def _path(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def _object(
    obj: object, *, field: str, required: Sequence[str], optional: Sequence[str] = ()
) -> dict[str, Any]:
    """Check that ``obj`` is a JSON object with exactly the allowed members, none ``null``."""
    if not isinstance(obj, dict):
        raise InvalidRule(f"{field}: must be a JSON object" if field else "must be a JSON object")
    for key, value in obj.items():
        if key not in required and key not in optional:
            raise InvalidRule(f"{_path(field, str(key))}: unknown field")
        if value is None:
            raise InvalidRule(f"{_path(field, key)}: must not be null (omit it instead)")
    for key in required:
        if key not in obj:
            raise InvalidRule(f"{_path(field, key)}: missing")
    return obj


def _string_list(value: object, *, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidRule(f"{field}: must be a JSON array")
    return value


@dataclass(frozen=True)
class AccountMember:
    """A member of a company with their rights on one account.

    JSON form: ``{"member": "m_alice", "rights": ["view", "validate"]}``; rights are distinct,
    at least one, written in the order view, prepare, validate.
    """

    member_id: str
    rights: frozenset[Right]

    def __post_init__(self) -> None:
        _check_member_id(self.member_id, field="member")
        if not isinstance(self.rights, frozenset) or not self.rights:
            raise InvalidRule("rights: must be a non-empty frozenset of Right")
        if not all(isinstance(right, Right) for right in self.rights):
            raise InvalidRule("rights: each right must be a Right")

    @property
    def can_validate(self) -> bool:
        """Whether this member may approve operations on the account."""
        return Right.VALIDATE in self.rights

    @classmethod
    def from_json(cls, obj: object, *, field: str = "") -> AccountMember:
        """Parse ``{"member", "rights"}`` strictly."""
        value = _object(obj, field=field, required=("member", "rights"))
        prefix = f"{field}." if field else ""
        rights: list[Right] = []
        for index, item in enumerate(_string_list(value["rights"], field=_path(field, "rights"))):
            try:
                right = Right(item) if isinstance(item, str) else None
            except ValueError:
                right = None
            if right is None:
                names = ", ".join(member.value for member in Right)
                raise InvalidRule(f"{prefix}rights[{index}]: must be one of {names}")
            if right in rights:
                raise InvalidRule(f"{prefix}rights[{index}]: {right.value} is listed twice")
            rights.append(right)
        if rights != sorted(rights, key=_RIGHT_ORDER.index):
            raise InvalidRule(f"{prefix}rights: must be in the order view, prepare, validate")
        try:
            return cls(member_id=value["member"], rights=frozenset(rights))
        except InvalidRule as error:
            raise InvalidRule(f"{prefix}{error}") from error

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "member": self.member_id,
            "rights": [right.value for right in _RIGHT_ORDER if right in self.rights],
        }


def validator_ids(members: Iterable[AccountMember]) -> frozenset[str]:
    """The ids of the members who hold the ``validate`` right: the only ones who count."""
    return frozenset(member.member_id for member in members if member.can_validate)


@dataclass(frozen=True)
class Tier:
    """One step of a rule: what an amount strictly above ``above`` needs.

    ``validators`` is the minimum number of distinct eligible validators; ``required`` the
    members who must be among them (so ``validators`` is at least their number);
    ``batch_validators``, when set, the minimum for a batch, if higher than ``validators``.
    """

    above: Decimal
    validators: int
    required: frozenset[str] = field(default_factory=frozenset)
    batch_validators: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.above, Decimal) or not self.above.is_finite():
            raise InvalidRule("above: must be a finite Decimal")
        _check_count(self.validators, field="validators", minimum=1, maximum=MAX_VALIDATORS)
        if not isinstance(self.required, frozenset):
            raise InvalidRule("required: must be a frozenset of member ids")
        if len(self.required) > MAX_REQUIRED:
            raise InvalidRule(f"required: at most {MAX_REQUIRED} named members")
        for member in sorted(self.required, key=str):
            _check_member_id(member, field="required")
        if len(self.required) > self.validators:
            raise InvalidRule(
                f"validators: {self.validators} is fewer than the {len(self.required)}"
                " required members"
            )
        if self.batch_validators is not None:
            _check_count(
                self.batch_validators,
                field="batch_validators",
                minimum=1,
                maximum=MAX_VALIDATORS,
            )

    def minimum(self, *, is_batch: bool) -> int:
        """The number of distinct validators this tier needs for a batch or a single operation."""
        if is_batch and self.batch_validators is not None:
            return max(self.validators, self.batch_validators)
        return self.validators


@dataclass(frozen=True)
class Requirement:
    """What one operation needs under a rule: its tier (0-based), how many, and whom."""

    tier: int
    validators: int
    required: frozenset[str]


@dataclass(frozen=True)
class ApprovalRule:
    """An account's approval rule: tiers in increasing amount order, in ``currency``.

    See the module docstring for the JSON form and the constraints checked at construction.
    """

    currency: str
    tiers: tuple[Tier, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.currency, str):
            raise InvalidRule("currency: must be a string")
        try:
            Amount(Decimal(0).scaleb(-get_currency_precision(self.currency)), self.currency)
        except MalformedInput as error:
            raise InvalidRule(f"currency: {error}") from error
        if not isinstance(self.tiers, tuple) or not 1 <= len(self.tiers) <= MAX_TIERS:
            raise InvalidRule(f"tiers: must be a tuple of 1 to {MAX_TIERS} tiers")
        previous: Tier | None = None
        for index, tier in enumerate(self.tiers):
            where = f"tiers[{index}]"
            if not isinstance(tier, Tier):
                raise InvalidRule(f"{where}: must be a Tier")
            self._check_threshold(tier.above, where=where)
            if previous is None:
                if tier.above != 0:
                    raise InvalidRule(f"{where}.above: the first tier starts at zero")
            else:
                self._check_monotone(previous, tier, where=where)
            previous = tier

    def _threshold(self, above: Decimal) -> Amount:
        """``above`` as an amount of the currency: ``Decimal(10000)`` is 10 000,00 €."""
        return Amount(
            above.quantize(Decimal(1).scaleb(-get_currency_precision(self.currency))), self.currency
        )

    def _check_threshold(self, above: Decimal, *, where: str) -> None:
        try:
            threshold = self._threshold(above)
        except (MalformedInput, ArithmeticError) as error:
            raise InvalidRule(f"{where}.above: {error}") from error
        if threshold.value != above:
            raise InvalidRule(f"{where}.above: {above} has more decimals than {self.currency}")

    @staticmethod
    def _check_monotone(previous: Tier, tier: Tier, *, where: str) -> None:
        if tier.above <= previous.above:
            raise InvalidRule(f"{where}.above: thresholds must strictly increase")
        if tier.validators < previous.validators:
            raise InvalidRule(f"{where}.validators: a larger amount cannot need fewer validators")
        if tier.minimum(is_batch=True) < previous.minimum(is_batch=True):
            raise InvalidRule(
                f"{where}.batch_validators: a larger batch cannot need fewer validators"
            )
        if not previous.required <= tier.required:
            missing = ", ".join(sorted(previous.required - tier.required))
            raise InvalidRule(
                f"{where}.required: must keep the members required below it ({missing})"
            )

    # --- evaluation ----------------------------------------------------------------------------

    def requirement(self, operation_amount: Amount | None, *, is_batch: bool) -> Requirement:
        """What an operation of ``operation_amount`` needs (the first tier when ``None``).

        An operation without an amount (a new payee, an e-signature, a rights change) falls in
        the first tier. The amount must be in the rule's currency; comparisons are exact.
        """
        index = 0
        if operation_amount is not None:
            if not isinstance(operation_amount, Amount):
                raise InvalidRule("operation_amount: must be an Amount or None")
            if operation_amount.currency != self.currency:
                raise InvalidOperation(
                    f"amount.currency: {operation_amount.currency} differs from the account"
                    f" currency {self.currency}"
                )
            for position, tier in enumerate(self.tiers):
                if operation_amount.value > tier.above:
                    index = position
        tier = self.tiers[index]
        return Requirement(
            tier=index, validators=tier.minimum(is_batch=is_batch), required=tier.required
        )

    def check_members(self, members: Iterable[AccountMember]) -> None:
        """Raise :class:`InvalidRule` unless every tier can be met by these members.

        Meant for configuration time: a rule that names a member without the validate right,
        or asks for more validators than the account has, is refused with the tier named.
        """
        eligible = validator_ids(members)
        for index, tier in enumerate(self.tiers):
            cannot = sorted(tier.required - eligible)
            if cannot:
                raise InvalidRule(
                    f"tiers[{index}].required: {', '.join(cannot)} cannot validate on this account"
                )
            needed = tier.minimum(is_batch=True)
            if needed > len(eligible):
                raise InvalidRule(
                    f"tiers[{index}]: needs {needed} validators, the account has {len(eligible)}"
                )

    # --- JSON ------------------------------------------------------------------------------------

    @classmethod
    def from_json(cls, obj: object) -> ApprovalRule:
        """Parse the JSON form strictly: unknown, missing or ``null`` members are refused.

        Thresholds are decimal strings with exactly the currency's number of decimals
        (``"10000.00"`` in EUR), never JSON numbers; member lists are sorted and distinct, so
        one rule has exactly one JSON form.
        """
        value = _object(obj, field="", required=("v", "currency", "tiers"))
        if isinstance(value["v"], bool) or value["v"] != 1:
            raise InvalidRule("v: must be 1")
        currency = value["currency"]
        if not isinstance(currency, str):
            raise InvalidRule("currency: must be a string")
        items = value["tiers"]
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_TIERS:
            raise InvalidRule(f"tiers: must be a JSON array of 1 to {MAX_TIERS} tiers")
        tiers = tuple(
            _tier_from_json(item, currency=currency, field=f"tiers[{index}]")
            for index, item in enumerate(items)
        )
        return cls(currency=currency, tiers=tiers)

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form (see the module docstring)."""
        tiers = []
        for tier in self.tiers:
            item: dict[str, Any] = {
                "above": str(self._threshold(tier.above)),
                "validators": tier.validators,
            }
            if tier.required:
                item["required"] = sorted(tier.required)
            if tier.batch_validators is not None:
                item["batch_validators"] = tier.batch_validators
            tiers.append(item)
        return {"v": 1, "currency": self.currency, "tiers": tiers}


def _tier_from_json(obj: object, *, currency: str, field: str) -> Tier:
    value = _object(
        obj,
        field=field,
        required=("above", "validators"),
        optional=("required", "batch_validators"),
    )
    above = value["above"]
    if not isinstance(above, str):
        raise InvalidRule(f'{field}.above: must be a decimal string such as "10000.00"')
    try:
        threshold = Amount.parse(above, currency, field=f"{field}.above").value
    except MalformedInput as error:
        raise InvalidRule(str(error)) from error
    required: list[str] = []
    if "required" in value:
        listed = _string_list(value["required"], field=f"{field}.required")
        if not listed:
            raise InvalidRule(f"{field}.required: omit it rather than leave it empty")
        for index, member in enumerate(listed):
            required.append(_check_member_id(member, field=f"{field}.required[{index}]"))
        if required != sorted(set(required)):
            raise InvalidRule(f"{field}.required: must be sorted and distinct")
    try:
        return Tier(
            above=threshold,
            validators=value["validators"],
            required=frozenset(required),
            batch_validators=value.get("batch_validators"),
        )
    except InvalidRule as error:
        raise InvalidRule(f"{field}.{error}") from error


# --- outcomes -------------------------------------------------------------------------------------


class OutcomeStatus(StrEnum):
    """Where an operation stands under its rule."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class RefusalReason(StrEnum):
    """Why a rule refused an operation."""

    REJECTED = "rejected"
    """An eligible validator refused it."""

    NOT_ME = "not_me"
    """An eligible validator said "Ce n’est pas moi": suspected fraud (brief D5)."""

    CANNOT_BE_MET = "cannot_be_met"
    """Too few eligible validators are left, or a required member cannot validate."""


@dataclass(frozen=True)
class Pending:
    """The rule is not met yet and can still be.

    ``signatories`` are the distinct eligible validators who approved so far (sorted);
    ``still_needed`` how many more distinct approvals are needed; ``missing_required`` the
    named members who still have to approve; ``who_can_still_approve`` the eligible validators
    whose approval would still count (sorted): the named members still missing, plus every
    other validator who has not approved while there are places beyond the named ones.
    """

    requirement: Requirement
    signatories: tuple[str, ...]
    still_needed: int
    missing_required: tuple[str, ...]
    who_can_still_approve: tuple[str, ...]

    @property
    def status(self) -> OutcomeStatus:
        """Always :attr:`OutcomeStatus.PENDING`."""
        return OutcomeStatus.PENDING


@dataclass(frozen=True)
class Approved:
    """The rule is met; ``signatories`` are every distinct eligible validator who approved."""

    requirement: Requirement
    signatories: tuple[str, ...]

    @property
    def status(self) -> OutcomeStatus:
        """Always :attr:`OutcomeStatus.APPROVED`."""
        return OutcomeStatus.APPROVED


@dataclass(frozen=True)
class Refused:
    """The operation is refused; ``by`` lists the validators who refused (sorted, maybe none).

    ``signatories`` keeps the approvals given before the refusal, for the record; ``detail``
    says why in plain English, for logs and the audit trail (never shown as is to customers).
    """

    requirement: Requirement
    reason: RefusalReason
    by: tuple[str, ...]
    signatories: tuple[str, ...]
    detail: str

    @property
    def status(self) -> OutcomeStatus:
        """Always :attr:`OutcomeStatus.REFUSED`."""
        return OutcomeStatus.REFUSED


RuleOutcome: TypeAlias = Pending | Approved | Refused


def evaluate(
    rule: ApprovalRule,
    *,
    operation_amount: Amount | None,
    is_batch: bool,
    eligible_validators: Collection[str],
    approvals: Sequence[tuple[str, Decision]],
) -> RuleOutcome:
    """Evaluate ``rule`` for one operation against the decisions collected so far.

    ``eligible_validators`` are the ids of the account's members who hold the validate right
    (see :func:`validator_ids`); ``approvals`` the ``(member_id, decision)`` pairs of the
    verified decisions, in any order. Decisions of other members are ignored: they are never
    counted and never refuse. The outcome depends only on the set of decisions (see the module
    docstring), so the server can evaluate after each decision, under the operation's lock, and
    finalize the operation when the outcome stops being :class:`Pending`.
    """
    if not isinstance(rule, ApprovalRule):
        raise InvalidRule("rule: must be an ApprovalRule")
    if not isinstance(is_batch, bool):
        raise InvalidRule("is_batch: must be a boolean")
    requirement = rule.requirement(operation_amount, is_batch=is_batch)
    if isinstance(eligible_validators, str):
        raise InvalidRule("eligible_validators: must be a collection of member ids")
    eligible = frozenset(
        _check_member_id(member, field="eligible_validators") for member in eligible_validators
    )
    approved: set[str] = set()
    rejected: set[str] = set()
    not_me: set[str] = set()
    for index, pair in enumerate(approvals):
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise InvalidRule(f"approvals[{index}]: must be a (member_id, decision) pair")
        member, decision = pair
        _check_member_id(member, field=f"approvals[{index}].member_id")
        if not isinstance(decision, Decision):
            raise InvalidRule(f"approvals[{index}].decision: must be a Decision")
        if member not in eligible:
            continue
        {Decision.APPROVE: approved, Decision.REJECT: rejected, Decision.NOT_ME: not_me}[
            decision
        ].add(member)
    signatories = tuple(sorted(approved))
    if not_me or rejected:
        reason = RefusalReason.NOT_ME if not_me else RefusalReason.REJECTED
        by = tuple(sorted(not_me | rejected))
        return Refused(
            requirement=requirement,
            reason=reason,
            by=by,
            signatories=signatories,
            detail=f"refused by {', '.join(by)}",
        )
    cannot = sorted(requirement.required - eligible)
    if cannot:
        return Refused(
            requirement=requirement,
            reason=RefusalReason.CANNOT_BE_MET,
            by=(),
            signatories=signatories,
            detail=f"required member(s) {', '.join(cannot)} cannot validate on this account",
        )
    if len(eligible) < requirement.validators:
        return Refused(
            requirement=requirement,
            reason=RefusalReason.CANNOT_BE_MET,
            by=(),
            signatories=signatories,
            detail=(
                f"needs {requirement.validators} distinct validators,"
                f" only {len(eligible)} can validate"
            ),
        )
    missing_required = requirement.required - approved
    still_needed = max(requirement.validators - len(approved), len(missing_required))
    if still_needed == 0:
        return Approved(requirement=requirement, signatories=signatories)
    free_places = still_needed > len(missing_required)
    candidates = set(missing_required)
    if free_places:
        candidates |= eligible - approved
    return Pending(
        requirement=requirement,
        signatories=signatories,
        still_needed=still_needed,
        missing_required=tuple(sorted(missing_required)),
        who_can_still_approve=tuple(sorted(candidates)),
    )
