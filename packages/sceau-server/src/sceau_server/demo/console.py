# SPDX-License-Identifier: Apache-2.0
"""What the operator console reads and does, on the Sceau server's own storage.

The console is the bank's back-office: like ``sceau admin`` it reads the server's database
through :class:`~sceau_server.services.context.ServerContext` — users, devices, operations,
approvals, the SMS outbox and the audit log; it signs audit checkpoints and exports and checks an
operation's evidence (:mod:`sceau_server.audit`). Lifting a lock and revoking a device go through
the admin API over HTTP (:meth:`~sceau_server.demo.sceau_api.SceauApi.admin_action`), as any
bank back-office would: the operator, the reason and the identity check are audited.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from sceau_core.encoding import b64url_decode, canonical_json
from sceau_core.errors import SceauError
from sceau_core.results import jwks, verify_result
from sceau_server import audit
from sceau_server.services.checkpoints import write_checkpoint
from sceau_server.services.context import ServerContext
from sceau_server.storage.models import (
    Activation,
    Approval,
    Operation,
    RelyingParty,
    SmsMessage,
    User,
)

__all__ = [
    "AuditStatus",
    "Evidence",
    "activation_code_sms",
    "audit_entries",
    "dashboard",
    "evidence",
    "operation_detail",
    "operations",
    "sign_checkpoint",
    "sms_messages",
    "users",
    "verify_audit",
]

_SMS_CODE = re.compile(r"\b(\d{6})\b")


def sms_messages(ctx: ServerContext, *, limit: int = 50) -> list[dict[str, Any]]:
    """The latest SMS of the outbox, newest first (what the demo's phones "receive")."""
    with ctx.read() as session:
        rows = session.scalars(select(SmsMessage).order_by(SmsMessage.id.desc()).limit(limit))
        return [
            {
                "id": row.id,
                "phone": row.phone,
                "kind": row.kind,
                "message": row.message,
                "at": row.created_at,
            }
            for row in rows
        ]


def activation_code_sms(ctx: ServerContext, phone: str) -> str | None:
    """The one-time code of the latest activation SMS sent to ``phone``."""
    with ctx.read() as session:
        row = session.scalars(
            select(SmsMessage)
            .where(SmsMessage.phone == phone, SmsMessage.kind == "activation_code")
            .order_by(SmsMessage.id.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    found = _SMS_CODE.search(row.message)
    return None if found is None else found.group(1)


def _activation_view(row: Activation, now: int) -> dict[str, Any]:
    locked = row.locked_until is not None and row.locked_until > now
    return {
        "id": row.id,
        "device_name": row.device_name,
        "status": row.status,
        "counter": row.counter,
        "failures": row.failures,
        "locks": row.locks,
        "locked_until": row.locked_until if locked else None,
        "blocked": row.blocked_at is not None,
        "inherence": row.inherence_public_key is not None,
        "created_at": row.created_at,
        "activated_at": row.activated_at,
        "ended_at": row.ended_at,
        "end_reason": row.end_reason,
    }


def users(ctx: ServerContext) -> list[dict[str, Any]]:
    """Every user with every activation (newest first), as the operator reviews them."""
    now = ctx.now()
    with ctx.read() as session:
        people = session.scalars(select(User).order_by(User.external_id)).all()
        result = []
        for person in people:
            rows = session.scalars(
                select(Activation)
                .where(Activation.user_id == person.id)
                .order_by(Activation.created_at.desc())
            ).all()
            result.append(
                {
                    "external_id": person.external_id,
                    "display_name": person.display_name,
                    "phone": person.phone,
                    "locale": person.locale,
                    "fraud_flagged_at": person.fraud_flagged_at,
                    "created_at": person.created_at,
                    "activations": [_activation_view(row, now) for row in rows],
                }
            )
        return result


def activation_owner(ctx: ServerContext, activation_id: str) -> str | None:
    """The external id of the activation's user."""
    with ctx.read() as session:
        row = session.get(Activation, activation_id)
        if row is None:
            return None
        person = session.get(User, row.user_id)
        return None if person is None else person.external_id


def dashboard(ctx: ServerContext) -> dict[str, int]:
    """Counts for the console's first page."""
    now = ctx.now()
    with ctx.read() as session:

        def count(query: Any) -> int:
            return int(session.scalar(query) or 0)

        return {
            "users": count(select(func.count()).select_from(User)),
            "active_devices": count(
                select(func.count()).select_from(Activation).where(Activation.status == "active")
            ),
            "locked_devices": count(
                select(func.count())
                .select_from(Activation)
                .where(
                    Activation.status == "active",
                    (Activation.locked_until > now) | Activation.blocked_at.is_not(None),
                )
            ),
            "operations": count(select(func.count()).select_from(Operation)),
            "pending": count(
                select(func.count())
                .select_from(Operation)
                .where(Operation.status == "pending", Operation.expires_at > now)
            ),
            "fraud": count(
                select(func.count())
                .select_from(Operation)
                .where(Operation.suspected_fraud.is_(True))
            ),
        }


def operations(ctx: ServerContext, *, limit: int = 100) -> list[dict[str, Any]]:
    """The latest operations, newest first."""
    with ctx.read() as session:
        rows = session.execute(
            select(Operation, User.external_id, RelyingParty.name)
            .join(User, User.id == Operation.user_id)
            .join(RelyingParty, RelyingParty.id == Operation.rp_id)
            .order_by(Operation.created_at.desc(), Operation.id)
            .limit(limit)
        ).all()
        return [
            {
                "id": row.id,
                "type": row.type,
                "status": row.status,
                "user": user,
                "rp": rp_name,
                "created_at": row.created_at,
                "expires_at": row.expires_at,
                "decided_at": row.decided_at,
                "factors": row.factors or [],
                "suspected_fraud": row.suspected_fraud,
                "title": json.loads(row.body)["display"][0],
            }
            for row, user, rp_name in rows
        ]


def _jws_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header_text, payload_text, _ = token.split(".")
    header = json.loads(b64url_decode(header_text, field="JWS header"))
    payload = json.loads(b64url_decode(payload_text, field="JWS payload"))
    return header, payload


def operation_detail(ctx: ServerContext, operation_id: str) -> dict[str, Any] | None:
    """One operation: what was signed, every approval, the result JWS and its verification."""
    with ctx.read() as session:
        row = session.get(Operation, operation_id)
        if row is None:
            return None
        person = session.get(User, row.user_id)
        rp = session.get(RelyingParty, row.rp_id)
        approvals = session.scalars(
            select(Approval).where(Approval.operation_id == operation_id).order_by(Approval.id)
        ).all()
        body = json.loads(row.body)
        detail: dict[str, Any] = {
            "id": row.id,
            "type": row.type,
            "status": row.status,
            "user": None if person is None else person.external_id,
            "rp": None if rp is None else rp.name,
            "created_at": row.created_at,
            "expires_at": row.expires_at,
            "decided_at": row.decided_at,
            "decided_by": row.decided_by,
            "factors": row.factors or [],
            "suspected_fraud": row.suspected_fraud,
            "digest": row.digest,
            "operation": body,
            "operation_json": json.dumps(body, ensure_ascii=False, indent=2),
            "approvals": [
                {
                    "activation": approval.activation_id,
                    "decision": approval.decision,
                    "at": approval.created_at,
                    "json": json.dumps(json.loads(approval.body), indent=2),
                }
                for approval in approvals
            ],
            "result": row.result_jws,
            "result_header": None,
            "result_claims": None,
            "result_verified": None,
            "result_error": None,
        }
    token = detail["result"]
    if isinstance(token, str):
        try:
            header, claims = _jws_parts(token)
            detail["result_header"] = json.dumps(header, indent=2)
            detail["result_claims"] = json.dumps(claims, ensure_ascii=False, indent=2)
            verify_result(
                token,
                jwks_document=jwks([ctx.public_key]),
                expected_operation_id=operation_id,
                expected_issuer=ctx.settings.public_url,
                expected_digest=detail["digest"],
            )
            detail["result_verified"] = True
        except (SceauError, ValueError) as error:
            detail["result_verified"] = False
            detail["result_error"] = str(error)
    return detail


@dataclass(frozen=True)
class AuditStatus:
    """The outcome of verifying the audit log, in the operator's words."""

    ok: bool
    fr: str
    en: str
    entries: int = 0
    checkpoints: int = 0
    last_checkpoint: int | None = None

    def message(self, lang: str) -> str:
        """The sentence in ``lang``."""
        return self.en if lang == "en" else self.fr


def _checkpoint_public_key(ctx: ServerContext) -> Any:
    return audit.load_or_create_checkpoint_key(ctx.settings.checkpoint_key_path).public_key()


def verify_audit(ctx: ServerContext) -> AuditStatus:
    """Verify the whole audit log with the checkpoint key and the journal of checkpoints."""
    try:
        public_key = _checkpoint_public_key(ctx)
        journal = ctx.settings.checkpoint_journal_path
        try:
            anchors = audit.read_checkpoint_journal(journal)
        except FileNotFoundError:
            anchors = []
        with ctx.read() as session:
            report = audit.verify_audit_log(session, public_key=public_key, anchors=anchors)
    except audit.AuditError as error:
        return AuditStatus(
            ok=False,
            fr=f"Journal d’audit CASSÉ : {error.reason}.",
            en=f"Audit log BROKEN: {error.reason}.",
        )
    later = report.unanchored_entries
    if report.last_checkpoint_seq is None:
        fr_tail = "aucun point de contrôle signé pour l’instant."
        en_tail = "no signed checkpoint yet."
    else:
        fr_tail = f"dernier point de contrôle à l’entrée {report.last_checkpoint_seq}" + (
            f", {later} entrée(s) plus récente(s) pas encore couverte(s)." if later else "."
        )
        en_tail = f"last checkpoint at entry {report.last_checkpoint_seq}" + (
            f", {later} later entr{'y' if later == 1 else 'ies'} not yet covered." if later else "."
        )
    return AuditStatus(
        ok=True,
        fr=(
            f"Journal d’audit vérifié : {report.entries} entrées chaînées, "
            f"{report.checkpoints} point(s) de contrôle ; {fr_tail}"
        ),
        en=(
            f"Audit log verified: {report.entries} chained entries, "
            f"{report.checkpoints} checkpoint(s); {en_tail}"
        ),
        entries=report.entries,
        checkpoints=report.checkpoints,
        last_checkpoint=report.last_checkpoint_seq,
    )


def audit_entries(ctx: ServerContext, *, limit: int = 200) -> list[dict[str, Any]]:
    """The latest audit entries, newest first."""
    with ctx.read() as session:
        rows = session.execute(
            select(
                audit.AuditEntry.seq,
                audit.AuditEntry.at,
                audit.AuditEntry.event,
                audit.AuditEntry.actor,
                audit.AuditEntry.subject,
                audit.AuditEntry.data,
                audit.AuditEntry.hash,
            )
            .order_by(audit.AuditEntry.seq.desc())
            .limit(limit)
        ).all()
        return [
            {
                "seq": row.seq,
                "at": row.at,
                "event": row.event,
                "actor": row.actor,
                "subject": row.subject,
                "data": row.data,
                "hash": row.hash,
            }
            for row in rows
        ]


def sign_checkpoint(ctx: ServerContext) -> int | None:
    """Sign a checkpoint of the latest entry now; return its entry number (``None``: no new one)."""
    checkpoint = write_checkpoint(ctx)
    return None if checkpoint is None else checkpoint.seq


@dataclass(frozen=True)
class Evidence:
    """An operation's evidence bundle (RFC 8785 JSON) and what its verification proved."""

    data: bytes
    entries: int
    checkpoint: int | None
    bound: tuple[str, ...]
    unbound: tuple[str, ...]


def evidence(ctx: ServerContext, operation_id: str) -> Evidence | None:
    """Export the operation's dispute bundle (brief R4) and check it as a third party would.

    A checkpoint is signed first, so that one covers the operation's latest entries.
    """
    write_checkpoint(ctx)
    public_key = _checkpoint_public_key(ctx)
    with ctx.read() as session:
        row = session.get(Operation, operation_id)
        if row is None:
            return None
        approvals = session.scalars(
            select(Approval).where(Approval.operation_id == operation_id).order_by(Approval.id)
        ).all()
        bundle = audit.export_evidence(
            session,
            operation_id=operation_id,
            public_key=public_key,
            operation=json.loads(row.body),
            approvals=[json.loads(approval.body) for approval in approvals],
            result_jws=row.result_jws,
        )
    report = audit.verify_evidence(bundle, public_key=public_key, allow_unbound=True)
    return Evidence(
        data=canonical_json(bundle),
        entries=len(report.entries),
        checkpoint=report.checkpoint_seq,
        bound=report.bound,
        unbound=report.unbound,
    )
