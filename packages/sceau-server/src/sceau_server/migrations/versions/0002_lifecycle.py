# SPDX-License-Identifier: Apache-2.0
"""Credential lifecycle: devices on hold, code renewal challenges, forgotten-code resets.

- ``activations``: the statuses ``on_hold`` (a new device waiting for its approval or the end
  of its hold, brief L2) and ``expired`` (an activation never finished in time); the columns
  ``hold_until``, ``replaces_id``, ``hold_operation_id`` and ``renewal_challenge``; an index on
  ``status`` for the sweep.
- ``code_resets``: one row per forgotten-code reset (brief L3).

Revision ID: 0002_lifecycle
Revises: 0001
Create Date: 2026-11-28 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_lifecycle"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_STATUSES = "'pending', 'registered', 'active', 'suspended', 'revoked', 'superseded'"
_NEW_STATUSES = (
    "'pending', 'registered', 'on_hold', 'active', 'suspended', 'revoked', 'superseded', 'expired'"
)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("activations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hold_until", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("replaces_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("hold_operation_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("renewal_challenge", sa.String(length=100), nullable=True))
        batch_op.drop_constraint(op.f("ck_activations_status"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_activations_status"), sa.text(f"status IN ({_NEW_STATUSES})")
        )
        batch_op.create_index("ix_activations_status", ["status"], unique=False)

    op.create_table(
        "code_resets",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("activation_id", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("challenge", sa.String(length=100), nullable=False),
        sa.Column("sms_digest", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.Column("authorized_at", sa.Integer(), nullable=True),
        sa.Column("finished_at", sa.Integer(), nullable=True),
        sa.CheckConstraint("method IN ('biometric', 'sms')", name=op.f("ck_code_resets_method")),
        sa.CheckConstraint(
            "status IN ('open', 'authorized', 'done', 'failed', 'expired', 'superseded')",
            name=op.f("ck_code_resets_status"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_code_resets_attempts")),
        sa.ForeignKeyConstraint(
            ["activation_id"],
            ["activations.id"],
            name=op.f("fk_code_resets_activation_id_activations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_resets")),
    )
    with op.batch_alter_table("code_resets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_code_resets_activation_created", ["activation_id", "created_at"], unique=False
        )


def downgrade() -> None:
    """Revert this revision (activations on hold or expired become revoked)."""
    with op.batch_alter_table("code_resets", schema=None) as batch_op:
        batch_op.drop_index("ix_code_resets_activation_created")
    op.drop_table("code_resets")
    op.execute("UPDATE activations SET status = 'revoked' WHERE status IN ('on_hold', 'expired')")
    with op.batch_alter_table("activations", schema=None) as batch_op:
        batch_op.drop_index("ix_activations_status")
        batch_op.drop_constraint(op.f("ck_activations_status"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_activations_status"), sa.text(f"status IN ({_OLD_STATUSES})")
        )
        batch_op.drop_column("renewal_challenge")
        batch_op.drop_column("hold_operation_id")
        batch_op.drop_column("replaces_id")
        batch_op.drop_column("hold_until")
