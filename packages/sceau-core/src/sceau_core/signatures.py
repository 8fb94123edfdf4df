# SPDX-License-Identifier: Apache-2.0
"""Labelled signatures of the activation, operation and code-change flows (docs/protocol.md).

- The server signs every operation it sends to a device, over
  ``"sceau/v1/operation" || 0x00 || JCS(operation)``, and sends
  ``{"operation": {...}, "signature": "<b64url r || s>"}``; the device verifies it with the key it
  pinned at activation before showing anything (brief D8).
- At commit, the knowledge key proves it was derived from the customer's code by signing
  ``"sceau/v1/key-registration" || 0x00 || JCS({"activation": …, "knowledge_public_key": …})``
  (brief R3: every registration of a key is evidenced).
- To change the code, the old knowledge key (derived from an evaluation of the old code, counted
  like any attempt) authorizes the new code's evaluation by signing
  ``"sceau/v1/code-change" || 0x00 || JCS({"v": 1, "activation": …, "counter": …,
  "blinded_element": …})``, with the counter of the request that carries it and the new code's
  blinded element.
- Every *new* knowledge key after activation (a code change, a forgotten-code reset) signs
  ``"sceau/v1/key-renewal" || 0x00 || JCS({"v": 1, "activation": …, "knowledge_public_key": …,
  "challenge": …})`` with a single-use challenge the server drew for this renewal, so that an
  old registration can never be replayed to roll the code back.
- A forgotten-code reset with biometrics (brief L3): the biometric key authorizes the new code's
  evaluation by signing ``"sceau/v1/code-reset" || 0x00 || JCS({"v": 1, "activation": …,
  "reset": …, "challenge": …, "counter": …, "blinded_element": …})``.
- Enrolling or removing biometrics (brief I1): the knowledge key, derived from an evaluation of
  the code counted like any attempt, signs ``"sceau/v1/inherence-registration" || 0x00 ||
  JCS({"v": 1, "activation": …, "counter": …, "inherence_public_key": … | null})``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec

from sceau_core.approval import MAX_COUNTER
from sceau_core.encoding import b64url_decode, b64url_encode, canonical_json
from sceau_core.errors import InvalidEncoding
from sceau_core.keys import (
    SIGNATURE_LENGTH,
    decode_public_key,
    encode_public_key,
    sign_message,
    verify_message,
)
from sceau_core.operations import MAX_CHALLENGE_BYTES, MIN_CHALLENGE_BYTES, Operation

__all__ = [
    "CODE_CHANGE_LABEL",
    "CODE_RESET_LABEL",
    "INHERENCE_REGISTRATION_LABEL",
    "KEY_REGISTRATION_LABEL",
    "KEY_RENEWAL_LABEL",
    "OPERATION_LABEL",
    "code_change_message",
    "code_reset_message",
    "inherence_registration_message",
    "key_registration_message",
    "key_renewal_message",
    "sign_code_change",
    "sign_code_reset",
    "sign_inherence_registration",
    "sign_key_registration",
    "sign_key_renewal",
    "sign_operation",
    "verify_code_change",
    "verify_code_reset",
    "verify_inherence_registration",
    "verify_key_registration",
    "verify_key_renewal",
    "verify_signed_operation",
]

OPERATION_LABEL: Final = "sceau/v1/operation"
KEY_REGISTRATION_LABEL: Final = "sceau/v1/key-registration"
CODE_CHANGE_LABEL: Final = "sceau/v1/code-change"
KEY_RENEWAL_LABEL: Final = "sceau/v1/key-renewal"
CODE_RESET_LABEL: Final = "sceau/v1/code-reset"
INHERENCE_REGISTRATION_LABEL: Final = "sceau/v1/inherence-registration"


def sign_operation(
    operation: Operation, *, private_key: ec.EllipticCurvePrivateKey
) -> dict[str, Any]:
    """Return ``{"operation": {...}, "signature": b64url}`` signed with the server key."""
    signature = sign_message(private_key, label=OPERATION_LABEL, message=operation.canonical())
    return {"operation": operation.to_json(), "signature": b64url_encode(signature)}


def verify_signed_operation(
    value: Mapping[str, Any], *, public_key: ec.EllipticCurvePublicKey
) -> Operation:
    """Verify an operation signed by :func:`sign_operation` under the pinned key; return it.

    Raises :class:`~sceau_core.errors.InvalidEncoding` or
    :class:`~sceau_core.errors.InvalidOperation` for a malformed message and
    :class:`~sceau_core.errors.InvalidSignature` when the signature is not the pinned key's.
    """
    if not isinstance(value, Mapping) or set(value) != {"operation", "signature"}:
        raise InvalidEncoding("a signed operation has exactly operation and signature")
    signature = value["signature"]
    if not isinstance(signature, str):
        raise InvalidEncoding("signature must be a string")
    raw = b64url_decode(signature, length=SIGNATURE_LENGTH, field="signature")
    operation = Operation.from_json(value["operation"])
    verify_message(public_key, raw, label=OPERATION_LABEL, message=operation.canonical())
    return operation


def key_registration_message(*, activation_id: str, knowledge_public_key: str) -> bytes:
    """The bytes the knowledge key signs at commit, after its label."""
    return canonical_json(
        {"activation": activation_id, "knowledge_public_key": knowledge_public_key}
    )


def sign_key_registration(knowledge_key: ec.EllipticCurvePrivateKey, *, activation_id: str) -> str:
    """Sign the registration of ``knowledge_key`` for ``activation_id``; return base64url."""
    message = key_registration_message(
        activation_id=activation_id,
        knowledge_public_key=encode_public_key(knowledge_key.public_key()),
    )
    return b64url_encode(sign_message(knowledge_key, label=KEY_REGISTRATION_LABEL, message=message))


def verify_key_registration(
    *, activation_id: str, knowledge_public_key: str, signature: str
) -> ec.EllipticCurvePublicKey:
    """Check a knowledge key's registration signature; return the decoded public key.

    Raises :class:`~sceau_core.errors.InvalidEncoding` for a malformed key or signature and
    :class:`~sceau_core.errors.InvalidSignature` when the signature does not verify.
    """
    public_key = decode_public_key(knowledge_public_key, field="knowledge_public_key")
    raw = b64url_decode(signature, length=SIGNATURE_LENGTH, field="knowledge_signature")
    message = key_registration_message(
        activation_id=activation_id, knowledge_public_key=knowledge_public_key
    )
    verify_message(public_key, raw, label=KEY_REGISTRATION_LABEL, message=message)
    return public_key


def code_change_message(*, activation_id: str, counter: int, blinded_element: str) -> bytes:
    """The bytes the old knowledge key signs to authorize the new code's evaluation."""
    return canonical_json(
        {
            "v": 1,
            "activation": activation_id,
            "counter": counter,
            "blinded_element": blinded_element,
        }
    )


