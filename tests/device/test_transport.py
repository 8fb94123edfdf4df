# SPDX-License-Identifier: Apache-2.0
"""The HTTP layer: loopback-only http, lost connections, problems mapped to typed errors."""

from __future__ import annotations

import httpx
import pytest

from sceau_core.operations import OperationType
from sceau_device.authenticator import Authenticator
from sceau_device.errors import (
    AuthenticationRefused,
    ExitCode,
    InsecureServer,
    Locked,
    NetworkError,
    OperationUnavailable,
    ServerFailure,
)
from sceau_device.keystore import Keystore
from sceau_device.transport import DeviceClient, check_server_url, is_loopback
from tests.device.conftest import CODE
from tests.device.fake_server import FakeServer, problem


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://127.8.9.10",
        "http://[::1]:8443/",
        "http://localhost:8000",
        "https://sceau.ma-banque.fr",
        "https://203.0.113.7:8443",
    ],
)
def test_https_everywhere_and_http_on_loopback_only_are_accepted(url: str) -> None:
    assert check_server_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://sceau.ma-banque.fr",
        "http://203.0.113.7:8000",
        "http://[2001:db8::1]/",
        "http://127.0.0.1.nip.io",
        "http://localhost.ma-banque.fr",
    ],
)
def test_plain_http_off_loopback_is_refused(url: str) -> None:
    with pytest.raises(InsecureServer) as caught:
        DeviceClient(url)
    assert caught.value.exit_code is ExitCode.USAGE
    assert not is_loopback(url.split("//")[1].split("/")[0].rsplit(":", 1)[0])


def test_a_profile_pinned_to_plain_http_off_loopback_is_refused(
    device: Authenticator, keystore: Keystore
) -> None:
    import json

    data = json.loads(keystore.path.read_text())
    data["profiles"][device.profile.name]["server_url"] = "http://sceau.ma-banque.fr"
    keystore.path.write_text(json.dumps(data))
    with pytest.raises(InsecureServer):
        Authenticator(keystore)


def test_a_connection_lost_before_the_server_read_the_request(
    server: FakeServer, device: Authenticator, keystore: Keystore
) -> None:
    operation = device.operation(server.add_operation().id)

    def drop(request: httpx.Request) -> None:
        if request.url.path.endswith("/evaluate"):
            server.before.clear()
            raise httpx.ConnectError("connection reset by peer")

    server.before.append(drop)
    with pytest.raises(NetworkError) as caught:
        device.approve_with_code(operation, CODE)
    assert caught.value.exit_code is ExitCode.NETWORK
    assert "injoignable" in caught.value.message("fr")
    lost = server.requests_to("/evaluate")[-1].counter
    assert lost is not None
    assert keystore.get(device.profile.name).counter == lost  # spent, never reused
    assert device.approve_with_code(operation, CODE).status == "approved"
    assert server.requests_to("/evaluate")[-1].counter == lost + 1


def test_a_connection_lost_after_the_server_acted(
    server: FakeServer, device: Authenticator
) -> None:
    operation = device.operation(server.add_operation().id)

    def lose_answer(request: httpx.Request) -> None:
        if request.url.path.endswith("/decision"):
            server.before.clear()
            server.handle(request)  # the server approves, then the answer is lost
            server.log.pop()  # the request was logged once already
            raise httpx.ReadError("connection lost while reading the answer")

    server.before.append(lose_answer)
    with pytest.raises(NetworkError):
        device.approve_with_code(operation, CODE)
    assert server.final[operation.id] == "approved"
    assert server.status == "active"  # no counter was replayed, nothing suspended
    with pytest.raises(OperationUnavailable) as caught:
        device.reject(operation)
    assert "déjà été traitée" in caught.value.message("fr")
    counters = [entry.counter for entry in server.log if entry.counter]
    assert len(set(counters)) == len(counters)


def test_a_timeout_is_a_network_error(server: FakeServer, device: Authenticator) -> None:
    def slow(_request: httpx.Request) -> None:
        raise httpx.ReadTimeout("no answer")

    server.before.append(slow)
    with pytest.raises(NetworkError):
        device.status()


def test_a_server_error_problem(server: FakeServer, device: Authenticator) -> None:
    server.before.append(lambda _request: problem(500, "internal-error"))
    with pytest.raises(ServerFailure) as caught:
        device.pending()
    assert caught.value.exit_code is ExitCode.SERVER
    assert caught.value.status == 500
    assert caught.value.message("fr").startswith("Le serveur de votre banque n’a pas pu")


def test_a_server_error_without_problem_details(server: FakeServer, device: Authenticator) -> None:
    server.before.append(lambda _request: httpx.Response(502, text="<html>Bad gateway</html>"))
    with pytest.raises(ServerFailure) as caught:
        device.status()
    assert caught.value.status == 502
    server.before[:] = [lambda _request: httpx.Response(200, text="not json")]
    with pytest.raises(ServerFailure):
        device.status()


def test_refusals_are_typed_with_their_details(server: FakeServer, device: Authenticator) -> None:
    server.add_operation(OperationType.TRANSFER)
    answers = iter(
        [
            problem(
                401,
                "authentication-failed",
                message_fr="Authentification refusée. Il vous reste 1 essai",
                attempts_left=1,
            ),
            problem(401, "authentication-failed", attempts_left=0, locked_until=1_795_000_000),
            problem(401, "authentication-failed", attempts_left=0, blocked=True),
        ]
    )
    server.before.append(lambda _request: next(answers))
    with pytest.raises(AuthenticationRefused) as refused:
        device.status()
    assert refused.value.message("fr") == "Authentification refusée. Il vous reste 1 essai."
    assert refused.value.message("en") == "Authentication failed. 1 attempt left."
    with pytest.raises(Locked) as locked:
        device.status()
    assert locked.value.locked_until == 1_795_000_000
    assert locked.value.to_json()["locked_until"] == 1_795_000_000
    with pytest.raises(Locked) as blocked:
        device.status()
    assert blocked.value.blocked
    assert "définitivement" in blocked.value.message("fr")
