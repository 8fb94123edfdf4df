# SPDX-License-Identifier: Apache-2.0
"""Activating this device with a bank's Sceau server (docs/protocol.md §2).

:meth:`ActivationSession.start` reads the activation code — typed (a typo is detected before
anything is sent) or scanned as the QR code's ``sceau://activate?…`` URI — finds the activation
by its public ``lookup_id`` (the code never crosses the network), and checks the server binding
with the code before pinning anything (brief P4): the HMAC tag keyed by the code, and on the QR
path the fingerprint of the server key and the server address. Then:

1. :meth:`ActivationSession.register` draws the device key and the 32-byte device secret, stores
   them in the keystore (profile state ``activating``, counter persisted before each request),
   and registers the device key with the registration proof and the SMS code;
2. :meth:`ActivationSession.choose_code` refuses a trivial code (brief K5), runs one VOPRF
   evaluation checked against the pinned OPRF key (brief K6), derives the knowledge key, and
   commits it, signed by itself (with the biometric key when asked); the profile becomes active.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sceau_core.activation import (
    ActivationCode,
    QrPayload,
    ServerBinding,
    registration_proof,
    verify_binding,
)
from sceau_core.encoding import b64url_decode, b64url_encode
from sceau_core.errors import (
    InvalidActivationCode,
    InvalidSignature,
    SceauError,
    ServerKeyNotPinned,
)
from sceau_core.hazmat import oprf
from sceau_core.keys import encode_public_key, generate_private_key
from sceau_core.knowledge import DEVICE_SECRET_LENGTH, start_code_evaluation
from sceau_core.operations import check_text
from sceau_core.signatures import sign_key_registration
from sceau_device._httpx import httpx
from sceau_device.authenticator import (
    Authenticator,
    check_new_code,
    finish_evaluation,
    profile_identity,
)
from sceau_device.biometrics import PlatformAuthenticator
from sceau_device.errors import (
    DeviceError,
    InputError,
    KeystoreError,
    OperationUnavailable,
    ServerFailure,
    ServerKeyMismatch,
)
from sceau_device.keystore import Keystore, Profile, ProfileSecrets
from sceau_device.transport import DeviceClient, check_server_url

__all__ = ["ActivationSession", "default_profile_name"]

PATH_LOOKUP = "/v1/device/activation/{lookup_id}"
PATH_REGISTER = "/v1/device/activation/register"
PATH_OPRF = "/v1/device/activation/oprf"
PATH_COMMIT = "/v1/device/activation/commit"
_SMS_CODE = re.compile(r"[0-9]{6}")


def default_profile_name(server_url: str) -> str:
    """A profile name from the server's address: ``sceau.ma-banque.fr`` or ``127.0.0.1-8000``."""
    netloc = httpx.URL(server_url).netloc.decode("ascii")
    name = re.sub(r"[^A-Za-z0-9._@-]+", "-", netloc).strip("-.")
    return (name or "sceau")[:64]


def _typo_error(error: SceauError) -> InputError:
    return InputError(
        "Ce code d’activation contient une faute de frappe : vérifiez chaque caractère "
        "(24 caractères, en six groupes de quatre).",
        "This activation code has a typo: check each character "
        "(24 characters, in six groups of four).",
        detail=str(error),
    )


