# SPDX-License-Identifier: Apache-2.0
"""Approvals: the customer's decision on one operation, signed by each factor key (brief D1–D6).

An approval is the JSON object::

    {"v": 1, "activation": "<activation id>", "op": "<operation id>",
     "digest": "<b64url SHA-256 of the operation's RFC 8785 encoding>",
     "challenge": "<the operation's single-use challenge>",
     "decision": "approve" | "reject" | "not_me",
     "factors": ["possession", "knowledge"],   # sorted, no duplicates
     "counter": 42,                            # the device counter (brief P3)
     "match": "37"}                            # login number matching only (brief D6)

Each listed factor's key signs ``"sceau/v1/approval" || 0x00 || JCS(approval)`` (see
:func:`sceau_core.keys.sign_message`): the device key for possession, the knowledge key derived
from the code for knowledge, the biometric key for inherence. ``approve`` needs possession and
one of knowledge or inherence (two categories, RTS art. 4); ``reject`` and ``not_me`` need
possession only (brief D5: refusing needs no code).

:func:`verify_approval` checks, in this order, and raises at the first failure:

1. the shape: version, decision, factors allowed for the decision, one signature per factor;
2. the activation, operation id, digest and challenge against the verifier's own copy of the
   operation (constant time) — any change to any signed field of the operation fails here;
3. the operation has not expired at ``now`` (brief D3);
4. the counter is greater than the last one accepted (brief P3);
5. every factor signature, under the keys the verifier holds for this activation;
6. for a login approved, the typed number against the expected one (brief D6). This check comes
   last on purpose: a wrong number after valid signatures refuses the login but is not a code
   failure (brief K3), and the caller can tell the two apart.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from sceau_core.encoding import b64url_decode, b64url_encode, canonical_json
from sceau_core.errors import (
    CounterNotIncreasing,
    Expired,
    InvalidEncoding,
    InvalidSignature,
    Mismatch,
)
from sceau_core.keys import SIGNATURE_LENGTH, sign_message, verify_message
from sceau_core.operations import Operation, OperationType

__all__ = [
    "APPROVAL_LABEL",
    "MAX_COUNTER",
    "Approval",
    "Decision",
    "Factor",
    "FactorKeys",
    "SignedApproval",
    "sign_approval",
    "verify_approval",
]

APPROVAL_LABEL = "sceau/v1/approval"
MAX_COUNTER = 2**53 - 1


class Decision(StrEnum):
    """What the customer decided."""

    APPROVE = "approve"
    REJECT = "reject"
    NOT_ME = "not_me"


class Factor(StrEnum):
    """An authentication element category (RTS art. 6, 7, 8)."""

    KNOWLEDGE = "knowledge"
    INHERENCE = "inherence"
    POSSESSION = "possession"


@dataclass(frozen=True)
class Approval:
    """The unsigned approval; see the module docstring for each field."""

    activation: str
    operation_id: str
    digest: str
    challenge: str
    decision: Decision
    factors: tuple[Factor, ...]
    counter: int
    match: str | None = None
    v: int = 1

    def __post_init__(self) -> None:
        if self.v != 1:
            raise InvalidEncoding("unsupported approval version")
        if not isinstance(self.counter, int) or not 0 < self.counter <= MAX_COUNTER:
            raise InvalidEncoding("counter must be an integer in [1, 2**53 - 1]")
        if tuple(sorted(set(self.factors))) != self.factors:
            raise InvalidEncoding("factors must be sorted and distinct")
        b64url_decode(self.digest, length=32, field="digest")
        b64url_decode(self.challenge, field="challenge")
        if self.match is not None and not (self.match.isascii() and self.match.isdigit()):
            raise InvalidEncoding("match must be decimal digits")
        allowed = {
            Decision.APPROVE: (
                (Factor.KNOWLEDGE, Factor.POSSESSION),
                (Factor.INHERENCE, Factor.POSSESSION),
            ),
            Decision.REJECT: ((Factor.POSSESSION,),),
            Decision.NOT_ME: ((Factor.POSSESSION,),),
        }
        if self.factors not in allowed[self.decision]:
            raise InvalidEncoding(
                f"a decision {self.decision.value!r} cannot be signed with factors "
                f"{[f.value for f in self.factors]}"
            )
        if self.decision is not Decision.APPROVE and self.match is not None:
            raise InvalidEncoding("only an approval carries a number match")

    @classmethod
    def for_operation(
        cls,
        operation: Operation,
        *,
        activation: str,
        decision: Decision,
        factors: tuple[Factor, ...] | list[Factor],
        counter: int,
        match: str | None = None,
    ) -> Approval:
        """The approval of ``operation`` as the device builds it."""
        return cls(
            activation=activation,
            operation_id=operation.id,
            digest=operation.digest,
            challenge=operation.challenge,
            decision=decision,
            factors=tuple(sorted(set(factors))),
            counter=counter,
            match=match,
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object that is signed."""
        value: dict[str, Any] = {
            "v": self.v,
            "activation": self.activation,
            "op": self.operation_id,
            "digest": self.digest,
            "challenge": self.challenge,
            "decision": self.decision.value,
            "factors": [f.value for f in self.factors],
            "counter": self.counter,
        }
        if self.match is not None:
            value["match"] = self.match
        return value

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Approval:
        """Parse an approval strictly: unknown, missing or mistyped fields are refused."""
        required = {
            "v",
            "activation",
            "op",
            "digest",
            "challenge",
            "decision",
            "factors",
            "counter",
        }
        if not required <= set(value) <= required | {"match"}:
            raise InvalidEncoding("approval fields are wrong")
        strings = ("activation", "op", "digest", "challenge", "decision")
        if not all(isinstance(value[k], str) for k in strings):
            raise InvalidEncoding("approval text fields must be strings")
        if type(value["v"]) is not int or type(value["counter"]) is not int:
            raise InvalidEncoding("approval v and counter must be integers")
        if not isinstance(value["factors"], list) or (
            "match" in value and not isinstance(value["match"], str)
        ):
            raise InvalidEncoding("approval factors must be a list and match a string")
        try:
            decision = Decision(value["decision"])
            factors = tuple(Factor(f) for f in value["factors"])
        except ValueError as error:
            raise InvalidEncoding("unknown decision or factor") from error
        return cls(
            v=value["v"],
            activation=value["activation"],
            operation_id=value["op"],
            digest=value["digest"],
            challenge=value["challenge"],
            decision=decision,
            factors=factors,
            counter=value["counter"],
            match=value.get("match"),
        )

    def signed_bytes(self) -> bytes:
        """The RFC 8785 bytes each factor key signs (after the label)."""
        return canonical_json(self.to_json())


