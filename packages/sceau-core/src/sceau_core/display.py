# SPDX-License-Identifier: Apache-2.0
"""The words the customer reads: an operation's display lines and the device's fixed words.

:func:`render_lines` renders the lines the server stores in :attr:`Operation.display` and signs
(brief D1): the device shows them as they are and adds only its own chrome, whose fixed words
are in :data:`TEXT`. French comes first; English is available.

Typography:

- French puts a no-break space (U+00A0) before a colon, English none: ``"Montant : 12,30 €"``
  and ``"Amount: €12.30"``. Amounts keep Babel's spacing (U+202F between digit groups in
  French, U+00A0 before the currency sign), so no line wraps inside an amount.
- Apostrophes are typographic (U+2019): ``"Ajout d’un bénéficiaire"``, ``"Ce n’est pas moi"``.
- Masked characters are bullets (U+2022), a shortened digest ends with an ellipsis (U+2026).

The ``User-Agent`` of a request is never shown as is (its requester chooses it, and it could
carry a message written for the customer): only the browser and the system it names, from a
fixed list, are shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Final

from babel.dates import format_date
from babel.numbers import format_decimal

from sceau_core.errors import InvalidOperation
from sceau_core.money import mask_card, mask_iban
from sceau_core.operations import (
    DATA_TYPES,
    LOCALES,
    MAX_DISPLAY_LINE_LENGTH,
    AddPayeeData,
    BatchTransferData,
    CardPaymentData,
    Channel,
    ESignatureData,
    Locale,
    LoginData,
    NewDeviceData,
    OperationData,
    OperationType,
    RequestContext,
    RightsChangeData,
    TransferData,
    check_text,
)

__all__ = [
    "BABEL_LOCALES",
    "TEXT",
    "attempts_left",
    "describe_user_agent",
    "render_lines",
    "render_rule_lines",
    "signatures_collected",
    "signatures_needed",
]

BABEL_LOCALES: Final[Mapping[str, str]] = MappingProxyType({"fr": "fr_FR", "en": "en"})
"""The Babel locale used to format numbers and amounts for each operation locale."""

TEXT: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        "fr": MappingProxyType(
            {
                "approve": "Valider",
                "decline": "Refuser",
                "not_me": "Ce n’est pas moi",
                "forgot_code": "Code oublié",
                "enter_code": "Saisissez votre code Sceau",
                "enter_match": "Saisissez le nombre affiché sur votre écran",
                "expired": "Opération expirée",
                "attempts_left": "Il vous reste {n} essais",
                "attempts_left_one": "Il vous reste 1 essai",
                "attempts_left_none": "Il ne vous reste aucun essai",
                "reminder": (
                    "Votre banque ne vous demandera jamais de valider une opération par téléphone."
                ),
            }
        ),
        "en": MappingProxyType(
            {
                "approve": "Approve",
                "decline": "Decline",
                "not_me": "This wasn’t me",
                "forgot_code": "Forgot your code",
                "enter_code": "Enter your Sceau code",
                "enter_match": "Enter the number shown on your screen",
                "expired": "Operation expired",
                "attempts_left": "{n} attempts left",
                "attempts_left_one": "1 attempt left",
                "attempts_left_none": "No attempts left",
                "reminder": "Your bank will never ask you to approve an operation over the phone.",
            }
        ),
    }
)
"""The device chrome's fixed words: ``TEXT[locale][key]``, the same keys in every locale."""

_TITLES: Final[Mapping[str, Mapping[OperationType, str]]] = {
    "fr": {
        OperationType.LOGIN: "Connexion à votre banque en ligne",
        OperationType.CARD_PAYMENT: "Paiement par carte",
        OperationType.TRANSFER: "Virement",
        OperationType.ADD_PAYEE: "Ajout d’un bénéficiaire",
        OperationType.E_SIGNATURE: "Signature électronique",
        OperationType.BATCH_TRANSFER: "Virements groupés",
        OperationType.NEW_DEVICE: "Nouvel appareil Sceau",
        OperationType.RIGHTS_CHANGE: "Modification des droits sur un compte",
    },
    "en": {
        OperationType.LOGIN: "Online banking sign-in",
        OperationType.CARD_PAYMENT: "Card payment",
        OperationType.TRANSFER: "Transfer",
        OperationType.ADD_PAYEE: "New payee",
        OperationType.E_SIGNATURE: "Electronic signature",
        OperationType.BATCH_TRANSFER: "Batch transfer",
        OperationType.NEW_DEVICE: "New Sceau device",
        OperationType.RIGHTS_CHANGE: "Change of rights on an account",
    },
}

