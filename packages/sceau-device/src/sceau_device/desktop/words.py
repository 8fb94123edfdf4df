# SPDX-License-Identifier: Apache-2.0
"""The desktop application's own words, French first, English available.

The words every Sceau authenticator shares (Valider, Refuser, Ce n’est pas moi, the reminder…)
come from :data:`sceau_core.display.TEXT`; the authenticator's sentences (operation approved,
refused…) from :mod:`sceau_device.texts`. This module adds those of the desktop screens.
French puts a no-break space (U+00A0) before a colon or a question mark.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from sceau_core.display import TEXT
from sceau_device.texts import WORDS as DEVICE_WORDS

__all__ = ["WORDS", "lang_of", "word"]

WORDS: Final[Mapping[str, Mapping[str, str]]] = {
    "fr": {
        "app_title": "Sceau Pro",
        "pending_heading": "Opérations en attente de votre validation",
        "no_pending": "Aucune opération en attente.",
        "column_operation": "Opération",
        "column_detail": "Détail",
        "column_time_left": "Temps restant",
        "open": "Ouvrir",
        "history": "Historique",
        "quit": "Quitter",
        "back": "Retour",
        "signed_lines": "Ce que votre banque vous demande de valider (lignes signées)\u00a0:",
        "show_lines": "Voir les {n} lignes",
        "lines_key": "Lignes",
        "code_label": "{enter_code}\u00a0:",
        "match_label": "{enter_match}\u00a0:",
        "code_format": "Le code Sceau est fait de 4 chiffres.",
        "match_format": "Saisissez le nombre affiché par le site de votre banque.",
        "working": "Envoi en cours…",
        "approved": "Opération validée.",
        "approved_pending": (
            "Votre signature est enregistrée. D’autres signatures sont attendues avant "
            "l’exécution de l’opération."
        ),
        "rejected": "Opération refusée.",
        "not_me_done": DEVICE_WORDS["fr"]["not_me_done"],
        "gone": "Cette opération n’est plus en attente (expirée, annulée ou traitée ailleurs).",
        "expired": TEXT["fr"]["expired"],
        "confirm_reject": "Refuser cette opération\u00a0?",
        "confirm_not_me": (
            "Signaler cette opération comme frauduleuse\u00a0? Elle sera refusée et votre "
            "banque sera prévenue."
        ),
        "yes": "Oui",
        "no": "Non",
        "batch_heading": "Lignes du virement groupé",
        "batch_loading": "Chargement des lignes…",
        "batch_verified": (
            "Lignes vérifiées\u00a0: elles correspondent au nombre, au total et à l’empreinte "
            "signés par votre banque."
        ),
        "batch_page": "Page {page} sur {pages} · lignes {first} à {last} sur {count}",
        "next_page": "Page suivante",
        "previous_page": "Page précédente",
        "column_number": "N°",
        "column_payee": "Bénéficiaire",
        "column_iban": "IBAN",
        "column_amount": "Montant",
        "column_reference": "Référence",
        "history_heading": "Opérations traitées depuis l’ouverture",
        "no_history": "Aucune opération traitée pour l’instant.",
        "column_time": "Heure",
        "column_decision": "Décision",
        "decision_approve": "Validée",
        "decision_approve_pending": "Signée, en attente d’autres signatures",
        "decision_reject": "Refusée",
        "decision_not_me": "Signalée comme frauduleuse",
        "connection_lost": "Connexion au serveur perdue\u00a0; nouvel essai automatique.",
        "new_operation": "Nouvelle opération\u00a0: {title}",
    },
    "en": {
        "app_title": "Sceau Pro",
        "pending_heading": "Operations waiting for your approval",
        "no_pending": "No pending operation.",
        "column_operation": "Operation",
        "column_detail": "Detail",
        "column_time_left": "Time left",
        "open": "Open",
        "history": "History",
        "quit": "Quit",
        "back": "Back",
        "signed_lines": "What your bank asks you to approve (signed lines):",
        "show_lines": "Show the {n} lines",
        "lines_key": "Lines",
        "code_label": "{enter_code}:",
        "match_label": "{enter_match}:",
        "code_format": "A Sceau code is 4 digits.",
        "match_format": "Type the number your bank’s website shows.",
        "working": "Sending…",
        "approved": "Operation approved.",
        "approved_pending": (
            "Your signature is recorded. More signatures are needed before the operation is "
            "carried out."
        ),
        "rejected": "Operation declined.",
        "not_me_done": DEVICE_WORDS["en"]["not_me_done"],
        "gone": "This operation is no longer pending (expired, cancelled or decided elsewhere).",
        "expired": TEXT["en"]["expired"],
        "confirm_reject": "Decline this operation?",
        "confirm_not_me": (
            "Report this operation as fraud? It will be declined and your bank will be told."
        ),
        "yes": "Yes",
        "no": "No",
        "batch_heading": "Lines of the batch transfer",
        "batch_loading": "Loading the lines…",
        "batch_verified": (
            "Lines checked: they match the count, the total and the digest your bank signed."
        ),
        "batch_page": "Page {page} of {pages} · lines {first} to {last} of {count}",
        "next_page": "Next page",
        "previous_page": "Previous page",
        "column_number": "No.",
        "column_payee": "Payee",
        "column_iban": "IBAN",
        "column_amount": "Amount",
        "column_reference": "Reference",
        "history_heading": "Operations decided since opening",
        "no_history": "No operation decided yet.",
        "column_time": "Time",
        "column_decision": "Decision",
        "decision_approve": "Approved",
        "decision_approve_pending": "Signed, waiting for more signatures",
        "decision_reject": "Declined",
        "decision_not_me": "Reported as fraud",
        "connection_lost": "Connection to the server lost; retrying automatically.",
        "new_operation": "New operation: {title}",
    },
}


def lang_of(locale: str) -> str:
    """French unless ``locale`` is ``"en"``."""
    return "en" if locale == "en" else "fr"


def word(key: str, locale: str, **values: object) -> str:
    """The sentence ``key`` in ``locale``, filled with ``values`` and the shared words."""
    lang = lang_of(locale)
    return WORDS[lang][key].format(**{**TEXT[lang], **values})
