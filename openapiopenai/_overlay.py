"""A partial settings object laid over a whole one, as the service applies ``session.update``:
the SDK re-sends the sum of a conversation's updates after a reconnect, and the mock keeps its
sessions the same way."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


def overlay(base: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` laid over ``base``, object by object (neither is changed).

    A value given wins, ``None`` included (``turn_detection: null`` turns it off). Lists are
    replaced, not joined; an object whose ``type`` differs from the one it lands on (semantic
    instead of server voice detection, another audio format) replaces it whole.
    """
    result = copy.deepcopy(dict(base))
    for key, value in given.items():
        current = result.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping) and _same_type(current, value):
            result[key] = overlay(current, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _same_type(current: Mapping[str, Any], value: Mapping[str, Any]) -> bool:
    return "type" not in value or value.get("type") == current.get("type")
