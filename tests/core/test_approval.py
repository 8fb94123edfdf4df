# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceau_core.approval import (
    APPROVAL_LABEL,
    MAX_COUNTER,
    Approval,
    Decision,
    Factor,
    FactorKeys,
    SignedApproval,
    sign_approval,
    verify_approval,
)
from sceau_core.encoding import b64url_encode
from sceau_core.errors import (
    CounterNotIncreasing,
    Expired,
    InvalidEncoding,
    InvalidSignature,
    Mismatch,
    VerificationFailed,
)
from sceau_core.keys import generate_private_key, sign_message, verify_message
from sceau_core.operations import LoginData, Operation, OperationType, RequestContext
from tests.core.protocol_fixtures import NOW, activate, approve_with_code, transfer_operation

CODE = "4826"


@pytest.fixture(scope="module")
def world() -> dict[str, Any]:
    rng = random.Random(99)
    activation = activate(CODE, rng)
    operation = transfer_operation(rng)
    transcript = approve_with_code(activation, CODE, operation, rng, counter=5)
    keys = FactorKeys(
        possession=activation.device_key.public_key(), knowledge=activation.knowledge_public_key
    )
    return {
        "activation": activation,
        "operation": operation,
        "signed": transcript.signed_approval,
        "keys": keys,
        "rng": rng,
    }


def verify(world: dict[str, Any], signed: SignedApproval, **changes: Any) -> Approval:
    arguments: dict[str, Any] = {
        "expected_operation": world["operation"],
        "expected_activation": "act_1",
        "keys": world["keys"],
        "last_counter": 4,
        "now": NOW + 10,
    }
    arguments.update(changes)
    return verify_approval(signed, **arguments)


def test_a_genuine_approval_verifies(world: dict[str, Any]) -> None:
    approval = verify(world, world["signed"])
    assert approval.decision is Decision.APPROVE
    assert approval.factors == (Factor.KNOWLEDGE, Factor.POSSESSION)


def test_signed_approval_round_trips_through_json(world: dict[str, Any]) -> None:
    signed = world["signed"]
    assert SignedApproval.from_json(signed.to_json()) == signed


def test_a_wrong_code_gives_a_knowledge_signature_that_fails(world: dict[str, Any]) -> None:
    wrong = approve_with_code(
        world["activation"], "4827", world["operation"], world["rng"], counter=5
    )
    with pytest.raises(InvalidSignature):
        verify(world, wrong.signed_approval)


def test_the_verifier_uses_its_own_copy_of_the_operation(world: dict[str, Any]) -> None:
    original: Operation = world["operation"]
    one_cent = Operation.from_json(
        {
            **original.to_json(),
            "data": {
                **original.to_json()["data"],
                "amount": {"value": "1234.57", "currency": "EUR"},
            },
        }
    )
    other_iban = Operation.from_json(
        {
            **original.to_json(),
            "data": {**original.to_json()["data"], "payee_iban": "FR7630006000011234567890286"},
        }
    )
    for tampered in (one_cent, other_iban):
        with pytest.raises(Mismatch, match="digest"):
            verify(world, world["signed"], expected_operation=tampered)


def test_expiry_counter_activation_and_keys_are_checked(world: dict[str, Any]) -> None:
    signed = world["signed"]
    with pytest.raises(Expired):
        verify(world, signed, now=world["operation"].expires_at)
    with pytest.raises(CounterNotIncreasing):
        verify(world, signed, last_counter=5)
    with pytest.raises(Mismatch, match="activation"):
        verify(world, signed, expected_activation="act_2")
    stranger = generate_private_key(world["rng"].randbytes).public_key()
    with pytest.raises(InvalidSignature):
        verify(
            world, signed, keys=FactorKeys(possession=stranger, knowledge=world["keys"].knowledge)
        )
    with pytest.raises(InvalidSignature):
        verify(world, signed, keys=FactorKeys(possession=world["keys"].possession))


def test_the_verifier_compares_the_bound_fields_in_constant_time(
    world: dict[str, Any], constant_time_comparisons: list[tuple[object, object]]
) -> None:
    compared = constant_time_comparisons
    operation: Operation = world["operation"]
    verify(world, world["signed"])
    for value in ("act_1", operation.id, operation.digest, operation.challenge):
        assert (value.encode(), value.encode()) in compared


