"""Request: one function the model may call (an item of ``tools``)."""

from __future__ import annotations

from typing import Any, Literal

from openapiopenai.models.openapi_model import RequestModel, optional


class RealtimeSessionCreateRequestToolsInner(RequestModel):
    """A function tool: its name, when to use it, and its parameters as JSON Schema."""

    type: Literal["function"] | None = optional()
    name: str | None = optional()
    description: str | None = optional()
    parameters: dict[str, Any] | None = optional()
