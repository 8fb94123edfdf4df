# SPDX-License-Identifier: Apache-2.0
"""Test doubles of the desktop application: the simulation, recording what it is asked."""

from __future__ import annotations

from dataclasses import dataclass, field

from sceau_core.operations import Operation
from sceau_device.authenticator import Decided
from sceau_device.desktop.simulation import SimulatedDesk, demo_desk

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: float = NOW

    def __call__(self) -> float:
        return self.now


@dataclass
class RecordingDesk:
    """The simulated bank, recording every call the application makes to the decider."""

    desk: SimulatedDesk
    calls: list[tuple[str, str, str | None]] = field(default_factory=list)

    def approve(self, operation: Operation, code: str, *, match: str | None = None) -> Decided:
        self.calls.append(("approve", operation.id, code))
        return self.desk.approve(operation, code, match=match)

    def reject(self, operation: Operation) -> Decided:
        self.calls.append(("reject", operation.id, None))
        return self.desk.reject(operation)

    def not_me(self, operation: Operation) -> Decided:
        self.calls.append(("not_me", operation.id, None))
        return self.desk.not_me(operation)


def make_desk(clock: Clock, *, batch_lines: int = 120) -> SimulatedDesk:
    """The demonstration's three operations; approvals do not wait for other signatories."""
    desk = demo_desk(batch_lines=batch_lines, clock=clock)
    desk.awaiting_signatures.clear()
    return desk
