# SPDX-License-Identifier: Apache-2.0
"""A terminal walk-through of one customer's story, run entirely on the protocol core.

The bank activates a device, the customer chooses a code, approves a transfer with it, and the
bank verifies the signed result; then a wrong code and a one-cent change are refused. Each step
prints what each party sees. Every value is real: keys, OPRF evaluations, signatures.
"""

from __future__ import annotations

import io
import os
import time

import segno
from cryptography.hazmat.primitives.asymmetric import ec

from sceau_core.activation import (
    ActivationCode,
    QrPayload,
    ServerBinding,
    binding_tag,
    verify_binding,
)
from sceau_core.approval import (
    Approval,
    Decision,
    Factor,
    FactorKeys,
    sign_approval,
    verify_approval,
)
from sceau_core.codes import WEAK_CODE_REASONS, check_code_strength
from sceau_core.display import TEXT
from sceau_core.encoding import b64url_encode
from sceau_core.errors import VerificationFailed, WeakCode
from sceau_core.hazmat import oprf
from sceau_core.keys import encode_public_key, generate_private_key
from sceau_core.knowledge import finish_code_evaluation, start_code_evaluation
from sceau_core.operations import Operation, OperationType, RequestContext, TransferData
from sceau_core.results import ResultClaims, ResultStatus, jwks, sign_result, verify_result

SERVER_URL = "https://sceau.ma-banque.example"


def _say(who: str, text: str) -> None:
    print(f"  [{who:^10}] {text}")


def main() -> int:
    """Run the walk-through and return 0 when every step behaved as the protocol says."""
    rng = os.urandom
    now = int(time.time())
    print("Sceau — le parcours d'un client, sur le cœur du protocole (aucun réseau).\n")

    server_key = generate_private_key(rng)
    oprf_key, oprf_public = oprf.generate_key_pair(rng)
    code = ActivationCode.generate(rng)
    binding = ServerBinding(
        activation_id="act_demo",
        server_url=SERVER_URL,
        server_public_key=encode_public_key(server_key.public_key()),
        oprf_public_key=b64url_encode(oprf_public),
    )
    tag = binding_tag(code, binding)
    qr = QrPayload(code, SERVER_URL, binding.server_key_fingerprint)
    print("1. Activation")
    _say("banque", f"code d'activation : {code.text}")
    buffer = io.StringIO()
    segno.make(qr.to_uri(), error="m").terminal(out=buffer, compact=True, border=1)
    print("\n".join("      " + line for line in buffer.getvalue().splitlines()))
    verify_binding(code, binding, tag, expected_fingerprint=qr.server_key_fingerprint)
    _say("téléphone", "clé du serveur vérifiée avec le code d'activation, et épinglée")

    print("\n2. Choix du code à 4 chiffres")
    for candidate in ("1234", "4826"):
        try:
            check_code_strength(candidate)
            _say("téléphone", f"{candidate[0]}••• accepté")
        except WeakCode as weak:
            _say("téléphone", f"{candidate} refusé : {WEAK_CODE_REASONS['fr'][weak.reason]}")
    device_key = generate_private_key(rng)
    device_secret = rng(32)

    def knowledge_key(typed: str) -> ec.EllipticCurvePrivateKey:
        evaluation = start_code_evaluation(typed, rng=rng)
        evaluated, proof = oprf.blind_evaluate_verifiable(
            oprf_key, oprf_public, evaluation.blinded_element, rng=rng
        )
        return finish_code_evaluation(
            evaluation,
            evaluated_element=evaluated,
            proof=proof,
            expected_oprf_public_key=oprf_public,
            device_secret=device_secret,
        )

    registered = knowledge_key("4826")
    keys = FactorKeys(possession=device_key.public_key(), knowledge=registered.public_key())
    _say(
        "serveur", "clé de connaissance enregistrée ; le code, lui, n'a jamais quitté le téléphone"
    )

    print("\n3. Un virement à valider")
    operation = Operation.create(
        id="op_demo",
        type=OperationType.TRANSFER,
        data=TransferData.from_json(
            {
                "amount": {"value": "1234.56", "currency": "EUR"},
                "payee_name": "Jean Dupont",
                "payee_iban": "FR7630006000011234567890189",
            }
        ),
        context=RequestContext.from_json({"channel": "web", "ip": "203.0.113.7"}),
        locale="fr",
        now=now,
        ttl=300,
        rng=rng,
    )
    for line in operation.display:
        _say("téléphone", line)
    _say("téléphone", TEXT["fr"]["reminder"])

    counter = 1
    outcome_ok = True
    for typed, expect_success in (("4827", False), ("4826", True)):
        counter += 1
        approval = Approval.for_operation(
            operation,
            activation="act_demo",
            decision=Decision.APPROVE,
            factors=[Factor.POSSESSION, Factor.KNOWLEDGE],
            counter=counter,
        )
        signed = sign_approval(
            approval, {Factor.POSSESSION: device_key, Factor.KNOWLEDGE: knowledge_key(typed)}
        )
        try:
            verify_approval(
                signed,
                expected_operation=operation,
                expected_activation="act_demo",
                keys=keys,
                last_counter=counter - 1,
                now=now + 5,
            )
            _say("serveur", f"code {typed[0]}••• : validation acceptée")
            outcome_ok &= expect_success
        except VerificationFailed:
            _say(
                "serveur", f"code {typed[0]}••• : authentification refusée (il vous reste 4 essais)"
            )
            outcome_ok &= not expect_success

    claims = ResultClaims(
        issuer=SERVER_URL,
        operation_id=operation.id,
        digest=operation.digest,
        operation_type=operation.type.value,
        status=ResultStatus.APPROVED,
        factors=("knowledge", "possession"),
        signers=("act_demo",),
        issued_at=now + 5,
    )
    token = sign_result(claims, private_key=server_key)
    verify_result(
        token,
        jwks_document=jwks([server_key.public_key()]),
        expected_operation_id=operation.id,
        expected_issuer=SERVER_URL,
        expected_digest=operation.digest,
    )
    print("\n4. Résultat signé pour la banque")
    _say("banque", f"JWS vérifié avec le JWKS du serveur : {token[:48]}…")

    print("\n5. Un centime de plus après la signature")
    tampered = Operation.from_json(
        {
            **operation.to_json(),
            "data": {
                **operation.to_json()["data"],
                "amount": {"value": "1234.57", "currency": "EUR"},
            },
        }
    )
    try:
        verify_approval(
            signed,
            expected_operation=tampered,
            expected_activation="act_demo",
            keys=keys,
            last_counter=0,
            now=now + 5,
        )
        outcome_ok = False
    except VerificationFailed as refused:
        _say("serveur", f"refusé : {refused}")
    print("\nFin du parcours." if outcome_ok else "\nUne étape ne s'est pas passée comme prévu.")
    return 0 if outcome_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
