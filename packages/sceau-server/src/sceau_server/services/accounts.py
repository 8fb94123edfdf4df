# SPDX-License-Identifier: Apache-2.0
"""Relying parties (API keys, scopes, callback allowlists) and users."""

from __future__ import annotations

import base64
import hmac
import os
import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from sceau_core.encoding import b64url_encode
from sceau_core.operations import INTERNAL_TYPES, OperationType
from sceau_server.errors import CallbackNotAllowed, Conflict, Forbidden, NotFound, Unauthorized
from sceau_server.services.context import ServerContext, random_id
from sceau_server.services.events import alert_customer, audit
from sceau_server.storage import repository
from sceau_server.storage.models import RelyingParty, User

__all__ = [
    "ADMIN_SCOPE",
    "ALL_SCOPES",
    "API_KEY_PREFIX",
    "NewRelyingParty",
    "authenticate_rp",
    "check_callback",
    "create_rp",
    "get_user",
    "looks_like_server_id",
    "mask_phone",
    "require_scope",
    "upsert_user",
    "user_view",
    "webhook_secret",
]

API_KEY_PREFIX = "sceau_sk_"
ALL_SCOPES = (
    "users",
    "activations",
    "organisations",
    *(kind.value for kind in OperationType if kind not in INTERNAL_TYPES),
)
"""The scopes a relying party's key gets unless told otherwise (``sceau admin rp create``)."""

ADMIN_SCOPE = "admin"
"""The bank operator's back-office: list, revoke and unblock devices (``/v1/admin``).

Never granted by default: a key gets it only when asked explicitly (``--scopes admin``).
"""


@dataclass(frozen=True)
class NewRelyingParty:
    """A relying party just created: its API key and webhook secret are shown only now."""

    id: str
    name: str
    api_key: str
    webhook_secret: str
    scopes: tuple[str, ...]
    callback_allow: tuple[str, ...]


def _check_allow_entry(url: str, *, production: bool) -> str:
    parts = urlsplit(url)
    if production and parts.scheme != "https":
        raise ValueError(f"callback prefix {url!r} must be https in production")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"callback prefix {url!r} must be an absolute http(s) URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"callback prefix {url!r} must have no query, fragment or user info")
    return url


def _confusable_scripts(name: str) -> set[str]:
    """The scripts among Latin, Greek and Cyrillic, whose letters look alike, that ``name``
    has letters of."""
    scripts = set()
    for character in name:
        if unicodedata.category(character).startswith("L"):
            script = unicodedata.name(character, "").split(" ", 1)[0]
            if script in ("LATIN", "GREEK", "CYRILLIC"):
                scripts.add(script)
    return scripts


def create_rp(
    ctx: ServerContext, *, name: str, scopes: list[str], callback_allow: list[str]
) -> NewRelyingParty:
    """Create a relying party and return its API key, which is stored only as a keyed digest.

    Names are unique (ignoring case, spaces, invisible characters and compatibility forms): the
    audit log and the operators tell relying parties apart by name. Raise :class:`Conflict` when
    the name is taken.
    """
    name = unicodedata.normalize("NFC", name.strip())
    if any(unicodedata.category(character) == "Cc" for character in name):
        raise ValueError("the name of a relying party cannot contain control characters")
    if not _name_key(name):
        raise ValueError("the name of a relying party cannot be empty")
    if len(name) > _MAX_NAME:
        raise ValueError(f"the name of a relying party has at most {_MAX_NAME} characters")
    if len(_confusable_scripts(name)) > 1:
        raise ValueError(
            "the name of a relying party cannot mix Latin, Greek and Cyrillic letters "
            "(they look alike: one name could pass for another)"
        )
    unknown = sorted(set(scopes) - {*ALL_SCOPES, ADMIN_SCOPE})
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(unknown)}")
    allow = [_check_allow_entry(url, production=ctx.settings.production) for url in callback_allow]
    rp_id = random_id("rp", 9)
    api_key = API_KEY_PREFIX + b64url_encode(os.urandom(32))
    secret = os.urandom(24)
    webhook = "whsec_" + base64.b64encode(secret).decode("ascii")
    now = ctx.now()
    with ctx.db.write() as session:
        if not ctx.db.is_sqlite:
            # Two creations must not both find the name free (SQLite: BEGIN IMMEDIATE does it).
            session.execute(text("LOCK TABLE relying_parties IN SHARE ROW EXCLUSIVE MODE"))
        taken = session.scalars(select(RelyingParty.name)).all()
        if any(_name_key(other) == _name_key(name) for other in taken):
            raise Conflict(f"a relying party is already named {name!r}")
        session.add(
            RelyingParty(
                id=rp_id,
                name=name,
                api_key_digest=ctx.digest("api-key", "", api_key),
                scopes=list(scopes),
                callback_allow=allow,
                webhook_secret_wrapped=ctx.wrapper.wrap(secret, slot=f"webhook:{rp_id}"),
                created_at=now,
                disabled=False,
            )
        )
        audit(
            session,
            event="rp.api_key_created",
            now=now,
            actor="admin",
            subject=rp_id,
            data={"name": name, "scopes": list(scopes), "callback_allow": allow},
        )
    return NewRelyingParty(rp_id, name, api_key, webhook, tuple(scopes), tuple(allow))


