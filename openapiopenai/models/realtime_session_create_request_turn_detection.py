"""Request: voice activity detection (``turn_detection``)."""

from __future__ import annotations

from typing import Literal

from openapiopenai.models.openapi_model import RequestModel, optional


class RealtimeSessionCreateRequestTurnDetection(RequestModel):
    """Server or semantic VAD; set the parent field to ``None`` to turn detection off."""

    type: Literal["server_vad", "semantic_vad"] | None = optional()
    eagerness: Literal["low", "medium", "high", "auto"] | None = optional()
    threshold: float | None = optional(ge=0.0, le=1.0)
    prefix_padding_ms: int | None = optional(ge=0)
    silence_duration_ms: int | None = optional(ge=0)
    create_response: bool | None = optional()
    interrupt_response: bool | None = optional()
