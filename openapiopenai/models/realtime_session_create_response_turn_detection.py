"""Response: the turn detection the session runs with."""

from __future__ import annotations

from openapiopenai.models.openapi_model import ResponseModel


class RealtimeSessionCreateResponseTurnDetection(ResponseModel):
    """Voice activity detection as configured; other keys the server sends are kept too."""

    type: str | None = None
    threshold: float | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None