_MAX_NAME = 200  # the length of relying_parties.name


def _name_key(name: str) -> str:
    """What a name looks like to an operator: compatibility forms, invisible characters and
    runs of spaces do not tell two names apart, nor does case."""
    folded = unicodedata.normalize("NFKC", name)
    visible = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    return " ".join(visible.split()).casefold()


def webhook_secret(ctx: ServerContext, rp: RelyingParty) -> bytes:
    """The relying party's webhook signing secret."""
    return ctx.wrapper.unwrap(rp.webhook_secret_wrapped, slot=f"webhook:{rp.id}")


def authenticate_rp(
    ctx: ServerContext, session: Session, authorization: str | None
) -> RelyingParty:
    """Find the relying party of a ``Bearer`` API key, or raise :class:`Unauthorized`."""
    if not authorization:
        raise Unauthorized("An API key is required (Authorization: Bearer …).")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(API_KEY_PREFIX) or len(token) > 128:
        raise Unauthorized("The API key is not valid.")
    digest = ctx.digest("api-key", "", token)
    rp = repository.find_rp_by_key_digest(session, digest)
    if rp is None or rp.disabled or not hmac.compare_digest(rp.api_key_digest, digest):
        raise Unauthorized("The API key is not valid.")
    return rp


def require_scope(rp: RelyingParty, scope: str) -> None:
    """Refuse with :class:`Forbidden` unless the relying party's key has ``scope``."""
    if scope not in rp.scopes:
        raise Forbidden(f"This API key does not have the scope {scope!r}.")


_PATH_ESCAPES = (
    "%2e",
    "%2f",
    "%5c",
    "%25",
    "%7f",
    *(f"%{code:02x}" for code in range(0x20)),
)


