# SPDX-License-Identifier: Apache-2.0
"""The error tree drawn in ``sceau_core.errors`` is the class tree, and every error is in it."""

from __future__ import annotations

import re

from sceau_core import errors


def _drawn_tree() -> dict[str, str | None]:
    """Each class name of the drawing with its parent's, read from the indentation."""
    drawing = errors.__doc__.split("::", 1)[1].split("\n\n")[1] if errors.__doc__ else ""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in drawing.splitlines():
        match = re.match(r"^(\s*(?:[│ ]   )*[├└]── |\s*)([A-Z][A-Za-z]+)\b", line)
        if match is None or (stack and "── " not in match.group(1)):
            continue  # a description continued on the next line
        depth, name = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((depth, name))
    return parents


def test_the_drawn_tree_is_the_class_tree() -> None:
    drawn = _drawn_tree()
    classes = {
        name: value
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.SceauError)
    }
    assert set(drawn) == set(classes) == set(errors.__all__)
    for name, cls in classes.items():
        parent = next(
            (base.__name__ for base in cls.__bases__ if issubclass(base, errors.SceauError)), None
        )
        assert drawn[name] == parent, name
