# SPDX-License-Identifier: Apache-2.0
"""Import :mod:`httpx` without its command-line client.

``httpx/__init__.py`` (0.28) runs ``from ._main import main`` and keeps a stub ``main`` if that
raises :class:`ImportError`. When click, rich and pygments happen to be installed (they are in
many environments, and the desktop extra brings the last two), that import loads all three:
about 100 ms of CPU, a fifth of a ``sceau-device`` command's start. The SDK never uses
``httpx.main``, so the first import of :mod:`httpx` made here refuses ``httpx._main`` and
httpx takes its own fallback. The refusal lasts only for that one import statement: ``import
httpx._main`` afterwards works as usual, and a process that imported httpx before this module
keeps httpx's command-line client.

The SDK's modules take httpx from here: ``from sceau_device._httpx import httpx``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

__all__ = ["httpx"]

_COMMAND_LINE = "httpx._main"


class _RefuseCommandLine(MetaPathFinder):
    """Makes ``import httpx._main`` fail as if httpx's ``cli`` extra were not installed."""

    def find_spec(
        self, fullname: str, _path: Sequence[str] | None, _target: ModuleType | None = None, /
    ) -> ModuleSpec | None:
        if fullname == _COMMAND_LINE:
            raise ModuleNotFoundError(f"{_COMMAND_LINE} is not needed here", name=fullname)
        return None


_refusal = _RefuseCommandLine()
sys.meta_path.insert(0, _refusal)
try:
    import httpx
finally:
    sys.meta_path.remove(_refusal)
