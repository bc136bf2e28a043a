"""Response: one tool the session's model may call."""

from __future__ import annotations

from typing import Any

from openapiopenai.models.openapi_model import ResponseModel


class RealtimeSessionCreateResponseToolsInner(ResponseModel):
    """A tool as configured; ``type`` is kept as sent, even if this SDK does not know it."""

    type: str | None = None
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
