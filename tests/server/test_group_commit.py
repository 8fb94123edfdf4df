# SPDX-License-Identifier: Apache-2.0
"""SQLite write transactions committed in groups: one COMMIT for those that queued together.

Real SQLite files and real threads. A first job holds the writer's turn until the others have
queued behind it, so that they form one group; SQLite's statement trace counts the COMMITs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from sceau_server.db import driver_rowcount, driver_rows
from sceau_server.storage.database import CommitFailed, Database, after_commit
from tests.server.conftest import wait_until


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'group.db'}")
    with db.write() as session:
        session.execute(text("CREATE TABLE parents (id TEXT PRIMARY KEY)"))
        session.execute(
            text(
                "CREATE TABLE rows (id TEXT PRIMARY KEY, parent TEXT REFERENCES parents (id) "
                "DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    yield db
    db.dispose()


def _commits(database: Database) -> list[str]:
    """A list that receives one item per COMMIT that SQLite runs on the write engine."""
    seen: list[str] = []

    def trace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(
            lambda statement: seen.append(statement) if statement == "COMMIT" else None
        )

    event.listen(database.engine, "connect", trace)
    database.dispose()  # The connections opened from now on are traced.
    return seen


def _insert(session: Session, row: str, parent: str | None = None) -> None:
    session.execute(
        text("INSERT INTO rows (id, parent) VALUES (:id, :p)"), {"id": row, "p": parent}
    )


def _stored(database: Database) -> set[str]:
    """The rows a fresh reader sees."""
    with database.read() as session:
        return {row for (row,) in session.execute(text("SELECT id FROM rows"))}


class Job(threading.Thread):
    """One write transaction in a thread of its own; keeps what it returned or raised."""

    def __init__(self, database: Database, work: Callable[[Session], Any]) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.work = work
        self.error: BaseException | None = None
        self.returned = threading.Event()
        self.callback_ran = threading.Event()

    def run(self) -> None:
        try:
            with self.database.write() as session:
                after_commit(session, self.callback_ran.set)
                self.work(session)
        except BaseException as error:
            self.error = error
        self.returned.set()


def _group(
    database: Database, first: Callable[[Session], Any], others: list[Callable[[Session], Any]]
) -> list[Job]:
    """Run ``first`` until every job of ``others`` has queued behind it; all run as one group."""
    holding, release = threading.Event(), threading.Event()

    def held(session: Session) -> None:
        first(session)
        holding.set()
        assert release.wait(timeout=30)

    jobs = [Job(database, held)]
    jobs[0].start()
    assert holding.wait(timeout=30)
    for work in others:
        job = Job(database, work)
        jobs.append(job)
        job.start()
    wait_until(lambda: database.queued_writes == len(others))
    release.set()
    for job in jobs:
        job.join(timeout=30)
        assert job.returned.is_set()
    return jobs


def test_queued_write_transactions_share_one_commit(database: Database) -> None:
    commits = _commits(database)
    jobs = _group(
        database,
        lambda s: _insert(s, "a"),
        [lambda s, name=name: _insert(s, name) for name in ("b", "c", "d")],  # type: ignore[misc]
    )
    assert [job.error for job in jobs] == [None] * 4
    assert all(job.callback_ran.is_set() for job in jobs)
    assert _stored(database) == {"a", "b", "c", "d"}
    assert len(commits) == 1


def test_a_job_that_fails_in_a_group_leaves_the_others_committed_and_itself_absent(
    database: Database,
) -> None:
    def failing(session: Session) -> None:
        _insert(session, "failed")
        raise ValueError("refused")

    def sees_earlier_jobs(session: Session) -> None:
        # BEGIN IMMEDIATE semantics: a job reads the writes of the jobs before it, and not
        # those of a job that was rolled back (the queued jobs run in no set order).
        seen = {row for (row,) in session.execute(text("SELECT id FROM rows"))}
        assert "a" in seen, seen
        assert "failed" not in seen, seen
        _insert(session, "c")

    jobs = _group(
        database,
        lambda s: _insert(s, "a"),
        [failing, sees_earlier_jobs, lambda s: _insert(s, "d")],
    )
    assert isinstance(jobs[1].error, ValueError)
    assert not jobs[1].callback_ran.is_set()
    assert [jobs[0].error, jobs[2].error, jobs[3].error] == [None, None, None]
    assert _stored(database) == {"a", "c", "d"}


def test_a_failed_integrity_check_rolls_back_only_its_job(database: Database) -> None:
    def duplicate(session: Session) -> None:
        _insert(session, "a")

    jobs = _group(database, lambda s: _insert(s, "a"), [duplicate, lambda s: _insert(s, "z")])
    assert "UNIQUE" in str(jobs[1].error)
    assert [jobs[0].error, jobs[2].error] == [None, None]
    assert _stored(database) == {"a", "z"}


def _insert_on_driver(session: Session, row: str) -> None:
    assert driver_rowcount(session, "INSERT INTO rows (id) VALUES (?)", (row,)) == 1


def test_driver_statements_commit_and_roll_back_with_their_job(database: Database) -> None:
    def failing(session: Session) -> None:
        _insert_on_driver(session, "failed")
        _insert(session, "failed-orm")
        _insert_on_driver(session, "failed-after")
        raise ValueError("refused")

    def mixed(session: Session) -> None:
        _insert(session, "c")
        _insert_on_driver(session, "d")

    jobs = _group(
        database,
        lambda s: _insert_on_driver(s, "a"),
        [failing, mixed, lambda s: _insert_on_driver(s, "e")],
    )
    assert isinstance(jobs[1].error, ValueError)
    assert [jobs[0].error, jobs[2].error, jobs[3].error] == [None, None, None]
    assert _stored(database) == {"a", "c", "d", "e"}
    with database.read() as session:
        assert sorted(driver_rows(session, "SELECT id FROM rows", ())) == [
            ("a",),
            ("c",),
            ("d",),
            ("e",),
        ]


def test_nothing_is_visible_and_nothing_returns_before_the_commit(database: Database) -> None:
    holding, hold = threading.Event(), threading.Event()

    def held(session: Session) -> None:
        _insert(session, "a")
        holding.set()
        assert hold.wait(timeout=30)

    first = Job(database, held)
    observed: dict[str, Any] = {}

    def second(session: Session) -> None:
        _insert(session, "b")
        # The first job's work is done and waits in the open group for this one to end.
        observed["reader"] = _stored(database)
        observed["own"] = {row for (row,) in session.execute(text("SELECT id FROM rows"))}
        observed["first returned"] = first.returned.wait(timeout=0.5)
        observed["first callback"] = first.callback_ran.is_set()

    first.start()
    assert holding.wait(timeout=30)
    later = Job(database, second)
    later.start()
    wait_until(lambda: database.queued_writes == 1)
    hold.set()
    for job in (first, later):
        job.join(timeout=30)
    assert observed == {
        "reader": set(),
        "own": {"a", "b"},
        "first returned": False,
        "first callback": False,
    }
    assert [first.error, later.error] == [None, None]
    assert first.callback_ran.is_set()
    assert later.callback_ran.is_set()
    assert _stored(database) == {"a", "b"}


def test_a_group_whose_commit_fails_acknowledges_none_of_its_jobs(database: Database) -> None:
    def orphan(session: Session) -> None:
        # A deferred foreign key: accepted now, refused by the COMMIT.
        _insert(session, "orphan", parent="nobody")

    jobs = _group(database, lambda s: _insert(s, "a"), [orphan, lambda s: _insert(s, "c")])
    for job in jobs:
        assert isinstance(job.error, CommitFailed), job.error
        assert "FOREIGN KEY" in str(job.error.__cause__)
        assert not job.callback_ran.is_set()
    assert _stored(database) == set()

    # The next write transactions start afresh and commit.
    with database.write() as session:
        _insert(session, "after")
    assert _stored(database) == {"after"}


def test_a_write_transaction_inside_another_is_refused_at_once(database: Database) -> None:
    with database.write() as session:
        _insert(session, "outer")
        with pytest.raises(RuntimeError), database.write():
            pass
    assert _stored(database) == {"outer"}


def test_a_new_database_file_and_its_journal_are_readable_by_their_owner_only(
    tmp_path: Path,
) -> None:
    import os
    import stat

    previous = os.umask(0o022)  # the usual umask, under which files are world-readable
    try:
        database = Database(f"sqlite:///{tmp_path / 'sceau.db'}")
    finally:
        os.umask(previous)
    try:
        with database.write() as session:
            session.execute(text("CREATE TABLE kept (value TEXT)"))
            session.execute(text("INSERT INTO kept VALUES ('wrapped server key')"))
        modes = {
            path.name: stat.S_IMODE(path.stat().st_mode)
            for path in tmp_path.iterdir()
            if path.name.startswith("sceau.db")
        }
    finally:
        database.dispose()
    assert modes.get("sceau.db") == 0o600
    assert modes.get("sceau.db-wal") == 0o600


def _stored_by_driver(database: Database) -> set[str]:
    with database.read() as session:
        return {row for (row,) in driver_rows(session, "SELECT id FROM rows", ())}


def test_reads_see_every_commit_before_them_on_kept_connections(database: Database) -> None:
    for name in ("a", "b", "c"):
        with database.write() as session:
            _insert(session, name)
        assert name in _stored_by_driver(database)

    def failing_read() -> None:
        with database.read() as session:
            driver_rows(session, "SELECT id FROM rows", ())
            raise LookupError

    with pytest.raises(LookupError):
        failing_read()
    with database.write() as session:
        _insert(session, "d")
    assert _stored_by_driver(database) == _stored(database) == {"a", "b", "c", "d"}
