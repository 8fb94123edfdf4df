# SPDX-License-Identifier: Apache-2.0
"""The demo's first start: two relying parties, the customer, the operator and their phone.

Seeding is idempotent: each step checks what exists, so an interrupted first start finishes on
the next one. The customer's phone is *not* activated: activating it is the first story the
newcomer plays. The operator's phone is: the demo runs the whole activation ceremony with the
device SDK over HTTP, reading the SMS code from the outbox as the phone would receive it, with a
random code that is used once and never kept (the operator approves with the simulated
biometrics), so that the operator can log in to the console at once.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from sceau_device.authenticator import check_new_code
from sceau_device.errors import InputError
from sceau_server.demo import console
from sceau_server.demo.bank import CUSTOMER_ID, CUSTOMER_PHONE, OPERATOR_ID, OPERATOR_PHONE
from sceau_server.demo.config import DemoCredentials, save_credentials
from sceau_server.demo.phone import Phones
from sceau_server.demo.sceau_api import SceauApi
from sceau_server.services.accounts import ALL_SCOPES, create_rp
from sceau_server.services.context import ServerContext

__all__ = ["OPERATOR_DEVICE_NAME", "ensure_api_keys", "seed_people"]

OPERATOR_DEVICE_NAME = "Téléphone de l’opérateur"
_CONSOLE_SCOPES = ("users", "activations", "login", "admin")


def ensure_api_keys(ctx: ServerContext, credentials: DemoCredentials, path: Path) -> None:
    """Create the bank's and the console's relying parties (API keys) if not done yet."""
    if credentials.bank_api_key is None:
        bank = create_rp(ctx, name="Ma Banque", scopes=list(ALL_SCOPES), callback_allow=[])
        credentials.bank_api_key = bank.api_key
        save_credentials(path, credentials)
    if credentials.console_api_key is None:
        back_office = create_rp(
            ctx, name="Back-office de Ma Banque", scopes=list(_CONSOLE_SCOPES), callback_allow=[]
        )
        credentials.console_api_key = back_office.api_key
        save_credentials(path, credentials)


def _random_code() -> str:
    while True:
        code = f"{secrets.randbelow(10_000):04d}"
        try:
            check_new_code(code)
        except InputError:
            continue
        return code


def seed_people(
    ctx: ServerContext,
    credentials: DemoCredentials,
    path: Path,
    *,
    bank_api: SceauApi,
    console_api: SceauApi,
    phones: Phones,
) -> None:
    """Provision the customer and the operator, and activate the operator's phone."""
    if not credentials.seeded:
        bank_api.put_user(
            CUSTOMER_ID, phone=CUSTOMER_PHONE, display_name="Marie Dupont", locale="fr"
        )
        console_api.put_user(
            OPERATOR_ID, phone=OPERATOR_PHONE, display_name="Opérateur Ma Banque", locale="fr"
        )
    operator_phone = phones[OPERATOR_ID]
    if operator_phone.profile() is None:
        activation = console_api.create_activation(OPERATOR_ID)
        sms_code = console.activation_code_sms(ctx, OPERATOR_PHONE)
        if sms_code is None:
            raise RuntimeError("the operator's activation SMS is missing from the outbox")
        operator_phone.start_activation(activation["qr_uri"])
        code = _random_code()
        operator_phone.finish_activation(
            device_name=OPERATOR_DEVICE_NAME,
            sms_code=sms_code,
            code=code,
            confirm=code,
            biometrics=True,
        )
        del code
    if not credentials.seeded:
        credentials.seeded = True
        save_credentials(path, credentials)
