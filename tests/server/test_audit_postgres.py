# SPDX-License-Identifier: Apache-2.0
"""The audit log on a real PostgreSQL server, where one statement appends an entry.

On PostgreSQL the append locks the head, hashes the entry, moves the head and inserts the entry
in a single statement, the hash computed by PostgreSQL's ``sha256``. The tests of
``test_audit.py`` that need no SQLite file run here again on that path (pytest takes the
``engine`` fixture of this module for them), with the ones below that only PostgreSQL needs.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from sceau_server.audit import _looks_secret, compute_entry_hash, record_event
from tests.databases import POSTGRES_URL, postgres_databases
from tests.server.test_audit import (
    T0,
    rows,
    test_a_log_rewritten_consistently_without_the_key_is_found,
    test_a_missing_head_row_is_rebuilt_from_the_last_entry,
    test_a_stale_head_fails_the_transaction_instead_of_forking_the_chain,
    test_an_entry_deleted_from_the_middle_is_found,
    test_clean_log_verifies,
    test_concurrent_appends_give_one_continuous_chain,
    test_evidence_bundle_verifies_offline,
    test_hash_rule_is_the_documented_one,
    test_one_altered_entry_is_found,
    test_ordinary_keys_are_accepted,
    test_secret_looking_keys_are_refused,
    test_two_swapped_entries_are_found,
    verify,
)

pytestmark = pytest.mark.skipif(POSTGRES_URL is None, reason="the test command starts PostgreSQL")

__all__ = [
    "test_a_log_rewritten_consistently_without_the_key_is_found",
    "test_a_missing_head_row_is_rebuilt_from_the_last_entry",
    "test_a_stale_head_fails_the_transaction_instead_of_forking_the_chain",
    "test_an_entry_deleted_from_the_middle_is_found",
    "test_clean_log_verifies",
    "test_concurrent_appends_give_one_continuous_chain",
    "test_evidence_bundle_verifies_offline",
    "test_hash_rule_is_the_documented_one",
    "test_one_altered_entry_is_found",
    "test_ordinary_keys_are_accepted",
    "test_secret_looking_keys_are_refused",
    "test_two_swapped_entries_are_found",
]


@pytest.fixture
def engine() -> Iterator[Engine]:
    url = postgres_databases().create()
    engine = create_engine(url, pool_size=8)
    try:
        yield engine
    finally:
        engine.dispose()
        postgres_databases().drop(url)


@pytest.fixture
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def shared_engine() -> Iterator[Engine]:
    """One database for the property test's many examples (each adds to the same chain)."""
    if POSTGRES_URL is None:
        pytest.skip("the test command starts PostgreSQL")
    url = postgres_databases().create()
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
        postgres_databases().drop(url)


_TEXT = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00"),
    max_size=16,
)
# The append refuses keys that look like secrets ("Privkey", "pin"): that refusal has its own tests.
_KEYS = _TEXT.filter(lambda key: not _looks_secret(key))
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=6,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    event=_TEXT.filter(bool),
    actor=_TEXT,
    subject=_TEXT,
    data=st.dictionaries(st.sampled_from(["a", "é", "\"'\\", "\t\n", "𝄞", "z"]), _VALUES),
    at=st.integers(0, 2**53 - 1),
)
def test_the_database_hashes_any_entry_as_the_rule_says(
    shared_engine: Engine, event: str, actor: str, subject: str, data: dict[str, Any], at: int
) -> None:
    # Quotes, backslashes, control and non-BMP characters are escaped or kept by JCS; the bytes
    # around them are built in Python and only the head's hash and sequence number in SQL.
    with Session(shared_engine) as session, session.begin():
        record_event(session, event=event, now=at, actor=actor, subject=subject, data=data)
    entry = rows(shared_engine)[-1]
    assert (entry.event, entry.actor, entry.subject, json.loads(entry.data)) == (
        event,
        actor,
        subject,
        data,
    )
    assert entry.hash == compute_entry_hash(
        seq=entry.seq,
        at=at,
        event=event,
        actor=actor,
        subject=subject,
        data=data,
        prev=entry.prev_hash,
    )
    with shared_engine.connect() as connection:
        head = connection.execute(text("SELECT seq, hash FROM audit_head")).one()
    assert (head.seq, head.hash) == (entry.seq, entry.hash)


def test_many_concurrent_writers_give_one_continuous_chain(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    # Eight connections append at once: each waits for the head that the one before it left.
    errors: list[BaseException] = []
    writers, per_writer = 8, 25
    start = threading.Barrier(writers)

    def writer(name: str) -> None:
        try:
            start.wait()
            for i in range(per_writer):
                with Session(engine) as session, session.begin():
                    for part in range(1 + i % 2):
                        record_event(
                            session,
                            event="operation.approved",
                            now=T0 + i,
                            actor=name,
                            subject=f"{name}-{i}-{part}",
                            data={"i": i},
                        )
        except BaseException as error:  # Reported to the main thread below.
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    expected = writers * (per_writer + per_writer // 2)
    report = verify(engine, key)
    assert report.entries == report.last_seq == expected
    entries = rows(engine)
    assert [row.seq for row in entries] == list(range(1, expected + 1))
    assert all(row.prev_hash == before.hash for before, row in itertools.pairwise(entries))


def test_a_rolled_back_append_leaves_neither_entry_nor_head(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    with Session(engine) as session, session.begin():
        record_event(session, event="a", now=T0, actor="x", subject="s", data={})
    with Session(engine) as session:
        session.begin()
        record_event(session, event="b", now=T0, actor="x", subject="s", data={})
        session.rollback()
    with Session(engine) as session, session.begin():
        record_event(session, event="c", now=T0, actor="x", subject="s", data={})
    assert [(row.seq, row.event) for row in rows(engine)] == [(1, "a"), (2, "c")]
    assert verify(engine, key).last_seq == 2
