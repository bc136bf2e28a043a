"""API classes, one per tag of the OpenAPI description."""

from openapiopenai.api.realtime_api import RealtimeApi

__all__ = ["RealtimeApi"]
