# SPDX-License-Identifier: Apache-2.0
"""``sceau-device`` starts without loading what its commands do not use.

Each check runs the command line's ``main`` in a fresh interpreter and lists the modules it
loaded: nothing of the SDK for ``--help`` or a refused command line, never httpx's own
command-line client (click, rich, pygments), never Textual (only ``sceau-desktop`` needs it),
and the IBAN registry (schwifty) only once an IBAN is read.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

HTTPX_COMMAND_LINE = {"click", "rich", "pygments"}
NEVER_AT_START = HTTPX_COMMAND_LINE | {"textual", "schwifty"}

_RUN_MAIN = """
import json, sys
import sceau_device.cli
try:
    code = sceau_device.cli.main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}))
"""


def _printed_by(program: str) -> list[str]:
    """The words ``program`` prints, run in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def _loaded(*args: str) -> tuple[int, set[str]]:
    """Run ``sceau-device ARGS`` in a new interpreter; its exit code and top-level modules."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN_MAIN, *args], capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.splitlines()[-1])
    return result["exit"], {name.split(".")[0] for name in result["modules"]}


@pytest.fixture(scope="module", autouse=True)
def _heavy_modules_installed() -> None:
    """Their absence would make these checks pass for nothing."""
    missing = sorted(name for name in NEVER_AT_START if importlib.util.find_spec(name) is None)
    if missing:
        pytest.skip(f"not installed, so they cannot be loaded: {', '.join(missing)}")


@pytest.mark.parametrize("args", [["--help"], ["approve", "--help"], ["status", "--bogus"]])
def test_help_and_a_refused_command_line_load_no_sdk(args: list[str]) -> None:
    code, loaded = _loaded(*args)
    assert code == (0 if "--help" in args else 2)
    assert "sceau_device" in loaded
    sdk = {"sceau_core", "httpx", "cryptography", "keyring", "babel", "rbcl"}
    assert loaded.isdisjoint(sdk | NEVER_AT_START), loaded & (sdk | NEVER_AT_START)


def test_status_loads_httpx_without_its_command_line(tmp_path: Path) -> None:
    code, loaded = _loaded("status", "--keystore", str(tmp_path / "keystore.json"), "--json")
    assert code == 6  # no such profile: the keystore error, after the whole start
    assert "httpx" in loaded
    assert loaded.isdisjoint(NEVER_AT_START), loaded & NEVER_AT_START


def test_httpx_command_line_stays_importable_after_the_device_sdk() -> None:
    program = (
        "import sceau_device.transport, httpx, sys;"
        "print(httpx.main.__module__, 'click' in sys.modules);"
        "import httpx._main;"
        "print(httpx._main.__name__, 'click' in sys.modules)"
    )
    # httpx's own fallback ``main`` (defined in httpx/__init__.py) until someone asks for more.
    assert _printed_by(program) == ["httpx", "False", "httpx._main", "True"]


def test_the_package_exports_load_on_first_use() -> None:
    program = (
        "import sys, sceau_device;"
        "before = 'sceau_device.authenticator' in sys.modules;"
        "from sceau_device import Authenticator;"
        "import sceau_device.authenticator as home;"
        "print(before, Authenticator is home.Authenticator,"
        " all(getattr(sceau_device, name) is not None for name in sceau_device.__all__))"
    )
    assert _printed_by(program) == ["False", "True", "True"]


def test_reading_an_iban_loads_schwifty_then() -> None:
    program = (
        "import sys, sceau_core.money as money;"
        "before = 'schwifty' in sys.modules;"
        "iban = money.parse_iban('fr76 3000 6000 0112 3456 7890 189');"
        "print(before, 'schwifty' in sys.modules, iban)"
    )
    assert _printed_by(program) == ["False", "True", "FR7630006000011234567890189"]


def test_a_misspelt_name_imported_from_the_package_is_a_type_error(tmp_path: Path) -> None:
    """The lazy exports must not make every name importable for a type checker: with the
    module's ``__getattr__`` visible to mypy, ``from sceau_device import Autenticator`` passed
    ``--strict`` (typed ``object``) and failed only when run."""
    from mypy import api

    program = tmp_path / "bank_app.py"
    program.write_text(
        "from sceau_device import Authenticator, Autenticator\n"
        "import sceau_device\n"
        "keystore = sceau_device.Keystor\n"
    )
    out, _, status = api.run(["--strict", "--cache-dir", str(tmp_path / "cache"), str(program)])
    assert status == 1, out
    assert 'Module "sceau_device" has no attribute "Autenticator"' in out, out
    assert 'Module has no attribute "Keystor"' in out, out
    assert "Found 2 errors" in out, out
