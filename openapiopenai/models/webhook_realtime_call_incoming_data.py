"""Webhook: the ``data`` of a ``realtime.call.incoming`` event."""

from __future__ import annotations

from openapiopenai.models.openapi_model import ResponseModel
from openapiopenai.models.webhook_realtime_call_incoming_data_sip_headers_inner import (
    WebhookRealtimeCallIncomingDataSipHeadersInner,
)


class WebhookRealtimeCallIncomingData(ResponseModel):
    """The pending call: its ``rtc_...`` id, needed to accept or reject it, and the SIP headers."""

    call_id: str
    sip_headers: list[WebhookRealtimeCallIncomingDataSipHeadersInner]