_LABELS: Final[Mapping[str, Mapping[str, str]]] = {
    "fr": {
        "amount": "Montant",
        "payee": "Bénéficiaire",
        "iban": "IBAN",
        "reference": "Référence",
        "debtor": "Compte débité",
        "merchant": "Marchand",
        "website": "Site",
        "card": "Carte",
        "document": "Document",
        "pages": "Pages",
        "fingerprint": "Empreinte",
        "count": "Nombre",
        "total": "Total",
        "execution_date": "Date d’exécution",
        "category_purpose": "Nature",
        "device": "Depuis",
        "ip": "Adresse IP",
        "location": "Lieu",
        "channel": "Canal",
        "new_device": "Appareil",
        "replaces": "Remplace",
        "warning": "Attention",
        "account": "Compte",
        "member": "Membre",
        "rights_before": "Droits actuels",
        "rights_after": "Nouveaux droits",
    },
    "en": {
        "amount": "Amount",
        "payee": "Payee",
        "iban": "IBAN",
        "reference": "Reference",
        "debtor": "From account",
        "merchant": "Merchant",
        "website": "Website",
        "card": "Card",
        "document": "Document",
        "pages": "Pages",
        "fingerprint": "Fingerprint",
        "count": "Count",
        "total": "Total",
        "execution_date": "Execution date",
        "category_purpose": "Purpose",
        "device": "Device",
        "ip": "IP address",
        "location": "Location",
        "channel": "Channel",
        "new_device": "Device",
        "replaces": "Replaces",
        "warning": "Warning",
        "account": "Account",
        "member": "Member",
        "rights_before": "Current rights",
        "rights_after": "New rights",
    },
}

_NEW_DEVICE_WARNING: Final[Mapping[str, str]] = {
    "fr": "validez seulement si vous activez vous-même cet appareil",
    "en": "approve only if you are activating this device yourself",
}

_RIGHT_NAMES: Final[Mapping[str, Mapping[str, str]]] = {
    "fr": {"view": "consultation", "prepare": "préparation", "validate": "validation", "": "aucun"},
    "en": {"view": "view", "prepare": "prepare", "validate": "validate", "": "none"},
}


def _rights_text(rights: Sequence[str], locale: Locale) -> str:
    names = _RIGHT_NAMES[locale]
    return ", ".join(names[right] for right in rights) if rights else names[""]


_CATEGORY_PURPOSES: Final[Mapping[str, Mapping[str, str]]] = {
    "fr": {
        "SALA": "salaires",
        "SUPP": "fournisseurs",
        "PENS": "pensions de retraite",
        "TAXS": "impôts et taxes",
        "INTC": "virements internes au groupe",
    },
    "en": {
        "SALA": "salaries",
        "SUPP": "suppliers",
        "PENS": "pensions",
        "TAXS": "taxes",
        "INTC": "intra-company payments",
    },
}

_TRANSFERS: Final[Mapping[str, tuple[str, str]]] = {
    "fr": ("virement", "virements"),
    "en": ("transfer", "transfers"),
}

_CHANNELS: Final[Mapping[str, Mapping[Channel, str]]] = {
    "fr": {
        Channel.WEB: "Site internet",
        Channel.MOBILE: "Application mobile",
        Channel.PHONE: "Téléphone",
        Channel.API: "API",
    },
    "en": {
        Channel.WEB: "Website",
        Channel.MOBILE: "Mobile app",
        Channel.PHONE: "Phone",
        Channel.API: "API",
    },
}

# Checked in order: several browsers also name the engines they descend from
# (Edge says "Chrome/", Chrome says "Safari/"), and iOS says "like Mac OS X".
_BROWSERS: Final = (
    (("Edg/", "EdgA/", "EdgiOS/"), "Edge"),
    (("OPR/", "Opera"), "Opera"),
    (("SamsungBrowser/",), "Samsung Internet"),
    (("Firefox/", "FxiOS/"), "Firefox"),
    (("Chromium/",), "Chromium"),
    (("Chrome/", "CriOS/"), "Chrome"),
    (("Version/",), "Safari"),
)
_SYSTEMS: Final = (
    (("Windows",), "Windows"),
    (("iPhone", "iPad", "iPod"), "iOS"),
    (("Android",), "Android"),
    (("CrOS",), "ChromeOS"),
    (("Macintosh", "Mac OS X"), "macOS"),
    (("Linux",), "Linux"),
)
_ON: Final[Mapping[str, str]] = {"fr": "sur", "en": "on"}
_UNKNOWN_DEVICE: Final[Mapping[str, str]] = {"fr": "Appareil inconnu", "en": "Unknown device"}

