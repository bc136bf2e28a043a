"""From OpenAPI schemas to a small model of the SDK's types: classes, aliases and type expressions.

Naming follows OpenAPI Generator, so users find the names they expect: a component keeps its
name; an inline object is named after its path (``{Parent}{Property}``, ``{Parent}{Property}Inner``
for array items); a union branch after its ``type`` tag (``RealtimeTurnDetectionServerVad``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

PRIMITIVES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
#: pydantic constraint names, by the JSON Schema keyword they come from.
CONSTRAINTS = {
    "minimum": "ge",
    "maximum": "le",
    "exclusiveMinimum": "gt",
    "exclusiveMaximum": "lt",
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
}
#: Names a field cannot have on a pydantic model; such fields get a trailing underscore.
RESERVED = {
    "model_config",
    "model_fields",
    "json",
    "dict",
    "copy",
    "schema",
    "validate",
    "construct",
}


def snake(name: str) -> str:
    """``RealtimeSessionCreateRequestGA`` -> ``realtime_session_create_request_ga``."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.lower()


def camel(text: str) -> str:
    """``input_audio`` -> ``InputAudio``; ``audio/pcm`` -> ``AudioPcm``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text) if part)


# -- type expressions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Prim:
    """A JSON scalar, or ``Any``; ``constraints`` are pydantic ``Field`` keywords."""

    py: str
    constraints: tuple[tuple[str, Any], ...] = ()
    unixtime: bool = False
    #: text carrying binary data (``contentEncoding: base64``), such as audio
    base64: bool = False


@dataclass(frozen=True)
class Lit:
    """A closed enum: exactly these values. One value makes a constant (a tag)."""

    values: tuple[Any, ...]


@dataclass(frozen=True)
class Open:
    """An open enum: any string, with the known ones offered to type checkers."""

    values: tuple[str, ...]


@dataclass(frozen=True)
class Ref:
    """A generated class or alias, by name."""

    name: str


@dataclass(frozen=True)
class ListOf:
    item: TypeExpr
    min_items: int | None = None


@dataclass(frozen=True)
class MapOf:
    value: TypeExpr


@dataclass(frozen=True)
class UnionOf:
    """``oneOf``/``anyOf``. ``tags`` maps a ``type`` value to a member class when every
    object member is told apart by its ``type``; ``scalar`` is then the one non-object member.
    Members that share a ``type`` (messages) are told apart by a second constant property
    (``role``): ``nested`` holds ``(type, property, ((value, class), ...))`` for them."""

    members: tuple[TypeExpr, ...]
    tags: tuple[tuple[str, str], ...] = ()
    scalar: TypeExpr | None = None
    nested: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = ()

    @property
    def tagged_names(self) -> frozenset[str]:
        """Every member class reached through a tag, nested ones included."""
        nested = (name for _, _, choices in self.nested for _, name in choices)
        return frozenset((*(name for _, name in self.tags), *nested))


TypeExpr = Prim | Lit | Open | Ref | ListOf | MapOf | UnionOf


@dataclass
class FieldDef:
    name: str  # the wire name
    type: TypeExpr
    required: bool
    nullable: bool
    description: str
    default: Any = None
    has_default: bool = False
    secret: bool = False

    @property
    def py_name(self) -> str:
        return self.name + "_" if self.name in RESERVED else self.name


@dataclass
class ClassDef:
    name: str
    description: str
    source: str  # "file#/pointer" it was generated from
    fields: list[FieldDef]
    directions: set[str] = field(default_factory=set)
    #: the ``type`` tag of a union member: filled in on requests when the caller leaves it out
    constants: dict[str, Any] = field(default_factory=dict)

    @property
    def module(self) -> str:
        return snake(self.name)


@dataclass
class AliasDef:
    """A component that is not an object: an enum, an open enum, a union or a map."""

    name: str
    description: str
    source: str
    type: TypeExpr
    nullable: bool = False
    known_literal: str | None = None  # open enums: name of the Literal of known values
    known_tuple: str | None = None  # open enums: name of the tuple of known values
    directions: set[str] = field(default_factory=set)

    @property
    def module(self) -> str:
        return snake(self.name)


@dataclass
class Operation:
    operation_id: str
    method: str
    path: str
    summary: str
    request: TypeExpr | None
    request_content_types: tuple[str, ...]
    response: TypeExpr | None


@dataclass
class Registry:
    """Everything generated, by name, plus where each spec file's components went."""

    classes: dict[str, ClassDef] = field(default_factory=dict)
    aliases: dict[str, AliasDef] = field(default_factory=dict)
    operations: list[Operation] = field(default_factory=list)
    #: components whose own schema says null is a value (``anyOf [X, null]``)
    nullable_components: set[str] = field(default_factory=set)

    def define(self, definition: ClassDef | AliasDef) -> None:
        if definition.name in self.classes or definition.name in self.aliases:
            raise ValueError(f"two schemas want the name {definition.name}")
        if isinstance(definition, ClassDef):
            self.classes[definition.name] = definition
        else:
            self.aliases[definition.name] = definition