class ActivationSession:
    """One activation in progress; see the module docstring for its steps."""

    def __init__(
        self,
        keystore: Keystore,
        code: ActivationCode,
        binding: ServerBinding,
        *,
        profile_name: str,
        transport: httpx.BaseTransport | None,
        clock: Callable[[], float],
        rng: Callable[[int], bytes],
    ) -> None:
        self.keystore = keystore
        self.binding = binding
        self.profile_name = profile_name
        self._code = code
        self._transport = transport
        self._clock = clock
        self._rng = rng
        self._client = DeviceClient(binding.server_url, transport=transport, clock=clock, rng=rng)
        self._profile: Profile | None = None
        self._secrets: ProfileSecrets | None = None
        self._registered = False
        self.hold_until: int | None = None
        """Set when the customer already has a device: this new one waits on hold until then
        (or until a current device approves it, brief L2)."""

    @classmethod
    def start(
        cls,
        keystore: Keystore,
        activation: str,
        *,
        server_url: str | None = None,
        profile_name: str | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> ActivationSession:
        """Read the code or QR URI, find the activation and pin the server it authenticates.

        Raises :class:`InputError` for a typo or an unknown or expired code,
        :class:`ServerKeyMismatch` when the binding is not authenticated by the code (or differs
        from the QR code), :class:`InsecureServer` for plain http off this machine,
        :class:`NoKeyring` when the keystore could not keep the secrets here (before anything is
        sent, so the customer types nothing in vain).
        """
        text = activation.strip()
        fingerprint: str | None = None
        expected_url: str | None = None
        try:
            if text.lower().startswith("sceau:"):
                for announced in parse_qs(urlsplit(text).query).get("server", []):
                    check_server_url(announced)
                qr = QrPayload.parse(text)
                code, url = qr.code, qr.server_url
                fingerprint, expected_url = qr.server_key_fingerprint, qr.server_url
            else:
                code = ActivationCode.parse(text)
                if not server_url:
                    raise InputError(
                        "Indiquez l’adresse du serveur Sceau de votre banque (--server), ou "
                        "utilisez le contenu du QR code, qui la contient.",
                        "Give the address of your bank's Sceau server (--server), or use the "
                        "QR code's content, which holds it.",
                    )
                url = server_url
        except InvalidActivationCode as error:
            raise _typo_error(error) from error
        except SceauError as error:
            raise InputError(
                "Ce QR code n’est pas un code d’activation Sceau valide.",
                "This QR code is not a valid Sceau activation code.",
                detail=str(error),
            ) from error
        checked_url = check_server_url(url)
        keystore.check_available()
        with DeviceClient(checked_url, transport=transport, clock=clock, rng=rng) as client:
            try:
                answer = client.get(PATH_LOOKUP.format(lookup_id=code.lookup_id()))
            except OperationUnavailable as error:
                raise InputError(
                    "Code d’activation inconnu, déjà utilisé ou expiré. Demandez-en un nouveau "
                    "dans votre espace client.",
                    "Activation code unknown, already used or expired. Ask for a new one in "
                    "your online banking.",
                ) from error
        binding = _verified_binding(
            code, answer, expected_fingerprint=fingerprint, expected_url=expected_url
        )
        check_server_url(binding.server_url)
        return cls(
            keystore,
            code,
            binding,
            profile_name=profile_name or default_profile_name(binding.server_url),
            transport=transport,
            clock=clock,
            rng=rng,
        )

    @property
    def server_key_fingerprint(self) -> str:
        """The pinned server key's fingerprint, to show the customer."""
        return self.binding.server_key_fingerprint

    def register(self, device_name: str, sms_code: str) -> None:
        """Register this device's key with the SMS code (docs/protocol.md §2.4 step 3).

        A wrong SMS code raises :class:`AuthenticationRefused` with the attempts left; the
        session stays usable to try again.
        """
        name = device_name.strip()
        try:
            check_text(name, field="device_name")
        except SceauError as error:
            raise InputError(
                "Nom d’appareil invalide (1 à 140 caractères visibles).",
                "Invalid device name (1 to 140 visible characters).",
                detail=str(error),
            ) from error
        if not _SMS_CODE.fullmatch(sms_code.strip()):
            raise InputError(
                "Le code reçu par SMS est fait de 6 chiffres.",
                "The code received by SMS is 6 digits.",
            )
        if self._registered:
            raise KeystoreError("Cet appareil est déjà enregistré.", "This device is registered.")
        profile, secrets = self._ensure_profile(name)
        registration = {
            "activation_id": self.binding.activation_id,
            "device_name": name,
            "device_public_key": profile.device_public_key,
        }
        proof = registration_proof(self._code.registration_key(), registration)
        self._client.signed(
            "POST",
            PATH_REGISTER,
            profile_identity(self.keystore, profile, secrets),
            {**registration, "sms_code": sms_code.strip(), "proof": proof},
        )
        self._registered = True

    def choose_code(
        self, code: str, *, biometrics: PlatformAuthenticator | None = None
    ) -> Authenticator:
        """Choose the 4-digit code, commit the knowledge key (and biometric key), and finish.

        Returns the :class:`Authenticator` of the new, active profile.
        """
        check_new_code(code)
        if not self._registered or self._profile is None or self._secrets is None:
            raise KeystoreError(
                "Enregistrez d’abord l’appareil avec le code reçu par SMS.",
                "Register the device with the SMS code first.",
            )
        profile, secrets = self._profile, self._secrets
        identity = profile_identity(self.keystore, profile, secrets)
        evaluation = start_code_evaluation(code, rng=self._rng)
        del code
        answer = self._client.signed(
            "POST",
            PATH_OPRF,
            identity,
            {"blinded_element": b64url_encode(evaluation.blinded_element)},
        )
        knowledge = finish_evaluation(
            evaluation,
            answer,
            oprf_public_key=b64url_decode(self.binding.oprf_public_key, length=oprf.ELEMENT_LENGTH),
            device_secret=secrets.device_secret,
        )
        del evaluation
        commit: dict[str, Any] = {
            "knowledge_public_key": encode_public_key(knowledge.public_key()),
            "knowledge_signature": sign_key_registration(
                knowledge, activation_id=self.binding.activation_id
            ),
        }
        del knowledge
        if biometrics is not None:
            commit["inherence_public_key"] = biometrics.create_key(
                f"sceau:{self.binding.activation_id}"
            )
        answer = self._client.signed("POST", PATH_COMMIT, identity, commit) or {}
        hold_until = answer.get("hold_until")
        if answer.get("status") == "on_hold" and type(hold_until) is int:
            self.hold_until = hold_until
        self.keystore.update(
            profile.name,
            state="active",
            inherence=None if biometrics is None else biometrics.name,
        )
        self._client.close()
        return Authenticator(
            self.keystore,
            profile.name,
            transport=self._transport,
            biometrics=biometrics,
            clock=self._clock,
            rng=self._rng,
        )

    def abandon(self) -> None:
        """Forget the unfinished profile, if one was written."""
        self._client.close()
        if self._profile is None:
            return
        try:
            if self.keystore.get(self._profile.name).state == "activating":
                self.keystore.remove_profile(self._profile.name)
        except DeviceError:
            pass

    def _ensure_profile(self, device_name: str) -> tuple[Profile, ProfileSecrets]:
        if self._profile is not None and self._secrets is not None:
            if self._profile.device_name != device_name:
                self._profile = self.keystore.update(self._profile.name, device_name=device_name)
            return self._profile, self._secrets
        secrets = ProfileSecrets(
            device_key=generate_private_key(self._rng),
            device_secret=self._rng(DEVICE_SECRET_LENGTH),
        )
        profile = Profile(
            name=self.profile_name,
            state="activating",
            server_url=self.binding.server_url,
            activation_id=self.binding.activation_id,
            server_public_key=self.binding.server_public_key,
            oprf_public_key=self.binding.oprf_public_key,
            device_public_key=encode_public_key(secrets.device_key.public_key()),
            device_name=device_name,
            created_at=int(self._clock()),
        )
        self.keystore.create_profile(profile, secrets)
        self._profile, self._secrets = profile, secrets
        return profile, secrets


def _verified_binding(
    code: ActivationCode,
    answer: dict[str, Any],
    *,
    expected_fingerprint: str | None,
    expected_url: str | None,
) -> ServerBinding:
    """Parse the lookup answer and verify its binding with the code (brief P4)."""
    try:
        binding = ServerBinding.from_json(answer["binding"])
        tag = answer["tag"]
        activation_id = answer["activation_id"]
        if not isinstance(tag, str) or not isinstance(activation_id, str):
            raise TypeError("tag and activation_id are strings")
    except (KeyError, TypeError, SceauError) as error:
        raise ServerFailure(f"malformed activation lookup: {error}") from error
    if activation_id != binding.activation_id:
        raise ServerKeyMismatch("the lookup's activation id differs from the binding's")
    try:
        verify_binding(
            code,
            binding,
            tag,
            expected_fingerprint=expected_fingerprint,
            expected_server_url=expected_url,
        )
    except InvalidSignature as error:
        raise ServerKeyMismatch(f"binding tag: {error}") from error
    except ServerKeyNotPinned as error:
        raise ServerKeyMismatch(f"QR code: {error}") from error
    return binding