@dataclass(frozen=True)
class SignedApproval:
    """An approval with one 64-byte signature per factor."""

    approval: Approval
    signatures: Mapping[Factor, bytes]

    def __post_init__(self) -> None:
        if set(self.signatures) != set(self.approval.factors):
            raise InvalidEncoding("there must be exactly one signature per factor")
        if any(len(s) != SIGNATURE_LENGTH for s in self.signatures.values()):
            raise InvalidEncoding("each signature is 64 bytes")

    def to_json(self) -> dict[str, Any]:
        """``{"approval": {...}, "signatures": {"possession": "<b64url>", ...}}``."""
        return {
            "approval": self.approval.to_json(),
            "signatures": {f.value: b64url_encode(s) for f, s in self.signatures.items()},
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> SignedApproval:
        """Parse a signed approval strictly."""
        if set(value) != {"approval", "signatures"} or not isinstance(value["signatures"], dict):
            raise InvalidEncoding("a signed approval has exactly approval and signatures")
        if not isinstance(value["approval"], dict):
            raise InvalidEncoding("approval must be an object")
        try:
            signatures = {
                Factor(name): b64url_decode(sig, length=SIGNATURE_LENGTH, field=f"{name} signature")
                for name, sig in value["signatures"].items()
            }
        except ValueError as error:
            raise InvalidEncoding("unknown factor in signatures") from error
        return cls(approval=Approval.from_json(value["approval"]), signatures=signatures)


@dataclass(frozen=True)
class FactorKeys:
    """The public keys a verifier holds for one activation."""

    possession: ec.EllipticCurvePublicKey
    knowledge: ec.EllipticCurvePublicKey | None = None
    inherence: ec.EllipticCurvePublicKey | None = None

    def for_factor(self, factor: Factor) -> ec.EllipticCurvePublicKey:
        """The key of ``factor``; a factor with no registered key fails like a bad signature."""
        key = getattr(self, factor.value)
        if key is None:
            raise InvalidSignature(f"no {factor.value} key is registered for this activation")
        assert isinstance(key, ec.EllipticCurvePublicKey)
        return key


def sign_approval(
    approval: Approval, keys: Mapping[Factor, ec.EllipticCurvePrivateKey]
) -> SignedApproval:
    """Sign ``approval`` with the private key of each of its factors."""
    message = approval.signed_bytes()
    signatures = {
        factor: sign_message(keys[factor], label=APPROVAL_LABEL, message=message)
        for factor in approval.factors
    }
    return SignedApproval(approval=approval, signatures=signatures)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def verify_approval(
    signed: SignedApproval,
    *,
    expected_operation: Operation,
    expected_activation: str,
    keys: FactorKeys,
    last_counter: int,
    now: int,
    expected_match: str | None = None,
) -> Approval:
    """Verify ``signed`` against the verifier's own copy of the operation; return the approval.

    Raises :class:`Mismatch`, :class:`Expired`, :class:`CounterNotIncreasing` or
    :class:`InvalidSignature` (see the module docstring for the order of the checks).
    """
    approval = signed.approval
    for field_name, received, expected in (
        ("activation", approval.activation, expected_activation),
        ("operation id", approval.operation_id, expected_operation.id),
        ("operation digest", approval.digest, expected_operation.digest),
        ("challenge", approval.challenge, expected_operation.challenge),
    ):
        if not _same(received, expected):
            raise Mismatch(field_name)
    if now >= expected_operation.expires_at:
        raise Expired("the operation has expired")
    if approval.counter <= last_counter:
        raise CounterNotIncreasing(
            f"counter {approval.counter} is not above the last accepted {last_counter}"
        )
    message = approval.signed_bytes()
    for factor in approval.factors:
        verify_message(
            keys.for_factor(factor),
            signed.signatures[factor],
            label=APPROVAL_LABEL,
            message=message,
        )
    if approval.decision is Decision.APPROVE and expected_operation.type is OperationType.LOGIN:
        if expected_match is None:
            raise ValueError("a login approval is verified against the expected number")
        if approval.match is None or not _same(approval.match, expected_match):
            raise Mismatch("match")
    elif approval.match is not None:
        raise Mismatch("match")
    return approval