def sign_code_change(
    old_knowledge_key: ec.EllipticCurvePrivateKey,
    *,
    activation_id: str,
    counter: int,
    blinded_element: str,
) -> str:
    """Authorize the evaluation of ``blinded_element`` (the new code); return base64url."""
    message = code_change_message(
        activation_id=activation_id, counter=counter, blinded_element=blinded_element
    )
    return b64url_encode(sign_message(old_knowledge_key, label=CODE_CHANGE_LABEL, message=message))


def verify_code_change(
    knowledge_public_key: ec.EllipticCurvePublicKey,
    *,
    activation_id: str,
    counter: int,
    blinded_element: str,
    signature: str,
) -> None:
    """Check that the registered knowledge key authorized this new code's evaluation.

    Raises :class:`~sceau_core.errors.InvalidEncoding` for a malformed signature and
    :class:`~sceau_core.errors.InvalidSignature` when it does not verify.
    """
    raw = b64url_decode(signature, length=SIGNATURE_LENGTH, field="knowledge_signature")
    message = code_change_message(
        activation_id=activation_id, counter=counter, blinded_element=blinded_element
    )
    verify_message(knowledge_public_key, raw, label=CODE_CHANGE_LABEL, message=message)


def _check_challenge(challenge: str) -> None:
    if not isinstance(challenge, str):
        raise InvalidEncoding("challenge must be a string")
    size = len(b64url_decode(challenge, field="challenge"))
    if not MIN_CHALLENGE_BYTES <= size <= MAX_CHALLENGE_BYTES:
        raise InvalidEncoding(
            f"challenge must encode {MIN_CHALLENGE_BYTES} to {MAX_CHALLENGE_BYTES} bytes"
        )


def _check_counter(counter: int) -> None:
    if isinstance(counter, bool) or not isinstance(counter, int) or not 0 < counter <= MAX_COUNTER:
        raise InvalidEncoding("counter must be an integer in [1, 2**53 - 1]")


def key_renewal_message(*, activation_id: str, knowledge_public_key: str, challenge: str) -> bytes:
    """The bytes a new knowledge key signs after its label, for a code change or a reset.

    ``challenge`` is the single-use challenge the server drew for this renewal: a signature made
    for an earlier renewal (or for the activation) does not verify for this one.
    """
    _check_challenge(challenge)
    return canonical_json(
        {
            "v": 1,
            "activation": activation_id,
            "knowledge_public_key": knowledge_public_key,
            "challenge": challenge,
        }
    )


def sign_key_renewal(
    knowledge_key: ec.EllipticCurvePrivateKey, *, activation_id: str, challenge: str
) -> str:
    """Sign the renewal of the code with the new ``knowledge_key``; return base64url."""
    message = key_renewal_message(
        activation_id=activation_id,
        knowledge_public_key=encode_public_key(knowledge_key.public_key()),
        challenge=challenge,
    )
    return b64url_encode(sign_message(knowledge_key, label=KEY_RENEWAL_LABEL, message=message))


