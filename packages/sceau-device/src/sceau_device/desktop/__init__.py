# SPDX-License-Identifier: Apache-2.0
"""Sceau Pro on a computer (brief B3): a Textual application, ``sceau-desktop``.

The application (:mod:`sceau_device.desktop.app`, which needs the optional ``desktop`` extra:
Textual) is written against two small protocols, :class:`~sceau_device.desktop.ports.
OperationSource` and :class:`~sceau_device.desktop.ports.Decider`. They are implemented by
:class:`~sceau_device.desktop.adapter.AuthenticatorDesk` on the real SDK, and by
:class:`~sceau_device.desktop.simulation.SimulatedDesk`, a simulation for tests and demos.
Importing this package does not import Textual.
"""

from __future__ import annotations

from sceau_device.desktop.adapter import AuthenticatorDesk
from sceau_device.desktop.ports import Decider, HistoryEntry, OperationSource
from sceau_device.desktop.simulation import SimulatedDesk

__all__ = ["AuthenticatorDesk", "Decider", "HistoryEntry", "OperationSource", "SimulatedDesk"]
