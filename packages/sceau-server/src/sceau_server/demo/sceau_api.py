# SPDX-License-Identifier: Apache-2.0
"""The bank's side of the relying-party API: what Ma Banque's back-end sends to Sceau over HTTP.

:class:`SceauApi` is a thin ``httpx`` client with the bank's API key. Before the bank acts on
an operation it calls :meth:`SceauApi.verified_result`, which checks that the operation Sceau
reports is the one the bank asked for (its digest recomputed from the operation), then verifies
the result JWS with the server's published JWKS (:func:`sceau_core.results.verify_result`). The
bank believes the *signed* status, never the unsigned one next to it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from sceau_core.encoding import b64url_decode, canonical_json, sha256_b64url
from sceau_core.errors import SceauError
from sceau_core.results import ResultClaims, verify_result

__all__ = ["SceauApi", "SceauProblem", "UnverifiedResult", "VerifiedResult", "operation_digest"]

_PROBLEM_PREFIX = "urn:sceau:problem:"
_JWKS_MAX_AGE = 300.0


class SceauProblem(Exception):
    """Sceau answered a problem (RFC 9457): its status, short type name and messages."""

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        self.status = status
        self.slug = str(problem.get("type", "")).removeprefix(_PROBLEM_PREFIX) or "unknown"
        self.detail = str(problem.get("detail", ""))
        self.problem = dict(problem)
        super().__init__(f"{status} {self.slug}: {self.detail}")


class UnverifiedResult(Exception):
    """A result that does not verify: the bank refuses to act on it."""


@dataclass(frozen=True)
class VerifiedResult:
    """A result JWS that verified, with its claims."""

    token: str
    claims: ResultClaims
    kid: str


def operation_digest(operation: Mapping[str, Any]) -> str:
    """The digest of an operation object (``docs/protocol.md`` §4.1): b64u SHA-256 of its JCS."""
    return sha256_b64url(canonical_json(dict(operation)))


def _answer(response: httpx.Response) -> Any:
    if response.is_success:
        return response.json() if response.content else None
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    raise SceauProblem(response.status_code, problem if isinstance(problem, dict) else {})


class SceauApi:
    """A relying party's client of the Sceau server at ``base_url`` (see the module docstring)."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            follow_redirects=False,
        )
        self._jwks: dict[str, Any] | None = None
        self._jwks_at = 0.0
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    @property
    def auth_headers(self) -> dict[str, str]:
        """The ``Authorization`` header, for an asynchronous client of the same bank."""
        return {"Authorization": f"Bearer {self.api_key}"}

    # --- users and activations -------------------------------------------------------------

    def put_user(self, external_id: str, *, phone: str, display_name: str, locale: str) -> Any:
        """Create or update a user."""
        return _answer(
            self._http.put(
                f"/v1/users/{external_id}",
                json={"phone": phone, "display_name": display_name, "locale": locale},
            )
        )

    def user(self, external_id: str) -> dict[str, Any]:
        """A user and their devices."""
        value: dict[str, Any] = _answer(self._http.get(f"/v1/users/{external_id}"))
        return value

    def create_activation(self, external_id: str) -> dict[str, Any]:
        """A new activation: code, QR payload and SVG; the SMS code goes to the user's phone."""
        value: dict[str, Any] = _answer(self._http.post(f"/v1/users/{external_id}/activations"))
        return value

    def revoke(self, external_id: str, activation_id: str) -> None:
        """Revoke one of the user's devices."""
        _answer(self._http.delete(f"/v1/users/{external_id}/activations/{activation_id}"))

    # --- the bank's operator (admin scope) ---------------------------------------------------

    def admin_action(
        self, activation_id: str, action: str, *, operator: str, reason: str, identity_check: str
    ) -> dict[str, Any]:
        """``unblock`` or ``revoke`` a device: who acts, why, how the customer was identified."""
        value: dict[str, Any] = _answer(
            self._http.post(
                f"/v1/admin/devices/{activation_id}/{action}",
                json={"operator": operator, "reason": reason, "identity_check": identity_check},
            )
        )
        return value

    # --- operations -------------------------------------------------------------------------

    def create_operation(
        self, body: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Ask the user to validate an operation."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        value: dict[str, Any] = _answer(
            self._http.post("/v1/operations", json=dict(body), headers=headers)
        )
        return value

    def operation(self, operation_id: str) -> dict[str, Any]:
        """The operation's current state."""
        value: dict[str, Any] = _answer(self._http.get(f"/v1/operations/{operation_id}"))
        return value

    def cancel(self, operation_id: str) -> dict[str, Any]:
        """Cancel a pending operation."""
        value: dict[str, Any] = _answer(self._http.post(f"/v1/operations/{operation_id}/cancel"))
        return value

    # --- companies (Sceau Pro) ----------------------------------------------------------------

    def put_organisation(self, organisation: str, *, name: str) -> dict[str, Any]:
        """Create or rename an organisation."""
        value: dict[str, Any] = _answer(
            self._http.put(f"/v1/organisations/{organisation}", json={"name": name})
        )
        return value

    def put_member(
        self, organisation: str, external_id: str, *, display_name: str, admin: bool
    ) -> dict[str, Any]:
        """Make a user a member of the organisation; the answer carries the member ``id``."""
        value: dict[str, Any] = _answer(
            self._http.put(
                f"/v1/organisations/{organisation}/members/{external_id}",
                json={"display_name": display_name, "admin": admin},
            )
        )
        return value

    def put_account(self, iban: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a shared account with its rule and its members' rights."""
        value: dict[str, Any] = _answer(self._http.put(f"/v1/accounts/{iban}", json=dict(body)))
        return value

    def account(self, iban: str) -> dict[str, Any]:
        """A shared account: its rule and every member's rights."""
        value: dict[str, Any] = _answer(self._http.get(f"/v1/accounts/{iban}"))
        return value

    def create_pain001(
        self, user: str, account: str, content: bytes, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Submit a SEPA pain.001 file as a batch for the account's validators to sign."""
        headers = {"Content-Type": "application/xml"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        value: dict[str, Any] = _answer(
            self._http.post(
                "/v1/operations/pain001",
                params={"user": user, "account": account},
                content=content,
                headers=headers,
            )
        )
        return value

    # --- results ----------------------------------------------------------------------------

    def jwks(self, *, refresh: bool = False) -> dict[str, Any]:
        """The server's JWKS, cached for a few minutes."""
        with self._lock:
            fresh = time.monotonic() - self._jwks_at < _JWKS_MAX_AGE
            if self._jwks is None or refresh or not fresh:
                self._jwks = _answer(self._http.get("/.well-known/jwks.json"))
                self._jwks_at = time.monotonic()
            assert self._jwks is not None
            return self._jwks

    def verified_result(self, view: Mapping[str, Any], *, expected_digest: str) -> VerifiedResult:
        """Verify a final operation's result JWS (see the module docstring).

        ``expected_digest`` is the digest the bank recorded when it created the operation.
        Raises :class:`UnverifiedResult` when anything does not match or verify.
        """
        token = view.get("result")
        operation = view.get("operation")
        if not isinstance(token, str) or not isinstance(operation, Mapping):
            raise UnverifiedResult("the operation has no result yet")
        if operation_digest(operation) != expected_digest or view.get("digest") != expected_digest:
            raise UnverifiedResult("the operation is not the one the bank asked for")
        claims: ResultClaims | None = None
        for refresh in (False, True):
            try:
                claims = verify_result(
                    token,
                    jwks_document=self.jwks(refresh=refresh),
                    expected_operation_id=str(view.get("id")),
                    expected_issuer=self.base_url,
                    expected_digest=expected_digest,
                )
                break
            except SceauError as error:
                if refresh:
                    raise UnverifiedResult(f"the result JWS does not verify: {error}") from error
        assert claims is not None
        header = json.loads(b64url_decode(token.split(".", 1)[0], field="JWS header"))
        return VerifiedResult(token=token, claims=claims, kid=str(header.get("kid", "")))