def clean(text: str | None) -> str:
    """Spec prose as plain paragraphs: YAML line breaks joined, blank lines kept."""
    if not text:
        return ""
    # The spec's links are relative to OpenAI's site.
    text = text.replace("](/", "](https://platform.openai.com/")
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


class Reader:
    """Reads one spec file's schemas into the registry, naming inline objects by their path."""

    def __init__(self, registry: Registry, file: str, document: dict[str, Any]) -> None:
        self.registry = registry
        self.file = file
        self.document = document
        self.schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
        self.done: dict[str, TypeExpr] = {}

    # -- components ------------------------------------------------------------------------

    def component(self, name: str) -> TypeExpr:
        """The type of component ``name``, generated on first use."""
        if name in self.done:
            return self.done[name]
        schema = self.schemas[name]
        source = f"{self.file}#/components/schemas/{name}"
        if name in self.registry.classes or name in self.registry.aliases:
            self.done[name] = self._merge_existing(name, schema)
            return self.done[name]
        members, nullable = _split_null(schema)
        body = members[0] if len(members) == 1 and _is_object(members[0]) else schema
        if nullable:
            self.registry.nullable_components.add(name)
        if _is_object(body) and _has_properties(body):
            self.done[name] = Ref(name)
            self.registry.define(self._object(name, body, source, schema.get("description")))
            return self.done[name]
        expr = self.type_of(schema, name, top_level=True)
        if isinstance(expr, Prim | Ref) and not schema.get("enum"):
            self.done[name] = expr
            return expr
        description = schema.get("description") or next(
            (m["description"] for m in members if m.get("description")), None
        )
        alias = AliasDef(name, clean(description), source, expr, nullable=nullable)
        if isinstance(expr, Open):
            alias.known_literal = schema.get("x-oo-known-literal", f"Known{name}")
            alias.known_tuple = schema.get("x-oo-known-tuple", f"KNOWN_{snake(name).upper()}")
        self.registry.define(alias)
        self.done[name] = Ref(name)
        return self.done[name]

    def _merge_existing(self, name: str, schema: dict[str, Any]) -> TypeExpr:
        """A component both files define: only open enums may differ (known values merge)."""
        alias = self.registry.aliases.get(name)
        theirs = self.type_of(schema, name, top_level=True)
        if alias is None or not isinstance(alias.type, Open) or not isinstance(theirs, Open):
            raise ValueError(f"{name} is defined twice with different content")
        known = list(alias.type.values)
        known += [value for value in theirs.values if value not in known]
        alias.type = Open(tuple(known))
        return Ref(name)

    # -- schemas ---------------------------------------------------------------------------

    def type_of(self, schema: dict[str, Any], hint: str, *, top_level: bool = False) -> TypeExpr:
        """The type of ``schema``; inline objects become classes named ``hint``."""
        if "$ref" in schema:
            return self.component(schema["$ref"].rsplit("/", 1)[-1])
        if "allOf" in schema:
            parts = schema["allOf"]
            if len(parts) != 1:
                raise ValueError(f"{hint}: allOf with {len(parts)} parts is not supported")
            return self.type_of(parts[0], hint)
        if "anyOf" in schema or "oneOf" in schema:
            return self._union(schema, hint, top_level=top_level)
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k != "null"]
            if len(kinds) != 1:
                raise ValueError(f"{hint}: type list {kind} is not supported")
            kind = kinds[0]
        if "const" in schema:
            return Lit((schema["const"],))
        if "enum" in schema:
            values = tuple(v for v in schema["enum"] if v is not None)
            return Lit(values)
        if kind == "array" or "items" in schema:
            item = self.type_of(schema.get("items", {}), hint + "Inner")
            return ListOf(item, schema.get("minItems"))
        if kind == "object" or "properties" in schema:
            if _has_properties(schema):
                self.registry.define(self._object(hint, schema, f"{self.file}:{hint}", None))
                return Ref(hint)
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                return MapOf(self.type_of(extra, hint + "Value"))
            return MapOf(Prim("Any"))
        if kind in PRIMITIVES:
            constraints = tuple(
                (CONSTRAINTS[key], schema[key]) for key in CONSTRAINTS if key in schema
            )
            return Prim(
                PRIMITIVES[kind],
                constraints,
                schema.get("format") == "unixtime",
                schema.get("contentEncoding") == "base64",
            )
        return Prim("Any")

    def _union(self, schema: dict[str, Any], hint: str, *, top_level: bool) -> TypeExpr:
        members, _ = _split_null(schema)
        if len(members) == 1:
            return self.type_of(members[0], hint, top_level=top_level)
        strings = [m for m in members if m.get("type") == "string" and not m.get("enum")]
        enums = [m for m in members if m.get("type") == "string" and m.get("enum")]
        if strings and enums and len(strings) + len(enums) == len(members):
            return Open(tuple(value for m in enums for value in m["enum"]))
        objects = [m for m in members if _is_inline_object(m)]
        exprs: list[TypeExpr] = []
        untagged = 0
        for member in members:
            if not _is_inline_object(member):
                exprs.append(self.type_of(member, hint))
                continue
            tag = _const_type(member)
            if tag is not None:
                name = hint + camel(str(tag))
            elif len(objects) == 1 and not top_level:
                name = hint
            else:
                untagged += 1
                suffix = "AnyOf" if "anyOf" in schema else "OneOf"
                name = hint + suffix + (str(untagged) if len(objects) > 1 else "")
            exprs.append(self.type_of(member, name))
        return self._tag(tuple(exprs))

    def _tag(self, members: tuple[TypeExpr, ...]) -> UnionOf:
        """A union whose object members are told apart by their constant ``type`` (then, for
        members sharing one, by another constant property such as ``role``) is tagged."""
        groups: dict[str, list[ClassDef]] = {}
        scalars: list[TypeExpr] = []
        for member in members:
            definition = self.registry.classes.get(member.name) if isinstance(member, Ref) else None
            if definition is None:
                scalars.append(member)
                continue
            tag = _constant_of(definition, "type")
            if tag is None:
                return UnionOf(members)
            groups.setdefault(tag, []).append(definition)
        if not groups or len(scalars) > 1:
            return UnionOf(members)
        tags: list[tuple[str, str]] = []
        nested: list[tuple[str, str, tuple[tuple[str, str], ...]]] = []
        for tag, definitions in groups.items():
            if len(definitions) == 1:
                tags.append((tag, definitions[0].name))
                definitions[0].constants.setdefault("type", tag)
                continue
            second = _second_tag(definitions)
            if second is None:
                return UnionOf(members)
            prop, choices = second
            nested.append((tag, prop, choices))
            for definition, (value, _) in zip(definitions, choices, strict=True):
                definition.constants.setdefault("type", tag)
                definition.constants.setdefault(prop, value)
        return UnionOf(members, tuple(tags), scalars[0] if scalars else None, tuple(nested))

    def _object(
        self, name: str, schema: dict[str, Any], source: str, description: str | None
    ) -> ClassDef:
        required = set(schema.get("required") or ())
        definition = ClassDef(name, clean(description or schema.get("description")), source, [])
        for prop, prop_schema in (schema.get("properties") or {}).items():
            definition.fields.append(self._field(name, prop, prop_schema, prop in required))
        return definition

    def _field(self, owner: str, prop: str, schema: dict[str, Any], required: bool) -> FieldDef:
        expr = self.type_of(schema, owner + camel(prop))
        _, null_member = _split_null(schema)
        ref = schema.get("$ref", "").rsplit("/", 1)[-1]
        nullable = bool(
            null_member
            or schema.get("nullable")
            or schema.get("x-oo-nullable")
            or ("default" in schema and schema["default"] is None)
            or (isinstance(schema.get("type"), list) and "null" in schema["type"])
            or (ref and ref in self.registry.nullable_components)
        )
        members, _ = _split_null(schema)
        description = schema.get("description") or next(
            (m["description"] for m in members if m.get("description")), None
        )
        if description is None and ref:
            description = self.schemas.get(ref, {}).get("description")
        default = schema.get("default")
        return FieldDef(
            name=prop,
            type=expr,
            required=required,
            nullable=nullable,
            description=clean(description),
            default=default,
            has_default="default" in schema and default is not None,
            secret=bool(schema.get("x-oo-secret")),
        )