def check_callback(rp: RelyingParty, url: str) -> None:
    """Accept ``url`` only if it starts with an allowlisted origin and path (no SSRF)."""
    # urlsplit drops tabs and line breaks: what it checks must be what is stored and posted to.
    if not url.isascii() or not url.isprintable() or " " in url:
        raise CallbackNotAllowed("The callback URL must not have spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise CallbackNotAllowed("The callback URL is not a valid URL.") from error
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise CallbackNotAllowed("The callback URL must have no user info or fragment.")
    # Without its path parameters (``..;x``), as Java servlet containers read a segment.
    segments = {segment.split(";", 1)[0] for segment in parts.path.split("/")}
    encoded = parts.path.lower()
    if (
        "." in segments
        or ".." in segments
        or "\\" in url
        or any(escape in encoded for escape in _PATH_ESCAPES)
    ):
        # A receiver or proxy that decodes before normalizing would climb out of the prefix.
        raise CallbackNotAllowed(
            "The callback URL must not have dot segments or encoded dots, slashes or controls."
        )
    for prefix in rp.callback_allow:
        allowed = urlsplit(prefix)
        same_origin = (
            parts.scheme == allowed.scheme
            and parts.hostname == allowed.hostname
            and port == allowed.port
        )
        base = allowed.path or "/"
        if same_origin and (
            parts.path == base or parts.path.startswith(base if base.endswith("/") else base + "/")
        ):
            return
    raise CallbackNotAllowed("The callback URL is not in this API key's allowlist.")


_SERVER_ID = re.compile(r"^(?:op|act|rp|msg|rst)_", re.IGNORECASE)


def looks_like_server_id(text: str) -> bool:
    """Whether ``text`` could be taken for an id the server makes (``op_…``, ``act_…``…).

    Evidence export (brief R4) gathers the audit entries that mention an operation id: a user
    or a device named like one would plant its own entries in another operation's bundle.
    """
    return _SERVER_ID.match(text) is not None


def get_user(session: Session, external_id: str, *, for_update: bool = False) -> User:
    """The user known by ``external_id``, or :class:`NotFound`."""
    user = repository.find_user(session, external_id, for_update=for_update)
    if user is None:
        raise NotFound("No such user.")
    return user


def upsert_user(
    ctx: ServerContext,
    session: Session,
    rp: RelyingParty,
    external_id: str,
    *,
    phone: str,
    display_name: str,
    locale: str,
    phone_changed_at: int | None,
) -> tuple[User, bool]:
    """Create or update a user; return it and whether it was created."""
    now = ctx.now()
    # A change date in the future would only lengthen the SIM-swap hold; one the RP claims is
    # older than what the server saw never shortens it (brief L3).
    claimed = None if phone_changed_at is None else min(phone_changed_at, now)
    user = repository.find_user(session, external_id, for_update=True)
    created = user is None
    old_phone: str | None = None
    if user is None:
        user = User(
            external_id=external_id,
            phone=phone,
            display_name=display_name,
            locale=locale,
            phone_changed_at=claimed,
            created_at=now,
            updated_at=now,
        )
        session.add(user)
        session.flush()
    else:
        seen = [user.phone_changed_at, claimed]
        if user.phone != phone:
            old_phone = user.phone
            seen.append(now)
        user.phone = phone
        user.display_name = display_name
        user.locale = locale
        user.phone_changed_at = max((date for date in seen if date is not None), default=None)
        user.updated_at = now
    audit(
        session,
        event="user.created" if created else "user.updated",
        now=now,
        actor=rp.id,
        subject=external_id,
        data={"locale": locale, "phone_changed_at": user.phone_changed_at},
    )
    if old_phone is not None:
        audit(
            session,
            event="user.phone_changed",
            now=now,
            actor=rp.id,
            subject=external_id,
            data={
                "old_phone": mask_phone(old_phone),
                "new_phone": mask_phone(phone),
                "phone_changed_at": user.phone_changed_at,
            },
        )
        # Sent to the number being replaced: after a SIM swap the old SIM is the customer's.
        alert_customer(ctx, session, user, "phone_changed", now, to=old_phone)
    return user, created


def mask_phone(phone: str) -> str:
    """A phone number with all but its country prefix and last two digits hidden."""
    return phone[:3] + "•" * max(0, len(phone) - 5) + phone[-2:]


def user_view(session: Session, user: User) -> dict[str, Any]:
    """The user as the RP API shows it, with their devices."""
    activations = repository.user_activations(session, user.id, ("on_hold", "active", "suspended"))
    return {
        "external_id": user.external_id,
        "phone": user.phone,
        "display_name": user.display_name,
        "locale": user.locale,
        "phone_changed_at": user.phone_changed_at,
        "fraud_flagged_at": user.fraud_flagged_at,
        "created_at": user.created_at,
        "devices": [
            {
                "activation_id": activation.id,
                "device_name": activation.device_name,
                "status": activation.status,
                "activated_at": activation.activated_at,
                "locked_until": activation.locked_until,
                "blocked": activation.blocked_at is not None,
                "hold_until": activation.hold_until,
            }
            for activation in activations
        ],
    }
