# SPDX-License-Identifier: Apache-2.0
"""A test device built on the real protocol core: it activates, signs requests and approves.

It does what the device SDK does, step by step and with hooks for the attacks the tests play
(a replayed request, a counter that goes back, an approval signed for another operation), so it
holds its state in plain attributes. It is not a fake of the server: every message it sends is
built and signed with ``sceau_core`` and checked by the real server over HTTP.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from sceau_core.activation import ActivationCode, ServerBinding, registration_proof, verify_binding
from sceau_core.approval import Approval, Decision, Factor, SignedApproval, sign_approval
from sceau_core.encoding import b64url_decode, b64url_encode
from sceau_core.httpsig import HttpRequest, sign_request
from sceau_core.keys import decode_public_key, encode_public_key, generate_private_key
from sceau_core.knowledge import finish_code_evaluation, start_code_evaluation
from sceau_core.operations import Operation
from sceau_core.signatures import sign_key_registration, verify_signed_operation

__all__ = ["SignedCall", "TestDevice"]


@dataclass
class SignedCall:
    """A signed request ready to send (and to send again, for replay tests)."""

    method: str
    path: str
    body: bytes
    headers: dict[str, str]
    counter: int


@dataclass
class TestDevice:
    """One activation's device side."""

    __test__ = False  # not a pytest test class

    base_url: str
    name: str = "Téléphone de test"
    device_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: generate_private_key(os.urandom)
    )
    device_secret: bytes = field(default_factory=lambda: os.urandom(32))
    activation_id: str = ""
    server_public_key: ec.EllipticCurvePublicKey | None = None
    oprf_public_key: bytes = b""
    counter: int = 0
    clock_skew: int = 0
    inherence_key: ec.EllipticCurvePrivateKey | None = None
    """A stand-in for the keystore key that biometrics unlock (brief I1), when enrolled."""
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    # --- signed requests ---------------------------------------------------------------------

    def prepare(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        counter: int | None = None,
        key: ec.EllipticCurvePrivateKey | None = None,
        key_id: str | None = None,
    ) -> SignedCall:
        """Sign a request with the device key and the next counter (or the one given)."""
        if counter is None:
            self.counter += 1
            counter = self.counter
        raw = b"" if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        request = HttpRequest(method, self.base_url + path, headers, raw)
        signature = sign_request(
            request,
            private_key=key or self.device_key,
            key_id=key_id or self.activation_id,
            counter=counter,
            now=int(time.time()) + self.clock_skew,
            rng=os.urandom,
        )
        return SignedCall(method, path, raw, {**headers, **signature}, counter)

    def send(self, call: SignedCall, client: httpx.Client | None = None) -> httpx.Response:
        """Send a prepared request as it was signed."""
        return (client or self.http).request(
            call.method, self.base_url + call.path, content=call.body, headers=call.headers
        )

    def call(self, method: str, path: str, body: Any = None, **options: Any) -> httpx.Response:
        """Sign and send in one step."""
        return self.send(self.prepare(method, path, body, **options))

    # --- activation (docs/protocol.md §2.4) ---------------------------------------------------

    def activate(self, code_text: str, *, sms_code: str, pin: str, status: str = "active") -> None:
        """Look up, pin, register, evaluate the chosen code once and commit the knowledge key.

        ``status`` is the state the commit must give: ``on_hold`` for a customer who already has
        a device (brief L2).
        """
        code = ActivationCode.parse(code_text)
        response = self.http.get(f"{self.base_url}/v1/device/activation/{code.lookup_id()}")
        assert response.status_code == 200, response.text
        found = response.json()
        binding = ServerBinding.from_json(found["binding"])
        verify_binding(code, binding, found["tag"], expected_server_url=self.base_url)
        self.activation_id = binding.activation_id
        self.server_public_key = decode_public_key(binding.server_public_key)
        self.oprf_public_key = b64url_decode(binding.oprf_public_key, length=32)
        response = self.register(code, sms_code)
        assert response.status_code == 200, response.text
        evaluation = start_code_evaluation(pin, rng=os.urandom)
        response = self.call(
            "POST",
            "/v1/device/activation/oprf",
            {"blinded_element": b64url_encode(evaluation.blinded_element)},
        )
        assert response.status_code == 200, response.text
        knowledge_key = self._finish(evaluation, response.json())
        commit = {
            "knowledge_public_key": encode_public_key(knowledge_key.public_key()),
            "knowledge_signature": sign_key_registration(
                knowledge_key, activation_id=self.activation_id
            ),
        }
        if self.inherence_key is not None:
            commit["inherence_public_key"] = encode_public_key(self.inherence_key.public_key())
        response = self.call("POST", "/v1/device/activation/commit", commit)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status

    def register(self, code: ActivationCode, sms_code: str) -> httpx.Response:
        """Register the device key with the registration proof and the SMS code."""
        registration = {
            "activation_id": self.activation_id,
            "device_name": self.name,
            "device_public_key": encode_public_key(self.device_key.public_key()),
        }
        body = {
            **registration,
            "sms_code": sms_code,
            "proof": registration_proof(code.registration_key(), registration),
        }
        return self.call("POST", "/v1/device/activation/register", body)

    def _finish(self, evaluation: Any, answer: dict[str, Any]) -> ec.EllipticCurvePrivateKey:
        return finish_code_evaluation(
            evaluation,
            evaluated_element=b64url_decode(answer["evaluated_element"], length=32),
            proof=b64url_decode(answer["proof"], length=64),
            expected_oprf_public_key=self.oprf_public_key,
            device_secret=self.device_secret,
        )

    # --- operations ---------------------------------------------------------------------------

    def pending(self) -> list[Operation]:
        """The pending operations, each verified under the pinned server key (brief D8)."""
        response = self.call("GET", "/v1/device/operations")
        assert response.status_code == 200, response.text
        assert self.server_public_key is not None
        return [
            verify_signed_operation(item, public_key=self.server_public_key)
            for item in response.json()["operations"]
        ]

    def operation(self, operation_id: str) -> Operation:
        """One pending operation by id."""
        for operation in self.pending():
            if operation.id == operation_id:
                return operation
        raise AssertionError(f"{operation_id} is not pending on this device")

    def evaluate(self, operation_id: str, pin: str) -> tuple[httpx.Response, Any]:
        """Ask for one evaluation of ``pin``; return the response and the knowledge key or None."""
        evaluation = start_code_evaluation(pin, rng=os.urandom)
        response = self.call(
            "POST",
            f"/v1/device/operations/{operation_id}/evaluate",
            {"blinded_element": b64url_encode(evaluation.blinded_element)},
        )
        if response.status_code != 200:
            return response, None
        return response, self._finish(evaluation, response.json())

    def sign(
        self,
        operation: Operation,
        *,
        decision: Decision = Decision.APPROVE,
        knowledge_key: ec.EllipticCurvePrivateKey | None = None,
        counter: int,
        match: str | None = None,
        activation_id: str | None = None,
        device_key: ec.EllipticCurvePrivateKey | None = None,
    ) -> SignedApproval:
        """A signed approval of ``operation`` (knowledge + possession when approving)."""
        keys = {Factor.POSSESSION: device_key or self.device_key}
        if decision is Decision.APPROVE and knowledge_key is not None:
            keys[Factor.KNOWLEDGE] = knowledge_key
        elif decision is Decision.APPROVE:
            assert self.inherence_key is not None, "approving needs the code or biometrics"
            keys[Factor.INHERENCE] = self.inherence_key
        approval = Approval.for_operation(
            operation,
            activation=activation_id or self.activation_id,
            decision=decision,
            factors=list(keys),
            counter=counter,
            match=match,
        )
        return sign_approval(approval, keys)

    def decision_call(self, operation_id: str, signed: SignedApproval) -> SignedCall:
        """The signed request carrying ``signed``; its counter is the approval's."""
        return self.prepare(
            "POST",
            f"/v1/device/operations/{operation_id}/decision",
            signed.to_json(),
            counter=signed.approval.counter,
        )

    def next_counter(self) -> int:
        """Reserve the next counter value (for an approval and the request carrying it)."""
        self.counter += 1
        return self.counter

    def approve(
        self, operation_id: str, pin: str = "4826", *, match: str | None = None
    ) -> httpx.Response:
        """The whole approval: fetch, evaluate the code, sign, send the decision."""
        operation = self.operation(operation_id)
        response, knowledge_key = self.evaluate(operation_id, pin)
        if knowledge_key is None:
            return response
        signed = self.sign(
            operation, knowledge_key=knowledge_key, counter=self.next_counter(), match=match
        )
        return self.send(self.decision_call(operation_id, signed))

    def refuse(self, operation_id: str, decision: Decision = Decision.REJECT) -> httpx.Response:
        """Refuse (or report "not me") without the code (brief D5)."""
        operation = self.operation(operation_id)
        signed = self.sign(operation, decision=decision, counter=self.next_counter())
        return self.send(self.decision_call(operation_id, signed))
