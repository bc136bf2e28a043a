"""Conversations with Realtime models over WebSocket (``RealtimeApi.connect``).

Needs ``websockets`` (the ``realtime`` extra: ``pip install -e '.[realtime]'`` in a checkout);
importing this package without it raises
:class:`~openapiopenai.exceptions.MissingDependencyError` naming both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from openapiopenai.exceptions import ApiValueError, MissingDependencyError

try:
    import websockets  # noqa: F401
except ImportError:
    raise MissingDependencyError.of(
        "Realtime conversations over WebSocket", "websockets", "realtime"
    ) from None

from openapiopenai.realtime._open import (
    DEFAULT_CLOSE_TIMEOUT,
    DEFAULT_MAX_MESSAGE_BYTES,
    ConnectOptions,
    open_connection,
)
from openapiopenai.realtime._protocol import ServerEvent, UnknownServerEvent
from openapiopenai.realtime._reconnect import Reconnect, Reconnected
from openapiopenai.realtime.connection import (
    AnyRealtimeConnection,
    RealtimeConnection,
    RealtimeTranslationConnection,
)

if TYPE_CHECKING:
    from openapiopenai.api_client import ApiClient

#: ``intent`` values the service knows; any string is passed on.
INTENT_TRANSCRIPTION = "transcription"


def open_conversation(
    api_client: ApiClient,
    *,
    model: str | None,
    call_id: str | None,
    intent: str | None,
    options: Mapping[str, Any],
    reconnect: object = None,
) -> RealtimeConnection[Any]:
    """``/realtime`` with ``model``, ``call_id`` (sideband) or ``intent``."""
    if model is not None and call_id is not None:
        raise ApiValueError(
            "model and call_id cannot both be given: a sideband connection (call_id) joins a "
            "call whose model is already set",
            ["model"],
        )
    from openapiopenai.models import RealtimeClientEvent, RealtimeServerEvent

    return open_connection(
        api_client,
        RealtimeConnection,
        path="/realtime",
        query={"model": model, "call_id": call_id, "intent": intent},
        client_union=RealtimeClientEvent,
        server_union=RealtimeServerEvent,
        options=options,
        reconnect=reconnect,
    )


def open_translation(
    api_client: ApiClient, *, model: str, options: Mapping[str, Any], reconnect: object = None
) -> RealtimeTranslationConnection[Any]:
    """``/realtime/translations`` with ``model``."""
    from openapiopenai.models import RealtimeTranslationClientEvent, RealtimeTranslationServerEvent

    return open_connection(
        api_client,
        RealtimeTranslationConnection,
        path="/realtime/translations",
        query={"model": model},
        client_union=RealtimeTranslationClientEvent,
        server_union=RealtimeTranslationServerEvent,
        options=options,
        reconnect=reconnect,
    )


__all__ = [
    "AnyRealtimeConnection",
    "DEFAULT_CLOSE_TIMEOUT",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "INTENT_TRANSCRIPTION",
    "ConnectOptions",
    "RealtimeConnection",
    "RealtimeTranslationConnection",
    "Reconnect",
    "Reconnected",
    "ServerEvent",
    "UnknownServerEvent",
    "open_conversation",
    "open_translation",
]
