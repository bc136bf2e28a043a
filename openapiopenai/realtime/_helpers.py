"""Send helpers named after the protocol's client events (``conn.response.create()`` sends
``response.create``). Each builds the event from what the caller set (nothing else is sent)
and hands it to the connection's one send path, which checks it; each returns the event's
``event_id``."""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from openapiopenai.exceptions import ApiTypeError, ApiValueError

if TYPE_CHECKING:
    from openapiopenai.models.realtime_conversation_item_function_call import (
        RealtimeConversationItemFunctionCall,
        RealtimeConversationItemFunctionCallDict,
    )
    from openapiopenai.models.realtime_conversation_item_function_call_output import (
        RealtimeConversationItemFunctionCallOutput,
        RealtimeConversationItemFunctionCallOutputDict,
    )
    from openapiopenai.models.realtime_conversation_item_message_assistant import (
        RealtimeConversationItemMessageAssistant,
        RealtimeConversationItemMessageAssistantDict,
    )
    from openapiopenai.models.realtime_conversation_item_message_system import (
        RealtimeConversationItemMessageSystem,
        RealtimeConversationItemMessageSystemDict,
    )
    from openapiopenai.models.realtime_conversation_item_message_user import (
        RealtimeConversationItemMessageUser,
        RealtimeConversationItemMessageUserDict,
    )
    from openapiopenai.models.realtime_mcp_approval_request import (
        RealtimeMCPApprovalRequest,
        RealtimeMCPApprovalRequestDict,
    )
    from openapiopenai.models.realtime_mcp_approval_response import (
        RealtimeMCPApprovalResponse,
        RealtimeMCPApprovalResponseDict,
    )
    from openapiopenai.models.realtime_mcp_list_tools import (
        RealtimeMCPListTools,
        RealtimeMCPListToolsDict,
    )
    from openapiopenai.models.realtime_mcp_tool_call import (
        RealtimeMCPToolCall,
        RealtimeMCPToolCallDict,
    )
    from openapiopenai.models.realtime_response_create_params import (
        RealtimeResponseCreateParams,
        RealtimeResponseCreateParamsDict,
    )
    from openapiopenai.models.realtime_session_create_request_ga import (
        RealtimeSessionCreateRequestGA,
        RealtimeSessionCreateRequestGADict,
    )
    from openapiopenai.models.realtime_transcription_session_create_request_ga import (
        RealtimeTranscriptionSessionCreateRequestGA,
        RealtimeTranscriptionSessionCreateRequestGADict,
    )
    from openapiopenai.models.realtime_translation_session_update_request import (
        RealtimeTranslationSessionUpdateRequest,
        RealtimeTranslationSessionUpdateRequestDict,
    )

Send = Callable[[Mapping[str, Any]], str]
#: ``(type, audio, event_id) -> event_id``: the connection's audio path.
AppendAudio = Callable[[str, "Audio", "str | None"], str]
Audio = bytes | bytearray | memoryview | str

_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def encode_audio(audio: Audio) -> bytes:
    """Raw audio bytes as base64; text is taken as base64 already, and checked."""
    # bytes first: the usual case, and a type check costs less than isinstance on a union
    if type(audio) is bytes or isinstance(audio, bytes | bytearray | memoryview):
        return binascii.b2a_base64(audio, newline=False)
    if isinstance(audio, str):
        if len(audio) % 4 or not _BASE64.fullmatch(audio):
            raise ApiValueError("audio given as str must be base64 text", ["audio"])
        return audio.encode("ascii")
    raise ApiTypeError(
        f"audio must be bytes (raw PCM16, G.711) or base64 str, not {type(audio).__name__}",
        ["audio"],
    )


def _event(kind: str, event_id: str | None, **fields: Any) -> dict[str, Any]:
    """The event with only the fields that were set."""
    event = {name: value for name, value in fields.items() if value is not None}
    event["type"] = kind
    if event_id is not None:
        event["event_id"] = event_id
    return event


if TYPE_CHECKING:
    # What each event carries: its generated model, or a dict literal that type checkers check
    # against the model's TypedDict (a misspelt key or a wrong type is a type error). At run time
    # both are checked against the model before anything is sent.
    #: ``session.update``'s session: a realtime or a transcription one.
    SessionBody: TypeAlias = (
        RealtimeSessionCreateRequestGA
        | RealtimeSessionCreateRequestGADict
        | RealtimeTranscriptionSessionCreateRequestGA
        | RealtimeTranscriptionSessionCreateRequestGADict
    )
    #: ``response.create``'s response settings.
    ResponseBody: TypeAlias = RealtimeResponseCreateParams | RealtimeResponseCreateParamsDict
    #: ``conversation.item.create``'s item.
    ItemBody: TypeAlias = (
        RealtimeConversationItemFunctionCall
        | RealtimeConversationItemFunctionCallDict
        | RealtimeConversationItemFunctionCallOutput
        | RealtimeConversationItemFunctionCallOutputDict
        | RealtimeConversationItemMessageAssistant
        | RealtimeConversationItemMessageAssistantDict
        | RealtimeConversationItemMessageSystem
        | RealtimeConversationItemMessageSystemDict
        | RealtimeConversationItemMessageUser
        | RealtimeConversationItemMessageUserDict
        | RealtimeMCPApprovalRequest
        | RealtimeMCPApprovalRequestDict
        | RealtimeMCPApprovalResponse
        | RealtimeMCPApprovalResponseDict
        | RealtimeMCPListTools
        | RealtimeMCPListToolsDict
        | RealtimeMCPToolCall
        | RealtimeMCPToolCallDict
    )
    #: A translation session's ``session.update``.
    TranslationSessionBody: TypeAlias = (
        RealtimeTranslationSessionUpdateRequest | RealtimeTranslationSessionUpdateRequestDict
    )


