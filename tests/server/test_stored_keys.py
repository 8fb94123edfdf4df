# SPDX-License-Identifier: Apache-2.0
"""The server stores only public keys (brief P1): after a whole activation with biometrics and an
approval with the code, no row of any table holds a private key of the device, of the code
(knowledge) or of biometrics, in any encoding, while each of their public keys is there."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import inspect, text

from sceau_core.encoding import b64url_encode
from sceau_core.keys import encode_public_key, generate_private_key
from tests.server.conftest import RelyingPartyClient, ServerHandle


def _encodings(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    scalar = key.private_numbers().private_value
    raw = scalar.to_bytes(32, "big")
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {
        "hex": raw.hex(),
        "base64url": b64url_encode(raw),
        "base64": base64.b64encode(raw).decode().rstrip("="),
        "decimal": str(scalar),
        "pkcs8": base64.b64encode(der).decode(),
    }


def _every_stored_value(server: ServerHandle) -> str:
    """Every value of every table as text, binary values in hex and base64url too."""
    parts: list[str] = []
    with server.ctx.db.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        data = bytes(value)
                        parts += [data.hex(), b64url_encode(data), data.decode("latin-1")]
                    else:
                        parts.append(str(value))
    return "\n".join(parts)


def _database_files(server: ServerHandle) -> bytes:
    """The SQLite file and its write-ahead log as bytes (nothing on PostgreSQL)."""
    url = server.settings.database_url
    if not url.startswith("sqlite:///"):
        return b""
    path = Path(url.removeprefix("sqlite:///"))
    return b"".join(
        candidate.read_bytes()
        for candidate in (path, path.with_name(path.name + "-wal"))
        if candidate.exists()
    )


def test_the_database_holds_the_public_keys_and_no_private_one(
    server: ServerHandle, bank: RelyingPartyClient
) -> None:
    phone = "+33655500011"
    bank.put_user("pauline", phone=phone)
    activation = bank.create_activation("pauline")
    device = server.device()
    device.inherence_key = generate_private_key(os.urandom)
    device.activate(activation["code"], sms_code=server.sms_code(phone), pin="4826")
    created = bank.http.post(
        "/v1/operations",
        json={
            "user": "pauline",
            "type": "transfer",
            "data": {
                "amount": {"value": "250.00", "currency": "EUR"},
                "payee_name": "Jean Dupont",
                "payee_iban": "FR7630006000011234567890189",
            },
        },
    )
    assert created.status_code == 201, created.text
    operation_id = created.json()["id"]
    operation = device.operation(operation_id)
    answer, knowledge_key = device.evaluate(operation_id, "4826")
    assert knowledge_key is not None, answer.text
    signed = device.sign(operation, knowledge_key=knowledge_key, counter=device.next_counter())
    assert device.send(device.decision_call(operation_id, signed)).status_code == 200
    assert bank.operation(operation_id)["status"] == "approved"

    stored = _every_stored_value(server)
    files = _database_files(server)
    keys = {
        "device": device.device_key,
        "knowledge": knowledge_key,
        "biometric": device.inherence_key,
    }
    for name, key in keys.items():
        assert encode_public_key(key.public_key()) in stored, f"the {name} public key is stored"
        for form, encoded in _encodings(key).items():
            assert encoded not in stored, f"the {name} private key is stored ({form})"
        scalar = key.private_numbers().private_value.to_bytes(32, "big")
        assert scalar not in files, f"the {name} private key is in the database file"
    assert device.device_secret.hex() not in stored
    assert device.device_secret not in files
