# SPDX-License-Identifier: Apache-2.0
"""The databases the server's tests run on: SQLite always, PostgreSQL when the test command has one.

``scripts/test`` starts a throwaway PostgreSQL server on loopback (``scripts/postgres``) and
exports its URL as ``SCEAU_TEST_POSTGRES_URL``; the storage, API, end-to-end and cluster tests
are then parametrized on both engines (:data:`BACKENDS`). Each test gets its own PostgreSQL
database, cloned in a few tens of milliseconds from a template that this process migrated once
with Alembic (``CREATE DATABASE … TEMPLATE``), so tests never see each other's rows.
"""

from __future__ import annotations

import os
import threading
import uuid
from typing import Final

from sqlalchemy.engine import make_url

__all__ = ["BACKENDS", "POSTGRES_URL", "PostgresDatabases", "postgres_databases"]

POSTGRES_URL: Final = os.environ.get("SCEAU_TEST_POSTGRES_URL") or None
"""The administrator URL of the test PostgreSQL server (SQLAlchemy form), or ``None``."""

BACKENDS: Final = ("sqlite", "postgresql") if POSTGRES_URL else ("sqlite",)


class PostgresDatabases:
    """Creates one migrated database per test on the server at ``admin_url``."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url)
        self._lock = threading.Lock()
        self._template: str | None = None

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    def _execute(self, statement: str) -> None:
        import psycopg

        conninfo = self.admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(statement.encode())

    def _migrated_template(self) -> str:
        with self._lock:
            if self._template is None:
                from sceau_server.migrations import upgrade

                name = f"sceau_template_{os.getpid()}_{uuid.uuid4().hex[:8]}"
                self._execute(f'CREATE DATABASE "{name}"')
                upgrade(self.url(name))
                self._template = name
            return self._template

    def create(self) -> str:
        """A new database with every migration applied; return its URL."""
        template = self._migrated_template()
        name = f"sceau_{uuid.uuid4().hex[:16]}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def drop(self, url: str) -> None:
        """Drop the database of ``url``, closing any connection still open to it."""
        name = make_url(url).database
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_INSTANCE: list[PostgresDatabases] = []


def postgres_databases() -> PostgresDatabases:
    """This process's :class:`PostgresDatabases` on :data:`POSTGRES_URL`."""
    if POSTGRES_URL is None:
        raise RuntimeError("SCEAU_TEST_POSTGRES_URL is not set")
    if not _INSTANCE:
        _INSTANCE.append(PostgresDatabases(POSTGRES_URL))
    return _INSTANCE[0]
