# SPDX-License-Identifier: Apache-2.0
"""Alembic environment: the server's tables and the audit log's, on one metadata."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from sceau_server import audit
from sceau_server.db import Base
from sceau_server.storage import models

# Importing these modules registers their tables (the audit log's, the server's) on Base.
TABLE_MODULES = (audit, models)
config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    """Emit the SQL without a database connection."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Apply the migrations on a live connection."""
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
