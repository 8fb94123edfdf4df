# SPDX-License-Identifier: Apache-2.0
"""RFC 9497 OPRF and VOPRF over ristretto255-SHA512, on libsodium through ``rbcl``.

The client blinds its private input, the server evaluates the blinded element with its
private key, and the client unblinds the evaluation into a 64-byte output that only the key
holder could help compute and that the server never sees (RFC 9497 §3.3.1). In VOPRF mode
(§3.3.2) the server also returns a proof that it used the key whose public half the client
pinned, so a man in the middle cannot substitute its own key (brief K6).

Encodings follow RFC 9497 §4.1: elements are 32-byte canonical ristretto255 encodings (RFC
9496), scalars are 32-byte little-endian integers below the group order, a proof is ``c || s``.
Every element received is checked to be a valid encoding other than the identity.

Only the ristretto255-SHA512 suite is implemented, in modes ``MODE_OPRF`` and ``MODE_VOPRF``.
Nothing here reads the clock or the operating system's randomness: callers pass an ``rng``
with the signature of :func:`os.urandom`, or, for test vectors only, a fixed scalar.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import rbcl

from sceau_core.errors import InvalidEncoding, InvalidGroupElement, InvalidProof, Mismatch

__all__ = [
    "ELEMENT_LENGTH",
    "MAX_INPUT_LENGTH",
    "MODE_OPRF",
    "MODE_VOPRF",
    "OUTPUT_LENGTH",
    "PROOF_LENGTH",
    "SCALAR_LENGTH",
    "SEED_LENGTH",
    "BlindedInput",
    "blind",
    "blind_evaluate",
    "blind_evaluate_verifiable",
    "check_element",
    "derive_key_pair",
    "evaluate",
    "expand_message_xmd",
    "finalize",
    "finalize_verifiable",
    "generate_key_pair",
    "public_key",
    "random_scalar",
]

MODE_OPRF: int = 0x00
MODE_VOPRF: int = 0x01

ELEMENT_LENGTH = 32
SCALAR_LENGTH = 32
PROOF_LENGTH = 2 * SCALAR_LENGTH
OUTPUT_LENGTH = 64
SEED_LENGTH = 32

MAX_INPUT_LENGTH = 0xFFFF
"""The longest private input or key info RFC 9497 admits: its length is encoded on 2 bytes."""

_SUITE = b"-ristretto255-SHA512"
_IDENTITY = bytes(ELEMENT_LENGTH)
_UNIFORM_LENGTH = 64
_SHA512_BLOCK = 128
_SHA512_DIGEST = 64

Rng = Callable[[int], bytes]


@dataclass(frozen=True)
class BlindedInput:
    """The client's state between :func:`blind` and finalization.

    ``blinded_element`` goes to the server; ``blind`` is secret, stays in memory for one
    evaluation and is deliberately left out of ``repr``.
    """

    blind: bytes = field(repr=False)
    blinded_element: bytes

    def __post_init__(self) -> None:
        _check_scalar(self.blind, "blind")
        _check_element(self.blinded_element, "blinded element")


def random_scalar(rng: Rng) -> bytes:
    """Draw a uniformly random non-zero scalar from 64 bytes of ``rng`` reduced mod the order."""
    while True:
        wide = rng(_UNIFORM_LENGTH)
        if len(wide) != _UNIFORM_LENGTH:
            raise InvalidEncoding(f"rng must return {_UNIFORM_LENGTH} bytes")
        scalar: bytes = rbcl.crypto_core_ristretto255_scalar_reduce(wide)
        if scalar != bytes(SCALAR_LENGTH):
            return scalar


def derive_key_pair(seed: bytes, info: bytes, *, mode: int) -> tuple[bytes, bytes]:
    """Derive ``(skS, pkS)`` from a 32-byte secret seed and public ``info`` (RFC 9497 §3.2.1)."""
    context = _context_string(mode)
    _check_bytes(seed, "seed", SEED_LENGTH)
    _check_input(info, "key info")
    derive_input = seed + _framed(info)
    dst = b"DeriveKeyPair" + context
    for counter in range(256):
        sk = _hash_to_scalar(derive_input + counter.to_bytes(1, "big"), dst)
        if sk != bytes(SCALAR_LENGTH):
            return sk, _base_mul(sk)
    raise InvalidGroupElement("DeriveKeyPair found no non-zero scalar in 256 tries")


def generate_key_pair(rng: Rng) -> tuple[bytes, bytes]:
    """Generate a random ``(skS, pkS)`` key pair (RFC 9497 §3.2)."""
    sk = random_scalar(rng)
    return sk, _base_mul(sk)


def public_key(sk: bytes) -> bytes:
    """Return the public key ``skS * G`` of a private key."""
    _check_scalar(sk, "private key")
    return _base_mul(sk)


def blind(
    private_input: bytes,
    *,
    mode: int,
    rng: Rng | None = None,
    blind: bytes | None = None,
) -> BlindedInput:
    """Blind ``private_input`` for the server (RFC 9497 §3.3.1 Blind).

    Pass exactly one of ``rng`` (normal use) or ``blind`` (a fixed scalar, for test vectors).
    """
    context = _context_string(mode)
    _check_input(private_input, "private input")
    scalar = _scalar_from(rng, blind, "blind")
    input_element = _hash_to_group(private_input, context)
    return BlindedInput(blind=scalar, blinded_element=_mul(scalar, input_element))


def blind_evaluate(sk: bytes, blinded_element: bytes) -> bytes:
    """Evaluate a client's blinded element with ``sk`` in OPRF mode (RFC 9497 §3.3.1)."""
    _check_scalar(sk, "private key")
    _check_element(blinded_element, "blinded element")
    return _mul(sk, blinded_element)


