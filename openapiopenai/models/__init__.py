"""Request, response and webhook event models, one per module."""

from openapiopenai.models.openapi_model import OpenApiModel, RequestModel, ResponseModel
from openapiopenai.models.realtime_session_create_request import (
    KNOWN_MODELS,
    RealtimeSessionCreateRequest,
)
from openapiopenai.models.realtime_session_create_request_client_secret import (
    RealtimeSessionCreateRequestClientSecret,
)
from openapiopenai.models.realtime_session_create_request_client_secret_expires_after import (
    RealtimeSessionCreateRequestClientSecretExpiresAfter,
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
from openapiopenai.models.realtime_session_create_response import RealtimeSessionCreateResponse
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
from openapiopenai.models.voice_ids_shared import KNOWN_VOICES, VoiceIdsShared
from openapiopenai.models.webhook_realtime_call_incoming import WebhookRealtimeCallIncoming
from openapiopenai.models.webhook_realtime_call_incoming_data import (
    WebhookRealtimeCallIncomingData,
)
from openapiopenai.models.webhook_realtime_call_incoming_data_sip_headers_inner import (
    WebhookRealtimeCallIncomingDataSipHeadersInner,
)

__all__ = [
    "KNOWN_MODELS",
    "KNOWN_VOICES",
    "OpenApiModel",
    "RealtimeSessionCreateRequest",
    "RealtimeSessionCreateRequestClientSecret",
    "RealtimeSessionCreateRequestClientSecretExpiresAfter",
    "RealtimeSessionCreateRequestInputAudioNoiseReduction",
    "RealtimeSessionCreateRequestInputAudioTranscription",
    "RealtimeSessionCreateRequestToolsInner",
    "RealtimeSessionCreateRequestTracing",
    "RealtimeSessionCreateRequestTurnDetection",
    "RealtimeSessionCreateResponse",
    "RealtimeSessionCreateResponseClientSecret",
    "RealtimeSessionCreateResponseInputAudioTranscription",
    "RealtimeSessionCreateResponseToolsInner",
    "RealtimeSessionCreateResponseTracing",
    "RealtimeSessionCreateResponseTurnDetection",
    "RequestModel",
    "ResponseModel",
    "VoiceIdsShared",
    "WebhookRealtimeCallIncoming",
    "WebhookRealtimeCallIncomingData",
    "WebhookRealtimeCallIncomingDataSipHeadersInner",
]
