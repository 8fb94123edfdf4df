# SPDX-License-Identifier: Apache-2.0
"""``sceau_core.signatures`` (added with the server): operation and key-registration signatures."""

from __future__ import annotations

import random

import pytest

from sceau_core.errors import InvalidEncoding, InvalidOperation, InvalidSignature
from sceau_core.keys import encode_public_key, generate_private_key, sign_message
from sceau_core.operations import LoginData, Operation, OperationType, RequestContext
from sceau_core.signatures import (
    KEY_REGISTRATION_LABEL,
    OPERATION_LABEL,
    key_registration_message,
    sign_key_registration,
    sign_operation,
    verify_key_registration,
    verify_signed_operation,
)


def _operation(rng: random.Random) -> Operation:
    return Operation.create(
        id="op_1",
        type=OperationType.LOGIN,
        data=LoginData(),
        context=RequestContext(),
        locale="fr",
        now=1_767_225_600,
        rng=rng.randbytes,
    )


def test_signed_operation_round_trip_and_tampering() -> None:
    rng = random.Random(1)
    server_key = generate_private_key(rng.randbytes)
    operation = _operation(rng)
    signed = sign_operation(operation, private_key=server_key)
    assert verify_signed_operation(signed, public_key=server_key.public_key()) == operation
    tampered = {**signed, "operation": {**signed["operation"], "display": ["Autre chose"]}}
    with pytest.raises(InvalidSignature):
        verify_signed_operation(tampered, public_key=server_key.public_key())
    other = generate_private_key(rng.randbytes)
    with pytest.raises(InvalidSignature):
        verify_signed_operation(signed, public_key=other.public_key())
    with pytest.raises(InvalidEncoding):
        verify_signed_operation({"operation": signed["operation"]}, public_key=other.public_key())
    with pytest.raises(InvalidOperation):
        verify_signed_operation(
            {**signed, "operation": {**signed["operation"], "v": 2}},
            public_key=server_key.public_key(),
        )


def test_labels_separate_purposes() -> None:
    rng = random.Random(2)
    key = generate_private_key(rng.randbytes)
    operation = _operation(rng)
    approval_style = sign_message(key, label="sceau/v1/approval", message=operation.canonical())
    from sceau_core.encoding import b64url_encode

    forged = {"operation": operation.to_json(), "signature": b64url_encode(approval_style)}
    with pytest.raises(InvalidSignature):
        verify_signed_operation(forged, public_key=key.public_key())
    assert OPERATION_LABEL != KEY_REGISTRATION_LABEL


def test_key_registration() -> None:
    rng = random.Random(3)
    knowledge = generate_private_key(rng.randbytes)
    public = encode_public_key(knowledge.public_key())
    signature = sign_key_registration(knowledge, activation_id="act_1")
    assert verify_key_registration(
        activation_id="act_1", knowledge_public_key=public, signature=signature
    )
    assert key_registration_message(activation_id="act_1", knowledge_public_key=public) == (
        b'{"activation":"act_1","knowledge_public_key":"' + public.encode() + b'"}'
    )
    with pytest.raises(InvalidSignature):
        verify_key_registration(
            activation_id="act_2", knowledge_public_key=public, signature=signature
        )
    other = encode_public_key(generate_private_key(rng.randbytes).public_key())
    with pytest.raises(InvalidSignature):
        verify_key_registration(
            activation_id="act_1", knowledge_public_key=other, signature=signature
        )


def test_code_change_authorization() -> None:
    from sceau_core.signatures import CODE_CHANGE_LABEL, sign_code_change, verify_code_change

    rng = random.Random(4)
    old = generate_private_key(rng.randbytes)
    signature = sign_code_change(old, activation_id="act_1", counter=7, blinded_element="AAAA")
    verify_code_change(
        old.public_key(),
        activation_id="act_1",
        counter=7,
        blinded_element="AAAA",
        signature=signature,
    )
    for changed in ({"counter": 8}, {"blinded_element": "AAAB"}, {"activation_id": "act_2"}):
        arguments = {"activation_id": "act_1", "counter": 7, "blinded_element": "AAAA"}
        arguments.update(changed)  # type: ignore[arg-type]
        with pytest.raises(InvalidSignature):
            verify_code_change(old.public_key(), signature=signature, **arguments)  # type: ignore[arg-type]
    assert CODE_CHANGE_LABEL == "sceau/v1/code-change"
