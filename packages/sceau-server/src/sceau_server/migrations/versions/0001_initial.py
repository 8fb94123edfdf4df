# SPDX-License-Identifier: Apache-2.0
"""Initial schema: the server's tables and the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 09:52:42.024258
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "audit_checkpoints",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("entry_hash", sa.String(length=43), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("key_fingerprint", sa.String(length=43), nullable=False),
        sa.Column("signature", sa.String(length=86), nullable=False),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_audit_checkpoints_seq_positive")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "audit_entries",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=43), nullable=False),
        sa.Column("hash", sa.String(length=43), nullable=False),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_audit_entries_seq_positive")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entries")),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entries_subject"), ["subject"], unique=False)

    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=43), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    # The audit log's first append needs the head row (the model creates it on create_all).
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "A" * 43}])
    op.create_table(
        "nonces",
        sa.Column("activation_id", sa.String(length=40), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("activation_id", "nonce", name=op.f("pk_nonces")),
    )
    with op.batch_alter_table("nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nonces_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "relying_parties",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("api_key_digest", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("callback_allow", sa.JSON(), nullable=False),
        sa.Column("webhook_secret_wrapped", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relying_parties")),
        sa.UniqueConstraint("api_key_digest", name=op.f("uq_relying_parties_api_key_digest")),
    )
    op.create_table(
        "server_keys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("private_key_wrapped", sa.Text(), nullable=False),
        sa.Column("public_key", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_keys")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("display_name", sa.String(length=140), nullable=False),
        sa.Column("locale", sa.String(length=2), nullable=False),
        sa.Column("phone_changed_at", sa.Integer(), nullable=True),
        sa.Column("fraud_flagged_at", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.CheckConstraint("locale IN ('fr', 'en')", name=op.f("ck_users_locale")),
        sa.CheckConstraint("phone LIKE '+%'", name=op.f("ck_users_phone_e164")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("external_id", name=op.f("uq_users_external_id")),
    )
    op.create_table(
        "activations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("rp_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lookup_digest", sa.String(length=64), nullable=False),
        sa.Column("binding_tag", sa.String(length=64), nullable=False),
        sa.Column("registration_key_wrapped", sa.Text(), nullable=False),
        sa.Column("oprf_key_wrapped", sa.Text(), nullable=False),
        sa.Column("oprf_public_key", sa.String(length=64), nullable=False),
        sa.Column("code_expires_at", sa.Integer(), nullable=False),
        sa.Column("sms_digest", sa.String(length=64), nullable=False),
        sa.Column("sms_expires_at", sa.Integer(), nullable=False),
        sa.Column("sms_attempts", sa.Integer(), nullable=False),
        sa.Column("registration_evaluations", sa.Integer(), nullable=False),
        sa.Column("device_name", sa.String(length=140), nullable=True),
        sa.Column("device_public_key", sa.String(length=100), nullable=True),
        sa.Column("knowledge_public_key", sa.String(length=100), nullable=True),
        sa.Column("inherence_public_key", sa.String(length=100), nullable=True),
        sa.Column("counter", sa.Integer(), nullable=False),
        sa.Column("last_signed_at", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locks", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.Integer(), nullable=True),
        sa.Column("blocked_at", sa.Integer(), nullable=True),
        sa.Column("code_change_until", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("registered_at", sa.Integer(), nullable=True),
        sa.Column("activated_at", sa.Integer(), nullable=True),
        sa.Column("ended_at", sa.Integer(), nullable=True),
        sa.Column("end_reason", sa.String(length=40), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'registered', 'active', 'suspended', 'revoked', 'superseded')",
            name=op.f("ck_activations_status"),
        ),
        sa.CheckConstraint("counter >= 0", name=op.f("ck_activations_counter")),
        sa.CheckConstraint("failures >= 0", name=op.f("ck_activations_failures")),
        sa.CheckConstraint("locks >= 0", name=op.f("ck_activations_locks")),
        sa.CheckConstraint("sms_attempts >= 0", name=op.f("ck_activations_sms_attempts")),
        sa.ForeignKeyConstraint(
            ["rp_id"], ["relying_parties.id"], name=op.f("fk_activations_rp_id_relying_parties")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_activations_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activations")),
        sa.UniqueConstraint("lookup_digest", name=op.f("uq_activations_lookup_digest")),
    )
    with op.batch_alter_table("activations", schema=None) as batch_op:
        batch_op.create_index("ix_activations_user_status", ["user_id", "status"], unique=False)

    op.create_table(
        "operations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("rp_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("match", sa.String(length=2), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("callback_url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=40), nullable=True),
        sa.Column("factors", sa.JSON(), nullable=True),
        sa.Column("suspected_fraud", sa.Boolean(), nullable=False),
        sa.Column("result_jws", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'not_me', 'expired', 'cancelled')",
            name=op.f("ck_operations_status"),
        ),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_operations_window")),
        sa.ForeignKeyConstraint(
            ["rp_id"], ["relying_parties.id"], name=op.f("fk_operations_rp_id_relying_parties")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_operations_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operations")),
        sa.UniqueConstraint("rp_id", "idempotency_key", name="uq_operations_idempotency"),
    )
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_operations_status_expires", ["status", "expires_at"], unique=False
        )
        batch_op.create_index("ix_operations_user_created", ["user_id", "created_at"], unique=False)

    op.create_table(
        "sms_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sms_outbox_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_outbox")),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("operation_id", sa.String(length=40), nullable=False),
        sa.Column("activation_id", sa.String(length=40), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activation_id"],
            ["activations.id"],
            name=op.f("fk_approvals_activation_id_activations"),
        ),
        sa.ForeignKeyConstraint(
            ["operation_id"], ["operations.id"], name=op.f("fk_approvals_operation_id_operations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint("operation_id", "activation_id", name="uq_approvals_signer"),
    )
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("activation_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("operation_id", sa.String(length=40), nullable=True),
        sa.Column("counter", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("cleared_at", sa.Integer(), nullable=True),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("notified_at", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(purpose = 'approval') = (operation_id IS NOT NULL)",
            name=op.f("ck_attempts_purpose_operation"),
        ),
        sa.CheckConstraint(
            "purpose IN ('approval', 'code_change')", name=op.f("ck_attempts_purpose")
        ),
        sa.CheckConstraint("counter > 0", name=op.f("ck_attempts_counter")),
        sa.ForeignKeyConstraint(
            ["activation_id"],
            ["activations.id"],
            name=op.f("fk_attempts_activation_id_activations"),
        ),
        sa.ForeignKeyConstraint(
            ["operation_id"], ["operations.id"], name=op.f("fk_attempts_operation_id_operations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
    )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attempts_activation_created", ["activation_id", "created_at"], unique=False
        )

    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("operation_id", sa.String(length=40), nullable=False),
        sa.Column("rp_id", sa.String(length=40), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("delivered_at", sa.Integer(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')", name=op.f("ck_deliveries_status")
        ),
        sa.ForeignKeyConstraint(
            ["operation_id"], ["operations.id"], name=op.f("fk_deliveries_operation_id_operations")
        ),
        sa.ForeignKeyConstraint(
            ["rp_id"], ["relying_parties.id"], name=op.f("fk_deliveries_rp_id_relying_parties")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("operation_id", name=op.f("uq_deliveries_operation_id")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_status_next", ["status", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_status_next")

    op.drop_table("deliveries")
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_attempts_activation_created")

    op.drop_table("attempts")
    op.drop_table("approvals")
    op.drop_table("sms_outbox")
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.drop_index("ix_operations_user_created")
        batch_op.drop_index("ix_operations_status_expires")

    op.drop_table("operations")
    with op.batch_alter_table("activations", schema=None) as batch_op:
        batch_op.drop_index("ix_activations_user_status")

    op.drop_table("activations")
    op.drop_table("users")
    op.drop_table("server_keys")
    op.drop_table("relying_parties")
    with op.batch_alter_table("nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nonces_expires_at"))

    op.drop_table("nonces")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entries_subject"))

    op.drop_table("audit_entries")
    op.drop_table("audit_checkpoints")
