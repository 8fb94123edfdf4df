# SPDX-License-Identifier: Apache-2.0
"""Keep activation lookup ids out of the access log.

A lookup id (``GET /v1/device/activation/{lookup_id}``) is derived from the activation code and
leads to the activation id; whoever reads the access log should learn neither.
"""

from __future__ import annotations

import logging
import re
from typing import Final

__all__ = ["RedactLookupIds", "install"]

_LOOKUP: Final = re.compile(r"(/v1/device/activation/)[A-Za-z0-9_-]{22}(?=$|[?#/])")


class RedactLookupIds(logging.Filter):
    """Rewrites the request path of uvicorn's access records, never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace any lookup id in the record's string arguments with ``…``."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                _LOOKUP.sub(r"\1…", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def install() -> None:
    """Attach the filter to uvicorn's access logger (once per process)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactLookupIds) for f in logger.filters):
        logger.addFilter(RedactLookupIds())
