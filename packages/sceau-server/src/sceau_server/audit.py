# SPDX-License-Identifier: Apache-2.0
"""The append-only, hash-chained audit log and its signed checkpoints (brief L5, R4).

Every security event is one row of ``audit_entries``. Entry ``n`` carries the hash of entry
``n - 1``, so changing, removing or reordering any entry changes every hash after it::

    hash_n = b64u(SHA256("sceau/v1/audit" || 0x00 ||
                         JCS({"seq", "at", "event", "actor", "subject", "data", "prev"})))

with ``prev = hash_(n-1)`` and, for entry 1, ``prev = GENESIS_HASH`` (43 ``A``: the base64url of
32 zero bytes). ``data`` is the event's JSON object, stored as its RFC 8785 text.

A hash chain alone does not stop someone who can write the database: they can rewrite every
entry and recompute every hash. Checkpoints stop that. A checkpoint signs, with a P-256 key kept
*outside* the database (a file, see :func:`load_or_create_checkpoint_key`, or an HSM)::

    ECDSA-P256-SHA256("sceau/v1/audit-checkpoint" || 0x00 || JCS({"seq", "hash", "at"}))

of the latest entry. :func:`verify_audit_log` then proves that every entry up to the latest
checkpoint is the one that existed when it was signed, and that the log was not cut shorter than
it. ``docs/operations.md`` ("Audit log and evidence") says what is and is not detectable.

Errors::

    AuditError
    ├── AuditChainBroken(seq)                    an entry is missing, altered or out of place
    ├── AuditCheckpointInvalid(seq)              a checkpoint is forged, missing, or no longer
    │                                            matches the entry it signed
    ├── AuditTruncated(expected_seq, found_seq)  the log ends before a signed checkpoint
    ├── AuditEvidenceInvalid                     an evidence bundle does not prove what it says
    └── AuditConflict                            a concurrent append moved the head: retry
"""

from __future__ import annotations

import functools
import hmac
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, TextIO, TypedDict

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Connection,
    Engine,
    Integer,
    String,
    Table,
    Text,
    create_engine,
    insert,
    make_url,
    or_,
    select,
)
from sqlalchemy import event as sa_event
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from sceau_core.encoding import (
    b64url_decode,
    b64url_encode,
    canonical_json,
    parse_json_object,
    sha256,
    sha256_b64url,
)
from sceau_core.errors import InvalidEncoding, InvalidSignature
from sceau_core.keys import key_fingerprint, sign_message, verify_message
from sceau_server.db import Base, driver_rowcount, driver_rows

__all__ = [
    "AUDIT_LABEL",
    "CHECKPOINT_LABEL",
    "EVIDENCE_FORMAT",
    "GENESIS_HASH",
    "TABLES",
    "AuditChainBroken",
    "AuditCheckpoint",
    "AuditCheckpointInvalid",
    "AuditConflict",
    "AuditEntry",
    "AuditError",
    "AuditEvidenceInvalid",
    "AuditHead",
    "AuditReport",
    "AuditTruncated",
    "Checkpoint",
    "EvidenceReport",
    "EvidenceSlots",
    "append_checkpoint_journal",
    "checkpoint_public_key_path",
    "cli_audit_verify",
    "cli_evidence",
    "cli_verify_evidence",
    "compute_entry_hash",
    "evidence_digest",
    "export_evidence",
    "load_checkpoint_public_key",
    "load_or_create_checkpoint_key",
    "read_checkpoint_journal",
    "record_event",
    "verify_audit_log",
    "verify_evidence",
    "write_checkpoint",
]

AUDIT_LABEL: Final = "sceau/v1/audit"
CHECKPOINT_LABEL: Final = "sceau/v1/audit-checkpoint"
EVIDENCE_FORMAT: Final = "sceau/v1/evidence"
GENESIS_HASH: Final = b64url_encode(bytes(32))

HASH_LENGTH: Final = 43
SIGNATURE_TEXT_LENGTH: Final = 86
MAX_EVENT_LENGTH: Final = 64
MAX_NAME_LENGTH: Final = 200
MAX_DATA_BYTES: Final = 65536
MAX_SAFE_INTEGER: Final = 2**53 - 1
BATCH_SIZE: Final = 2000

# -- Errors ------------------------------------------------------------------------------------


class AuditError(Exception):
    """Root of every error the audit log reports; ``reason`` is one plain sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AuditChainBroken(AuditError):
    """Entry ``seq`` is missing, altered or out of place: the hash chain breaks there."""

    def __init__(self, seq: int, reason: str | None = None) -> None:
        super().__init__(reason or f"the hash chain breaks at entry {seq}")
        self.seq = seq


class AuditCheckpointInvalid(AuditError):
    """The checkpoint of entry ``seq`` is forged or missing, or the entry no longer matches it."""

    def __init__(self, seq: int, reason: str | None = None) -> None:
        super().__init__(reason or f"the checkpoint of entry {seq} is invalid")
        self.seq = seq


class AuditTruncated(AuditError):
    """The log ends at ``found_seq`` although a checkpoint proves it reached ``expected_seq``."""

    def __init__(self, expected_seq: int, found_seq: int, reason: str | None = None) -> None:
        super().__init__(
            reason or f"the log ends at entry {found_seq} but reached entry {expected_seq} before"
        )
        self.expected_seq = expected_seq
        self.found_seq = found_seq


class AuditEvidenceInvalid(AuditError):
    """A bundle is malformed or unanchored, or carries something the log does not vouch for."""


class AuditConflict(AuditError):
    """The audit head moved under a concurrent append; roll back and retry the transaction."""


# -- Tables ------------------------------------------------------------------------------------

_SEQ = BigInteger().with_variant(Integer(), "sqlite")


class AuditEntry(Base):
    """One audit event, chained to the previous one by ``prev_hash``."""

    __tablename__ = "audit_entries"
    __table_args__ = (CheckConstraint("seq >= 1", name="seq_positive"),)

    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=False)
    at: Mapped[int] = mapped_column(BigInteger)
    event: Mapped[str] = mapped_column(String(MAX_EVENT_LENGTH))
    actor: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    subject: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), index=True)
    # Plain text, never a JSON/JSONB column: the database must keep the canonical bytes.
    data: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


class AuditCheckpoint(Base):
    """A signature, by the checkpoint key, over the hash of entry ``seq``."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (CheckConstraint("seq >= 1", name="seq_positive"),)

    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=False)
    entry_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    at: Mapped[int] = mapped_column(BigInteger)
    key_fingerprint: Mapped[str] = mapped_column(String(HASH_LENGTH))
    signature: Mapped[str] = mapped_column(String(SIGNATURE_TEXT_LENGTH))


class AuditHead(Base):
    """The single row every append locks: the last sequence number and hash.

    It serializes appenders (``SELECT … FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
    SQLite) and is only a cache of the last entry: verification never trusts it beyond
    detecting a log that is shorter than the head says.
    """

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)  # A declarative model always maps one Table.
    return table


