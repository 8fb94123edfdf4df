# SPDX-License-Identifier: Apache-2.0
"""The server's tables, on the shared declarative :class:`~sceau_server.db.Base`.

Times are integer Unix seconds, except the webhook schedule (fractional seconds). Secrets are
never stored in clear: API keys, activation lookups and SMS codes as keyed digests (HMAC), OPRF
keys, registration keys, webhook secrets and the server signing key wrapped by the master key.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from sceau_server.db import Base

__all__ = [
    "ACTIVATION_STATUSES",
    "OPERATION_STATUSES",
    "Account",
    "AccountRight",
    "Activation",
    "Approval",
    "Attempt",
    "BatchLines",
    "CodeReset",
    "Delivery",
    "Member",
    "Nonce",
    "Operation",
    "Organisation",
    "RelyingParty",
    "ServerKey",
    "SmsMessage",
    "User",
]

ACTIVATION_STATUSES = (
    "pending",
    "registered",
    "on_hold",
    "active",
    "suspended",
    "revoked",
    "superseded",
    "expired",
)
RESET_METHODS = ("biometric", "sms")
RESET_STATUSES = ("open", "authorized", "done", "failed", "expired", "superseded")
OPERATION_STATUSES = ("pending", "approved", "rejected", "not_me", "expired", "cancelled")


# Device counters go up to 2**53 - 1 (docs/protocol.md): 64 bits on PostgreSQL; SQLite's INTEGER
# already holds 64 bits.
_COUNTER = BigInteger().with_variant(Integer(), "sqlite")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class RelyingParty(Base):
    """A bank back-end that calls the RP API with its own API key."""

    __tablename__ = "relying_parties"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    api_key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    callback_allow: Mapped[list[str]] = mapped_column(JSON)
    webhook_secret_wrapped: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(Integer)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class User(Base):
    """A customer of the bank, known by the bank's own identifier."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_in("locale", ("fr", "en")), name="locale"),
        CheckConstraint("phone LIKE '+%'", name="phone_e164"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    phone: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(140))
    locale: Mapped[str] = mapped_column(String(2))
    phone_changed_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fraud_flagged_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[int] = mapped_column(Integer)


