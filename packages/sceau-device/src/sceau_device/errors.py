# SPDX-License-Identifier: Apache-2.0
"""The device SDK's one error tree, each error with the sentence a customer reads.

Every failure the SDK reports is a :class:`DeviceError`. Each carries a French and an English
message written for the customer (:meth:`DeviceError.message`), a machine ``kind`` for JSON
output and the ``sceau-device`` exit code of its family::

    DeviceError
    ├── InputError                 2  what was typed is not usable (typo, trivial code…)
    ├── InsecureServer             2  plain http to a host other than this machine
    ├── NetworkError               3  the server could not be reached or the connection broke
    ├── AuthenticationRefused      1  the server refused (never says which factor, brief K4)
    │   └── Locked                 4  too many failed attempts: locked until a time, or blocked
    ├── RequestRefused             1  a rule of the bank refused the request (a reset held after
    │                                     a change of phone number, too many resets…), saying why
    ├── BiometricsError            1  the platform authenticator refused or lost its key
    │   └── BiometricsInvalidated         the enrolled biometrics changed: the key is destroyed
    ├── OperationUnavailable       7  the operation is unknown, expired or already decided
    ├── SecurityError              5  a check of the server's identity failed
    │   ├── ServerKeyMismatch             the binding tag, fingerprint or address is wrong
    │   ├── TamperedOperation             an operation's server signature does not verify (D8)
    │   └── SubstitutedEvaluation         an OPRF evaluation is not the pinned key's (K6)
    ├── KeystoreError              6  the keystore or its keyring cannot be used
    │   ├── NoKeyring                     no OS keyring backend is available
    │   ├── KeystoreUnreadable            the wrapping key is missing or wrong (other machine)
    │   └── ProfileNotFound               no such profile, or none chosen among several
    ├── DeviceRevoked              6  the server no longer knows this device
    └── ServerFailure              8  the server failed or answered something unexpected

The messages never contain a secret, and never say whether the code or the key was wrong.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar

__all__ = [
    "FINAL_LOCK_WARNING",
    "AuthenticationRefused",
    "BiometricsError",
    "BiometricsInvalidated",
    "DeviceError",
    "DeviceRevoked",
    "ExitCode",
    "InputError",
    "InsecureServer",
    "KeystoreError",
    "KeystoreUnreadable",
    "Locked",
    "NetworkError",
    "NoKeyring",
    "OperationUnavailable",
    "ProfileNotFound",
    "RequestRefused",
    "SecurityError",
    "ServerFailure",
    "ServerKeyMismatch",
    "SubstitutedEvaluation",
    "TamperedOperation",
]

FINAL_LOCK_WARNING: dict[str, str] = {
    "fr": (
        "Attention\u00a0: au prochain blocage, votre authentification sera bloquée "
        "définitivement, et seule votre banque pourra la débloquer."
    ),
    "en": (
        "Warning: at the next lock, your authentication will be blocked for good, and only "
        "your bank will be able to unblock it."
    ),
}
"""The warning before a lock becomes permanent (brief K3, RTS art. 4(3)(b))."""


class ExitCode(IntEnum):
    """The exit codes of ``sceau-device``, documented in its ``--help``."""

    OK = 0
    REFUSED = 1
    USAGE = 2
    NETWORK = 3
    LOCKED = 4
    SECURITY = 5
    KEYSTORE = 6
    UNAVAILABLE = 7
    SERVER = 8
    INTERRUPTED = 130


class DeviceError(Exception):
    """Root of every error the device SDK raises; ``message(locale)`` is for the customer."""

    exit_code: ClassVar[ExitCode] = ExitCode.SERVER
    kind: ClassVar[str] = "error"

    def __init__(self, message_fr: str, message_en: str, *, detail: str | None = None) -> None:
        super().__init__(detail or message_en)
        self.message_fr = message_fr
        self.message_en = message_en
        self.detail = detail

    def message(self, locale: str = "fr") -> str:
        """The customer's sentence, in French unless ``locale`` is ``"en"``."""
        return self.message_en if locale == "en" else self.message_fr

    def to_json(self, locale: str = "fr") -> dict[str, Any]:
        """A JSON object describing the error for scripts (no secret, no stack trace)."""
        value: dict[str, Any] = {
            "error": self.kind,
            "message": self.message(locale),
            "exit_code": int(self.exit_code),
        }
        if self.detail:
            value["detail"] = self.detail
        return value


class InputError(DeviceError):
    """What the customer typed cannot be used: a typo, a trivial code, two different codes."""

    exit_code = ExitCode.USAGE
    kind = "invalid_input"


class InsecureServer(DeviceError):
    """A plain-http address that is not this machine: the SDK refuses to talk to it."""

    exit_code = ExitCode.USAGE
    kind = "insecure_server"

    def __init__(self, url: str) -> None:
        super().__init__(
            f"Adresse refusée : {url} n’est pas protégée par HTTPS. "
            "Seule une adresse de cet ordinateur (127.0.0.1, ::1, localhost) peut être en http.",
            f"Address refused: {url} is not protected by HTTPS. "
            "Only an address of this computer (127.0.0.1, ::1, localhost) may use plain http.",
            detail=f"plain http refused off loopback: {url}",
        )


