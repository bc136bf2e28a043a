"""Read every vendored spec into one :class:`Registry`: operations, classes, aliases, directions."""

from __future__ import annotations

from typing import Any

from codegen.schema import (
    AliasDef,
    ClassDef,
    ListOf,
    MapOf,
    Operation,
    Reader,
    Ref,
    Registry,
    TypeExpr,
    UnionOf,
    camel,
    clean,
)
from codegen.spec import Spec

JSON = "application/json"
#: The WebSocket event unions (no operation reaches them: OpenAPI cannot describe a WebSocket),
#: by direction: what the client sends is checked like a request, what the server sends is
#: read like a response.
EVENT_UNIONS = {
    "RealtimeClientEvent": "request",
    "RealtimeServerEvent": "response",
    "RealtimeTranslationClientEvent": "request",
    "RealtimeTranslationServerEvent": "response",
}


def build(specs: list[Spec]) -> Registry:
    """The registry of everything the specs' operations and webhooks reach."""
    registry = Registry()
    for spec in specs:
        reader = Reader(registry, spec.file, spec.document)
        for path, item in spec.document.get("paths", {}).items():
            for method, operation in item.items():
                registry.operations.append(_operation(reader, path, method, operation))
        for hook in spec.document.get("webhooks", {}).values():
            for operation in hook.values():
                body = operation["requestBody"]["content"][JSON]["schema"]
                _mark(registry, reader.type_of(body, "Webhook"), "response")
        for name, schema in reader.schemas.items():
            if schema.get("x-oo-generate"):
                reader.component(name)
        for name, direction in EVENT_UNIONS.items():
            if name in reader.schemas:
                _mark(registry, reader.component(name), direction)
    for operation in registry.operations:
        if operation.request is not None:
            _mark(registry, operation.request, "request")
        if operation.response is not None:
            _mark(registry, operation.response, "response")
    unused = [
        name for name, c in {**registry.classes, **registry.aliases}.items() if not c.directions
    ]
    if unused:
        raise ValueError(f"generated but reached by no operation: {unused}")
    return registry


def _operation(reader: Reader, path: str, method: str, operation: dict[str, Any]) -> Operation:
    hint = camel(operation["operationId"])
    content = (operation.get("requestBody") or {}).get("content") or {}
    request = None
    for media_type in (JSON, "multipart/form-data"):
        if media_type in content:
            request = reader.type_of(content[media_type]["schema"], hint + "Request")
    response = None
    for status, answer in operation.get("responses", {}).items():
        schema = ((answer.get("content") or {}).get(JSON) or {}).get("schema")
        if status.startswith("2") and schema is not None:
            response = reader.type_of(schema, hint + "Response")
    return Operation(
        operation_id=operation["operationId"],
        method=method.upper(),
        path=path,
        summary=clean(operation.get("summary")),
        request=request,
        request_content_types=tuple(content),
        response=response,
    )


def _mark(registry: Registry, expr: TypeExpr, direction: str) -> None:
    """Record that ``expr`` (and all it reaches) is sent (request) or received (response)."""
    if isinstance(expr, Ref):
        target: ClassDef | AliasDef | None = registry.classes.get(
            expr.name
        ) or registry.aliases.get(expr.name)
        if target is None or direction in target.directions:
            return
        target.directions.add(direction)
        if isinstance(target, ClassDef):
            for field in target.fields:
                _mark(registry, field.type, direction)
        else:
            _mark(registry, target.type, direction)
    elif isinstance(expr, ListOf):
        _mark(registry, expr.item, direction)
    elif isinstance(expr, MapOf):
        _mark(registry, expr.value, direction)
    elif isinstance(expr, UnionOf):
        for member in expr.members:
            _mark(registry, member, direction)
