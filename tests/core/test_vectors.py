# SPDX-License-Identifier: Apache-2.0
"""Sceau's own protocol vectors: up to date, and checkable from the file alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from sceau_core.activation import (
    ActivationCode,
    QrPayload,
    ServerBinding,
    binding_tag,
    verify_binding,
)
from sceau_core.approval import APPROVAL_LABEL, SignedApproval
from sceau_core.encoding import b64url_decode, b64url_encode, canonical_json, sha256_b64url
from sceau_core.errors import InvalidSignature
from sceau_core.hazmat import oprf
from sceau_core.keys import decode_public_key, encode_public_key, key_fingerprint, verify_message
from sceau_core.knowledge import derive_knowledge_key
from sceau_core.operations import NewDeviceData, Operation, OperationType
from sceau_core.signatures import (
    CODE_CHANGE_LABEL,
    CODE_RESET_LABEL,
    INHERENCE_REGISTRATION_LABEL,
    KEY_REGISTRATION_LABEL,
    KEY_RENEWAL_LABEL,
    OPERATION_LABEL,
    code_change_message,
    code_reset_message,
    inherence_registration_message,
    key_registration_message,
    key_renewal_message,
    verify_code_change,
    verify_code_reset,
    verify_inherence_registration,
    verify_key_registration,
    verify_key_renewal,
    verify_signed_operation,
)

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "sceau" / "protocol-v1.json"


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    return json.loads(VECTORS.read_text(encoding="utf-8"))


def test_vectors_file_matches_the_generator() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_vectors.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_activation_vectors(vectors: dict[str, Any]) -> None:
    activation = vectors["activation"]
    code = ActivationCode.parse(activation["code_text"])
    assert code.data == activation["data_symbols"]
    assert code.lookup_id() == activation["lookup_id_b64u"]
    assert code.binding_key().hex() == activation["binding_key"]
    assert code.registration_key().hex() == activation["registration_key"]
    binding = ServerBinding.from_json(activation["binding"])
    assert canonical_json(binding.to_json()).decode() == activation["binding_jcs"]
    assert binding_tag(code, binding) == activation["binding_tag_b64u"]
    verify_binding(code, binding, activation["binding_tag_b64u"])
    # The QR code carries the code, the server URL and the fingerprint of the bound server key.
    keys = vectors["keys"]
    server_key = decode_public_key(keys["server_public_key_b64u"])
    assert binding.server_public_key == keys["server_public_key_b64u"]
    assert key_fingerprint(server_key) == keys["server_key_fingerprint_b64u"]
    qr = QrPayload.parse(activation["qr_uri"])
    assert qr == QrPayload(code, binding.server_url, keys["server_key_fingerprint_b64u"])
    assert qr.to_uri() == activation["qr_uri"]
    verify_binding(
        code,
        binding,
        activation["binding_tag_b64u"],
        expected_fingerprint=qr.server_key_fingerprint,
        expected_server_url=qr.server_url,
    )


def test_key_vectors(vectors: dict[str, Any]) -> None:
    keys = vectors["keys"]
    for name in ("server", "device"):
        scalar = int(keys[f"{name}_private_scalar"], 16)
        private_key = ec.derive_private_key(scalar, ec.SECP256R1())
        assert encode_public_key(private_key.public_key()) == keys[f"{name}_public_key_b64u"]


def test_knowledge_vectors(vectors: dict[str, Any]) -> None:
    v = vectors["knowledge"]
    sk, pk = oprf.derive_key_pair(
        bytes.fromhex(v["oprf_seed"]), v["oprf_key_info"].encode(), mode=oprf.MODE_VOPRF
    )
    assert (sk.hex(), pk.hex()) == (v["oprf_private_key"], v["oprf_public_key"])
    blinded = oprf.blind(v["code"].encode(), mode=oprf.MODE_VOPRF, blind=bytes.fromhex(v["blind"]))
    assert blinded.blinded_element.hex() == v["blinded_element"]
    evaluated, proof = oprf.blind_evaluate_verifiable(
        sk, pk, blinded.blinded_element, proof_scalar=bytes.fromhex(v["proof_scalar"])
    )
    assert (evaluated.hex(), proof.hex()) == (v["evaluated_element"], v["proof"])
    output = oprf.finalize_verifiable(
        v["code"].encode(), blinded, evaluated, expected_public_key=pk, proof=proof
    )
    assert output.hex() == v["oprf_output"]
    key = derive_knowledge_key(oprf_output=output, device_secret=bytes.fromhex(v["device_secret"]))
    assert f"{key.private_numbers().private_value:064x}" == v["knowledge_private_scalar"]
    assert encode_public_key(key.public_key()) == v["knowledge_public_key_b64u"]


def test_operation_and_approval_vectors(vectors: dict[str, Any]) -> None:
    operation = Operation.from_json(vectors["operation"]["json"])
    assert operation.canonical().decode() == vectors["operation"]["jcs"]
    assert sha256_b64url(operation.canonical()) == vectors["operation"]["digest_b64u"]
    signed = SignedApproval.from_json(vectors["approval"]["signed"])
    assert signed.approval.signed_bytes().decode() == vectors["approval"]["jcs"]
    assert signed.approval.digest == operation.digest
    for factor, key_field in (
        ("possession", ("keys", "device_public_key_b64u")),
        ("knowledge", ("knowledge", "knowledge_public_key_b64u")),
    ):
        public_key = decode_public_key(vectors[key_field[0]][key_field[1]])
        signature = b64url_decode(vectors["approval"]["signed"]["signatures"][factor])
        verify_message(
            public_key, signature, label=APPROVAL_LABEL, message=vectors["approval"]["jcs"].encode()
        )


def _check_exchange(vectors: dict[str, Any], exchange: dict[str, str]) -> str:
    """Replay one VOPRF exchange of a new code; return its knowledge public key."""
    v = vectors["knowledge"]
    sk, pk = bytes.fromhex(v["oprf_private_key"]), bytes.fromhex(v["oprf_public_key"])
    code = exchange["code"].encode()
    blinded = oprf.blind(code, mode=oprf.MODE_VOPRF, blind=bytes.fromhex(exchange["blind"]))
    assert b64url_encode(blinded.blinded_element) == exchange["blinded_element_b64u"]
    evaluated, proof = oprf.blind_evaluate_verifiable(
        sk, pk, blinded.blinded_element, proof_scalar=bytes.fromhex(exchange["proof_scalar"])
    )
    assert (evaluated.hex(), proof.hex()) == (exchange["evaluated_element"], exchange["proof"])
    output = oprf.finalize_verifiable(code, blinded, evaluated, expected_public_key=pk, proof=proof)
    assert output.hex() == exchange["oprf_output"]
    key = derive_knowledge_key(oprf_output=output, device_secret=bytes.fromhex(v["device_secret"]))
    public = encode_public_key(key.public_key())
    assert public == exchange["knowledge_public_key_b64u"]
    return public


def _signed_once(entry: dict[str, Any], label: str, public_key: str) -> None:
    """The entry's label is ``label`` and its signature verifies under it and no other."""
    assert entry["label"] == label
    key = decode_public_key(public_key)
    signature = b64url_decode(entry["signature"])
    message = entry["message_jcs"].encode()
    verify_message(key, signature, label=label, message=message)
    for other in (CODE_CHANGE_LABEL, CODE_RESET_LABEL, KEY_RENEWAL_LABEL, OPERATION_LABEL):
        if other != label:
            with pytest.raises(InvalidSignature):
                verify_message(key, signature, label=other, message=message)


