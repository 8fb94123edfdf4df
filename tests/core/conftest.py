# SPDX-License-Identifier: Apache-2.0
"""Fixtures shared by the protocol core's tests."""

from __future__ import annotations

import hmac
from typing import Any

import pytest


@pytest.fixture
def constant_time_comparisons(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, object]]:
    """Every pair compared through ``hmac.compare_digest`` during the test, which still decides
    as before: an ``==`` on a secret would pass every other test, and shows here by its absence."""
    compared: list[tuple[object, object]] = []
    real = hmac.compare_digest

    def watched(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", watched)
    return compared
