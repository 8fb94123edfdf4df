# SPDX-License-Identifier: Apache-2.0
"""The keystore: 0600, never the code (K1), useless without its keyring key, one counter (P3)."""

from __future__ import annotations

import base64
import json
import random
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import keyring
import pytest
from keyring.backends import fail

from sceau_core.encoding import b64url_encode
from sceau_core.hazmat import oprf
from sceau_core.knowledge import derive_knowledge_key
from sceau_core.operations import OperationType
from sceau_device.activation import ActivationSession
from sceau_device.authenticator import Authenticator
from sceau_device.errors import ExitCode, KeystoreError, KeystoreUnreadable, NoKeyring
from sceau_device.keystore import KeyringWrappingKeys, Keystore
from tests.device.conftest import CODE, activate, file_keyring
from tests.device.fake_server import FakeServer

FIXED_TIME = 1_795_000_000.0


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_keystore_is_readable_by_its_owner_only(
    device: Authenticator, keystore: Keystore
) -> None:
    assert _mode(keystore.path) == 0o600
    assert _mode(keystore.path.parent) == 0o700
    assert _mode(keystore.path.with_name(keystore.path.name + ".lock")) == 0o600
    assert keystore.wrapping_kind == "keyring"
    assert [p.name for p in keystore.profiles()] == [device.profile.name]


def _encodings(secret: bytes) -> list[bytes]:
    return [
        secret,
        secret.hex().encode(),
        b64url_encode(secret).encode(),
        base64.b64encode(secret),
    ]


def _activate_and_approve(tmp_path: Path, code: str, seed: int) -> tuple[FakeServer, Keystore]:
    """A whole activation and an approval with deterministic randomness and a fixed clock."""
    generator = random.Random(seed)
    rng = generator.randbytes
    server = FakeServer(rng=rng, clock=lambda: FIXED_TIME)
    keystore = Keystore(
        tmp_path / "keystore.json",
        keyring_backend=file_keyring(tmp_path / "keyring"),
        rng=rng,
        clock=lambda: FIXED_TIME,
    )
    session = ActivationSession.start(
        keystore, server.qr_uri(), transport=server.transport, rng=rng, clock=lambda: FIXED_TIME
    )
    session.register("Ordinateur", server.sms_code)
    device = session.choose_code(code)
    operation = device.operation(server.add_operation().id)
    assert device.approve_with_code(operation, code).status == "approved"
    device.close()
    return server, keystore


def test_the_keystore_never_holds_the_code_the_oprf_output_or_the_knowledge_key(
    tmp_path: Path,
) -> None:
    server, keystore = _activate_and_approve(tmp_path, CODE, seed=7)
    stored = keystore.path.read_bytes() + (tmp_path / "keyring" / "keyring_pass.cfg").read_bytes()
    secret = keystore.secrets(keystore.get().name).device_secret
    output = oprf.evaluate(server.oprf_key, CODE.encode(), mode=oprf.MODE_VOPRF)
    knowledge = derive_knowledge_key(oprf_output=output, device_secret=secret)
    assert server.knowledge_key is not None
    assert knowledge.public_key() == server.knowledge_key  # the right values are searched
    scalar = knowledge.private_numbers().private_value.to_bytes(32, "big")
    assert CODE.encode() not in stored
    for value in (output, scalar):
        for encoded in _encodings(value):
            assert encoded not in stored


def test_the_keystore_bytes_do_not_depend_on_the_code(tmp_path: Path) -> None:
    # Same randomness, same clock, two different codes: byte-identical keystores, so nothing
    # derived from the code is stored in any form.
    _, first = _activate_and_approve(tmp_path / "a", CODE, seed=11)
    _, second = _activate_and_approve(tmp_path / "b", "5193", seed=11)
    assert first.path.read_bytes() == second.path.read_bytes()


def test_a_copy_on_another_machine_without_its_keyring_key_is_useless(
    server: FakeServer, device: Authenticator, keystore: Keystore, tmp_path: Path
) -> None:
    operation = server.add_operation()
    other = tmp_path / "other-machine"
    other.mkdir()
    shutil.copy2(keystore.path, other / "device-keystore.json")
    copy = Keystore(other / "device-keystore.json", keyring_backend=file_keyring(other / "keyring"))
    # What is public (the profile's name, server, pinned keys) can be read; nothing else.
    assert [p.activation_id for p in copy.profiles()] == [device.profile.activation_id]
    with pytest.raises(KeystoreUnreadable) as caught:
        copy.secrets(device.profile.name)
    assert caught.value.exit_code is ExitCode.KEYSTORE
    assert "copié d’un autre ordinateur" in caught.value.message("fr")
    sent = len(server.log)
    stolen = Authenticator(copy, transport=server.transport)
    with pytest.raises(KeystoreUnreadable):
        stolen.pending()
    with pytest.raises(KeystoreUnreadable):
        stolen.approve_with_code(operation, CODE)
    assert len(server.log) == sent  # nothing could even be signed


def test_an_edited_pin_makes_the_secrets_unreadable(
    device: Authenticator, keystore: Keystore
) -> None:
    data = json.loads(keystore.path.read_text())
    other = FakeServer().binding()
    data["profiles"][device.profile.name]["server_public_key"] = other.server_public_key
    keystore.path.write_text(json.dumps(data))
    with pytest.raises(KeystoreUnreadable):
        keystore.secrets(device.profile.name)


