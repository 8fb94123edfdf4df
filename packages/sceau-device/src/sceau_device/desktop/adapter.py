# SPDX-License-Identifier: Apache-2.0
"""The desktop application on the real SDK: one activated profile's :class:`Authenticator`.

:class:`AuthenticatorDesk` is both the :class:`~sceau_device.desktop.ports.OperationSource` and
the :class:`~sceau_device.desktop.ports.Decider` of the application. Its live feed is
:meth:`Authenticator.listen <sceau_device.authenticator.Authenticator.listen>` (the server's
signed event stream, with catch-up after each reconnection) run in a daemon thread; its batch
lines come from :meth:`Authenticator.batch_lines
<sceau_device.authenticator.Authenticator.batch_lines>` (``GET /v1/device/operations/{id}/lines``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from sceau_core.operations import BatchLine, Operation
from sceau_device.authenticator import Authenticator, Decided
from sceau_device.desktop.ports import Unsubscribe
from sceau_device.errors import DeviceError, ServerFailure, TamperedOperation

__all__ = ["AuthenticatorDesk"]

_JOIN_SECONDS = 1.0


class AuthenticatorDesk:
    """The operation source and decider of one activated profile; see the module docstring."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator

    @property
    def device_name(self) -> str:
        """The profile's device name."""
        return self.authenticator.profile.device_name

    def now(self) -> int:
        """The authenticator's clock."""
        return self.authenticator.now()

    def subscribe(
        self,
        on_operation: Callable[[Operation], None],
        on_gone: Callable[[str], None],
        on_problem: Callable[[DeviceError], None],
    ) -> Unsubscribe:
        """Follow the server's event stream in a daemon thread until unsubscribed."""
        stop = threading.Event()

        def follow() -> None:
            try:
                self.authenticator.listen(
                    on_operation,
                    stop=stop,
                    on_gone=on_gone,
                    on_refused=lambda refused: on_problem(
                        TamperedOperation(refused.operation_id, refused.reason)
                    ),
                    on_disconnect=lambda error, _delay: on_problem(error),
                )
            except DeviceError as error:
                on_problem(error)
            except Exception as error:
                # The feed must not die silently in its thread (a closed client, a bug):
                # the application is told, unless it is the one that stopped it.
                if not stop.is_set():
                    on_problem(ServerFailure(f"listening stopped: {type(error).__name__}"))

        thread = threading.Thread(target=follow, name="sceau-desktop-listen", daemon=True)
        thread.start()

        def unsubscribe() -> None:
            stop.set()
            if thread is not threading.current_thread():
                # Between events the loop sees the flag at once; inside a long read it is a
                # daemon thread, left to end with its stream.
                thread.join(timeout=_JOIN_SECONDS)

        return unsubscribe

    def batch_lines(self, operation: Operation) -> Sequence[BatchLine]:
        """The batch's lines, checked against its signed summary by the SDK."""
        return self.authenticator.batch_lines(operation)

    def approve(self, operation: Operation, code: str, *, match: str | None = None) -> Decided:
        """Approve with the code: one counted evaluation, then the signed approval."""
        return self.authenticator.approve_with_code(operation, code, match=match)

    def reject(self, operation: Operation) -> Decided:
        """Refuse, signed with the device key only."""
        return self.authenticator.reject(operation)

    def not_me(self, operation: Operation) -> Decided:
        """Refuse and report as fraud, signed with the device key only."""
        return self.authenticator.not_me(operation)

    def close(self) -> None:
        """Close the authenticator's connections."""
        self.authenticator.close()
