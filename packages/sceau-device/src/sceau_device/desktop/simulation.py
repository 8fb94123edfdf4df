# SPDX-License-Identifier: Apache-2.0
"""A SIMULATED bank and device for the desktop application's tests and demos.

:class:`SimulatedDesk` is an :class:`~sceau_device.desktop.ports.OperationSource` and a
:class:`~sceau_device.desktop.ports.Decider` held entirely in memory. It is **not** an
authenticator: it talks to no server, signs nothing, and checks the code against one it was
given, in memory, to imitate the server's answers (attempts left, lock). It exists so the
screens can be driven without a server (``sceau-desktop --demo``, the pilot tests, the
screenshot in ``docs/screenshots/``). Batch lines are still checked against the operation's
count, total and digest, as the real SDK does.
"""

from __future__ import annotations

import dataclasses
import hmac
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Final

from sceau_core.approval import Decision, Factor
from sceau_core.display import render_rule_lines
from sceau_core.errors import SceauError
from sceau_core.money import Amount
from sceau_core.operations import (
    AddPayeeData,
    BatchLine,
    BatchTransferData,
    Channel,
    Operation,
    OperationData,
    OperationType,
    RequestContext,
    TransferData,
    check_batch,
)
from sceau_device.authenticator import Decided
from sceau_device.desktop.ports import Unsubscribe
from sceau_device.errors import (
    AuthenticationRefused,
    DeviceError,
    InputError,
    Locked,
    OperationUnavailable,
    TamperedOperation,
)

__all__ = ["DEMO_CODE", "SimulatedDesk", "demo_batch_lines", "demo_desk"]

DEMO_CODE: Final = "4826"
"""The code the demonstration accepts."""

_MAX_ATTEMPTS: Final = 5
_LOCK_SECONDS: Final = 60


