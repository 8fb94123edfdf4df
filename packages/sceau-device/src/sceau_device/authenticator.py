# SPDX-License-Identifier: Apache-2.0
"""The authenticator of one activated profile: read, verify, decide, listen, change the code.

An :class:`Authenticator` binds a keystore profile to its server. Everything the protocol
computes comes from :mod:`sceau_core`; this module adds the order of the steps and the refusals:

- every operation is verified with the server key pinned at activation before anything is
  returned to be shown (brief D8); one that does not verify is refused and reported;
- approving with the code blinds it, asks the server for one evaluation (the server counts the
  attempt first, brief K3), checks the VOPRF proof against the pinned OPRF key before signing
  anything (brief K6), derives the knowledge key in memory and signs the approval with it and
  the device key; the code, the OPRF output and the knowledge key are then dropped (brief K1);
- approving with biometrics asks the platform authenticator for a signature (brief I1);
- refusing and "not me" need the device key only (brief D5);
- a login approval carries the number the customer typed from the web page (brief D6).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec

from sceau_core.approval import (
    APPROVAL_LABEL,
    Approval,
    Decision,
    Factor,
    SignedApproval,
    sign_approval,
)
from sceau_core.codes import WEAK_CODE_REASONS, check_code_format, check_code_strength
from sceau_core.display import TEXT
from sceau_core.encoding import b64url_decode, b64url_encode, canonical_json
from sceau_core.errors import InvalidProof, SceauError, WeakCode
from sceau_core.hazmat import oprf
from sceau_core.keys import decode_public_key, encode_public_key, sign_message
from sceau_core.knowledge import CodeEvaluation, finish_code_evaluation, start_code_evaluation
from sceau_core.operations import (
    BatchLine,
    BatchTransferData,
    Operation,
    OperationType,
    check_batch,
    parse_batch_lines,
)
from sceau_core.signatures import (
    CODE_RESET_LABEL,
    code_reset_message,
    sign_inherence_registration,
    sign_key_renewal,
    verify_signed_operation,
)
from sceau_device._httpx import httpx
from sceau_device.biometrics import PlatformAuthenticator
from sceau_device.errors import (
    AuthenticationRefused,
    BiometricsError,
    BiometricsInvalidated,
    DeviceError,
    DeviceRevoked,
    InputError,
    KeystoreError,
    Locked,
    NetworkError,
    OperationUnavailable,
    ServerFailure,
    SubstitutedEvaluation,
    TamperedOperation,
)
from sceau_device.keystore import Keystore, Profile, ProfileSecrets
from sceau_device.lifecycle import (
    RESET_METHODS,
    DeviceInfo,
    ResetChallenge,
    find_device,
    reset_biometrics_invalidated,
)
from sceau_device.transport import DeviceClient, DeviceIdentity

__all__ = [
    "CODE_CHANGE_LABEL",
    "Authenticator",
    "Decided",
    "DeviceStatus",
    "PendingOperations",
    "RefusedOperation",
    "Removal",
    "check_new_code",
    "evaluation_from",
    "finish_evaluation",
    "profile_identity",
]

PATH_STATUS: Final = "/v1/device/status"
PATH_OPERATIONS: Final = "/v1/device/operations"
PATH_EVALUATE: Final = "/v1/device/operations/{id}/evaluate"
PATH_DECISION: Final = "/v1/device/operations/{id}/decision"
PATH_EVENTS: Final = "/v1/device/events"
# The lines of a pending batch transfer (brief D4, issue 8): GET -> {"lines": [line, ...]}, each
# line as in docs/protocol.md §4.3, in the batch's order. The device checks them against the
# signed count, total and lines_digest.
PATH_BATCH_LINES: Final = "/v1/device/operations/{id}/lines"
PATH_ACTIVATION: Final = "/v1/device/activation"
# Changing the code knowing the old one (docs/api.md, docs/protocol.md §6.3):
#   1. POST code/evaluate {blinded_element} -> an evaluation of the OLD code, counted (K3);
#   2. POST code/change {blinded_element, knowledge_signature} -> the old knowledge key signs
#      CODE_CHANGE_LABEL || 0 || JCS({"v":1,"activation","counter","blinded_element"}) where
#      blinded_element is the NEW code's; the server verifies it (clearing the attempt) and
#      only then answers the new code's evaluation and a single-use challenge;
#   3. POST code/commit {knowledge_public_key, knowledge_signature} -> the new knowledge key,
#      signed over that challenge (label sceau/v1/key-renewal), replaces the old one.
PATH_CODE_EVALUATE: Final = "/v1/device/code/evaluate"
PATH_CODE_CHANGE: Final = "/v1/device/code/change"
PATH_CODE_COMMIT: Final = "/v1/device/code/commit"
CODE_CHANGE_LABEL: Final = "sceau/v1/code-change"
# The credential lifecycle (issue 5): devices, biometrics, the forgotten code.
PATH_DEVICES: Final = "/v1/device/devices"
PATH_DEVICE: Final = "/v1/device/devices/{id}"
PATH_BIOMETRICS: Final = "/v1/device/biometrics"
PATH_RESET: Final = "/v1/device/reset"
PATH_RESET_EVALUATE: Final = "/v1/device/reset/{id}/evaluate"
PATH_RESET_COMMIT: Final = "/v1/device/reset/{id}/commit"

_SHORT_STREAM: Final = 5.0
_OPERATION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MATCH = re.compile(r"[0-9]{1,6}")


@dataclass(frozen=True)
class RefusedOperation:
    """An operation refused because its server signature does not verify (never shown)."""

    operation_id: str | None
    reason: str


@dataclass(frozen=True)
class PendingOperations:
    """The verified pending operations, those refused, and the activation's attempt state."""

    operations: tuple[Operation, ...]
    refused: tuple[RefusedOperation, ...]
    attempts_left: int
    locked_until: int | None
    blocked: bool


