# SPDX-License-Identifier: Apache-2.0
"""Pydantic models at the edge of the HTTP API: every request model forbids unknown fields.

Typed operation data are checked here only as JSON objects; the protocol core's strict parsers
(:func:`sceau_core.operations.parse_data`) then apply each type's rules and name the field that
fails, so the rules live in one place.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from sceau_core.errors import MalformedInput
from sceau_core.operations import OperationType, check_text

__all__ = [
    "ActivationCreated",
    "ActivationLookup",
    "AdminAction",
    "AdminDevices",
    "ApprovalEntry",
    "BiometricsRequest",
    "CodeChangeEvaluation",
    "CodeChangeRequest",
    "CodeCommitRequest",
    "CommitRequest",
    "DecisionResult",
    "DeviceEntry",
    "DeviceList",
    "DeviceOperations",
    "DeviceStatus",
    "EvaluateRequest",
    "Evaluation",
    "OperationCreate",
    "OperationView",
    "Problem",
    "RegisterRequest",
    "RegistrationEvaluation",
    "ResetEvaluateRequest",
    "ResetStartRequest",
    "ResetStarted",
    "UserUpsert",
    "UserView",
]

ExternalId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")]
B64Url = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")]


def _readable(value: str, info: ValidationInfo) -> str:
    """Text people read, checked like an operation's: no control or invisible character (a NUL
    would also be refused by PostgreSQL), no bidirectional override, no line break."""
    try:
        return check_text(value, field=info.field_name or "text", max_length=len(value))
    except MalformedInput as error:
        raise ValueError(str(error)) from error


MAX_JSON_DEPTH = 8
"""Deepest nesting of objects and arrays in an operation's data or context: a batch's line
amount is four levels down. JSON nested hundreds deep parses, but breaks serialisation later."""


def _shallow(value: dict[str, Any]) -> dict[str, Any]:
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_shallow)]


Name = Annotated[str, Field(min_length=1, max_length=140), AfterValidator(_readable)]
Note = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_readable)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Problem(BaseModel):
    """An RFC 9457 problem details object; some problems add members."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    message_fr: str | None = None
    message_en: str | None = None
    attempts_left: int | None = None
    locked_until: int | None = None


