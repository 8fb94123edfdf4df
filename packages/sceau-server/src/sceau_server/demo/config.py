# SPDX-License-Identifier: Apache-2.0
"""The demo's configuration: addresses, data directory, its persisted credentials and settings.

Everything the demo writes lives under one data directory (``./var/demo`` by default)::

    demo.json            the demo's own secrets and credentials (mode 0600): the Sceau master key
                         and HMAC secret of this demo, the two relying parties' API keys, and the
                         demo passwords it prints at every start
    bank.json            the demo bank's state: customers (scrypt password hashes), accounts,
                         payees, transactions, signed documents, orders, operations it asked for
    sceau.db             the Sceau server's SQLite database
    audit-checkpoint.pem the audit checkpoint key (and its .pub.pem), audit-checkpoints.jsonl
    phones/<slot>/       each simulated phone: its keystore (with the explicit insecure file key,
                         since this is a demo) and its simulated biometrics

Nothing listens beyond loopback: :func:`check_loopback` refuses any other host.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sceau_server.settings import Settings

__all__ = [
    "DemoConfig",
    "DemoCredentials",
    "check_loopback",
    "demo_settings",
    "load_or_create_credentials",
    "save_credentials",
    "write_private_json",
]

_WORDS = (
    "tilleul",
    "falaise",
    "lavande",
    "girafe",
    "horizon",
    "mistral",
    "olivier",
    "cerisier",
    "boussole",
    "lanterne",
    "marmotte",
    "pivoine",
    "sextant",
    "tramway",
    "violette",
    "zeppelin",
)


def check_loopback(host: str) -> str:
    """Return ``host`` if it is a loopback address or ``localhost``; raise ``ValueError`` else."""
    if host == "localhost":
        return host
    try:
        address = ipaddress.ip_address(host)
    except ValueError as error:
        raise ValueError(f"{host!r} is not an IP address") from error
    if not address.is_loopback:
        raise ValueError(f"{host} is not a loopback address")
    return host


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


@dataclass(frozen=True)
class DemoConfig:
    """Where the demo listens and keeps its data, and its demo-only knobs.

    ``ttl`` (``SCEAU_DEMO_TTL``) replaces the validity of every operation the bank asks for;
    ``short_ttl`` (``SCEAU_DEMO_SHORT_TTL``, 20 s) is the "see an expiry" choice of the forms.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    sceau_port: int = 8001
    data: Path = Path("var/demo")
    ttl: int | None = None
    short_ttl: int = 20

    @property
    def bank_url(self) -> str:
        """The demo web site's base URL."""
        return _url(self.host, self.port)

    @property
    def sceau_url(self) -> str:
        """The Sceau server's base URL (its public URL: devices sign it, the JWS carry it)."""
        return _url(self.host, self.sceau_port)

    @property
    def phones(self) -> Path:
        """The directory of the simulated phones."""
        return self.data / "phones"

    @classmethod
    def from_env(
        cls,
        *,
        host: str,
        port: int,
        sceau_port: int | None,
        data: Path,
        env: Mapping[str, str] | None = None,
    ) -> DemoConfig:
        """The configuration of the command line, with the ``SCEAU_DEMO_*`` knobs of ``env``."""
        env = os.environ if env is None else env
        ttl = _positive(env.get("SCEAU_DEMO_TTL"), "SCEAU_DEMO_TTL")
        short = _positive(env.get("SCEAU_DEMO_SHORT_TTL"), "SCEAU_DEMO_SHORT_TTL") or 20
        return cls(
            host=check_loopback(host),
            port=port,
            sceau_port=sceau_port if sceau_port is not None else port + 1,
            data=data.expanduser().absolute(),
            ttl=ttl,
            short_ttl=short,
        )


def _positive(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError as error:
        raise ValueError(f"{name} must be an integer") from error
    if not 1 <= value <= 3600:
        raise ValueError(f"{name} must be between 1 and 3600 seconds")
    return value


@dataclass
class DemoCredentials:
    """The demo's persisted secrets and printed credentials (``demo.json``, mode 0600).

    The passwords are demo credentials, printed at every start; the bank itself stores only
    their scrypt hashes. The operator's Sceau code is never kept: the operator approves with
    the simulated biometrics of their simulated phone.
    """

    master_key: str
    secret: str
    customer_password: str
    operator_password: str
    bank_api_key: str | None = None
    console_api_key: str | None = None
    seeded: bool = False

    def to_json(self) -> dict[str, Any]:
        """The file's JSON object."""
        return {"v": 1, **dataclasses.asdict(self)}

    @classmethod
    def generate(cls) -> DemoCredentials:
        """Fresh random secrets and readable passwords."""
        return cls(
            master_key="demo-master-" + secrets.token_urlsafe(32),
            secret="demo-hmac-" + secrets.token_urlsafe(32),
            customer_password=_password(),
            operator_password=_password(),
        )


def _password() -> str:
    return f"{secrets.choice(_WORDS)}-{secrets.randbelow(9000) + 1000}"


def write_private_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON to ``path`` atomically, readable only by its owner."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(value, out, ensure_ascii=False, indent=2, sort_keys=True)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def load_or_create_credentials(path: Path) -> DemoCredentials:
    """Read ``demo.json``, or create it with fresh secrets."""
    if path.exists():
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw.pop("v", None)
        known = {item.name for item in dataclasses.fields(DemoCredentials)}
        return DemoCredentials(**{key: value for key, value in raw.items() if key in known})
    credentials = DemoCredentials.generate()
    save_credentials(path, credentials)
    return credentials


def save_credentials(path: Path, credentials: DemoCredentials) -> None:
    """Write ``demo.json``."""
    write_private_json(path, credentials.to_json())


def demo_settings(
    config: DemoConfig, credentials: DemoCredentials, env: Mapping[str, str] | None = None
) -> Settings:
    """The Sceau server's settings for the demo.

    The ``SCEAU_*`` variables of ``env`` still tune the server (validity of operations, rate
    limit, lock durations…), but the demo fixes what makes it self-contained: its database and
    checkpoint files under the data directory, its public URL on loopback, its own secrets, and
    the development mode.
    """
    base = Settings.from_env(
        {
            key: value
            for key, value in (os.environ if env is None else env).items()
            if key.startswith("SCEAU_")
            and key
            not in (
                "SCEAU_ENV",
                "SCEAU_DATABASE_URL",
                "SCEAU_PUBLIC_URL",
                "SCEAU_MASTER_KEY",
                "SCEAU_SECRET",
                "SCEAU_CHECKPOINT_KEY",
                "SCEAU_CHECKPOINT_JOURNAL",
            )
        }
    )
    settings = dataclasses.replace(
        base,
        env="development",
        database_url=f"sqlite:///{config.data / 'sceau.db'}",
        public_url=config.sceau_url,
        master_key=credentials.master_key,
        secret=credentials.secret,
        checkpoint_key_path=str(config.data / "audit-checkpoint.pem"),
        checkpoint_journal_path=str(config.data / "audit-checkpoints.jsonl"),
    )
    settings.check()
    return settings