class NetworkError(DeviceError):
    """The server could not be reached, or the connection broke before its answer."""

    exit_code = ExitCode.NETWORK
    kind = "network"

    def __init__(self, detail: str) -> None:
        super().__init__(
            "Le serveur de votre banque est injoignable. Vérifiez votre connexion et réessayez.",
            "Your bank’s server cannot be reached. Check your connection and try again.",
            detail=detail,
        )


class AuthenticationRefused(DeviceError):
    """The server refused the request or the approval, without saying which factor failed."""

    exit_code = ExitCode.REFUSED
    kind = "authentication_refused"

    def __init__(
        self,
        *,
        attempts_left: int | None = None,
        message_fr: str | None = None,
        message_en: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(
            _with_attempts(message_fr or "Authentification refusée", attempts_left, "fr"),
            _with_attempts(message_en or "Authentication failed", attempts_left, "en"),
            detail=detail,
        )
        self.attempts_left = attempts_left

    def to_json(self, locale: str = "fr") -> dict[str, Any]:
        """The error with the attempts left, when the server told them."""
        value = super().to_json(locale)
        if self.attempts_left is not None:
            value["attempts_left"] = self.attempts_left
        return value


def _with_attempts(message: str, attempts_left: int | None, locale: str) -> str:
    """The server's sentence, with the attempts left said once (the server may say them)."""
    from sceau_core.display import attempts_left as attempts_sentence

    text = message.rstrip(". ")
    if attempts_left is not None:
        sentence = attempts_sentence(attempts_left, locale)
        if sentence.lower() not in text.lower():
            text = f"{text}. {sentence}"
    return f"{text}."


class Locked(AuthenticationRefused):
    """Too many failed attempts: approvals are locked until ``locked_until``, or for good."""

    exit_code = ExitCode.LOCKED
    kind = "locked"

    def __init__(
        self, *, locked_until: int | None, blocked: bool, final_warning: bool = False
    ) -> None:
        from sceau_device.texts import format_time

        if blocked or locked_until is None:
            fr = (
                "Authentification bloquée définitivement après trop d’essais. "
                "Contactez votre banque pour la débloquer"
            )
            en = (
                "Authentication permanently blocked after too many attempts. "
                "Contact your bank to unblock it"
            )
        else:
            fr = (
                "Authentification bloquée après trop d’essais, "
                f"jusqu’au {format_time(locked_until, 'fr')}"
            )
            en = (
                "Authentication locked after too many attempts, "
                f"until {format_time(locked_until, 'en')}"
            )
            if final_warning:
                fr += ". " + FINAL_LOCK_WARNING["fr"].rstrip(".")
                en += ". " + FINAL_LOCK_WARNING["en"].rstrip(".")
        super().__init__(message_fr=fr, message_en=en)
        self.attempts_left = 0
        self.locked_until = locked_until
        self.blocked = blocked
        self.final_warning = final_warning and not blocked

    def to_json(self, locale: str = "fr") -> dict[str, Any]:
        """The error with the end of the lock, or ``blocked``."""
        value = super().to_json(locale)
        value["locked_until"] = self.locked_until
        value["blocked"] = self.blocked
        value["next_lock_final"] = self.final_warning
        return value


class BiometricsError(DeviceError):
    """The platform authenticator refused, was cancelled, or its key was invalidated."""

    exit_code = ExitCode.REFUSED
    kind = "biometrics"


class BiometricsInvalidated(BiometricsError):
    """The platform destroyed the biometric key: the enrolled fingerprints or faces changed."""

    kind = "biometrics_invalidated"


class RequestRefused(DeviceError):
    """A rule of the bank refused the request; the server's sentence says why and what to do.

    It is never a factor failure (those are :class:`AuthenticationRefused`): ``reason`` is the
    server's machine word (``phone_recently_changed``, ``password_required``, ``rate_limited``…)
    and ``held_until`` the end of a hold, when there is one.
    """

    exit_code = ExitCode.REFUSED
    kind = "refused"

    def __init__(
        self,
        reason: str,
        message_fr: str,
        message_en: str,
        *,
        held_until: int | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message_fr, message_en, detail=detail)
        self.reason = reason
        self.held_until = held_until

    def to_json(self, locale: str = "fr") -> dict[str, Any]:
        """The error with the server's reason and the end of the hold, if any."""
        value = super().to_json(locale)
        value["reason"] = self.reason
        if self.held_until is not None:
            value["held_until"] = self.held_until
        return value


class OperationUnavailable(DeviceError):
    """The operation is unknown to this device, has expired, or was already decided."""

    exit_code = ExitCode.UNAVAILABLE
    kind = "operation_unavailable"

    def __init__(self, operation_id: str, status: str | None = None) -> None:
        if status == "expired":
            fr, en = "Opération expirée.", "Operation expired."
        elif status in ("approved", "rejected", "not_me", "cancelled"):
            fr = "Cette opération a déjà été traitée ou annulée."
            en = "This operation was already decided or cancelled."
        else:
            fr = "Cette opération n’est pas en attente sur cet appareil (inconnue ou terminée)."
            en = "This operation is not pending on this device (unknown or finished)."
        super().__init__(fr, en, detail=f"operation {operation_id}: {status or 'not pending'}")
        self.operation_id = operation_id
        self.status = status

    def to_json(self, locale: str = "fr") -> dict[str, Any]:
        """The error with the operation id and its status when known."""
        value = super().to_json(locale)
        value["operation"] = self.operation_id
        if self.status is not None:
            value["status"] = self.status
        return value


class SecurityError(DeviceError):
    """A check of the server's identity or of what it sent failed; nothing was shown or signed."""

    exit_code = ExitCode.SECURITY
    kind = "security"


class ServerKeyMismatch(SecurityError):
    """The server offered a key or an address that the activation code does not authenticate."""

    kind = "server_key_mismatch"

    def __init__(self, detail: str) -> None:
        super().__init__(
            "Le serveur n’a pas pu prouver qu’il est celui de votre banque : activation arrêtée. "
            "Vérifiez le code d’activation ou le QR code, et n’utilisez que ceux de votre "
            "espace client.",
            "The server could not prove it is your bank’s: activation stopped. Check the "
            "activation code or QR code, and only use those from your online banking.",
            detail=detail,
        )


class TamperedOperation(SecurityError):
    """An operation whose server signature does not verify with the pinned key (brief D8)."""

    kind = "tampered_operation"

    def __init__(self, operation_id: str | None, detail: str) -> None:
        super().__init__(
            "Une opération reçue n’est pas signée par votre banque : elle a été refusée et "
            "n’est pas affichée. Si cela se reproduit, contactez votre banque.",
            "An operation received is not signed by your bank: it was refused and is not "
            "shown. If this happens again, contact your bank.",
            detail=detail,
        )
        self.operation_id = operation_id


class SubstitutedEvaluation(SecurityError):
    """The server's evaluation of the code is not the pinned OPRF key's (brief K6)."""

    kind = "substituted_evaluation"

    def __init__(self) -> None:
        super().__init__(
            "La réponse du serveur n’est pas celle de votre banque : rien n’a été signé. "
            "Votre connexion est peut-être interceptée ; contactez votre banque.",
            "The server’s answer is not your bank’s: nothing was signed. Your connection may "
            "be intercepted; contact your bank.",
            detail="VOPRF proof does not verify under the pinned OPRF key",
        )


class KeystoreError(DeviceError):
    """The keystore or the keyring that protects it cannot be used."""

    exit_code = ExitCode.KEYSTORE
    kind = "keystore"


class NoKeyring(KeystoreError):
    """No OS keyring backend is available to keep the keystore's wrapping key."""

    kind = "no_keyring"

    def __init__(self, detail: str) -> None:
        super().__init__(
            "Aucun trousseau de clés sécurisé n’est disponible sur ce système (Secret Service, "
            "KWallet, Trousseau macOS, Gestionnaire d’identification Windows). Installez-en un, "
            "ou, pour des tests uniquement, relancez avec --insecure-file-key.",
            "No secure keyring is available on this system (Secret Service, KWallet, macOS "
            "Keychain, Windows Credential Manager). Install one or, for tests only, run again "
            "with --insecure-file-key.",
            detail=detail,
        )


class KeystoreUnreadable(KeystoreError):
    """The keystore's secrets cannot be unwrapped here: its key is missing or not this one."""

    kind = "keystore_unreadable"

    def __init__(self, detail: str) -> None:
        super().__init__(
            "Les clés de cet appareil ne peuvent pas être ouvertes ici : la clé qui les protège "
            "n’est pas dans le trousseau de ce système (fichier copié d’un autre ordinateur ?). "
            "Activez à nouveau Sceau sur cet ordinateur depuis votre espace client.",
            "This device’s keys cannot be opened here: the key protecting them is not in this "
            "system’s keyring (a file copied from another computer?). Activate Sceau again on "
            "this computer from your online banking.",
            detail=detail,
        )


class ProfileNotFound(KeystoreError):
    """No profile of that name, no profile at all, or several and none chosen."""

    kind = "profile_not_found"


class DeviceRevoked(DeviceError):
    """The server no longer accepts this device: removed, revoked or replaced."""

    exit_code = ExitCode.KEYSTORE
    kind = "device_revoked"

    def __init__(self) -> None:
        super().__init__(
            "Cet appareil n’est plus actif pour votre banque (retiré, révoqué ou remplacé). "
            "Activez à nouveau Sceau depuis votre espace client.",
            "This device is no longer active for your bank (removed, revoked or replaced). "
            "Activate Sceau again from your online banking.",
        )


class ServerFailure(DeviceError):
    """The server failed, refused a malformed request, or answered something unexpected."""

    exit_code = ExitCode.SERVER
    kind = "server"

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        super().__init__(
            "Le serveur de votre banque n’a pas pu traiter la demande. Réessayez plus tard.",
            "Your bank’s server could not process the request. Try again later.",
            detail=detail,
        )
        self.status = status
