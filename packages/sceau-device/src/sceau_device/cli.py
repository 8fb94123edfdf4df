# SPDX-License-Identifier: Apache-2.0
"""The ``sceau-device`` command line (the authenticator on a computer)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``sceau-device``."""
    del argv
    print("sceau-device: the authenticator is not built yet.", file=sys.stderr)
    return 2
