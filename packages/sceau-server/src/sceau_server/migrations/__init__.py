# SPDX-License-Identifier: Apache-2.0
"""Alembic migrations of the server's database.

``sceau serve`` applies them at start, ``sceau admin db upgrade`` on demand.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

__all__ = ["alembic_config", "upgrade"]

HERE = Path(__file__).parent


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for ``database_url`` without any ini file."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at ``database_url`` to ``revision``; create a SQLite file if needed."""
    from sceau_server.storage.database import Database

    # Creates the directory of a SQLite file; Alembic then creates the file itself.
    Database(database_url).dispose()
    command.upgrade(alembic_config(database_url), revision)