@dataclass(frozen=True)
class DeviceStatus:
    """This device's activation as the server sees it."""

    activation_id: str
    status: str
    device_name: str | None
    counter: int
    locked_until: int | None
    blocked: bool
    inherence: bool
    hold_until: int | None = None
    """A new device on hold (brief L2): when it becomes active unless cancelled."""
    next_lock_final: bool = False
    """The next lock will block for good: the customer is warned (brief K3)."""


@dataclass(frozen=True)
class Decided:
    """A decision the server accepted."""

    operation_id: str
    status: str
    decision: Decision
    factors: tuple[Factor, ...]


@dataclass(frozen=True)
class Removal:
    """The outcome of removing this device: whether the server confirmed it."""

    profile: str
    server_confirmed: bool


class _ProfileCounters:
    """The keystore profile's counter as a :class:`~sceau_device.transport.CounterSource`."""

    def __init__(self, keystore: Keystore, name: str) -> None:
        self._keystore = keystore
        self._name = name

    def reserve(self) -> Any:
        return self._keystore.reserve_counter(self._name)


def profile_identity(
    keystore: Keystore, profile: Profile, secrets: ProfileSecrets
) -> DeviceIdentity:
    """What signs the requests of ``profile``: its activation id, device key and counter."""
    return DeviceIdentity(
        key_id=profile.activation_id,
        private_key=secrets.device_key,
        counters=_ProfileCounters(keystore, profile.name),
    )


def check_new_code(code: str) -> None:
    """Refuse a code that is not 4 digits or that is trivial, with the reason (brief K5)."""
    try:
        check_code_strength(code)
    except WeakCode as weak:
        raise InputError(
            f"Code refusé : {WEAK_CODE_REASONS['fr'][weak.reason]}",
            f"Code refused: {WEAK_CODE_REASONS['en'][weak.reason]}",
            detail=f"weak code: {weak.reason}",
        ) from None
    except SceauError:
        raise _code_format_error() from None


def _code_format_error() -> InputError:
    return InputError("Le code Sceau est fait de 4 chiffres.", "A Sceau code is 4 digits.")


def evaluation_from(answer: Mapping[str, Any] | None) -> tuple[bytes, bytes]:
    """The evaluated element and proof of a server answer, decoded strictly."""
    if answer is None:
        raise ServerFailure("the evaluation answer is empty")
    try:
        evaluated = b64url_decode(
            answer["evaluated_element"], length=oprf.ELEMENT_LENGTH, field="evaluated_element"
        )
        proof = b64url_decode(answer["proof"], length=oprf.PROOF_LENGTH, field="proof")
    except (KeyError, SceauError) as error:
        raise ServerFailure(f"malformed evaluation: {error}") from error
    return evaluated, proof


def finish_evaluation(
    evaluation: CodeEvaluation,
    answer: Mapping[str, Any] | None,
    *,
    oprf_public_key: bytes,
    device_secret: bytes,
) -> ec.EllipticCurvePrivateKey:
    """Check the evaluation's proof against the pinned OPRF key, then derive the knowledge key.

    Raises :class:`SubstitutedEvaluation` when the proof fails (brief K6): nothing is signed.
    """
    evaluated, proof = evaluation_from(answer)
    try:
        return finish_code_evaluation(
            evaluation,
            evaluated_element=evaluated,
            proof=proof,
            expected_oprf_public_key=oprf_public_key,
            device_secret=device_secret,
        )
    except InvalidProof as error:
        raise SubstitutedEvaluation() from error
    except SceauError as error:
        raise SubstitutedEvaluation() from error


