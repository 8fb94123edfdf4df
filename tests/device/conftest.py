# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the device SDK tests: a fake server, a real file keyring, an activated device."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from keyrings.alt.file import PlaintextKeyring

from sceau_device.activation import ActivationSession
from sceau_device.authenticator import Authenticator
from sceau_device.keystore import Keystore
from tests.device.fake_server import FakeServer

CODE = "4826"


def file_keyring(directory: Path) -> PlaintextKeyring:
    """A real keyring backend (keyrings.alt) whose file lives in ``directory``."""
    backend = PlaintextKeyring()
    backend.file_path = str(directory / "keyring_pass.cfg")  # type: ignore[misc]
    return backend


@pytest.fixture
def keyring_backend(tmp_path: Path) -> PlaintextKeyring:
    """This machine's keyring."""
    return file_keyring(tmp_path / "keyring")


@pytest.fixture
def keystore(tmp_path: Path, keyring_backend: PlaintextKeyring) -> Keystore:
    """An empty keystore protected by this machine's keyring."""
    return Keystore(
        tmp_path / "data" / "sceau" / "device-keystore.json", keyring_backend=keyring_backend
    )


@pytest.fixture
def server() -> FakeServer:
    """A fake Sceau server with one pending activation."""
    return FakeServer()


def activate(
    server: FakeServer, keystore: Keystore, code: str = CODE, **kwargs: object
) -> Authenticator:
    """Run the whole activation against ``server`` and return the new authenticator."""
    session = ActivationSession.start(keystore, server.qr_uri(), transport=server.transport)
    session.register("Ordinateur de test", server.sms_code)
    return session.choose_code(code, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def device(server: FakeServer, keystore: Keystore) -> Iterator[Authenticator]:
    """An authenticator activated with the code 4826 on the fake server."""
    authenticator = activate(server, keystore)
    yield authenticator
    authenticator.close()
