# SPDX-License-Identifier: Apache-2.0
"""What the desktop application needs from the world: an operation source and a decider.

The application is written against these two protocols only, so that it runs on the real SDK
(:class:`~sceau_device.desktop.adapter.AuthenticatorDesk`, one activated profile of the
keystore) and on a double (:class:`~sceau_device.desktop.simulation.SimulatedDesk`, for tests
and demos). Every operation handed over has been verified with the server key pinned at
activation (brief D8); every batch's lines have been checked against its signed count, total and
digest (brief D4). Failures are :class:`~sceau_device.errors.DeviceError`, each with the
customer's sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sceau_core.approval import Decision
from sceau_core.operations import BatchLine, Operation
from sceau_device.authenticator import Decided
from sceau_device.errors import DeviceError

__all__ = ["Decider", "HistoryEntry", "OperationSource", "Unsubscribe"]

Unsubscribe = Callable[[], None]
"""Stops a subscription; calling it twice is harmless."""


class OperationSource(Protocol):
    """Where pending operations come from: a live feed, and the lines of a batch."""

    @property
    def device_name(self) -> str:
        """This device's name, as the customer chose it at activation."""

    def now(self) -> int:
        """The device's clock, in Unix seconds (for the time left)."""

    def subscribe(
        self,
        on_operation: Callable[[Operation], None],
        on_gone: Callable[[str], None],
        on_problem: Callable[[DeviceError], None],
    ) -> Unsubscribe:
        """Deliver every pending operation once, then each new one, until unsubscribed.

        ``on_gone`` receives the id of an operation that stopped being pending (decided,
        expired, cancelled); ``on_problem`` an error that does not end the feed (a lost
        connection being retried) or that does (a revoked device). Callbacks may come from any
        thread.
        """

    def batch_lines(self, operation: Operation) -> Sequence[BatchLine]:
        """The lines of a batch ``operation``, checked against its signed summary (brief D4).

        Raises :class:`~sceau_device.errors.TamperedOperation` when they do not match.
        """


class Decider(Protocol):
    """What the customer decides: approve with the code, refuse, or "Ce n’est pas moi"."""

    def approve(self, operation: Operation, code: str, *, match: str | None = None) -> Decided:
        """Approve with the 4-digit code (and, for a sign-in, the number typed, brief D6).

        A refused code raises :class:`~sceau_device.errors.AuthenticationRefused` with the
        attempts left, or :class:`~sceau_device.errors.Locked` (brief K3, K4).
        """

    def reject(self, operation: Operation) -> Decided:
        """Refuse ``operation``; no code is needed (brief D5)."""

    def not_me(self, operation: Operation) -> Decided:
        """Refuse ``operation`` and report it as fraud (brief D5)."""


@dataclass(frozen=True)
class HistoryEntry:
    """One operation decided from this application: what it was and what became of it.

    ``status`` is the server's answer: ``approved``, ``rejected``, ``not_me``, or ``pending``
    when a shared account's rule still waits for other signatories.
    """

    operation_id: str
    title: str
    detail: str
    decision: Decision
    status: str
    decided_at: int