TABLES: Final[tuple[Table, ...]] = (
    _table(AuditEntry),
    _table(AuditCheckpoint),
    _table(AuditHead),
)


_ENTRIES, _CHECKPOINTS, _HEAD = TABLES

# The append's statements go straight through the driver: a few microseconds each, against a
# few hundred through SQLAlchemy, twice per validation. Other queries stay on SQLAlchemy.
_LOCK_HEAD_SQL: Final = "SELECT seq, hash FROM audit_head WHERE id = 1"
_MOVE_HEAD_SQL: Final = "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1 AND seq = ?"
_INSERT_ENTRY_SQL: Final = (
    "INSERT INTO audit_entries (seq, at, event, actor, subject, data, prev_hash, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
# On PostgreSQL one statement locks the head, hashes the entry (the bytes around ``prev`` and
# ``seq`` come from Python, see _entry_parts), moves the head and inserts the entry: one round
# trip instead of three. Under READ COMMITTED the ``FOR UPDATE`` waits for a concurrent append
# to commit and then reads the head it left; the ``UPDATE`` re-finds that row version. The
# entry is inserted only if the head moved, and its primary key refuses a second entry with the
# same ``seq`` whatever the head says: the chain never forks.
_APPEND_PG_SQL: Final = (
    "WITH old AS (SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE), "
    "new AS (SELECT seq + 1 AS seq, hash AS prev, translate(encode(sha256("
    "?::bytea || convert_to('\"prev\":\"' || hash || '\",\"seq\":' || (seq + 1)::text, 'UTF8')"
    " || ?::bytea"
    "), 'base64'), '+/=', '-_') AS hash FROM old), "
    "moved AS (UPDATE audit_head SET seq = new.seq, hash = new.hash FROM new "
    "WHERE audit_head.id = 1 RETURNING audit_head.seq) "
    "INSERT INTO audit_entries (seq, at, event, actor, subject, data, prev_hash, hash) "
    "SELECT new.seq, ?, ?, ?, ?, ?, new.prev, new.hash FROM new JOIN moved ON moved.seq = new.seq "
    "RETURNING seq"
)


@sa_event.listens_for(AuditHead.__table__, "after_create")
def _insert_genesis_head(target: Table, connection: Connection, **_: Any) -> None:
    """Create the head row with the table, so the first two appends never race to create it."""
    connection.execute(target.insert().values(id=1, seq=0, hash=GENESIS_HASH))


# -- Hashing -----------------------------------------------------------------------------------


def _same(a: object, b: object) -> bool:
    """Compare two hash or signature texts in constant time; anything else is unequal."""
    if not isinstance(a, str) or not isinstance(b, str):
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def compute_entry_hash(
    *, seq: int, at: int, event: str, actor: str, subject: str, data: Mapping[str, Any], prev: str
) -> str:
    """The hash of one entry, per the rule in this module's docstring."""
    return _hash_entry(
        canonical_json(
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
    )


_HASH_PREFIX: Final = AUDIT_LABEL.encode("ascii") + b"\x00"


def _hash_entry(body: bytes) -> str:
    return b64url_encode(sha256(_HASH_PREFIX + body))


def _entry_bytes(
    *, seq: int, at: int, event: str, actor: str, subject: str, data: bytes, prev: str
) -> bytes:
    """The JCS bytes that :func:`compute_entry_hash` hashes, around ``data`` already in JCS.

    JCS writes a member's value as that value's own JCS bytes, and the members in key order:
    ``actor``, ``at``, ``data``, ``event``, ``prev``, ``seq``, ``subject``. Appending an event
    thus encodes its data once.
    """
    before, after = _entry_parts(at=at, event=event, actor=actor, subject=subject, data=data)
    return before + canonical_json({"prev": prev, "seq": seq})[1:-1] + after


def _entry_parts(
    *, at: int, event: str, actor: str, subject: str, data: bytes
) -> tuple[bytes, bytes]:
    """The entry's JCS bytes before its ``prev`` member and after its ``seq`` member.

    Between them come ``"prev":"…","seq":…``, which only the append knows once it holds the
    head.
    """
    head = canonical_json({"actor": actor, "at": at})
    named = _event_member(event)
    about = canonical_json({"subject": subject})
    before = head[:-1] + b',"data":' + data + b"," + named + b","
    return before, b"," + about[1:]


@functools.lru_cache(maxsize=256)
def _event_member(event: str) -> bytes:
    """``"event":"…"`` in JCS (an event name is one of a few constants)."""
    return canonical_json({"event": event})[1:-1]


def evidence_digest(value: Mapping[str, Any] | str) -> str:
    """The digest by which an audit entry vouches for an evidence artifact.

    For a JSON object (an operation, an approval) it is ``b64u(SHA256(JCS(value)))`` — for an
    operation, exactly the operation digest of ``docs/protocol.md`` §4. For a string (the result
    JWS) it is ``b64u(SHA256(UTF-8 bytes))``. Events about an operation record these digests in
    their data so that :func:`verify_evidence` can bind the artifacts to the log.
    """
    if isinstance(value, str):
        return sha256_b64url(value.encode("utf-8"))
    return sha256_b64url(canonical_json(value))


# -- Appending ---------------------------------------------------------------------------------

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_SECRET_WORDS: Final = frozenset(
    {
        "code",
        "codes",
        "pin",
        "pins",
        "password",
        "passwords",
        "passwd",
        "pwd",
        "passphrase",
        "passcode",
        "otp",
        "totp",
        "hotp",
        "secret",
        "secrets",
        "privkey",
    }
)
_SECRET_FRAGMENTS: Final = (
    "password",
    "passwd",
    "passphrase",
    "passcode",
    "pincode",
    "smscode",
    "otpcode",
    "secret",
    "privatekey",
)


@functools.lru_cache(maxsize=4096)
def _looks_secret(key: str) -> bool:
    words = [word.lower() for word in _WORD.findall(key)]
    if any(word in _SECRET_WORDS for word in words):
        return True
    joined = "".join(words)
    return any(fragment in joined for fragment in _SECRET_FRAGMENTS)


def _clean(value: Any) -> bool:
    """Whether :func:`_refuse_secrets` accepts ``value``, without naming where it would not."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and _looks_secret(key):
                return False
            if not _clean(item):
                return False
        return True
    if isinstance(value, list | tuple):
        return all(map(_clean, value))
    if isinstance(value, float):
        return not (value.is_integer() and 2**53 <= abs(value) < 1e21)
    return True


def _refuse_secrets(value: Any, path: str) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _looks_secret(key):
                raise ValueError(
                    f"audit data must never carry secrets, and the key {where!r} looks like one "
                    "(code, PIN, password, OTP, secret or private key)"
                )
            _refuse_secrets(item, where)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _refuse_secrets(item, f"{path}[{index}]")
    elif isinstance(value, float) and value.is_integer() and 2**53 <= abs(value) < 1e21:
        # JCS writes it as digits, which read back as an integer beyond what JCS accepts: the
        # verification, which hashes the data as read back, could never recompute the entry.
        raise ValueError(f"audit data {path!r} is a whole number beyond 2**53")


def _check_name(value: object, *, field: str, max_length: int, allow_empty: bool) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a string")
    if (not value and not allow_empty) or len(value) > max_length or "\x00" in value:
        least = "" if allow_empty else "non-empty, "
        raise ValueError(f"{field} must be {least}at most {max_length} characters, without NUL")
    return value


def _check_time(value: object, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{field} must be an integer number of Unix seconds")
    if not 0 <= value <= MAX_SAFE_INTEGER:
        raise ValueError(f"{field} must be between 0 and 2^53 - 1")
    return value


def record_event(
    session: Session, *, event: str, now: int, actor: str, subject: str, data: Mapping[str, Any]
) -> None:
    """Append one event to the audit log inside the caller's transaction.

    The append locks the ``audit_head`` row (``SELECT … FOR UPDATE``; on SQLite the engine must
    begin every transaction with ``BEGIN IMMEDIATE``, which serializes writers), so two
    transactions never take the same sequence number: the second waits for the first to commit.
    The lock is held until the caller commits, so record events late in a transaction. Under
    PostgreSQL ``REPEATABLE READ`` or ``SERIALIZABLE`` isolation a concurrent append fails the
    transaction with a serialization error instead. Any other race (two first appends on a
    database whose head row is missing, a head row changed by hand) fails on the unique primary
    key of ``audit_entries`` or raises :class:`AuditConflict`. In every case the chain never
    forks, and the caller rolls back and retries the whole transaction.

    Raises ``ValueError`` if ``data`` has a key that looks like a secret (code, PIN, password,
    OTP, secret, private key), is not a JSON object, or is larger than 64 KiB.
    """
    _check_name(event, field="event", max_length=MAX_EVENT_LENGTH, allow_empty=False)
    _check_name(actor, field="actor", max_length=MAX_NAME_LENGTH, allow_empty=True)
    _check_name(subject, field="subject", max_length=MAX_NAME_LENGTH, allow_empty=True)
    _check_time(now, field="now")
    if not isinstance(data, Mapping):
        raise TypeError("data must be a mapping")
    if not _clean(data):
        _refuse_secrets(data, "")
    data_text = canonical_json(data)  # InvalidEncoding is a ValueError.
    if len(data_text) > MAX_DATA_BYTES:
        raise ValueError(f"audit data must be at most {MAX_DATA_BYTES} bytes of JSON")

    lock = _LOCK_HEAD_SQL
    if session.get_bind().dialect.name == "postgresql":
        before, after = _entry_parts(
            at=now, event=event, actor=actor, subject=subject, data=data_text
        )
        appended = driver_rows(
            session,
            _APPEND_PG_SQL,
            (
                _HASH_PREFIX + before,
                after,
                now,
                event,
                actor,
                subject,
                data_text.decode("utf-8"),
            ),
        )
        if appended:
            return
        # No head row, or it did not move: the general path rebuilds it or raises.
        lock += " FOR UPDATE"
    head = driver_rows(session, lock, ())
    if head:
        last_seq, last_hash = head[0][0], head[0][1]
    else:
        last_seq, last_hash = _rebuild_head(session.connection())
    seq = last_seq + 1
    entry_hash = _hash_entry(
        _entry_bytes(
            seq=seq,
            at=now,
            event=event,
            actor=actor,
            subject=subject,
            data=data_text,
            prev=last_hash,
        )
    )
    moved = driver_rowcount(session, _MOVE_HEAD_SQL, (seq, entry_hash, last_seq))
    if moved != 1:
        raise AuditConflict("a concurrent append moved the audit head; retry the transaction")
    driver_rowcount(
        session,
        _INSERT_ENTRY_SQL,
        (seq, now, event, actor, subject, data_text.decode("utf-8"), last_hash, entry_hash),
    )


def _rebuild_head(connection: Connection) -> tuple[int, str]:
    """Recreate a missing head row from the last entry (a database created without it)."""
    last = connection.execute(
        select(_ENTRIES.c.seq, _ENTRIES.c.hash).order_by(_ENTRIES.c.seq.desc()).limit(1)
    ).one_or_none()
    seq, entry_hash = (last[0], last[1]) if last is not None else (0, GENESIS_HASH)
    connection.execute(_HEAD.insert().values(id=1, seq=seq, hash=entry_hash))
    return seq, entry_hash


# -- Checkpoints -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that entry ``seq`` had hash ``hash`` at time ``at``."""

    seq: int
    hash: str
    at: int
    key_fingerprint: str
    signature: str

    def signed_message(self) -> bytes:
        """The bytes the checkpoint key signs after its label: ``JCS({"seq","hash","at"})``."""
        return canonical_json({"seq": self.seq, "hash": self.hash, "at": self.at})

    def to_json(self) -> dict[str, Any]:
        """The checkpoint as a JSON object (evidence bundles, the checkpoint journal)."""
        return {
            "seq": self.seq,
            "hash": self.hash,
            "at": self.at,
            "key_fingerprint": self.key_fingerprint,
            "signature": self.signature,
        }

    @classmethod
    def from_json(cls, value: object) -> Checkpoint:
        """Parse a checkpoint object strictly; raise ``AuditEvidenceInvalid``."""
        fields = {"seq", "hash", "at", "key_fingerprint", "signature"}
        if not isinstance(value, Mapping) or set(value) != fields:
            raise AuditEvidenceInvalid(f"a checkpoint has exactly the fields {sorted(fields)}")
        for name in ("seq", "at"):
            if isinstance(value[name], bool) or not isinstance(value[name], int):
                raise AuditEvidenceInvalid(f"checkpoint {name} must be an integer")
        for name in ("hash", "key_fingerprint", "signature"):
            if not isinstance(value[name], str):
                raise AuditEvidenceInvalid(f"checkpoint {name} must be a string")
        return cls(
            seq=value["seq"],
            hash=value["hash"],
            at=value["at"],
            key_fingerprint=value["key_fingerprint"],
            signature=value["signature"],
        )

    def verify(self, public_key: ec.EllipticCurvePublicKey) -> None:
        """Check the signature with the checkpoint public key; raise ``AuditCheckpointInvalid``."""
        if not _same(self.key_fingerprint, key_fingerprint(public_key)):
            raise AuditCheckpointInvalid(
                self.seq, f"the checkpoint of entry {self.seq} names another key"
            )
        try:
            signature = b64url_decode(self.signature, length=64, field="checkpoint signature")
            verify_message(
                public_key, signature, label=CHECKPOINT_LABEL, message=self.signed_message()
            )
        except (InvalidEncoding, InvalidSignature) as error:
            raise AuditCheckpointInvalid(
                self.seq, f"the signature of the checkpoint of entry {self.seq} does not verify"
            ) from error


def write_checkpoint(
    session: Session, *, private_key: ec.EllipticCurvePrivateKey, now: int
) -> Checkpoint | None:
    """Sign the latest entry with the checkpoint key and store the checkpoint.

    Before signing, the entries written since the previous checkpoint are re-verified (hashes,
    sequence, and the previous checkpoint's hash), so a checkpoint never vouches for a chain
    already broken; this raises the :class:`AuditError` found instead. Returns ``None`` when the
    log is empty or the latest entry already has a checkpoint. Run one checkpoint writer at a
    time: two writers racing on the same entry make the second transaction fail on the primary
    key. After the commit, :func:`append_checkpoint_journal` keeps a copy outside the database.
    """
    _check_time(now, field="now")
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).one_or_none()
    if last is None:
        return None
    previous = session.execute(
        select(AuditCheckpoint.seq, AuditCheckpoint.entry_hash)
        .order_by(AuditCheckpoint.seq.desc())
        .limit(1)
    ).one_or_none()
    if previous is not None and previous.seq > last.seq:
        raise AuditTruncated(previous.seq, last.seq)
    if previous is not None and previous.seq == last.seq:
        return None
    start, start_hash = (previous.seq, previous.entry_hash) if previous else (0, GENESIS_HASH)
    tip_seq, tip_hash = _walk_entries(session, after=start, after_hash=start_hash, until=last.seq)
    if tip_seq != last.seq:
        raise AuditTruncated(last.seq, tip_seq)
    unsigned = Checkpoint(
        seq=tip_seq,
        hash=tip_hash,
        at=now,
        key_fingerprint=key_fingerprint(private_key.public_key()),
        signature="",
    )
    signature = sign_message(private_key, label=CHECKPOINT_LABEL, message=unsigned.signed_message())
    checkpoint = replace(unsigned, signature=b64url_encode(signature))
    session.execute(
        insert(AuditCheckpoint).values(
            seq=checkpoint.seq,
            entry_hash=checkpoint.hash,
            at=checkpoint.at,
            key_fingerprint=checkpoint.key_fingerprint,
            signature=checkpoint.signature,
        )
    )
    return checkpoint


# -- The checkpoint key and journal (files outside the database) -------------------------------


def checkpoint_public_key_path(private_key_path: str | os.PathLike[str]) -> Path:
    """Where the public key lives beside ``private_key_path``: ``x.pem`` → ``x.pub.pem``."""
    path = Path(private_key_path)
    if path.suffix == ".pem":
        return path.with_suffix(".pub.pem")
    return path.with_name(path.name + ".pub.pem")


def _public_pem(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _write_new_file(path: Path, data: bytes, mode: int) -> bool:
    """Write ``data`` to ``path`` only if it does not exist; return whether this call wrote it.

    The data goes to a temporary file in the same directory first and is then hard-linked into
    place, which fails if the name exists: a concurrent reader never sees a half-written file.
    """
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(temporary)


def _p256_or_fail(key: object, path: Path) -> None:
    if not isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) or not (
        isinstance(key.curve, ec.SECP256R1)
    ):
        raise ValueError(f"{path} does not hold a P-256 key")


def load_or_create_checkpoint_key(path: str | os.PathLike[str]) -> ec.EllipticCurvePrivateKey:
    """Load the checkpoint private key (PEM, PKCS#8), creating it only if the file is absent.

    A new key is written with mode 0600 and never overwrites a file. The public key is written
    beside it (see :func:`checkpoint_public_key_path`) when that file is absent; a public key
    file that holds another key raises ``ValueError``. An existing private key file that other
    users can read raises ``PermissionError``.
    """
    key_path = Path(path)
    if not key_path.exists():
        fresh = ec.generate_private_key(ec.SECP256R1())
        pem = fresh.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_new_file(key_path, pem, 0o600)  # A concurrent creator may win: load its key.
    if os.name == "posix" and key_path.stat().st_mode & 0o077:
        raise PermissionError(f"{key_path} must be readable by its owner only (chmod 600)")
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    _p256_or_fail(key, key_path)
    assert isinstance(key, ec.EllipticCurvePrivateKey)  # Checked just above.
    public_path = checkpoint_public_key_path(key_path)
    public_pem = _public_pem(key.public_key())
    if not _write_new_file(public_path, public_pem, 0o644):
        existing = load_checkpoint_public_key(public_path)
        if not _same(key_fingerprint(existing), key_fingerprint(key.public_key())):
            raise ValueError(f"{public_path} holds another key than {key_path}")
    return key


def load_checkpoint_public_key(path: str | os.PathLike[str]) -> ec.EllipticCurvePublicKey:
    """Load a checkpoint public key from a PEM file (SubjectPublicKeyInfo)."""
    key_path = Path(path)
    key = serialization.load_pem_public_key(key_path.read_bytes())
    _p256_or_fail(key, key_path)
    assert isinstance(key, ec.EllipticCurvePublicKey)  # Checked just above.
    return key


def append_checkpoint_journal(path: str | os.PathLike[str], checkpoint: Checkpoint) -> None:
    """Append a committed checkpoint, as one line of RFC 8785 JSON, to a journal file.

    The journal lives outside the database (beside the key, or shipped to write-once storage),
    so that deleting the latest checkpoints from the database, or the entries after them, is
    still detected when :func:`verify_audit_log` is given the journal as ``anchors``.
    """
    line = canonical_json(checkpoint.to_json()) + b"\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_checkpoint_journal(path: str | os.PathLike[str]) -> list[Checkpoint]:
    """Read every checkpoint of a journal written by :func:`append_checkpoint_journal`."""
    checkpoints = []
    with open(path, "rb") as file:
        for number, line in enumerate(file, start=1):
            if line.strip():
                try:
                    value = parse_json_object(line, field=f"journal line {number}")
                except InvalidEncoding as error:
                    raise AuditEvidenceInvalid(str(error)) from error
                checkpoints.append(Checkpoint.from_json(value))
    return checkpoints


# -- Verification ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditReport:
    """What a successful verification proved."""

    entries: int
    checkpoints: int
    last_seq: int
    last_hash: str
    last_checkpoint_seq: int | None

    @property
    def unanchored_entries(self) -> int:
        """Entries after the latest checkpoint: only the database vouches for them."""
        return self.last_seq - (self.last_checkpoint_seq or 0)


_ENTRY_COLUMNS = (
    AuditEntry.seq,
    AuditEntry.at,
    AuditEntry.event,
    AuditEntry.actor,
    AuditEntry.subject,
    AuditEntry.data,
    AuditEntry.prev_hash,
    AuditEntry.hash,
)
_CHECKPOINT_COLUMNS = (
    AuditCheckpoint.seq,
    AuditCheckpoint.entry_hash,
    AuditCheckpoint.at,
    AuditCheckpoint.key_fingerprint,
    AuditCheckpoint.signature,
)


def _entries(session: Session, *, after: int, until: int | None = None) -> Iterator[Any]:
    """Stream entries with ``seq > after`` in order, one batch of rows in memory at a time."""
    while True:
        query = select(*_ENTRY_COLUMNS).where(AuditEntry.seq > after)
        if until is not None:
            query = query.where(AuditEntry.seq <= until)
        rows = session.execute(query.order_by(AuditEntry.seq).limit(BATCH_SIZE)).all()
        yield from rows
        if len(rows) < BATCH_SIZE:
            return
        after = rows[-1].seq


def _checkpoints(session: Session) -> Iterator[Checkpoint]:
    """Stream checkpoints in order of the entry they cover."""
    after = 0
    while True:
        rows = session.execute(
            select(*_CHECKPOINT_COLUMNS)
            .where(AuditCheckpoint.seq > after)
            .order_by(AuditCheckpoint.seq)
            .limit(BATCH_SIZE)
        ).all()
        for row in rows:
            yield Checkpoint(
                seq=row.seq,
                hash=row.entry_hash,
                at=row.at,
                key_fingerprint=row.key_fingerprint,
                signature=row.signature,
            )
        if len(rows) < BATCH_SIZE:
            return
        after = rows[-1].seq


def _check_entry(row: Any, *, expected_seq: int, prev: str) -> str:
    """Check one stored entry against its position and predecessor; return its hash."""
    seq = row.seq
    if seq != expected_seq:
        raise AuditChainBroken(
            expected_seq, f"entry {expected_seq} is missing (the next entry is {seq})"
        )
    try:
        data = parse_json_object(row.data, field="data")
        canonical = canonical_json(data) == row.data.encode("utf-8")
    except (ValueError, RecursionError, TypeError, AttributeError) as error:
        # InvalidEncoding is a ValueError; the others come from a value of the wrong type.
        raise AuditChainBroken(seq, f"entry {seq} has data that is not a JSON object") from error
    if not canonical:
        raise AuditChainBroken(seq, f"entry {seq} has data that is not in canonical form")
    if not _same(row.prev_hash, prev):
        previous = f"the hash of entry {seq - 1}" if seq > 1 else "the genesis hash"
        raise AuditChainBroken(seq, f"entry {seq} does not point to {previous}")
    try:
        recomputed = compute_entry_hash(
            seq=seq,
            at=row.at,
            event=row.event,
            actor=row.actor,
            subject=row.subject,
            data=data,
            prev=prev,
        )
    except InvalidEncoding as error:
        raise AuditChainBroken(seq, f"entry {seq} cannot be hashed") from error
    if not _same(row.hash, recomputed):
        raise AuditChainBroken(seq, f"entry {seq} does not match its hash: it was altered")
    return recomputed


def _walk_entries(session: Session, *, after: int, after_hash: str, until: int) -> tuple[int, str]:
    """Verify entries ``after + 1 … until``; return the last sequence number and hash seen."""
    if after > 0:
        row = session.execute(
            select(AuditEntry.hash).where(AuditEntry.seq == after)
        ).scalar_one_or_none()
        if row is None:
            raise AuditChainBroken(after, f"entry {after} is missing")
        if not _same(row, after_hash):
            raise AuditCheckpointInvalid(
                after, f"entry {after} no longer matches its signed checkpoint"
            )
    seq, prev = after, after_hash
    for row in _entries(session, after=after, until=until):
        prev = _check_entry(row, expected_seq=seq + 1, prev=prev)
        seq = row.seq
    return seq, prev


def verify_audit_log(
    session: Session,
    *,
    public_key: ec.EllipticCurvePublicKey,
    anchors: Iterable[Checkpoint] = (),
) -> AuditReport:
    """Verify the whole audit log; return what it proved or raise an :class:`AuditError`.

    Checks, in one streaming pass (a batch of rows in memory at a time):

    1. entries are numbered 1, 2, 3… without gap (:class:`AuditChainBroken` names the first
       missing one), each points to the hash of the previous one and matches its own hash;
    2. each checkpoint names the checkpoint key and its signature verifies with
       ``public_key``, and the entry it covers still has the signed hash
       (:class:`AuditCheckpointInvalid`);
    3. the log is not shorter than the latest checkpoint, nor than the head row
       (:class:`AuditTruncated`);
    4. each of ``anchors`` — checkpoints kept outside the database, e.g. the journal of
       :func:`read_checkpoint_journal` — verifies, still has its row in the database and
       matches the chain, so deleting the latest checkpoints is detected too.
    """
    anchored: dict[int, Checkpoint] = {}
    for anchor in anchors:
        anchor.verify(public_key)
        anchored[anchor.seq] = anchor
    head_seq = session.execute(select(AuditHead.seq).where(AuditHead.id == 1)).scalar_one_or_none()

    checkpoints = _checkpoints(session)
    pending = next(checkpoints, None)
    count = checkpoint_count = 0
    seq, prev = 0, GENESIS_HASH
    last_checkpoint: int | None = None
    for row in _entries(session, after=0):
        prev = _check_entry(row, expected_seq=seq + 1, prev=prev)
        seq = row.seq
        count += 1
        while pending is not None and pending.seq <= seq:
            pending.verify(public_key)
            if pending.seq < seq or not _same(pending.hash, prev):
                raise AuditCheckpointInvalid(
                    pending.seq, f"entry {pending.seq} no longer matches its signed checkpoint"
                )
            copy = anchored.pop(pending.seq) if pending.seq in anchored else None
            if copy is not None and not _same(copy.hash, pending.hash):
                raise AuditCheckpointInvalid(
                    pending.seq, f"the checkpoint of entry {pending.seq} differs from its copy"
                )
            checkpoint_count += 1
            last_checkpoint = pending.seq
            pending = next(checkpoints, None)
        if seq in anchored:
            raise AuditCheckpointInvalid(
                seq, f"the checkpoint of entry {seq} is missing from the database"
            )

    expected = 0
    if pending is not None:
        pending.verify(public_key)
        expected = pending.seq
        for later in checkpoints:
            later.verify(public_key)
            expected = later.seq
    if anchored:
        expected = max(expected, *anchored)
    if expected > seq:
        raise AuditTruncated(
            expected, seq, f"a signed checkpoint covers entry {expected} but the log ends at {seq}"
        )
    if head_seq is not None and head_seq > seq:
        raise AuditTruncated(
            head_seq, seq, f"the audit head says entry {head_seq} but the log ends at {seq}"
        )
    return AuditReport(
        entries=count,
        checkpoints=checkpoint_count,
        last_seq=seq,
        last_hash=prev,
        last_checkpoint_seq=last_checkpoint,
    )


# -- Evidence (brief R4) -----------------------------------------------------------------------


def _mentions(value: Any, needle: str) -> bool:
    """Whether ``needle`` is a key or a string value anywhere inside a JSON value."""
    if isinstance(value, str):
        return value == needle
    if isinstance(value, Mapping):
        return any(key == needle or _mentions(item, needle) for key, item in value.items())
    if isinstance(value, list):
        return any(_mentions(item, needle) for item in value)
    return False


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _relevant(entry: Mapping[str, Any], operation_id: str) -> bool:
    return entry["subject"] == operation_id or _mentions(entry["data"], operation_id)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _entry_json(row: Any) -> dict[str, Any]:
    try:
        data = parse_json_object(row.data, field=f"data of entry {row.seq}")
    except (ValueError, RecursionError, TypeError, AttributeError) as error:
        raise AuditChainBroken(
            row.seq, f"entry {row.seq} has data that is not a JSON object"
        ) from error
    return {
        "seq": row.seq,
        "at": row.at,
        "event": row.event,
        "actor": row.actor,
        "subject": row.subject,
        "data": data,
        "prev": row.prev_hash,
        "hash": row.hash,
    }


def export_evidence(
    session: Session,
    *,
    operation_id: str,
    public_key: ec.EllipticCurvePublicKey,
    operation: Mapping[str, Any] | None = None,
    approvals: Sequence[Mapping[str, Any]] = (),
    result_jws: str | None = None,
) -> dict[str, Any]:
    """Build the dispute bundle of one operation (brief R4).

    The bundle holds the entries about the operation (its subject, or a key or string value of
    its data, equals ``operation_id``), the first checkpoint signed by ``public_key`` that covers
    the last of them, and the chain segment from the first such entry to that checkpoint, so that
    a third party can recompute every hash and check the signature with
    :func:`verify_evidence`. ``operation``, ``approvals`` and ``result_jws`` come from the
    caller's own tables. Without a covering checkpoint yet, ``checkpoint`` is ``None`` and the
    segment ends at the last relevant entry: write a checkpoint first to get a verifiable bundle.

    The segment is verified before it is returned; raises ``LookupError`` when no entry concerns
    the operation, an :class:`AuditError` when the stored log is broken.
    """
    # The operation id as an RFC 8785 string literal: '{"":' + literal + '}' minus the wrapping.
    needle = canonical_json({"": operation_id})[4:-1].decode("utf-8")
    pattern = f"%{_like_escape(needle)}%"
    relevant: list[int] = []
    after = 0
    while True:
        rows = session.execute(
            select(*_ENTRY_COLUMNS)
            .where(
                AuditEntry.seq > after,
                or_(
                    AuditEntry.subject == operation_id,
                    AuditEntry.data.like(pattern, escape="\\"),
                ),
            )
            .order_by(AuditEntry.seq)
            .limit(BATCH_SIZE)
        ).all()
        relevant.extend(row.seq for row in rows if _relevant(_entry_json(row), operation_id))
        if len(rows) < BATCH_SIZE:
            break
        after = rows[-1].seq
    if not relevant:
        raise LookupError(f"no audit entry concerns operation {operation_id!r}")

    fingerprint = key_fingerprint(public_key)
    covering = session.execute(
        select(*_CHECKPOINT_COLUMNS)
        .where(AuditCheckpoint.seq >= relevant[-1], AuditCheckpoint.key_fingerprint == fingerprint)
        .order_by(AuditCheckpoint.seq)
        .limit(1)
    ).one_or_none()
    checkpoint = (
        Checkpoint(
            seq=covering.seq,
            hash=covering.entry_hash,
            at=covering.at,
            key_fingerprint=covering.key_fingerprint,
            signature=covering.signature,
        )
        if covering is not None
        else None
    )
    end = checkpoint.seq if checkpoint is not None else relevant[-1]
    chain = [_entry_json(row) for row in _entries(session, after=relevant[0] - 1, until=end)]
    # Listed from the chain itself: an entry about the operation committed since the search
    # above, and covered by the checkpoint, belongs to the bundle too.
    relevant = [entry["seq"] for entry in chain if _relevant(entry, operation_id)]
    bundle: dict[str, Any] = {
        "format": EVIDENCE_FORMAT,
        "operation_id": operation_id,
        "operation": dict(operation) if operation is not None else None,
        "approvals": [dict(approval) for approval in approvals],
        "result_jws": result_jws,
        "entries": relevant,
        "chain": chain,
        "checkpoint": checkpoint.to_json() if checkpoint is not None else None,
    }
    _check_bundle(bundle, public_key=public_key, require_checkpoint=False, require_bound=False)
    return bundle


@dataclass(frozen=True)
class EvidenceReport:
    """What a verified evidence bundle proves."""

    operation_id: str
    entries: tuple[int, ...]
    chain_start: int
    checkpoint_seq: int | None
    checkpoint_at: int | None
    bound: tuple[str, ...]
    unbound: tuple[str, ...]


class EvidenceSlots(TypedDict, total=False):
    """What the caller's tables add to a bundle (see :func:`export_evidence`)."""

    operation: Mapping[str, Any] | None
    approvals: Sequence[Mapping[str, Any]]
    result_jws: str | None


_BUNDLE_FIELDS: Final = frozenset(
    {
        "format",
        "operation_id",
        "operation",
        "approvals",
        "result_jws",
        "entries",
        "chain",
        "checkpoint",
    }
)
_CHAIN_FIELDS: Final = frozenset({"seq", "at", "event", "actor", "subject", "data", "prev", "hash"})


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _chain_entry(value: object, position: int) -> dict[str, Any]:
    if not isinstance(value, Mapping) or set(value) != _CHAIN_FIELDS:
        raise AuditEvidenceInvalid(
            f"chain item {position} must have exactly the fields {sorted(_CHAIN_FIELDS)}"
        )
    entry = dict(value)
    if not (_is_int(entry["seq"]) and _is_int(entry["at"])):
        raise AuditEvidenceInvalid(f"chain item {position}: seq and at must be integers")
    for name in ("event", "actor", "subject", "prev", "hash"):
        if not isinstance(entry[name], str):
            raise AuditEvidenceInvalid(f"chain item {position}: {name} must be a string")
    if not isinstance(entry["data"], Mapping):
        raise AuditEvidenceInvalid(f"chain item {position}: data must be an object")
    return entry


def _check_bundle(
    bundle: Mapping[str, Any],
    *,
    public_key: ec.EllipticCurvePublicKey,
    require_checkpoint: bool,
    require_bound: bool,
) -> EvidenceReport:
    if set(bundle) != _BUNDLE_FIELDS:
        raise AuditEvidenceInvalid(f"a bundle has exactly the fields {sorted(_BUNDLE_FIELDS)}")
    if bundle["format"] != EVIDENCE_FORMAT:
        raise AuditEvidenceInvalid(f"the bundle format must be {EVIDENCE_FORMAT}")
    operation_id = bundle["operation_id"]
    if not isinstance(operation_id, str) or not operation_id:
        raise AuditEvidenceInvalid("operation_id must be a non-empty string")

    # 1. The chain segment: consecutive entries, each linked to the previous and hashing right.
    raw_chain = bundle["chain"]
    if not isinstance(raw_chain, list) or not raw_chain:
        raise AuditEvidenceInvalid("chain must be a non-empty list of entries")
    chain = [_chain_entry(item, position) for position, item in enumerate(raw_chain)]
    prev = chain[0]["prev"]
    for position, entry in enumerate(chain):
        seq = entry["seq"]
        if position and seq != chain[position - 1]["seq"] + 1:
            raise AuditChainBroken(chain[position - 1]["seq"] + 1, "the chain segment has a gap")
        if not _same(entry["prev"], prev):
            raise AuditChainBroken(seq, f"entry {seq} does not point to the previous hash")
        try:
            recomputed = compute_entry_hash(
                seq=seq,
                at=entry["at"],
                event=entry["event"],
                actor=entry["actor"],
                subject=entry["subject"],
                data=entry["data"],
                prev=prev,
            )
        except InvalidEncoding as error:
            raise AuditChainBroken(seq, f"entry {seq} cannot be hashed") from error
        if not _same(entry["hash"], recomputed):
            raise AuditChainBroken(seq, f"entry {seq} does not match its hash: it was altered")
        prev = recomputed

    # 2. The relevant entries are exactly those of the segment that concern the operation.
    found = [entry["seq"] for entry in chain if _relevant(entry, operation_id)]
    listed = bundle["entries"]
    if not isinstance(listed, list) or not all(_is_int(seq) for seq in listed) or listed != found:
        raise AuditEvidenceInvalid("entries must list exactly the chain's entries about it")
    if not found or found[0] != chain[0]["seq"]:
        raise AuditEvidenceInvalid("the chain must start at the first entry about the operation")

    # 3. The checkpoint signs the last entry of the segment.
    checkpoint: Checkpoint | None = None
    if bundle["checkpoint"] is not None:
        checkpoint = Checkpoint.from_json(bundle["checkpoint"])
        checkpoint.verify(public_key)
        if checkpoint.seq != chain[-1]["seq"] or not _same(checkpoint.hash, prev):
            raise AuditCheckpointInvalid(
                checkpoint.seq, "the checkpoint does not sign the last entry of the chain"
            )
    elif require_checkpoint:
        raise AuditEvidenceInvalid(
            f"no checkpoint covers entry {found[-1]}: the bundle proves nothing beyond the "
            "database's word"
        )
    elif chain[-1]["seq"] != found[-1]:
        raise AuditEvidenceInvalid("an unanchored chain must end at the last relevant entry")

    # 4. The artifacts from the caller's tables, bound by digests the relevant entries record.
    vouched = [text for entry in chain if entry["seq"] in found for text in _strings(entry["data"])]

    def vouched_for(digest: str) -> bool:
        return any(_same(digest, text) for text in vouched)

    artifacts: list[tuple[str, str]] = []
    operation = bundle["operation"]
    if operation is not None:
        if not isinstance(operation, Mapping):
            raise AuditEvidenceInvalid("operation must be an object or null")
        if "id" in operation and operation["id"] != operation_id:
            raise AuditEvidenceInvalid("the operation is not the one of the bundle")
        artifacts.append(("operation", evidence_digest(operation)))
    approvals = bundle["approvals"]
    if not isinstance(approvals, list) or not all(isinstance(a, Mapping) for a in approvals):
        raise AuditEvidenceInvalid("approvals must be a list of objects")
    artifacts.extend(
        (f"approvals[{index}]", evidence_digest(approval))
        for index, approval in enumerate(approvals)
    )
    result_jws = bundle["result_jws"]
    if result_jws is not None:
        if not isinstance(result_jws, str):
            raise AuditEvidenceInvalid("result_jws must be a string or null")
        artifacts.append(("result_jws", evidence_digest(result_jws)))
    bound = tuple(name for name, digest in artifacts if vouched_for(digest))
    unbound = tuple(name for name, digest in artifacts if not vouched_for(digest))
    if unbound and require_bound:
        raise AuditEvidenceInvalid(
            f"the audit entries do not vouch for {', '.join(unbound)}: no entry about the "
            "operation records its digest"
        )
    return EvidenceReport(
        operation_id=operation_id,
        entries=tuple(found),
        chain_start=chain[0]["seq"],
        checkpoint_seq=checkpoint.seq if checkpoint is not None else None,
        checkpoint_at=checkpoint.at if checkpoint is not None else None,
        bound=bound,
        unbound=unbound,
    )


def verify_evidence(
    bundle: Mapping[str, Any] | bytes,
    *,
    public_key: ec.EllipticCurvePublicKey,
    allow_unbound: bool = False,
) -> EvidenceReport:
    """Check an evidence bundle offline, with the checkpoint public key only.

    ``bundle`` is the object of :func:`export_evidence` or the bytes of its file, which must be
    exactly its RFC 8785 encoding (so that no byte of the file can change unnoticed). Checks:

    1. the chain segment is consecutive, linked, and every hash recomputes;
    2. ``entries`` lists exactly the segment's entries about the operation, the first first;
    3. a checkpoint is present, names and verifies under ``public_key``, and signs the last
       entry of the segment (a bundle without one raises :class:`AuditEvidenceInvalid`);
    4. every artifact (``operation``, each approval, ``result_jws``) is vouched for: its
       :func:`evidence_digest` appears in the data of an entry about the operation. With
       ``allow_unbound`` the artifacts that are not are listed in ``unbound`` instead.

    Raises an :class:`AuditError`; returns what the bundle proves.
    """
    if isinstance(bundle, bytes | bytearray):
        try:
            value = parse_json_object(bytes(bundle), field="evidence bundle")
            canonical = canonical_json(value) == bytes(bundle)
        except (ValueError, RecursionError) as error:  # InvalidEncoding is a ValueError.
            raise AuditEvidenceInvalid(f"the bundle is not valid JSON: {error}") from error
        if not canonical:
            raise AuditEvidenceInvalid("the bundle file is not in its RFC 8785 form")
        bundle = value
    try:
        return _check_bundle(
            bundle, public_key=public_key, require_checkpoint=True, require_bound=not allow_unbound
        )
    except (InvalidEncoding, RecursionError) as error:
        raise AuditEvidenceInvalid(f"the bundle cannot be checked: {error}") from error


# -- CLI glue (wired by the server's CLI as `sceau admin audit verify` / `admin evidence`) ------


def _grouped(number: int) -> str:
    """``1234`` → ``1 234``."""
    return f"{number:,}".replace(",", " ")


def _count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{_grouped(number)} {singular if number == 1 else (plural or singular + 's')}"


def _sqlite_immediate(engine: Engine) -> None:
    """Make every SQLite transaction ``BEGIN IMMEDIATE`` so that writers serialize."""

    @sa_event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa_event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _open_engine(database_url: str, err: TextIO, *, immediate: bool = False) -> Engine | None:
    """An engine for the CLI; ``immediate`` for SQLite writers only.

    Readers keep SQLite's deferred transactions: in WAL mode they never block the server's
    writers, even during a long verification.
    """
    try:
        url = make_url(database_url)
        database = url.database
        if url.get_backend_name() == "sqlite" and database not in (None, "", ":memory:"):
            assert database is not None  # Excluded just above.
            if not Path(database).exists():
                print(f"No database at {database}.", file=err)
                return None
        engine = create_engine(url)
    except (ArgumentError, NoSuchModuleError, ValueError) as error:
        print(f"Cannot use the database URL: {error}", file=err)
        return None
    if immediate and url.get_backend_name() == "sqlite":
        _sqlite_immediate(engine)
    return engine


def _describe(error: AuditError) -> str:
    if isinstance(error, AuditChainBroken):
        return f"Audit log BROKEN at entry {_grouped(error.seq)}: {error.reason}."
    if isinstance(error, AuditCheckpointInvalid):
        return f"Audit log BROKEN at the checkpoint of entry {_grouped(error.seq)}: {error.reason}."
    if isinstance(error, AuditTruncated):
        return (
            f"Audit log TRUNCATED: it ends at entry {_grouped(error.found_seq)} "
            f"but reached entry {_grouped(error.expected_seq)} before ({error.reason})."
        )
    return f"Audit log BROKEN: {error.reason}."


def cli_audit_verify(
    database_url: str,
    checkpoint_public_key_path: str | os.PathLike[str],
    *,
    journal_path: str | os.PathLike[str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Verify the audit log and print one sentence; return 0 (verified), 1 (broken), 2 (usage).

    With ``journal_path``, the checkpoints kept in that journal are checked too (anchors).
    """
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        public_key = load_checkpoint_public_key(checkpoint_public_key_path)
        anchors = read_checkpoint_journal(journal_path) if journal_path is not None else []
    except (OSError, ValueError, AuditError) as error:
        print(f"Cannot read the checkpoint public key or journal: {error}", file=err)
        return 2
    engine = _open_engine(database_url, err)
    if engine is None:
        return 2
    try:
        with Session(engine) as session:
            report = verify_audit_log(session, public_key=public_key, anchors=anchors)
    except AuditError as error:
        print(_describe(error), file=out)
        return 1
    except SQLAlchemyError as error:
        print(f"Cannot read the audit log: {error.__class__.__name__}: {error}", file=err)
        return 2
    finally:
        engine.dispose()
    counts = (
        f"{_count(report.entries, 'entry', 'entries')}, {_count(report.checkpoints, 'checkpoint')}"
    )
    if report.last_checkpoint_seq is None:
        print(
            f"Audit log verified: {counts}; no checkpoint yet, so only the database vouches for "
            "these entries.",
            file=out,
        )
    else:
        later = report.unanchored_entries
        tail = (
            f"; {_count(later, 'later entry', 'later entries')} not yet covered by a checkpoint"
            if later
            else ""
        )
        print(
            f"Audit log verified: {counts}, last checkpoint at entry "
            f"{_grouped(report.last_checkpoint_seq)}{tail}.",
            file=out,
        )
    return 0


def cli_evidence(
    database_url: str,
    operation_id: str,
    checkpoint_public_key_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    checkpoint_private_key_path: str | os.PathLike[str] | None = None,
    collect: Callable[[Session, str], EvidenceSlots] | None = None,
    now: int | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Export an operation's evidence bundle to ``out_path`` (RFC 8785 JSON, mode 0600).

    ``collect(session, operation_id)`` returns the operation, approvals and result JWS from the
    caller's tables. When no checkpoint covers the operation's last entry yet, and
    ``checkpoint_private_key_path`` is given, a checkpoint is written first (at ``now``, the
    clock by default); otherwise nothing is written. Returns 0 (written and verified), 1 (the log
    is broken or no checkpoint covers the operation yet) or 2 (usage: files, unknown operation).
    """
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        public_key = load_checkpoint_public_key(checkpoint_public_key_path)
        private_key = (
            load_or_create_checkpoint_key(checkpoint_private_key_path)
            if checkpoint_private_key_path is not None
            else None
        )
    except (OSError, ValueError) as error:
        print(f"Cannot read the checkpoint key: {error}", file=err)
        return 2
    if private_key is not None and not _same(
        key_fingerprint(private_key.public_key()), key_fingerprint(public_key)
    ):
        print("The checkpoint private and public keys do not match.", file=err)
        return 2
    target = Path(out_path)
    if target.exists():
        print(f"{target} exists already; choose another file.", file=err)
        return 2
    engine = _open_engine(database_url, err)
    if engine is None:
        return 2

    def export() -> dict[str, Any]:
        with Session(engine) as session:
            slots: EvidenceSlots = collect(session, operation_id) if collect else {}
            return export_evidence(
                session,
                operation_id=operation_id,
                public_key=public_key,
                operation=slots.get("operation"),
                approvals=slots.get("approvals", ()),
                result_jws=slots.get("result_jws"),
            )

    try:
        bundle = export()
        if bundle["checkpoint"] is None and private_key is not None:
            writer = _open_engine(database_url, err, immediate=True)
            if writer is None:
                return 2
            try:
                with Session(writer) as session, session.begin():
                    written = write_checkpoint(
                        session,
                        private_key=private_key,
                        now=now if now is not None else int(time.time()),
                    )
            finally:
                writer.dispose()
            if written is not None:
                print(f"Checkpoint written at entry {_grouped(written.seq)}.", file=out)
            bundle = export()
    except LookupError as error:
        print(f"No evidence: {error.args[0]}.", file=err)
        return 2
    except AuditError as error:
        print(_describe(error), file=out)
        return 1
    except SQLAlchemyError as error:
        print(f"Cannot read the audit log: {error.__class__.__name__}: {error}", file=err)
        return 2
    finally:
        engine.dispose()
    if bundle["checkpoint"] is None:
        print(
            f"No checkpoint covers entry {_grouped(bundle['entries'][-1])} of operation "
            f"{operation_id} yet; run again after the next checkpoint, or pass the checkpoint "
            "key to write one now. Nothing was written.",
            file=out,
        )
        return 1
    report = verify_evidence(bundle, public_key=public_key, allow_unbound=True)
    data = canonical_json(bundle)
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
    except OSError as error:
        print(f"Cannot write {target}: {error}", file=err)
        return 2
    print(_evidence_sentence(report, written_to=target), file=out)
    return 0


def _evidence_sentence(report: EvidenceReport, *, written_to: Path | None = None) -> str:
    where = f" written to {written_to}" if written_to is not None else " verified"
    sentence = (
        f"Evidence for operation {report.operation_id}{where}: "
        f"{_count(len(report.entries), 'entry', 'entries')} about it, chain from entry "
        f"{_grouped(report.chain_start)} to the checkpoint at entry "
        f"{_grouped(report.checkpoint_seq or 0)}."
    )
    if report.bound:
        sentence += f" The log vouches for: {', '.join(report.bound)}."
    if report.unbound:
        sentence += (
            f" NOT vouched for by the log (carried for information only): "
            f"{', '.join(report.unbound)}."
        )
    return sentence


def cli_verify_evidence(
    bundle_path: str | os.PathLike[str],
    checkpoint_public_key_path: str | os.PathLike[str],
    *,
    allow_unbound: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Verify an evidence bundle file offline; return 0 (verified), 1 (invalid), 2 (usage)."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        public_key = load_checkpoint_public_key(checkpoint_public_key_path)
        data = Path(bundle_path).read_bytes()
    except (OSError, ValueError) as error:
        print(f"Cannot read the bundle or the checkpoint public key: {error}", file=err)
        return 2
    try:
        report = verify_evidence(data, public_key=public_key, allow_unbound=allow_unbound)
    except AuditError as error:
        print(f"Evidence INVALID: {error.reason}.", file=out)
        return 1
    print(_evidence_sentence(report), file=out)
    return 0
