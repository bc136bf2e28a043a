"""Webhook event: an incoming SIP call is waiting to be accepted (``realtime.call.incoming``)."""

from __future__ import annotations

from openapiopenai.models.openapi_model import ResponseModel
from openapiopenai.models.webhook_realtime_call_incoming_data import (
    WebhookRealtimeCallIncomingData,
)


class WebhookRealtimeCallIncoming(ResponseModel):
    """Sent when a phone call reaches your SIP trunk; answer it with the call id in ``data``.

    Read leniently: ``object`` and ``type`` are plain strings, and fields newer than this SDK
    are kept (see ``additional_properties``).
    """

    id: str
    object: str | None = None
    created_at: int
    type: str
    data: WebhookRealtimeCallIncomingData
