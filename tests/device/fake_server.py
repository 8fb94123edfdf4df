# SPDX-License-Identifier: Apache-2.0
"""A fake Sceau server for the device SDK's tests, behind an :class:`httpx.MockTransport`.

It speaks the device API of docs/protocol.md with the protocol core, checks every device
request's RFC 9421 signature and strictly increasing counter, counts code attempts, and lets a
test break it on purpose: tamper with operations, sign them with another key, substitute the
OPRF key, answer a problem, drop the connection, script the event stream.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from sceau_core.activation import (
    ActivationCode,
    QrPayload,
    ServerBinding,
    binding_tag,
    verify_registration_proof,
)
from sceau_core.approval import Factor, FactorKeys, SignedApproval, verify_approval
from sceau_core.encoding import b64url_decode, b64url_encode, canonical_json
from sceau_core.errors import SceauError
from sceau_core.hazmat import oprf
from sceau_core.httpsig import HttpRequest, verify_request
from sceau_core.keys import (
    decode_public_key,
    encode_public_key,
    generate_private_key,
    verify_message,
)
from sceau_core.operations import Operation, OperationType, RequestContext, parse_data
from sceau_core.signatures import sign_operation, verify_key_registration, verify_key_renewal
from sceau_device.authenticator import CODE_CHANGE_LABEL

PROBLEM = "urn:sceau:problem:"
MAX_FAILURES = 5

TRANSFER = {
    "amount": {"value": "1234.56", "currency": "EUR"},
    "payee_name": "Jean Dupont",
    "payee_iban": "FR7630006000011234567890189",
}


def problem(status: int, slug: str, **extra: Any) -> httpx.Response:
    """An RFC 9457 problem answer."""
    body = {"type": PROBLEM + slug, "title": slug, "status": status, "detail": slug, **extra}
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/problem+json"},
    )


def refused(**extra: Any) -> httpx.Response:
    """The server's one generic refusal (brief K4)."""
    return problem(
        401,
        "authentication-failed",
        message_fr="Authentification refusée",
        message_en="Authentication failed",
        **extra,
    )


class ScriptedStream(httpx.SyncByteStream):
    """An event stream that yields bytes, runs callables, and raises exceptions, in order.

    A callable step runs when the reader reaches it; the bytes it returns, if any, are sent.
    """

    def __init__(self, script: list[Any]) -> None:
        self.script = script

    def __iter__(self) -> Iterator[bytes]:
        for step in self.script:
            if isinstance(step, bytes):
                yield step
            elif isinstance(step, BaseException):
                raise step
            else:
                produced = step()
                if isinstance(produced, bytes):
                    yield produced


@dataclass
class Logged:
    """One request the fake server received."""

    method: str
    path: str
    counter: int | None
    body: bytes


