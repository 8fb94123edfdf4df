#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write docs/screenshots/desktop.svg: Sceau Pro on a computer, on the simulated bank.

The screenshot shows a batch transfer of 120 lines under a two-signature rule, opened from the
list, with every signed line, the code field and the three decisions. It runs the application
under Textual's pilot with a fixed clock, so the picture only changes when the screens do::

    .venv/bin/python scripts/desktop_screenshot.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from textual.widgets import DataTable

from sceau_device.desktop.app import SceauDesktop
from sceau_device.desktop.simulation import demo_desk

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "screenshots" / "desktop.svg"
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z


async def shoot(target: Path) -> None:
    """Open the batch operation and save the screen as SVG."""
    desk = demo_desk(clock=lambda: NOW)
    app = SceauDesktop(desk, desk)
    async with app.run_test(size=(110, 38)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#pending", DataTable)
        table.move_cursor(row=table.get_row_index("op_demo_1"))
        await pilot.press("enter")
        await pilot.pause()
        app.save_screenshot(target.name, str(target.parent))


def main() -> int:
    """Write the screenshot (or the path given as the first argument)."""
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else TARGET
    target.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(shoot(target))
    print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
