# SPDX-License-Identifier: Apache-2.0
"""An index on ``attempts.operation_id``: every decision and expiry looks up the operation's
attempts, and without it each one scans a table that grows by a row per validation.

Revision ID: 0005_attempts_by_operation
Revises: 0004_pro
Create Date: 2026-11-27 13:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005_attempts_by_operation"
down_revision: str | None = "0004_pro"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index("ix_attempts_operation", "attempts", ["operation_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_attempts_operation", table_name="attempts")
