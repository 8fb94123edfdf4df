# SPDX-License-Identifier: Apache-2.0
"""A whole device ↔ server exchange built from the core alone, for the core's own tests."""

from __future__ import annotations

import random
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from sceau_core.approval import Approval, Decision, Factor, SignedApproval, sign_approval
from sceau_core.hazmat import oprf
from sceau_core.keys import generate_private_key
from sceau_core.knowledge import finish_code_evaluation, start_code_evaluation
from sceau_core.money import Amount
from sceau_core.operations import Operation, OperationType, RequestContext, TransferData

NOW = 1_767_225_600


def transfer_operation(rng: random.Random, *, operation_id: str = "op_1") -> Operation:
    data = TransferData.from_json(
        {
            "amount": Amount.parse("1234.56", "EUR").to_json(),
            "payee_name": "Jean Dupont",
            "payee_iban": "FR7630006000011234567890189",
        }
    )
    return Operation.create(
        id=operation_id,
        type=OperationType.TRANSFER,
        data=data,
        context=RequestContext(),
        locale="fr",
        now=NOW,
        ttl=300,
        rng=rng.randbytes,
    )


@dataclass
class Transcript:
    """What crossed the network during one approval with the code."""

    blinded_element: bytes
    evaluated_element: bytes
    proof: bytes
    operation: Operation
    signed_approval: SignedApproval


@dataclass
class Activation:
    """The two sides of one activation."""

    oprf_key: bytes
    oprf_public_key: bytes
    device_secret: bytes
    device_key: ec.EllipticCurvePrivateKey
    knowledge_public_key: ec.EllipticCurvePublicKey
    activation_id: str = "act_1"

    def device_dump(self) -> dict[str, bytes | str | ec.EllipticCurvePrivateKey]:
        """Everything the device stores, per docs/protocol.md §1 (never the code, y or the key)."""
        return {
            "activation_id": self.activation_id,
            "device_secret": self.device_secret,
            "device_key": self.device_key,
            "oprf_public_key": self.oprf_public_key,
        }


def knowledge_key_for(
    activation: Activation, code: str, rng: random.Random
) -> ec.EllipticCurvePrivateKey:
    evaluation = start_code_evaluation(code, rng=rng.randbytes)
    evaluated, proof = oprf.blind_evaluate_verifiable(
        activation.oprf_key,
        activation.oprf_public_key,
        evaluation.blinded_element,
        rng=rng.randbytes,
    )
    return finish_code_evaluation(
        evaluation,
        evaluated_element=evaluated,
        proof=proof,
        expected_oprf_public_key=activation.oprf_public_key,
        device_secret=activation.device_secret,
    )


def activate(code: str, rng: random.Random) -> Activation:
    oprf_key, oprf_public_key = oprf.generate_key_pair(rng.randbytes)
    partial = Activation(
        oprf_key=oprf_key,
        oprf_public_key=oprf_public_key,
        device_secret=rng.randbytes(32),
        device_key=generate_private_key(rng.randbytes),
        knowledge_public_key=generate_private_key(rng.randbytes).public_key(),
    )
    partial.knowledge_public_key = knowledge_key_for(partial, code, rng).public_key()
    return partial


def approve_with_code(
    activation: Activation, code: str, operation: Operation, rng: random.Random, *, counter: int
) -> Transcript:
    evaluation = start_code_evaluation(code, rng=rng.randbytes)
    evaluated, proof = oprf.blind_evaluate_verifiable(
        activation.oprf_key,
        activation.oprf_public_key,
        evaluation.blinded_element,
        rng=rng.randbytes,
    )
    knowledge_key = finish_code_evaluation(
        evaluation,
        evaluated_element=evaluated,
        proof=proof,
        expected_oprf_public_key=activation.oprf_public_key,
        device_secret=activation.device_secret,
    )
    approval = Approval.for_operation(
        operation,
        activation=activation.activation_id,
        decision=Decision.APPROVE,
        factors=[Factor.POSSESSION, Factor.KNOWLEDGE],
        counter=counter,
    )
    signed = sign_approval(
        approval, {Factor.POSSESSION: activation.device_key, Factor.KNOWLEDGE: knowledge_key}
    )
    return Transcript(evaluation.blinded_element, evaluated, proof, operation, signed)
