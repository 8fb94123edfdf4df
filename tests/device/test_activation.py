# SPDX-License-Identifier: Apache-2.0
"""Activation: typo detection before the network, the server-key pin (P4, K6), SMS and code."""

from __future__ import annotations

import pytest

from sceau_core.activation import ActivationCode
from sceau_core.hazmat import oprf
from sceau_core.keys import encode_public_key, generate_private_key, key_fingerprint
from sceau_device.activation import ActivationSession
from sceau_device.errors import (
    AuthenticationRefused,
    ExitCode,
    InputError,
    InsecureServer,
    ServerKeyMismatch,
    SubstitutedEvaluation,
)
from sceau_device.keystore import Keystore
from tests.device.conftest import CODE
from tests.device.fake_server import FakeServer


def _typo(text: str) -> str:
    """The code with its first data symbol changed."""
    replacement = "7" if text[0] != "7" else "8"
    return replacement + text[1:]


def test_activation_by_qr_code_pins_the_server(server: FakeServer, keystore: Keystore) -> None:
    session = ActivationSession.start(keystore, server.qr_uri(), transport=server.transport)
    assert session.server_key_fingerprint == server.binding().server_key_fingerprint
    session.register("Ordinateur de test", server.sms_code)
    device = session.choose_code(CODE)
    profile = device.profile
    assert profile.state == "active"
    assert profile.server_public_key == server.binding().server_public_key
    assert profile.oprf_public_key == server.binding().oprf_public_key
    assert profile.activation_id == server.activation_id
    assert server.status == "active"
    assert server.knowledge_key is not None
    # register (1), OPRF (2), commit (3): each counter persisted, strictly increasing.
    assert [entry.counter for entry in server.log if entry.counter] == [1, 2, 3]
    assert keystore.get(profile.name).counter == 3


def test_activation_by_typed_code_needs_the_server_address(
    server: FakeServer, keystore: Keystore
) -> None:
    with pytest.raises(InputError):
        ActivationSession.start(keystore, server.code.text, transport=server.transport)
    assert server.log == []
    session = ActivationSession.start(
        keystore,
        server.code.text.lower().replace("-", " "),
        server_url=server.url + "/",
        transport=server.transport,
    )
    session.register("Ordinateur de test", server.sms_code)
    assert session.choose_code(CODE).profile.server_url == server.url


def test_a_typo_is_detected_before_any_network_call(server: FakeServer, keystore: Keystore) -> None:
    with pytest.raises(InputError) as caught:
        ActivationSession.start(
            keystore, _typo(server.code.text), server_url=server.url, transport=server.transport
        )
    assert "faute de frappe" in caught.value.message("fr")
    assert caught.value.exit_code is ExitCode.USAGE
    qr = server.qr_uri().replace(
        server.code.text.replace("-", ""), _typo(server.code.text).replace("-", "")
    )
    with pytest.raises(InputError):
        ActivationSession.start(keystore, qr, transport=server.transport)
    assert server.log == []
    assert not keystore.exists


def test_plain_http_off_loopback_is_refused_before_any_network_call(
    server: FakeServer, keystore: Keystore
) -> None:
    with pytest.raises(InsecureServer) as caught:
        ActivationSession.start(
            keystore,
            server.code.text,
            server_url="http://sceau.ma-banque.fr",
            transport=server.transport,
        )
    assert "HTTPS" in caught.value.message("fr")
    qr = server.qr_uri().replace("https%3A%2F%2Fsceau.test", "http%3A%2F%2Fsceau.ma-banque.fr")
    with pytest.raises(InsecureServer):
        ActivationSession.start(keystore, qr, transport=server.transport)
    assert server.log == []


def test_a_binding_not_authenticated_by_the_code_is_refused(
    server: FakeServer, keystore: Keystore
) -> None:
    # Someone without the customer's code offers another key: the tag they can compute is keyed
    # by a code of their own, so it does not verify with the customer's (typed path: no
    # fingerprint to compare, the tag alone must catch it).
    impostor = generate_private_key(server.rng)
    server.binding_override = {
        **server.binding().to_json(),
        "server_public_key": encode_public_key(impostor.public_key()),
    }
    server.tag_code = ActivationCode.generate(server.rng)
    with pytest.raises(ServerKeyMismatch) as caught:
        ActivationSession.start(
            keystore, server.code.text, server_url=server.url, transport=server.transport
        )
    assert caught.value.exit_code is ExitCode.SECURITY
    assert "binding tag" in (caught.value.detail or "")
    assert not keystore.exists


def test_a_server_key_other_than_the_qr_code_fingerprint_is_refused(
    server: FakeServer, keystore: Keystore
) -> None:
    # The QR code announces another key than the one the server binds.
    other = generate_private_key(server.rng)
    qr = server.qr_uri().replace(
        server.binding().server_key_fingerprint,
        key_fingerprint(other.public_key()),
    )
    with pytest.raises(ServerKeyMismatch) as caught:
        ActivationSession.start(keystore, qr, transport=server.transport)
    assert "QR code" in (caught.value.detail or "")
    assert not keystore.exists


def test_a_server_address_other_than_the_qr_code_is_refused(
    server: FakeServer, keystore: Keystore
) -> None:
    server.binding_override = {**server.binding().to_json(), "server_url": "https://autre.test"}
    with pytest.raises(ServerKeyMismatch):
        ActivationSession.start(keystore, server.qr_uri(), transport=server.transport)


def test_an_unknown_code_says_so(server: FakeServer, keystore: Keystore) -> None:
    other = ActivationCode.generate(server.rng)
    with pytest.raises(InputError) as caught:
        ActivationSession.start(
            keystore, other.text, server_url=server.url, transport=server.transport
        )
    assert "inconnu" in caught.value.message("fr")


def test_a_wrong_sms_code_can_be_typed_again(server: FakeServer, keystore: Keystore) -> None:
    session = ActivationSession.start(keystore, server.qr_uri(), transport=server.transport)
    with pytest.raises(AuthenticationRefused) as caught:
        session.register("Ordinateur", "000000")
    assert caught.value.attempts_left == 2
    assert caught.value.message("fr") == "Authentification refusée. Il vous reste 2 essais."
    session.register("Ordinateur", server.sms_code)
    session.choose_code(CODE)
    assert server.status == "active"


def test_a_trivial_code_is_refused_with_its_reason_before_anything_is_sent(
    server: FakeServer, keystore: Keystore
) -> None:
    session = ActivationSession.start(keystore, server.qr_uri(), transport=server.transport)
    session.register("Ordinateur", server.sms_code)
    sent = len(server.log)
    for weak, reason in (("1234", "suite"), ("0000", "même chiffre"), ("2580", "ligne")):
        with pytest.raises(InputError) as caught:
            session.choose_code(weak)
        assert reason in caught.value.message("fr")
    with pytest.raises(InputError):
        session.choose_code("12a4")
    assert len(server.log) == sent


def test_a_substituted_evaluation_at_activation_commits_nothing(
    server: FakeServer, keystore: Keystore
) -> None:
    session = ActivationSession.start(keystore, server.qr_uri(), transport=server.transport)
    session.register("Ordinateur", server.sms_code)
    server.substitute_oprf_key = oprf.generate_key_pair(server.rng)[0]
    with pytest.raises(SubstitutedEvaluation):
        session.choose_code(CODE)
    assert server.requests_to("/commit") == []
    assert server.knowledge_key is None
    session.abandon()
    assert keystore.profiles() == []
