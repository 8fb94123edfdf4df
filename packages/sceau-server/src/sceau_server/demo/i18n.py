# SPDX-License-Identifier: Apache-2.0
"""The demo's words, French first, English available, and how it writes money, times and IBANs.

Templates write French and call ``_("…")``; :data:`~sceau_server.demo.english.ENGLISH` maps
each French text to English (a test checks that every text of the templates has its
translation). The words every Sceau authenticator shares (Valider, Refuser, Ce n’est pas moi,
Code oublié, the reminder…) come from :data:`sceau_core.display.TEXT`, so the phone says exactly
what the app says.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Final

from babel.numbers import format_currency

from sceau_core.display import BABEL_LOCALES, TEXT, attempts_left
from sceau_core.money import mask_iban
from sceau_device.texts import format_duration, format_time
from sceau_server.demo.english import ENGLISH

__all__ = ["ENGLISH", "Formatter", "translator"]

STATUS: Final = {
    "fr": {
        "pending": "En attente",
        "approved": "Validée",
        "rejected": "Refusée",
        "not_me": "Ce n’est pas moi",
        "expired": "Expirée",
        "cancelled": "Annulée",
        "unverified": "Résultat non vérifié",
        "active": "Actif",
        "pending_activation": "Activation en cours",
        "registered": "Enregistré",
        "suspended": "Suspendu",
        "revoked": "Révoqué",
        "superseded": "Remplacé",
        "on_hold": "En attente d’approbation",
    },
    "en": {
        "pending": "Pending",
        "approved": "Approved",
        "rejected": "Declined",
        "not_me": "This wasn’t me",
        "expired": "Expired",
        "cancelled": "Cancelled",
        "unverified": "Unverified result",
        "active": "Active",
        "pending_activation": "Activation in progress",
        "registered": "Registered",
        "suspended": "Suspended",
        "revoked": "Revoked",
        "superseded": "Replaced",
        "on_hold": "Waiting for approval",
    },
}

KINDS: Final = {
    "fr": {
        "login": "Connexion",
        "card_payment": "Paiement par carte",
        "transfer": "Virement",
        "add_payee": "Ajout d’un bénéficiaire",
        "e_signature": "Signature électronique",
        "batch_transfer": "Virements groupés",
        "new_device": "Nouvel appareil",
        "rights_change": "Modification des droits",
    },
    "en": {
        "login": "Sign-in",
        "card_payment": "Card payment",
        "transfer": "Transfer",
        "add_payee": "New payee",
        "e_signature": "Electronic signature",
        "batch_transfer": "Batch transfer",
        "new_device": "New device",
        "rights_change": "Change of rights",
    },
}


def translator(lang: str) -> Callable[[str], str]:
    """``_(text)`` for ``lang``: the text itself in French, its translation in English."""
    if lang != "en":
        return lambda text: text
    return lambda text: ENGLISH.get(text, text)


class Formatter:
    """How the demo writes values for a reader of ``lang``."""

    def __init__(self, lang: str) -> None:
        self.lang = "en" if lang == "en" else "fr"
        self.babel = BABEL_LOCALES[self.lang]

    def money(self, value: str | Decimal, currency: str = "EUR") -> str:
        """``1 234,56 €`` (French) or ``€1,234.56`` (English), with a sign when negative."""
        return str(format_currency(Decimal(value), currency, locale=self.babel))

    def iban(self, iban: str) -> str:
        """An IBAN masked but for its country, check digits and last 4: ``FR76 •••• •••• 0189``."""
        return mask_iban(iban)

    def iban_full(self, iban: str) -> str:
        """An IBAN in groups of four (the customer's own account)."""
        return " ".join(iban[index : index + 4] for index in range(0, len(iban), 4))

    def when(self, timestamp: int | None) -> str:
        """A date and time: ``27/11/2026 à 10:42``."""
        return "" if timestamp is None else format_time(int(timestamp), self.lang)

    def clock(self, timestamp: int | None) -> str:
        """A time of day with seconds: ``10:42:05``."""
        if timestamp is None:
            return ""
        return time.strftime("%H:%M:%S", time.localtime(int(timestamp)))

    def duration(self, seconds: int) -> str:
        """``4 min 05 s``, ``45 s``; the expired word at zero."""
        return format_duration(int(seconds), self.lang)

    def phone(self, phone: str) -> str:
        """A French number the French way: ``+33 6 12 34 56 78``."""
        if phone.startswith("+33") and len(phone) == 12:
            rest = phone[3:]
            return f"+33 {rest[0]} " + " ".join(rest[i : i + 2] for i in range(1, 9, 2))
        return phone

    def status(self, status: str) -> str:
        """An operation's or a device's state in words."""
        return STATUS[self.lang].get(status, status)

    def kind(self, kind: str) -> str:
        """An operation type in words."""
        return KINDS[self.lang].get(kind, kind)

    def attempts(self, left: int) -> str:
        """``Il vous reste 3 essais``."""
        return attempts_left(left, self.lang)

    def factor(self, factor: str) -> str:
        """A factor in words: the code, the device, biometrics."""
        words = {
            "fr": {"knowledge": "code", "possession": "appareil", "inherence": "biométrie"},
            "en": {"knowledge": "code", "possession": "device", "inherence": "biometrics"},
        }
        return words[self.lang].get(factor, factor)

    def word(self, key: str) -> str:
        """One of the authenticator's shared words (:data:`sceau_core.display.TEXT`)."""
        return TEXT[self.lang][key]

    def seconds_left(self, expires_at: int) -> int:
        """Seconds until ``expires_at`` (never negative)."""
        return max(0, int(expires_at) - int(time.time()))
