# SPDX-License-Identifier: Apache-2.0
"""Ma Banque's back-end: customers, accounts, payees, documents, orders, and what it asked Sceau.

The bank keeps its own state in ``bank.json`` (a demo: one JSON file, written atomically under a
lock). Passwords are stored as scrypt hashes. Every sensitive action is an operation the bank
asks Sceau to validate (:meth:`Bank.ask`); the bank records what it asked and the operation's
digest, and acts only in :meth:`Bank.settle`, once Sceau's result JWS has verified with the
published JWKS and says ``approved`` — exactly once, whoever (a page, an event stream) settles
it first.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

import httpx

from sceau_core.errors import SceauError
from sceau_core.money import Amount, parse_iban
from sceau_core.operations import check_text
from sceau_server.demo import runner
from sceau_server.demo.config import write_private_json
from sceau_server.demo.sceau_api import SceauApi, SceauProblem, UnverifiedResult
from sceau_server.services.verifier import PasswordCheck, PasswordRejected, VerifierUnavailable

__all__ = [
    "CUSTOMER_ID",
    "DOCUMENTS",
    "FINAL",
    "OPERATOR_ID",
    "PRODUCTS",
    "Bank",
    "BankError",
    "BankPasswordVerifier",
    "Document",
    "Product",
    "parse_amount",
]

CUSTOMER_ID: Final = runner.CUSTOMER_ID
OPERATOR_ID: Final = runner.OPERATOR_ID
CUSTOMER_PHONE: Final = "+33612345678"
OPERATOR_PHONE: Final = "+33698765432"

_log = logging.getLogger(__name__)

FINAL: Final = ("approved", "rejected", "not_me", "expired", "cancelled")
MAX_TRANSFER: Final = Decimal("100000.00")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


@dataclass(frozen=True)
class Document:
    """A document the customer can sign electronically."""

    id: str
    title: str
    title_en: str
    pages: int
    body: tuple[str, ...]

    @property
    def sha256(self) -> str:
        """The SHA-256 (lower-case hex) of the document's text, as Sceau signs it."""
        return hashlib.sha256("\n\n".join(self.body).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Product:
    """An item the demo merchant sells."""

    id: str
    name: str
    name_en: str
    price: str


DOCUMENTS: Final = (
    Document(
        id="avenant-pret-2026",
        title="Avenant n° 2 au contrat de prêt immobilier",
        title_en="Amendment no. 2 to the mortgage agreement",
        pages=3,
        body=(
            "Entre Ma Banque, société anonyme au capital de 1 000 000 €, et Madame Marie Dupont, "
            "ci-après « l’emprunteuse ».",
            "Article 1 — Le taux nominal annuel du prêt n° 2026-0042 est ramené de 3,90 % à "
            "3,40 % à compter de la prochaine échéance.",
            "Article 2 — La durée restante et le montant des échéances sont recalculés ; le "
            "nouveau tableau d’amortissement est annexé au présent avenant.",
            "Article 3 — Les autres clauses du contrat restent inchangées.",
        ),
    ),
)

PRODUCTS: Final = (
    Product("petit-prince", "Le Petit Prince, édition illustrée", "The Little Prince", "14.90"),
    Product("carnet", "Carnet de voyage en cuir", "Leather travel notebook", "34.00"),
    Product("stylo", "Stylo plume « Sceau »", "“Sceau” fountain pen", "59.00"),
)
MERCHANT_NAME: Final = "Librairie des Quais"
MERCHANT_URL: Final = "https://librairie-des-quais.example/"
CARD_NUMBER: Final = "4970101234564242"


class BankError(Exception):
    """A refusal the customer reads: French and English sentences."""

    def __init__(self, fr: str, en: str) -> None:
        super().__init__(fr)
        self.fr = fr
        self.en = en

    def message(self, lang: str) -> str:
        """The sentence in ``lang``."""
        return self.en if lang == "en" else self.fr


def hash_password(password: str) -> str:
    """``scrypt$<salt>$<hash>`` (base64) of ``password``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)
    return "scrypt$" + "$".join(base64.b64encode(part).decode() for part in (salt, digest))


def check_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches the stored scrypt hash (constant-time comparison)."""
    try:
        scheme, salt_text, digest_text = stored.split("$")
        salt, digest = base64.b64decode(salt_text), base64.b64decode(digest_text)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)
    return hmac.compare_digest(candidate, digest)