def check_element(data: bytes, name: str = "element") -> bytes:
    """``data`` if it is the canonical encoding of a ristretto255 element other than the
    identity (what :func:`blind_evaluate_verifiable` accepts), else :class:`InvalidEncoding`
    or :class:`InvalidGroupElement`."""
    return _check_element(data, name)


def blind_evaluate_verifiable(
    sk: bytes,
    pk: bytes,
    blinded_element: bytes,
    *,
    rng: Rng | None = None,
    proof_scalar: bytes | None = None,
) -> tuple[bytes, bytes]:
    """Evaluate in VOPRF mode and prove it (RFC 9497 §3.3.2 BlindEvaluate).

    Returns ``(evaluated_element, proof)``. Pass exactly one of ``rng`` (normal use) or
    ``proof_scalar`` (the proof's random scalar fixed, for test vectors only). ``pk`` must be
    the public key of ``sk``; a mismatch raises :class:`Mismatch` rather than emit a proof
    that no client would accept.
    """
    _check_scalar(sk, "private key")
    _check_element(pk, "public key")
    _check_element(blinded_element, "blinded element")
    if not hmac.compare_digest(_base_mul(sk), pk):
        raise Mismatch("public key")
    r = _scalar_from(rng, proof_scalar, "proof scalar")
    evaluated_element = _mul(sk, blinded_element)
    proof = _generate_proof(sk, pk, [blinded_element], [evaluated_element], r)
    return evaluated_element, proof


def finalize(
    private_input: bytes,
    blinded: BlindedInput,
    evaluated_element: bytes,
    *,
    mode: int = MODE_OPRF,
) -> bytes:
    """Unblind an OPRF-mode evaluation into the 64-byte output (RFC 9497 §3.3.1 Finalize).

    A VOPRF evaluation must go through :func:`finalize_verifiable`: ``mode=MODE_VOPRF`` is
    refused here because finalizing without the proof would drop the key check (brief K6).
    """
    if mode != MODE_OPRF:
        raise ValueError("finalize is OPRF mode only; use finalize_verifiable for VOPRF mode")
    return _finalize(private_input, blinded, evaluated_element)


def finalize_verifiable(
    private_input: bytes,
    blinded: BlindedInput,
    evaluated_element: bytes,
    *,
    expected_public_key: bytes,
    proof: bytes,
) -> bytes:
    """Verify the server's proof, then unblind (RFC 9497 §3.3.2 Finalize).

    Raises :class:`InvalidProof` when the evaluation was not made with the private key of
    ``expected_public_key`` on this very blinded element.
    """
    _check_input(private_input, "private input")
    _check_element(expected_public_key, "public key")
    _check_element(evaluated_element, "evaluated element")
    _check_bytes(proof, "proof", PROOF_LENGTH)
    _verify_proof(expected_public_key, [blinded.blinded_element], [evaluated_element], proof)
    return _finalize(private_input, blinded, evaluated_element)


