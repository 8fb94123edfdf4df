# SPDX-License-Identifier: Apache-2.0
"""Device requests: RFC 9421 signature, replay cache and the strictly increasing counter.

:func:`verify_signature` checks the signature against the device key on file (read only);
:func:`admit` then runs inside the write transaction of the request's action: it locks the
activation row, refuses an activation that is not in an allowed state, refuses a nonce already
seen (a replay, refused without suspension), and refuses a counter that does not increase (a
possible clone: the activation is suspended and the customer alerted, brief P3). A request
refused after its nonce was recorded keeps its nonce and counter (``SIGNED_REQUEST``), so its
replay is refused as a replay, and only a clone sends an unseen nonce with a counter that did not
increase. Every refusal is the same generic :class:`~sceau_server.errors.AuthenticationFailed`
(brief K4).
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session

from sceau_core.approval import FactorKeys
from sceau_core.errors import SceauError, VerificationFailed
from sceau_core.httpsig import HttpRequest, SignedRequestInfo, verify_request
from sceau_core.keys import decode_public_key
from sceau_server.errors import AuthenticationFailed, MalformedRequest
from sceau_server.services.context import SIGNED_REQUEST, ServerContext
from sceau_server.services.events import alert_customer, audit, audit_forged_request
from sceau_server.storage import repository
from sceau_server.storage.database import Database
from sceau_server.storage.models import Activation, User

__all__ = [
    "Admitted",
    "admit",
    "build_request",
    "factor_keys",
    "verify_signature",
]

V = TypeVar("V")


def build_request(
    ctx: ServerContext,
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
) -> HttpRequest:
    """The request as the device signed it: the public base URL plus the path and query."""
    url = ctx.settings.public_url + path + (f"?{query}" if query else "")
    try:
        return HttpRequest(method=method, url=url, headers=headers, body=body)
    except SceauError as error:
        raise MalformedRequest("The request's URL or headers are malformed.") from error


class _Refused(VerificationFailed):
    """The keyid names no activation with a device key."""


class _KeyCache(Generic[V]):
    """Values by activation id, the most recent ``size`` of them."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, activation_id: str) -> V | None:
        with self._lock:
            value = self._values.get(activation_id)
            if value is not None:
                self._values.move_to_end(activation_id)
            return value

    def put(self, activation_id: str, value: V) -> None:
        with self._lock:
            self._values[activation_id] = value
            if len(self._values) > self._size:
                self._values.popitem(last=False)


_KeyTexts = tuple[str, str | None, str | None]
"""An activation's device, knowledge and inherence public keys as stored."""


@dataclass
class _Caches:
    device_keys: _KeyCache[ec.EllipticCurvePublicKey] = field(
        default_factory=lambda: _KeyCache(100_000)
    )
    """Decoded device keys. An activation's device key is written once, at registration, and
    never changes, so a cached key is never stale; whether the activation may still act
    (revoked, suspended, locked) is checked by :func:`admit` on the locked row, in the
    request's transaction."""
    factor_keys: _KeyCache[tuple[_KeyTexts, FactorKeys]] = field(
        default_factory=lambda: _KeyCache(10_000)
    )
    """Decoded factor keys with the texts they were decoded from: the knowledge and inherence
    keys change (a new code, new biometrics), so they serve only for the same texts."""


_CACHES: weakref.WeakKeyDictionary[Database, _Caches] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def _caches(ctx: ServerContext) -> _Caches:
    with _CACHES_LOCK:
        caches = _CACHES.get(ctx.db)
        if caches is None:
            caches = _CACHES[ctx.db] = _Caches()
        return caches


def _key_texts(activation: Activation) -> _KeyTexts:
    return (
        activation.device_public_key or "",
        activation.knowledge_public_key,
        activation.inherence_public_key,
    )


def factor_keys(ctx: ServerContext, activation: Activation) -> FactorKeys:
    """``activation``'s public keys (brief P1), decoded once per process for the keys stored."""
    texts = _key_texts(activation)
    cache = _caches(ctx).factor_keys
    found = cache.get(activation.id)
    if found is not None and found[0] == texts:
        return found[1]
    device, knowledge, inherence = texts
    keys = FactorKeys(
        possession=decode_public_key(device),
        knowledge=None if knowledge is None else decode_public_key(knowledge),
        inherence=None if inherence is None else decode_public_key(inherence),
    )
    cache.put(activation.id, (texts, keys))
    return keys


