# SPDX-License-Identifier: Apache-2.0
"""Sceau's own protocol vectors: up to date, and checkable from the file alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sceau_core.activation import ActivationCode, ServerBinding, binding_tag
from sceau_core.approval import APPROVAL_LABEL, SignedApproval
from sceau_core.encoding import b64url_decode, canonical_json, sha256_b64url
from sceau_core.hazmat import oprf
from sceau_core.keys import decode_public_key, encode_public_key, verify_message
from sceau_core.knowledge import derive_knowledge_key
from sceau_core.operations import Operation

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
