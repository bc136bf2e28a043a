"""Request bodies checked as the service checks them: a refusal is the service's 400, naming
the field (``param`` is a dotted path); and the sessions the older endpoints answer with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from openapiopenai.exceptions import ApiValidationError, FieldError
from openapiopenai.mock import _shapes
from openapiopenai.mock._answers import Refused
from openapiopenai.models.openapi_model import OpenApiModel, RequestModel
from openapiopenai.models.realtime_session_create_request import RealtimeSessionCreateRequest
from openapiopenai.models.realtime_session_create_request_ga import (
    RealtimeSessionCreateRequestGA,
)

#: Lifetime of a key from ``/realtime/sessions`` and ``/realtime/transcription_sessions``.
DEFAULT_KEY_LIFETIME = 60

#: What the service fills in when a ``/realtime/sessions`` request leaves a field out.
SESSION_DEFAULTS: dict[str, Any] = {
    "model": "gpt-realtime",
    "modalities": ["audio", "text"],
    "instructions": "You are a helpful, friendly assistant.",
    "voice": "alloy",
    "input_audio_format": "pcm16",
    "output_audio_format": "pcm16",
    "input_audio_transcription": None,
    "turn_detection": {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
        "create_response": True,
        "interrupt_response": True,
    },
    "input_audio_noise_reduction": None,
    "speed": 1.0,
    "tracing": None,
    "tools": [],
    "tool_choice": "auto",
    "temperature": 0.8,
    "max_response_output_tokens": "inf",
}

_Model = TypeVar("_Model", bound=RequestModel)


def parse_request(model: type[_Model], body: bytes, prefix: str = "") -> _Model:
    """``body`` read as JSON into the strict request ``model``, or a 400 naming the field."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python parses
        raise Refused(
            400, "We could not parse the JSON body of your request.", param=prefix or None
        ) from None
    if isinstance(data, dict):
        _check_tags(model, data, prefix)
        _fill_default_types(data)
    try:
        request = model.model_validate_json(json.dumps(data), strict=True)
    except ValidationError as invalid:
        problem = ApiValidationError.from_pydantic("request", invalid, show_input=False)
        raise _invalid(problem.errors[0], prefix) from None
    null = _null_where_not_nullable(request)
    if null is not None:
        field_path = f"{prefix}.{null}" if prefix else null
        raise Refused(
            400,
            f"Invalid value for '{field_path}': null is not allowed here; leave the field out.",
            param=field_path,
            code="invalid_type",
        )
    return request


def _check_tags(model: type[RequestModel], data: Mapping[str, Any], prefix: str) -> None:
    """The service needs the ``type`` of a session (the SDK's model fills it in when unset)."""
    for name in model.__constants__:
        if name not in data:
            field_path = f"{prefix}.{name}" if prefix else name
            raise Refused(
                400,
                f"Missing required parameter: '{field_path}'.",
                param=field_path,
                code="missing_required_parameter",
            )


def _null_where_not_nullable(model: OpenApiModel, path: str = "") -> str | None:
    """The dotted path of the first field sent as ``null`` that the spec does not let be null.

    The SDK's models read such a ``null`` as "not set"; the service refuses it.
    """
    fields = type(model).model_fields
    for name in model.model_fields_set:
        info = fields.get(name)
        if info is None:
            continue
        where = f"{path}{info.alias or name}"
        value = getattr(model, name)
        if value is None and info.exclude_if is not None:
            return where
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            if isinstance(item, OpenApiModel):
                inner = f"{where}.{index}." if isinstance(value, list) else f"{where}."
                found = _null_where_not_nullable(item, inner)
                if found is not None:
                    return found
    return None


def _fill_default_types(node: Any) -> None:
    """Add the default ``type`` where the spec makes it optional but the SDK's union needs it.

    Every member of the audio format union has an optional ``type`` and PCM is the default, so
    ``{}`` or ``{"rate": 24000}`` is PCM; a tool without ``type`` is a function tool.
    """
    if not isinstance(node, dict):
        return
    _fill_default_types(node.get("session"))
    audio = node.get("audio")
    for side in ("input", "output"):
        direction = audio.get(side) if isinstance(audio, dict) else None
        audio_format = direction.get("format") if isinstance(direction, dict) else None
        if isinstance(audio_format, dict):
            audio_format.setdefault("type", "audio/pcm")
    tools = node.get("tools")
    for tool in tools if isinstance(tools, list) else ():
        if isinstance(tool, dict):
            tool.setdefault("type", "function")


