"""Opening the WebSocket: TLS, proxy and timeouts from the configuration, retries as
``Configuration.retries`` says, and a refused handshake as the same exceptions as HTTP."""

from __future__ import annotations

import inspect
import logging
import socket
import ssl
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from urllib3 import HTTPHeaderDict, HTTPResponse
from urllib3.exceptions import ConnectTimeoutError, InvalidHeader, MaxRetryError
from urllib3.util.retry import Retry
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.frames import Frame
from websockets.sync.client import connect

from openapiopenai._secrets import redact
from openapiopenai.configuration import LOGGER_NAME
from openapiopenai.exceptions import (
    ApiConnectionError,
    ApiException,
    ApiProxyError,
    ApiTimeoutError,
    ApiTLSError,
    ApiTransportError,
    ApiValueError,
)
from openapiopenai.realtime._socket import RealtimeSocket, queued_frames
from openapiopenai.realtime._tunnel import TunnelError, open_tunnel
from openapiopenai.rest import _bypasses_proxy, _proxy_headers

if TYPE_CHECKING:
    from openapiopenai.configuration import Configuration

#: websockets 17.1 warns when ``connect()`` is not used with ``with`` unless asked for the
#: connection itself; older releases return it anyway and know no such argument.
_DIRECT = {"legacy": True} if "legacy" in inspect.signature(connect).parameters else {}
#: ``connect`` as type checkers see it whatever the installed release: its overloads and
#: keywords differ between websockets 15, 16 and 17, and what it returns is cast below.
_connect: Callable[..., Any] = connect


@dataclass(frozen=True)
class Link:
    """Where to connect and how: everything one attempt needs."""

    url: str
    # Not in repr: they hold the key, and a traceback may show this object.
    headers: Mapping[str, str] = field(repr=False)
    connect_timeout: float | None
    max_message_bytes: int | None
    ping_interval: float | None
    ping_timeout: float | None
    close_timeout: float | None
    secrets: tuple[str | None, ...] = field(repr=False)


def open_websocket(
    link: Link, configuration: Configuration, *, retries: Retry | None = None
) -> RealtimeSocket:
    """Open the connection, retrying refused connections, timeouts, 429 and 5xx as the
    configuration's retry policy (or ``retries``) says, all within ``Configuration.deadline``."""
    options = _socket_options(link, configuration)
    proxy = _proxy(configuration, link.url)
    retries = configuration.retries if retries is None else retries
    started = time.monotonic()
    deadline = configuration.deadline
    attempts = 0
    while True:
        attempts += 1
        try:
            timeout = _remaining(link.connect_timeout, deadline, started)
            sock = _open_socket(link.url, proxy, configuration, timeout)
            # The upgrade gets what the connection (and tunnel) left of the deadline.
            timeout = _remaining(link.connect_timeout, deadline, started)
            opened = _connect(link.url, sock=sock, open_timeout=timeout, **options, **_DIRECT)
            return cast("RealtimeSocket", opened)
        # ConnectionClosed: websockets' word for a reset while it sends the upgrade request.
        except (OSError, InvalidHandshake, InvalidURI, ValueError, ConnectionClosed) as raised:
            failure = _refused_redirect(raised)
            error = _sdk_error(failure, link, attempts)
            if isinstance(error, ApiTimeoutError) and _spent(deadline, started):
                error = ApiTimeoutError(
                    f"no open connection within the deadline of {deadline:g} s", attempts=attempts
                )
            retries, wait = _next_attempt(retries, link.url, failure, error)
            # A refused upgrade's answer may echo the key: it is kept out of the chain.
            cause = None if isinstance(failure, InvalidStatus) else failure
        # Raised here, not in the except block, so that not even __context__ holds the answer.
        if wait is None or _past(deadline, started, wait):
            raise error from cause
        time.sleep(wait)


def _open_socket(
    url: str, proxy: str | None, configuration: Configuration, timeout: float | None
) -> socket.socket:
    """The connection websockets speaks over, opened here so that it never follows a
    redirect (it does not with a socket it was given): the HTTP side follows none either."""
    if proxy:
        return _tunnel(url, proxy, configuration, timeout)
    sock = socket.create_connection(_target(url), timeout=timeout)
    sock.settimeout(None)  # websockets times its handshake itself; reads then block
    return sock


def _target(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "wss" else 80)


