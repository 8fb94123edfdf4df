# SPDX-License-Identifier: Apache-2.0
"""Approval rules of shared accounts (brief B1, issue 8): tiers, distinct validators, outcomes."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceau_core.approval import Decision
from sceau_core.display import render_rule_lines, signatures_collected, signatures_needed
from sceau_core.errors import InvalidOperation, InvalidRule, MalformedInput
from sceau_core.money import Amount
from sceau_core.rules import (
    AccountMember,
    ApprovalRule,
    Approved,
    OutcomeStatus,
    Pending,
    RefusalReason,
    Refused,
    Right,
    RuleOutcome,
    Tier,
    evaluate,
    validator_ids,
)

APPROVE, REJECT, NOT_ME = Decision.APPROVE, Decision.REJECT, Decision.NOT_ME

# The issue's example: up to 10 000 EUR one validator; above, two distinct validators; a named
# validator required above 100 000 EUR; batches always two.
ISSUE_RULE: dict[str, Any] = {
    "v": 1,
    "currency": "EUR",
    "tiers": [
        {"above": "0.00", "validators": 1, "batch_validators": 2},
        {"above": "10000.00", "validators": 2},
        {"above": "100000.00", "validators": 2, "required": ["m_ceo"]},
    ],
}
TWO_OF_THREE: dict[str, Any] = {
    "v": 1,
    "currency": "EUR",
    "tiers": [{"above": "0.00", "validators": 2}],
}

MEMBERS = (
    AccountMember("m_alice", frozenset({Right.VIEW, Right.VALIDATE})),
    AccountMember("m_bruno", frozenset({Right.VIEW, Right.PREPARE, Right.VALIDATE})),
    AccountMember("m_ceo", frozenset({Right.VALIDATE})),
    AccountMember("m_dora", frozenset({Right.VIEW, Right.PREPARE})),  # prepares, never validates
)
ELIGIBLE = validator_ids(MEMBERS)


def eur(value: str) -> Amount:
    return Amount.parse(value, "EUR")


def run(
    rule: dict[str, Any] | ApprovalRule,
    approvals: list[tuple[str, Decision]],
    *,
    amount: str | None = "500.00",
    is_batch: bool = False,
    eligible: frozenset[str] = ELIGIBLE,
) -> RuleOutcome:
    parsed = rule if isinstance(rule, ApprovalRule) else ApprovalRule.from_json(rule)
    return evaluate(
        parsed,
        operation_amount=None if amount is None else eur(amount),
        is_batch=is_batch,
        eligible_validators=eligible,
        approvals=approvals,
    )


# --- the issue's cases ------------------------------------------------------------------------


def test_two_of_three_is_pending_after_one_then_approved_after_two() -> None:
    first = run(TWO_OF_THREE, [("m_alice", APPROVE)])
    assert first == Pending(
        requirement=first.requirement,
        signatories=("m_alice",),
        still_needed=1,
        missing_required=(),
        who_can_still_approve=("m_bruno", "m_ceo"),
    )
    second = run(TWO_OF_THREE, [("m_alice", APPROVE), ("m_ceo", APPROVE)])
    assert isinstance(second, Approved)
    assert second.signatories == ("m_alice", "m_ceo")
    assert second.status is OutcomeStatus.APPROVED


def test_the_same_member_approving_twice_counts_once() -> None:
    outcome = run(TWO_OF_THREE, [("m_alice", APPROVE), ("m_alice", APPROVE)])
    assert isinstance(outcome, Pending)
    assert outcome.still_needed == 1
    assert outcome.signatories == ("m_alice",)


@pytest.mark.parametrize(
    ("decision", "reason"), [(REJECT, RefusalReason.REJECTED), (NOT_ME, RefusalReason.NOT_ME)]
)
def test_one_refusal_ends_it(decision: Decision, reason: RefusalReason) -> None:
    outcome = run(TWO_OF_THREE, [("m_alice", APPROVE), ("m_bruno", decision)])
    assert isinstance(outcome, Refused)
    assert (outcome.reason, outcome.by, outcome.signatories) == (
        reason,
        ("m_bruno",),
        ("m_alice",),
    )
    # Even once two validators approved, a refusal in the same set refuses.
    late = run(TWO_OF_THREE, [("m_alice", APPROVE), ("m_ceo", APPROVE), ("m_bruno", decision)])
    assert isinstance(late, Refused)


def test_not_me_wins_over_a_plain_refusal() -> None:
    outcome = run(TWO_OF_THREE, [("m_alice", REJECT), ("m_bruno", NOT_ME)])
    assert isinstance(outcome, Refused)
    assert outcome.reason is RefusalReason.NOT_ME
    assert outcome.by == ("m_alice", "m_bruno")


def test_a_member_without_the_validate_right_never_counts_nor_refuses() -> None:
    assert "m_dora" not in ELIGIBLE
    outcome = run(TWO_OF_THREE, [("m_alice", APPROVE), ("m_dora", APPROVE)])
    assert isinstance(outcome, Pending)
    assert outcome.signatories == ("m_alice",)
    assert "m_dora" not in outcome.who_can_still_approve
    assert run(TWO_OF_THREE, [("m_dora", REJECT)]) == run(TWO_OF_THREE, [])
    # Nor does somebody who is not a member at all.
    assert run(TWO_OF_THREE, [("m_mallory", APPROVE), ("m_alice", APPROVE)]) == outcome


# --- tiers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "is_batch", "tier", "validators", "required"),
    [
        ("0.01", False, 0, 1, ()),
        ("10000.00", False, 0, 1, ()),  # "up to" includes the threshold
        ("10000.01", False, 1, 2, ()),  # "above" starts one cent later
        ("100000.00", False, 1, 2, ()),
        ("100000.01", False, 2, 2, ("m_ceo",)),
        ("9999999999999.99", False, 2, 2, ("m_ceo",)),
        ("50.00", True, 0, 2, ()),  # batches always two
        ("150000.00", True, 2, 2, ("m_ceo",)),
        (None, False, 0, 1, ()),  # no amount: the first tier
    ],
)
def test_the_tier_is_chosen_by_exact_decimal_comparison(
    amount: str | None, is_batch: bool, tier: int, validators: int, required: tuple[str, ...]
) -> None:
    rule = ApprovalRule.from_json(ISSUE_RULE)
    requirement = rule.requirement(None if amount is None else eur(amount), is_batch=is_batch)
    assert (requirement.tier, requirement.validators) == (tier, validators)
    assert requirement.required == frozenset(required)


def test_a_named_validator_above_100000_is_required() -> None:
    approvals = [("m_alice", APPROVE), ("m_bruno", APPROVE)]
    outcome = run(ISSUE_RULE, approvals, amount="150000.00")
    assert isinstance(outcome, Pending)
    assert (outcome.still_needed, outcome.missing_required) == (1, ("m_ceo",))
    # Two distinct validators are there: only the named one can still help.
    assert outcome.who_can_still_approve == ("m_ceo",)
    done = run(ISSUE_RULE, [*approvals, ("m_ceo", APPROVE)], amount="150000.00")
    assert isinstance(done, Approved)
    assert done.signatories == ("m_alice", "m_bruno", "m_ceo")
    # The named validator and one other are enough.
    assert isinstance(
        run(ISSUE_RULE, [("m_ceo", APPROVE), ("m_bruno", APPROVE)], amount="150000.00"), Approved
    )
    only_ceo = run(ISSUE_RULE, [("m_ceo", APPROVE)], amount="150000.00")
    assert isinstance(only_ceo, Pending)
    assert only_ceo.who_can_still_approve == ("m_alice", "m_bruno")


def test_one_validator_below_10000_and_batches_always_two() -> None:
    assert isinstance(run(ISSUE_RULE, [("m_bruno", APPROVE)], amount="9000.00"), Approved)
    batch = run(ISSUE_RULE, [("m_bruno", APPROVE)], amount="9000.00", is_batch=True)
    assert isinstance(batch, Pending)
    assert batch.still_needed == 1


def test_refused_when_the_rule_can_no_longer_be_met() -> None:
    too_few = run(TWO_OF_THREE, [("m_alice", APPROVE)], eligible=frozenset({"m_alice"}))
    assert isinstance(too_few, Refused)
    assert too_few.reason is RefusalReason.CANNOT_BE_MET
    assert too_few.by == ()
    # The named validator lost the validate right: above 100 000 EUR nothing can pass.
    without_ceo = frozenset({"m_alice", "m_bruno"})
    big = run(ISSUE_RULE, [], amount="250000.00", eligible=without_ceo)
    assert isinstance(big, Refused)
    assert big.reason is RefusalReason.CANNOT_BE_MET
    assert "m_ceo" in big.detail
    # Smaller amounts are still fine.
    assert isinstance(run(ISSUE_RULE, [], amount="20000.00", eligible=without_ceo), Pending)


def test_the_amount_must_be_in_the_account_currency() -> None:
    rule = ApprovalRule.from_json(ISSUE_RULE)
    with pytest.raises(InvalidOperation, match="USD differs from the account currency EUR"):
        evaluate(
            rule,
            operation_amount=Amount.parse("10.00", "USD"),
            is_batch=False,
            eligible_validators=ELIGIBLE,
            approvals=[],
        )


def test_evaluation_inputs_are_checked() -> None:
    rule = ApprovalRule.from_json(TWO_OF_THREE)
    bad: list[dict[str, Any]] = [
        {"eligible_validators": "m_alice"},
        {"eligible_validators": ["bad id"]},
        {"approvals": [("m_alice", "approve")]},
        {"approvals": [("m alice", APPROVE)]},
        {"approvals": [("m_alice",)]},
        {"is_batch": 1},
    ]
    for override in bad:
        arguments: dict[str, Any] = {
            "operation_amount": None,
            "is_batch": False,
            "eligible_validators": ELIGIBLE,
            "approvals": [],
            **override,
        }
        with pytest.raises(InvalidRule):
            evaluate(rule, **arguments)


# --- JSON form --------------------------------------------------------------------------------


def test_json_round_trip_is_exact() -> None:
    rule = ApprovalRule.from_json(ISSUE_RULE)
    assert rule.to_json() == ISSUE_RULE
    assert ApprovalRule.from_json(json.loads(json.dumps(rule.to_json()))) == rule
    assert rule.tiers[2] == Tier(
        above=Decimal("100000.00"), validators=2, required=frozenset({"m_ceo"})
    )


def _rule_with(**changes: Any) -> dict[str, Any]:
    rule: dict[str, Any] = json.loads(json.dumps(ISSUE_RULE))
    for path, value in changes.items():
        target: Any = rule
        *parents, last = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value
    return rule


_DELETE = object()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"v": 2}, "v: must be 1"),
        ({"extra": 1}, "extra: unknown field"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": None}, "must not be null"),
        ({"tiers": []}, "tiers"),
        ({"tiers__0__above": 0}, "decimal string"),
        ({"tiers__0__above": "1.00"}, "first tier starts at zero"),
        ({"tiers__1__above": "10000.0"}, "exactly 2 decimals"),
        ({"tiers__1__above": "-1.00"}, "plain decimal"),
        ({"tiers__1__above": "1e4"}, "plain decimal"),
        ({"tiers__2__above": "10000.00"}, "strictly increase"),
        ({"tiers__1__validators": 0}, "between 1 and 32"),
        ({"tiers__1__validators": True}, "integer"),
        ({"tiers__1__validators": "2"}, "integer"),
        ({"tiers__2__required": ["m_a", "m_b", "m_ceo"]}, "fewer than the 3 required"),
        ({"tiers__2__validators": 1}, "larger amount cannot need fewer"),
        ({"tiers__0__validators": 3}, "cannot need fewer validators"),
        ({"tiers__0__batch_validators": 3}, "larger batch cannot need fewer"),
        ({"tiers__2__required": []}, "omit it"),
        ({"tiers__2__required": "m_ceo"}, "JSON array"),
        ({"tiers__2__required": ["m_ceo", "m_ceo"]}, "sorted and distinct"),
        ({"tiers__2__required": ["m_zoe", "m_ceo"]}, "sorted and distinct"),
        ({"tiers__2__required": ["m ceo"]}, "required"),
        ({"tiers__1__required": ["m_alice"]}, "keep the members required below it"),
        ({"tiers__1__validators": _DELETE}, "validators: missing"),
        ({"tiers__1__unknown": 1}, "tiers[1].unknown: unknown field"),
    ],
)
def test_from_json_is_strict(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRule, match=message.replace("[", r"\[").replace("]", r"\]")):
        ApprovalRule.from_json(_rule_with(**changes))


def test_thresholds_built_in_python_need_not_carry_the_decimals() -> None:
    rule = ApprovalRule(
        currency="EUR",
        tiers=(Tier(above=Decimal(0), validators=1), Tier(above=Decimal(10000), validators=2)),
    )
    assert rule == ApprovalRule.from_json(
        {
            "v": 1,
            "currency": "EUR",
            "tiers": [{"above": "0.00", "validators": 1}, {"above": "10000.00", "validators": 2}],
        }
    )
    assert rule.to_json()["tiers"][1]["above"] == "10000.00"
    for above in (Decimal("0.001"), Decimal("-1"), Decimal("1e20")):
        with pytest.raises(InvalidRule, match=r"tiers\[1\]\.above"):
            ApprovalRule(currency="EUR", tiers=(rule.tiers[0], Tier(above=above, validators=2)))
    with pytest.raises(InvalidRule, match="currency"):
        ApprovalRule(currency="EURO", tiers=rule.tiers)


def test_invalid_rule_is_malformed_input() -> None:
    assert issubclass(InvalidRule, MalformedInput)
    assert issubclass(InvalidRule, ValueError)


def test_members_json_and_rights() -> None:
    member = AccountMember.from_json({"member": "m_bruno", "rights": ["view", "validate"]})
    assert member.can_validate
    assert member.to_json() == {"member": "m_bruno", "rights": ["view", "validate"]}
    assert validator_ids(MEMBERS) == {"m_alice", "m_bruno", "m_ceo"}
    for bad in (
        {"member": "m_x", "rights": []},
        {"member": "m_x", "rights": ["validate", "view"]},
        {"member": "m_x", "rights": ["view", "view"]},
        {"member": "m_x", "rights": ["admin"]},
        {"member": "m x", "rights": ["view"]},
        {"member": "m_x"},
        {"member": "m_x", "rights": ["view"], "role": "boss"},
    ):
        with pytest.raises(InvalidRule):
            AccountMember.from_json(bad)


def test_check_members_names_the_tier_that_cannot_be_met() -> None:
    rule = ApprovalRule.from_json(ISSUE_RULE)
    rule.check_members(MEMBERS)
    with pytest.raises(InvalidRule, match=r"tiers\[2\].required: m_ceo cannot validate"):
        rule.check_members(MEMBERS[:2] + MEMBERS[3:])
    with pytest.raises(InvalidRule, match=r"tiers\[0\]: needs 2 validators, the account has 1"):
        ApprovalRule.from_json(TWO_OF_THREE).check_members(MEMBERS[:1])


# --- display lines ------------------------------------------------------------------------------


def test_signature_lines_in_french_and_english() -> None:
    assert signatures_needed(2, "fr") == "Cette opération nécessite 2 signatures"
    assert signatures_needed(1, "fr") == "Cette opération nécessite 1 signature"
    assert signatures_needed(3, "en") == "This operation needs 3 signatures"
    assert signatures_collected(1, 2, "fr") == "Signatures recueillies\u00a0: 1 sur 2"
    assert signatures_collected(1, 2, "en") == "Signatures collected: 1 of 2"
    assert render_rule_lines(2, ["Claire Martin"], "fr") == (
        "Cette opération nécessite 2 signatures",
        "Signature obligatoire de\u00a0: Claire Martin",
    )
    assert render_rule_lines(1, [], "en") == ("This operation needs 1 signature",)
    with pytest.raises(InvalidOperation):
        signatures_needed(0, "fr")
    with pytest.raises(InvalidOperation):
        render_rule_lines(2, ["Claire\u202eMartin"], "fr")  # a bidirectional override
    with pytest.raises(InvalidOperation):
        signatures_needed(2, "de")


# --- properties -------------------------------------------------------------------------------

POOL = ("m_a", "m_b", "m_c", "m_d", "m_e", "m_f")


@st.composite
def rules(draw: st.DrawFn) -> ApprovalRule:
    """Valid rules: 1 to 4 tiers, non-decreasing needs, nested named members."""
    count = draw(st.integers(1, 4))
    thresholds = sorted(
        draw(st.sets(st.integers(1, 10**7), min_size=count - 1, max_size=count - 1))
    )
    tiers = []
    validators, batch, required = 1, 1, frozenset[str]()
    for index in range(count):
        required = required | frozenset(draw(st.sets(st.sampled_from(POOL[:4]), max_size=1)))
        validators = max(validators, len(required)) + draw(st.integers(0, 1))
        batch = max(batch, validators) + draw(st.integers(0, 1))
        tiers.append(
            Tier(
                above=Decimal(0 if index == 0 else thresholds[index - 1]).scaleb(-2),
                validators=validators,
                required=required,
                batch_validators=batch if batch > validators else None,
            )
        )
    return ApprovalRule(currency="EUR", tiers=tuple(tiers))


amounts = st.integers(1, 2 * 10**7).map(lambda cents: Amount(Decimal(cents).scaleb(-2), "EUR"))
decisions = st.lists(
    st.tuples(st.sampled_from(POOL), st.sampled_from([APPROVE, APPROVE, APPROVE, REJECT, NOT_ME])),
    max_size=8,
)
eligibles = st.frozensets(st.sampled_from(POOL))


def outcome_of(
    rule: ApprovalRule,
    amount: Amount,
    is_batch: bool,
    eligible: frozenset[str],
    approvals: list[tuple[str, Decision]],
) -> RuleOutcome:
    return evaluate(
        rule,
        operation_amount=amount,
        is_batch=is_batch,
        eligible_validators=eligible,
        approvals=approvals,
    )


@settings(max_examples=150)
@given(rules(), amounts, st.booleans(), eligibles, decisions, st.randoms(use_true_random=False))
def test_the_order_of_decisions_never_matters(
    rule: ApprovalRule,
    amount: Amount,
    is_batch: bool,
    eligible: frozenset[str],
    approvals: list[tuple[str, Decision]],
    random: Any,
) -> None:
    shuffled = list(approvals)
    random.shuffle(shuffled)
    assert outcome_of(rule, amount, is_batch, eligible, shuffled) == outcome_of(
        rule, amount, is_batch, eligible, approvals
    )


@settings(max_examples=150)
@given(rules(), amounts, st.booleans(), eligibles, decisions)
def test_repeated_and_foreign_decisions_change_nothing(
    rule: ApprovalRule,
    amount: Amount,
    is_batch: bool,
    eligible: frozenset[str],
    approvals: list[tuple[str, Decision]],
) -> None:
    before = outcome_of(rule, amount, is_batch, eligible, approvals)
    foreign = [(member, decision) for member, decision in approvals if member not in eligible]
    counted = [(member, decision) for member, decision in approvals if member in eligible]
    assert outcome_of(rule, amount, is_batch, eligible, counted) == before
    assert outcome_of(rule, amount, is_batch, eligible, approvals + approvals) == before
    assert outcome_of(rule, amount, is_batch, eligible, counted + foreign * 2) == before


@settings(max_examples=150)
@given(rules(), amounts, st.booleans(), eligibles, decisions, st.sampled_from(POOL))
def test_one_more_approval_never_makes_things_worse(
    rule: ApprovalRule,
    amount: Amount,
    is_batch: bool,
    eligible: frozenset[str],
    approvals: list[tuple[str, Decision]],
    member: str,
) -> None:
    before = outcome_of(rule, amount, is_batch, eligible, approvals)
    after = outcome_of(rule, amount, is_batch, eligible, [*approvals, (member, APPROVE)])
    if isinstance(before, Refused):
        assert isinstance(after, Refused)
        assert (after.reason, after.by) == (before.reason, before.by)
    elif isinstance(before, Approved):
        assert isinstance(after, Approved)
    else:
        assert not isinstance(after, Refused)
        if member in before.who_can_still_approve:
            # Whoever is listed as able to approve brings the operation one step closer.
            assert isinstance(after, Approved) or after.still_needed == before.still_needed - 1
        else:
            # Anybody else's approval changes nothing that matters.
            assert isinstance(after, Pending)
            assert after.still_needed == before.still_needed
            assert after.who_can_still_approve == tuple(
                sorted(set(before.who_can_still_approve) - {member})
            )


@settings(max_examples=150)
@given(rules(), amounts, amounts, st.booleans(), eligibles, decisions)
def test_a_larger_amount_is_never_easier(
    rule: ApprovalRule,
    first: Amount,
    second: Amount,
    is_batch: bool,
    eligible: frozenset[str],
    approvals: list[tuple[str, Decision]],
) -> None:
    small, large = sorted((first, second), key=lambda amount: amount.value)
    low = rule.requirement(small, is_batch=is_batch)
    high = rule.requirement(large, is_batch=is_batch)
    assert low.validators <= high.validators
    assert low.required <= high.required
    assert rule.requirement(small, is_batch=False).validators <= low.validators
    if isinstance(outcome_of(rule, large, is_batch, eligible, approvals), Approved):
        assert isinstance(outcome_of(rule, small, is_batch, eligible, approvals), Approved)


@settings(max_examples=150)
@given(rules(), amounts, st.booleans(), eligibles, decisions)
def test_outcomes_are_consistent(
    rule: ApprovalRule,
    amount: Amount,
    is_batch: bool,
    eligible: frozenset[str],
    approvals: list[tuple[str, Decision]],
) -> None:
    outcome = outcome_of(rule, amount, is_batch, eligible, approvals)
    approved = {member for member, decision in approvals if decision is APPROVE} & eligible
    refused = {member for member, decision in approvals if decision is not APPROVE} & eligible
    assert set(outcome.signatories) == approved
    if refused:
        assert isinstance(outcome, Refused)
        assert set(outcome.by) == refused
    if isinstance(outcome, Approved):
        assert len(approved) >= outcome.requirement.validators
        assert outcome.requirement.required <= approved
    if isinstance(outcome, Pending):
        assert set(outcome.who_can_still_approve) <= eligible - approved
        assert set(outcome.missing_required) <= set(outcome.who_can_still_approve)
        assert 1 <= outcome.still_needed <= len(eligible - approved)
    assert rule == ApprovalRule.from_json(rule.to_json())