class _Namespace:
    __slots__ = ("_send",)

    def __init__(self, send: Send) -> None:
        self._send = send


class SessionNamespace(_Namespace):
    """``session.update``."""

    __slots__ = ()

    def update(self, session: SessionBody, *, event_id: str | None = None) -> str:
        """Change the session's configuration (instructions, voice, tools, turn detection...)."""
        return self._send(_event("session.update", event_id, session=session))


class ResponseNamespace(_Namespace):
    """``response.create`` and ``response.cancel``."""

    __slots__ = ()

    def create(self, response: ResponseBody | None = None, *, event_id: str | None = None) -> str:
        """Ask the model to respond (``response`` overrides the session for this one)."""
        return self._send(_event("response.create", event_id, response=response))

    def cancel(self, response_id: str | None = None, *, event_id: str | None = None) -> str:
        """Stop the response in progress (or the one named)."""
        return self._send(_event("response.cancel", event_id, response_id=response_id))


class ConversationItemNamespace(_Namespace):
    """``conversation.item.create``, ``.delete``, ``.retrieve`` and ``.truncate``."""

    __slots__ = ()

    def create(
        self, item: ItemBody, previous_item_id: str | None = None, *, event_id: str | None = None
    ) -> str:
        """Add an item (a message, a function call's output...) to the conversation."""
        return self._send(
            _event(
                "conversation.item.create", event_id, item=item, previous_item_id=previous_item_id
            )
        )

    def delete(self, item_id: str, *, event_id: str | None = None) -> str:
        """Remove an item from the conversation."""
        return self._send(_event("conversation.item.delete", event_id, item_id=item_id))

    def retrieve(self, item_id: str, *, event_id: str | None = None) -> str:
        """Ask for an item as the server holds it (its audio included)."""
        return self._send(_event("conversation.item.retrieve", event_id, item_id=item_id))

    def truncate(
        self, item_id: str, content_index: int, audio_end_ms: int, *, event_id: str | None = None
    ) -> str:
        """Cut an assistant audio item at what the user actually heard."""
        return self._send(
            _event(
                "conversation.item.truncate",
                event_id,
                item_id=item_id,
                content_index=content_index,
                audio_end_ms=audio_end_ms,
            )
        )


class ConversationNamespace:
    """``conversation.item.*`` as ``conn.conversation.item``."""

    __slots__ = ("item",)

    def __init__(self, send: Send) -> None:
        self.item = ConversationItemNamespace(send)


class _AudioNamespace(_Namespace):
    __slots__ = ("_append",)

    def __init__(self, send: Send, append: AppendAudio) -> None:
        super().__init__(send)
        self._append = append


class InputAudioBufferNamespace(_AudioNamespace):
    """``input_audio_buffer.append``, ``.commit`` and ``.clear``."""

    __slots__ = ()

    def append(self, audio: Audio, *, event_id: str | None = None) -> str:
        """Add audio to the input buffer: raw bytes (encoded here) or base64 text."""
        return self._append("input_audio_buffer.append", audio, event_id)

    def commit(self, *, event_id: str | None = None) -> str:
        """Turn the buffered audio (at least 100 ms) into a user message."""
        return self._send(_event("input_audio_buffer.commit", event_id))

    def clear(self, *, event_id: str | None = None) -> str:
        """Drop the buffered audio."""
        return self._send(_event("input_audio_buffer.clear", event_id))


class OutputAudioBufferNamespace(_Namespace):
    """``output_audio_buffer.clear`` (WebRTC and SIP calls, from the sideband)."""

    __slots__ = ()

    def clear(self, *, event_id: str | None = None) -> str:
        """Cut off the audio the model is playing."""
        return self._send(_event("output_audio_buffer.clear", event_id))


class TranslationSessionNamespace(_Namespace):
    """Translation's ``session.update`` and ``session.close``."""

    __slots__ = ()

    def update(self, session: TranslationSessionBody, *, event_id: str | None = None) -> str:
        """Change the output language, transcription or noise reduction."""
        return self._send(_event("session.update", event_id, session=session))

    def close(self, *, event_id: str | None = None) -> str:
        """Ask the server to flush pending audio and end the session."""
        return self._send(_event("session.close", event_id))


class TranslationInputAudioBufferNamespace(_AudioNamespace):
    """Translation's ``session.input_audio_buffer.append``."""

    __slots__ = ()

    def append(self, audio: Audio, *, event_id: str | None = None) -> str:
        """Add audio (24 kHz PCM16 mono; about 200 ms per chunk works best)."""
        return self._append("session.input_audio_buffer.append", audio, event_id)
