"""Test data helpers."""

from __future__ import annotations

import copy
from typing import Any


def changed(good: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `good` with the dotted `path` set to `value`, or removed when `value`
    is KeyError."""
    data = copy.deepcopy(good)
    target = data
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[key]
    if value is KeyError:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return data
