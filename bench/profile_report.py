# SPDX-License-Identifier: Apache-2.0
"""Where the server's CPU goes: a ``--profile`` file summed by library, and the top functions.

    .venv/bin/python bench/profile_report.py PROFILE [--top 30]

Each function's own time (``tottime``) is given to the library its file belongs to, and the
time of a built-in (``isinstance``, ``dict.get``, …) to the library of the function that called
it, so the shares add up to 100 % of the profiled CPU time.
"""

from __future__ import annotations

import argparse
import pstats
from collections import defaultdict

_GROUPS = (
    ("sqlalchemy/orm", "SQLAlchemy ORM"),
    ("sqlalchemy", "SQLAlchemy Core and engine"),
    ("sqlite3", "sqlite3 driver (statements, commits)"),
    ("psycopg", "psycopg driver"),
    ("fastapi", "FastAPI (routing, dependencies, validation, serialization)"),
    ("starlette", "Starlette"),
    ("uvicorn", "uvicorn (HTTP server)"),
    ("anyio", "anyio (thread-pool hand-offs)"),
    ("pydantic", "pydantic"),
    ("http_sf", "http-sf (RFC 8941 structured fields)"),
    ("http_message_signatures", "http-message-signatures"),
    ("rfc8785", "rfc8785 (canonical JSON)"),
    ("babel", "Babel"),
    ("prometheus_client", "prometheus_client"),
    ("segno", "segno (QR codes, provisioning only)"),
    ("cryptography", "cryptography (ECDSA, AES-GCM, HMAC)"),
    ("rbcl", "rbcl (libsodium: VOPRF)"),
    ("sceau_core", "sceau_core"),
    ("sceau_server/audit", "sceau_server audit log"),
    ("sceau_server/storage", "sceau_server storage"),
    ("sceau_server", "sceau_server (other)"),
    ("asyncio", "asyncio event loop"),
    ("threading", "threading"),
    ("json", "json"),
    ("logging", "logging"),
)


def _group(filename: str, name: str) -> str:
    if filename == "~":
        if "sqlite3" in name:
            return "sqlite3 driver (statements, commits)"
        if "cryptography" in name or "openssl" in name:
            return "cryptography (ECDSA, AES-GCM, HMAC)"
        if "_thread.lock" in name:
            return "threading"
        return "built-ins (isinstance, getattr, dict, …)"
    for needle, group in _GROUPS:
        if f"/{needle}" in filename or f"{needle}/" in filename:
            return group
    if "/lib/python3" in filename and "site-packages" not in filename:
        return "standard library (other)"
    return "other libraries"


def main() -> None:
    """Print the shares by library, then the top functions by own time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=30)
    arguments = parser.parse_args()
    stats = pstats.Stats(arguments.profile)
    groups: dict[str, float] = defaultdict(float)
    total = 0.0
    raw = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, name), (_cc, _nc, tottime, _ct, callers) in raw.items():
        total += tottime
        group = _group(filename, name)
        if filename == "~" and group.startswith("built-ins") and callers:
            for (caller_file, _, caller_name), timing in callers.items():
                groups[_group(caller_file, caller_name)] += timing[2]
            continue
        groups[group] += tottime
    print(f"profiled CPU: {total:.2f} s")
    for group, seconds in sorted(groups.items(), key=lambda item: -item[1]):
        print(f"{100 * seconds / total:6.1f} %  {seconds:7.2f} s  {group}")
    print()
    stats.sort_stats("tottime").print_stats(arguments.top)


if __name__ == "__main__":
    main()
