# SPDX-License-Identifier: Apache-2.0
"""The labelled signatures of the credential lifecycle: key renewal, code reset, biometrics."""

from __future__ import annotations

import random
from typing import Any

import pytest

from sceau_core.encoding import b64url_encode, canonical_json
from sceau_core.errors import InvalidEncoding, InvalidSignature
from sceau_core.keys import encode_public_key, generate_private_key, sign_message
from sceau_core.signatures import (
    CODE_RESET_LABEL,
    INHERENCE_REGISTRATION_LABEL,
    KEY_RENEWAL_LABEL,
    code_reset_message,
    inherence_registration_message,
    key_renewal_message,
    sign_code_reset,
    sign_inherence_registration,
    sign_key_registration,
    sign_key_renewal,
    verify_code_reset,
    verify_inherence_registration,
    verify_key_renewal,
)

ACTIVATION = "act_1"


def _challenge(rng: random.Random) -> str:
    return b64url_encode(rng.randbytes(32))


def test_key_renewal_is_bound_to_its_challenge() -> None:
    rng = random.Random(7)
    key = generate_private_key(rng.randbytes)
    public = encode_public_key(key.public_key())
    challenge = _challenge(rng)
    signature = sign_key_renewal(key, activation_id=ACTIVATION, challenge=challenge)
    verified = verify_key_renewal(
        activation_id=ACTIVATION,
        knowledge_public_key=public,
        challenge=challenge,
        signature=signature,
    )
    assert encode_public_key(verified) == public
    # The message is exactly the documented one.
    assert key_renewal_message(
        activation_id=ACTIVATION, knowledge_public_key=public, challenge=challenge
    ) == canonical_json(
        {"v": 1, "activation": ACTIVATION, "knowledge_public_key": public, "challenge": challenge}
    )
    # Replayed for a later renewal (another challenge): refused. So is a first registration.
    with pytest.raises(InvalidSignature):
        verify_key_renewal(
            activation_id=ACTIVATION,
            knowledge_public_key=public,
            challenge=_challenge(rng),
            signature=signature,
        )
    with pytest.raises(InvalidSignature):
        verify_key_renewal(
            activation_id=ACTIVATION,
            knowledge_public_key=public,
            challenge=challenge,
            signature=sign_key_registration(key, activation_id=ACTIVATION),
        )
    with pytest.raises(InvalidSignature):
        verify_key_renewal(
            activation_id="act_2",
            knowledge_public_key=public,
            challenge=challenge,
            signature=signature,
        )
    with pytest.raises(InvalidEncoding):
        verify_key_renewal(
            activation_id=ACTIVATION,
            knowledge_public_key=public,
            challenge="c2hvcnQ",
            signature=signature,
        )


def test_code_reset_authorization_covers_reset_counter_and_new_code() -> None:
    rng = random.Random(8)
    key = generate_private_key(rng.randbytes)
    challenge = _challenge(rng)
    fields: dict[str, Any] = {
        "activation_id": ACTIVATION,
        "reset_id": "rst_1",
        "challenge": challenge,
        "counter": 12,
        "blinded_element": "A" * 43,
    }
    signature = sign_code_reset(key, **fields)
    verify_code_reset(key.public_key(), signature=signature, **fields)
    # What a platform authenticator signs: the label, then the message.
    raw = sign_message(key, label=CODE_RESET_LABEL, message=code_reset_message(**fields))
    verify_code_reset(key.public_key(), signature=b64url_encode(raw), **fields)
    for name, value in (
        ("reset_id", "rst_2"),
        ("challenge", _challenge(rng)),
        ("counter", 13),
        ("blinded_element", "B" * 43),
        ("activation_id", "act_2"),
    ):
        with pytest.raises(InvalidSignature):
            verify_code_reset(key.public_key(), signature=signature, **{**fields, name: value})
    other = generate_private_key(rng.randbytes)
    with pytest.raises(InvalidSignature):
        verify_code_reset(other.public_key(), signature=signature, **fields)
    with pytest.raises(InvalidEncoding):
        code_reset_message(**{**fields, "counter": 0})


def test_inherence_registration_enrols_or_removes_under_the_knowledge_key() -> None:
    rng = random.Random(9)
    knowledge = generate_private_key(rng.randbytes)
    inherence = encode_public_key(generate_private_key(rng.randbytes).public_key())
    signature = sign_inherence_registration(
        knowledge, activation_id=ACTIVATION, counter=5, inherence_public_key=inherence
    )
    enrolled = verify_inherence_registration(
        knowledge.public_key(),
        activation_id=ACTIVATION,
        counter=5,
        inherence_public_key=inherence,
        signature=signature,
    )
    assert enrolled is not None
    assert encode_public_key(enrolled) == inherence
    removal = sign_inherence_registration(
        knowledge, activation_id=ACTIVATION, counter=6, inherence_public_key=None
    )
    assert (
        verify_inherence_registration(
            knowledge.public_key(),
            activation_id=ACTIVATION,
            counter=6,
            inherence_public_key=None,
            signature=removal,
        )
        is None
    )
    assert inherence_registration_message(
        activation_id=ACTIVATION, counter=6, inherence_public_key=None
    ) == canonical_json(
        {"v": 1, "activation": ACTIVATION, "counter": 6, "inherence_public_key": None}
    )
    # A removal is not an enrolment, nor valid at another counter.
    with pytest.raises(InvalidSignature):
        verify_inherence_registration(
            knowledge.public_key(),
            activation_id=ACTIVATION,
            counter=6,
            inherence_public_key=inherence,
            signature=removal,
        )
    with pytest.raises(InvalidSignature):
        verify_inherence_registration(
            knowledge.public_key(),
            activation_id=ACTIVATION,
            counter=7,
            inherence_public_key=None,
            signature=removal,
        )


def test_labels_keep_purposes_apart() -> None:
    assert len({KEY_RENEWAL_LABEL, CODE_RESET_LABEL, INHERENCE_REGISTRATION_LABEL}) == 3
    rng = random.Random(10)
    key = generate_private_key(rng.randbytes)
    challenge = _challenge(rng)
    message = key_renewal_message(
        activation_id=ACTIVATION,
        knowledge_public_key=encode_public_key(key.public_key()),
        challenge=challenge,
    )
    wrong_label = b64url_encode(sign_message(key, label=CODE_RESET_LABEL, message=message))
    with pytest.raises(InvalidSignature):
        verify_key_renewal(
            activation_id=ACTIVATION,
            knowledge_public_key=encode_public_key(key.public_key()),
            challenge=challenge,
            signature=wrong_label,
        )
