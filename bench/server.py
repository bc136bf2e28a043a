"""A lean loopback HTTP/1.1 server for the benchmark: canned answers, keep-alive.

It runs in its own process (``python -m bench.server``), so it never competes with the client
for the GIL. One thread multiplexes every connection with ``selectors``; a request is read up to
its ``Content-Length`` and answered with prebuilt bytes (a client secret for
``/v1/realtime/client_secrets``, a session for anything else), so its own cost per request is
a few microseconds of parsing plus two system calls.
"""

from __future__ import annotations

import json
import selectors
import socket
import sys
from typing import Any

#: A realistic answer of ``POST /v1/realtime/sessions``: every field the service returns.
SESSION: dict[str, Any] = {
    "id": "sess_C8mXQbK2yY0dJ4hR1tVnP",
    "object": "realtime.session",
    "model": "gpt-realtime",
    "modalities": ["audio", "text"],
    "instructions": "You are a concise voice assistant for a hardware store. Answer briefly.",
    "voice": "marin",
    "input_audio_format": "pcm16",
    "output_audio_format": "pcm16",
    "input_audio_transcription": {"model": "gpt-4o-mini-transcribe"},
    "turn_detection": {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
        "create_response": True,
        "interrupt_response": True,
    },
    "speed": 1.0,
    "tracing": "auto",
    "tools": [
        {
            "type": "function",
            "name": "lookup_stock",
            "description": "Find how many units of a product the store has.",
            "parameters": {
                "type": "object",
                "properties": {"sku": {"type": "string"}},
                "required": ["sku"],
            },
        }
    ],
    "tool_choice": "auto",
    "temperature": 0.8,
    "max_response_output_tokens": "inf",
    "client_secret": {"value": "ek_68af2c1e9b3c8190a1d2e3f4a5b6c7d8", "expires_at": 1767225600},
}

SESSION_BODY = json.dumps(SESSION, separators=(",", ":")).encode()

#: A realistic answer of ``POST /v1/realtime/client_secrets``: the GA session as the service
#: returns it, every default filled in.
CLIENT_SECRET: dict[str, Any] = {
    "value": "ek_68af296e8e408191a1120ab6383263c2",
    "expires_at": 1767225600,
    "session": {
        "type": "realtime",
        "object": "realtime.session",
        "id": "sess_C9CiUVUzUzYIssh3ELY1d",
        "model": "gpt-realtime",
        "output_modalities": ["audio"],
        "instructions": SESSION["instructions"],
        "tools": SESSION["tools"],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": "auto",
        "truncation": "auto",
        "prompt": None,
        "expires_at": 0,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": {"model": "gpt-4o-mini-transcribe"},
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
            "output": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "voice": "marin",
                "speed": 1.0,
            },
        },
        "include": None,
    },
}
CLIENT_SECRET_BODY = json.dumps(CLIENT_SECRET, separators=(",", ":")).encode()


def _http_answer(body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\n"
        b"Content-Type: application/json\r\n"
        b"x-request-id: req_8c1f0e2d3b4a59687766554433221100\r\n"
        b"openai-processing-ms: 87\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        b"\r\n" + body
    )


_RESPONSE = _http_answer(SESSION_BODY)
_CLIENT_SECRET_RESPONSE = _http_answer(CLIENT_SECRET_BODY)
_HEAD_END = b"\r\n\r\n"


class _Connection:
    """Bytes received on one connection that do not yet make a whole request."""

    __slots__ = ("buffer", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""


def _content_length(head: bytes) -> int:
    """The ``Content-Length`` of a request head (0 when absent)."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def _answer_complete(conn: _Connection) -> int:
    """Answer every whole request in the buffer; return how many."""
    answered = 0
    buffer = conn.buffer
    while True:
        end = buffer.find(_HEAD_END)
        if end < 0:
            break
        total = end + 4 + _content_length(buffer[:end])
        if len(buffer) < total:
            break
        secret = buffer.startswith(b"POST /v1/realtime/client_secrets ")
        buffer = buffer[total:]
        conn.sock.sendall(_CLIENT_SECRET_RESPONSE if secret else _RESPONSE)
        answered += 1
    conn.buffer = buffer
    return answered


def serve(listener: socket.socket) -> None:
    """Accept and answer until the parent closes our standard input."""
    selector = selectors.DefaultSelector()
    listener.setblocking(False)
    selector.register(listener, selectors.EVENT_READ, None)
    selector.register(sys.stdin, selectors.EVENT_READ, "stdin")
    while True:
        for key, _ in selector.select():
            if key.data == "stdin":
                return
            if key.data is None:
                sock, _ = listener.accept()
                sock.setblocking(True)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                selector.register(sock, selectors.EVENT_READ, _Connection(sock))
                continue
            conn: _Connection = key.data
            try:
                chunk = conn.sock.recv(262144)
            except OSError:
                chunk = b""
            if not chunk:
                selector.unregister(conn.sock)
                conn.sock.close()
                continue
            conn.buffer += chunk
            _answer_complete(conn)


def main() -> int:
    """Listen on a free loopback port, print it, serve until standard input closes."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    print(listener.getsockname()[1], flush=True)
    try:
        serve(listener)
    finally:
        listener.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
