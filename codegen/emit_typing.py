"""What type checkers see of a request model: a ``TypedDict`` of it and a typed ``__init__``.

At run time a request model takes a plain dict wherever it takes a nested model (and resolves
a dict by its ``type``). Type checkers, though, read a pydantic model's constructor from its
field annotations, which name only the model classes, so the documented
``audio={"output": {"voice": "marin"}}`` did not type-check. For each request model this emits,
under ``TYPE_CHECKING`` only (nothing changes or costs anything at run time):

- ``<Name>Dict``: the model's wire shape as a ``TypedDict``, every nested object either its
  model or its own ``...Dict``, so a misspelt key is caught as well;
- an ``__init__`` whose keyword parameters accept the same, while the attributes keep the
  model types.
"""

from __future__ import annotations

import keyword
from typing import TYPE_CHECKING

from codegen.schema import ClassDef, FieldDef, ListOf, MapOf, Ref, TypeExpr, UnionOf, camel, snake

if TYPE_CHECKING:
    from codegen.emit_models import Module

PACKAGE = "openapiopenai.models"
SUFFIX = "Dict"


def dict_name(name: str) -> str:
    """``RealtimeSessionCreateRequestGA`` -> ``RealtimeSessionCreateRequestGADict``."""
    return name + SUFFIX


class _Inputs:
    """Builds input annotations for one module; the ``...Dict`` imports go to the module."""

    def __init__(self, module: Module) -> None:
        self.module = module

    def annotation(self, expr: TypeExpr, hint: str) -> str:
        """What a caller may pass for ``expr``: as the model takes it, with dicts for objects."""
        if isinstance(expr, Ref) and self._is_request_class(expr.name):
            own = expr.name == self.module.own
            if not own:
                self.module.refs.add(expr.name)
                module = f"{PACKAGE}.{snake(expr.name)}"
                self.module.checking.add(f"from {module} import {dict_name(expr.name)}")
            return f"{expr.name} | {dict_name(expr.name)}"
        if isinstance(expr, ListOf):
            # Sequence, not list: a list of tool dicts is then a valid list of tools-or-models
            # (list is invariant), and a tuple works as it does at run time.
            self.module.checking.add("from collections.abc import Sequence")
            return f"Sequence[{self.annotation(expr.item, hint)}]"
        if isinstance(expr, MapOf):
            return f"dict[str, {self.annotation(expr.value, hint)}]"
        if isinstance(expr, UnionOf):
            members = [self.annotation(member, hint) for member in expr.members]
            if expr.tags:  # a type this SDK does not know yet goes through as a dict
                self.module.typing.add("Any")
                members.append("dict[str, Any]")
            return " | ".join(dict.fromkeys(members))
        return self.module.annotation(expr, hint, checked=False)

    def _is_request_class(self, name: str) -> bool:
        definition = self.module.registry.classes.get(name)
        return definition is not None and "request" in definition.directions


def _checked_name(definition: ClassDef, field: FieldDef) -> str:
    if not field.name.isidentifier() or keyword.iskeyword(field.name):
        raise ValueError(f"{definition.name}.{field.name}: not usable as a TypedDict key")
    return field.name


def request_typing(module: Module, definition: ClassDef) -> tuple[str, str]:
    """The typed ``__init__`` (class body lines) and the module's ``TypedDict`` block."""
    module.typing.add("TYPE_CHECKING")
    inputs = _Inputs(module)
    parameters = []
    keys = []
    for field in definition.fields:
        given = inputs.annotation(field.type, definition.name + camel(field.name))
        optional = not field.required or field.name in definition.constants
        nullable = f"{given} | None" if optional or field.nullable else given
        parameters.append(f"{field.py_name}: {nullable}{' = ...' if optional else ''}")
        key = _checked_name(definition, field)
        keys.append(f"{key}: {nullable}" if optional else f"{key}: Required[{nullable}]")
    signature = ", ".join(["self", "*", *parameters]) if parameters else "self"
    init = (
        "\n    if TYPE_CHECKING:\n"
        "        # For type checkers: nested objects may be given as dicts, as at run time.\n"
        f"        def __init__({signature}) -> None: ...\n"
    )
    body = "\n".join(f"        {key}" for key in keys) or "        pass"
    module.checking.add("from typing_extensions import Required, TypedDict")
    block = "\n".join(
        [
            "",
            "if TYPE_CHECKING:",
            f"    class {dict_name(definition.name)}(TypedDict, total=False):",
            f'        """``{definition.name}`` as a plain dict (type checkers only)."""',
            "",
            body,
            "",
        ]
    )
    return init, block