def verify_key_renewal(
    *, activation_id: str, knowledge_public_key: str, challenge: str, signature: str
) -> ec.EllipticCurvePublicKey:
    """Check a new knowledge key's renewal signature; return the decoded public key.

    Raises :class:`~sceau_core.errors.InvalidEncoding` for a malformed key, challenge or
    signature and :class:`~sceau_core.errors.InvalidSignature` when the signature does not
    verify (a replayed registration signed over another challenge among them).
    """
    public_key = decode_public_key(knowledge_public_key, field="knowledge_public_key")
    raw = b64url_decode(signature, length=SIGNATURE_LENGTH, field="knowledge_signature")
    message = key_renewal_message(
        activation_id=activation_id,
        knowledge_public_key=knowledge_public_key,
        challenge=challenge,
    )
    verify_message(public_key, raw, label=KEY_RENEWAL_LABEL, message=message)
    return public_key


def code_reset_message(
    *, activation_id: str, reset_id: str, challenge: str, counter: int, blinded_element: str
) -> bytes:
    """The bytes the biometric key signs to authorize the new code's evaluation in a reset."""
    _check_challenge(challenge)
    _check_counter(counter)
    return canonical_json(
        {
            "v": 1,
            "activation": activation_id,
            "reset": reset_id,
            "challenge": challenge,
            "counter": counter,
            "blinded_element": blinded_element,
        }
    )


def sign_code_reset(
    inherence_key: ec.EllipticCurvePrivateKey,
    *,
    activation_id: str,
    reset_id: str,
    challenge: str,
    counter: int,
    blinded_element: str,
) -> str:
    """Sign a reset's authorization with a biometric key held in memory; return base64url.

    A device signs with its platform authenticator instead (label :data:`CODE_RESET_LABEL`,
    message :func:`code_reset_message`); this function serves tests and simulations.
    """
    message = code_reset_message(
        activation_id=activation_id,
        reset_id=reset_id,
        challenge=challenge,
        counter=counter,
        blinded_element=blinded_element,
    )
    return b64url_encode(sign_message(inherence_key, label=CODE_RESET_LABEL, message=message))


def verify_code_reset(
    inherence_public_key: ec.EllipticCurvePublicKey,
    *,
    activation_id: str,
    reset_id: str,
    challenge: str,
    counter: int,
    blinded_element: str,
    signature: str,
) -> None:
    """Check that the registered biometric key authorized this reset's new code.

    Raises :class:`~sceau_core.errors.InvalidEncoding` for a malformed input and
    :class:`~sceau_core.errors.InvalidSignature` when the signature does not verify.
    """
    raw = b64url_decode(signature, length=SIGNATURE_LENGTH, field="inherence_signature")
    message = code_reset_message(
        activation_id=activation_id,
        reset_id=reset_id,
        challenge=challenge,
        counter=counter,
        blinded_element=blinded_element,
    )
    verify_message(inherence_public_key, raw, label=CODE_RESET_LABEL, message=message)


def inherence_registration_message(
    *, activation_id: str, counter: int, inherence_public_key: str | None
) -> bytes:
    """The bytes the knowledge key signs to enrol (a key) or remove (``None``) biometrics."""
    _check_counter(counter)
    return canonical_json(
        {
            "v": 1,
            "activation": activation_id,
            "counter": counter,
            "inherence_public_key": inherence_public_key,
        }
    )


def sign_inherence_registration(
    knowledge_key: ec.EllipticCurvePrivateKey,
    *,
    activation_id: str,
    counter: int,
    inherence_public_key: str | None,
) -> str:
    """Authorize enrolling (or, with ``None``, removing) biometrics; return base64url."""
    message = inherence_registration_message(
        activation_id=activation_id, counter=counter, inherence_public_key=inherence_public_key
    )
    return b64url_encode(
        sign_message(knowledge_key, label=INHERENCE_REGISTRATION_LABEL, message=message)
    )


def verify_inherence_registration(
    knowledge_public_key: ec.EllipticCurvePublicKey,
    *,
    activation_id: str,
    counter: int,
    inherence_public_key: str | None,
    signature: str,
) -> ec.EllipticCurvePublicKey | None:
    """Check that the knowledge key authorized this biometric key (or its removal).

    Returns the decoded biometric public key, or ``None`` for a removal. Raises
    :class:`~sceau_core.errors.InvalidEncoding` for a malformed key or signature and
    :class:`~sceau_core.errors.InvalidSignature` when the signature does not verify.
    """
    inherence = (
        None
        if inherence_public_key is None
        else decode_public_key(inherence_public_key, field="inherence_public_key")
    )
    raw = b64url_decode(signature, length=SIGNATURE_LENGTH, field="knowledge_signature")
    message = inherence_registration_message(
        activation_id=activation_id, counter=counter, inherence_public_key=inherence_public_key
    )
    verify_message(knowledge_public_key, raw, label=INHERENCE_REGISTRATION_LABEL, message=message)
    return inherence
