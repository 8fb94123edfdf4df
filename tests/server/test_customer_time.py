# SPDX-License-Identifier: Apache-2.0
"""Times a customer reads (SMS, refusals) are in the bank's time zone, which they name."""

from __future__ import annotations

from typing import Any

import pytest

from sceau_server.services.events import customer_time

MIDNIGHT_IN_PARIS = 1_782_858_600
"""2026-06-30T22:30:00Z: 00:30 on 1 July in Paris (CEST), 02:30 in Réunion."""

WINTER = 1_796_083_200
"""2026-12-01T00:00:00Z: 01:00 in Paris (CET)."""


@pytest.mark.parametrize(
    ("zone", "moment", "french", "english"),
    [
        (
            "Europe/Paris",
            MIDNIGHT_IN_PARIS,
            "01/07/2026 à 00:30 (heure de Paris)",
            "1 July 2026, 00:30 (Paris time)",
        ),
        (
            "Europe/Paris",
            WINTER,
            "01/12/2026 à 01:00 (heure de Paris)",
            "1 December 2026, 01:00 (Paris time)",
        ),
        (
            "Indian/Reunion",
            MIDNIGHT_IN_PARIS,
            "01/07/2026 à 02:30 (heure de La Réunion)",
            "1 July 2026, 02:30 (Réunion time)",
        ),
        ("UTC", MIDNIGHT_IN_PARIS, "30/06/2026 à 22:30 (heure UTC)", "30 June 2026, 22:30 (UTC)"),
    ],
)
def test_a_moment_reads_in_the_banks_time_zone(
    make_server: Any, zone: str, moment: int, french: str, english: str
) -> None:
    server = make_server(bank_timezone=zone)
    assert customer_time(server.ctx, moment, "fr") == french
    assert customer_time(server.ctx, moment, "en") == english
