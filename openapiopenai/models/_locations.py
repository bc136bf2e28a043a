"""Where in a request a validation error is, as the wire path a caller wrote.

pydantic's error locations mix the caller's names (fields, list indexes, map keys) with labels
of the union members it tried (a class name, ``literal['inf']``, ``int``). Only the generated
shapes say which part is which: a map key named ``City`` is the caller's, a class name after a
union is pydantic's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openapiopenai.models._shapes import ALIASES, CLASSES

#: The shape in which any further part of a location is the caller's own (a free-form value).
_FREE = ("any",)
#: The shape after which every further part is pydantic's (a scalar's labels).
_END = ("end",)


def wire_location(model: str, loc: Sequence[str | int]) -> list[str | int] | None:
    """The caller's path to an error in generated class ``model``: field wire names, list
    indexes and map keys; ``None`` if ``model`` is not a generated class."""
    if model not in CLASSES:
        return None
    path: list[str | int] = []
    shape: tuple[Any, ...] = ("ref", model)
    parts = list(loc)
    while parts:
        kind = shape[0]
        if kind == "ref" and shape[1] in ALIASES:
            shape = ALIASES[shape[1]]
            continue
        part = parts.pop(0)
        if kind == "ref":
            shape = _field(shape[1], part, path)
        elif kind in ("list", "map", "any") and (kind != "list" or isinstance(part, int)):
            path.append(part)
            shape = shape if kind == "any" else shape[1]
            if kind == "map" and parts[:1] == ["[key]"]:
                parts.pop(0)  # the key itself is wrong: its path is the key's
                shape = _END
        elif kind in ("union", "tagged"):
            shape = _member(shape, part)
        else:
            break
    return path


def _field(name: str, part: str | int, path: list[str | int]) -> tuple[Any, ...]:
    """The shape of field ``part`` of class ``name`` (added to ``path`` by its wire name)."""
    for wire, py_name, field_shape, *_ in CLASSES[name][1]:
        if part in (wire, py_name):
            path.append(wire)
            return tuple(field_shape)
    path.append(part)  # a field the class does not have: what follows is the caller's
    return _FREE


def _member(shape: tuple[Any, ...], label: str | int) -> tuple[Any, ...]:
    """The member of a union that pydantic's ``label`` names."""
    if label in CLASSES or label in ALIASES:
        return ("ref", label)
    if label == "Unknown":
        return _FREE
    if label == "Scalar" and shape[0] == "tagged" and shape[2] is not None:
        return tuple(shape[2])
    return _END
