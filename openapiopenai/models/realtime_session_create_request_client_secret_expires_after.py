"""Request: when the ephemeral key expires (``client_secret.expires_after``)."""

from __future__ import annotations

from typing import Literal

from openapiopenai.models.openapi_model import RequestModel, optional


class RealtimeSessionCreateRequestClientSecretExpiresAfter(RequestModel):
    """Lifetime of the ephemeral key: ``seconds`` (10 to 7200) after ``anchor``."""

    anchor: Literal["created_at"]
    seconds: int | None = optional(ge=10, le=7200)