_FIELD_CHANGES = {
    "activation": "act_2",
    "operation_id": "op_2",
    "digest": b64url_encode(bytes(32)),
    "challenge": b64url_encode(bytes(32)),
    "counter": 6,
}


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(sorted(_FIELD_CHANGES)), st.sampled_from([Factor.POSSESSION, Factor.KNOWLEDGE])
)
def test_any_change_to_any_signed_field_breaks_verification(
    world: dict[str, Any], field: str, factor: Factor
) -> None:
    signed: SignedApproval = world["signed"]
    changed = dataclasses.replace(signed.approval, **{field: _FIELD_CHANGES[field]})
    forged = SignedApproval(changed, signed.signatures)
    with pytest.raises(VerificationFailed):
        verify(world, forged)
    # Even when the verifier expects the changed values, the signatures no longer match.
    expected = world["operation"]
    if field in {"operation_id", "digest", "challenge"}:
        return
    with pytest.raises(InvalidSignature):
        verify(world, forged, expected_activation=changed.activation, last_counter=4)
    flipped = bytearray(signed.signatures[factor])
    flipped[10] ^= 1
    with pytest.raises(InvalidSignature):
        verify(
            world,
            SignedApproval(signed.approval, {**signed.signatures, factor: bytes(flipped)}),
            expected_operation=expected,
        )


_DECISIONS = [
    (Decision.APPROVE, (Factor.KNOWLEDGE, Factor.POSSESSION)),
    (Decision.APPROVE, (Factor.INHERENCE, Factor.POSSESSION)),
    (Decision.REJECT, (Factor.POSSESSION,)),
    (Decision.NOT_ME, (Factor.POSSESSION,)),
]


_NEW_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "activation": st.from_regex(r"act_[A-Za-z0-9_-]{1,20}", fullmatch=True),
    "operation_id": st.from_regex(r"op_[A-Za-z0-9_-]{1,20}", fullmatch=True),
    "digest": st.binary(min_size=32, max_size=32).map(b64url_encode),
    "challenge": st.binary(min_size=16, max_size=64).map(b64url_encode),
    "counter": st.integers(1, MAX_COUNTER),
    "match": st.from_regex(r"[0-9]{1,4}", fullmatch=True),
}


@pytest.mark.parametrize("field", [*_NEW_VALUES, "decision"])
@pytest.mark.parametrize("decision", [Decision.APPROVE, Decision.REJECT])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_every_signature_breaks_when_any_signed_field_changes(
    world: dict[str, Any], field: str, decision: Decision, data: st.DataObject
) -> None:
    if decision is Decision.APPROVE:
        signed: SignedApproval = world["signed"]
    elif field == "match":
        return  # a refusal carries no number
    else:
        refusal = Approval.for_operation(
            world["operation"],
            activation="act_1",
            decision=Decision.REJECT,
            factors=[Factor.POSSESSION],
            counter=5,
        )
        signed = sign_approval(refusal, {Factor.POSSESSION: world["activation"].device_key})
    original = signed.approval
    if field == "decision":
        new_decision, factors = data.draw(
            st.sampled_from(_DECISIONS).filter(
                lambda pair: pair != (original.decision, original.factors)
            )
        )
        changes: dict[str, Any] = {"decision": new_decision, "factors": factors}
    else:
        changes = {
            field: data.draw(_NEW_VALUES[field].filter(lambda v: v != getattr(original, field)))
        }
    changed = dataclasses.replace(original, **changes)
    keys: FactorKeys = world["keys"]
    for factor, signature in signed.signatures.items():
        with pytest.raises(InvalidSignature):
            verify_message(
                keys.for_factor(factor),
                signature,
                label=APPROVAL_LABEL,
                message=changed.signed_bytes(),
            )
    if field in {"operation_id", "digest", "challenge"}:
        return  # the verifier's own operation refuses these first (Mismatch); see the next test
    # A verifier that expects exactly the changed values still refuses the old signatures.
    bio_key = generate_private_key(random.Random(5).randbytes)
    stranger = generate_private_key(random.Random(6).randbytes)
    forged = SignedApproval(
        changed,
        {
            factor: signed.signatures.get(factor)
            or sign_message(stranger, label=APPROVAL_LABEL, message=changed.signed_bytes())
            for factor in changed.factors
        },
    )
    with pytest.raises(InvalidSignature):
        verify(
            world,
            forged,
            expected_activation=changed.activation,
            last_counter=changed.counter - 1,
            keys=FactorKeys(
                possession=keys.possession,
                knowledge=keys.knowledge,
                inherence=bio_key.public_key(),
            ),
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [("operation_id", "op_2"), ("challenge", b64url_encode(bytes(32)))],
    ids=["operation_id", "challenge"],
)
def test_a_genuinely_signed_approval_naming_another_operation_or_challenge_is_refused(
    world: dict[str, Any], field: str, value: str
) -> None:
    # The device's own key signs the other value, so only the verifier's comparison of that
    # field with its own operation (protocol §6.1 step 2) can refuse it.
    refusal = Approval.for_operation(
        world["operation"],
        activation="act_1",
        decision=Decision.REJECT,
        factors=[Factor.POSSESSION],
        counter=5,
    )
    elsewhere = dataclasses.replace(refusal, **{field: value})
    signed = sign_approval(elsewhere, {Factor.POSSESSION: world["activation"].device_key})
    with pytest.raises(Mismatch, match=field.replace("_", " ")):
        verify(world, signed)