def test_lifecycle_vectors(vectors: dict[str, Any]) -> None:
    life = vectors["lifecycle"]
    activation = vectors["activation"]["binding"]["activation_id"]
    knowledge = vectors["knowledge"]["knowledge_public_key_b64u"]
    inherence = life["inherence"]["public_key_b64u"]

    registration = life["key_registration"]
    assert registration["message_jcs"].encode() == key_registration_message(
        activation_id=activation, knowledge_public_key=knowledge
    )
    verify_key_registration(
        activation_id=activation,
        knowledge_public_key=knowledge,
        signature=registration["signature"],
    )
    _signed_once(registration, KEY_REGISTRATION_LABEL, knowledge)

    change = life["code_change"]
    new_key = _check_exchange(vectors, change["new_code_exchange"])
    blinded = change["new_code_exchange"]["blinded_element_b64u"]
    authorization = change["authorization"]
    assert authorization["message_jcs"].encode() == code_change_message(
        activation_id=activation, counter=authorization["counter"], blinded_element=blinded
    )
    verify_code_change(
        decode_public_key(knowledge),
        activation_id=activation,
        counter=authorization["counter"],
        blinded_element=blinded,
        signature=authorization["signature"],
    )
    _signed_once(authorization, CODE_CHANGE_LABEL, knowledge)
    renewal = change["key_renewal"]
    assert renewal["message_jcs"].encode() == key_renewal_message(
        activation_id=activation, knowledge_public_key=new_key, challenge=renewal["challenge"]
    )
    verify_key_renewal(
        activation_id=activation,
        knowledge_public_key=new_key,
        challenge=renewal["challenge"],
        signature=renewal["signature"],
    )
    _signed_once(renewal, KEY_RENEWAL_LABEL, new_key)

    reset = life["code_reset"]
    reset_key = _check_exchange(vectors, reset["new_code_exchange"])
    blinded = reset["new_code_exchange"]["blinded_element_b64u"]
    authorization = reset["authorization"]
    assert authorization["message_jcs"].encode() == code_reset_message(
        activation_id=activation,
        reset_id=reset["reset_id"],
        challenge=reset["challenge"],
        counter=authorization["counter"],
        blinded_element=blinded,
    )
    verify_code_reset(
        decode_public_key(inherence),
        activation_id=activation,
        reset_id=reset["reset_id"],
        challenge=reset["challenge"],
        counter=authorization["counter"],
        blinded_element=blinded,
        signature=authorization["signature"],
    )
    _signed_once(authorization, CODE_RESET_LABEL, inherence)
    verify_key_renewal(
        activation_id=activation,
        knowledge_public_key=reset_key,
        challenge=reset["challenge"],
        signature=reset["key_renewal"]["signature"],
    )
    _signed_once(reset["key_renewal"], KEY_RENEWAL_LABEL, reset_key)

    for name, enrolled in (("enrol", inherence), ("remove", None)):
        entry = life["inherence_registration"][name]
        assert entry["message_jcs"].encode() == inherence_registration_message(
            activation_id=activation, counter=entry["counter"], inherence_public_key=enrolled
        )
        verify_inherence_registration(
            decode_public_key(knowledge),
            activation_id=activation,
            counter=entry["counter"],
            inherence_public_key=enrolled,
            signature=entry["signature"],
        )
        _signed_once(entry, INHERENCE_REGISTRATION_LABEL, knowledge)


def test_new_device_operation_vector(vectors: dict[str, Any]) -> None:
    vector = vectors["lifecycle"]["new_device_operation"]
    assert vector["label"] == OPERATION_LABEL
    operation = Operation.from_json(vector["json"])
    assert operation.type is OperationType.NEW_DEVICE
    assert isinstance(operation.data, NewDeviceData)
    assert operation.canonical().decode() == vector["jcs"]
    assert sha256_b64url(operation.canonical()) == vector["digest_b64u"]
    server_key = decode_public_key(vectors["keys"]["server_public_key_b64u"])
    assert verify_signed_operation(vector["signed"], public_key=server_key) == operation
    assert "Remplace\u00a0: Téléphone de Marie" in operation.display