def _split_null(schema: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """The non-null members of a union (or ``[schema]``), and whether null was one of them."""
    members = schema.get("anyOf") or schema.get("oneOf")
    if members is None:
        return [schema], False
    kept = [m for m in members if m.get("type") != "null"]
    return kept, len(kept) != len(members)


def _is_object(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "object" or "properties" in schema


def _has_properties(schema: dict[str, Any]) -> bool:
    return bool(schema.get("properties"))


def _is_inline_object(schema: dict[str, Any]) -> bool:
    return "$ref" not in schema and _is_object(schema) and _has_properties(schema)


def _const_type(schema: dict[str, Any]) -> Any:
    prop = (schema.get("properties") or {}).get("type") or {}
    values = [prop["const"]] if "const" in prop else prop.get("enum") or []
    return values[0] if len(values) == 1 else None


def _constant_of(definition: ClassDef, prop: str) -> str | None:
    """The one value a required-or-not constant property ``prop`` of a class may have."""
    for f in definition.fields:
        if f.name == prop and isinstance(f.type, Lit) and len(f.type.values) == 1:
            value = f.type.values[0]
            return value if isinstance(value, str) else None
    return None


def _second_tag(
    definitions: list[ClassDef],
) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    """The property (besides ``type``) whose constant tells these classes apart, with each
    class by its value; ``None`` if no property does."""
    for f in definitions[0].fields:
        if f.name == "type" or not f.required:
            continue
        values = [_constant_of(definition, f.name) for definition in definitions]
        if None not in values and len(set(values)) == len(values):
            required = all(
                any(g.name == f.name and g.required for g in d.fields) for d in definitions
            )
            if required:
                choices = tuple((str(v), d.name) for v, d in zip(values, definitions, strict=True))
                return f.name, choices
    return None
