# SPDX-License-Identifier: Apache-2.0
"""The audit log (brief L5) and dispute evidence (brief R4), on a real SQLite file."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sceau_core.encoding import b64url_encode, canonical_json
from sceau_core.keys import key_fingerprint, sign_message
from sceau_server.audit import (
    CHECKPOINT_LABEL,
    GENESIS_HASH,
    TABLES,
    AuditChainBroken,
    AuditCheckpointInvalid,
    AuditError,
    AuditEvidenceInvalid,
    AuditTruncated,
    Checkpoint,
    _entry_bytes,
    append_checkpoint_journal,
    checkpoint_public_key_path,
    cli_audit_verify,
    cli_evidence,
    cli_verify_evidence,
    compute_entry_hash,
    evidence_digest,
    export_evidence,
    load_checkpoint_public_key,
    load_or_create_checkpoint_key,
    read_checkpoint_journal,
    record_event,
    verify_audit_log,
    verify_evidence,
    write_checkpoint,
)
from sceau_server.db import Base

T0 = 1_764_236_400


def sqlite_engine(path: Path) -> Engine:
    """An engine configured as production configures SQLite: WAL, FULL sync, BEGIN IMMEDIATE."""
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # We emit BEGIN ourselves.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "sceau.db"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = sqlite_engine(db_path)
    Base.metadata.create_all(engine, tables=list(TABLES))
    yield engine
    engine.dispose()


@pytest.fixture
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def append(engine: Engine, count: int, *, start: int = 0) -> None:
    """Append ``count`` events, one transaction each batch."""
    with Session(engine) as session, session.begin():
        for i in range(start, start + count):
            record_event(
                session,
                event="operation.approved",
                now=T0 + i,
                actor=f"activation-{i % 3}",
                subject=f"op-{i}",
                data={"i": i, "factors": ["knowledge", "possession"]},
            )


def checkpoint(engine: Engine, key: ec.EllipticCurvePrivateKey, *, now: int = T0) -> Checkpoint:
    with Session(engine) as session, session.begin():
        written = write_checkpoint(session, private_key=key, now=now)
    assert written is not None
    return written


def verify(engine: Engine, key: ec.EllipticCurvePrivateKey, **kwargs: Any) -> Any:
    with Session(engine) as session:
        return verify_audit_log(session, public_key=key.public_key(), **kwargs)


def sql(engine: Engine, statement: str, **params: Any) -> None:
    """Tamper with the database as someone with write access to it would."""
    with engine.begin() as connection:
        connection.execute(text(statement), params)


ALTERED = '{"factors":["possession"],"i":2}'


def rows(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT * FROM audit_entries ORDER BY seq")))


def rehash_from(engine: Engine, first: int) -> None:
    """Recompute every hash from entry ``first`` on, as an attacker without the key can."""
    entries = rows(engine)
    prev = entries[first - 2].hash if first > 1 else GENESIS_HASH
    with engine.begin() as connection:
        for row in entries[first - 1 :]:
            new = compute_entry_hash(
                seq=row.seq,
                at=row.at,
                event=row.event,
                actor=row.actor,
                subject=row.subject,
                data=json.loads(row.data),
                prev=prev,
            )
            connection.execute(
                text("UPDATE audit_entries SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": new, "s": row.seq},
            )
            prev = new
        connection.execute(text("UPDATE audit_head SET hash = :h"), {"h": prev})


# -- A clean log ---------------------------------------------------------------------------------


def test_clean_log_verifies(engine: Engine, key: ec.EllipticCurvePrivateKey) -> None:
    append(engine, 10)
    checkpoint(engine, key)
    append(engine, 10, start=10)
    checkpoint(engine, key, now=T0 + 60)
    append(engine, 3, start=20)
    report = verify(engine, key)
    assert (report.entries, report.checkpoints, report.last_seq) == (23, 2, 23)
    assert report.last_checkpoint_seq == 20
    assert report.unanchored_entries == 3
    assert report.last_hash == rows(engine)[-1].hash


def test_empty_log_verifies_and_needs_no_checkpoint(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    report = verify(engine, key)
    assert (report.entries, report.checkpoints, report.last_checkpoint_seq) == (0, 0, None)
    with Session(engine) as session, session.begin():
        assert write_checkpoint(session, private_key=key, now=T0) is None


def test_no_second_checkpoint_for_the_same_entry(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    append(engine, 2)
    checkpoint(engine, key)
    with Session(engine) as session, session.begin():
        assert write_checkpoint(session, private_key=key, now=T0 + 1) is None


def test_hash_rule_is_the_documented_one(engine: Engine, key: ec.EllipticCurvePrivateKey) -> None:
    with Session(engine) as session, session.begin():
        record_event(
            session,
            event="device.registered",
            now=T0,
            actor="bank-operator",
            subject="activation-1",
            data={"z": 1, "name": "Téléphone de Léa", "a": [True, None]},
        )
    (entry,) = rows(engine)
    # Hand-written RFC 8785 text: keys sorted, no spaces, UTF-8 as is.
    body = (
        '{"actor":"bank-operator","at":1764236400,'
        '"data":{"a":[true,null],"name":"Téléphone de Léa","z":1},"event":"device.registered",'
        f'"prev":"{"A" * 43}","seq":1,"subject":"activation-1"}}'
    )
    expected = b64url_encode(hashlib.sha256(b"sceau/v1/audit\x00" + body.encode()).digest())
    assert (entry.seq, entry.prev_hash, entry.hash) == (1, GENESIS_HASH, expected)
    assert GENESIS_HASH == "A" * 43
    assert entry.data == '{"a":[true,null],"name":"Téléphone de Léa","z":1}'

    signed = checkpoint(engine, key, now=T0 + 5)
    assert signed.signed_message() == (f'{{"at":{T0 + 5},"hash":"{expected}","seq":1}}'.encode())
    assert signed.key_fingerprint == key_fingerprint(key.public_key())


# -- Tampering with entries ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("data", '{"factors":["possession"],"i":4}'),
        ("data", '{"factors": ["knowledge","possession"], "i": 4}'),  # Same meaning, not canonical.
        ("data", "not json"),
        ("event", "operation.rejected"),
        ("at", T0 + 1000),
        ("actor", "activation-9"),
        ("subject", "op-99"),
        ("prev_hash", "B" * 43),
        ("hash", "B" * 43),
    ],
)
def test_one_altered_entry_is_found(
    engine: Engine, key: ec.EllipticCurvePrivateKey, column: str, value: object
) -> None:
    append(engine, 10)
    checkpoint(engine, key)
    sql(engine, f"UPDATE audit_entries SET {column} = :v WHERE seq = 5", v=value)  # noqa: S608
    with pytest.raises(AuditChainBroken) as caught:
        verify(engine, key)
    assert caught.value.seq == 5


def test_an_entry_rewritten_with_its_own_hash_recomputed_is_found_by_the_next_link(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    # Entry 5 is consistent in itself, and the checkpoint still signs entry 10's untouched hash:
    # only entry 6, which points to entry 5's original hash, can reveal the rewrite.
    append(engine, 10)
    checkpoint(engine, key)
    fifth = rows(engine)[4]
    forged = compute_entry_hash(
        seq=5,
        at=fifth.at,
        event=fifth.event,
        actor=fifth.actor,
        subject=fifth.subject,
        data=json.loads(ALTERED),
        prev=fifth.prev_hash,
    )
    sql(engine, "UPDATE audit_entries SET data = :d, hash = :h WHERE seq = 5", d=ALTERED, h=forged)
    with pytest.raises(AuditChainBroken) as caught:
        verify(engine, key)
    assert caught.value.seq == 6


@pytest.mark.parametrize(
    ("column", "value"), [("event", 42), ("hash", 42), ("data", 42), ("at", "soon"), ("at", 2**60)]
)
def test_values_of_the_wrong_type_are_found(
    engine: Engine, key: ec.EllipticCurvePrivateKey, column: str, value: object
) -> None:
    append(engine, 6)
    sql(engine, f"UPDATE audit_entries SET {column} = :v WHERE seq = 3", v=value)  # noqa: S608
    with pytest.raises(AuditChainBroken) as caught:
        verify(engine, key)
    assert caught.value.seq == 3


def test_an_entry_deleted_from_the_middle_is_found(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    append(engine, 10)
    sql(engine, "DELETE FROM audit_entries WHERE seq = 6")
    with pytest.raises(AuditChainBroken) as caught:
        verify(engine, key)
    assert caught.value.seq == 6
    assert "entry 6 is missing" in caught.value.reason


def test_the_first_entries_deleted_are_found(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    append(engine, 10)
    sql(engine, "DELETE FROM audit_entries WHERE seq <= 2")
    with pytest.raises(AuditChainBroken) as caught:
        verify(engine, key)
    assert caught.value.seq == 1


def test_two_swapped_entries_are_found(engine: Engine, key: ec.EllipticCurvePrivateKey) -> None:
    append(engine, 10)
    # Entries 5 and 6 exchange places: their sequence numbers travel with their content.
    sql(engine, "UPDATE audit_entries SET seq = 1000 WHERE seq = 5")
    sql(engine, "UPDATE audit_entries SET seq = 5 WHERE seq = 6")
    sql(engine, "UPDATE audit_entries SET seq = 6 WHERE seq = 1000")
    with pytest.raises(AuditChainBroken) as caught:
        verify(engine, key)
    assert caught.value.seq == 5


def test_the_tail_truncated_after_a_checkpoint_is_found(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    append(engine, 15)
    checkpoint(engine, key)
    append(engine, 5, start=15)
    # The attacker cuts the log back to entry 12 and fixes the head to hide it.
    sql(engine, "DELETE FROM audit_entries WHERE seq > 12")
    sql(
        engine,
        "UPDATE audit_head SET seq = 12, hash = (SELECT hash FROM audit_entries WHERE seq = 12)",
    )
    with pytest.raises(AuditTruncated) as caught:
        verify(engine, key)
    assert (caught.value.expected_seq, caught.value.found_seq) == (15, 12)


def test_a_cut_tail_is_found_by_the_head_until_it_is_fixed(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    append(engine, 10)
    checkpoint(engine, key)
    append(engine, 10, start=10)
    sql(engine, "DELETE FROM audit_entries WHERE seq > 17")
    with pytest.raises(AuditTruncated) as caught:
        verify(engine, key)
    assert (caught.value.expected_seq, caught.value.found_seq) == (20, 17)
    # Documented limit: entries after the latest checkpoint are only as safe as the database.
    # Someone who also rewrites the head row cuts them unnoticed.
    sql(
        engine,
        "UPDATE audit_head SET seq = 17, hash = (SELECT hash FROM audit_entries WHERE seq = 17)",
    )
    assert verify(engine, key).last_seq == 17


def test_a_log_rewritten_consistently_without_the_key_is_found(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    append(engine, 10)
    checkpoint(engine, key)
    append(engine, 10, start=10)
    checkpoint(engine, key, now=T0 + 60)
    sql(engine, "UPDATE audit_entries SET data = :d WHERE seq = 3", d=ALTERED)
    rehash_from(engine, 3)
    with pytest.raises(AuditCheckpointInvalid) as caught:
        verify(engine, key)
    assert caught.value.seq == 10
    assert "no longer matches" in caught.value.reason


def test_a_checkpoint_signed_by_another_key_is_found(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    append(engine, 10)
    checkpoint(engine, key)
    sql(engine, "UPDATE audit_entries SET data = :d WHERE seq = 3", d=ALTERED)
    rehash_from(engine, 3)
    # The attacker re-signs the rewritten log with a key of their own, naming ours or theirs.
    mallory = ec.generate_private_key(ec.SECP256R1())
    for fingerprint in (key_fingerprint(key.public_key()), key_fingerprint(mallory.public_key())):
        forged = Checkpoint(
            seq=10, hash=rows(engine)[9].hash, at=T0, key_fingerprint="", signature=""
        )
        signature = sign_message(mallory, label=CHECKPOINT_LABEL, message=forged.signed_message())
        sql(
            engine,
            "UPDATE audit_checkpoints SET entry_hash = :h, key_fingerprint = :f, signature = :s",
            h=forged.hash,
            f=fingerprint,
            s=b64url_encode(signature),
        )
        with pytest.raises(AuditCheckpointInvalid) as caught:
            verify(engine, key)
        assert caught.value.seq == 10


def test_a_forged_checkpoint_beyond_the_log_is_a_forgery_not_a_truncation(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    append(engine, 3)
    sql(
        engine,
        "INSERT INTO audit_checkpoints VALUES (99, :h, :at, :f, :s)",
        h="A" * 43,
        at=T0,
        f=key_fingerprint(key.public_key()),
        s="A" * 86,
    )
    with pytest.raises(AuditCheckpointInvalid) as caught:
        verify(engine, key)
    assert caught.value.seq == 99


def test_a_deleted_checkpoint_row_is_found_only_with_the_journal(
    engine: Engine, key: ec.EllipticCurvePrivateKey, tmp_path: Path
) -> None:
    journal = tmp_path / "checkpoints.jsonl"
    append(engine, 10)
    append_checkpoint_journal(journal, checkpoint(engine, key))
    append(engine, 10, start=10)
    append_checkpoint_journal(journal, checkpoint(engine, key, now=T0 + 60))
    anchors = read_checkpoint_journal(journal)
    assert [a.seq for a in anchors] == [10, 20]
    assert verify(engine, key, anchors=anchors).checkpoints == 2

    sql(engine, "DELETE FROM audit_checkpoints WHERE seq = 20")
    # From the database alone, the older checkpoint still verifies; the latest one is gone.
    report = verify(engine, key)
    assert (report.checkpoints, report.last_checkpoint_seq) == (1, 10)
    with pytest.raises(AuditCheckpointInvalid) as caught:
        verify(engine, key, anchors=anchors)
    assert caught.value.seq == 20


def test_deleting_every_checkpoint_then_rewriting_is_found_only_with_the_journal(
    engine: Engine, key: ec.EllipticCurvePrivateKey, tmp_path: Path
) -> None:
    journal = tmp_path / "checkpoints.jsonl"
    append(engine, 10)
    append_checkpoint_journal(journal, checkpoint(engine, key))
    sql(engine, "DELETE FROM audit_checkpoints")
    sql(engine, "UPDATE audit_entries SET data = :d WHERE seq = 3", d=ALTERED)
    rehash_from(engine, 3)
    assert verify(engine, key).entries == 10  # Documented limit without a copy outside the DB.
    with pytest.raises(AuditCheckpointInvalid):
        verify(engine, key, anchors=read_checkpoint_journal(journal))
    # Also cutting the log below the journal's checkpoint is a truncation.
    sql(engine, "DELETE FROM audit_entries WHERE seq > 4")
    with pytest.raises(AuditTruncated) as caught:
        verify(engine, key, anchors=read_checkpoint_journal(journal))
    assert (caught.value.expected_seq, caught.value.found_seq) == (10, 4)


def test_a_forged_journal_line_is_refused(engine: Engine, key: ec.EllipticCurvePrivateKey) -> None:
    append(engine, 3)
    real = checkpoint(engine, key)
    forged = Checkpoint(
        seq=real.seq,
        hash="B" * 43,
        at=real.at,
        key_fingerprint=real.key_fingerprint,
        signature=real.signature,
    )
    with pytest.raises(AuditCheckpointInvalid):
        verify(engine, key, anchors=[forged])


def test_no_checkpoint_is_signed_over_a_broken_chain(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    append(engine, 5)
    checkpoint(engine, key)
    append(engine, 5, start=5)
    sql(engine, """UPDATE audit_entries SET event = 'x' WHERE seq = 7""")
    with pytest.raises(AuditChainBroken) as caught, Session(engine) as session:
        write_checkpoint(session, private_key=key, now=T0)
    assert caught.value.seq == 7
    sql(engine, """UPDATE audit_entries SET event = 'operation.approved' WHERE seq = 7""")
    sql(engine, "UPDATE audit_checkpoints SET entry_hash = :h WHERE seq = 5", h="B" * 43)
    with pytest.raises(AuditCheckpointInvalid), Session(engine) as session:
        write_checkpoint(session, private_key=key, now=T0)


# -- Appending -----------------------------------------------------------------------------------


def test_concurrent_appends_give_one_continuous_chain(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    errors: list[BaseException] = []
    per_thread, writers = 60, 2

    def writer(name: str) -> None:
        try:
            for i in range(per_thread):
                with Session(engine) as session, session.begin():
                    record_event(
                        session,
                        event="code.failed",
                        now=T0 + i,
                        actor=name,
                        subject=f"{name}-{i}",
                        data={"failures": i},
                    )
                    if i % 3 == 0:  # Sometimes two events in one transaction.
                        record_event(
                            session,
                            event="activation.locked",
                            now=T0 + i,
                            actor=name,
                            subject=f"{name}-{i}",
                            data={},
                        )
        except BaseException as error:  # Reported to the main thread below.
            errors.append(error)

    def checkpointer() -> None:
        try:
            for i in range(10):
                with Session(engine) as session, session.begin():
                    write_checkpoint(session, private_key=key, now=T0 + i)
                time.sleep(0.005)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(writers)]
    threads.append(threading.Thread(target=checkpointer))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    expected = writers * (per_thread + per_thread // 3)
    report = verify(engine, key)
    assert report.entries == report.last_seq == expected
    assert [row.seq for row in rows(engine)] == list(range(1, expected + 1))
    assert {row.actor for row in rows(engine)} == {"w0", "w1"}


def test_a_stale_head_fails_the_transaction_instead_of_forking_the_chain(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    append(engine, 6)
    stale = rows(engine)[4]
    sql(engine, "UPDATE audit_head SET seq = 5, hash = :h", h=stale.hash)
    with pytest.raises(IntegrityError):
        append(engine, 1, start=6)  # Would be a second entry 6: the primary key refuses it.
    assert verify(engine, key).last_seq == 6


def test_a_missing_head_row_is_rebuilt_from_the_last_entry(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    append(engine, 4)
    sql(engine, "DELETE FROM audit_head")
    append(engine, 2, start=4)
    assert verify(engine, key).last_seq == 6


@pytest.mark.parametrize(
    "data",
    [
        {"code": "123456"},
        {"pin": "4826"},
        {"password": "hunter2"},
        {"otp": "123456"},
        {"sms_code": "123456"},
        {"secret": "x"},
        {"private_key": "x"},
        {"smsCode": "x"},
        {"PIN": "x"},
        {"new_pin": "x"},
        {"activation-code": "x"},
        {"user_passcode": "x"},
        {"clientSecret": "x"},
        {"privateKey": "x"},
        {"device": {"privateKey": "x"}},
        {"attempts": [{"ok": 1}, {"pin": "x"}]},
    ],
)
def test_secret_looking_keys_are_refused(engine: Engine, data: dict[str, Any]) -> None:
    with Session(engine) as session, session.begin(), pytest.raises(ValueError, match="secrets"):
        record_event(session, event="x", now=T0, actor="a", subject="s", data=data)
    assert rows(engine) == []


def test_ordinary_keys_are_accepted(engine: Engine, key: ec.EllipticCurvePrivateKey) -> None:
    data = {"attempts_left": 3, "pinned_key": "k", "opinion": "ok", "spinner": 1, "keys": []}
    with Session(engine) as session, session.begin():
        record_event(session, event="x", now=T0, actor="a", subject="s", data=data)
    assert verify(engine, key).entries == 1


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"event": ""}, ValueError),
        ({"event": "e" * 65}, ValueError),
        ({"actor": "a\x00b"}, ValueError),
        ({"now": True}, TypeError),
        ({"now": -1}, ValueError),
        ({"now": 2**53}, ValueError),
        ({"data": {"n": float("nan")}}, ValueError),
        ({"data": {"blob": "x" * 70_000}}, ValueError),
        ({"data": ["not", "a", "mapping"]}, TypeError),
    ],
)
def test_malformed_events_are_refused(
    engine: Engine, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    arguments: dict[str, Any] = {"event": "x", "now": T0, "actor": "a", "subject": "s", "data": {}}
    arguments.update(kwargs)
    with Session(engine) as session, session.begin(), pytest.raises(error):
        record_event(session, **arguments)


# -- The checkpoint key --------------------------------------------------------------------------


def test_the_checkpoint_key_is_created_once_private_and_with_its_public_key(
    tmp_path: Path,
) -> None:
    path = tmp_path / "checkpoint.pem"
    first = load_or_create_checkpoint_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    public_path = checkpoint_public_key_path(path)
    assert public_path == tmp_path / "checkpoint.pub.pem"
    assert key_fingerprint(load_checkpoint_public_key(public_path)) == key_fingerprint(
        first.public_key()
    )
    again = load_or_create_checkpoint_key(path)
    assert again.private_numbers() == first.private_numbers()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pem", "checkpoint.pub.pem"]
    assert checkpoint_public_key_path(tmp_path / "key") == tmp_path / "key.pub.pem"


def test_a_public_key_file_of_another_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pem"
    load_or_create_checkpoint_key(path)
    other = tmp_path / "other.pem"
    load_or_create_checkpoint_key(other)
    checkpoint_public_key_path(path).write_bytes(checkpoint_public_key_path(other).read_bytes())
    with pytest.raises(ValueError, match="another key"):
        load_or_create_checkpoint_key(path)


def test_a_readable_private_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pem"
    load_or_create_checkpoint_key(path)
    path.chmod(0o644)
    with pytest.raises(PermissionError):
        load_or_create_checkpoint_key(path)


def test_a_key_on_another_curve_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    path = tmp_path / "p384.pem"
    pem = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    path.chmod(0o600)
    with pytest.raises(ValueError, match="P-256"):
        load_or_create_checkpoint_key(path)


# -- Evidence (R4) -------------------------------------------------------------------------------

OPERATION = {
    "v": 1,
    "id": "op-42",
    "type": "transfer",
    "data": {"amount": "1234.56", "currency": "EUR", "payee_iban": "FR7630006000011234567890189"},
}
APPROVAL = {
    "approval": {"op": "op-42", "decision": "approve", "counter": 7},
    "signatures": {"possession": "c2ln"},
}
RESULT_JWS = "eyJhbGciOiJFUzI1NiJ9.eyJvcCI6Im9wLTQyIn0.c2ln"


def dispute_log(engine: Engine) -> None:
    """A log where operation op-42's events are interleaved with other customers' events."""
    with Session(engine) as session, session.begin():
        record_event(session, event="login.approved", now=T0, actor="a-1", subject="op-1", data={})
        record_event(
            session,
            event="operation.created",
            now=T0 + 1,
            actor="rp-web",
            subject="op-42",
            data={"digest": evidence_digest(OPERATION), "type": "transfer"},
        )
        record_event(
            session, event="login.approved", now=T0 + 2, actor="a-2", subject="op-2", data={}
        )
        record_event(
            session,
            event="code.failed",
            now=T0 + 3,
            actor="a-7",
            subject="activation-7",
            data={"operation": "op-42", "failures": 1},
        )
        record_event(
            session,
            event="operation.approved",
            now=T0 + 4,
            actor="a-7",
            subject="op-42",
            data={"approval_digest": evidence_digest(APPROVAL)},
        )
        record_event(
            session,
            event="operation.result",
            now=T0 + 5,
            actor="server",
            subject="op-42",
            data={"status": "approved", "result_digest": evidence_digest(RESULT_JWS)},
        )
        record_event(
            session,
            event="login.approved",
            now=T0 + 6,
            actor="a-3",
            subject="op-3",
            data={"note": "op-42x is another operation"},
        )


def export(engine: Engine, key: ec.EllipticCurvePrivateKey, **slots: Any) -> dict[str, Any]:
    with Session(engine) as session:
        return export_evidence(session, operation_id="op-42", public_key=key.public_key(), **slots)


def test_evidence_bundle_verifies_offline(engine: Engine, key: ec.EllipticCurvePrivateKey) -> None:
    dispute_log(engine)
    append(engine, 2, start=100)
    checkpoint(engine, key)  # Covers entry 9.
    append(engine, 3, start=200)
    checkpoint(engine, key)  # A later checkpoint; the bundle takes the first that covers.
    bundle = export(engine, key, operation=OPERATION, approvals=[APPROVAL], result_jws=RESULT_JWS)
    assert bundle["entries"] == [2, 4, 5, 6]
    assert [entry["seq"] for entry in bundle["chain"]] == list(range(2, 10))
    assert bundle["checkpoint"]["seq"] == 9
    data = canonical_json(bundle)
    for form in (bundle, data, json.loads(data)):
        report = verify_evidence(form, public_key=key.public_key())
        assert report.entries == (2, 4, 5, 6)
        assert (report.chain_start, report.checkpoint_seq) == (2, 9)
        assert report.bound == ("operation", "approvals[0]", "result_jws")
        assert report.unbound == ()


def test_any_altered_byte_of_an_evidence_bundle_is_found(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    dispute_log(engine)
    checkpoint(engine, key)
    data = canonical_json(
        export(engine, key, operation=OPERATION, approvals=[APPROVAL], result_jws=RESULT_JWS)
    )
    verify_evidence(data, public_key=key.public_key())
    undetected = []
    for position in range(len(data)):
        for flip in (0x01, 0x20):
            altered = bytearray(data)
            altered[position] ^= flip
            try:
                verify_evidence(bytes(altered), public_key=key.public_key())
            except AuditError:
                continue
            undetected.append((position, flip))
    assert undetected == []


@pytest.mark.parametrize(
    "data",
    [b"[" * 100_000 + b"]" * 100_000, b'{"n":' + b"9" * 5000 + b"}", b"\xff", b"[]", b""],
)
def test_hostile_bundle_files_are_refused(key: ec.EllipticCurvePrivateKey, data: bytes) -> None:
    with pytest.raises(AuditEvidenceInvalid):
        verify_evidence(data, public_key=key.public_key())


def test_evidence_without_a_covering_checkpoint_proves_nothing(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    dispute_log(engine)
    bundle = export(engine, key)
    assert bundle["checkpoint"] is None
    assert bundle["chain"][-1]["seq"] == 6
    with pytest.raises(AuditEvidenceInvalid, match="no checkpoint covers entry 6"):
        verify_evidence(bundle, public_key=key.public_key())


def test_evidence_the_log_does_not_vouch_for_is_flagged(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    dispute_log(engine)
    checkpoint(engine, key)
    other = dict(OPERATION, data={"amount": "9999.99", "currency": "EUR"})
    bundle = export(engine, key, operation=other, approvals=[APPROVAL])
    with pytest.raises(AuditEvidenceInvalid, match="do not vouch for operation"):
        verify_evidence(bundle, public_key=key.public_key())
    report = verify_evidence(bundle, public_key=key.public_key(), allow_unbound=True)
    assert (report.bound, report.unbound) == (("approvals[0]",), ("operation",))


def test_evidence_needs_the_right_key(engine: Engine, key: ec.EllipticCurvePrivateKey) -> None:
    dispute_log(engine)
    checkpoint(engine, key)
    bundle = export(engine, key)
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(AuditCheckpointInvalid):
        verify_evidence(bundle, public_key=other.public_key())


def test_evidence_hiding_a_relevant_entry_is_found(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    dispute_log(engine)
    checkpoint(engine, key)
    bundle = export(engine, key)
    bundle["entries"] = [2, 5, 6]  # Leaves out the failed code attempt of entry 4.
    with pytest.raises(AuditEvidenceInvalid, match="entries must list"):
        verify_evidence(bundle, public_key=key.public_key())


def test_evidence_of_an_unknown_operation_is_a_lookup_error(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    dispute_log(engine)
    with Session(engine) as session, pytest.raises(LookupError):
        export_evidence(session, operation_id="op-4", public_key=key.public_key())


def test_evidence_export_refuses_a_broken_log(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    dispute_log(engine)
    checkpoint(engine, key)
    sql(engine, "UPDATE audit_entries SET at = 0 WHERE seq = 3")
    with pytest.raises(AuditChainBroken) as caught:
        export(engine, key)
    assert caught.value.seq == 3


# -- CLI glue ------------------------------------------------------------------------------------


def test_cli_audit_verify(engine: Engine, db_path: Path, tmp_path: Path) -> None:
    key_path = tmp_path / "checkpoint.pem"
    key = load_or_create_checkpoint_key(key_path)
    public_path = checkpoint_public_key_path(key_path)
    url = f"sqlite:///{db_path}"
    append(engine, 1234)
    checkpoint(engine, key)
    append(engine, 3, start=1234)

    out, err = io.StringIO(), io.StringIO()
    assert cli_audit_verify(url, public_path, out=out, err=err) == 0
    assert out.getvalue() == (
        "Audit log verified: 1 237 entries, 1 checkpoint, last checkpoint at entry 1 234; "
        "3 later entries not yet covered by a checkpoint.\n"
    )
    sql(engine, "UPDATE audit_entries SET actor = 'x' WHERE seq = 57")
    out = io.StringIO()
    assert cli_audit_verify(url, public_path, out=out, err=err) == 1
    assert out.getvalue().startswith("Audit log BROKEN at entry 57: ")

    assert cli_audit_verify(url, tmp_path / "missing.pem", out=out, err=err) == 2
    missing_db = f"sqlite:///{tmp_path / 'missing.db'}"
    assert cli_audit_verify(missing_db, public_path, out=out, err=err) == 2
    assert not (tmp_path / "missing.db").exists()
    assert cli_audit_verify("nonsense://", public_path, out=out, err=err) == 2


def test_cli_evidence_round_trip(engine: Engine, db_path: Path, tmp_path: Path) -> None:
    key_path = tmp_path / "checkpoint.pem"
    load_or_create_checkpoint_key(key_path)
    public_path = checkpoint_public_key_path(key_path)
    url = f"sqlite:///{db_path}"
    dispute_log(engine)
    target = tmp_path / "op-42.json"

    def collect(_session: Session, operation_id: str) -> Any:
        assert operation_id == "op-42"
        return {"operation": OPERATION, "approvals": [APPROVAL], "result_jws": RESULT_JWS}

    out, err = io.StringIO(), io.StringIO()
    # No checkpoint covers op-42 yet and no private key is given: nothing is written.
    assert cli_evidence(url, "op-42", public_path, target, collect=collect, out=out, err=err) == 1
    assert "No checkpoint covers entry 6" in out.getvalue()
    assert not target.exists()
    # With the private key, a checkpoint is written first.
    out = io.StringIO()
    code = cli_evidence(
        url,
        "op-42",
        public_path,
        target,
        checkpoint_private_key_path=key_path,
        collect=collect,
        now=T0 + 99,
        out=out,
        err=err,
    )
    assert code == 0, err.getvalue()
    assert "Checkpoint written at entry 7." in out.getvalue()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    out = io.StringIO()
    assert cli_verify_evidence(target, public_path, out=out, err=err) == 0
    assert out.getvalue().startswith("Evidence for operation op-42 verified: 4 entries about it")
    assert "The log vouches for: operation, approvals[0], result_jws." in out.getvalue()

    # The file exists already; an unknown operation is a usage error.
    assert cli_evidence(url, "op-42", public_path, target, out=out, err=err) == 2
    assert cli_evidence(url, "op-0", public_path, tmp_path / "x.json", out=out, err=err) == 2

    data = bytearray(target.read_bytes())
    data[data.index(b"1234.56")] = ord("9")
    target.write_bytes(bytes(data))
    out = io.StringIO()
    assert cli_verify_evidence(target, public_path, out=out, err=err) == 1
    assert out.getvalue().startswith("Evidence INVALID: ")


# -- Scale ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_ten_thousand_entries_verify_in_batches(
    engine: Engine, key: ec.EllipticCurvePrivateKey
) -> None:
    for start in range(0, 10_000, 2_500):
        append(engine, 2_500, start=start)
        checkpoint(engine, key, now=T0 + start)
    started = time.perf_counter()
    report = verify(engine, key)
    elapsed = time.perf_counter() - started
    assert (report.entries, report.checkpoints) == (10_000, 4)
    print(f"\nverified 10 000 entries and 4 checkpoints in {elapsed:.2f} s")  # Not asserted.


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=12,
)


@given(
    seq=st.integers(1, 2**40),
    at=st.integers(0, 2**33),
    event=st.text(max_size=12),
    actor=st.text(max_size=12),
    subject=st.text(max_size=12),
    data=st.dictionaries(st.text(max_size=8), _JSON_VALUES, max_size=4),
    prev=st.text(max_size=12),
)
def test_an_appended_entry_hashes_as_the_rule_says(
    seq: int, at: int, event: str, actor: str, subject: str, data: dict[str, Any], prev: str
) -> None:
    # The append writes the entry around its data's JCS bytes instead of encoding it twice.
    spliced = _entry_bytes(
        seq=seq,
        at=at,
        event=event,
        actor=actor,
        subject=subject,
        data=canonical_json(data),
        prev=prev,
    )
    whole = canonical_json(
        {
            "seq": seq,
            "at": at,
            "event": event,
            "actor": actor,
            "subject": subject,
            "data": data,
            "prev": prev,
        }
    )
    assert spliced == whole
