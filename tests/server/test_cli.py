# SPDX-License-Identifier: Apache-2.0
"""The ``sceau`` command as an operator runs it: settings, ``serve``, ``admin``."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

import sceau_server.audit
import sceau_server.storage.models
from sceau_server import cli
from sceau_server.db import Base
from sceau_server.migrations import upgrade
from sceau_server.settings import DEV_MASTER_KEY, ConfigurationError, Settings
from tests.server.conftest import wait_until

SCEAU = str(Path(sys.executable).with_name("sceau"))


def test_production_refuses_development_secrets() -> None:
    with pytest.raises(ConfigurationError, match="SCEAU_MASTER_KEY"):
        Settings.from_env({"SCEAU_ENV": "production", "SCEAU_PUBLIC_URL": "https://sceau.example"})
    with pytest.raises(ConfigurationError, match="https"):
        Settings.from_env(
            {
                "SCEAU_ENV": "production",
                "SCEAU_MASTER_KEY": "k" * 40,
                "SCEAU_SECRET": "s" * 40,
                "SCEAU_PUBLIC_URL": "http://sceau.example",
            }
        )
    good = Settings.from_env(
        {
            "SCEAU_ENV": "production",
            "SCEAU_MASTER_KEY": "k" * 40,
            "SCEAU_SECRET": "s" * 40,
            "SCEAU_PUBLIC_URL": "https://sceau.example/",
            "SCEAU_TTL_CARD_PAYMENT": "600",
            "SCEAU_LOCK_DURATIONS": "60,600",
        }
    )
    assert good.public_url == "https://sceau.example"
    assert good.ttl_for("card_payment") == 600
    assert good.ttl_for("login") == 300
    assert good.lock_duration(1) == 60
    assert good.lock_duration(5) == 600
    assert "k" * 40 not in repr(good)
    dev = Settings.from_env({})
    assert dev.master_key == DEV_MASTER_KEY
    assert "insecure" in dev.secret


def test_migrations_match_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == [], "run an Alembic revision --autogenerate for the model changes"
    assert sceau_server.audit.TABLES


def _environment(port: int) -> dict[str, str]:
    return {
        **os.environ,
        "SCEAU_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SCEAU_MASTER_KEY": "cli-test-master-key-0123456789abcdef-xyz",
        "SCEAU_SECRET": "cli-test-hmac-secret-0123456789abcdef-xyz",
    }


@pytest.mark.slow
def test_serve_and_admin_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = _environment(port)
    for name, value in env.items():
        if name.startswith("SCEAU_"):
            monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> str:
        """The installed command, for the first call; then its code in this process (faster)."""
        if args[:2] == ("admin", "rp"):
            done = subprocess.run(
                [SCEAU, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, done.stderr
            return done.stdout
        capsys.readouterr()
        assert cli.main(list(args)) == 0
        return capsys.readouterr().out

    server = subprocess.Popen(
        [SCEAU, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{url}/openapi.json").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, timeout=30, interval=0.1)
        assert (tmp_path / "var" / "sceau.db").exists()  # created on first start
        created = run("admin", "rp", "create", "Banque", "--callback-allow", "https://b.example/h")
        api_key = next(
            line.split(": ", 1)[1] for line in created.splitlines() if line.startswith("API key")
        )
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {api_key}"}) as http:
            assert (
                http.put(
                    "/v1/users/u1", json={"phone": "+33612345678", "display_name": "Ada"}
                ).status_code
                == 201
            )
            assert http.post("/v1/users/u1/activations").status_code == 201
        outbox = run("admin", "outbox")
        assert "+33612345678 [activation_code]" in outbox
        assert "Checkpoint at" in run("admin", "audit", "checkpoint")
        assert "Audit log verified" in run("admin", "audit", "verify")
    finally:
        server.send_signal(signal.SIGINT)
        _, errors = server.communicate(timeout=20)
    assert "Traceback" not in errors.decode()


def test_serve_refuses_to_start_in_production_with_dev_secrets(tmp_path: Path) -> None:
    done = subprocess.run(
        [SCEAU, "serve"],
        cwd=tmp_path,
        env={**os.environ, "SCEAU_ENV": "production", "SCEAU_PUBLIC_URL": "https://s.example"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "development default" in done.stderr
    assert not (tmp_path / "var").exists()


def _development_environment(**more: str) -> dict[str, str]:
    """The process environment without any secret: ``sceau serve`` uses its development ones."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("SCEAU_MASTER_KEY", "SCEAU_SECRET", "SCEAU_ENV")
    }
    return {**env, **more}


