# SPDX-License-Identifier: Apache-2.0
"""The protocol core is pure: no HTTP, no database, no environment, no clock, no OS randomness."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import sceau_core

CORE = Path(sceau_core.__file__).parent
FORBIDDEN_MODULES = {
    "fastapi", "starlette", "uvicorn", "httpx", "requests", "urllib3", "aiohttp", "http.client",
    "sqlalchemy", "alembic", "psycopg", "sqlite3", "redis", "sceau_server", "sceau_device",
    "keyring",
}  # fmt: skip
FORBIDDEN_CALLS = {
    ("os", "environ"), ("os", "getenv"), ("os", "urandom"), ("time", "time"),
    ("time", "monotonic"), ("datetime", "now"), ("datetime", "utcnow"), ("secrets", "token_bytes"),
    ("random", "random"), ("date", "today"),
}  # fmt: skip


def test_importing_the_whole_core_loads_no_server_or_http_library() -> None:
    modules = [m.name for m in pkgutil.walk_packages([str(CORE)], prefix="sceau_core.")]
    assert len(modules) >= 10
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = set(json.loads(subprocess.check_output([sys.executable, "-c", script])))
    assert loaded & FORBIDDEN_MODULES == set()


def test_core_source_reads_no_environment_clock_or_os_randomness() -> None:
    offenders = []
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and (node.value.id, node.attr) in FORBIDDEN_CALLS
            ):
                offenders.append(f"{path.name}:{node.lineno} {node.value.id}.{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module in {"os", "time", "secrets"}:
                offenders.append(f"{path.name}:{node.lineno} from {node.module} import …")
    assert offenders == []
