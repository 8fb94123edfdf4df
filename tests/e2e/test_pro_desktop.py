# SPDX-License-Identifier: Apache-2.0
"""The Pro desktop application piloted against a real server (issue 8, brief B3).

``sceau-desktop``'s Textual application on :class:`AuthenticatorDesk` (the real device SDK) of
one member, against the real ``sceau serve`` process of :mod:`tests.e2e.conftest`: the batch of a
shared account arrives in the live list, its lines are paged through as the server sends them,
and an approval that leaves the 2-of-3 rule waiting says so; the second member's approval from
the same application completes it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import DataTable, Input, Static

from sceau_device.desktop.adapter import AuthenticatorDesk
from sceau_device.desktop.app import OperationScreen, SceauDesktop
from tests.e2e.conftest import CODE, Bank
from tests.e2e.test_pro import TWO_OF_THREE, batch_data, make_company


async def _approve_first_batch(desk: AuthenticatorDesk, expected_rows: int) -> str:
    app = SceauDesktop(desk, desk)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if app.pending:
                break
        table = app.screen.query_one("#pending", DataTable)
        assert table.row_count == 1
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, OperationScreen)
        await pilot.press("l")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query_one("#batch-lines", DataTable).row_count == expected_rows
        await pilot.press("escape")
        await pilot.pause()
        app.screen.query_one("#code", Input).value = CODE
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        return str(app.screen.query_one("#outcome", Static).visual)


def test_the_desktop_application_signs_a_shared_batch(bank: Bank, tmp_path: Path) -> None:
    company = make_company(bank, tmp_path, TWO_OF_THREE)
    try:
        created = company.create("batch_transfer", batch_data(company.iban, 60, seed="desk"))
        first = asyncio.run(
            _approve_first_batch(AuthenticatorDesk(company.devices["alice"]), expected_rows=50)
        )
        assert first.startswith("Votre signature est enregistrée.")
        assert bank.operation(created["id"])["still_needed"] == 1
        second = asyncio.run(
            _approve_first_batch(AuthenticatorDesk(company.devices["carol"]), expected_rows=50)
        )
        assert second == "Opération validée."
        claims = bank.verified_result(created["id"])
        assert sorted(claims.signers) == sorted(
            [company.members["alice"], company.members["carol"]]
        )
    finally:
        for device in company.devices.values():
            device.close()