def parse_amount(text: str) -> Amount:
    """Parse an amount typed by a customer (``150``, ``150,5``, ``1 234,56``) as euros."""
    cleaned = text.replace("\u202f", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    cleaned = cleaned.removesuffix("€")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as error:
        raise BankError(
            "Montant invalide : saisissez par exemple 150,00.",
            "Invalid amount: type for example 150.00.",
        ) from error
    if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")):
        raise BankError(
            "Montant invalide : un montant positif, au centime près.",
            "Invalid amount: a positive amount, to the cent.",
        )
    if value > MAX_TRANSFER:
        raise BankError(
            "Montant trop élevé pour un virement en ligne (100 000 € au plus).",
            "Amount too high for an online transfer (at most €100,000).",
        )
    return Amount.parse(str(value.quantize(Decimal("0.01"))), "EUR", positive=True)


def _check_iban(text: str) -> str:
    try:
        return parse_iban(text.replace(" ", "").upper())
    except SceauError as error:
        raise BankError(
            "IBAN invalide : vérifiez chaque caractère.", "Invalid IBAN: check each character."
        ) from error


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _check_name(text: str) -> str:
    name = _clean(text)
    try:
        return check_text(name, field="payee_name")
    except SceauError as error:
        raise BankError(
            "Nom invalide (1 à 140 caractères).", "Invalid name (1 to 140 characters)."
        ) from error


def _initial_state(customer_password: str, operator_password: str) -> dict[str, Any]:
    return {
        "v": 1,
        "customers": {
            CUSTOMER_ID: {
                "name": "Marie Dupont",
                "phone": CUSTOMER_PHONE,
                "locale": "fr",
                "password_hash": hash_password(customer_password),
                "account": {
                    "label": "Compte courant",
                    "iban": "FR5430004008230001234567827",
                    "balance": "2450.00",
                },
                "card": {"number": CARD_NUMBER, "last4": CARD_NUMBER[-4:], "label": "Visa"},
                "payees": [
                    {"name": "Jean Dupont", "iban": "FR7630006000011234567890189", "at": 0},
                ],
                "transactions": [
                    {"at": 0, "label": "Salaire novembre", "amount": "2650.00", "operation": None},
                    {"at": 0, "label": "Loyer", "amount": "-820.00", "operation": None},
                ],
                "documents": {},
            }
        },
        "operators": {
            OPERATOR_ID: {
                "name": "Opérateur Ma Banque",
                "phone": OPERATOR_PHONE,
                "password_hash": hash_password(operator_password),
            }
        },
        "operations": {},
        "orders": {},
    }


class Bank:
    """The bank's state and its conversation with Sceau; see the module docstring.

    ``apis`` maps a relying party name (``"bank"``, ``"console"``) to its Sceau client; each
    operation is settled with the client of the relying party that created it.
    """

    def __init__(
        self,
        path: Path,
        apis: Mapping[str, SceauApi],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.apis = dict(apis)
        self._clock = clock
        self._lock = threading.RLock()
        self._state: dict[str, Any] = {}
        self.activations: dict[str, dict[str, Any]] = {}
        """The last activation shown to each customer (code, QR), in memory only."""

    # --- persistence ------------------------------------------------------------------------

    def load_or_create(self, customer_password: str, operator_password: str) -> None:
        """Read ``bank.json``, or create it with the seeded customer and operator."""
        with self._lock:
            if self.path.exists():
                self._state = json.loads(self.path.read_text(encoding="utf-8"))
                return
            self._state = _initial_state(customer_password, operator_password)
            now = self.now()
            for index, row in enumerate(self._state["customers"][CUSTOMER_ID]["transactions"]):
                row["at"] = now - 86_400 * (5 - index)
            self._save()

    def _save(self) -> None:
        write_private_json(self.path, self._state)

    def now(self) -> int:
        """The bank's clock, Unix seconds."""
        return int(self._clock())

    def snapshot(self, key: str, ident: str) -> dict[str, Any]:
        """A copy of one customer (``"customers"``) or operator (``"operators"``)."""
        with self._lock:
            value = self._state[key].get(ident)
            if value is None:
                raise KeyError(ident)
            return copy.deepcopy(value)

    def customer(self, ident: str = CUSTOMER_ID) -> dict[str, Any]:
        """A copy of the customer ``ident``."""
        return self.snapshot("customers", ident)

    def check_login(self, key: str, ident: str, password: str) -> bool:
        """Whether ``ident`` (a customer or an operator) has ``password``."""
        with self._lock:
            person = self._state[key].get(ident)
            stored = None if person is None else person["password_hash"]
        if stored is None:
            # Spend the same time on an unknown identifiant.
            check_password(hash_password("x"), password)
            return False
        return check_password(stored, password)

    def set_locale(self, ident: str, locale: str) -> None:
        """Remember a customer's language, and tell Sceau (the lines the phone shows)."""
        with self._lock:
            person = self._state["customers"].get(ident)
            if person is None or person["locale"] == locale:
                return
            person["locale"] = locale
            self._save()
            name, phone = person["name"], person["phone"]
        self.apis["bank"].put_user(ident, phone=phone, display_name=name, locale=locale)

    # --- Sceau ------------------------------------------------------------------------------

    def devices(self, ident: str, rp: str = "bank") -> list[dict[str, Any]]:
        """The person's devices as Sceau reports them."""
        try:
            user = self.apis[rp].user(ident)
        except SceauProblem as problem:
            if problem.status == 404:
                return []
            raise
        devices: list[dict[str, Any]] = user.get("devices", [])
        return devices

    def active_devices(self, ident: str, rp: str = "bank") -> list[dict[str, Any]]:
        """The person's active devices."""
        return [device for device in self.devices(ident, rp) if device["status"] == "active"]

    def lock_state(self, ident: str, rp: str = "bank") -> dict[str, Any] | None:
        """``{"locked_until", "blocked", "device_name"}`` of a locked active device, or ``None``."""
        now = self.now()
        for device in self.active_devices(ident, rp):
            locked = device.get("locked_until")
            if device.get("blocked") or (isinstance(locked, int) and locked > now):
                return {
                    "locked_until": locked,
                    "blocked": bool(device.get("blocked")),
                    "device_name": device.get("device_name"),
                }
        return None

    def start_activation(self, ident: str) -> dict[str, Any]:
        """Create an activation for the customer; it is shown once on the Sécurité page."""
        activation = self.apis["bank"].create_activation(ident)
        self.activations[ident] = activation
        return activation

    def revoke(self, ident: str, activation_id: str) -> None:
        """Remove one of the customer's devices."""
        self.apis["bank"].revoke(ident, activation_id)

    def ask(
        self,
        *,
        rp: str,
        owner: str,
        kind: str,
        data: dict[str, Any],
        context: dict[str, Any],
        details: dict[str, Any],
        ttl: int | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Ask Sceau to have ``owner`` validate an operation; record it; return the record.

        Raises :class:`BankError` with the customer's words when Sceau refuses (no device, too
        many requests, invalid data).
        """
        body: dict[str, Any] = {"user": owner, "type": kind, "data": data, "context": context}
        if ttl is not None:
            body["ttl"] = ttl
        try:
            view = self.apis[rp].create_operation(body, idempotency_key=idempotency_key)
        except SceauProblem as problem:
            raise _refusal(problem) from problem
        if view["operation"]["data"] != data:
            raise BankError(
                "Sceau n’a pas enregistré exactement l’opération demandée : rien n’est fait.",
                "Sceau did not record exactly the requested operation: nothing is done.",
            )
        devices = [
            device.get("device_name") or device["activation_id"]
            for device in self.active_devices(owner, rp)
        ]
        record = {
            "id": view["id"],
            "rp": rp,
            "owner": owner,
            "kind": kind,
            "digest": view["digest"],
            "display": view["operation"]["display"],
            "created_at": view["created_at"],
            "expires_at": view["expires_at"],
            "match": view.get("match"),
            "devices": devices,
            "details": details,
            "status": "pending",
            "verified": None,
            "claims": None,
            "kid": None,
            "result": None,
            "error": None,
            "applied": False,
        }
        with self._lock:
            self._state["operations"][record["id"]] = record
            order = details.get("order")
            if isinstance(order, str) and order in self._state["orders"]:
                self._state["orders"][order]["operation"] = record["id"]
                self._state["orders"][order]["status"] = "challenge"
            self._save()
        return copy.deepcopy(record)

    def record(self, operation_id: str) -> dict[str, Any] | None:
        """A copy of what the bank recorded about an operation it asked for."""
        with self._lock:
            value = self._state["operations"].get(operation_id)
            return None if value is None else copy.deepcopy(value)

    def cancel(self, operation_id: str) -> dict[str, Any] | None:
        """Cancel a pending operation (the customer gave up), then settle it."""
        record = self.record(operation_id)
        if record is None:
            return None
        if record["status"] == "pending":
            try:
                self.apis[record["rp"]].cancel(operation_id)
            except SceauProblem as problem:
                if problem.status != 409:
                    raise
        return self.settle(operation_id)

    def settle(self, operation_id: str, view: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Read the operation's state from Sceau; once final, verify its result and act once.

        ``view`` is a state already read (by the event stream). Returns the updated record.
        """
        record = self.record(operation_id)
        if record is None:
            raise KeyError(operation_id)
        if record["status"] != "pending":
            return record
        api = self.apis[record["rp"]]
        current = dict(view) if view is not None else api.operation(operation_id)
        if current["status"] not in FINAL:
            return record
        with self._lock:
            stored = self._state["operations"][operation_id]
            if stored["status"] != "pending":
                return copy.deepcopy(stored)
            try:
                verified = api.verified_result(current, expected_digest=stored["digest"])
            except UnverifiedResult as error:
                stored.update(status="unverified", verified=False, error=str(error))
                self._save()
                return copy.deepcopy(stored)
            claims = verified.claims.to_json()
            stored.update(
                status=claims["status"],
                verified=True,
                claims=claims,
                kid=verified.kid,
                result=verified.token,
            )
            self._apply(stored)
            self._save()
            return copy.deepcopy(stored)

    # --- effects of approved operations -------------------------------------------------------

    def _apply(self, record: dict[str, Any]) -> None:
        details = record["details"]
        status = record["status"]
        order_id = details.get("order")
        if isinstance(order_id, str) and order_id in self._state["orders"]:
            order = self._state["orders"][order_id]
            order["status"] = "paid" if status == "approved" else "refused"
            order["result"] = status
        if status != "approved" or record["applied"]:
            return
        record["applied"] = True
        now = self.now()
        customer = self._state["customers"].get(record["owner"])
        kind = record["kind"]
        if customer is None:
            return
        if kind in ("transfer", "card_payment"):
            amount = Decimal(details["amount"])
            account = customer["account"]
            account["balance"] = str(Decimal(account["balance"]) - amount)
            label = (
                f"Virement vers {details['payee_name']}"
                if kind == "transfer"
                else f"Paiement carte — {MERCHANT_NAME}"
            )
            customer["transactions"].insert(
                0,
                {"at": now, "label": label, "amount": str(-amount), "operation": record["id"]},
            )
        elif kind == "add_payee":
            if not any(p["iban"] == details["payee_iban"] for p in customer["payees"]):
                customer["payees"].append(
                    {"name": details["payee_name"], "iban": details["payee_iban"], "at": now}
                )
        elif kind == "e_signature":
            customer["documents"][details["document"]] = {
                "signed_at": now,
                "operation": record["id"],
            }

    # --- forms -> operations ----------------------------------------------------------------

    def transfer(
        self,
        owner: str,
        *,
        payee_index: str,
        amount_text: str,
        reference: str,
        context: dict[str, Any],
        ttl: int | None,
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        """Ask for a transfer to one of the customer's payees."""
        customer = self.customer(owner)
        try:
            payee = customer["payees"][int(payee_index)]
        except (ValueError, IndexError) as error:
            raise BankError("Choisissez un bénéficiaire.", "Choose a payee.") from error
        amount = parse_amount(amount_text)
        if amount.value > Decimal(customer["account"]["balance"]):
            raise BankError(
                "Solde insuffisant pour ce virement.", "Insufficient balance for this transfer."
            )
        data: dict[str, Any] = {
            "amount": amount.to_json(),
            "payee_name": payee["name"],
            "payee_iban": payee["iban"],
            "debtor_iban": customer["account"]["iban"],
        }
        reference = _clean(reference)
        if reference:
            try:
                data["reference"] = check_text(reference, field="reference")
            except SceauError as error:
                raise BankError(
                    "Référence invalide (140 caractères au plus).",
                    "Invalid reference (at most 140 characters).",
                ) from error
        return self.ask(
            rp="bank",
            owner=owner,
            kind="transfer",
            data=data,
            context=context,
            ttl=ttl,
            idempotency_key=idempotency_key,
            details={
                "amount": str(amount),
                "payee_name": payee["name"],
                "payee_iban": payee["iban"],
                "reference": data.get("reference"),
            },
        )

    def add_payee(
        self,
        owner: str,
        *,
        name: str,
        iban: str,
        context: dict[str, Any],
        ttl: int | None,
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        """Ask to add a payee."""
        payee_name, payee_iban = _check_name(name), _check_iban(iban)
        if any(p["iban"] == payee_iban for p in self.customer(owner)["payees"]):
            raise BankError(
                "Ce bénéficiaire est déjà enregistré.", "This payee is already registered."
            )
        return self.ask(
            rp="bank",
            owner=owner,
            kind="add_payee",
            data={"payee_name": payee_name, "payee_iban": payee_iban},
            context=context,
            ttl=ttl,
            idempotency_key=idempotency_key,
            details={"payee_name": payee_name, "payee_iban": payee_iban},
        )

    def sign_document(
        self,
        owner: str,
        document: Document,
        *,
        context: dict[str, Any],
        ttl: int | None,
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        """Ask to sign ``document`` electronically."""
        title = document.title if self.customer(owner)["locale"] != "en" else document.title_en
        return self.ask(
            rp="bank",
            owner=owner,
            kind="e_signature",
            data={
                "document_title": title,
                "document_sha256": document.sha256,
                "document_pages": document.pages,
            },
            context=context,
            ttl=ttl,
            idempotency_key=idempotency_key,
            details={"document": document.id, "title": title},
        )

    def login(
        self,
        owner: str,
        *,
        rp: str,
        context: dict[str, Any],
        ttl: int | None,
        same_browser: Collection[str],
    ) -> dict[str, Any]:
        """Ask to approve a login (number matching: the record holds the number to show).

        A login asked again from the same browser replaces the earlier ones that browser asked
        for (``same_browser``: the operations its session asked for) still pending: they are
        cancelled on Sceau, so that the phone shows only the last one. A login asked from
        another browser cancels nothing: whoever has the password must not be able to cancel
        the customer's own login again and again.
        """
        record = self.ask(
            rp=rp,
            owner=owner,
            kind="login",
            data={},
            context=context,
            ttl=ttl,
            details={},
        )
        with self._lock:
            # Only those recorded before this one: two logins sent at once (a double click)
            # must not cancel each other.
            recorded = list(self._state["operations"].values())
            before = recorded[: next(i for i, o in enumerate(recorded) if o["id"] == record["id"])]
            earlier = [
                other["id"]
                for other in before
                if other["kind"] == "login"
                and other["id"] in same_browser
                and other["owner"] == owner
                and other["rp"] == rp
                and other["status"] == "pending"
            ]
            for operation_id in earlier:
                self._state["operations"][operation_id]["replaced"] = True
        for operation_id in earlier:
            try:
                self.cancel(operation_id)
            except (SceauProblem, httpx.HTTPError):
                # It then expires on its own; the new login must not fail for it.
                _log.warning("could not cancel the earlier login %s", operation_id, exc_info=True)
        return record

    # --- the merchant and the card payment (3-D Secure style) --------------------------------

    def new_order(self, product_id: str, browser: str) -> dict[str, Any]:
        """A merchant order for one product, owned by the browser token ``browser``."""
        product = next((p for p in PRODUCTS if p.id == product_id), None)
        if product is None:
            raise BankError("Article inconnu.", "Unknown item.")
        order = {
            "id": "cmd_" + secrets.token_urlsafe(9),
            "product": product.id,
            "amount": product.price,
            "status": "new",
            "operation": None,
            "result": None,
            "browser": browser,
            "created_at": self.now(),
        }
        with self._lock:
            self._state["orders"][order["id"]] = order
            self._save()
        return copy.deepcopy(order)

    def order(self, order_id: str) -> dict[str, Any] | None:
        """A copy of a merchant order."""
        with self._lock:
            value = self._state["orders"].get(order_id)
            return None if value is None else copy.deepcopy(value)

    def card_payment(
        self,
        order_id: str,
        card_number: str,
        *,
        context: dict[str, Any],
        ttl: int | None,
    ) -> dict[str, Any]:
        """The issuer's ACS: find the card's holder and ask them to validate the payment."""
        order = self.order(order_id)
        if order is None or order["status"] not in ("new", "refused"):
            raise BankError("Commande introuvable ou déjà payée.", "Order unknown or already paid.")
        digits = "".join(ch for ch in card_number if ch.isdigit())
        with self._lock:
            owner = next(
                (
                    ident
                    for ident, person in self._state["customers"].items()
                    if hmac.compare_digest(person["card"]["number"], digits)
                ),
                None,
            )
        if owner is None:
            raise BankError(
                "Carte refusée : ce numéro n’est pas une carte de Ma Banque.",
                "Card declined: this number is not a Ma Banque card.",
            )
        product = next(p for p in PRODUCTS if p.id == order["product"])
        return self.ask(
            rp="bank",
            owner=owner,
            kind="card_payment",
            data={
                "acs_transaction_id": str(uuid.uuid4()),
                "merchant_name": MERCHANT_NAME,
                "merchant_url": MERCHANT_URL,
                "amount": {"value": product.price, "currency": "EUR"},
                "card_last4": digits[-4:],
            },
            context=context,
            ttl=ttl,
            idempotency_key=None,
            details={"order": order_id, "amount": product.price, "product": product.id},
        )


class BankPasswordVerifier:
    """The bank's online-banking password check that Sceau calls for an SMS code reset.

    This is the demo's own :class:`~sceau_server.services.verifier.PasswordVerifier`: Sceau
    hands it the password the customer typed in the app, once; it answers from the bank's
    scrypt hashes. It is plugged in before the bank's state is loaded (``bank`` is set then).
    """

    configured = True

    def __init__(self) -> None:
        self.bank: Bank | None = None

    def verify(self, check: PasswordCheck) -> None:
        """Return when the password is the customer's; raise otherwise."""
        if self.bank is None:
            raise VerifierUnavailable("the demo bank is not loaded yet")
        if not self.bank.check_login("customers", check.user, check.password):
            raise PasswordRejected("wrong online-banking password")


def _refusal(problem: SceauProblem) -> BankError:
    if problem.slug == "conflict":
        return BankError(
            "Aucun appareil Sceau actif : activez Sceau dans l’espace Sécurité d’abord.",
            "No active Sceau device: activate Sceau in the Security page first.",
        )
    if problem.slug == "rate-limited":
        return BankError(
            "Trop de demandes de validation en une minute : réessayez dans un instant.",
            "Too many validation requests in a minute: try again in a moment.",
        )
    if problem.slug in ("invalid-operation", "invalid-request"):
        return BankError(
            f"Opération refusée par Sceau : {problem.detail}",
            f"Operation refused by Sceau: {problem.detail}",
        )
    return BankError(
        f"Sceau est indisponible ({problem.status}) : réessayez.",
        f"Sceau is unavailable ({problem.status}): try again.",
    )
