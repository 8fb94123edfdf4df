# SPDX-License-Identifier: Apache-2.0
"""The authenticator's own words, French first, English available.

French puts a no-break space before a colon or a question mark, as the core's display lines do.

The words that every Sceau authenticator shares (Valider, Refuser, Ce n’est pas moi, the
reminder…) come from :data:`sceau_core.display.TEXT`; this module adds those of this
authenticator's screens and prompts. ``say(key, locale, **values)`` fills a template.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Final

from sceau_core.display import TEXT

__all__ = ["LOCALES", "WORDS", "format_duration", "format_time", "say"]

LOCALES: Final = ("fr", "en")

WORDS: Final[Mapping[str, Mapping[str, str]]] = {
    "fr": {
        "time_left": "Temps restant\u00a0: {duration}",
        "device": "Appareil\u00a0: {name}",
        "operation_id": "Opération {id}",
        "choice": "[V] {approve}   [R] {decline}   [C] {not_me}   [P] Plus tard",
        "choice_prompt": "Votre choix\u00a0: ",
        "enter_code_prompt": "{enter_code}\u00a0: ",
        "confirm_code": "Saisissez-le une seconde fois\u00a0: ",
        "new_code": "Choisissez votre nouveau code Sceau (4 chiffres)\u00a0: ",
        "old_code": "Saisissez votre code Sceau actuel\u00a0: ",
        "choose_code": "Choisissez votre code Sceau (4 chiffres)\u00a0: ",
        "codes_differ": "Les deux saisies sont différentes.",
        "code_format": "Le code Sceau est fait de 4 chiffres.",
        "match_prompt": "{enter_match}\u00a0: ",
        "match_format": "Le nombre à saisir est celui affiché par le site de votre banque.",
        "activation_prompt": "Code d’activation (ou contenu du QR code)\u00a0: ",
        "server_prompt": "Adresse du serveur Sceau de votre banque\u00a0: ",
        "device_name_prompt": "Nom de cet appareil (par exemple « Ordinateur du bureau »)\u00a0: ",
        "sms_prompt": "Code reçu par SMS\u00a0: ",
        "sms_format": "Le code reçu par SMS est fait de 6 chiffres.",
        "server_checked": "Serveur de votre banque vérifié\u00a0: {url}",
        "fingerprint": "Empreinte de sa clé\u00a0: {fingerprint}",
        "registered": "Appareil enregistré.",
        "activated": "Sceau est activé sur « {name} ». Votre code n’est enregistré nulle part.",
        "approved": "Opération validée.",
        "rejected": "Opération refusée.",
        "not_me_done": (
            "Opération refusée et signalée à votre banque comme une fraude possible. "
            "Si quelqu’un vous a demandé de valider cette opération, contactez votre banque."
        ),
        "later": "Opération laissée en attente.",
        "confirm_reject": "Refuser cette opération\u00a0? [o/N] ",
        "confirm_not_me": "Signaler cette opération comme frauduleuse\u00a0? [o/N] ",
        "confirm_remove": "Retirer cet appareil\u00a0? Il ne pourra plus rien valider. [o/N] ",
        "yes": "o",
        "removed": "Cet appareil est retiré\u00a0: ses clés ne servent plus à rien.",
        "code_changed": "Votre code Sceau est changé. L’ancien ne fonctionne plus.",
        "no_pending": "Aucune opération en attente.",
        "pending_count": "{n} opération(s) en attente\u00a0:",
        "status_name": "Appareil\u00a0: {name}",
        "status_state": "État\u00a0: {state}",
        "status_profile": "Profil\u00a0: {profile} ({url})",
        "status_attempts": "Essais restants\u00a0: {n}",
        "status_locked": "Bloqué jusqu’au {until}",
        "status_blocked": "Bloqué définitivement\u00a0: contactez votre banque.",
        "status_biometrics": "Biométrie\u00a0: {state}",
        "state_active": "actif",
        "state_suspended": "suspendu",
        "state_revoked": "révoqué",
        "state_registered": "activation en cours",
        "state_other": "{state}",
        "on": "activée",
        "off": "désactivée",
        "listening": "En attente d’opérations… (Ctrl+C pour arrêter)",
        "reconnecting": "Connexion perdue ; nouvel essai dans {seconds} s.",
        "gone": "L’opération {id} n’est plus en attente (expirée ou traitée).",
        "refused_operation": (
            "Opération refusée\u00a0: sa signature n’est pas celle de votre banque."
        ),
        "weak_code": "Code refusé\u00a0: {reason}",
        "insecure_key": (
            "ATTENTION\u00a0: la clé qui protège ce trousseau est stockée dans un simple fichier "
            "({path}), sans trousseau de clés du système. À réserver aux tests."
        ),
        "profiles_none": (
            "Aucun profil\u00a0: activez d’abord Sceau avec « sceau-device activate »."
        ),
        "profile_line": "{marker} {name} — {device} — {url} ({state})",
        "expired": TEXT["fr"]["expired"],
        "sms_retry": "Code SMS refusé. Réessayez.",
        "reset_choice": (
            "Réinitialiser votre code avec\u00a0: [B] la biométrie   "
            "[S] un code reçu par SMS et le mot de passe de votre banque en ligne"
        ),
        "reset_choice_prompt": "Votre choix\u00a0: ",
        "reset_sms_sent": "Un code vient de vous être envoyé par SMS.",
        "reset_sms_prompt": "Code reçu par SMS\u00a0: ",
        "reset_password_prompt": "Mot de passe de votre banque en ligne\u00a0: ",
        "code_reset_done": (
            "Votre nouveau code Sceau est enregistré\u00a0: il est utilisable dès maintenant. "
            "L’ancien ne fonctionne plus."
        ),
        "devices_none": "Aucun appareil.",
        "devices_count": "{n} appareil(s)\u00a0:",
        "device_line": "{marker} {name} — {state} ({id})",
        "device_removed": (
            "L’appareil « {name} » est retiré\u00a0: ses clés ne servent plus à rien."
        ),
        "device_cancelled": "L’appareil « {name} » est annulé\u00a0: il ne pourra rien valider.",
        "confirm_remove_device": "Retirer l’appareil « {name} »\u00a0? [o/N] ",
        "confirm_cancel_device": "Annuler le nouvel appareil « {name} »\u00a0? [o/N] ",
        "on_hold": (
            "Cet appareil est en attente jusqu’au {until}\u00a0: validez-le depuis votre appareil "
            "actuel (« sceau-device approve-device »), sinon il sera activé à cette date."
        ),
        "status_hold": "En attente jusqu’au {until}",
        "state_on_hold": "en attente",
        "biometrics_enabled": "Biométrie activée pour Sceau.",
        "biometrics_disabled": "Biométrie désactivée pour Sceau.",
        "biometrics_changed": (
            "SIMULATION\u00a0: une empreinte a été ajoutée sur cet appareil. La biométrie de "
            "Sceau est désactivée jusqu’à ce que vous l’activiez à nouveau avec votre code."
        ),
    },
    "en": {
        "time_left": "Time left: {duration}",
        "device": "Device: {name}",
        "operation_id": "Operation {id}",
        "choice": "[A] {approve}   [D] {decline}   [N] {not_me}   [L] Later",
        "choice_prompt": "Your choice: ",
        "enter_code_prompt": "{enter_code}: ",
        "confirm_code": "Type it a second time: ",
        "new_code": "Choose your new Sceau code (4 digits): ",
        "old_code": "Enter your current Sceau code: ",
        "choose_code": "Choose your Sceau code (4 digits): ",
        "codes_differ": "The two entries differ.",
        "code_format": "A Sceau code is 4 digits.",
        "match_prompt": "{enter_match}: ",
        "match_format": "The number to type is the one your bank’s website shows.",
        "activation_prompt": "Activation code (or QR code content): ",
        "server_prompt": "Address of your bank’s Sceau server: ",
        "device_name_prompt": "Name of this device (for example “Office computer”): ",
        "sms_prompt": "Code received by SMS: ",
        "sms_format": "The code received by SMS is 6 digits.",
        "server_checked": "Your bank’s server checked: {url}",
        "fingerprint": "Its key’s fingerprint: {fingerprint}",
        "registered": "Device registered.",
        "activated": "Sceau is activated on “{name}”. Your code is stored nowhere.",
        "approved": "Operation approved.",
        "rejected": "Operation declined.",
        "not_me_done": (
            "Operation declined and reported to your bank as possible fraud. If someone asked "
            "you to approve this operation, contact your bank."
        ),
        "later": "Operation left pending.",
        "confirm_reject": "Decline this operation? [y/N] ",
        "confirm_not_me": "Report this operation as fraud? [y/N] ",
        "confirm_remove": "Remove this device? It will no longer approve anything. [y/N] ",
        "yes": "y",
        "removed": "This device is removed: its keys are useless now.",
        "code_changed": "Your Sceau code is changed. The old one no longer works.",
        "no_pending": "No pending operation.",
        "pending_count": "{n} pending operation(s):",
        "status_name": "Device: {name}",
        "status_state": "State: {state}",
        "status_profile": "Profile: {profile} ({url})",
        "status_attempts": "Attempts left: {n}",
        "status_locked": "Locked until {until}",
        "status_blocked": "Permanently blocked: contact your bank.",
        "status_biometrics": "Biometrics: {state}",
        "state_active": "active",
        "state_suspended": "suspended",
        "state_revoked": "revoked",
        "state_registered": "activation in progress",
        "state_other": "{state}",
        "on": "on",
        "off": "off",
        "listening": "Waiting for operations… (Ctrl+C to stop)",
        "reconnecting": "Connection lost; trying again in {seconds} s.",
        "gone": "Operation {id} is no longer pending (expired or decided).",
        "refused_operation": "Operation refused: its signature is not your bank’s.",
        "weak_code": "Code refused: {reason}",
        "insecure_key": (
            "WARNING: the key protecting this keystore is kept in a plain file ({path}), "
            "without the system keyring. For tests only."
        ),
        "profiles_none": "No profile: activate Sceau first with “sceau-device activate”.",
        "profile_line": "{marker} {name} — {device} — {url} ({state})",
        "expired": TEXT["en"]["expired"],
        "sms_retry": "SMS code refused. Try again.",
        "reset_choice": (
            "Reset your code with: [B] biometrics   "
            "[S] a code received by SMS and your online-banking password"
        ),
        "reset_choice_prompt": "Your choice: ",
        "reset_sms_sent": "A code was just sent to you by SMS.",
        "reset_sms_prompt": "Code received by SMS: ",
        "reset_password_prompt": "Your online-banking password: ",
        "code_reset_done": (
            "Your new Sceau code is registered: it works right now. The old one no longer works."
        ),
        "devices_none": "No device.",
        "devices_count": "{n} device(s):",
        "device_line": "{marker} {name} — {state} ({id})",
        "device_removed": "Device “{name}” is removed: its keys are useless now.",
        "device_cancelled": "Device “{name}” is cancelled: it will not approve anything.",
        "confirm_remove_device": "Remove device “{name}”? [y/N] ",
        "confirm_cancel_device": "Cancel the new device “{name}”? [y/N] ",
        "on_hold": (
            "This device is on hold until {until}: approve it from your current device "
            "(“sceau-device approve-device”), or it will be activated then."
        ),
        "status_hold": "On hold until {until}",
        "state_on_hold": "on hold",
        "biometrics_enabled": "Biometrics enabled for Sceau.",
        "biometrics_disabled": "Biometrics disabled for Sceau.",
        "biometrics_changed": (
            "SIMULATION: a fingerprint was added on this device. Sceau's biometrics are disabled "
            "until you enable them again with your code."
        ),
    },
}


def say(key: str, locale: str, **values: object) -> str:
    """The sentence ``key`` in ``locale`` (French unless ``"en"``), filled with ``values``."""
    words = WORDS["en" if locale == "en" else "fr"]
    common = TEXT["en" if locale == "en" else "fr"]
    return words[key].format(**{**common, **values})


def format_time(timestamp: int, locale: str) -> str:
    """A local date and time the customer reads: ``27/11/2026 à 10:42`` or ``2026-11-27 10:42``."""
    moment = time.localtime(timestamp)
    if locale == "en":
        return time.strftime("%Y-%m-%d %H:%M", moment)
    return time.strftime("%d/%m/%Y à %H:%M", moment)


def format_duration(seconds: int, locale: str) -> str:
    """A short duration: ``4 min 05 s``, ``45 s``; an expired one gives the expired word."""
    if seconds <= 0:
        return TEXT["en" if locale == "en" else "fr"]["expired"]
    minutes, rest = divmod(seconds, 60)
    if minutes:
        return f"{minutes} min {rest:02d} s"
    return f"{rest} s"
