"""What the Realtime service answers, as plain data: session defaults, key and SDP shapes.

Kept apart from the HTTP plumbing in ``openapiopenai.mock`` so that the defaults read like the
service's own answers and can be checked on their own.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from openapiopenai._overlay import overlay

#: The GA realtime session the service creates when the caller sets nothing.
REALTIME_SESSION_DEFAULTS: dict[str, Any] = {
    "type": "realtime",
    "object": "realtime.session",
    "model": "gpt-realtime",
    "output_modalities": ["audio"],
    "instructions": "You are a helpful, friendly assistant.",
    "tools": [],
    "tool_choice": "auto",
    "max_output_tokens": "inf",
    "tracing": None,
    "truncation": "auto",
    "prompt": None,
    "expires_at": 0,
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": None,
            "noise_reduction": None,
            "turn_detection": {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 200,
                "idle_timeout_ms": None,
                "create_response": True,
                "interrupt_response": True,
            },
        },
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy", "speed": 1.0},
    },
    "include": None,
}

#: The GA transcription session (``type: transcription``) with the service's defaults.
TRANSCRIPTION_SESSION_DEFAULTS: dict[str, Any] = {
    "type": "transcription",
    "object": "realtime.transcription_session",
    "expires_at": 0,
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": None,
            "noise_reduction": None,
            "turn_detection": {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 200,
            },
        },
    },
}

#: The older ``POST /realtime/transcription_sessions`` answer, without id and key.
LEGACY_TRANSCRIPTION_DEFAULTS: dict[str, Any] = {
    "object": "realtime.transcription_session",
    "modalities": ["audio", "text"],
    "turn_detection": {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 200,
    },
    "input_audio_format": "pcm16",
    "input_audio_transcription": {"model": "gpt-4o-transcribe", "prompt": ""},
}

#: A translation session's audio when the caller configures none of it.
TRANSLATION_AUDIO_DEFAULTS: dict[str, Any] = {
    "input": {"transcription": None, "noise_reduction": None},
    "output": {},
}

SESSION_DEFAULTS_BY_TYPE: Mapping[str, dict[str, Any]] = {
    "realtime": REALTIME_SESSION_DEFAULTS,
    "transcription": TRANSCRIPTION_SESSION_DEFAULTS,
}


def ga_session(given: Mapping[str, Any]) -> dict[str, Any]:
    """The GA session the service reports for a requested one (realtime or transcription)."""
    kind = given.get("type", "realtime")
    session = overlay(SESSION_DEFAULTS_BY_TYPE[kind], given)
    return {"id": new_id("sess_"), **session}


def translation_session(given: Mapping[str, Any], expires_at: int) -> dict[str, Any]:
    """The translation session the service reports; it expires with its key."""
    audio = overlay(TRANSLATION_AUDIO_DEFAULTS, given.get("audio") or {})
    extra = {key: value for key, value in given.items() if key not in ("model", "audio")}
    return {
        "id": new_id("sess_"),
        "type": "translation",
        "expires_at": expires_at,
        "model": given["model"],
        "audio": audio,
        **extra,
    }


def legacy_transcription_session(given: Mapping[str, Any]) -> dict[str, Any]:
    """The ``/realtime/transcription_sessions`` session, before its ``client_secret``."""
    return {"id": new_id("sess_"), **overlay(LEGACY_TRANSCRIPTION_DEFAULTS, given)}


def new_id(prefix: str) -> str:
    """A fresh identifier in the service's style, e.g. ``sess_...``, ``rtc_...``."""
    return prefix + secrets.token_hex(12)


def new_key() -> str:
    """A fresh ephemeral key, ``ek_...``."""
    return "ek_" + secrets.token_hex(16)


# -- WebRTC ------------------------------------------------------------------------------------


def looks_like_sdp_offer(text: str) -> bool:
    """An SDP description starts with its version line, ``v=0`` (RFC 8866)."""
    return text.startswith("v=0")


def canned_answer(offer: str, session: Mapping[str, Any], call_id: str) -> str:
    """A well-formed SDP answer (audio and the ``oai-events`` data channel) for any offer.

    Nothing listens at its addresses: it completes the HTTP exchange, not a connection.
    """
    ufrag, pwd = secrets.token_hex(4), secrets.token_hex(16)
    lines = [
        "v=0",
        f"o=- {secrets.randbelow(2**31)} 1 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "a=msid-semantic:WMS *",
        "a=fingerprint:sha-256 " + ":".join(f"{b:02X}" for b in secrets.token_bytes(32)),
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 0.0.0.0",
        "a=mid:0",
        f"a=ice-ufrag:{ufrag}",
        f"a=ice-pwd:{pwd}",
        "a=setup:active",
        "a=rtcp-mux",
        "a=sendrecv",
        "a=rtpmap:111 opus/48000/2",
        "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "c=IN IP4 0.0.0.0",
        "a=mid:1",
        f"a=ice-ufrag:{ufrag}",
        f"a=ice-pwd:{pwd}",
        "a=setup:active",
        "a=sctp-port:5000",
    ]
    return "\r\n".join(lines) + "\r\n"


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str, bytes]] | None:
    """The parts of a ``multipart/form-data`` body by field name: (content type, bytes).

    Parsed by the standard library's MIME parser; ``None`` if the body is not multipart.
    A repeated field keeps its first part.
    """
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart() or message.defects:
        return None
    parts: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = _form_name(part)
        if name is None:
            return None
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        parts.setdefault(name, (part.get_content_type(), data))
    return parts


def _form_name(part: Message) -> str | None:
    if part.get_content_disposition() != "form-data":
        return None
    name = part.get_param("name", header="content-disposition")
    return name if isinstance(name, str) and name else None