@dataclass
class FakeServer:
    """See the module docstring. Attributes are the server's state; tests read and change them."""

    url: str = "https://sceau.test"
    sms_code: str = "123456"
    activation_id: str = "act_fake"
    rng: Callable[[int], bytes] = os.urandom
    clock: Callable[[], float] = time.time
    signing_key: ec.EllipticCurvePrivateKey = field(init=False)
    oprf_key: bytes = field(init=False)
    oprf_public: bytes = field(init=False)
    code: ActivationCode = field(init=False)
    status: str = "pending"
    device_key: ec.EllipticCurvePublicKey | None = None
    knowledge_key: ec.EllipticCurvePublicKey | None = None
    inherence_key: ec.EllipticCurvePublicKey | None = None
    counter: int = 0
    failures: int = 0
    sms_attempts: int = 0
    locked_until: int | None = None
    operations: dict[str, Operation] = field(default_factory=dict)
    matches: dict[str, str] = field(default_factory=dict)
    final: dict[str, str] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    log: list[Logged] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)
    substitute_oprf_key: bytes | None = None
    operation_key: ec.EllipticCurvePrivateKey | None = None
    tamper: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    binding_override: dict[str, Any] | None = None
    tag_code: ActivationCode | None = None
    before: list[Callable[[httpx.Request], httpx.Response | None]] = field(default_factory=list)
    event_scripts: list[list[Any]] = field(default_factory=list)
    change_ready: bool = False
    renewal_challenge: str = ""
    sequence: int = 0

    def __post_init__(self) -> None:
        self.signing_key = generate_private_key(self.rng)
        self.oprf_key, self.oprf_public = oprf.generate_key_pair(self.rng)
        self.code = ActivationCode.generate(self.rng)

    # --- helpers for tests ----------------------------------------------------------------

    @property
    def transport(self) -> httpx.MockTransport:
        """The transport to give the SDK."""
        return httpx.MockTransport(self.handle)

    def binding(self) -> ServerBinding:
        """The binding this server publishes."""
        return ServerBinding(
            activation_id=self.activation_id,
            server_url=self.url,
            server_public_key=encode_public_key(self.signing_key.public_key()),
            oprf_public_key=b64url_encode(self.oprf_public),
        )

    def qr_uri(self) -> str:
        """The QR code's URI for this server's activation."""
        return QrPayload(self.code, self.url, self.binding().server_key_fingerprint).to_uri()

    def now(self) -> int:
        """The server's clock."""
        return int(self.clock())

    def add_operation(
        self,
        kind: OperationType = OperationType.TRANSFER,
        data: dict[str, Any] | None = None,
        *,
        context: dict[str, Any] | None = None,
        ttl: int = 300,
        locale: str = "fr",
    ) -> Operation:
        """Create a pending operation, as a relying party would."""
        self.sequence += 1
        if data is None:
            data = TRANSFER if kind is OperationType.TRANSFER else {}
        operation = Operation.create(
            id=f"op_{self.sequence}",
            type=kind,
            data=parse_data(kind, data),
            context=RequestContext.from_json(context or {"channel": "web", "ip": "203.0.113.7"}),
            locale=locale,  # type: ignore[arg-type]
            now=self.now(),
            ttl=ttl,
            rng=self.rng,
        )
        self.operations[operation.id] = operation
        if kind is OperationType.LOGIN:
            self.matches[operation.id] = "42"
        return operation

    def signed_event(self, operation_id: str) -> bytes:
        """An ``operation`` event carrying the pending operation, signed as the server does."""
        signed = sign_operation(
            self.operations[operation_id], private_key=self.operation_key or self.signing_key
        )
        if self.tamper is not None:
            signed = self.tamper(json.loads(json.dumps(signed)))
        data = {"id": operation_id, "status": "pending", "signed": signed}
        return f"event: operation\ndata: {json.dumps(data)}\n\n".encode()

    def requests_to(self, suffix: str) -> list[Logged]:
        """The logged requests whose path ends with ``suffix``."""
        return [entry for entry in self.log if entry.path.endswith(suffix)]

    # --- the HTTP handler -------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request."""
        path = request.url.path
        body = request.read()
        counter_text = request.headers.get("sceau-counter")
        self.log.append(
            Logged(request.method, path, int(counter_text) if counter_text else None, body)
        )
        for hook in list(self.before):
            answer = hook(request)
            if answer is not None:
                return answer
        if request.method == "GET" and path.startswith("/v1/device/activation/"):
            return self._lookup(path.rsplit("/", 1)[1])
        payload: dict[str, Any] = json.loads(body) if body else {}
        if path == "/v1/device/activation/register":
            key = decode_public_key(payload["device_public_key"])
            if not self._admit(request, body, key, statuses=("pending",)):
                return refused()
            return self._register(payload)
        if not self._admit(request, body, self.device_key, statuses=self._statuses(path)):
            return refused()
        routes: dict[tuple[str, str], Callable[[dict[str, Any]], httpx.Response]] = {
            ("POST", "/v1/device/activation/oprf"): self._registration_oprf,
            ("POST", "/v1/device/activation/commit"): self._commit,
            ("GET", "/v1/device/status"): lambda _p: self._json(self._status()),
            ("GET", "/v1/device/operations"): lambda _p: self._json(self._pending()),
            ("DELETE", "/v1/device/activation"): self._remove,
            ("GET", "/v1/device/events"): lambda _p: self._events(),
            ("POST", "/v1/device/code/evaluate"): self._code_evaluate,
            ("POST", "/v1/device/code/change"): self._code_change,
            ("POST", "/v1/device/code/commit"): self._code_commit,
        }
        route = routes.get((request.method, path))
        if route is not None:
            return route(payload)
        parts = path.split("/")
        if len(parts) == 6 and parts[3] == "operations":
            operation_id, action = parts[4], parts[5]
            if action == "evaluate":
                return self._evaluate(operation_id, payload)
            if action == "decision":
                return self._decision(operation_id, payload)
        return problem(404, "not-found")

    @staticmethod
    def _statuses(path: str) -> tuple[str, ...]:
        if path.startswith("/v1/device/activation/"):
            return ("registered",)
        return ("active",)

    def _json(self, value: dict[str, Any], status: int = 200) -> httpx.Response:
        return httpx.Response(status, json=value)

    def _admit(
        self,
        request: httpx.Request,
        body: bytes,
        key: ec.EllipticCurvePublicKey | None,
        *,
        statuses: tuple[str, ...],
    ) -> bool:
        if key is None or self.status not in statuses:
            return False
        try:
            info = verify_request(
                HttpRequest(request.method, str(request.url), dict(request.headers), body),
                resolve_key=lambda key_id: key if key_id == self.activation_id else _unknown(),
                now=self.now(),
            )
        except SceauError:
            return False
        if info.counter <= self.counter:
            self.status = "suspended"
            return False
        self.counter = info.counter
        return True

    # --- activation ------------------------------------------------------------------------

    def _lookup(self, lookup_id: str) -> httpx.Response:
        if lookup_id != self.code.lookup_id() or self.status != "pending":
            return problem(404, "not-found")
        binding = self.binding()
        value = self.binding_override or binding.to_json()
        tag = binding_tag(self.tag_code or self.code, ServerBinding.from_json(value))
        return self._json({"activation_id": value["activation_id"], "binding": value, "tag": tag})

    def _register(self, payload: dict[str, Any]) -> httpx.Response:
        registration = {
            k: payload[k] for k in ("activation_id", "device_name", "device_public_key")
        }
        try:
            verify_registration_proof(self.code.registration_key(), registration, payload["proof"])
        except SceauError:
            return refused()
        if payload["sms_code"] != self.sms_code:
            self.sms_attempts += 1
            return refused(attempts_left=max(0, 3 - self.sms_attempts))
        self.device_key = decode_public_key(payload["device_public_key"])
        self.device_name = payload["device_name"]
        self.status = "registered"
        return self._json(self._status())

    def _evaluation(self, blinded: str) -> dict[str, str]:
        key = self.substitute_oprf_key or self.oprf_key
        public = oprf.public_key(key)
        evaluated, proof = oprf.blind_evaluate_verifiable(
            key, public, b64url_decode(blinded, length=32), rng=self.rng
        )
        return {"evaluated_element": b64url_encode(evaluated), "proof": b64url_encode(proof)}

    def _registration_oprf(self, payload: dict[str, Any]) -> httpx.Response:
        return self._json(self._evaluation(payload["blinded_element"]))

    def _commit(self, payload: dict[str, Any]) -> httpx.Response:
        try:
            self.knowledge_key = verify_key_registration(
                activation_id=self.activation_id,
                knowledge_public_key=payload["knowledge_public_key"],
                signature=payload["knowledge_signature"],
            )
        except SceauError:
            return refused()
        if payload.get("inherence_public_key"):
            self.inherence_key = decode_public_key(payload["inherence_public_key"])
        self.status = "active"
        return self._json(self._status())

    def _status(self) -> dict[str, Any]:
        return {
            "activation_id": self.activation_id,
            "status": self.status,
            "device_name": getattr(self, "device_name", None),
            "counter": self.counter,
            "locked_until": self._locked(),
            "blocked": False,
            "inherence": self.inherence_key is not None,
        }

    def _locked(self) -> int | None:
        if self.locked_until is not None and self.now() < self.locked_until:
            return self.locked_until
        return None

    def _remove(self, _payload: dict[str, Any]) -> httpx.Response:
        self.status = "revoked"
        return httpx.Response(204)

    # --- operations -------------------------------------------------------------------------

    def _pending(self) -> dict[str, Any]:
        signer = self.operation_key or self.signing_key
        items = []
        for operation in self.operations.values():
            if operation.id in self.final or operation.expires_at <= self.now():
                continue
            signed = sign_operation(operation, private_key=signer)
            if self.tamper is not None:
                signed = self.tamper(json.loads(json.dumps(signed)))
            items.append(signed)
        return {
            "operations": items,
            "attempts_left": max(0, MAX_FAILURES - self.failures),
            "locked_until": self._locked(),
            "blocked": False,
        }

    def _pending_operation(self, operation_id: str) -> Operation | httpx.Response:
        operation = self.operations.get(operation_id)
        if operation is None:
            return problem(404, "not-found")
        if operation_id in self.final:
            return problem(409, "operation-not-pending", operation_status=self.final[operation_id])
        if self.now() >= operation.expires_at:
            return problem(409, "operation-not-pending", operation_status="expired")
        return operation

    def _count_attempt(self) -> httpx.Response | None:
        if self._locked() is not None:
            return refused(attempts_left=0, locked_until=self.locked_until)
        self.failures += 1
        if self.failures >= MAX_FAILURES:
            self.locked_until = self.now() + 60
            self.failures = 0
        return None

    def _evaluate(self, operation_id: str, payload: dict[str, Any]) -> httpx.Response:
        operation = self._pending_operation(operation_id)
        if isinstance(operation, httpx.Response):
            return operation
        locked = self._count_attempt()
        if locked is not None:
            return locked
        self.attempts[operation_id] = self.counter
        return self._json(
            {
                **self._evaluation(payload["blinded_element"]),
                "attempts_left": 0 if self._locked() else MAX_FAILURES - self.failures,
                "locked_until": self._locked(),
                "blocked": False,
            }
        )

    def _decision(self, operation_id: str, payload: dict[str, Any]) -> httpx.Response:
        operation = self._pending_operation(operation_id)
        if isinstance(operation, httpx.Response):
            return operation
        signed = SignedApproval.from_json(payload)
        self.approvals.append(payload)
        assert self.device_key is not None
        if signed.approval.counter != self.counter:
            return refused()
        try:
            verify_approval(
                signed,
                expected_operation=operation,
                expected_activation=self.activation_id,
                keys=FactorKeys(
                    possession=self.device_key,
                    knowledge=self.knowledge_key,
                    inherence=self.inherence_key,
                ),
                last_counter=self.counter - 1,
                now=self.now(),
                expected_match=self.matches.get(operation_id),
            )
        except SceauError:
            locked = self._locked()
            if locked is not None:
                return refused(attempts_left=0, locked_until=locked)
            return refused(attempts_left=MAX_FAILURES - self.failures)
        approving = signed.approval.decision.value == "approve"
        if (
            self._locked() is not None
            and approving
            and Factor.KNOWLEDGE not in signed.approval.factors
        ):
            return refused(attempts_left=0, locked_until=self.locked_until)
        if Factor.KNOWLEDGE in signed.approval.factors:
            self.failures = 0
            self.locked_until = None
        status = {"approve": "approved", "reject": "rejected", "not_me": "not_me"}[
            signed.approval.decision.value
        ]
        self.final[operation_id] = status
        return self._json({"operation": operation_id, "status": status})

    # --- code change (the SDK's proposed endpoints) -----------------------------------------

    def _code_evaluate(self, payload: dict[str, Any]) -> httpx.Response:
        locked = self._count_attempt()
        if locked is not None:
            return locked
        return self._json(
            {
                **self._evaluation(payload["blinded_element"]),
                "attempts_left": MAX_FAILURES - self.failures,
                "locked_until": self._locked(),
                "blocked": False,
            }
        )

    def _code_change(self, payload: dict[str, Any]) -> httpx.Response:
        assert self.knowledge_key is not None
        message = canonical_json(
            {
                "v": 1,
                "activation": self.activation_id,
                "counter": self.counter,
                "blinded_element": payload["blinded_element"],
            }
        )
        try:
            verify_message(
                self.knowledge_key,
                b64url_decode(payload["knowledge_signature"], length=64),
                label=CODE_CHANGE_LABEL,
                message=message,
            )
        except SceauError:
            return refused(attempts_left=MAX_FAILURES - self.failures)
        self.failures = 0
        self.change_ready = True
        self.renewal_challenge = b64url_encode(self.rng(32))
        return self._json(
            {**self._evaluation(payload["blinded_element"]), "challenge": self.renewal_challenge}
        )

    def _code_commit(self, payload: dict[str, Any]) -> httpx.Response:
        if not self.change_ready:
            return refused()
        try:
            self.knowledge_key = verify_key_renewal(
                activation_id=self.activation_id,
                knowledge_public_key=payload["knowledge_public_key"],
                challenge=self.renewal_challenge,
                signature=payload["knowledge_signature"],
            )
        except SceauError:
            return refused()
        self.change_ready = False
        return self._json(self._status())

    # --- events -----------------------------------------------------------------------------

    def _events(self) -> httpx.Response:
        script = self.event_scripts.pop(0) if self.event_scripts else []
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream"},
            stream=ScriptedStream([b": connected\n\n", *script]),
        )


def event(operation_id: str, status: str | None = None) -> bytes:
    """An ``operation`` server-sent event: the id alone, or an ended operation's status."""
    data = {"id": operation_id} if status is None else {"id": operation_id, "status": status}
    return f"event: operation\ndata: {json.dumps(data)}\n\n".encode()


def _unknown() -> ec.EllipticCurvePublicKey:
    raise SceauError("unknown key id")
