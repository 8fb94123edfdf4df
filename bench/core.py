# SPDX-License-Identifier: Apache-2.0
"""Micro-benchmark of the protocol core's hot paths, on the server and on the device.

Prints operations per second and microseconds per operation, single thread, for: the VOPRF
evaluation with its proof (one per code attempt), approval verification (two ECDSA signatures
plus the field checks), result JWS signing, and RFC 9421 request verification; then what the
device computes for one approval with the code (blinding, the proof's check and the knowledge
key, the approval's two signatures): the cryptography a validation costs on both sides. Run
with ``make bench``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from collections.abc import Callable

from sceau_core.approval import (
    Approval,
    Decision,
    Factor,
    FactorKeys,
    sign_approval,
    verify_approval,
)
from sceau_core.encoding import canonical_json
from sceau_core.hazmat import oprf
from sceau_core.httpsig import HttpRequest, sign_request, verify_request
from sceau_core.keys import generate_private_key
from sceau_core.knowledge import (
    derive_knowledge_key,
    finish_code_evaluation,
    start_code_evaluation,
)
from sceau_core.operations import (
    Operation,
    OperationType,
    RequestContext,
    TransferData,
    parse_data,
)
from sceau_core.results import ResultClaims, ResultStatus, sign_result

NOW = 1_767_225_600


def measure(name: str, function: Callable[[], object], seconds: float = 1.0) -> tuple[str, float]:
    function()
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(20):
            function()
        count += 20
    elapsed = time.perf_counter() - start
    return name, count / elapsed


def main() -> None:
    rng = random.Random(1).randbytes
    oprf_key, oprf_public = oprf.generate_key_pair(rng)
    evaluation = start_code_evaluation("4826", rng=os.urandom)
    device_key = generate_private_key(rng)
    knowledge_key = derive_knowledge_key(oprf_output=rng(64), device_secret=rng(32))
    server_key = generate_private_key(rng)
    operation = Operation.create(
        id="op_bench",
        type=OperationType.TRANSFER,
        data=TransferData.from_json(
            {
                "amount": {"value": "49.90", "currency": "EUR"},
                "payee_name": "Jean Dupont",
                "payee_iban": "FR7630006000011234567890189",
            }
        ),
        context=RequestContext(),
        locale="fr",
        now=NOW,
        rng=rng,
    )
    approval = Approval.for_operation(
        operation,
        activation="act_bench",
        decision=Decision.APPROVE,
        factors=[Factor.POSSESSION, Factor.KNOWLEDGE],
        counter=2,
    )
    signed = sign_approval(
        approval, {Factor.POSSESSION: device_key, Factor.KNOWLEDGE: knowledge_key}
    )
    keys = FactorKeys(possession=device_key.public_key(), knowledge=knowledge_key.public_key())
    claims = ResultClaims(
        issuer="https://sceau.example",
        operation_id=operation.id,
        digest=operation.digest,
        operation_type="transfer",
        status=ResultStatus.APPROVED,
        factors=("knowledge", "possession"),
        signers=("act_bench",),
        issued_at=NOW,
    )
    request = HttpRequest(
        method="POST",
        url="https://sceau.example/v1/device/operations/op_bench/decision",
        headers={"content-type": "application/json"},
        body=b'{"approval": {}, "signatures": {}}' * 8,
    )
    signed_request = request.with_headers(
        sign_request(
            request, private_key=device_key, key_id="act_bench", counter=3, now=NOW, rng=rng
        )
    )
    public = device_key.public_key()
    device_secret = rng(32)
    evaluated, proof = oprf.blind_evaluate_verifiable(
        oprf_key, oprf_public, evaluation.blinded_element, rng=os.urandom
    )
    operation_json = operation.to_json()
    card_payment = {
        "acs_transaction_id": "6f1c2a4e-8d0b-4c1e-9a57-3b2d1e0f4c88",
        "merchant_name": "Librairie du Centre",
        "merchant_url": "https://librairie.example/panier",
        "amount": {"value": "129.99", "currency": "EUR"},
        "card_last4": "4242",
    }

    results = [
        measure(
            "OPRF evaluate (VOPRF, with proof)",
            lambda: oprf.blind_evaluate_verifiable(
                oprf_key, oprf_public, evaluation.blinded_element, rng=os.urandom
            ),
        ),
        measure(
            "OPRF evaluate (base mode)",
            lambda: oprf.blind_evaluate(oprf_key, evaluation.blinded_element),
        ),
        measure(
            "approval verify (2 signatures)",
            lambda: verify_approval(
                signed,
                expected_operation=operation,
                expected_activation="act_bench",
                keys=keys,
                last_counter=1,
                now=NOW + 1,
            ),
        ),
        measure("result JWS sign (ES256)", lambda: sign_result(claims, private_key=server_key)),
        measure(
            "RFC 9421 request verify",
            lambda: verify_request(signed_request, resolve_key=lambda _: public, now=NOW + 1),
        ),
        measure(
            "operation canonical digest", lambda: Operation.from_json(operation.to_json()).digest
        ),
        measure("operation canonical JSON (RFC 8785)", lambda: canonical_json(operation_json)),
        measure(
            "card payment operation create",
            lambda: Operation.create(
                id="op_bench",
                type=OperationType.CARD_PAYMENT,
                data=parse_data(OperationType.CARD_PAYMENT, card_payment, field="data"),
                context=RequestContext(),
                locale="fr",
                now=NOW,
                rng=rng,
            ),
        ),
        measure(
            "device: blind the code",
            lambda: start_code_evaluation("4826", rng=os.urandom),
        ),
        measure(
            "device: check the proof, knowledge key",
            lambda: finish_code_evaluation(
                evaluation,
                evaluated_element=evaluated,
                proof=proof,
                expected_oprf_public_key=oprf_public,
                device_secret=device_secret,
            ),
        ),
        measure(
            "device: sign the approval (2 keys)",
            lambda: sign_approval(
                approval, {Factor.POSSESSION: device_key, Factor.KNOWLEDGE: knowledge_key}
            ),
        ),
    ]
    print(
        f"Sceau core micro-benchmark — {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, single thread"
    )
    print(f"{'operation':<40}{'ops/s':>12}{'µs/op':>10}")
    for name, rate in results:
        print(f"{name:<40}{rate:>12,.0f}{1e6 / rate:>10.1f}")


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    main()