def _operation_path(template: str, operation_id: str) -> str:
    if not _OPERATION_ID.fullmatch(operation_id):
        raise InputError(
            f"Identifiant d’opération invalide : « {operation_id} ».",
            f"Invalid operation id: “{operation_id}”.",
        )
    return template.format(id=operation_id)


class Authenticator:
    """The authenticator of one active profile of ``keystore``; see the module docstring.

    ``profile`` names the profile (the default or only one when ``None``); ``transport``
    replaces the HTTP transport (tests pass an :class:`httpx.MockTransport`); ``biometrics``
    is the platform authenticator of a profile activated with biometrics.
    """

    def __init__(
        self,
        keystore: Keystore,
        profile: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        biometrics: PlatformAuthenticator | None = None,
        clock: Callable[[], float] = time.time,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.keystore = keystore
        self.profile = keystore.get(profile)
        if self.profile.state != "active":
            raise KeystoreError(
                f"L’activation du profil « {self.profile.name} » n’est pas terminée : "
                "recommencez-la avec « sceau-device activate ».",
                f"The activation of profile “{self.profile.name}” is unfinished: "
                "start it again with “sceau-device activate”.",
            )
        self.biometrics = biometrics
        self._clock = clock
        self._rng = rng
        self._client = DeviceClient(
            self.profile.server_url, transport=transport, clock=clock, rng=rng
        )
        try:
            self._server_key = decode_public_key(self.profile.server_public_key)
            self._oprf_key = b64url_decode(self.profile.oprf_public_key, length=oprf.ELEMENT_LENGTH)
        except SceauError as error:
            raise KeystoreError(
                "Les clés épinglées de ce profil sont illisibles.",
                "This profile's pinned keys are unreadable.",
                detail=str(error),
            ) from error
        self._identity: DeviceIdentity | None = None
        self._identity_lock = threading.Lock()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def __enter__(self) -> Authenticator:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- identity and secrets ---------------------------------------------------------------

    def _device(self) -> DeviceIdentity:
        with self._identity_lock:
            if self._identity is None:
                secrets = self.keystore.secrets(self.profile.name)
                self._identity = profile_identity(self.keystore, self.profile, secrets)
            return self._identity

    def _device_secret(self) -> bytes:
        return self.keystore.secrets(self.profile.name).device_secret

    def now(self) -> int:
        """The device's clock, in Unix seconds."""
        return int(self._clock())

    # --- reading ------------------------------------------------------------------------------

    def status(self) -> DeviceStatus:
        """This device's activation: state, name, lock, biometrics."""
        answer = self._client.signed("GET", PATH_STATUS, self._device()) or {}
        try:
            return DeviceStatus(
                activation_id=str(answer["activation_id"]),
                status=str(answer["status"]),
                device_name=answer.get("device_name"),
                counter=int(answer["counter"]),
                locked_until=answer.get("locked_until"),
                blocked=bool(answer.get("blocked", False)),
                inherence=bool(answer.get("inherence", False)),
                hold_until=answer.get("hold_until")
                if type(answer.get("hold_until")) is int
                else None,
                next_lock_final=answer.get("next_lock_final") is True,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ServerFailure(f"malformed status: {error}") from error

    def verify_operation(self, value: object) -> Operation:
        """Verify one ``{"operation", "signature"}`` with the pinned server key (brief D8).

        Raises :class:`TamperedOperation`, never returning anything that did not verify.
        """
        guess = None
        if isinstance(value, Mapping):
            inner = value.get("operation")
            if isinstance(inner, Mapping) and isinstance(inner.get("id"), str):
                guess = str(inner["id"])[:64]
        try:
            if not isinstance(value, Mapping):
                raise TamperedOperation(guess, "a signed operation must be an object")
            return verify_signed_operation(value, public_key=self._server_key)
        except SceauError as error:
            raise TamperedOperation(guess, f"{type(error).__name__}: {error}") from error

    def pending(self) -> PendingOperations:
        """The pending operations; each verified with the pinned key, the others refused."""
        answer = self._client.signed("GET", PATH_OPERATIONS, self._device()) or {}
        items = answer.get("operations")
        if not isinstance(items, list):
            raise ServerFailure("the pending list has no operations array")
        operations: list[Operation] = []
        refused: list[RefusedOperation] = []
        for item in items:
            try:
                operations.append(self.verify_operation(item))
            except TamperedOperation as error:
                refused.append(RefusedOperation(error.operation_id, error.detail or ""))
        attempts = answer.get("attempts_left")
        locked = answer.get("locked_until")
        return PendingOperations(
            operations=tuple(operations),
            refused=tuple(refused),
            attempts_left=attempts if type(attempts) is int else 0,
            locked_until=locked if type(locked) is int else None,
            blocked=answer.get("blocked") is True,
        )

    def operation(self, operation_id: str) -> Operation:
        """The pending operation ``operation_id``, verified.

        Raises :class:`TamperedOperation` when it is listed but does not verify, and
        :class:`OperationUnavailable` when it is not pending.
        """
        _operation_path(PATH_DECISION, operation_id)
        answer = self._client.signed("GET", PATH_OPERATIONS, self._device()) or {}
        items = answer.get("operations")
        if not isinstance(items, list):
            raise ServerFailure("the pending list has no operations array")
        for item in items:
            inner = item.get("operation") if isinstance(item, Mapping) else None
            if isinstance(inner, Mapping) and inner.get("id") == operation_id:
                return self.verify_operation(item)
        raise OperationUnavailable(operation_id)

    def batch_lines(self, operation: Operation) -> tuple[BatchLine, ...]:
        """The lines of a verified batch ``operation``, checked against its signed summary.

        The lines travel apart from the operation (up to 10 000 of them); what the server signed
        is their count, total and digest (brief D4). They are returned only when they are exactly
        those: otherwise :class:`TamperedOperation` is raised and nothing is shown.
        """
        data = operation.data
        if not isinstance(data, BatchTransferData):
            raise InputError(
                "Seuls des virements groupés ont des lignes à afficher.",
                "Only a batch transfer has lines to show.",
            )
        answer = self._client.signed(
            "GET", _operation_path(PATH_BATCH_LINES, operation.id), self._device()
        )
        try:
            lines = parse_batch_lines((answer or {}).get("lines"))
            check_batch(lines, data)
        except SceauError as error:
            raise TamperedOperation(operation.id, f"batch lines: {error}") from error
        return lines

    # --- deciding -----------------------------------------------------------------------------

    def _check_match(self, operation: Operation, match: str | None) -> str | None:
        if operation.type is not OperationType.LOGIN:
            if match is not None:
                raise InputError(
                    "Seule une connexion demande un nombre à saisir.",
                    "Only a sign-in asks for a number.",
                )
            return None
        if match is None or not _MATCH.fullmatch(match.strip()):
            raise InputError(
                "Saisissez le nombre affiché sur l’écran où vous vous connectez.",
                "Type the number shown on the screen where you are signing in.",
            )
        return match.strip()

    def _decide(
        self,
        operation: Operation,
        decision: Decision,
        sign: Callable[[Approval], SignedApproval],
        *,
        factors: tuple[Factor, ...],
        match: str | None = None,
    ) -> Decided:
        path = _operation_path(PATH_DECISION, operation.id)
        device = self._device()

        def body(counter: int) -> dict[str, Any]:
            approval = Approval.for_operation(
                operation,
                activation=self.profile.activation_id,
                decision=decision,
                factors=factors,
                counter=counter,
                match=match,
            )
            return sign(approval).to_json()

        answer = self._client.signed("POST", path, device, body) or {}
        status = answer.get("status")
        if not isinstance(status, str):
            raise ServerFailure("the decision answer has no status")
        return Decided(
            operation_id=operation.id,
            status=status,
            decision=decision,
            factors=tuple(sorted(set(factors))),
        )

    def approve_with_code(
        self, operation: Operation, code: str, *, match: str | None = None
    ) -> Decided:
        """Approve ``operation`` with the customer's code (and, for a login, the typed number).

        The server counts the attempt before answering the evaluation; a wrong code shows up as
        :class:`AuthenticationRefused` (with the attempts left) or :class:`Locked`, never as
        "wrong code" (brief K4). A lock after which the next one is final says so (brief K3).
        """
        try:
            check_code_format(code)
        except SceauError:
            raise _code_format_error() from None
        try:
            return self._approve_with_code(operation, code, match)
        except Locked as error:
            raise self._warned(error) from None
        finally:
            del code

    def _warned(self, error: Locked) -> Locked:
        """``error``, with the warning that the next lock is final when it is (a status read)."""
        if error.blocked or error.final_warning:
            return error
        try:
            final = self.status().next_lock_final
        except DeviceError:
            return error
        if not final:
            return error
        return Locked(locked_until=error.locked_until, blocked=False, final_warning=True)

    def _approve_with_code(self, operation: Operation, code: str, match: str | None) -> Decided:
        match = self._check_match(operation, match)
        device = self._device()
        evaluation = start_code_evaluation(code, rng=self._rng)
        del code
        answer = self._client.signed(
            "POST",
            _operation_path(PATH_EVALUATE, operation.id),
            device,
            {"blinded_element": b64url_encode(evaluation.blinded_element)},
        )
        knowledge = finish_evaluation(
            evaluation,
            answer,
            oprf_public_key=self._oprf_key,
            device_secret=self._device_secret(),
        )
        del evaluation
        keys = {Factor.POSSESSION: device.private_key, Factor.KNOWLEDGE: knowledge}
        del knowledge
        try:
            return self._decide(
                operation,
                Decision.APPROVE,
                lambda approval: sign_approval(approval, keys),
                factors=(Factor.KNOWLEDGE, Factor.POSSESSION),
                match=match,
            )
        finally:
            keys.clear()

    def approve_with_biometrics(self, operation: Operation, *, match: str | None = None) -> Decided:
        """Approve ``operation`` with the platform authenticator's key (brief I1)."""
        biometrics = self.biometrics
        if biometrics is None or self.profile.inherence is None:
            raise BiometricsError(
                "La biométrie n’est pas activée pour cet appareil : validez avec votre code.",
                "Biometrics are not enabled on this device: approve with your code.",
            )
        match = self._check_match(operation, match)
        device = self._device()
        title = operation.display[0]

        def sign(approval: Approval) -> SignedApproval:
            message = approval.signed_bytes()
            possession = sign_message(device.private_key, label=APPROVAL_LABEL, message=message)
            inherence = biometrics.sign(
                self.biometric_alias, label=APPROVAL_LABEL, message=message, prompt=title
            )
            return SignedApproval(
                approval=approval,
                signatures={Factor.POSSESSION: possession, Factor.INHERENCE: inherence},
            )

        return self._decide(
            operation,
            Decision.APPROVE,
            sign,
            factors=(Factor.INHERENCE, Factor.POSSESSION),
            match=match,
        )

    def reject(self, operation: Operation) -> Decided:
        """Refuse ``operation`` (no code needed, brief D5)."""
        return self._refuse(operation, Decision.REJECT)

    def not_me(self, operation: Operation) -> Decided:
        """Refuse ``operation`` and report it as not requested by the customer (brief D5)."""
        return self._refuse(operation, Decision.NOT_ME)

    def _refuse(self, operation: Operation, decision: Decision) -> Decided:
        device = self._device()
        return self._decide(
            operation,
            decision,
            lambda approval: sign_approval(approval, {Factor.POSSESSION: device.private_key}),
            factors=(Factor.POSSESSION,),
        )

    @property
    def biometric_alias(self) -> str:
        """The platform authenticator's alias of this profile's biometric key."""
        return f"sceau:{self.profile.activation_id}"

    # --- lifecycle ----------------------------------------------------------------------------

    def change_code(self, old_code: str, new_code: str) -> None:
        """Change the code, knowing the old one (see ``PATH_CODE_*`` for the exchange).

        The old code's evaluation is counted like an approval's (brief K3); the new code is
        refused when trivial (brief K5) before anything is sent.
        """
        try:
            check_code_format(old_code)
        except SceauError:
            raise _code_format_error() from None
        check_new_code(new_code)
        if old_code == new_code:
            raise InputError(
                "Le nouveau code doit être différent de l’ancien.",
                "The new code must differ from the old one.",
            )
        device = self._device()
        secret = self._device_secret()
        old = start_code_evaluation(old_code, rng=self._rng)
        new = start_code_evaluation(new_code, rng=self._rng)
        del old_code, new_code
        answer = self._client.signed(
            "POST",
            PATH_CODE_EVALUATE,
            device,
            {"blinded_element": b64url_encode(old.blinded_element)},
        )
        old_key = finish_evaluation(
            old, answer, oprf_public_key=self._oprf_key, device_secret=secret
        )
        del old
        blinded_new = b64url_encode(new.blinded_element)
        activation = self.profile.activation_id
        held = [old_key]
        del old_key

        def change(counter: int) -> dict[str, Any]:
            message = canonical_json(
                {
                    "v": 1,
                    "activation": activation,
                    "counter": counter,
                    "blinded_element": blinded_new,
                }
            )
            signature = sign_message(held[0], label=CODE_CHANGE_LABEL, message=message)
            return {"blinded_element": blinded_new, "knowledge_signature": b64url_encode(signature)}

        try:
            answer = self._client.signed("POST", PATH_CODE_CHANGE, device, change)
        finally:
            held.clear()
        new_key = finish_evaluation(
            new, answer, oprf_public_key=self._oprf_key, device_secret=secret
        )
        del new
        challenge = (answer or {}).get("challenge")
        if not isinstance(challenge, str):
            raise ServerFailure("the code change answer has no challenge")
        self._commit_renewal(PATH_CODE_COMMIT, new_key, challenge)
        del new_key

    def _commit_renewal(
        self, path: str, new_key: ec.EllipticCurvePrivateKey, challenge: str
    ) -> None:
        """Register a new knowledge key, signed over the server's single-use challenge."""
        try:
            signature = sign_key_renewal(
                new_key, activation_id=self.profile.activation_id, challenge=challenge
            )
        except SceauError as error:
            raise ServerFailure(f"unusable renewal challenge: {error}") from error
        self._client.signed(
            "POST",
            path,
            self._device(),
            {
                "knowledge_public_key": encode_public_key(new_key.public_key()),
                "knowledge_signature": signature,
            },
        )

    def remove(self) -> Removal:
        """Remove this device: the server revokes its keys, then the profile is deleted.

        When the server no longer accepts the device (already revoked), the profile is still
        deleted; when the server cannot be reached, nothing is deleted, so it can be retried.
        """
        confirmed = True
        try:
            self._client.signed("DELETE", PATH_ACTIVATION, self._device())
        except AuthenticationRefused:
            confirmed = False
        if self.biometrics is not None and self.profile.inherence is not None:
            self.biometrics.delete_key(self.biometric_alias)
        self.keystore.remove_profile(self.profile.name)
        self._identity = None
        return Removal(profile=self.profile.name, server_confirmed=confirmed)

    # --- devices (brief L2, L4) -----------------------------------------------------------------

    def devices(self) -> tuple[DeviceInfo, ...]:
        """The customer's devices: active, suspended, and new ones on hold."""
        answer = self._client.signed("GET", PATH_DEVICES, self._device()) or {}
        items = answer.get("devices")
        if not isinstance(items, list):
            raise ServerFailure("the device list has no devices array")
        return tuple(DeviceInfo.from_json(item) for item in items if isinstance(item, Mapping))

    def remove_device(self, name_or_id: str) -> DeviceInfo:
        """Remove another of the customer's devices (by name or id); its keys stop working.

        This device removes itself with :meth:`remove` instead.
        """
        target = find_device(self.devices(), name_or_id)
        if target.current:
            raise InputError(
                "C’est cet appareil-ci : retirez-le avec « sceau-device remove ».",
                "That is this very device: remove it with “sceau-device remove”.",
            )
        self._client.signed("DELETE", PATH_DEVICE.format(id=target.activation_id), self._device())
        return target

    def cancel_device(self, name_or_id: str | None = None) -> DeviceInfo:
        """Cancel a new device on hold (the only one, or the one named): it never activates."""
        held = [device for device in self.devices() if device.status == "on_hold"]
        if name_or_id is not None:
            target = find_device(held, name_or_id)
        elif len(held) == 1:
            target = held[0]
        elif not held:
            raise InputError(
                "Aucun nouvel appareil n’est en attente sur votre compte.",
                "No new device is waiting on your account.",
            )
        else:
            names = ", ".join(f"« {held_device.device_name} »" for held_device in held)
            raise InputError(
                f"Plusieurs appareils sont en attente ({names}) : indiquez lequel annuler.",
                f"Several devices are waiting ({names}): say which one to cancel.",
            )
        self._client.signed("DELETE", PATH_DEVICE.format(id=target.activation_id), self._device())
        return target

    def device_approval(self) -> Operation:
        """The pending ``new_device`` operation: a new device asks this one to approve it.

        Approve it like any operation (with the code or biometrics), refuse it, or say "not me".
        """
        for operation in self.pending().operations:
            if operation.type is OperationType.NEW_DEVICE:
                return operation
        raise InputError(
            "Aucun nouvel appareil n’attend votre validation.",
            "No new device is waiting for your approval.",
        )

    # --- biometrics (brief I1) -------------------------------------------------------------------

    def enable_biometrics(self, code: str, platform: PlatformAuthenticator) -> None:
        """Enrol biometrics for this device, authorized by the code (an evaluation, counted).

        The platform creates a new key (replacing one invalidated by a change of the enrolled
        fingerprints or faces); the server registers it once the knowledge key signed it.
        """
        self._check_code(code)
        public_key = platform.create_key(self.biometric_alias)
        try:
            self._change_biometrics(code, public_key)
        except BaseException:
            platform.delete_key(self.biometric_alias)
            raise
        self.profile = self.keystore.update(self.profile.name, inherence=platform.name)
        self.biometrics = platform

    def disable_biometrics(self, code: str) -> None:
        """Remove biometrics from this device, authorized by the code (an evaluation, counted)."""
        self._check_code(code)
        self._change_biometrics(code, None)
        if self.biometrics is not None:
            self.biometrics.delete_key(self.biometric_alias)
        self.profile = self.keystore.update(self.profile.name, inherence=None)

    def _check_code(self, code: str) -> None:
        try:
            check_code_format(code)
        except SceauError:
            raise _code_format_error() from None

    def _change_biometrics(self, code: str, inherence_public_key: str | None) -> None:
        device = self._device()
        evaluation = start_code_evaluation(code, rng=self._rng)
        del code
        answer = self._client.signed(
            "POST",
            PATH_CODE_EVALUATE,
            device,
            {"blinded_element": b64url_encode(evaluation.blinded_element)},
        )
        held = [
            finish_evaluation(
                evaluation,
                answer,
                oprf_public_key=self._oprf_key,
                device_secret=self._device_secret(),
            )
        ]
        del evaluation
        activation = self.profile.activation_id

        def body(counter: int) -> dict[str, Any]:
            return {
                "inherence_public_key": inherence_public_key,
                "knowledge_signature": sign_inherence_registration(
                    held[0],
                    activation_id=activation,
                    counter=counter,
                    inherence_public_key=inherence_public_key,
                ),
            }

        try:
            self._client.signed("POST", PATH_BIOMETRICS, device, body)
        finally:
            held.clear()

    # --- the forgotten code (brief L3) ------------------------------------------------------------

    def start_code_reset(self, method: str) -> ResetChallenge:
        """Start a reset: ``biometric``, or ``sms`` (a code is sent to the registered phone).

        Raises :class:`RequestRefused` when the bank's rules refuse it, saying why (a phone
        number changed recently holds SMS resets; too many resets today; blocked for good).
        """
        if method not in RESET_METHODS:
            raise InputError(
                "Choisissez la biométrie ou le code SMS.", "Choose biometrics or the SMS code."
            )
        if method == "biometric" and (self.biometrics is None or self.profile.inherence is None):
            raise BiometricsError(
                "La biométrie n’est pas activée sur cet appareil : réinitialisez par SMS.",
                "Biometrics are not enabled on this device: reset by SMS.",
            )
        answer = self._client.signed("POST", PATH_RESET, self._device(), {"method": method})
        return ResetChallenge.from_json(answer)

    def finish_code_reset(
        self,
        reset: ResetChallenge,
        new_code: str,
        *,
        sms_code: str | None = None,
        password: str | None = None,
        details: Mapping[str, str] | None = None,
    ) -> None:
        """Prove the second element, choose ``new_code`` and register it: usable at once.

        ``biometric``: the platform authenticator signs the reset. ``sms``: ``sms_code`` and
        the online-banking ``password`` (the bank checks it; an SMS code alone is refused by the
        server, brief L3). The new code is refused when trivial (brief K5) before anything is
        sent. A wrong element is an :class:`AuthenticationRefused` with the attempts left.
        """
        check_new_code(new_code)
        if reset.method == "sms" and (sms_code is None or not re.fullmatch(r"[0-9]{6}", sms_code)):
            raise InputError(
                "Le code reçu par SMS est fait de 6 chiffres.",
                "The code received by SMS is 6 digits.",
            )
        device = self._device()
        evaluation = start_code_evaluation(new_code, rng=self._rng)
        del new_code
        blinded = b64url_encode(evaluation.blinded_element)
        activation = self.profile.activation_id
        path = _operation_path(PATH_RESET_EVALUATE, reset.reset_id)

        def biometric_body(counter: int) -> dict[str, Any]:
            biometrics = self.biometrics
            if biometrics is None:
                raise BiometricsError(
                    "La biométrie n’est pas activée sur cet appareil : réinitialisez par SMS.",
                    "Biometrics are not enabled on this device: reset by SMS.",
                )
            message = code_reset_message(
                activation_id=activation,
                reset_id=reset.reset_id,
                challenge=reset.challenge,
                counter=counter,
                blinded_element=blinded,
            )
            try:
                signature = biometrics.sign(
                    self.biometric_alias,
                    label=CODE_RESET_LABEL,
                    message=message,
                    prompt=TEXT["fr"]["forgot_code"],
                )
            except BiometricsInvalidated:
                raise reset_biometrics_invalidated() from None
            return {"blinded_element": blinded, "inherence_signature": b64url_encode(signature)}

        if reset.method == "biometric":
            answer = self._client.signed("POST", path, device, biometric_body)
        else:
            body: dict[str, Any] = {"blinded_element": blinded, "sms_code": sms_code}
            if password:
                body["password"] = password
            if details:
                body["details"] = dict(details)
            del password
            answer = self._client.signed("POST", path, device, body)
            body.clear()
        new_key = finish_evaluation(
            evaluation,
            answer,
            oprf_public_key=self._oprf_key,
            device_secret=self._device_secret(),
        )
        del evaluation
        self._commit_renewal(
            _operation_path(PATH_RESET_COMMIT, reset.reset_id), new_key, reset.challenge
        )
        del new_key

    def reset_code_with_biometrics(self, new_code: str) -> None:
        """The whole biometric reset: start, sign with biometrics, register the new code."""
        check_new_code(new_code)
        self.finish_code_reset(self.start_code_reset("biometric"), new_code)

    # --- listening ----------------------------------------------------------------------------

    def listen(
        self,
        on_operation: Callable[[Operation], None],
        *,
        stop: threading.Event | None = None,
        on_refused: Callable[[RefusedOperation], None] | None = None,
        on_gone: Callable[[str], None] | None = None,
        on_disconnect: Callable[[DeviceError, float], None] | None = None,
        on_connected: Callable[[], None] | None = None,
        initial_backoff: float = 1.0,
        max_backoff: float = 30.0,
    ) -> None:
        """Follow the server's event stream and hand each new verified operation to a callback.

        After each (re)connection the pending list is read, so an event missed while
        disconnected is caught up. An ``operation`` event carries the pending operation, signed,
        or the status of one that ended; one that carries only an id (a shared account's) reads
        the pending list again. Operations that do
        not verify with the pinned key go to ``on_refused`` and are never handed out (brief D8);
        those that stop being pending go to ``on_gone``. A lost connection or a failing server
        is retried with exponential backoff (with jitter, up to ``max_backoff`` seconds);
        a refusal of the device or a ``revoked`` event ends the loop with an error. The loop
        returns when ``stop`` is set (checked between events).
        """
        stop = stop or threading.Event()
        seen: set[str] = set()
        refused_seen: set[str | None] = set()
        failures = 0

        def catch_up() -> None:
            pending = self.pending()
            current = {operation.id for operation in pending.operations}
            for gone in sorted(seen - current):
                seen.discard(gone)
                if on_gone is not None:
                    on_gone(gone)
            for refused in pending.refused:
                if refused.operation_id not in refused_seen:
                    refused_seen.add(refused.operation_id)
                    if on_refused is not None:
                        on_refused(refused)
            for operation in pending.operations:
                if operation.id not in seen:
                    seen.add(operation.id)
                    on_operation(operation)

        def announced(data: str) -> bool:
            """Act on an event that carries its operation, signed, or its end (no request)."""
            try:
                event = json.loads(data)
            except ValueError:
                return False
            if not isinstance(event, dict) or not isinstance(event.get("id"), str):
                return False
            operation_id, status = event["id"], event.get("status")
            if status == "pending" and "signed" in event:
                try:
                    operation = self.verify_operation(event["signed"])
                except TamperedOperation as error:
                    if error.operation_id not in refused_seen:
                        refused_seen.add(error.operation_id)
                        if on_refused is not None:
                            on_refused(RefusedOperation(error.operation_id, error.detail or ""))
                    return True
                if operation.id != operation_id:
                    return False
                if operation.id not in seen:
                    seen.add(operation.id)
                    on_operation(operation)
                return True
            if isinstance(status, str) and status != "pending":
                if operation_id in seen:
                    seen.discard(operation_id)
                    if on_gone is not None:
                        on_gone(operation_id)
                return True
            return False

        def wait(error: DeviceError) -> None:
            nonlocal failures
            delay = min(max_backoff, initial_backoff * 2**failures)
            delay *= 0.5 + int.from_bytes(self._rng(2), "big") / 131070
            failures = min(failures + 1, 16)
            if on_disconnect is not None:
                on_disconnect(error, delay)
            stop.wait(delay)

        while not stop.is_set():
            opened = time.monotonic()
            try:
                with self._client.events(PATH_EVENTS, self._device()) as events:
                    if on_connected is not None:
                        on_connected()
                    catch_up()
                    for event in events:
                        if stop.is_set():
                            return
                        if event.name == "revoked":
                            raise DeviceRevoked()
                        if event.name == "operation" and not announced(event.data):
                            catch_up()
            except (NetworkError, ServerFailure) as error:
                if time.monotonic() - opened >= _SHORT_STREAM:
                    failures = 0
                wait(error)
                continue
            if stop.is_set():
                return
            # The server ends each stream after a while: reconnect at once. One that ends
            # at once is retried with backoff rather than in a tight loop.
            if time.monotonic() - opened < _SHORT_STREAM:
                wait(NetworkError("the event stream ended at once"))
            else:
                failures = 0
