"""Validators that call no Python, built from the generated shapes, and the lazy loading of
the classes they need.

A caller's dict is checked by a strict typed-dict validator and sent as the JSON of what that
validator returns: no model is built, so none has to be defined. A response is parsed by a
validator made of the same model classes as the exact one, minus everything that calls
Python: the wrappers that keep newer values, the callable discriminators, the branch for
unknown types. Whatever this fast path refuses goes through the exact path, which decides as
it always has, with its own errors: only the time differs.

A response validator includes the classes loaded so far; a class nobody loaded yet is refused
in place. Before a first parse, and whenever a parse is refused, the answer is walked to load
the classes it holds, so a process defines only the classes it instantiates.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar

from pydantic_core import (
    CoreConfig,
    PydanticSerializationError,
    SchemaValidator,
    ValidationError,
    to_json,
)
from pydantic_core import core_schema as cs

from openapiopenai.models._shapes import ALIASES, CLASSES, MODULES

if TYPE_CHECKING:
    from openapiopenai.models.openapi_model import OpenApiModel

_Model = TypeVar("_Model", bound="OpenApiModel")
PACKAGE = "openapiopenai.models"

# -- requests ------------------------------------------------------------------------------------


class _RequestChecker:
    """The strict validator of one request model over the classes seen in its requests."""

    __slots__ = ("classes", "validator")

    def __init__(self, name: str, classes: frozenset[str]) -> None:
        self.classes = classes
        builder = _RequestSchema(classes)
        top = builder.ref(name)
        schema = cs.definitions_schema(top, list(builder.definitions.values()))
        # As RequestModel: strict, and no NaN or infinity (they have no JSON form).
        self.validator = SchemaValidator(schema, CoreConfig(strict=True, allow_inf_nan=False))

    def json(self, body: dict[str, Any]) -> bytes | None:
        try:
            return to_json(self.validator.validate_python(body))
        except (ValidationError, PydanticSerializationError):
            return None


_requests: dict[str, _RequestChecker] = {}


def request_json(name: str, body: dict[str, Any]) -> bytes | None:
    """The JSON of ``body`` as a valid request of model ``name``, or ``None`` when the fast
    path cannot tell (the exact path then decides, with its own error if there is one).

    The validator covers the classes seen in this model's requests so far, so a first call
    builds no more than it needs; a request holding another class extends it."""
    checker = _requests.get(name)
    if checker is None:
        checker = _requests[name] = _RequestChecker(name, _held(name, body))
    sent = checker.json(body)
    if sent is None:
        held = _held(name, body)
        if not held <= checker.classes:
            checker = _requests[name] = _RequestChecker(name, checker.classes | held)
            sent = checker.json(body)
    return sent


class _RequestSchema:
    """Builds the strict typed-dict schema of request classes; others are refused in place."""

    def __init__(self, classes: frozenset[str]) -> None:
        self.classes = classes
        self.definitions: dict[str, cs.CoreSchema] = {}

    def ref(self, name: str) -> cs.CoreSchema:
        """A reference to class ``name`` as a typed dict, defined once."""
        if name not in self.classes:
            return cs.is_instance_schema(_NotLoaded)
        ref = name + ":request"
        if ref not in self.definitions:
            self.definitions[ref] = cs.none_schema()  # placeholder: a class may reach itself
            fields = {
                wire: cs.typed_dict_field(
                    self.field(shape, nullable, constant),
                    required=required and constant is None,
                )
                for wire, _, shape, required, nullable, constant in CLASSES[name][1]
            }
            self.definitions[ref] = cs.typed_dict_schema(
                fields, extra_behavior="forbid", strict=True, ref=ref
            )
        return cs.definition_reference_schema(ref)

    def field(self, shape: tuple[Any, ...], nullable: bool, constant: str | None) -> cs.CoreSchema:
        """One request field. ``None`` in an optional field means "not set", which the exact
        path leaves out, so it is refused here."""
        schema = self.type(shape)
        if nullable:
            schema = cs.nullable_schema(schema)
        if constant is not None:
            # The ``type`` tag of a union member, sent even when the caller leaves it out.
            schema = cs.with_default_schema(schema, default=constant)
        return schema

    def type(self, shape: tuple[Any, ...]) -> cs.CoreSchema:
        """The strict schema of one shape, as the request models check it."""
        kind = shape[0]
        if kind == "ref":
            alias = ALIASES.get(shape[1])
            return self.type(alias) if alias is not None else self.ref(shape[1])
        if kind == "list":
            return cs.list_schema(self.type(shape[1]), min_length=shape[2], strict=True)
        if kind == "map":
            return cs.dict_schema(cs.str_schema(strict=True), self.type(shape[1]), strict=True)
        if kind == "union":
            return cs.union_schema([self.type(member) for member in shape[1]])
        if kind == "tagged":
            tagged = _tagged_schema(shape, self.ref, strict=True)
            if shape[2] is None:
                return tagged
            return cs.union_schema([self.type(shape[2]), tagged])
        if kind == "any":
            return self.json_value()
        return _scalar(shape, checked=True, strict=True, finite=True)

    def json_value(self) -> cs.CoreSchema:
        """A free-form value: JSON data only (text keys, finite numbers), so that what goes out
        is exactly what was given; anything else (a model, NaN) is left to the exact path."""
        ref = "json-value:request"
        if ref not in self.definitions:
            value = cs.definition_reference_schema(ref)
            self.definitions[ref] = cs.union_schema(
                [
                    cs.none_schema(),
                    cs.bool_schema(strict=True),
                    cs.int_schema(strict=True),
                    cs.float_schema(strict=True, allow_inf_nan=False),
                    cs.str_schema(strict=True),
                    cs.list_schema(value, strict=True),
                    cs.dict_schema(cs.str_schema(strict=True), value, strict=True),
                ],
                mode="left_to_right",
                ref=ref,
            )
        return cs.definition_reference_schema(ref)


def _tagged_schema(
    shape: tuple[Any, ...], ref: Callable[[str], cs.CoreSchema], *, strict: bool | None
) -> cs.CoreSchema:
    """The members of a ``tagged`` shape told apart by ``type`` in pydantic-core, and those
    that share a ``type`` (messages) by their second tag (``role``) in a nested tagged union.
    An unknown tag is refused: the exact path keeps it."""
    choices: dict[Any, cs.CoreSchema] = {tag: ref(name) for tag, name in shape[1]}
    for tag, prop, members in shape[3]:
        inner = {value: ref(name) for value, name in members}
        choices[tag] = cs.tagged_union_schema(inner, prop, strict=strict)
    return cs.tagged_union_schema(choices, "type", strict=strict)


#: The scalar types whose shape carries pydantic-core constraints (``ge``, ``max_length``...).
_CONSTRAINED = frozenset({"str", "int", "float"})


def _scalar(
    shape: tuple[Any, ...], *, checked: bool, strict: bool | None, finite: bool
) -> cs.CoreSchema:
    """A scalar or literal; constraints only where the model checks them (``checked``)."""
    kind = shape[0]
    constraints: dict[str, Any] = shape[1] if checked and kind in _CONSTRAINED else {}
    if kind == "str":
        return cs.str_schema(strict=strict, **constraints)
    if kind == "int":
        return cs.int_schema(strict=strict, **constraints)
    if kind == "float":
        return cs.float_schema(strict=strict, allow_inf_nan=not finite, **constraints)
    if kind == "bool":
        return cs.bool_schema(strict=strict)
    if kind == "lit":
        return cs.literal_schema(list(shape[1]))
    return cs.any_schema()


# -- responses -----------------------------------------------------------------------------------


class _NotLoaded:
    """Never instantiated: stands for a class not loaded yet, so its place refuses any value."""


class _ResponseParser:
    """The fast validator of one response class, and what it was built from."""

    __slots__ = ("classes", "complete", "modules", "validator")

    def __init__(self, validator: SchemaValidator, classes: frozenset[str], modules: int) -> None:
        self.validator = validator
        self.classes = classes
        self.modules = modules
        #: Whether every class the response may hold is in: no answer can load more.
        self.complete = False


_responses: dict[type[Any], _ResponseParser] = {}


def parse_json(cls: type[_Model], data: str | bytes | bytearray) -> _Model | None:
    """``data`` parsed into ``cls`` without calling Python, or ``None`` when the fast path
    cannot tell (the exact path then decides)."""
    parser = _responses.get(cls)
    if parser is None or parser.modules != len(sys.modules):
        if not is_generated(cls):
            return None  # a caller's own model (or subclass): only the exact path knows it
        if parser is None:
            _load_needed(cls.__name__, data)
        parser = _parser(cls)
    try:
        return parser.validator.validate_json(data)  # type: ignore[no-any-return]
    except ValidationError:
        pass
    if parser.complete or not _load_needed(cls.__name__, data):
        return None
    parser = _parser(cls)
    try:
        return parser.validator.validate_json(data)  # type: ignore[no-any-return]
    except ValidationError:
        return None


def is_generated(cls: type[Any]) -> TypeGuard[type[OpenApiModel]]:
    """Whether ``cls`` is one of the generated classes (not a caller's class of that name)."""
    return cls.__name__ in CLASSES and loaded(cls.__name__) is cls


def _parser(cls: type[Any]) -> _ResponseParser:
    """The parser of ``cls`` over the classes loaded now, rebuilt only if they changed."""
    name = cls.__name__
    modules = len(sys.modules)
    classes = _loaded_reach(name)
    parser = _responses.get(cls)
    if parser is None or parser.classes != classes:
        definitions: dict[str, cs.CoreSchema] = {}
        top = _response_ref(name, definitions)
        schema = cs.definitions_schema(top, list(definitions.values()))
        # _use_prebuilt=False: otherwise pydantic-core reuses each class's own (exact) validator.
        parser = _ResponseParser(SchemaValidator(schema, _use_prebuilt=False), classes, modules)
        parser.complete = classes == _reach(name, lambda _: True)
        _responses[cls] = parser
    parser.modules = modules
    return parser


def _response_ref(name: str, definitions: dict[str, cs.CoreSchema]) -> cs.CoreSchema:
    """A reference to class ``name`` as its model, or a refusal if it is not loaded yet."""
    cls = loaded(name)
    if cls is None:
        return cs.is_instance_schema(_NotLoaded)
    ref = name + ":response"
    if ref not in definitions:
        definitions[ref] = cs.none_schema()  # placeholder: a class may reach itself
        config = cls.model_config
        checked = CLASSES[name][0]
        fields = {
            py_name: cs.model_field(
                _response_field(shape, required, nullable, constant, checked, definitions),
                validation_alias=wire if wire != py_name else None,
            )
            for wire, py_name, shape, required, nullable, constant in CLASSES[name][1]
        }
        definitions[ref] = cs.model_schema(
            cls,
            cs.model_fields_schema(fields, model_name=name, extra_behavior="allow"),
            custom_init=False,
            root_model=False,
            config=CoreConfig(
                title=name,
                extra_fields_behavior="allow",
                strict=bool(config.get("strict", False)),
                allow_inf_nan=bool(config.get("allow_inf_nan", True)),
                validate_by_name=True,
                validate_by_alias=True,
            ),
            ref=ref,
        )
    return cs.definition_reference_schema(ref)


def _response_field(
    shape: tuple[Any, ...],
    required: bool,
    nullable: bool,
    constant: str | None,
    checked: bool,
    definitions: dict[str, cs.CoreSchema],
) -> cs.CoreSchema:
    """One response field, with the default and ``None`` its class declares."""
    schema = _response_type(shape, checked, definitions)
    if nullable or not required:
        schema = cs.nullable_schema(schema)
    if constant is not None:
        return cs.with_default_schema(schema, default=constant)
    if not required:
        return cs.with_default_schema(schema, default=None)
    return schema


def _response_type(
    shape: tuple[Any, ...], checked: bool, definitions: dict[str, cs.CoreSchema]
) -> cs.CoreSchema:
    """The schema of one shape as the response models read it, without the Python parts."""
    kind = shape[0]
    if kind == "ref":
        alias = ALIASES.get(shape[1])
        if alias is not None:
            return _response_type(alias, checked, definitions)
        return _response_ref(shape[1], definitions)
    if kind == "list":
        item = _response_type(shape[1], checked, definitions)
        return cs.list_schema(item, min_length=shape[2] if checked else None)
    if kind == "map":
        return cs.dict_schema(cs.str_schema(), _response_type(shape[1], checked, definitions))
    if kind == "union":
        return cs.union_schema([_response_type(m, checked, definitions) for m in shape[1]])
    if kind == "tagged":
        tagged = _tagged_schema(shape, lambda name: _response_ref(name, definitions), strict=None)
        if shape[2] is None:
            return tagged
        return cs.union_schema([_response_type(shape[2], checked, definitions), tagged])
    # Floats as their class has them: RequestModel classes (``checked``) refuse NaN and infinity.
    return _scalar(shape, checked=checked, strict=None, finite=checked)


# -- which classes are loaded, and loading the ones an answer holds --------------------------------


def module_of(name: str) -> str:
    """The module that defines the generated class or alias ``name``."""
    return f"{PACKAGE}.{MODULES[name]}"


def loaded(name: str) -> type[Any] | None:
    """The generated class ``name`` if its module has been imported, else ``None``."""
    module = sys.modules.get(module_of(name))
    return None if module is None else getattr(module, name, None)


def _loaded_reach(name: str) -> frozenset[str]:
    """The loaded classes that ``name`` reaches through loaded classes, ``name`` included."""
    return _reach(name, lambda each: loaded(each) is not None)


def _reach(name: str, include: Callable[[str], bool]) -> frozenset[str]:
    """The classes ``name`` reaches through classes that ``include`` accepts, ``name`` too."""
    seen: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        if current in seen or not include(current):
            continue
        seen.add(current)
        pending.extend(_class_refs(current))
    return frozenset(seen)


def _class_refs(name: str) -> set[str]:
    """The classes ``name``'s fields name directly, looking through aliases."""
    return _names(name, through_aliases=True)


def _names(name: str, *, through_aliases: bool) -> set[str]:
    """The classes (and, unless ``through_aliases``, aliases) that ``name``'s fields name."""
    found: set[str] = set()
    for field in CLASSES[name][1]:
        _names_of(field[2], found, through_aliases)
    return found


def _names_of(shape: tuple[Any, ...], found: set[str], through_aliases: bool) -> None:
    """Add to ``found`` the names in one shape."""
    kind = shape[0]
    if kind == "ref":
        alias = ALIASES.get(shape[1]) if through_aliases else None
        if alias is None:
            found.add(shape[1])
        else:
            _names_of(alias, found, through_aliases)
    elif kind in ("list", "map"):
        _names_of(shape[1], found, through_aliases)
    elif kind == "union":
        for member in shape[1]:
            _names_of(member, found, through_aliases)
    elif kind == "tagged":
        found.update(name for _, name in shape[1])
        found.update(name for _, _, members in shape[3] for _, name in members)
        if shape[2] is not None:
            _names_of(shape[2], found, through_aliases)


def _held(name: str, value: Any) -> frozenset[str]:
    """The classes that ``value``, read as class ``name``, instantiates (``name`` at least)."""
    wanted = {name}
    # Nested too deeply for this walk: the validator, or else the exact path, will say so.
    with contextlib.suppress(RecursionError):
        _wanted(("ref", name), value, wanted)
    return frozenset(wanted)


def _load_needed(name: str, data: str | bytes | bytearray) -> bool:
    """Load the classes that the JSON ``data`` holds as ``name``; whether any was new."""
    try:
        wanted = _held(name, json.loads(data))
    except (ValueError, RecursionError):
        return False
    new = [each for each in wanted if loaded(each) is None]
    for each in new:
        importlib.import_module(module_of(each))
    return bool(new)


def _wanted(shape: tuple[Any, ...], value: Any, found: set[str]) -> None:
    """Add to ``found`` the classes that ``value``, read as ``shape``, instantiates."""
    kind = shape[0]
    if kind == "ref":
        alias = ALIASES.get(shape[1])
        if alias is not None:
            _wanted(alias, value, found)
        elif isinstance(value, dict):
            found.add(shape[1])
            for wire, _, field_shape, *_ in CLASSES[shape[1]][1]:
                if wire in value:
                    _wanted(field_shape, value[wire], found)
    elif kind == "list" and isinstance(value, list):
        for item in value:
            _wanted(shape[1], item, found)
    elif kind == "map" and isinstance(value, dict):
        for item in value.values():
            _wanted(shape[1], item, found)
    elif kind == "union":
        for member in shape[1]:
            _wanted(member, value, found)
    elif kind == "tagged":
        member = _tagged_member(shape, value)
        if member is not None:
            _wanted(("ref", member), value, found)
        elif shape[2] is not None and not isinstance(value, dict):
            _wanted(shape[2], value, found)


def _tagged_member(shape: tuple[Any, ...], value: Any) -> str | None:
    """The member class of a ``tagged`` shape that ``value``'s tags name, if any."""
    tag = value.get("type") if isinstance(value, dict) else None
    if not isinstance(tag, str):
        return None
    for nested_tag, prop, members in shape[3]:
        if nested_tag == tag:
            sub = value.get(prop)
            return dict(members).get(sub) if isinstance(sub, str) else None
    return dict(shape[1]).get(tag)


# -- the exact path: every name a class's annotations use, before pydantic builds it --------------

_resolved: set[str] = set()
#: Held while names are given to modules, so no thread builds from a half-resolved module.
_resolving = threading.RLock()


def resolve(name: str) -> None:
    """Give the module of every class ``name`` reaches the names its annotations use.

    Generated modules import the classes they refer to only for type checkers, so that loading
    one class does not load every class it might hold; pydantic needs them all when it builds
    the exact validator, JSON Schema or serialiser, and gets them here first.
    """
    if name in _resolved:
        return
    with _resolving:
        # A class counts as resolved only with everything it reaches: another thread that finds
        # it in ``_resolved`` (without the lock) builds at once.
        done: set[str] = set()
        pending = [name]
        while pending:
            current = pending.pop()
            if current in _resolved or current in done or current not in CLASSES:
                continue
            module = importlib.import_module(module_of(current))
            for ref in _names(current, through_aliases=False):
                if ref not in module.__dict__:
                    target = importlib.import_module(module_of(ref))
                    module.__dict__[ref] = getattr(target, ref)
            done.add(current)
            pending.extend(_class_refs(current))
        _resolved.update(done)