_FINGERPRINT_HEX: Final = 16

# The lines of a shared account's approval rule (brief B1): the server appends them to the
# display of an operation that several members must approve, so each signatory reads, signed,
# how many signatures the operation needs and whose.
_SIGNATURES: Final[Mapping[str, Mapping[str, str]]] = {
    "fr": {
        "needed": "Cette opération nécessite {n} signatures",
        "needed_one": "Cette opération nécessite 1 signature",
        "required": "Signature obligatoire de\u00a0: {names}",
        "collected": "Signatures recueillies\u00a0: {k} sur {n}",
    },
    "en": {
        "needed": "This operation needs {n} signatures",
        "needed_one": "This operation needs 1 signature",
        "required": "Required signatory: {names}",
        "collected": "Signatures collected: {k} of {n}",
    },
}


def _check_locale(locale: str) -> Locale:
    for known in LOCALES:
        if locale == known:
            return known
    raise InvalidOperation(f"locale: must be one of {', '.join(LOCALES)}")


def _line(locale: Locale, key: str, value: str) -> str:
    colon = "\u00a0:" if locale == "fr" else ":"
    return f"{_LABELS[locale][key]}{colon} {value}"


def _first_match(text: str, table: tuple[tuple[tuple[str, ...], str], ...]) -> str | None:
    for tokens, name in table:
        if any(token in text for token in tokens):
            return name
    return None


def describe_user_agent(user_agent: str, locale: str) -> str:
    """Name the browser and system of a ``User-Agent``: ``"Firefox sur Windows"``.

    Only names from a fixed list come out, never text from the header itself; an unrecognized
    header gives ``"Appareil inconnu"`` (``"Unknown device"``).
    """
    checked = _check_locale(locale)
    browser = _first_match(user_agent, _BROWSERS)
    if browser == "Safari" and "Safari/" not in user_agent:
        browser = None
    system = _first_match(user_agent, _SYSTEMS)
    if browser and system:
        return f"{browser} {_ON[checked]} {system}"
    return browser or system or _UNKNOWN_DEVICE[checked]


def attempts_left(n: int, locale: str) -> str:
    """Tell how many code attempts remain, with the right plural: ``"Il vous reste 2 essais"``."""
    text = TEXT[_check_locale(locale)]
    if n <= 0:
        return text["attempts_left_none"]
    if n == 1:
        return text["attempts_left_one"]
    return text["attempts_left"].format(n=n)


def _data_lines(data: OperationData, locale: Locale) -> list[str]:
    babel = BABEL_LOCALES[locale]
    if isinstance(data, LoginData):
        return []
    if isinstance(data, CardPaymentData):
        lines = [_line(locale, "merchant", data.merchant_name)]
        if data.merchant_host is not None:
            lines.append(_line(locale, "website", data.merchant_host))
        lines.append(_line(locale, "amount", data.amount.format(babel)))
        lines.append(_line(locale, "card", mask_card(data.card_last4)))
        return lines
    if isinstance(data, TransferData):
        lines = [
            _line(locale, "amount", data.amount.format(babel)),
            _line(locale, "payee", data.payee_name),
            _line(locale, "iban", mask_iban(data.payee_iban)),
        ]
        if data.reference is not None:
            lines.append(_line(locale, "reference", data.reference))
        if data.debtor_iban is not None:
            lines.append(_line(locale, "debtor", mask_iban(data.debtor_iban)))
        return lines
    if isinstance(data, AddPayeeData):
        return [
            _line(locale, "payee", data.payee_name),
            _line(locale, "iban", mask_iban(data.payee_iban)),
        ]
    if isinstance(data, NewDeviceData):
        lines = [_line(locale, "new_device", data.device_name)]
        if data.replaces is not None:
            lines.append(_line(locale, "replaces", data.replaces))
        lines.append(_line(locale, "warning", _NEW_DEVICE_WARNING[locale]))
        return lines
    if isinstance(data, RightsChangeData):
        return [
            _line(locale, "account", f"{data.account_name} ({mask_iban(data.account_iban)})"),
            _line(locale, "member", data.member_name),
            _line(locale, "rights_before", _rights_text(data.rights_before, locale)),
            _line(locale, "rights_after", _rights_text(data.rights_after, locale)),
        ]
    if isinstance(data, ESignatureData):
        lines = [_line(locale, "document", data.document_title)]
        if data.document_pages is not None:
            lines.append(_line(locale, "pages", format_decimal(data.document_pages, locale=babel)))
        fingerprint = data.document_sha256[:_FINGERPRINT_HEX] + "\u2026"
        lines.append(_line(locale, "fingerprint", fingerprint))
        return lines
    return _batch_lines(data, locale)


