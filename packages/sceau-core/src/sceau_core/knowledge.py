# SPDX-License-Identifier: Apache-2.0
"""PIN hardening: the knowledge key (brief K1, K2, K6).

The customer's 4-digit code never leaves the device. It is hardened by an RFC 9497 VOPRF run
with the server, which holds a per-activation OPRF key ``k`` (public key ``pkS`` pinned by the
device at activation):

1. the device blinds the code: ``blinded = Blind(code)``;
2. the server counts the attempt, then answers ``(evaluated, proof) = BlindEvaluate(k, blinded)``;
3. the device verifies the DLEQ proof against the pinned ``pkS`` (a substituted evaluation raises
   :class:`~sceau_core.errors.InvalidProof` before anything is signed), then unblinds:
   ``y = Finalize(code, blind, evaluated)``, 64 bytes;
4. ``knowledge key = P-256 key from HKDF-SHA256(ikm=y, salt=s, info="sceau/v1/knowledge")``,
   where ``s`` is the 32-byte device secret (see :mod:`sceau_core.hazmat.p256`).

With ``k`` only on the server and ``s`` only on the device, neither side alone can test a code
offline: every guess needs one evaluation, which the server counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from sceau_core.codes import code_to_oprf_input
from sceau_core.errors import InvalidEncoding
from sceau_core.hazmat import oprf
from sceau_core.hazmat.p256 import private_key_from_seed

__all__ = [
    "DEVICE_SECRET_LENGTH",
    "KNOWLEDGE_INFO",
    "CodeEvaluation",
    "derive_knowledge_key",
    "evaluate_code",
    "finish_code_evaluation",
    "start_code_evaluation",
]

DEVICE_SECRET_LENGTH = 32
KNOWLEDGE_INFO = b"sceau/v1/knowledge"


@dataclass(frozen=True)
class CodeEvaluation:
    """Device state between blinding the code and receiving the server's evaluation.

    Held in memory for one approval only; its repr shows nothing secret.
    """

    code: str = field(repr=False)
    blinded: oprf.BlindedInput = field(repr=False)

    @property
    def blinded_element(self) -> bytes:
        """The blinded element to send to the server."""
        return self.blinded.blinded_element


def start_code_evaluation(code: str, *, rng: Callable[[int], bytes]) -> CodeEvaluation:
    """Blind ``code`` for a VOPRF evaluation by the server."""
    blinded = oprf.blind(code_to_oprf_input(code), mode=oprf.MODE_VOPRF, rng=rng)
    return CodeEvaluation(code=code, blinded=blinded)


def derive_knowledge_key(*, oprf_output: bytes, device_secret: bytes) -> ec.EllipticCurvePrivateKey:
    """The deterministic P-256 knowledge key from the OPRF output and the device secret."""
    if len(oprf_output) != oprf.OUTPUT_LENGTH:
        raise InvalidEncoding(f"the OPRF output must be {oprf.OUTPUT_LENGTH} bytes")
    if len(device_secret) != DEVICE_SECRET_LENGTH:
        raise InvalidEncoding(f"the device secret must be {DEVICE_SECRET_LENGTH} bytes")
    return private_key_from_seed(oprf_output, salt=device_secret, info=KNOWLEDGE_INFO)


def finish_code_evaluation(
    evaluation: CodeEvaluation,
    *,
    evaluated_element: bytes,
    proof: bytes,
    expected_oprf_public_key: bytes,
    device_secret: bytes,
) -> ec.EllipticCurvePrivateKey:
    """Verify the server's proof against the pinned OPRF key, then derive the knowledge key.

    Raises :class:`~sceau_core.errors.InvalidProof` when the evaluation does not come from the
    pinned key (brief K6): the device must then sign nothing.
    """
    output = oprf.finalize_verifiable(
        code_to_oprf_input(evaluation.code),
        evaluation.blinded,
        evaluated_element,
        expected_public_key=expected_oprf_public_key,
        proof=proof,
    )
    return derive_knowledge_key(oprf_output=output, device_secret=device_secret)


def evaluate_code(
    code: str,
    *,
    oprf_key: bytes,
    device_secret: bytes,
    rng: Callable[[int], bytes],
) -> ec.EllipticCurvePrivateKey:
    """Run the whole exchange in one process, as the tests, vectors and benchmarks do."""
    evaluation = start_code_evaluation(code, rng=rng)
    public_key = oprf.public_key(oprf_key)
    evaluated, proof = oprf.blind_evaluate_verifiable(
        oprf_key, public_key, evaluation.blinded_element, rng=rng
    )
    return finish_code_evaluation(
        evaluation,
        evaluated_element=evaluated,
        proof=proof,
        expected_oprf_public_key=public_key,
        device_secret=device_secret,
    )
