# SPDX-License-Identifier: Apache-2.0
"""Brief K2 and K6, played by an attacker.

What the first test shows. The attacker holds the device's whole stored state (activation id,
device secret ``s``, device private key, pinned OPRF public key ``pkS``) and the full transcript
of one approval with the right code (blinded element, evaluation, proof, the operation, the
signed approval) and even the registered knowledge public key. For each of the 10 000 codes it
runs every test it can compute without the server, and no test singles out the right code: each
accepts either no candidate or all of them. The same harness with the server's OPRF key ``k`` —
one online evaluation per guess — accepts exactly the right code, which proves the harness can
tell codes apart when the information exists.

Why it holds. The knowledge key is derived from ``y = F_k(code)``; without ``k`` no candidate's
``y`` can be computed (one-more gap Diffie-Hellman, RFC 9497 §7). The blinded element is
``r·H(code)`` with a fresh uniform ``r`` that the device never stores, so it is a uniformly random
group element whatever the code; the evaluation is ``k`` times it and the proof is about ``k``,
not the code. ``s`` is only the salt of the derivation; it does not replace ``y``.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from sceau_core.approval import APPROVAL_LABEL, Factor
from sceau_core.encoding import sha256
from sceau_core.errors import InvalidProof
from sceau_core.hazmat import oprf
from sceau_core.keys import public_key_bytes, verify_message
from sceau_core.knowledge import (
    derive_knowledge_key,
    finish_code_evaluation,
    start_code_evaluation,
)
from tests.core.protocol_fixtures import activate, approve_with_code, transfer_operation

RIGHT_CODE = "4826"
ALL_CODES = [f"{n:04d}" for n in range(10_000)]

Candidate = Callable[[str], bytes]


def public(key: ec.EllipticCurvePrivateKey) -> bytes:
    return public_key_bytes(key.public_key())


@pytest.mark.slow
def test_device_dump_and_transcript_do_not_single_out_the_code() -> None:
    rng = random.Random(2026)
    activation = activate(RIGHT_CODE, rng)
    transcript = approve_with_code(activation, RIGHT_CODE, transfer_operation(rng), rng, counter=2)
    dump = activation.device_dump()
    s = dump["device_secret"]
    assert isinstance(s, bytes)
    target = public_key_bytes(activation.knowledge_public_key)
    # The recorded knowledge signature verifies under that key: the transcript is genuine.
    verify_message(
        activation.knowledge_public_key,
        transcript.signed_approval.signatures[Factor.KNOWLEDGE],
        label=APPROVAL_LABEL,
        message=transcript.signed_approval.approval.signed_bytes(),
    )

    # The attacker is even given the registered knowledge public key: matching it is a stronger
    # test than checking the recorded knowledge signature, which it implies.
    def key_check(key_for: Callable[[str], ec.EllipticCurvePrivateKey]) -> Callable[[str], bool]:
        return lambda code: public(key_for(code)) == target

    secret_as_key = oprf.derive_key_pair(s, b"", mode=oprf.MODE_VOPRF)[0]
    fixed_blind = oprf.blind(b"0000", mode=oprf.MODE_VOPRF, blind=bytes([7]) + bytes(31))

    # Every output the attacker can compute for a candidate, without the server.
    offline_guesses: dict[str, Candidate] = {
        # The code straight into the derivation (what an unhardened PIN key would allow).
        "code as OPRF output": lambda code: sha256(code.encode()) * 2,
        # Unblinding the recorded evaluation with a blind of the attacker's choosing.
        "recorded evaluation": lambda code: oprf.finalize(
            code.encode(),
            oprf.BlindedInput(fixed_blind.blind, transcript.blinded_element),
            transcript.evaluated_element,
        ),
        # The pinned public key taken for the evaluation of the candidate.
        "pinned key as evaluation": lambda code: oprf.finalize(
            code.encode(), fixed_blind, activation.oprf_public_key
        ),
        # The device secret taken for the OPRF key.
        "device secret as OPRF key": lambda code: oprf.evaluate(
            secret_as_key, code.encode(), mode=oprf.MODE_VOPRF
        ),
    }
    for name, guess in offline_guesses.items():
        check = key_check(
            lambda code, guess=guess: derive_knowledge_key(oprf_output=guess(code), device_secret=s)
        )
        accepted = sum(check(code) for code in ALL_CODES)
        assert accepted in (0, len(ALL_CODES)), name

    # Control: the same harness with one online evaluation per guess finds exactly the code.
    online = key_check(
        lambda code: derive_knowledge_key(
            oprf_output=oprf.evaluate(activation.oprf_key, code.encode(), mode=oprf.MODE_VOPRF),
            device_secret=s,
        )
    )
    assert [code for code in ALL_CODES if online(code)] == [RIGHT_CODE]


@pytest.mark.slow
def test_the_server_side_without_the_device_secret_does_not_single_out_the_code() -> None:
    """The threat model's server rows: the database unwrapped with the master key (so ``k``), the
    registered knowledge public key and the recorded traffic, but not the device's storage.

    Every ``y = F_k(code)`` is computable now, but the knowledge key is salted with the 32 random
    bytes of ``s``, which neither the database nor the traffic holds: with any stand-in for ``s``
    no code is singled out. The control, given the real ``s``, finds exactly the code.
    """
    rng = random.Random(2027)
    activation = activate(RIGHT_CODE, rng)
    transcript = approve_with_code(activation, RIGHT_CODE, transfer_operation(rng), rng, counter=2)
    target = public_key_bytes(activation.knowledge_public_key)
    outputs = {
        code: oprf.evaluate(activation.oprf_key, code.encode(), mode=oprf.MODE_VOPRF)
        for code in ALL_CODES
    }
    public_values = activation.activation_id.encode() + activation.oprf_public_key
    stand_ins = {
        "no salt": bytes(32),
        "public values hashed": sha256(public_values),
        "traffic hashed": sha256(transcript.blinded_element + transcript.evaluated_element),
    }
    for name, secret in stand_ins.items():
        accepted = [
            code
            for code in ALL_CODES
            if public(derive_knowledge_key(oprf_output=outputs[code], device_secret=secret))
            == target
        ]
        assert accepted in ([], ALL_CODES), name
    found = [
        code
        for code in ALL_CODES
        if public(
            derive_knowledge_key(oprf_output=outputs[code], device_secret=activation.device_secret)
        )
        == target
    ]
    assert found == [RIGHT_CODE]


def test_the_device_dump_holds_no_code_output_or_knowledge_key() -> None:
    rng = random.Random(7)
    activation = activate(RIGHT_CODE, rng)
    output = oprf.evaluate(activation.oprf_key, RIGHT_CODE.encode(), mode=oprf.MODE_VOPRF)
    knowledge_key = derive_knowledge_key(oprf_output=output, device_secret=activation.device_secret)
    secret_scalar = knowledge_key.private_numbers().private_value.to_bytes(32, "big")
    stored = b"".join(
        value if isinstance(value, bytes) else str(value).encode()
        for value in activation.device_dump().values()
    )
    for forbidden in (RIGHT_CODE.encode(), output, secret_scalar):
        assert forbidden not in stored


def test_a_substituted_evaluation_is_detected_before_signing() -> None:
    rng = random.Random(11)
    activation = activate(RIGHT_CODE, rng)
    attacker_key, attacker_public = oprf.generate_key_pair(rng.randbytes)
    evaluation = start_code_evaluation(RIGHT_CODE, rng=rng.randbytes)
    # A man in the middle answers with its own key and a valid proof for that key.
    evaluated, proof = oprf.blind_evaluate_verifiable(
        attacker_key, attacker_public, evaluation.blinded_element, rng=rng.randbytes
    )
    with pytest.raises(InvalidProof):
        finish_code_evaluation(
            evaluation,
            evaluated_element=evaluated,
            proof=proof,
            expected_oprf_public_key=activation.oprf_public_key,
            device_secret=activation.device_secret,
        )
    # Replaying the genuine server's proof beside the substituted element fails too.
    genuine, genuine_proof = oprf.blind_evaluate_verifiable(
        activation.oprf_key,
        activation.oprf_public_key,
        evaluation.blinded_element,
        rng=rng.randbytes,
    )
    assert genuine != evaluated
    with pytest.raises(InvalidProof):
        finish_code_evaluation(
            evaluation,
            evaluated_element=evaluated,
            proof=genuine_proof,
            expected_oprf_public_key=activation.oprf_public_key,
            device_secret=activation.device_secret,
        )
