"""Webhook: one header of the SIP INVITE that started an incoming call."""

from __future__ import annotations

from openapiopenai.models.openapi_model import ResponseModel


class WebhookRealtimeCallIncomingDataSipHeadersInner(ResponseModel):
    """A SIP header as the caller's INVITE carried it (names may repeat, e.g. ``Via``)."""

    name: str
    value: str