def verify_signature(
    ctx: ServerContext,
    request: HttpRequest,
    *,
    key_for: Callable[[str], ec.EllipticCurvePublicKey] | None = None,
) -> SignedRequestInfo:
    """Verify the request's signature with the activation's device key (or ``key_for``)."""

    resolved: list[str] = []

    def resolve(key_id: str) -> ec.EllipticCurvePublicKey:
        if key_for is not None:
            return key_for(key_id)
        cache = _caches(ctx).device_keys
        key = cache.get(key_id)
        if key is None:
            with ctx.read() as session:
                activation = session.get(Activation, key_id)
                if activation is None or activation.device_public_key is None:
                    raise _Refused("unknown activation")
                key = decode_public_key(activation.device_public_key)
            cache.put(key_id, key)
        resolved.append(key_id)
        return key

    try:
        return verify_request(
            request,
            resolve_key=resolve,
            now=ctx.now(),
            max_age=ctx.settings.signature_max_age,
            max_skew=ctx.settings.signature_max_skew,
        )
    except SceauError as error:
        if resolved:  # a request in a known device's name that its key did not sign
            audit_forged_request(ctx, resolved[0], type(error).__name__)
        raise AuthenticationFailed() from error


@dataclass
class Admitted:
    """An admitted device request: the locked activation and the counter before this request."""

    row: Activation
    """The activation as admitted, an object of no session until :attr:`activation` is asked:
    read it, and change it only through the repository functions that write its row."""
    previous_counter: int
    info: SignedRequestInfo
    session: Session = field(repr=False)

    @functools.cached_property
    def activation(self) -> Activation:
        """The activation as an object of the session, which writes what is changed in it."""
        self.row = repository.attach_activation(self.session, self.row)
        return self.row

    @functools.cached_property
    def user(self) -> User:
        """The activation's user, read when first needed (most device requests never do)."""
        user = self.session.get(User, self.row.user_id)
        assert user is not None
        return user


def _suspend(
    ctx: ServerContext, activation_id: str, counter: int, last: int
) -> Callable[[Session, list[tuple[str, str]]], None]:
    def follow_up(session: Session, notes: list[tuple[str, str]]) -> None:
        now = ctx.now()
        if not repository.suspend_if_live(session, activation_id, now, "counter_regression"):
            return
        activation = session.get(Activation, activation_id)
        assert activation is not None
        user = session.get(User, activation.user_id)
        assert user is not None
        audit(
            session,
            event="activation.suspended",
            now=now,
            actor=activation_id,
            subject=activation_id,
            data={"reason": "counter_regression", "counter": counter, "last_counter": last},
        )
        alert_customer(ctx, session, user, "suspended", now)
        notes.append((f"device:{activation_id}", "revoked"))

    return follow_up


def _replayed(
    ctx: ServerContext, activation_id: str, nonce: str
) -> Callable[[Session, list[tuple[str, str]]], None]:
    def follow_up(session: Session, _notes: list[tuple[str, str]]) -> None:
        audit(
            session,
            event="device.replay_refused",
            now=ctx.now(),
            actor=activation_id,
            subject=activation_id,
            data={"nonce": nonce},
        )

    return follow_up


def admit(
    ctx: ServerContext,
    session: Session,
    info: SignedRequestInfo,
    *,
    statuses: Collection[str] = ("active",),
) -> Admitted:
    """Admit a verified device request inside the action's write transaction (see module doc)."""
    activation = repository.lock_activation(session, info.key_id)
    if activation is None:
        raise AuthenticationFailed()
    now = ctx.now()
    window = ctx.settings.signature_max_age + ctx.settings.signature_max_skew
    previous = activation.counter
    # The nonce is recorded first; if the request is refused below, the transaction rolls back
    # and ServerContext.transaction records it again (see SIGNED_REQUEST). A request that will be
    # admitted moves its counter in the same statement on PostgreSQL.
    if activation.status in statuses and info.counter > previous:
        new = repository.remember_nonce_and_move_counter(
            session,
            activation,
            info.nonce,
            now + window,
            info.counter,
            max(activation.last_signed_at, info.created),
        )
    else:
        new = repository.remember_new_nonce(session, activation.id, info.nonce, now + window)
    if not new:
        raise AuthenticationFailed(follow_up=_replayed(ctx, activation.id, info.nonce))
    # From here on the request is genuine device traffic: even if it is refused below or later in
    # this transaction, ServerContext.transaction keeps its nonce and counter (see SIGNED_REQUEST),
    # so its replay is recognised as a replay, and only a clone ever sends an unseen nonce with a
    # counter that did not increase.
    session.info[SIGNED_REQUEST] = (activation.id, info.nonce, info.counter, now + window)
    if activation.status not in statuses:
        raise AuthenticationFailed()
    if info.counter <= previous:
        raise AuthenticationFailed(follow_up=_suspend(ctx, activation.id, info.counter, previous))
    return Admitted(row=activation, previous_counter=previous, info=info, session=session)
