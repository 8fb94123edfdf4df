# SPDX-License-Identifier: Apache-2.0
"""The one error tree of the Sceau protocol core.

Every failure the core can report is a subclass of :class:`SceauError`. Verification never
returns ``False``: it returns a typed result or raises one of these::

    SceauError
    ├── MalformedInput (also ValueError)      wire data that does not parse into a valid value
    │   ├── InvalidEncoding                  bad base64url, JSON, length or point encoding
    │   ├── InvalidAmount                    not a decimal string valid for its ISO 4217 currency
    │   ├── InvalidIban                      IBAN checksum, length or country wrong
    │   ├── InvalidOperation                 an operation's fields break its type's rules
    │   │   └── InvalidBatch                 a batch file or list refused, naming the line
    │   ├── InvalidRule                      an approval rule or its inputs are ill-formed
    │   └── InvalidActivationCode            a typo (checksum) or a wrong length in a typed code
    ├── WeakCode (also ValueError)           a 4-digit code refused at choice time, with the reason
    ├── VerificationFailed                   a well-formed value failed a check
    │   ├── InvalidSignature                 a signature does not verify under the expected key
    │   ├── Mismatch                         a field differs from the verifier's expected value
    │   ├── Expired                          a time window has passed or not yet opened
    │   ├── CounterNotIncreasing             a device counter did not increase (possible clone)
    │   ├── InvalidProof                     a VOPRF proof fails: the evaluation is not the
    │   │                                    pinned server key's (brief K6)
    │   └── ServerKeyNotPinned               the server key offered differs from the pinned one
    └── InvalidGroupElement                  an OPRF element is not a valid ristretto255 point or
                                             a computation reached the identity (RFC 9497
                                             InvalidInputError)

Messages name the field that failed and never contain secrets. Callers that face customers map
every ``VerificationFailed`` to one generic message (brief K4); the detail is for logs and audit.
"""

from __future__ import annotations

__all__ = [
    "CounterNotIncreasing",
    "Expired",
    "InvalidActivationCode",
    "InvalidAmount",
    "InvalidBatch",
    "InvalidEncoding",
    "InvalidGroupElement",
    "InvalidIban",
    "InvalidOperation",
    "InvalidProof",
    "InvalidRule",
    "InvalidSignature",
    "MalformedInput",
    "Mismatch",
    "SceauError",
    "ServerKeyNotPinned",
    "VerificationFailed",
    "WeakCode",
]


class SceauError(Exception):
    """Root of every error raised by the Sceau protocol core."""


class MalformedInput(SceauError, ValueError):
    """Wire data that does not parse into a valid value."""


class InvalidEncoding(MalformedInput):
    """Bad base64url, JSON, length or point encoding."""


class InvalidAmount(MalformedInput):
    """An amount that is not a decimal string valid for its ISO 4217 currency."""


class InvalidIban(MalformedInput):
    """An IBAN whose country, length or checksum is wrong."""


class InvalidOperation(MalformedInput):
    """An operation whose fields break the rules of its type."""


class InvalidBatch(InvalidOperation):
    """A batch of transfers refused on import (a SEPA pain.001 file or a JSON list of lines).

    ``line`` is the 1-based number of the transaction at fault, in file order, and
    ``end_to_end_id`` its ``EndToEndId`` when the file gives one; both are ``None`` when the
    fault is the whole batch's (a control sum, a count, the file's structure).
    """

    def __init__(
        self, message: str, *, line: int | None = None, end_to_end_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.line = line
        self.end_to_end_id = end_to_end_id


class InvalidRule(MalformedInput):
    """An approval rule, an account member or an evaluation input that is ill-formed."""


class InvalidActivationCode(MalformedInput):
    """A typed activation code with a typo (checksum failure) or a wrong length."""


class WeakCode(SceauError, ValueError):
    """A 4-digit code refused at choice time; ``reason`` says why, in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class VerificationFailed(SceauError):
    """A well-formed value failed a check."""


class InvalidSignature(VerificationFailed):
    """A signature does not verify under the expected key."""


class Mismatch(VerificationFailed):
    """A field differs from the value the verifier expected."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} does not match the expected value")
        self.field = field


class Expired(VerificationFailed):
    """A time window has passed (or has not opened yet)."""


class CounterNotIncreasing(VerificationFailed):
    """A device counter did not increase: the activation may have been cloned (brief P3)."""


class InvalidProof(VerificationFailed):
    """A VOPRF proof does not verify: the evaluation did not come from the pinned key (brief K6)."""


class ServerKeyNotPinned(VerificationFailed):
    """The server key offered differs from the one pinned at activation (brief P4, D8)."""


class InvalidGroupElement(SceauError):
    """An OPRF input or computation is invalid (RFC 9497 ``InvalidInputError``)."""