def _invalid(first: FieldError, prefix: str) -> Refused:
    """The service's 400 for the first problem found; ``param`` is the dotted field path."""
    if first.field == "(root)":
        message = "We could not parse the JSON body of your request."
        return Refused(400, message, param=prefix or None)
    field_path = f"{prefix}.{first.field}" if prefix else first.field
    if first.message.startswith("unknown field"):
        return Refused(
            400, f"Unknown parameter: '{field_path}'.", param=field_path, code="unknown_parameter"
        )
    if first.message.startswith("Field required"):
        if first.message.startswith("Field required: type"):
            field_path += ".type"
        return Refused(
            400,
            f"Missing required parameter: '{field_path}'.",
            param=field_path,
            code="missing_required_parameter",
        )
    return Refused(
        400,
        f"Invalid value for '{field_path}': {first.message}",
        param=field_path,
        code="invalid_value",
    )


def required_body(body: bytes) -> bytes:
    """``body``, or the service's 400 when it is empty."""
    if not body:
        raise Refused(400, "This endpoint requires a JSON request body.")
    return body


def key_lifetime(asked: Mapping[str, Any], default: int) -> int:
    """The seconds a key lives: ``expires_after.seconds`` of the request, or ``default``."""
    seconds = (asked.get("expires_after") or {}).get("seconds")
    return default if seconds is None else int(seconds)


def call_offer(headers: Mapping[str, str], body: bytes) -> tuple[str, dict[str, Any] | None]:
    """The SDP offer and the requested session (if any) of ``POST /realtime/calls``."""
    content_type = headers.get("content-type", "")
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == "application/sdp":
        return _offer_text(body), None
    if media_type == "multipart/form-data":
        parts = _shapes.parse_multipart(content_type, body)
        if parts is None:
            raise Refused(400, "We could not parse the multipart/form-data body.")
        unknown = sorted(set(parts) - {"sdp", "session"})
        if unknown:
            raise Refused(
                400,
                f"Unknown parameter: '{unknown[0]}'.",
                param=unknown[0],
                code="unknown_parameter",
            )
        if "sdp" not in parts:
            raise Refused(
                400,
                "Missing required parameter: 'sdp'.",
                param="sdp",
                code="missing_required_parameter",
            )
        session = None
        if "session" in parts:
            session = parse_request(RealtimeSessionCreateRequestGA, parts["session"][1], "session")
        return _offer_text(parts["sdp"][1]), None if session is None else session.to_dict()
    raise Refused(
        400,
        f"Unsupported content type '{media_type or '(none)'}': send the SDP offer as "
        "application/sdp, or multipart/form-data with an 'sdp' part and an optional "
        "'session' part.",
    )


def _offer_text(raw: bytes) -> str:
    """The offer as text, or the service's 400 when it is not an SDP offer."""
    try:
        offer = raw.decode("utf-8")
    except UnicodeDecodeError:
        offer = ""
    if not _shapes.looks_like_sdp_offer(offer):
        raise Refused(
            400,
            "Invalid SDP offer: it must be a session description starting with 'v=0'.",
            param="sdp",
            code="invalid_offer",
        )
    return offer


def legacy_session(request: RealtimeSessionCreateRequest, now: float) -> dict[str, Any]:
    """The session the service would create for ``request``: echo plus defaults plus a key."""
    session: dict[str, Any] = {"id": _shapes.new_id("sess_"), "object": "realtime.session"}
    session.update(SESSION_DEFAULTS)
    asked = request.to_dict()
    expires_after = (asked.pop("client_secret", None) or {}).get("expires_after") or {}
    session.update(asked)
    lifetime = int(expires_after.get("seconds", DEFAULT_KEY_LIFETIME))
    session["client_secret"] = {"value": _shapes.new_key(), "expires_at": int(now) + lifetime}
    return session
