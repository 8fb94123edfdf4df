# SPDX-License-Identifier: Apache-2.0
"""Test order: the slow tests first, so that the parallel run does not end on one of them.

``pytest -n auto`` hands the tests to its workers in collection order, a few at a time, as
each worker frees up. A test of a minute or more handed out last keeps one worker busy while
the other has nothing left: run first, it overlaps with the many short ones. Only a test whose
fixtures are all per test (or shared by the whole session without parameters) moves, so no
module or session fixture is set up twice for it.
"""

from __future__ import annotations

import pytest


def _movable(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    for definitions in info.name2fixturedefs.values():
        for definition in definitions:
            if definition.scope == "function":
                continue
            if definition.scope == "session" and not definition.params:
                continue
            return False
    return True


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    slow = [item for item in items if item.get_closest_marker("slow") and _movable(item)]
    if slow:
        moved = {id(item) for item in slow}
        items[:] = slow + [item for item in items if id(item) not in moved]
