# SPDX-License-Identifier: Apache-2.0
"""Sceau Pro (issue 8): organisations, members, shared accounts and rights, batch lines.

- ``organisations``, ``members`` (a user in an organisation, maybe its administrator),
  ``accounts`` (a shared IBAN with its approval rule) and ``account_rights``;
- ``operations.account_id`` and ``operations.rule`` (the rule as it was at creation);
- ``approvals.member_id``: the member whose device decided;
- ``batch_lines``: a batch transfer's lines, whose digest the operation carries.

Revision ID: 0004_pro
Revises: 0003_counters_64_bits
Create Date: 2026-11-28 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_pro"
down_revision: str | None = "0003_counters_64_bits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "organisations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("rp_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=140), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rp_id"], ["relying_parties.id"], name=op.f("fk_organisations_rp_id_relying_parties")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
    )
    op.create_table(
        "members",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organisation_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=140), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_members_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_members_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("organisation_id", "user_id", name="uq_members_organisation_user"),
    )
    op.create_index(op.f("ix_members_user_id"), "members", ["user_id"], unique=False)
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organisation_id", sa.String(length=64), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=140), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_accounts_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("iban", name=op.f("uq_accounts_iban")),
    )
    op.create_table(
        "account_rights",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("member_id", sa.String(length=40), nullable=False),
        sa.Column("rights", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_rights_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_account_rights_member_id_members")
        ),
        sa.PrimaryKeyConstraint("account_id", "member_id", name=op.f("pk_account_rights")),
    )
    op.create_table(
        "batch_lines",
        sa.Column("operation_id", sa.String(length=40), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"], ["operations.id"], name=op.f("fk_batch_lines_operation_id_operations")
        ),
        sa.PrimaryKeyConstraint("operation_id", name=op.f("pk_batch_lines")),
    )
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("rule", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_operations_account_id_accounts"), "accounts", ["account_id"], ["id"]
        )
        batch_op.create_index(op.f("ix_operations_account_id"), ["account_id"], unique=False)
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("member_id", sa.String(length=40), nullable=True))


def downgrade() -> None:
    """Revert this revision (every Pro table and column is dropped)."""
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_column("member_id")
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_operations_account_id"))
        batch_op.drop_constraint(op.f("fk_operations_account_id_accounts"), type_="foreignkey")
        batch_op.drop_column("rule")
        batch_op.drop_column("account_id")
    op.drop_table("batch_lines")
    op.drop_table("account_rights")
    op.drop_table("accounts")
    op.drop_index(op.f("ix_members_user_id"), table_name="members")
    op.drop_table("members")
    op.drop_table("organisations")
