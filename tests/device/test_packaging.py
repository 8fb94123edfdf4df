# SPDX-License-Identifier: Apache-2.0
"""The device SDK installs and runs without the server's dependencies."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib.metadata import requires

SERVER_ONLY = {
    "sceau-server",
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "psycopg",
}

_IMPORT_ALL = """
import json, sys
import sceau_device.activation, sceau_device.authenticator, sceau_device.biometrics
import sceau_device._commands, sceau_device.cli, sceau_device.display, sceau_device.keystore
import sceau_device.lifecycle
print(json.dumps(sorted(sys.modules)))
"""


def _distributions(name: str, seen: set[str]) -> set[str]:
    """``name`` and every distribution it requires (without extras), recursively."""
    if name in seen:
        return seen
    seen.add(name)
    for requirement in requires(name) or []:
        if "extra ==" in requirement:
            continue
        match = re.match(r"[A-Za-z0-9._-]+", requirement)
        assert match is not None, requirement
        dependency = match.group(0).lower().replace("_", "-")
        try:
            _distributions(dependency, seen)
        except ModuleNotFoundError:
            seen.add(dependency)
    return seen


def test_the_device_package_requires_nothing_of_the_server() -> None:
    needed = _distributions("sceau-device", set())
    assert {"sceau-core", "httpx", "keyring"} <= needed
    assert needed.isdisjoint(SERVER_ONLY), needed & SERVER_ONLY


def test_importing_the_device_sdk_and_cli_loads_no_server_module() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL], capture_output=True, text=True, check=True
    )
    loaded = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert "sceau_device" in loaded
    assert loaded.isdisjoint({name.replace("-", "_") for name in SERVER_ONLY})