class SimulatedDesk:
    """A simulated source and decider in memory; see the module docstring.

    ``add`` makes an operation pending (and tells subscribers), ``remove`` withdraws it;
    ``awaiting_signatures`` holds the ids whose approval leaves them waiting for other
    signatories (a shared account's rule), so the answer's status is ``pending``.
    """

    def __init__(
        self,
        *,
        code: str = DEMO_CODE,
        device_name: str = "Ordinateur de démonstration (simulation)",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._code = code
        self._device_name = device_name
        self._clock = clock
        self._lock = threading.Lock()
        self.operations: dict[str, Operation] = {}
        self.lines: dict[str, tuple[BatchLine, ...]] = {}
        self.decided: dict[str, Decision] = {}
        self.awaiting_signatures: set[str] = set()
        self.attempts_left = _MAX_ATTEMPTS
        self.locked_until: int | None = None
        self._subscribers: list[tuple[Callable[[Operation], None], Callable[[str], None]]] = []

    @property
    def device_name(self) -> str:
        """The simulated device's name."""
        return self._device_name

    def now(self) -> int:
        """The simulation's clock."""
        return int(self._clock())

    # --- the bank's side ------------------------------------------------------------------------

    def add(self, operation: Operation, lines: Sequence[BatchLine] | None = None) -> None:
        """Make ``operation`` pending (with its batch ``lines``) and tell the subscribers."""
        with self._lock:
            self.operations[operation.id] = operation
            if lines is not None:
                self.lines[operation.id] = tuple(lines)
            subscribers = list(self._subscribers)
        for on_operation, _ in subscribers:
            on_operation(operation)

    def remove(self, operation_id: str) -> None:
        """Withdraw a pending operation (expired, cancelled) and tell the subscribers."""
        with self._lock:
            self.operations.pop(operation_id, None)
            subscribers = list(self._subscribers)
        for _, on_gone in subscribers:
            on_gone(operation_id)

    # --- OperationSource ------------------------------------------------------------------------

    def subscribe(
        self,
        on_operation: Callable[[Operation], None],
        on_gone: Callable[[str], None],
        on_problem: Callable[[DeviceError], None],
    ) -> Unsubscribe:
        """Deliver the pending operations now, then each one added, until unsubscribed."""
        del on_problem  # nothing goes wrong in a simulation
        entry = (on_operation, on_gone)
        with self._lock:
            self._subscribers.append(entry)
            current = [
                operation
                for operation in self.operations.values()
                if operation.expires_at > self.now()
            ]
        for operation in current:
            on_operation(operation)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    def batch_lines(self, operation: Operation) -> Sequence[BatchLine]:
        """The batch's lines, checked against its summary like the SDK does."""
        data = operation.data
        if not isinstance(data, BatchTransferData):
            raise InputError(
                "Seuls des virements groupés ont des lignes à afficher.",
                "Only a batch transfer has lines to show.",
            )
        lines = self.lines.get(operation.id, ())
        try:
            check_batch(lines, data)
        except SceauError as error:
            raise TamperedOperation(operation.id, f"batch lines: {error}") from error
        return lines

    # --- Decider --------------------------------------------------------------------------------

    def _pending(self, operation: Operation) -> None:
        if operation.id in self.decided or operation.id not in self.operations:
            raise OperationUnavailable(operation.id, None)
        if self.now() >= operation.expires_at:
            raise OperationUnavailable(operation.id, "expired")

    def _finish(
        self, operation: Operation, decision: Decision, factors: tuple[Factor, ...]
    ) -> Decided:
        self.decided[operation.id] = decision
        status = {
            Decision.APPROVE: "approved",
            Decision.REJECT: "rejected",
            Decision.NOT_ME: "not_me",
        }[decision]
        if decision is Decision.APPROVE and operation.id in self.awaiting_signatures:
            status = "pending"
        self.remove(operation.id)
        return Decided(operation_id=operation.id, status=status, decision=decision, factors=factors)

    def approve(self, operation: Operation, code: str, *, match: str | None = None) -> Decided:
        """Approve when ``code`` is the simulation's; else count a failure, as a server does."""
        del match  # the simulation shows no web page whose number could be compared
        self._pending(operation)
        now = self.now()
        if self.locked_until is not None and now < self.locked_until:
            raise Locked(locked_until=self.locked_until, blocked=False)
        if not hmac.compare_digest(code.encode(), self._code.encode()):
            self.attempts_left -= 1
            if self.attempts_left <= 0:
                self.attempts_left = _MAX_ATTEMPTS
                self.locked_until = now + _LOCK_SECONDS
                raise Locked(locked_until=self.locked_until, blocked=False)
            raise AuthenticationRefused(attempts_left=self.attempts_left)
        self.attempts_left = _MAX_ATTEMPTS
        return self._finish(operation, Decision.APPROVE, (Factor.KNOWLEDGE, Factor.POSSESSION))

    def reject(self, operation: Operation) -> Decided:
        """Refuse."""
        self._pending(operation)
        return self._finish(operation, Decision.REJECT, (Factor.POSSESSION,))

    def not_me(self, operation: Operation) -> Decided:
        """Refuse and report as fraud."""
        self._pending(operation)
        return self._finish(operation, Decision.NOT_ME, (Factor.POSSESSION,))


# --- the demonstration ---------------------------------------------------------------------------

_PAYEES: Final = (
    ("Société Bretonne de Nettoyage", "FR7630002056781234567890168"),
    ("Müller Werkzeuge GmbH", "DE90500105175419032876"),
    ("Imprimerie du Centre", "FR7610278060392030405060773"),
    ("Léa Bernard", "FR7620041010050055500077794"),
    ("García Distribución SL", "ES9121000418450200051332"),
    ("Jan van den Berg", "NL91ABNA0417164300"),
    ("Giulia Ferri", "IT60X0542811101000000123456"),
)
_DEBTOR: Final = "FR7630004012340098765432178"
_CONTEXT: Final = RequestContext(
    ip="203.0.113.7",
    user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    channel=Channel.WEB,
)


def demo_batch_lines(count: int) -> tuple[BatchLine, ...]:
    """``count`` invented batch lines (payees, IBANs and amounts of the sample files)."""
    lines = []
    for number in range(1, count + 1):
        name, iban = _PAYEES[number % len(_PAYEES)]
        cents = 10_000 + (number * 7_919) % 400_000
        lines.append(
            BatchLine(
                payee_name=name,
                payee_iban=iban,
                amount=Amount(Decimal(cents).scaleb(-2), "EUR"),
                reference=f"Facture F2026-{number:05d}",
            )
        )
    return tuple(lines)


def _operation(
    number: int,
    kind: OperationType,
    data: OperationData,
    *,
    now: int,
    ttl: int,
    extra: Iterable[str] = (),
) -> Operation:
    operation = Operation.create(
        id=f"op_demo_{number}",
        type=kind,
        data=data,
        context=_CONTEXT,
        locale="fr",
        now=now,
        ttl=ttl,
        rng=lambda size: bytes([number]) * size,
    )
    return dataclasses.replace(operation, display=operation.display + tuple(extra))


def demo_desk(*, batch_lines: int = 120, clock: Callable[[], float] = time.time) -> SimulatedDesk:
    """A simulation with three pending operations of a company account, for demos.

    A batch of ``batch_lines`` transfers and a 12 500 € transfer, both under a two-signature
    rule (the second signature is "awaited"), and a new payee. The code is :data:`DEMO_CODE`.
    """
    desk = SimulatedDesk(clock=clock)
    now = desk.now()
    lines = demo_batch_lines(batch_lines)
    rule = render_rule_lines(2, ["Claire Martin"], "fr")
    batch = _operation(
        1,
        OperationType.BATCH_TRANSFER,
        BatchTransferData.for_lines(
            debtor_iban=_DEBTOR,
            lines=lines,
            batch_reference="ARS-VIR-2026-0311",
            execution_date="2026-03-13",
        ),
        now=now,
        ttl=900,
        extra=rule,
    )
    transfer = _operation(
        2,
        OperationType.TRANSFER,
        TransferData(
            amount=Amount.parse("12500.00", "EUR"),
            payee_name="Société Bretonne de Nettoyage",
            payee_iban="FR7630002056781234567890168",
            reference="Facture F2026-00117",
            debtor_iban=_DEBTOR,
        ),
        now=now,
        ttl=600,
        extra=rule,
    )
    payee = _operation(
        3,
        OperationType.ADD_PAYEE,
        AddPayeeData(payee_name="Transports Nguyen", payee_iban="FR7620041010050055500077794"),
        now=now,
        ttl=300,
    )
    desk.add(batch, lines)
    desk.add(transfer)
    desk.add(payee)
    desk.awaiting_signatures.update({batch.id, transfer.id})
    return desk