def _refused_redirect(raised: Exception) -> Exception:
    """The redirect behind websockets' refusal to follow it (a ``ValueError``,
    ``SecurityError`` or ``InvalidURI`` raised while handling the 3xx answer), else what was
    raised; any other ``ValueError`` (not a certificate's, which is also an ``OSError``) is a
    mistake in the arguments and goes on as it is."""
    for cause in (raised.__cause__, raised.__context__):
        if isinstance(cause, InvalidStatus):
            return cause
    if isinstance(raised, ValueError) and not isinstance(raised, OSError):
        raise raised
    return raised


def _remaining(timeout: float | None, deadline: float | None, started: float) -> float | None:
    if deadline is None:
        return timeout
    left = max(_LAST_STEP, deadline - (time.monotonic() - started))
    return left if timeout is None else min(timeout, left)


def _spent(deadline: float | None, started: float) -> bool:
    """Whether the deadline is over (less than the last millisecond given to a step left)."""
    return deadline is not None and deadline - (time.monotonic() - started) <= _LAST_STEP


#: The least time a step is given, even when the deadline is (all but) over.
_LAST_STEP = 0.001


def _past(deadline: float | None, started: float, wait: float) -> bool:
    return deadline is not None and time.monotonic() - started + wait >= deadline


def _next_attempt(
    retries: Retry, url: str, failure: BaseException, error: Exception
) -> tuple[Retry, float | None]:
    """The policy after this failure and the seconds to wait, or ``None`` for no retry."""
    if isinstance(error, ApiTLSError) or getattr(failure, "status", None) is not None:
        return retries, None  # a certificate or a proxy's refusal does not heal by itself
    response = _http_response(failure) if isinstance(failure, InvalidStatus) else None
    if response is not None and response.status < 400:
        return retries, None  # a redirect is the answer: it is neither followed nor retried
    if response is not None and not _retried_status(retries, response):
        return retries, None
    problem = None if response is not None else ConnectTimeoutError(str(failure))
    try:
        retries = retries.increment("GET", url, response=response, error=problem)
    except MaxRetryError:
        return retries, None
    try:
        wait = retries.get_retry_after(response) if response is not None else None
    except InvalidHeader:
        # A plain urllib3 Retry cannot read this Retry-After: the refusal is the answer.
        return retries, None
    return retries, wait if wait is not None else retries.get_backoff_time()


def _retried_status(retries: Retry, response: HTTPResponse) -> bool:
    """Whether the policy retries this status at all, asked as urllib3 asks before it
    counts an attempt (``increment`` itself does not check it)."""
    has_retry_after = bool(response.headers.get("Retry-After"))
    return retries.is_retry("GET", response.status, has_retry_after)


def _http_response(failure: InvalidStatus) -> HTTPResponse:
    """The refused upgrade's answer as an urllib3 response, as the HTTP path sees one."""
    answer = failure.response
    return HTTPResponse(
        body=bytes(answer.body or b""),
        headers=HTTPHeaderDict(list(answer.headers.raw_items())),
        status=answer.status_code,
        reason=answer.reason_phrase,
        preload_content=True,
    )


def _sdk_error(failure: BaseException, link: Link, attempts: int) -> Exception:
    """The SDK exception for a failed attempt: a refused upgrade is an :class:`ApiException`
    of its status (401 -> ``UnauthorizedException``), the rest transport errors."""
    if isinstance(failure, InvalidStatus):
        return ApiException.from_response(
            http_resp=_http_response(failure), attempts=attempts, secrets=link.secrets
        )
    error_class: type[ApiTransportError] = ApiConnectionError
    what = "could not connect"
    reason = f"{type(failure).__name__}: {failure}"
    if isinstance(failure, ssl.SSLError | ssl.CertificateError):
        error_class, what = ApiTLSError, "TLS handshake failed"
    elif isinstance(failure, TunnelError):
        error_class, what = ApiProxyError, "the proxy failed"
    elif isinstance(failure, TimeoutError):
        error_class, what = ApiTimeoutError, "timed out"
    elif isinstance(failure, OSError):
        reason = f"Failed to establish a new connection: {failure}"
    # Worded as the HTTP side words it (urllib3 names the connection by host and port).
    host, port = _target(link.url)
    where = f"WebSocket(host={host!r}, port={port})"
    return error_class(f"{what}: {where}: {reason}", attempts=attempts)


