# SPDX-License-Identifier: Apache-2.0
"""``python -m sceau_server.demo``: the same as ``sceau demo``."""

from __future__ import annotations

import sys

from sceau_server.demo.runner import main

if __name__ == "__main__":
    sys.exit(main())
