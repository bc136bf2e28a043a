"""The answer of ``POST /realtime/sessions``: the session as configured, plus its key."""

from __future__ import annotations

from openapiopenai.models.openapi_model import ResponseModel
from openapiopenai.models.realtime_session_create_response_client_secret import (
    RealtimeSessionCreateResponseClientSecret,
)
from openapiopenai.models.realtime_session_create_response_input_audio_transcription import (
    RealtimeSessionCreateResponseInputAudioTranscription,
)
from openapiopenai.models.realtime_session_create_response_tools_inner import (
    RealtimeSessionCreateResponseToolsInner,
)
from openapiopenai.models.realtime_session_create_response_tracing import (
    RealtimeSessionCreateResponseTracing,
)
from openapiopenai.models.realtime_session_create_response_turn_detection import (
    RealtimeSessionCreateResponseTurnDetection,
)


class RealtimeSessionCreateResponse(ResponseModel):
    """A new Realtime session and the ephemeral key to reach it.

    Read leniently: enum-like fields are plain strings, so values newer than this SDK pass
    through, and fields it does not know are kept (see ``additional_properties``).
    """

    id: str | None = None
    object: str | None = None
    model: str | None = None
    client_secret: RealtimeSessionCreateResponseClientSecret
    modalities: list[str] | None = None
    instructions: str | None = None
    voice: str | None = None
    input_audio_format: str | None = None
    output_audio_format: str | None = None
    input_audio_transcription: RealtimeSessionCreateResponseInputAudioTranscription | None = None
    speed: float | None = None
    tracing: str | RealtimeSessionCreateResponseTracing | None = None
    turn_detection: RealtimeSessionCreateResponseTurnDetection | None = None
    tools: list[RealtimeSessionCreateResponseToolsInner] | None = None
    tool_choice: str | None = None
    temperature: float | None = None
    max_response_output_tokens: int | str | None = None