class Activation(Base):
    """One device bound to one user: its keys, counter, and code-attempt state (K3)."""

    __tablename__ = "activations"
    __table_args__ = (
        CheckConstraint(_in("status", ACTIVATION_STATUSES), name="status"),
        CheckConstraint("counter >= 0", name="counter"),
        CheckConstraint("failures >= 0", name="failures"),
        CheckConstraint("locks >= 0", name="locks"),
        CheckConstraint("sms_attempts >= 0", name="sms_attempts"),
        Index("ix_activations_user_status", "user_id", "status"),
        Index("ix_activations_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    rp_id: Mapped[str] = mapped_column(ForeignKey("relying_parties.id"))
    status: Mapped[str] = mapped_column(String(16))
    lookup_digest: Mapped[str] = mapped_column(String(64), unique=True)
    binding_tag: Mapped[str] = mapped_column(String(64))
    registration_key_wrapped: Mapped[str] = mapped_column(Text)
    oprf_key_wrapped: Mapped[str] = mapped_column(Text)
    oprf_public_key: Mapped[str] = mapped_column(String(64))
    code_expires_at: Mapped[int] = mapped_column(Integer)
    sms_digest: Mapped[str] = mapped_column(String(64))
    sms_expires_at: Mapped[int] = mapped_column(Integer)
    sms_attempts: Mapped[int] = mapped_column(Integer, default=0)
    registration_evaluations: Mapped[int] = mapped_column(Integer, default=0)
    device_name: Mapped[str | None] = mapped_column(String(140), nullable=True)
    device_public_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    knowledge_public_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    inherence_public_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    counter: Mapped[int] = mapped_column(_COUNTER, default=0)
    last_signed_at: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locks: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[int | None] = mapped_column(Integer, nullable=True)
    blocked_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    code_change_until: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[int] = mapped_column(Integer)
    registered_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    activated_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ended_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    hold_until: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """While ``on_hold``: when the new device becomes active unless cancelled (brief L2)."""
    replaces_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    """While ``on_hold``: the device this one replaces when it becomes active, if any."""
    hold_operation_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    """While ``on_hold``: the ``new_device`` operation by which a current device approves it."""
    renewal_challenge: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """The single-use challenge a code change's new knowledge key signs (key renewal)."""


class CodeReset(Base):
    """One forgotten-code reset of an activation (brief L3), from its start to its end.

    ``challenge`` is the server's single-use challenge that the biometric authorization and the
    new knowledge key's renewal signature cover; ``sms_digest`` the keyed digest of the SMS code
    of an ``sms`` reset; ``attempts`` the failed verifications, at most ``sms_code_attempts``.
    """

    __tablename__ = "code_resets"
    __table_args__ = (
        CheckConstraint(_in("method", RESET_METHODS), name="method"),
        CheckConstraint(_in("status", RESET_STATUSES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_code_resets_activation_created", "activation_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    activation_id: Mapped[str] = mapped_column(ForeignKey("activations.id"))
    method: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    challenge: Mapped[str] = mapped_column(String(100))
    sms_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(Integer)
    authorized_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    finished_at: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Operation(Base):
    """An operation an RP asked a user to approve, stored exactly as it is signed."""

    __tablename__ = "operations"
    __table_args__ = (
        CheckConstraint(_in("status", OPERATION_STATUSES), name="status"),
        CheckConstraint("expires_at > created_at", name="window"),
        UniqueConstraint("rp_id", "idempotency_key", name="uq_operations_idempotency"),
        Index("ix_operations_user_created", "user_id", "created_at"),
        Index("ix_operations_status_expires", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    rp_id: Mapped[str] = mapped_column(ForeignKey("relying_parties.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    match: Mapped[str | None] = mapped_column(String(2), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    callback_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(Integer)
    decided_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    factors: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    suspected_fraud: Mapped[bool] = mapped_column(Boolean, default=False)
    result_jws: Mapped[str | None] = mapped_column(Text, nullable=True)
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.id"), nullable=True, index=True
    )
    """A shared account's operation (Sceau Pro): its validators decide, under ``rule``."""
    rule: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The account's approval rule as it was at creation (RFC 8785 JSON)."""


class Approval(Base):
    """A signed approval the server accepted: the evidence of a decision (brief R3, R4)."""

    __tablename__ = "approvals"
    __table_args__ = (
        UniqueConstraint("operation_id", "activation_id", name="uq_approvals_signer"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operation_id: Mapped[str] = mapped_column(ForeignKey("operations.id"))
    activation_id: Mapped[str] = mapped_column(ForeignKey("activations.id"))
    decision: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    """On a shared account's operation: the member whose device decided."""


class Attempt(Base):
    """One evaluation of the code, counted as a failure until a valid knowledge signature."""

    __tablename__ = "attempts"
    __table_args__ = (
        Index("ix_attempts_activation_created", "activation_id", "created_at"),
        Index("ix_attempts_operation", "operation_id"),
        CheckConstraint("counter > 0", name="counter"),
        CheckConstraint(_in("purpose", ("approval", "code_change")), name="purpose"),
        CheckConstraint(
            "(purpose = 'approval') = (operation_id IS NOT NULL)", name="purpose_operation"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    activation_id: Mapped[str] = mapped_column(ForeignKey("activations.id"))
    purpose: Mapped[str] = mapped_column(String(16))
    operation_id: Mapped[str | None] = mapped_column(ForeignKey("operations.id"), nullable=True)
    counter: Mapped[int] = mapped_column(_COUNTER)
    created_at: Mapped[int] = mapped_column(Integer)
    cleared_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    notified_at: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Nonce(Base):
    """A request-signature nonce seen recently for an activation (replay cache, brief P2)."""

    __tablename__ = "nonces"

    activation_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(Integer, index=True)


class Delivery(Base):
    """A webhook to send to an RP's callback URL, retried with backoff until acknowledged."""

    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint(_in("status", ("pending", "delivered", "failed")), name="status"),
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    operation_id: Mapped[str] = mapped_column(ForeignKey("operations.id"), unique=True)
    rp_id: Mapped[str] = mapped_column(ForeignKey("relying_parties.id"))
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    created_at: Mapped[int] = mapped_column(Integer)
    delivered_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)


class SmsMessage(Base):
    """An SMS the default sender wrote instead of sending it; ``sceau admin outbox`` reads it."""

    __tablename__ = "sms_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    phone: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(Integer)


class ServerKey(Base):
    """The server's P-256 signing key, wrapped by the master key; devices pin its public half."""

    __tablename__ = "server_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_key_wrapped: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Organisation(Base):
    """A company whose members share accounts (Sceau Pro, issue 8), owned by one RP."""

    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rp_id: Mapped[str] = mapped_column(ForeignKey("relying_parties.id"))
    name: Mapped[str] = mapped_column(String(140))
    created_at: Mapped[int] = mapped_column(Integer)


class Member(Base):
    """A user's membership of an organisation; each member has their own devices and code."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("organisation_id", "user_id", name="uq_members_organisation_user"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(140))
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[int] = mapped_column(Integer)


class Account(Base):
    """A shared account of an organisation, with its approval rule."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    iban: Mapped[str] = mapped_column(String(34), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    name: Mapped[str] = mapped_column(String(140))
    rule: Mapped[str] = mapped_column(Text)
    rule_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(Integer)


class AccountRight(Base):
    """A member's rights on an account: the JSON array of ``view``, ``prepare``, ``validate``."""

    __tablename__ = "account_rights"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), primary_key=True)
    rights: Mapped[str] = mapped_column(Text)


class BatchLines(Base):
    """A batch transfer's lines: the RFC 8785 array whose SHA-256 is its ``lines_digest``."""

    __tablename__ = "batch_lines"

    operation_id: Mapped[str] = mapped_column(ForeignKey("operations.id"), primary_key=True)
    lines: Mapped[str] = mapped_column(Text)
