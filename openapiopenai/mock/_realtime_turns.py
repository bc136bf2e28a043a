"""What the mock's model says: scripted turns as Realtime server events, and their audio.

Plain data and generators, no sockets: :mod:`openapiopenai.mock.realtime_ws` sends what these
produce, in the order the service does.
"""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from openapiopenai.mock._shapes import new_id

#: What the mock's model answers when nothing was scripted.
DEFAULT_REPLY = "Hello! This is the offline mock of the Realtime API."
#: What the mock hears in committed audio when nothing was scripted.
DEFAULT_TRANSCRIPT = "Hello from the caller."
#: Output audio: PCM16, mono, little-endian, at the service's rate.
SAMPLE_RATE = 24_000
BYTES_PER_SAMPLE = 2
#: One audio delta carries this much audio; one word of transcript lasts as long.
CHUNK_MS = 100
TONE_HZ = 440  # a whole number of periods per 100 ms chunk, so chunks join seamlessly
TONE_AMPLITUDE = 0.3

#: Bytes per millisecond of input audio, by ``audio.input.format.type``.
INPUT_BYTES_PER_MS = {"audio/pcm": SAMPLE_RATE * BYTES_PER_SAMPLE // 1000, "audio/pcmu": 8}
INPUT_BYTES_PER_MS["audio/pcma"] = 8

Event = tuple[str, dict[str, Any]]


def _tone_chunk() -> bytes:
    samples = SAMPLE_RATE * CHUNK_MS // 1000
    peak = TONE_AMPLITUDE * 32767
    return struct.pack(
        f"<{samples}h",
        *(round(peak * math.sin(2 * math.pi * TONE_HZ * n / SAMPLE_RATE)) for n in range(samples)),
    )


#: One chunk of output audio, base64, as ``response.output_audio.delta`` carries it.
TONE_CHUNK_B64 = base64.b64encode(_tone_chunk()).decode("ascii")


#: How long a held response waits for its cancel before it ends anyway (seconds).
HOLD_LIMIT = 30.0


@dataclass(frozen=True)
class ToolCall:
    """A function call the model makes in a scripted response."""

    name: str
    arguments: str
    call_id: str


@dataclass(frozen=True)
class Reply:
    """What one response says: text (spoken, for audio), or a call of a tool."""

    text: str = DEFAULT_REPLY
    tool_call: ToolCall | None = None
    #: Stay active after the last delta until the client cancels (at most ``HOLD_LIMIT``).
    hold: bool = False


def words(text: str) -> list[str]:
    """``text`` cut into deltas that join back to it: each word with its leading space."""
    parts = text.split(" ")
    return [parts[0], *(" " + part for part in parts[1:])] if text else []


def message_item(role: str, content: list[dict[str, Any]], status: str) -> dict[str, Any]:
    """A conversation item of type ``message``."""
    return {
        "id": new_id("item_"),
        "object": "realtime.item",
        "type": "message",
        "status": status,
        "role": role,
        "content": content,
    }


def usage(input_text: str, output_text: str, audio: bool) -> dict[str, Any]:
    """Token counts in the service's shape, from the text's length (about 4 chars a token)."""
    inputs = max(1, len(input_text) // 4)
    text_out = max(1, len(output_text) // 4)
    audio_out = len(words(output_text)) * 10 if audio else 0
    outputs = text_out + audio_out
    return {
        "total_tokens": inputs + outputs,
        "input_tokens": inputs,
        "output_tokens": outputs,
        "input_token_details": {
            "text_tokens": inputs,
            "audio_tokens": 0,
            "image_tokens": 0,
            "cached_tokens": 0,
            "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
        },
        "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
    }


def message_turn(
    reply: Reply, where: Mapping[str, Any], audio: bool, item: dict[str, Any]
) -> Iterator[Event]:
    """The events of an assistant message after ``response.output_item.added``.

    ``where`` holds ``response_id``, ``output_index`` and ``item_id``; ``item`` is completed
    in place as the events go out.
    """
    where = {**where, "content_index": 0}
    if audio:
        stream, part, key = "response.output_audio_transcript", "audio", "transcript"
    else:
        stream, part, key = "response.output_text", "text", "text"
    yield "response.content_part.added", {**where, "part": {"type": part, key: ""}}
    for word in words(reply.text):
        yield f"{stream}.delta", {**where, "delta": word}
        if audio:
            yield "response.output_audio.delta", {**where, "delta": TONE_CHUNK_B64}
    if audio:
        yield "response.output_audio.done", dict(where)
    yield f"{stream}.done", {**where, key: reply.text}
    yield "response.content_part.done", {**where, "part": {"type": part, key: reply.text}}
    content: dict[str, Any] = {"type": "output_audio" if audio else "output_text", key: reply.text}
    item["content"] = [content]
    item["status"] = "completed"


def tool_call_turn(
    call: ToolCall, where: Mapping[str, Any], item: dict[str, Any]
) -> Iterator[Event]:
    """The events of a function call after ``response.output_item.added``."""
    where = {**where, "call_id": call.call_id}
    step = max(1, len(call.arguments) // 4)
    for start in range(0, len(call.arguments), step):
        yield (
            "response.function_call_arguments.delta",
            {
                **where,
                "delta": call.arguments[start : start + step],
            },
        )
    yield (
        "response.function_call_arguments.done",
        {
            **where,
            "name": call.name,
            "arguments": call.arguments,
        },
    )
    item["arguments"] = call.arguments
    item["status"] = "completed"


def function_call_item(call: ToolCall) -> dict[str, Any]:
    """The ``function_call`` item a scripted tool call adds, before its arguments stream."""
    return {
        "id": new_id("item_"),
        "object": "realtime.item",
        "type": "function_call",
        "status": "in_progress",
        "name": call.name,
        "call_id": call.call_id,
        "arguments": "",
    }


def rate_limits(tokens_used: int) -> list[dict[str, Any]]:
    """What ``rate_limits.updated`` reports: generous limits, barely touched."""
    return [
        {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
        {
            "name": "tokens",
            "limit": 400_000,
            "remaining": 400_000 - tokens_used,
            "reset_seconds": 0.1,
        },
    ]


def transcription_events(item_id: str, transcript: str, seconds: float) -> Iterator[Event]:
    """The input audio transcription of a committed item: deltas, then ``completed``."""
    where = {"item_id": item_id, "content_index": 0}
    for word in words(transcript):
        yield "conversation.item.input_audio_transcription.delta", {**where, "delta": word}
    yield (
        "conversation.item.input_audio_transcription.completed",
        {
            **where,
            "transcript": transcript,
            "usage": {"type": "duration", "seconds": round(seconds, 3)},
        },
    )
