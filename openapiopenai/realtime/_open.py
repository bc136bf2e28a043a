"""From ``RealtimeApi.connect(...)`` arguments to an open connection: the URL, headers and
settings worked out the way the HTTP side works them out, then the socket."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from urllib3.util.retry import Retry

from openapiopenai.api.realtime_api import _utf8
from openapiopenai.api_client import JSON, NO_API_KEY_MESSAGE, RequestOptions, _auth_header
from openapiopenai.configuration import LOGGER_NAME, TimeoutSetting
from openapiopenai.exceptions import ApiTypeError, ApiValueError
from openapiopenai.realtime._protocol import (
    ClientEvents,
    ServerEvents,
    handshake_headers,
    websocket_url,
)
from openapiopenai.realtime._reconnect import reconnect_policy
from openapiopenai.realtime._relink import Relink
from openapiopenai.realtime._transport import Link, open_websocket

if TYPE_CHECKING:
    from openapiopenai.api_client import ApiClient
    from openapiopenai.realtime.connection import _Connection

logger = logging.getLogger(LOGGER_NAME)

#: The largest server message accepted by default: far above what the service sends (audio
#: appends up to 15 MiB; retrieved items carry whole audio), unlike websockets' 1 MiB.
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
DEFAULT_PING_INTERVAL = 20.0
DEFAULT_PING_TIMEOUT = 20.0
#: The service may drop the socket instead of answering a close frame: don't wait long.
DEFAULT_CLOSE_TIMEOUT = 1.0


class ConnectOptions(TypedDict, total=False):
    """Settings of one connection, all optional.

    ``max_message_bytes`` (default 64 MiB; ``None`` for no limit): the largest server
    message; ``ping_interval`` / ``ping_timeout`` (default 20 s each; ``None`` turns them
    off): keepalive pings and how long to wait for their answer; ``receive_timeout``
    (default ``None``: wait forever): how long :meth:`recv` and iteration wait for an event;
    ``close_timeout`` (default 1 s): how long :meth:`close` waits for the server's close
    frame. ``_request_auth`` (an ``ek_`` client secret, say), ``_headers`` and
    ``_request_timeout`` (its connect part bounds opening the connection) act as on every
    HTTP operation.
    """

    max_message_bytes: int | None
    ping_interval: float | None
    ping_timeout: float | None
    receive_timeout: float | None
    close_timeout: float | None
    _request_auth: Mapping[str, str] | str | None
    _headers: Mapping[str, str] | None
    _request_timeout: TimeoutSetting


_C = TypeVar("_C", bound="_Connection")


def open_connection(
    api_client: ApiClient,
    connection_class: type[_C],
    *,
    path: str,
    query: Mapping[str, str | None],
    client_union: Any,
    server_union: Any,
    options: Mapping[str, Any],
    reconnect: object = None,
) -> _C:
    """Check everything, then open the socket and wrap it in ``connection_class``."""
    settings = _settings(options)
    policy = reconnect_policy(reconnect)
    for name, value in query.items():
        if value is not None:
            _check_query_value(name, value)
    link = _link(api_client, path, query, options, settings)
    client_events = ClientEvents(client_union)
    server_events = ServerEvents(server_union)
    socket = open_websocket(link, api_client.configuration)
    logger.debug("realtime: connected to %s", link.url)
    relink = None
    if policy is not None:
        # One attempt per re-handshake: Reconnect.attempts counts them and its backoff spaces
        # them, not Configuration.retries (everything else of the configuration applies).
        reopen = partial(open_websocket, link, api_client.configuration, retries=Retry(0))
        # A sideband's call keeps its session; any other link comes back as a new session.
        resend = query.get("call_id") is None
        relink = Relink(socket, policy=policy, reopen=reopen, resend_session=resend)
    return connection_class(
        socket,
        url=link.url,
        client_events=client_events,
        server_events=server_events,
        receive_timeout=settings["receive_timeout"],
        close_timeout=link.close_timeout,
        relink=relink,
    )


def _check_query_value(name: str, value: object) -> None:
    """A ``model``, ``call_id`` or ``intent`` checked as the HTTP call operations check a
    ``call_id``: text, not empty, and UTF-8 (no lone surrogate)."""
    if not isinstance(value, str):
        raise ApiTypeError(f"{name} must be a str, not {type(value).__name__}", [name])
    if not value:
        raise ApiValueError(f"{name} must not be empty", [name])
    _utf8(value, name)


def _link(
    api_client: ApiClient,
    path: str,
    query: Mapping[str, str | None],
    options: Mapping[str, Any],
    settings: Mapping[str, Any],
) -> Link:
    prepared = api_client._current()
    auth = options.get("_request_auth")
    auth_header = _auth_header(auth) if auth is not None else None
    request = RequestOptions(
        timeout=options.get("_request_timeout"), auth=auth, headers=options.get("_headers")
    )
    http_url, headers, timeout = api_client._apply_options(
        prepared, path, request, prepared.headers_for(None, JSON), auth_header
    )
    if "Authorization" not in headers:
        raise ApiValueError(NO_API_KEY_MESSAGE)
    token = headers["Authorization"].partition(" ")[2]
    connect_timeout = timeout.connect_timeout
    return Link(
        url=websocket_url(http_url, query),
        headers=handshake_headers(headers),
        connect_timeout=connect_timeout if isinstance(connect_timeout, int | float) else None,
        secrets=(api_client.configuration.access_token, token),
        **settings["socket"],
    )


_SECONDS = ("ping_interval", "ping_timeout", "receive_timeout", "close_timeout")
_DEFAULTS: dict[str, Any] = {
    "max_message_bytes": DEFAULT_MAX_MESSAGE_BYTES,
    "ping_interval": DEFAULT_PING_INTERVAL,
    "ping_timeout": DEFAULT_PING_TIMEOUT,
    "receive_timeout": None,
    "close_timeout": DEFAULT_CLOSE_TIMEOUT,
}
_KNOWN = frozenset(ConnectOptions.__annotations__)


def _settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """The connection's settings, checked: each names itself when it is wrong."""
    unknown = sorted(set(options) - _KNOWN)
    if unknown:
        raise ApiTypeError(
            f"unknown option {unknown[0]!r}; known: {', '.join(sorted(_KNOWN))}", [unknown[0]]
        )
    values = {name: options.get(name, default) for name, default in _DEFAULTS.items()}
    for name in _SECONDS:
        _check_seconds(name, values[name])
    size = values["max_message_bytes"]
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise ApiValueError(
            "max_message_bytes must be a positive int (bytes) or None", ["max_message_bytes"]
        )
    socket = {name: values[name] for name in _DEFAULTS if name != "receive_timeout"}
    return {"receive_timeout": values["receive_timeout"], "socket": socket}


def _check_seconds(name: str, value: object) -> None:
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ApiValueError(f"{name} must be a positive number of seconds or None", [name])
