"""The body of ``POST /realtime/sessions``: the configuration of the session to create."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias, get_args

from pydantic import Field

from openapiopenai.models.openapi_model import RequestModel, nullable, optional
from openapiopenai.models.realtime_session_create_request_client_secret import (
    RealtimeSessionCreateRequestClientSecret,
)
from openapiopenai.models.realtime_session_create_request_input_audio_noise_reduction import (
    RealtimeSessionCreateRequestInputAudioNoiseReduction,
)
from openapiopenai.models.realtime_session_create_request_input_audio_transcription import (
    RealtimeSessionCreateRequestInputAudioTranscription,
)
from openapiopenai.models.realtime_session_create_request_tools_inner import (
    RealtimeSessionCreateRequestToolsInner,
)
from openapiopenai.models.realtime_session_create_request_tracing import (
    RealtimeSessionCreateRequestTracing,
)
from openapiopenai.models.realtime_session_create_request_turn_detection import (
    RealtimeSessionCreateRequestTurnDetection,
)
from openapiopenai.models.voice_ids_shared import VoiceIdsShared

#: Realtime models known to this SDK; the service keeps adding more and any string is accepted.
KnownModel: TypeAlias = Literal[
    "gpt-realtime",
    "gpt-realtime-2025-08-28",
    "gpt-realtime-mini",
    "gpt-realtime-mini-2025-10-06",
    "gpt-realtime-mini-2025-12-15",
    "gpt-realtime-1.5",
    "gpt-realtime-2",
    "gpt-realtime-2.1",
    "gpt-realtime-2.1-mini",
    "gpt-audio-1.5",
    "gpt-audio-mini",
    "gpt-audio-mini-2025-10-06",
    "gpt-audio-mini-2025-12-15",
    "gpt-4o-realtime-preview",
    "gpt-4o-realtime-preview-2024-10-01",
    "gpt-4o-realtime-preview-2024-12-17",
    "gpt-4o-realtime-preview-2025-06-03",
    "gpt-4o-mini-realtime-preview",
    "gpt-4o-mini-realtime-preview-2024-12-17",
]
KNOWN_MODELS: tuple[str, ...] = get_args(KnownModel)

if TYPE_CHECKING:
    RealtimeModel: TypeAlias = KnownModel | str
else:
    # At run time any string is valid, so validation errors stay short and plain.
    RealtimeModel = str

Modality: TypeAlias = Literal["text", "audio"]
AudioFormat: TypeAlias = Literal["pcm16", "g711_ulaw", "g711_alaw"]
MaxOutputTokens: TypeAlias = Annotated[int, Field(ge=1)] | Literal["inf"]


class RealtimeSessionCreateRequest(RequestModel):
    """Everything that can be configured when minting a session; every field is optional.

    Only the fields you set are sent: ``RealtimeSessionCreateRequest()`` sends ``{}`` and the
    service applies its defaults. ``None`` leaves a field out, except on
    ``input_audio_transcription``, ``turn_detection``, ``input_audio_noise_reduction`` and
    ``tracing``, where it is sent as ``null`` to turn the feature off.
    """

    modalities: list[Modality] | None = optional()
    model: RealtimeModel | None = optional()
    instructions: str | None = optional()
    voice: VoiceIdsShared | None = optional()
    input_audio_format: AudioFormat | None = optional()
    output_audio_format: AudioFormat | None = optional()
    input_audio_transcription: RealtimeSessionCreateRequestInputAudioTranscription | None = (
        nullable()
    )
    turn_detection: RealtimeSessionCreateRequestTurnDetection | None = nullable()
    input_audio_noise_reduction: RealtimeSessionCreateRequestInputAudioNoiseReduction | None = (
        nullable()
    )
    speed: float | None = optional(ge=0.25, le=1.5)
    tracing: Literal["auto"] | RealtimeSessionCreateRequestTracing | None = nullable()
    tools: list[RealtimeSessionCreateRequestToolsInner] | None = optional()
    tool_choice: str | None = optional()
    temperature: float | None = optional()
    max_response_output_tokens: MaxOutputTokens | None = optional()
    client_secret: RealtimeSessionCreateRequestClientSecret | None = optional()


__all__ = [
    "KNOWN_MODELS",
    "AudioFormat",
    "KnownModel",
    "MaxOutputTokens",
    "Modality",
    "RealtimeModel",
    "RealtimeSessionCreateRequest",
]
