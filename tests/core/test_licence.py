# SPDX-License-Identifier: Apache-2.0
"""Apache-2.0: the LICENSE file, and the SPDX header on every source file of the repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADER = "SPDX-License-Identifier: Apache-2.0"
SOURCE_SUFFIXES = {".py", ".html", ".css", ".js", ".mako", ".toml", ".sh"}
SOURCE_NAMES = {"Makefile"}


def _is_source(path: str) -> bool:
    name = Path(path)
    return (
        name.suffix in SOURCE_SUFFIXES
        or name.name in SOURCE_NAMES
        or path.startswith(("scripts/", ".ci/"))
    )


def test_the_licence_is_apache_2_0() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text


def test_every_source_file_has_the_spdx_header() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    sources = [path for path in tracked if _is_source(path) and (ROOT / path).is_file()]
    assert len(sources) > 100
    missing = [
        path
        for path in sources
        if HEADER not in "".join((ROOT / path).read_text(encoding="utf-8").splitlines(True)[:3])
    ]
    assert missing == []
