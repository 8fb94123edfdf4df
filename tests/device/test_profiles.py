# SPDX-License-Identifier: Apache-2.0
"""Several profiles in one keystore: one per bank, each with its own keys, pin and counter."""

from __future__ import annotations

import pytest

from sceau_device.activation import ActivationSession
from sceau_device.authenticator import Authenticator
from sceau_device.errors import ExitCode, KeystoreError, ProfileNotFound, TamperedOperation
from sceau_device.keystore import Keystore
from tests.device.conftest import CODE
from tests.device.fake_server import FakeServer

SECOND_CODE = "5193"


def _activate(server: FakeServer, keystore: Keystore, name: str, code: str) -> Authenticator:
    session = ActivationSession.start(keystore, server.qr_uri(), transport=server.transport)
    session.register(name, server.sms_code)
    return session.choose_code(code)


def test_two_banks_in_one_keystore(keystore: Keystore) -> None:
    first = FakeServer(url="https://sceau.banque-a.test", activation_id="act_a")
    second = FakeServer(url="https://sceau.banque-b.test", activation_id="act_b")
    _activate(first, keystore, "Ordinateur (banque A)", CODE).close()
    _activate(second, keystore, "Ordinateur (banque B)", SECOND_CODE).close()
    profiles = {p.name: p for p in keystore.profiles()}
    assert sorted(profiles) == ["sceau.banque-a.test", "sceau.banque-b.test"]
    a, b = profiles["sceau.banque-a.test"], profiles["sceau.banque-b.test"]
    assert (a.server_url, a.activation_id, a.state) == (first.url, "act_a", "active")
    assert (b.server_url, b.activation_id, b.state) == (second.url, "act_b", "active")
    assert a.server_public_key == first.binding().server_public_key
    assert b.server_public_key == second.binding().server_public_key
    assert keystore.default_name() == a.name  # the first active profile
    assert keystore.secrets(a.name).device_secret != keystore.secrets(b.name).device_secret
    assert first.device_key != second.device_key

    # Each profile approves its own bank's operation with its own code and counter.
    counter_a = keystore.get(a.name).counter
    with Authenticator(keystore, b.name, transport=second.transport) as bank_b:
        operation = bank_b.operation(second.add_operation().id)
        assert bank_b.approve_with_code(operation, SECOND_CODE).status == "approved"
    assert second.final[operation.id] == "approved"
    assert keystore.get(a.name).counter == counter_a  # the other profile's counter is untouched
    with Authenticator(keystore, transport=first.transport) as default:
        assert default.profile.name == a.name
        operation = default.operation(first.add_operation().id)
        assert default.approve_with_code(operation, CODE).status == "approved"

    # Bank B's operations are not signed with bank A's pinned key.
    foreign = second.add_operation()
    first.operations[foreign.id] = foreign
    first.operation_key = second.signing_key
    with (
        Authenticator(keystore, a.name, transport=first.transport) as confused,
        pytest.raises(TamperedOperation),
    ):
        confused.operation(foreign.id)

    # Removing one device leaves the other bank's profile whole, and it becomes the default.
    with Authenticator(keystore, a.name, transport=first.transport) as leaving:
        assert leaving.remove().server_confirmed
    assert [p.name for p in keystore.profiles()] == [b.name]
    assert keystore.default_name() == b.name
    with Authenticator(keystore, transport=second.transport) as remaining:
        assert remaining.status().status == "active"


def test_an_unknown_profile_name_lists_the_existing_ones(
    keystore: Keystore,
) -> None:
    first = FakeServer(url="https://sceau.banque-a.test")
    second = FakeServer(url="https://sceau.banque-b.test")
    _activate(first, keystore, "A", CODE).close()
    _activate(second, keystore, "B", CODE).close()
    with pytest.raises(ProfileNotFound) as caught:
        keystore.get("sceau.banque-c.test")
    assert caught.value.exit_code is ExitCode.KEYSTORE
    message = caught.value.message("fr")
    assert "sceau.banque-a.test" in message
    assert "sceau.banque-b.test" in message


def test_a_second_activation_with_the_same_bank_does_not_overwrite_the_first(
    keystore: Keystore,
) -> None:
    server = FakeServer(url="https://sceau.banque-a.test")
    device = _activate(server, keystore, "Ordinateur", CODE)
    before = keystore.path.read_bytes()
    again = FakeServer(url="https://sceau.banque-a.test", activation_id="act_other")
    session = ActivationSession.start(keystore, again.qr_uri(), transport=again.transport)
    with pytest.raises(KeystoreError) as caught:
        session.register("Autre", again.sms_code)
    assert "--profile" in caught.value.message("fr")
    assert keystore.path.read_bytes() == before
    assert device.status().status == "active"
    device.close()