class UserUpsert(_Request):
    """A user as the bank provisions it."""

    phone: str = Field(pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164 phone number")
    display_name: Name
    locale: Literal["fr", "en"] = "fr"
    phone_changed_at: int | None = Field(default=None, ge=0, le=2**53 - 1)


class DeviceView(BaseModel):
    """One of the user's devices."""

    activation_id: str
    device_name: str | None
    status: str
    activated_at: int | None
    locked_until: int | None
    blocked: bool
    hold_until: int | None = Field(
        default=None, description="a new device on hold: when it becomes active (brief L2)"
    )


class UserView(BaseModel):
    """A user as the RP API shows it."""

    external_id: str
    phone: str
    display_name: str
    locale: str
    phone_changed_at: int | None
    fraud_flagged_at: int | None
    created_at: int
    devices: list[DeviceView]


class ActivationCreated(BaseModel):
    """A new activation: show ``code`` and the QR code to the logged-in customer."""

    activation_id: str
    code: str
    qr_uri: str
    qr_svg: str
    expires_at: int
    server_key_fingerprint: str


class OperationCreate(_Request):
    """A request to validate one operation."""

    user: ExternalId = Field(strict=True)
    type: OperationType = Field(description="the operation type")
    data: JsonObject = Field(description="typed data; see docs/api.md for each type")
    context: JsonObject | None = Field(
        default=None, description="request context: ip, user_agent, channel, location"
    )
    ttl: int | None = Field(
        default=None, ge=1, le=3600, strict=True, description="seconds; default per type"
    )
    callback_url: str | None = Field(default=None, min_length=1, max_length=2048, strict=True)
    account: str | None = Field(
        default=None,
        min_length=15,
        max_length=42,
        strict=True,
        description="Sceau Pro: the IBAN of the shared account; its validators decide",
    )

    model_config = ConfigDict(extra="forbid", strict=False)


class ApprovalEntry(BaseModel):
    """One member's decision on a shared account's operation."""

    member: str | None
    name: str | None
    decision: Literal["approve", "reject", "not_me"]
    at: int


class OperationView(BaseModel):
    """An operation as its relying party sees it."""

    id: str
    type: str
    status: Literal["pending", "approved", "rejected", "not_me", "expired", "cancelled"]
    user: str
    created_at: int
    expires_at: int
    digest: str
    operation: dict[str, Any]
    decided_at: int | None
    factors: list[str] | None
    suspected_fraud: bool
    result: str | None = Field(description="the result JWS (ES256) once final")
    callback_url: str | None
    match: str | None = Field(
        default=None, description="login only: the number to show the user (brief D6)"
    )
    account: str | None = Field(default=None, description="Sceau Pro: the shared account's IBAN")
    approvals: list[ApprovalEntry] | None = Field(
        default=None, description="Sceau Pro: every member's decision so far"
    )
    still_needed: int | None = Field(
        default=None, description="Sceau Pro, while pending: approvals still needed"
    )


class ActivationLookup(BaseModel):
    """What a device receives before pinning the server (docs/protocol.md §2.3)."""

    activation_id: str
    binding: dict[str, Any]
    tag: str


class RegisterRequest(_Request):
    """Device key registration (docs/protocol.md §2.4 step 3)."""

    activation_id: str = Field(min_length=1, max_length=64)
    device_name: str = Field(min_length=1, max_length=140)
    device_public_key: B64Url
    sms_code: str = Field(pattern=r"^[0-9]{6}$")
    proof: B64Url


class EvaluateRequest(_Request):
    """A blinded element to evaluate (docs/protocol.md §3)."""

    blinded_element: B64Url


class RegistrationEvaluation(BaseModel):
    """The server's VOPRF evaluation and its proof."""

    evaluated_element: str
    proof: str


class Evaluation(RegistrationEvaluation):
    """An evaluation during an approval, with the attempts left after counting it."""

    attempts_left: int
    locked_until: int | None
    blocked: bool


class CommitRequest(_Request):
    """The knowledge key (and biometric key) registration (docs/protocol.md §2.4 step 5)."""

    knowledge_public_key: B64Url
    knowledge_signature: B64Url
    inherence_public_key: B64Url | None = None


class CodeChangeRequest(_Request):
    """The new code's blinded element, authorized by the old knowledge key."""

    blinded_element: B64Url
    knowledge_signature: B64Url


class CodeCommitRequest(_Request):
    """The new knowledge key, signed by itself (label ``sceau/v1/key-registration``)."""

    knowledge_public_key: B64Url
    knowledge_signature: B64Url


class DeviceStatus(BaseModel):
    """The device's own activation."""

    activation_id: str
    status: str
    device_name: str | None
    counter: int
    locked_until: int | None
    blocked: bool
    inherence: bool
    hold_until: int | None = Field(
        default=None, description="on hold: when this new device becomes active (brief L2)"
    )
    next_lock_final: bool = Field(
        default=False,
        description="the next lock will block for good: warn the customer (brief K3)",
    )


class CodeChangeEvaluation(RegistrationEvaluation):
    """The new code's evaluation, with the challenge its knowledge key's renewal must sign."""

    challenge: str


class ResetStartRequest(_Request):
    """Start a forgotten-code reset (docs/protocol.md §6.4)."""

    method: Literal["biometric", "sms"]


class ResetStarted(BaseModel):
    """A reset started: its id, its challenge, until when it can be verified."""

    reset_id: str
    method: str
    challenge: str
    expires_at: int
    attempts_left: int


Detail = Annotated[str, Field(min_length=1, max_length=200)]


class ResetEvaluateRequest(_Request):
    """The reset's second element and the new code's blinded element.

    ``biometric``: ``inherence_signature``. ``sms``: ``sms_code`` and ``password`` (the
    online-banking password, checked by the bank; never stored), with the ``details`` the bank
    asks for, if any.
    """

    blinded_element: B64Url
    inherence_signature: B64Url | None = None
    sms_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    password: str | None = Field(default=None, max_length=1024)
    details: dict[Annotated[str, Field(pattern=r"^[a-z_]{1,32}$")], Detail] | None = Field(
        default=None, max_length=8
    )


class BiometricsRequest(_Request):
    """Enrol (a biometric public key) or remove (``null``) biometrics, signed by the code."""

    inherence_public_key: B64Url | None
    knowledge_signature: B64Url


class DeviceEntry(BaseModel):
    """One of a customer's devices."""

    activation_id: str
    device_name: str | None
    status: str
    created_at: int
    activated_at: int | None
    hold_until: int | None
    replaces: str | None
    biometrics: bool
    locked_until: int | None
    blocked: bool
    ended_at: int | None
    end_reason: str | None
    current: bool | None = Field(default=None, description="the device that asks")


class DeviceList(BaseModel):
    """The customer's devices: active, suspended, or on hold."""

    devices: list[DeviceEntry]


class AdminAction(_Request):
    """Who acts for the bank, why, and how the customer was identified (all audited)."""

    operator: Name
    reason: Note
    identity_check: Note = Field(
        description="how the customer was identified, e.g. 'branch visit, ID card checked'"
    )


class AdminDevices(BaseModel):
    """Every activation of a customer, for the bank's operator."""

    user: str
    phone_changed_at: int | None
    devices: list[DeviceEntry]


class SignedOperation(BaseModel):
    """An operation signed by the server key (label ``sceau/v1/operation``)."""

    operation: dict[str, Any]
    signature: str


class DeviceOperations(BaseModel):
    """The user's pending operations, with the activation's attempt state."""

    operations: list[SignedOperation]
    attempts_left: int
    locked_until: int | None
    blocked: bool


class DecisionResult(BaseModel):
    """The accepted decision."""

    operation: str
    status: str
    still_needed: int | None = Field(
        default=None, description="Sceau Pro: the approval is kept, others are still needed"
    )
