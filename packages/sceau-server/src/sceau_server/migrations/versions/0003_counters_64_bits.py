# SPDX-License-Identifier: Apache-2.0
"""Device counters on 64 bits: ``activations.counter`` and ``attempts.counter``.

A device counter goes up to 2**53 - 1 (docs/protocol.md); PostgreSQL's INTEGER stops at
2**31 - 1. SQLite's INTEGER already holds 64 bits, so this revision changes nothing there.

Revision ID: 0003_counters_64_bits
Revises: 0002_lifecycle
Create Date: 2026-11-28 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_counters_64_bits"
down_revision: str | None = "0002_lifecycle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (("activations", "counter"), ("attempts", "counter"))


def upgrade() -> None:
    """Apply this revision."""
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column in _COLUMNS:
        op.alter_column(
            table, column, type_=sa.BigInteger(), existing_type=sa.Integer(), nullable=False
        )


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column in _COLUMNS:
        op.alter_column(
            table, column, type_=sa.Integer(), existing_type=sa.BigInteger(), nullable=False
        )
