# SPDX-License-Identifier: Apache-2.0
"""The server's settings: one frozen object, read from the environment once at start.

Every setting has a development default so that ``sceau serve`` runs out of the box; the
defaults of the two secrets contain the word ``insecure``, and :meth:`Settings.check` refuses to
start in production (``SCEAU_ENV=production``) while any of them is in use. In development,
``sceau serve`` warns when it uses them and refuses them on an address other than loopback unless
``SCEAU_ALLOW_DEV_SECRETS`` is on.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sceau_core.operations import OperationType

__all__ = ["DEV_MASTER_KEY", "DEV_SECRET", "ConfigurationError", "Settings"]

DEV_MASTER_KEY: Final = "insecure-development-master-key-do-not-use-in-production"
DEV_SECRET: Final = "insecure-development-hmac-secret-do-not-use-in-production"  # noqa: S105
_MIN_SECRET_LENGTH: Final = 32


class ConfigurationError(Exception):
    """A setting is missing, malformed or unsafe for the chosen environment."""


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise ConfigurationError(f"{name} must be an integer") from error
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as error:
        raise ConfigurationError(f"{name} must be a number") from error
    if not value >= minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}")
    return value


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "on", "true", "yes"):
        return True
    if raw in ("0", "off", "false", "no"):
        return False
    raise ConfigurationError(f"{name} must be on or off")


def _ints(env: Mapping[str, str], name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        values = tuple(int(part) for part in raw.split(","))
    except ValueError as error:
        raise ConfigurationError(f"{name} must be comma-separated integers") from error
    if not values or any(value < 1 for value in values):
        raise ConfigurationError(f"{name} must list positive integers")
    return values


@dataclass(frozen=True)
class Settings:
    """Every setting of the server; see ``docs/api.md`` (Configuration) for each variable."""

    database_url: str = "sqlite:///var/sceau.db"
    public_url: str = "http://127.0.0.1:8000"
    master_key: str = field(default=DEV_MASTER_KEY, repr=False)
    secret: str = field(default=DEV_SECRET, repr=False)
    env: str = "development"
    operation_ttl: int = 300
    ttl_overrides: Mapping[str, int] = field(default_factory=dict)
    max_ttl: int = 3600
    activation_ttl: int = 600
    sms_code_ttl: int = 300
    sms_code_attempts: int = 3
    max_failures: int = 5
    window_failures: int = 10
    window_seconds: int = 86_400
    lock_durations: tuple[int, ...] = (60, 300, 1800, 7200)
    max_locks: int = 5
    operations_per_minute: int = 10
    activations_per_hour: int = 5
    signature_max_age: int = 60
    signature_max_skew: int = 5
    max_body_bytes: int = 64 * 1024
    sweep_interval: float = 5.0
    webhook_interval: float = 1.0
    webhook_backoff: float = 5.0
    webhook_max_attempts: int = 8
    webhook_timeout: float = 5.0
    long_poll_max: int = 60
    max_streams_per_device: int = 2
    max_streams: int = 2000
    checkpoint_key_path: str = "var/audit-checkpoint.pem"
    checkpoint_journal_path: str = "var/audit-checkpoints.jsonl"
    checkpoint_interval: float = 300.0
    metrics: bool = True
    db_pool_size: int = 20
    max_devices: int = 1
    device_hold: int = 259_200
    reset_phone_hold: int = 259_200
    resets_per_day: int = 3
    password_verifier: str | None = None
    sms_outbox: str = "clear"
    workers: int = 1
    allow_dev_secrets: bool = False
    bank_timezone: str = "Europe/Paris"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the ``SCEAU_*`` variables of ``env`` (the process environment by default)."""
        env = os.environ if env is None else env
        overrides: dict[str, int] = {}
        for kind in OperationType:
            name = f"SCEAU_TTL_{kind.value.upper()}"
            if env.get(name):
                overrides[kind.value] = _int(env, name, 300, minimum=1)
        settings = cls(
            database_url=env.get("SCEAU_DATABASE_URL") or cls.database_url,
            public_url=(env.get("SCEAU_PUBLIC_URL") or cls.public_url).rstrip("/"),
            master_key=env.get("SCEAU_MASTER_KEY") or DEV_MASTER_KEY,
            secret=env.get("SCEAU_SECRET") or DEV_SECRET,
            env=env.get("SCEAU_ENV") or "development",
            operation_ttl=_int(env, "SCEAU_OPERATION_TTL", 300, minimum=1),
            ttl_overrides=overrides,
            max_ttl=_int(env, "SCEAU_MAX_TTL", 3600, minimum=1),
            activation_ttl=_int(env, "SCEAU_ACTIVATION_TTL", 600, minimum=1),
            sms_code_ttl=_int(env, "SCEAU_SMS_CODE_TTL", 300, minimum=1),
            sms_code_attempts=_int(env, "SCEAU_SMS_CODE_ATTEMPTS", 3, minimum=1),
            max_failures=_int(env, "SCEAU_MAX_FAILURES", 5, minimum=1),
            window_failures=_int(env, "SCEAU_WINDOW_FAILURES", 10, minimum=1),
            window_seconds=_int(env, "SCEAU_WINDOW_SECONDS", 86_400, minimum=1),
            lock_durations=_ints(env, "SCEAU_LOCK_DURATIONS", (60, 300, 1800, 7200)),
            max_locks=_int(env, "SCEAU_MAX_LOCKS", 5, minimum=1),
            operations_per_minute=_int(env, "SCEAU_OPERATIONS_PER_MINUTE", 10, minimum=1),
            activations_per_hour=_int(env, "SCEAU_ACTIVATIONS_PER_HOUR", 5, minimum=1),
            max_body_bytes=_int(env, "SCEAU_MAX_BODY_BYTES", 64 * 1024, minimum=1024),
            sweep_interval=_float(env, "SCEAU_SWEEP_INTERVAL", 5.0, minimum=0.05),
            webhook_interval=_float(env, "SCEAU_WEBHOOK_INTERVAL", 1.0, minimum=0.05),
            webhook_backoff=_float(env, "SCEAU_WEBHOOK_BACKOFF", 5.0, minimum=0.05),
            webhook_max_attempts=_int(env, "SCEAU_WEBHOOK_MAX_ATTEMPTS", 8, minimum=1),
            webhook_timeout=_float(env, "SCEAU_WEBHOOK_TIMEOUT", 5.0, minimum=0.05),
            max_streams_per_device=_int(env, "SCEAU_MAX_STREAMS_PER_DEVICE", 2, minimum=1),
            max_streams=_int(env, "SCEAU_MAX_STREAMS", 2000, minimum=1),
            checkpoint_key_path=env.get("SCEAU_CHECKPOINT_KEY") or cls.checkpoint_key_path,
            checkpoint_journal_path=(
                env.get("SCEAU_CHECKPOINT_JOURNAL") or cls.checkpoint_journal_path
            ),
            checkpoint_interval=_float(env, "SCEAU_CHECKPOINT_INTERVAL", 300.0, minimum=0.0),
            metrics=_switch(env, "SCEAU_METRICS", True),
            db_pool_size=_int(env, "SCEAU_DB_POOL_SIZE", 20, minimum=1),
            max_devices=_int(env, "SCEAU_MAX_DEVICES", 1, minimum=1),
            device_hold=_int(env, "SCEAU_DEVICE_HOLD", 259_200, minimum=0),
            reset_phone_hold=_int(env, "SCEAU_RESET_PHONE_HOLD", 259_200, minimum=0),
            resets_per_day=_int(env, "SCEAU_RESETS_PER_DAY", 3, minimum=1),
            password_verifier=env.get("SCEAU_PASSWORD_VERIFIER") or None,
            sms_outbox=env.get("SCEAU_SMS_OUTBOX") or "clear",
            workers=_int(env, "SCEAU_WORKERS", 1, minimum=1),
            allow_dev_secrets=_switch(env, "SCEAU_ALLOW_DEV_SECRETS", False),
            bank_timezone=env.get("SCEAU_BANK_TIMEZONE") or cls.bank_timezone,
        )
        settings.check()
        return settings

    @property
    def production(self) -> bool:
        """Whether the server runs in production mode."""
        return self.env == "production"

    @property
    def development_secrets(self) -> tuple[str, ...]:
        """The variables whose value is a development default (a known, public secret)."""
        return tuple(
            name
            for name, value in (
                ("SCEAU_MASTER_KEY", self.master_key),
                ("SCEAU_SECRET", self.secret),
            )
            if "insecure" in value.lower()
        )

    def ttl_for(self, operation_type: str) -> int:
        """The default time to live of an operation of ``operation_type``, in seconds."""
        return self.ttl_overrides.get(operation_type, self.operation_ttl)

    def bank_today(self, now: float) -> datetime.date:
        """The bank's date at Unix time ``now``, in ``SCEAU_BANK_TIMEZONE``."""
        return datetime.datetime.fromtimestamp(now, _zone(self.bank_timezone)).date()

    def lock_duration(self, lock_number: int) -> int:
        """How long the ``lock_number``-th lock (counting from 1) lasts, in seconds."""
        return self.lock_durations[min(lock_number, len(self.lock_durations)) - 1]

    def check(self) -> None:
        """Refuse inconsistent settings, and development secrets in production."""
        if self.env not in ("development", "production"):
            raise ConfigurationError("SCEAU_ENV must be development or production")
        if not self.public_url.startswith(("http://", "https://")):
            raise ConfigurationError("SCEAU_PUBLIC_URL must be an absolute http(s) URL")
        for name, value in (("SCEAU_MASTER_KEY", self.master_key), ("SCEAU_SECRET", self.secret)):
            if len(value) < _MIN_SECRET_LENGTH:
                raise ConfigurationError(f"{name} must be at least {_MIN_SECRET_LENGTH} characters")
            if self.production and name in self.development_secrets:
                raise ConfigurationError(f"{name} is a development default: set a real secret")
        if self.master_key == self.secret:
            raise ConfigurationError("SCEAU_MASTER_KEY and SCEAU_SECRET must differ")
        if self.production and not self.public_url.startswith("https://"):
            raise ConfigurationError("SCEAU_PUBLIC_URL must be https in production")
        if self.max_locks < 1 or not self.lock_durations:
            raise ConfigurationError("the lock policy needs at least one lock")
        for kind, ttl in (("default", self.operation_ttl), *self.ttl_overrides.items()):
            if ttl > self.max_ttl:
                raise ConfigurationError(
                    f"the {kind} operation time to live exceeds SCEAU_MAX_TTL ({self.max_ttl} s)"
                )
        if self.sms_outbox not in ("clear", "redacted"):
            raise ConfigurationError("SCEAU_SMS_OUTBOX must be clear or redacted")
        if self.max_devices < 1:
            raise ConfigurationError("SCEAU_MAX_DEVICES must be at least 1")
        _zone(self.bank_timezone)


def _zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Paris``), else a :class:`ConfigurationError`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ConfigurationError(
            f"SCEAU_BANK_TIMEZONE must be a time zone name such as Europe/Paris, not {name!r}"
        ) from error
