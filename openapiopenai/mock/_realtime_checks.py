"""Client events checked as the service checks them: a refusal names the field (``param``).

Each check raises :class:`EventRefused`, which a session turns into an ``error`` event.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from openapiopenai.mock._answers import Refused
from openapiopenai.mock._request_checks import parse_request

ITEM_TYPES = ("message", "function_call", "function_call_output", "mcp_approval_response")
CONTENT_TYPES = {
    "user": ("input_text", "input_audio", "input_image"),
    "assistant": ("output_text", "output_audio"),
    "system": ("input_text",),
}


class EventRefused(Exception):
    """A client event the service answers with an ``error`` event."""

    def __init__(self, message: str, *, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message, self.code, self.param = message, code, param


def object_field(event: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = event.get(name)
    if value is None:
        raise EventRefused(
            f"Missing required parameter: '{name}'.",
            code="missing_required_parameter",
            param=name,
        )
    if not isinstance(value, dict):
        raise EventRefused(
            f"Invalid type for '{name}': expected an object, but got {type(value).__name__}.",
            code="invalid_type",
            param=name,
        )
    return value


def integer_field(event: Mapping[str, Any], name: str) -> int:
    value = event.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EventRefused(
            f"Invalid value for '{name}': expected a non-negative integer.",
            code="invalid_value" if name in event else "missing_required_parameter",
            param=name,
        )
    return value


def audio_bytes(event: Mapping[str, Any]) -> bytes:
    audio = event.get("audio")
    try:
        if not isinstance(audio, str):
            raise ValueError
        return base64.b64decode(audio, validate=True)
    except (ValueError, binascii.Error):
        raise EventRefused(
            "Invalid value for 'audio': expected base64-encoded audio bytes.",
            code="invalid_value",
            param="audio",
        ) from None


def validated(model: Any, data: dict[str, Any], prefix: str) -> dict[str, Any]:
    """``data`` checked by the mock's HTTP request checks; a refusal names the field."""
    try:
        asked: dict[str, Any] = parse_request(model, json.dumps(data).encode(), prefix).to_dict()
    except Refused as refused:
        error = json.loads(refused.answer[2])["error"]
        raise EventRefused(
            error["message"], code=error["code"] or "invalid_value", param=error["param"]
        ) from None
    return asked


def optional_str(event: Mapping[str, Any], name: str, param: str | None = None) -> str | None:
    """The string field ``name`` of ``event``, if set; ``param`` is its path in an error."""
    value = event.get(name)
    if value is not None and not isinstance(value, str):
        where = param or name
        raise EventRefused(
            f"Invalid type for '{where}': expected a string, but got {type(value).__name__}.",
            code="invalid_type",
            param=where,
        )
    return value


def checked_item(item: dict[str, Any]) -> dict[str, Any]:
    """A conversation item the service accepts, or a refusal naming the field."""
    kind = item.get("type")
    if kind not in ITEM_TYPES:
        raise EventRefused(
            f"Invalid value: '{kind}'. Supported values are: "
            + ", ".join(f"'{name}'" for name in ITEM_TYPES)
            + ".",
            code="invalid_value" if kind is not None else "missing_required_parameter",
            param="item.type",
        )
    required = {
        "message": ("role", "content"),
        "function_call": ("name", "arguments"),
        "function_call_output": ("call_id", "output"),
        "mcp_approval_response": ("approval_request_id", "approve"),
    }[str(kind)]
    for name in required:
        if name not in item:
            raise EventRefused(
                f"Missing required parameter: 'item.{name}'.",
                code="missing_required_parameter",
                param=f"item.{name}",
            )
    for name in ("id", *required):
        if name not in ("content", "approve"):
            optional_str(item, name, f"item.{name}")
    if kind == "message":
        _check_message(item)
    elif kind == "mcp_approval_response":
        _check_approval(item)
    return item


def _check_approval(item: dict[str, Any]) -> None:
    if not isinstance(item["approve"], bool):
        raise EventRefused(
            "Invalid type for 'item.approve': expected a boolean, but got "
            f"{type(item['approve']).__name__}.",
            code="invalid_type",
            param="item.approve",
        )
    optional_str(item, "reason", "item.reason")


def _check_message(item: dict[str, Any]) -> None:
    allowed = CONTENT_TYPES.get(item["role"])
    if allowed is None:
        raise EventRefused(
            f"Invalid value: '{item['role']}'. Supported values are: 'user', 'assistant', "
            "'system'.",
            code="invalid_value",
            param="item.role",
        )
    content = item["content"]
    if not isinstance(content, list):
        raise EventRefused(
            "Invalid type for 'item.content': expected an array.",
            code="invalid_type",
            param="item.content",
        )
    for index, part in enumerate(content):
        part_type = part.get("type") if isinstance(part, dict) else None
        if part_type not in allowed:
            raise EventRefused(
                f"Invalid value: '{part_type}'. Supported values are: "
                + ", ".join(f"'{name}'" for name in allowed)
                + ".",
                code="invalid_value",
                param=f"item.content.{index}.type",
            )


def response_params(event: Mapping[str, Any]) -> dict[str, Any]:
    params = event.get("response")
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise EventRefused(
            "Invalid type for 'response': expected an object.",
            code="invalid_type",
            param="response",
        )
    modalities = params.get("output_modalities")
    if modalities is not None and (
        not isinstance(modalities, list)
        or len(modalities) != 1
        or modalities[0] not in ("text", "audio")
    ):
        raise EventRefused(
            "Invalid value for 'response.output_modalities': expected ['text'] or ['audio'].",
            code="invalid_value",
            param="response.output_modalities",
        )
    return params
