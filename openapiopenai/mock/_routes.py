"""The mock's HTTP routes: which path is which operation, and what a browser's CORS asks for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

SESSIONS_PATH = "/v1/realtime/sessions"
CLIENT_SECRETS_PATH = "/v1/realtime/client_secrets"
CALLS_PATH = "/v1/realtime/calls"
TRANSCRIPTION_SESSIONS_PATH = "/v1/realtime/transcription_sessions"
TRANSLATION_CLIENT_SECRETS_PATH = "/v1/realtime/translations/client_secrets"
#: What can be done to a call: ``POST /v1/realtime/calls/{call_id}/<action>``.
CALL_ACTIONS = ("accept", "hangup", "refer", "reject")


@dataclass(frozen=True)
class Incoming:
    """A request on its way through ``MockServer.answer``, to the operation's handler."""

    headers: Mapping[str, str]  # names lower-cased
    body: bytes
    token: str
    call_id: str | None = None


def route(path: str) -> tuple[str, str | None] | None:
    """The handler for ``path`` and, for call control, the call id (percent-decoded once)."""
    exact = {
        SESSIONS_PATH: "_create_session",
        CLIENT_SECRETS_PATH: "_create_client_secret",
        CALLS_PATH: "_create_call",
        TRANSCRIPTION_SESSIONS_PATH: "_create_transcription_session",
        TRANSLATION_CLIENT_SECRETS_PATH: "_create_translation_client_secret",
    }
    if path in exact:
        return exact[path], None
    prefix = CALLS_PATH + "/"
    if path.startswith(prefix):
        segments = path[len(prefix) :].split("/")
        if len(segments) == 2 and segments[1] in CALL_ACTIONS:
            return f"_{segments[1]}_call", unquote(segments[0])
    return None


#: What a CORS preflight for ``POST /realtime/calls`` is told: a page may send its offer.
CORS_PREFLIGHT = {
    "Access-Control-Allow-Methods": "POST",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}


def cors_headers(lowered: Mapping[str, str]) -> dict[str, str]:
    """CORS headers for a browser's request (one with an ``Origin``); none for others."""
    if "origin" not in lowered:
        return {}
    return {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "Location, x-request-id",
    }
