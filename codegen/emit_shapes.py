"""The shapes module: every class and alias as plain data, for validators built without pydantic.

``openapiopenai.models._shapes`` lists each model's fields and their types as tuples, so that
``openapiopenai.models._fast`` can build validators that call no Python (a caller's dict checked
and sent as JSON; a response parsed into models) without importing a model class it does not
instantiate. A type is one of:

- ``("str" | "int" | "float" | "bool", constraints)`` with pydantic-core's constraint names;
- ``("any",)``; ``("lit", values)``; ``("ref", name)`` (a class or an alias);
- ``("list", item, min_items)``; ``("map", value)``; ``("union", members)``;
- ``("tagged", ((tag, class), ...), scalar, ((tag, property, ((value, class), ...)), ...))``:
  a union told apart by ``type``; members that share a ``type`` (messages) are told apart by
  a second constant ``property`` (``role``), as the last element lists.
"""

from __future__ import annotations

from typing import Any

from codegen.emit_models import HEADER
from codegen.schema import (
    ListOf,
    Lit,
    MapOf,
    Open,
    Prim,
    Ref,
    Registry,
    TypeExpr,
)

_PRIMITIVES = {"str", "int", "float", "bool"}


def shape(expr: TypeExpr) -> tuple[Any, ...]:
    """The data form of one type expression."""
    if isinstance(expr, Prim):
        if expr.py not in _PRIMITIVES:
            return ("any",)
        return (expr.py, dict(expr.constraints))
    if isinstance(expr, Lit):
        return ("lit", expr.values)
    if isinstance(expr, Open):
        return ("str", {})
    if isinstance(expr, Ref):
        return ("ref", expr.name)
    if isinstance(expr, ListOf):
        return ("list", shape(expr.item), expr.min_items)
    if isinstance(expr, MapOf):
        return ("map", shape(expr.value))
    if expr.tags:
        scalar = shape(expr.scalar) if expr.scalar is not None else None
        return ("tagged", expr.tags, scalar, expr.nested)
    return ("union", tuple(shape(member) for member in expr.members))


def shapes_source(registry: Registry) -> str:
    """The ``_shapes`` module: ``CLASSES`` and ``ALIASES``, by name."""
    classes = []
    for definition in registry.classes.values():
        checked = "request" in definition.directions
        # Only requests fill in a missing ``type`` tag; a response must carry its own.
        constants = definition.constants if checked else {}
        fields = tuple(
            (
                f.name,
                f.py_name,
                shape(f.type),
                f.required,
                f.nullable,
                constants.get(f.name),
            )
            for f in definition.fields
        )
        classes.append(f"    {definition.name!r}: ({checked!r}, {fields!r}),")
    aliases = [f"    {alias.name!r}: {shape(alias.type)!r}," for alias in registry.aliases.values()]
    modules = [
        f"    {each.name!r}: {each.module!r},"
        for each in (*registry.classes.values(), *registry.aliases.values())
    ]
    return (
        HEADER.format(source="spec/ (every model)")
        + '"""Every model as data: see ``codegen/emit_shapes.py`` for the form."""\n\n'
        "from typing import Any\n\n"
        "#: name -> (checked: has request-side constraints, fields); a field is\n"
        "#: (wire name, attribute name, type, required, nullable, constant type tag or None).\n"
        "CLASSES: dict[str, tuple[bool, tuple[tuple[Any, ...], ...]]] = {\n"
        + "\n".join(classes)
        + "\n}\n\n"
        "#: name -> type of every alias (enums, unions, maps).\n"
        "ALIASES: dict[str, tuple[Any, ...]] = {\n" + "\n".join(aliases) + "\n}\n\n"
        "#: name -> the module of this package that defines it.\n"
        "MODULES: dict[str, str] = {\n" + "\n".join(modules) + "\n}\n"
    )
