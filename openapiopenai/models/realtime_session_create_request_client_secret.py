"""Request: settings of the ephemeral key to mint (``client_secret``)."""

from __future__ import annotations

from openapiopenai.models.openapi_model import RequestModel, optional
from openapiopenai.models.realtime_session_create_request_client_secret_expires_after import (
    RealtimeSessionCreateRequestClientSecretExpiresAfter,
)


class RealtimeSessionCreateRequestClientSecret(RequestModel):
    """Options for the ephemeral key the session is created with."""

    expires_after: RealtimeSessionCreateRequestClientSecretExpiresAfter | None = optional()
