"""Request: detailed tracing settings (the object form of ``tracing``)."""

from __future__ import annotations

from typing import Any

from openapiopenai.models.openapi_model import RequestModel, optional


class RealtimeSessionCreateRequestTracing(RequestModel):
    """Names and tags for the trace of this session in the traces dashboard."""

    workflow_name: str | None = optional()
    group_id: str | None = optional()
    metadata: dict[str, Any] | None = optional()
