# SPDX-License-Identifier: Apache-2.0
"""What every service needs: settings, database, keys, notifier, SMS sender and the clock."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.orm import Session

from sceau_core.activation import keyed_digest
from sceau_core.keys import encode_public_key, generate_private_key
from sceau_core.results import key_id
from sceau_server.crypto import KeyWrapper, derive_key
from sceau_server.errors import ServerError
from sceau_server.services.notifier import InProcessNotifier, Notifier, PostgresNotifier
from sceau_server.services.sms import SmsSender, default_sender
from sceau_server.services.verifier import PasswordVerifier, RefuseAllVerifier, load_verifier
from sceau_server.settings import Settings
from sceau_server.storage import repository
from sceau_server.storage.database import Database
from sceau_server.storage.models import Activation, ServerKey

__all__ = ["SIGNED_REQUEST", "ServerContext", "keep_refused_request", "random_id"]

T = TypeVar("T")

SIGNED_REQUEST = "sceau.signed_request"
"""Session-info key: (activation id, nonce, counter, nonce expiry) of the verified request."""


def keep_refused_request(session: Session, signed: tuple[str, str, int, int]) -> None:
    """Record the nonce and counter of a verified device request that was refused.

    A refused request leaves no trace in its own (rolled back) transaction; without this, its
    replay could not be told from a clone and would suspend the genuine device (brief P2, P3).
    """
    activation_id, nonce, counter, expires_at = signed
    # The activation row first, as every device request takes it: taking the nonce's key first
    # deadlocks against a replay of the same request holding the row (several nodes, PostgreSQL).
    activation = session.get(Activation, activation_id, with_for_update=True)
    if activation is None or repository.nonce_seen(session, activation_id, nonce):
        return
    repository.remember_nonce(session, activation_id, nonce, expires_at)
    if counter > activation.counter:
        activation.counter = counter


def random_id(prefix: str, size: int = 16) -> str:
    """A random identifier such as ``op_3kq…``: ``size`` random bytes, base64url."""
    from sceau_core.encoding import b64url_encode

    return f"{prefix}_{b64url_encode(os.urandom(size))}"


@dataclass
class ServerContext:
    """The server's shared state, built once per process by :meth:`create`."""

    settings: Settings
    db: Database
    wrapper: KeyWrapper
    digest_key: bytes = field(repr=False)
    signing_key: ec.EllipticCurvePrivateKey = field(repr=False)
    notifier: Notifier
    sms: SmsSender
    clock: Callable[[], float] = time.time
    verifier: PasswordVerifier = field(default_factory=RefuseAllVerifier)
    """The bank's online-banking password check for SMS code resets (brief L3)."""

    @classmethod
    def create(
        cls,
        settings: Settings,
        *,
        notifier: Notifier | None = None,
        sms: SmsSender | None = None,
        verifier: PasswordVerifier | None = None,
    ) -> ServerContext:
        """Open the database (already migrated) and load or create the server signing key."""
        db = Database(settings.database_url, pool_size=settings.db_pool_size)
        wrapper = KeyWrapper(settings.master_key)
        signing_key = _load_signing_key(db, wrapper, int(time.time()))
        return cls(
            settings=settings,
            db=db,
            wrapper=wrapper,
            digest_key=derive_key(settings.secret, "sceau/v1/keyed-digest"),
            signing_key=signing_key,
            notifier=notifier if notifier is not None else _default_notifier(db),
            sms=sms or default_sender(settings),
            verifier=verifier or load_verifier(settings.password_verifier),
        )

    def now(self) -> int:
        """The current Unix time in seconds."""
        return int(self.clock())

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        """The server's signing public key."""
        return self.signing_key.public_key()

    @property
    def public_key_text(self) -> str:
        """The signing public key as devices pin it (base64url SEC1)."""
        return encode_public_key(self.public_key)

    def digest(self, label: str, subject: str, secret: str) -> str:
        """``HMAC(server secret, label || 0 || subject || 0 || secret)``: how secrets are found."""
        return keyed_digest(key=self.digest_key, label=label, subject=subject, secret=secret)

    def transaction(self, work: Callable[[Session, list[tuple[str, str]]], T]) -> T:
        """Run ``work`` in one write transaction, then publish its notifications.

        ``work`` receives the session and a list to which it appends ``(channel, message)``
        pairs; they are published only once the transaction has committed. A
        :class:`ServerError` with ``keep_writes`` is raised once the transaction has committed.
        When ``work`` raises any other :class:`ServerError` with a follow-up, the follow-up
        runs in a new write transaction after the first one rolled back, then the error
        propagates.
        """
        notes: list[tuple[str, str]] = []
        signed: tuple[str, str, int, int] | None = None
        kept: ServerError | None = None
        try:
            with self.db.write() as session:
                try:
                    result = work(session, notes)
                except ServerError as error:
                    if not error.keep_writes:
                        raise
                    kept = error
                finally:
                    signed = session.info.pop(SIGNED_REQUEST, None)
                staged = self._stage(session, notes)
        except ServerError as error:
            if error.follow_up is not None or signed is not None:
                follow_notes: list[tuple[str, str]] = []
                with self.db.write() as session:
                    if signed is not None:
                        keep_refused_request(session, signed)
                    if error.follow_up is not None:
                        error.follow_up(session, follow_notes)
                    follow_staged = self._stage(session, follow_notes)
                if not follow_staged:
                    self._publish(follow_notes)
            raise
        if not staged:
            self._publish(notes)
        if kept is not None:
            raise kept
        return result

    def _stage(self, session: Session, notes: list[tuple[str, str]]) -> bool:
        """Hand ``notes`` to a notifier that sends them with the transaction (PostgreSQL)."""
        if isinstance(self.notifier, PostgresNotifier):
            self.notifier.publish_in_transaction(session, notes)
            return True
        return False

    def _publish(self, notes: list[tuple[str, str]]) -> None:
        for channel, message in notes:
            self.notifier.publish(channel, message)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session."""
        with self.db.read() as session:
            yield session

    def close(self) -> None:
        """Stop the notifier's listener and release the database connections."""
        if isinstance(self.notifier, PostgresNotifier):
            self.notifier.close()
        self.db.dispose()


def _default_notifier(db: Database) -> Notifier:
    """In-process on SQLite (one node); through LISTEN/NOTIFY on PostgreSQL (several nodes)."""
    if db.is_sqlite:
        return InProcessNotifier()
    notifier = PostgresNotifier(db.url)
    notifier.start()
    return notifier


def _load_signing_key(db: Database, wrapper: KeyWrapper, now: int) -> ec.EllipticCurvePrivateKey:
    with db.write() as session:
        row = session.scalars(select(ServerKey).where(ServerKey.active.is_(True))).first()
        if row is not None:
            der = wrapper.unwrap(row.private_key_wrapped, slot=f"server-key:{row.id}")
            loaded = serialization.load_der_private_key(der, password=None)
            if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                raise TypeError("the stored server key is not an EC key")
            return loaded
        key = generate_private_key(os.urandom)
        kid = key_id(key.public_key())
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        session.add(
            ServerKey(
                id=kid,
                private_key_wrapped=wrapper.wrap(der, slot=f"server-key:{kid}"),
                public_key=encode_public_key(key.public_key()),
                created_at=now,
                active=True,
            )
        )
        return key