def _socket_options(link: Link, configuration: Configuration) -> dict[str, Any]:
    options: dict[str, Any] = {
        "additional_headers": {k: v for k, v in link.headers.items() if k != "User-Agent"},
        "user_agent_header": link.headers.get("User-Agent"),
        # The tunnel through Configuration.proxy is made here; never one from the environment.
        "proxy": None,
        "max_size": link.max_message_bytes,
        "ping_interval": link.ping_interval,
        "ping_timeout": link.ping_timeout,
        "close_timeout": link.close_timeout,
        # Audio is incompressible; deflate would only cost time on every message.
        "compression": None,
        "logger": QuietLogger(logging.getLogger(f"{LOGGER_NAME}.websocket"), link.secrets),
        # What websockets reads ahead of the caller stays near one message of the largest size.
        "max_queue": queued_frames(link.max_message_bytes),
        "create_connection": RealtimeSocket,
    }
    if link.url.startswith("wss:"):
        options["ssl"] = tls_context(configuration)
        name = configuration.tls_server_name or _asserted_name(configuration)
        if name:
            options["server_hostname"] = name
    return options


class QuietLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """websockets' own log under the SDK's logger, saying what happened but not what was
    said, as the HTTP side logs: header names without their values, frames by kind and size
    without their contents, and anything shaped like a key masked."""

    def __init__(self, logger: logging.Logger, secrets: tuple[str | None, ...]) -> None:
        super().__init__(logger, {})
        self._secrets = secrets

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = _without_contents(str(msg), args)
            if level < logging.WARNING and kwargs.pop("exc_info", None):
                # What went wrong on the way down, in a word: no traceback in a debug log.
                failure = sys.exc_info()[1]
                text += f": {type(failure).__name__}: {failure}" if failure else ""
            self.logger.log(level, "%s", redact(text, *self._secrets), **kwargs)


#: websockets' lines for one header of the upgrade request or its answer: name, value.
_HEADER_LINES = frozenset({"> %s: %s", "< %s: %s"})


def _without_contents(msg: str, args: tuple[object, ...]) -> str:
    """The line with a header's name but not its value, a frame's kind and size but not
    what it carries."""
    if not args:
        return msg
    if msg in _HEADER_LINES and len(args) == 2:
        return f"{msg[0]} {args[0]}"
    return msg % tuple(_frame_summary(arg) if isinstance(arg, Frame) else arg for arg in args)


def _frame_summary(frame: Frame) -> str:
    more = "" if frame.fin else " (more to come)"
    return f"{frame.opcode.name} [{len(frame.data)} bytes]{more}"


def _proxy(configuration: Configuration, url: str) -> str | None:
    """The configured proxy, unless ``no_proxy`` exempts the host (environment variables are
    not read, as on the HTTP side); an ``https://`` one cannot carry ``wss://``."""
    proxy = configuration.proxy
    if not proxy or _bypasses_proxy(configuration.host, configuration.no_proxy):
        return None
    if proxy.startswith("https:") and url.startswith("wss:"):
        # The WebSocket's TLS would have to run inside the proxy's, which the socket
        # websockets is given cannot do.
        raise ApiValueError(
            "an https:// proxy cannot carry a wss:// WebSocket (TLS inside the proxy's TLS is "
            "not supported); give the proxy as http://: the connection through it stays "
            "encrypted end to end by the WebSocket's own TLS",
            ["proxy"],
        )
    return proxy


def _tunnel(
    url: str, proxy: str, configuration: Configuration, timeout: float | None
) -> socket.socket:
    """A CONNECT tunnel to the WebSocket's host with the HTTP side's proxy headers."""
    headers = _proxy_headers(proxy, configuration.proxy_headers)
    context = tls_context(configuration) if proxy.startswith("https:") else None
    return open_tunnel(proxy, _target(url), headers, timeout, context)


def _asserted_name(configuration: Configuration) -> str | None:
    value = configuration.assert_hostname
    return value if isinstance(value, str) else None


def tls_context(configuration: Configuration) -> ssl.SSLContext:
    """The TLS settings of the HTTP side: CA file or data, client certificate, verification."""
    # As urllib3 takes it: text is PEM, bytes are DER.
    context = ssl.create_default_context(
        cafile=configuration.ssl_ca_cert, cadata=configuration.ca_cert_data
    )
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file)
    if not configuration.verify_ssl or configuration.assert_hostname is False:
        context.check_hostname = False
    if not configuration.verify_ssl:
        context.verify_mode = ssl.CERT_NONE
    return context