def test_no_keyring_is_a_clear_error_and_writes_nothing(server: FakeServer, tmp_path: Path) -> None:
    keystore = Keystore(tmp_path / "keystore.json", keyring_backend=fail.Keyring())
    with pytest.raises(NoKeyring) as caught:
        ActivationSession.start(keystore, server.qr_uri(), transport=server.transport)
    assert "--insecure-file-key" in caught.value.message("fr")
    assert caught.value.exit_code is ExitCode.KEYSTORE
    assert not keystore.exists
    assert server.log == []  # said before the customer types the device name or the SMS code


def test_a_plain_text_keyring_chosen_by_default_is_no_keyring(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    plain = file_keyring(tmp_path / "keyring")
    previous = keyring.get_keyring()
    keyring.set_keyring(plain)
    try:
        keystore = Keystore(tmp_path / "keystore.json")
        with pytest.raises(NoKeyring) as caught:
            ActivationSession.start(keystore, server.qr_uri(), transport=server.transport)
    finally:
        keyring.set_keyring(previous)
    assert "PlaintextKeyring" in str(caught.value)
    assert not keystore.exists
    assert not (tmp_path / "keyring" / "keyring_pass.cfg").exists()
    # Named on purpose, the same backend is the user's choice.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    keyring.set_keyring(plain)
    try:
        assert KeyringWrappingKeys().backend() is plain
    finally:
        keyring.set_keyring(previous)


def test_the_insecure_file_key_is_explicit_and_0600(server: FakeServer, tmp_path: Path) -> None:
    keystore = Keystore(
        tmp_path / "keystore.json", keyring_backend=fail.Keyring(), insecure_file_key=True
    )
    device = activate(server, keystore)
    assert keystore.wrapping_kind == "insecure-file"
    assert _mode(keystore.key_file) == 0o600
    assert device.status().status == "active"
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy2(keystore.path, other / "keystore.json")
    with pytest.raises(KeystoreUnreadable):
        Keystore(other / "keystore.json").secrets(device.profile.name)


def test_a_keystore_readable_by_others_is_refused(
    device: Authenticator, keystore: Keystore
) -> None:
    keystore.path.chmod(0o644)
    with pytest.raises(KeystoreError) as caught:
        keystore.profiles()
    assert "chmod 600" in caught.value.message("fr")
    del device


def test_the_counter_is_persisted_before_it_is_used(
    device: Authenticator, keystore: Keystore
) -> None:
    name = device.profile.name
    before = keystore.get(name).counter
    seen: list[int] = []

    def crash_before_sending() -> None:
        with keystore.reserve_counter(name) as counter:
            seen.append(Keystore(keystore.path).get(name).counter)  # read back from disk
            raise RuntimeError(f"the process dies before request {counter} leaves")

    with pytest.raises(RuntimeError):
        crash_before_sending()
    assert seen == [before + 1]  # on disk before it was handed out
    with keystore.reserve_counter(name) as after:
        assert after == before + 2  # never reused


def test_signed_messages_are_serialized_across_threads(
    server: FakeServer, device: Authenticator, keystore: Keystore, keyring_backend: object
) -> None:
    # A second authenticator on the same file plays a second process of the same user.
    twin = Keystore(keystore.path, keyring_backend=keyring_backend)  # type: ignore[arg-type]
    second = Authenticator(twin, transport=server.transport)
    server.add_operation(OperationType.TRANSFER)
    errors: list[BaseException] = []

    def work(authenticator: Authenticator) -> None:
        try:
            for _ in range(8):
                authenticator.pending()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(d,)) for d in (device, second) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    counters = [entry.counter for entry in server.log if entry.counter is not None]
    assert counters == sorted(counters)
    assert len(set(counters)) == len(counters)
    assert server.status == "active"  # no counter ever went backwards at the server
    assert keystore.get(device.profile.name).counter == counters[-1]


def test_a_signed_request_is_sent_only_once_the_one_before_it_is_answered(
    server: FakeServer, device: Authenticator, keystore: Keystore, keyring_backend: object
) -> None:
    # The server holds the first request; a second process of the same user asks meanwhile.
    # Sent before the first is answered, its higher counter would arrive first and the held
    # request's lower one would then look like a clone's (brief P3).
    twin = Keystore(keystore.path, keyring_backend=keyring_backend)  # type: ignore[arg-type]
    second = Authenticator(twin, transport=server.transport)
    held, release = threading.Event(), threading.Event()
    arrivals: list[int] = []

    def hold_the_first(request: httpx.Request) -> None:
        arrivals.append(int(request.headers["sceau-counter"]))
        if len(arrivals) == 1:
            held.set()
            release.wait(timeout=30)

    server.before.append(hold_the_first)
    first = threading.Thread(target=device.pending)
    first.start()
    assert held.wait(timeout=30)
    later = threading.Thread(target=second.pending)
    later.start()
    later.join(timeout=1)
    assert len(arrivals) == 1  # the second waits for the first's answer
    release.set()
    first.join(timeout=30)
    later.join(timeout=30)
    assert arrivals == sorted(arrivals)
    assert len(arrivals) == 2
    assert server.status == "active"


_RESERVE = """
import sys
from sceau_device.keystore import Keystore, KeyringWrappingKeys
keystore = Keystore(sys.argv[1])
for _ in range(25):
    with keystore.reserve_counter(sys.argv[2]) as counter:
        print(counter, flush=True)
"""


def test_the_counter_is_shared_by_several_processes(
    device: Authenticator, keystore: Keystore
) -> None:
    name = device.profile.name
    start = keystore.get(name).counter
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _RESERVE, str(keystore.path), name],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=60)[0] for process in processes]
    assert all(process.returncode == 0 for process in processes)
    counters = sorted(int(line) for output in outputs for line in output.split())
    assert counters == list(range(start + 1, start + 76))
    assert keystore.get(name).counter == start + 75