def evaluate(sk: bytes, private_input: bytes, *, mode: int) -> bytes:
    """Compute the output for a known input, unblinded, on the server (RFC 9497 Evaluate)."""
    context = _context_string(mode)
    _check_scalar(sk, "private key")
    _check_input(private_input, "private input")
    issued_element = _mul(sk, _hash_to_group(private_input, context))
    return _output_hash(private_input, issued_element)


def expand_message_xmd(message: bytes, dst: bytes, length: int) -> bytes:
    """Expand ``message`` into ``length`` uniform bytes with SHA-512 (RFC 9380 §5.3.1)."""
    blocks = -(-length // _SHA512_DIGEST)
    if not 0 < length <= 0xFFFF or blocks > 255 or len(dst) > 255:
        raise InvalidEncoding("expand_message_xmd length or DST out of range")
    dst_prime = dst + len(dst).to_bytes(1, "big")
    msg_prime = bytes(_SHA512_BLOCK) + message + length.to_bytes(2, "big") + b"\x00" + dst_prime
    b_0 = hashlib.sha512(msg_prime).digest()
    b_i = hashlib.sha512(b_0 + b"\x01" + dst_prime).digest()
    uniform = [b_i]
    for i in range(2, blocks + 1):
        mixed = bytes(x ^ y for x, y in zip(b_0, b_i, strict=True))
        b_i = hashlib.sha512(mixed + i.to_bytes(1, "big") + dst_prime).digest()
        uniform.append(b_i)
    return b"".join(uniform)[:length]


def _context_string(mode: int) -> bytes:
    if mode not in (MODE_OPRF, MODE_VOPRF):
        raise ValueError(f"unsupported OPRF mode {mode!r}")
    return b"OPRFV1-" + mode.to_bytes(1, "big") + _SUITE


def _hash_to_group(data: bytes, context: bytes) -> bytes:
    uniform = expand_message_xmd(data, b"HashToGroup-" + context, _UNIFORM_LENGTH)
    element: bytes = rbcl.crypto_core_ristretto255_from_hash(uniform)
    if element == _IDENTITY:
        raise InvalidGroupElement("the input hashes to the identity element")
    return element


def _hash_to_scalar(data: bytes, dst: bytes) -> bytes:
    uniform = expand_message_xmd(data, dst, _UNIFORM_LENGTH)
    scalar: bytes = rbcl.crypto_core_ristretto255_scalar_reduce(uniform)
    return scalar


def _finalize(private_input: bytes, blinded: BlindedInput, evaluated_element: bytes) -> bytes:
    _check_input(private_input, "private input")
    _check_element(evaluated_element, "evaluated element")
    inverse = rbcl.crypto_core_ristretto255_scalar_invert(blinded.blind)
    return _output_hash(private_input, _mul(inverse, evaluated_element))


def _output_hash(private_input: bytes, unblinded_element: bytes) -> bytes:
    transcript = _framed(private_input) + _framed(unblinded_element) + b"Finalize"
    return hashlib.sha512(transcript).digest()


def _generate_proof(
    sk: bytes, pk: bytes, blinded: Sequence[bytes], evaluated: Sequence[bytes], r: bytes
) -> bytes:
    """RFC 9497 §2.2.1 GenerateProof with A = G, B = pk, C = blinded, D = evaluated."""
    m, z = _compute_composites(pk, blinded, evaluated, sk=sk)
    c = _challenge(pk, m, z, _base_mul(r), _mul(r, m))
    s: bytes = rbcl.crypto_core_ristretto255_scalar_sub(
        r, rbcl.crypto_core_ristretto255_scalar_mul(c, sk)
    )
    return c + s


def _verify_proof(
    pk: bytes, blinded: Sequence[bytes], evaluated: Sequence[bytes], proof: bytes
) -> None:
    """RFC 9497 §2.2.2 VerifyProof with A = G, B = pk, C = blinded, D = evaluated."""
    c = _check_scalar(proof[:SCALAR_LENGTH], "proof challenge", allow_zero=True)
    s = _check_scalar(proof[SCALAR_LENGTH:], "proof response", allow_zero=True)
    m, z = _compute_composites(pk, blinded, evaluated, sk=None)
    t2 = _add(_base_mul(s, allow_zero=True), _mul(c, pk))
    t3 = _add(_mul(s, m), _mul(c, z))
    if not hmac.compare_digest(_challenge(pk, m, z, t2, t3), c):
        raise InvalidProof("the VOPRF proof does not verify under the expected public key")


def _compute_composites(
    pk: bytes, blinded: Sequence[bytes], evaluated: Sequence[bytes], *, sk: bytes | None
) -> tuple[bytes, bytes]:
    """RFC 9497 §2.2.1 ComputeCompositesFast when ``sk`` is given, else ComputeComposites."""
    if len(blinded) != len(evaluated) or not 0 < len(blinded) <= MAX_INPUT_LENGTH:
        raise InvalidEncoding("a proof needs as many evaluated as blinded elements")
    context = _context_string(MODE_VOPRF)
    seed_dst = b"Seed-" + context
    seed = hashlib.sha512(_framed(pk) + _framed(seed_dst)).digest()
    m, z = _IDENTITY, _IDENTITY
    for i, (c_i, d_i) in enumerate(zip(blinded, evaluated, strict=True)):
        transcript = (
            _framed(seed) + i.to_bytes(2, "big") + _framed(c_i) + _framed(d_i) + b"Composite"
        )
        weight = _hash_to_scalar(transcript, b"HashToScalar-" + context)
        m = _add(_mul(weight, c_i), m)
        if sk is None:
            z = _add(_mul(weight, d_i), z)
    if sk is not None:
        z = _mul(sk, m)
    return m, z


def _challenge(pk: bytes, m: bytes, z: bytes, t2: bytes, t3: bytes) -> bytes:
    transcript = b"".join(_framed(element) for element in (pk, m, z, t2, t3)) + b"Challenge"
    return _hash_to_scalar(transcript, b"HashToScalar-" + _context_string(MODE_VOPRF))


def _mul(scalar: bytes, element: bytes) -> bytes:
    # The "allow_scalar_zero" binding returns the identity instead of raising, so a hostile
    # proof scalar is refused by the challenge comparison, not by a backend error.
    product: bytes = rbcl.crypto_scalarmult_ristretto255_allow_scalar_zero(scalar, element)
    return product


def _base_mul(scalar: bytes, *, allow_zero: bool = False) -> bytes:
    if allow_zero:
        product: bytes = rbcl.crypto_scalarmult_ristretto255_base_allow_scalar_zero(scalar)
    else:
        product = rbcl.crypto_scalarmult_ristretto255_base(scalar)
    return product


def _add(p: bytes, q: bytes) -> bytes:
    total: bytes = rbcl.crypto_core_ristretto255_add(p, q)
    return total


def _framed(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def _scalar_from(rng: Rng | None, fixed: bytes | None, name: str) -> bytes:
    if rng is not None and fixed is None:
        return random_scalar(rng)
    if rng is None and fixed is not None:
        return _check_scalar(fixed, name)
    raise TypeError(f"pass exactly one of rng or a fixed {name}")


def _check_bytes(data: bytes, name: str, length: int) -> bytes:
    if len(data) != length:
        raise InvalidEncoding(f"{name} must be {length} bytes")
    return data


def _check_input(data: bytes, name: str) -> None:
    if len(data) > MAX_INPUT_LENGTH:
        raise InvalidEncoding(f"{name} must be at most {MAX_INPUT_LENGTH} bytes")


def _check_scalar(data: bytes, name: str, *, allow_zero: bool = False) -> bytes:
    _check_bytes(data, name, SCALAR_LENGTH)
    if rbcl.crypto_core_ristretto255_scalar_reduce(data + bytes(SCALAR_LENGTH)) != data:
        raise InvalidEncoding(f"{name} is not a canonical scalar")
    if not allow_zero and data == bytes(SCALAR_LENGTH):
        raise InvalidEncoding(f"{name} must not be zero")
    return data


def _check_element(data: bytes, name: str) -> bytes:
    _check_bytes(data, name, ELEMENT_LENGTH)
    if data == _IDENTITY:
        raise InvalidGroupElement(f"{name} is the identity element")
    # The libsodium bundled in rbcl 1.1.2 does not look at the top bit when it decodes, so it
    # takes an encoding with that bit set as an alias of another element; RFC 9496 refuses it.
    if data[-1] & 0x80 or not rbcl.crypto_core_ristretto255_is_valid_point(data):
        raise InvalidGroupElement(f"{name} is not a canonical ristretto255 element")
    return data