def _serve_until_up(tmp_path: Path, host: str, env: dict[str, str]) -> str:
    """Start ``sceau serve`` on ``host`` in a new directory, wait until it answers, stop it;
    return its stderr."""
    directory = tmp_path / f"serve-{len(list(tmp_path.iterdir()))}"
    directory.mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [SCEAU, "serve", "--host", host, "--port", str(port), "--no-access-log"],
        cwd=directory,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/openapi.json").status_code == 200
            except httpx.TransportError:
                return server.poll() is not None

        wait_until(up, timeout=30, interval=0.1)
    finally:
        server.send_signal(signal.SIGINT)
        _, errors = server.communicate(timeout=20)
    assert server.returncode == 0, errors
    return errors


def _warnings(errors: str) -> list[str]:
    return [line for line in errors.splitlines() if "development secret" in line]


@pytest.mark.slow
def test_serve_warns_once_when_it_uses_the_development_secrets(tmp_path: Path) -> None:
    errors = _serve_until_up(tmp_path, "127.0.0.1", _development_environment())
    [warning] = _warnings(errors)
    assert warning.startswith("sceau: warning: SCEAU_MASTER_KEY and SCEAU_SECRET are built-in")
    assert "SCEAU_ENV=production" in warning
    real = _serve_until_up(tmp_path, "127.0.0.1", _environment(8000))
    assert _warnings(real) == []
    # One real secret: the warning names the other one only.
    one = _serve_until_up(
        tmp_path,
        "127.0.0.1",
        _development_environment(SCEAU_MASTER_KEY="cli-test-master-key-0123456789abcdef-xyz"),
    )
    [warning] = _warnings(one)
    assert "SCEAU_SECRET is a built-in development secret" in warning
    assert "SCEAU_MASTER_KEY and" not in warning