def _batch_lines(data: BatchTransferData, locale: Locale) -> list[str]:
    babel = BABEL_LOCALES[locale]
    singular, plural = _TRANSFERS[locale]
    count = f"{format_decimal(data.count, locale=babel)} {singular if data.count == 1 else plural}"
    lines = [
        _line(locale, "count", count),
        _line(locale, "total", data.total.format(babel)),
        _line(locale, "debtor", mask_iban(data.debtor_iban)),
    ]
    day = data.execution_day
    if day is not None:
        lines.append(_line(locale, "execution_date", format_date(day, "full", locale=babel)))
    if data.category_purpose is not None:
        lines.append(
            _line(locale, "category_purpose", _CATEGORY_PURPOSES[locale][data.category_purpose])
        )
    if data.batch_reference is not None:
        lines.append(_line(locale, "reference", data.batch_reference))
    return lines


def _context_lines(context: RequestContext, locale: Locale) -> list[str]:
    lines = []
    if context.user_agent is not None:
        lines.append(_line(locale, "device", describe_user_agent(context.user_agent, locale)))
    if context.ip is not None:
        lines.append(_line(locale, "ip", context.ip))
    if context.location is not None:
        lines.append(_line(locale, "location", context.location))
    if context.channel is not None:
        lines.append(_line(locale, "channel", _CHANNELS[locale][context.channel]))
    return lines


def render_lines(
    type: OperationType, data: OperationData, context: RequestContext, locale: str
) -> tuple[str, ...]:
    """Render the exact lines the customer reads for an operation, in ``locale``.

    The first line names the operation (``"Virement"``); then come its data (amount, payee,
    masked IBAN…) and, when the context gives them, the requesting device, IP address, place and
    channel. For example, a transfer in French::

        ("Virement", "Montant : 1 234,56 €", "Bénéficiaire : Jean Dupont",
         "IBAN : FR76 •••• •••• 0189", "Depuis : Firefox sur Windows")
    """
    checked = _check_locale(locale)
    if not isinstance(type, OperationType):
        raise InvalidOperation("type: must be an OperationType")
    expected = DATA_TYPES[type]
    if not isinstance(data, expected):
        raise InvalidOperation(
            f"data: a {type.value} operation needs {expected.__name__},"
            f" not {data.__class__.__name__}"
        )
    lines = [_TITLES[checked][type], *_data_lines(data, checked), *_context_lines(context, checked)]
    return tuple(lines)


def signatures_needed(n: int, locale: str) -> str:
    """Say how many signatures an operation needs: ``"Cette opération nécessite 2 signatures"``."""
    words = _SIGNATURES[_check_locale(locale)]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidOperation("signatures: must be a positive integer")
    return words["needed_one"] if n == 1 else words["needed"].format(n=n)


def signatures_collected(collected: int, needed: int, locale: str) -> str:
    """Say how many of the needed signatures are in: ``"Signatures recueillies : 1 sur 2"``."""
    checked = _check_locale(locale)
    for value in (collected, needed):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidOperation("signatures: counts must be non-negative integers")
    babel = BABEL_LOCALES[checked]
    return _SIGNATURES[checked]["collected"].format(
        k=format_decimal(collected, locale=babel), n=format_decimal(needed, locale=babel)
    )


def render_rule_lines(needed: int, required_names: Sequence[str], locale: str) -> tuple[str, ...]:
    """The display lines of an approval rule, for the server to append to the operation's.

    ``needed`` is the number of distinct signatures the rule asks for, ``required_names`` the
    display names of the members who must sign (each free text, checked as such), in the order
    to show them. For example, in French::

        ("Cette opération nécessite 2 signatures", "Signature obligatoire de : Claire Martin")
    """
    checked = _check_locale(locale)
    lines = [signatures_needed(needed, checked)]
    if required_names:
        names = [
            check_text(name, field=f"required_names[{index}]")
            for index, name in enumerate(required_names)
        ]
        line = _SIGNATURES[checked]["required"].format(names=", ".join(names))
        lines.append(check_text(line, field="required line", max_length=MAX_DISPLAY_LINE_LENGTH))
    return tuple(lines)