def test_signatures_of_one_operation_do_not_approve_another(world: dict[str, Any]) -> None:
    signed: SignedApproval = world["signed"]
    other = transfer_operation(random.Random(8), operation_id="op_2")
    moved = Approval.for_operation(
        other,
        activation="act_1",
        decision=Decision.APPROVE,
        factors=[Factor.POSSESSION, Factor.KNOWLEDGE],
        counter=signed.approval.counter,
    )
    with pytest.raises(InvalidSignature):
        verify(world, SignedApproval(moved, signed.signatures), expected_operation=other)


def test_refusal_needs_no_code_but_approval_needs_two_categories(world: dict[str, Any]) -> None:
    operation = world["operation"]
    device_key = world["activation"].device_key
    for decision in (Decision.REJECT, Decision.NOT_ME):
        refusal = Approval.for_operation(
            operation, activation="act_1", decision=decision, factors=[Factor.POSSESSION], counter=9
        )
        assert (
            verify(world, sign_approval(refusal, {Factor.POSSESSION: device_key})).decision
            is decision
        )
    with pytest.raises(InvalidEncoding):
        Approval.for_operation(
            operation,
            activation="act_1",
            decision=Decision.APPROVE,
            factors=[Factor.POSSESSION],
            counter=9,
        )
    with pytest.raises(InvalidEncoding):
        Approval.for_operation(
            operation,
            activation="act_1",
            decision=Decision.REJECT,
            factors=[Factor.POSSESSION, Factor.KNOWLEDGE],
            counter=9,
        )


def test_login_number_matching_is_checked_after_the_signatures(world: dict[str, Any]) -> None:
    rng = world["rng"]
    login = Operation.create(
        id="op_login",
        type=OperationType.LOGIN,
        data=LoginData(),
        context=RequestContext(),
        locale="fr",
        now=NOW,
        ttl=120,
        rng=rng.randbytes,
    )
    device_key = world["activation"].device_key
    bio_key = generate_private_key(rng.randbytes)
    keys = FactorKeys(possession=device_key.public_key(), inherence=bio_key.public_key())

    def approve(match: str | None) -> SignedApproval:
        approval = Approval.for_operation(
            login,
            activation="act_1",
            decision=Decision.APPROVE,
            factors=[Factor.POSSESSION, Factor.INHERENCE],
            counter=7,
            match=match,
        )
        return sign_approval(approval, {Factor.POSSESSION: device_key, Factor.INHERENCE: bio_key})

    verify(world, approve("37"), expected_operation=login, keys=keys, expected_match="37")
    with pytest.raises(Mismatch, match="match"):
        verify(world, approve("38"), expected_operation=login, keys=keys, expected_match="37")
    with pytest.raises(Mismatch, match="match"):
        verify(world, approve(None), expected_operation=login, keys=keys, expected_match="37")


@pytest.mark.parametrize(
    "change",
    [
        {"v": 2},
        {"counter": 0},
        {"counter": 2**53},
        {"counter": "5"},
        {"decision": "maybe"},
        {"factors": ["possession", "possession"]},
        {"factors": ["psychic"]},
        {"extra": 1},
        {"match": 37},
    ],
    ids=str,
)
def test_malformed_approvals_are_refused_when_parsed(
    world: dict[str, Any], change: dict[str, Any]
) -> None:
    value = {**world["signed"].approval.to_json(), **change}
    with pytest.raises(InvalidEncoding):
        Approval.from_json(value)