def test_serve_refuses_development_secrets_beyond_loopback(tmp_path: Path) -> None:
    for host in ("0.0.0.0", "::", "sceau.example"):  # noqa: S104
        done = subprocess.run(
            [SCEAU, "serve", "--host", host, "--port", "1"],
            cwd=tmp_path,
            env=_development_environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2
        assert done.stdout == ""
        [line] = done.stderr.splitlines()
        assert line.startswith(f"sceau: refusing to serve on {host}: SCEAU_MASTER_KEY and")
        assert "SCEAU_ALLOW_DEV_SECRETS=on" in line
    assert not (tmp_path / "var").exists()  # nothing created


@pytest.mark.slow
def test_serve_beyond_loopback_with_development_secrets_when_allowed(tmp_path: Path) -> None:
    every_interface = "0.0.0.0"  # noqa: S104
    errors = _serve_until_up(
        tmp_path, every_interface, _development_environment(SCEAU_ALLOW_DEV_SECRETS="on")
    )
    [warning] = _warnings(errors)
    assert warning.startswith("sceau: warning: ")


def _self_signed(directory: Path) -> tuple[Path, Path]:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.slow
def test_serve_terminates_tls(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cert, key = _self_signed(tmp_path)
    env = {**_environment(port), "SCEAU_PUBLIC_URL": f"https://127.0.0.1:{port}"}
    server = subprocess.Popen(
        [SCEAU, "serve", "--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    trust = ssl.create_default_context(cafile=str(cert))
    try:

        def up() -> bool:
            try:
                response = httpx.get(
                    f"https://127.0.0.1:{port}/.well-known/jwks.json", verify=trust
                )
            except httpx.TransportError:
                return False
            return response.status_code == 200

        wait_until(up, timeout=30, interval=0.1)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)


@pytest.fixture
def admin_env(
    tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """The ``SCEAU_*`` variables of ``sceau admin`` on a fresh database of ``backend``."""
    from tests.databases import postgres_databases

    database_url = (
        postgres_databases().create()
        if backend == "postgresql"
        else f"sqlite:///{tmp_path / 'sceau.db'}"
    )
    env = {
        **_environment(8000),
        "SCEAU_DATABASE_URL": database_url,
        "SCEAU_CHECKPOINT_KEY": str(tmp_path / "checkpoint.pem"),
        "SCEAU_CHECKPOINT_JOURNAL": str(tmp_path / "checkpoints.jsonl"),
    }
    for name, value in env.items():
        if name.startswith("SCEAU_"):
            monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    yield env
    if backend == "postgresql":
        postgres_databases().drop(database_url)


def _relying_parties(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text("SELECT name FROM relying_parties")).scalars())
    finally:
        engine.dispose()


def test_rp_create_refuses_a_name_already_taken(
    admin_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["admin", "rp", "create", "Banque en ligne"]) == 0
    capsys.readouterr()
    for taken in ("Banque en ligne", " banque EN LIGNE "):
        assert cli.main(["admin", "rp", "create", taken, "--scopes", "login"]) == 1
        out, err = capsys.readouterr()
        assert out == ""
        assert err.startswith("sceau: a relying party is already named")
        assert "Traceback" not in err
    assert _relying_parties(admin_env["SCEAU_DATABASE_URL"]) == ["Banque en ligne"]
    assert cli.main(["admin", "rp", "create", "Back-office", "--scopes", "admin"]) == 0
    assert sorted(_relying_parties(admin_env["SCEAU_DATABASE_URL"])) == [
        "Back-office",
        "Banque en ligne",
    ]


def test_rp_create_waits_for_a_concurrent_creation_of_the_same_name(
    admin_env: dict[str, str], backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite has one writer at a time (BEGIN IMMEDIATE): nothing can interleave")
    import threading

    engine = create_engine(admin_env["SCEAU_DATABASE_URL"])
    codes: list[int] = []
    try:
        with engine.connect() as other, engine.connect() as observer:
            # Another creation of the same name, not committed yet.
            other.begin()
            other.execute(
                text(
                    "INSERT INTO relying_parties (id, name, api_key_digest, scopes, "
                    "callback_allow, webhook_secret_wrapped, created_at, disabled) VALUES "
                    "('rp_other', 'Banque en ligne', 'digest', '[]', '[]', 'x', 0, false)"
                )
            )
            thread = threading.Thread(
                target=lambda: codes.append(cli.main(["admin", "rp", "create", "Banque en ligne"]))
            )
            thread.start()

            def blocked_or_done() -> bool:
                waiting = observer.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                ).scalar_one()
                observer.rollback()
                return bool(waiting) or not thread.is_alive()

            wait_until(blocked_or_done, timeout=60, interval=0.05)
            other.commit()
            thread.join(timeout=60)
    finally:
        engine.dispose()
    assert codes == [1]
    assert "already named" in capsys.readouterr().err
    assert _relying_parties(admin_env["SCEAU_DATABASE_URL"]) == ["Banque en ligne"]


@pytest.mark.parametrize(
    "variant",
    [
        "Socie\u0301te\u0301 Ge\u0301ne\u0301rale",  # decomposed accents (NFD), as macOS types them
        "Ｓｏｃｉéｔé Ｇéｎéｒａｌｅ",  # full-width letters
        "Société  Générale",  # two spaces
        "Société\u00a0Générale",  # no-break space
        "Société\u200b Générale",  # zero-width space
    ],
    ids=["nfd", "fullwidth", "double-space", "nbsp", "zero-width"],
)
def test_rp_create_refuses_a_name_that_only_looks_different_in_its_bytes(
    admin_env: dict[str, str], variant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["admin", "rp", "create", "Société Générale"]) == 0
    capsys.readouterr()
    assert cli.main(["admin", "rp", "create", variant]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("sceau: a relying party is already named")
    assert _relying_parties(admin_env["SCEAU_DATABASE_URL"]) == ["Société Générale"]


@pytest.mark.parametrize(
    "name",
    ["\u200b", "\u200b\u200d", "Banque\nsceau: Relying party Banque created", "Banque\x1b[2J"],
    ids=["zero-width", "joiners", "newline", "escape"],
)
def test_rp_create_refuses_an_invisible_name_or_one_with_control_characters(
    admin_env: dict[str, str], name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["admin", "rp", "create", name]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("sceau: ")
    assert "Traceback" not in err
    assert _relying_parties(admin_env["SCEAU_DATABASE_URL"]) == []


def test_rp_create_refuses_a_name_spelt_with_look_alike_letters(
    admin_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["admin", "rp", "create", "Banque Populaire"]) == 0
    capsys.readouterr()
    # Cyrillic а and о among Latin letters: it would read as the name above.
    assert cli.main(["admin", "rp", "create", "B\u0430nque P\u043epul\u0430ire"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("sceau: ")
    assert "Cyrillic" in err
    # A name in one script is fine, whichever it is.
    assert (
        cli.main(["admin", "rp", "create", "\u0421\u0431\u0435\u0440\u0431\u0430\u043d\u043a"]) == 0
    )
    assert sorted(_relying_parties(admin_env["SCEAU_DATABASE_URL"])) == [
        "Banque Populaire",
        "Сбербанк",
    ]


def test_rp_create_refuses_a_name_longer_than_the_column_in_a_sentence(
    admin_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["admin", "rp", "create", "B" * 201]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("sceau: ")
    assert "200" in err
    assert "Traceback" not in err
    assert _relying_parties(admin_env["SCEAU_DATABASE_URL"]) == []
    assert cli.main(["admin", "rp", "create", "B" * 200]) == 0
    assert _relying_parties(admin_env["SCEAU_DATABASE_URL"]) == ["B" * 200]
