"""Response: detailed tracing settings (the object form of ``tracing``)."""

from __future__ import annotations

from typing import Any

from openapiopenai.models.openapi_model import ResponseModel


class RealtimeSessionCreateResponseTracing(ResponseModel):
    """Trace names and tags as configured on the session."""

    workflow_name: str | None = None
    group_id: str | None = None
    metadata: dict[str, Any] | None = None
