"""The transport layer: one urllib3 pool manager, the retry policy, and transport error mapping.

Everything network-shaped is decided here, once: which pool (direct or through a proxy), which
TLS settings, what is retried and how long to wait, and which SDK exception a low-level failure
becomes.
"""

from __future__ import annotations

import http.client
import io
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import urllib3
from typing_extensions import Self
from urllib3.connectionpool import HTTPConnectionPool, port_by_scheme
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    ResponseError,
    SSLError,
)
from urllib3.response import BaseHTTPResponse, HTTPResponse
from urllib3.util import parse_url
from urllib3.util.retry import Retry

from openapiopenai._deadline import (
    WATCHED_POOLS,
    Deadline,
    current_deadline_expired,
    seconds_left,
)
from openapiopenai.exceptions import (
    ApiConnectionError,
    ApiConnectionResetError,
    ApiException,
    ApiIncompleteResponseError,
    ApiProxyError,
    ApiResponseDecodeError,
    ApiResponseTooLargeError,
    ApiTimeoutError,
    ApiTLSError,
    ApiTransportError,
    retry_after_seconds,
)

if TYPE_CHECKING:
    from urllib3.connectionpool import ConnectionPool
    from urllib3.poolmanager import PoolKey

#: The response type returned by the ``*_without_preload_content`` methods.
RESTResponse = BaseHTTPResponse

RETRYABLE_STATUSES = frozenset({408, 409, 429})
#: Answers that say the request was turned away before anything was done (RFC 9110: 408 the
#: request was not completely received, 429 too many requests, 503 the server could not
#: handle it). A 500, 502 or 504 may come after the work was done.
NOTHING_DONE_STATUSES = frozenset({408, 429, 503})


class RetryPolicy(Retry):
    """urllib3's ``Retry`` with OpenAI's rules.

    * retries POST too (minting a key twice is harmless: an unused key just expires);
    * retries connection errors, timeouts, 408, 409, 429 and 5xx, never other 4xx;
    * ``x-should-retry: true|false`` from the server overrides the status rule;
    * a request that must not be sent twice (:func:`at_most_once`: opening or controlling a
      call) is retried only when it cannot have reached the server (the connection was not
      made) or the answer says nothing was done (408, 429, 503, ``x-should-retry: true``);
    * waits ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date) when given and at most
      ``max_retry_after`` seconds; a longer (or unreadable, negative or non-finite) wait is not
      followed: it backs off
      exponentially with jitter instead, capped at ``backoff_max``, as when none is given;
    * does not retry TLS failures, which do not heal by themselves;
    * never waits past the call's ``Configuration.deadline``: when the wait before the next
      attempt would end after it, the attempt just made is the last (its answer or error is
      what the caller gets);
    * hands the final error response back (no exception of its own), so the caller sees it.
    """

    DEFAULT_MAX_RETRY_AFTER = 60.0

    def __init__(
        self,
        total: bool | int | None = 2,
        *,
        other: int | None = 0,
        allowed_methods: Any = None,
        backoff_factor: float = 0.5,
        backoff_max: float = 8.0,
        backoff_jitter: float = 0.25,
        raise_on_redirect: bool = False,
        raise_on_status: bool = False,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            total,
            other=other,
            allowed_methods=allowed_methods,
            backoff_factor=backoff_factor,
            backoff_max=backoff_max,
            backoff_jitter=backoff_jitter,
            raise_on_redirect=raise_on_redirect,
            raise_on_status=raise_on_status,
            **kwargs,
        )
        self.max_retry_after = max_retry_after
        # The wait before the attempt this policy counts, decided by increment().
        self._planned_wait: float | None = None

    def new(self, **kw: Any) -> Self:
        kw.setdefault("max_retry_after", self.max_retry_after)
        return super().new(**kw)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        # Every error status goes on to increment(), which sees the headers and decides.
        return status_code >= 400

    def should_retry_response(self, response: BaseHTTPResponse, method: str | None = None) -> bool:
        """Whether an error response is worth another attempt. For a method urllib3 may not
        repeat (see :func:`at_most_once`), only if the answer says nothing was done."""
        verdict = response.headers.get("x-should-retry")
        if verdict == "true":
            return True
        if verdict == "false":
            return False
        if method is not None and not self._is_method_retryable(method):
            return response.status in NOTHING_DONE_STATUSES
        return response.status in RETRYABLE_STATUSES or response.status >= 500

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: Any = None,
    ) -> Self:
        if (
            response is not None
            and error is None
            and not response.get_redirect_location()
            and not self.should_retry_response(response, method)
        ):
            # urllib3 then returns this response as the final one.
            raise MaxRetryError(
                _pool,  # type: ignore[arg-type]
                url,
                ResponseError(f"status {response.status}, final"),
            )
        try:
            retry = super().increment(method, url, response, error, _pool, _stacktrace)
        except HTTPError as stopped:  # exhausted, or an error urllib3 does not repeat
            stopped.attempts = len(self.history) + 1  # type: ignore[attr-defined]
            raise
        retry._planned_wait = retry._wait_before_next(response)
        left = seconds_left()
        if left is not None and retry._planned_wait > left:
            # The next attempt could only start after the deadline: this one is the last.
            final = MaxRetryError(
                _pool,  # type: ignore[arg-type]
                url,
                error or ResponseError(f"status {response and response.status}, no time left"),
            )
            final.attempts = len(self.history) + 1  # type: ignore[attr-defined]
            raise final
        return retry

    def _wait_before_next(self, response: BaseHTTPResponse | None) -> float:
        """The server's ``Retry-After`` when it gave a usable one, else the backoff."""
        if response is not None and self.respect_retry_after_header:
            retry_after = self.get_retry_after(response)
            if retry_after is not None:
                return retry_after
        return self.get_backoff_time()

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        """Wait before the next attempt, never past the call's deadline."""
        wait = self._planned_wait
        if wait is None:
            wait = self._wait_before_next(response)
        left = seconds_left()
        if left is not None:
            wait = min(wait, left)
        if wait > 0:
            time.sleep(wait)

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        """Seconds the server asked to wait, if it said and it is within ``max_retry_after``.

        ``None`` (back off as usual) for a longer wait: following it would stall the call.
        """
        seconds = retry_after_seconds(response.headers)
        if seconds is None or seconds > self.max_retry_after:
            return None
        return seconds

    def get_backoff_time(self) -> float:
        """Exponential from the first retry (urllib3 waits nothing before it), with jitter."""
        consecutive = 0
        for attempt in reversed(self.history):
            if attempt.redirect_location is not None:
                break
            consecutive += 1
        if consecutive == 0 or self.backoff_factor <= 0:
            return 0.0
        delay = self.backoff_factor * 2 ** (consecutive - 1)
        if self.backoff_jitter:
            import random

            delay += random.random() * self.backoff_jitter
        return float(min(self.backoff_max, delay))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(total={self.total}, backoff_factor={self.backoff_factor}, "
            f"backoff_max={self.backoff_max}, max_retry_after={self.max_retry_after})"
        )


def at_most_once(retries: Retry) -> Retry:
    """``retries`` for a request that must not reach the server twice (it creates or changes
    something). POST leaves the methods urllib3 may repeat, so urllib3 itself sends it again
    only after a connection error, when it cannot have arrived; a :class:`RetryPolicy` also
    after an answer that says nothing was done."""
    return retries.new(allowed_methods=Retry.DEFAULT_ALLOWED_METHODS)


def attempts_of(response: BaseHTTPResponse) -> int:
    """How many requests produced this response, retries included."""
    retries = response.retries
    return len(retries.history) + 1 if retries is not None else 1


#: Bytes asked of the decoder per read: small, so a compression bomb stops near the limit.
_READ_CHUNK = 64 * 1024


class RESTClientObject:
    """Sends requests through one urllib3 pool manager built from a configuration."""

    def __init__(self, configuration: Any) -> None:
        self.pool_manager = build_pool_manager(configuration)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: urllib3.Timeout,
        retries: Retry,
        preload_content: bool = True,
        max_response_bytes: int | None = None,
        deadline: float | None = None,
    ) -> BaseHTTPResponse:
        """Send one request (plus its retries); transport failures become SDK exceptions.

        Redirects are never followed: a 3xx comes back as the answer, so nothing sent here
        (key, headers, body) can reach another origin. With ``preload_content`` the body is
        read and decoded here, at most ``max_response_bytes`` of it. ``deadline`` bounds the
        whole call, retries included: past it the call's connections are shut down.
        """
        watch = Deadline(deadline) if deadline is not None else None
        try:
            response = self._send(
                method, url, headers, body, timeout, retries, preload_content, max_response_bytes
            )
        except HTTPError as failure:
            if watch is not None and watch.expired:
                raise _past_deadline(deadline, int(getattr(failure, "attempts", 1))) from None
            raise transport_error(failure) from _root_cause(failure)
        finally:
            if watch is not None:
                watch.stop()
        if watch is not None and watch.expired:
            # What arrived after the sockets were shut is cut short, even if it parsed.
            response.close()
            raise _past_deadline(deadline, attempts_of(response))
        return response

    def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: urllib3.Timeout,
        retries: Retry,
        preload_content: bool,
        max_response_bytes: int | None,
    ) -> BaseHTTPResponse:
        """urllib3's request and retry loop, then the bounded body read (retried like urllib3
        retries a body that fails while it preloads it)."""
        while True:
            response = self.pool_manager.urlopen(
                method,
                url,
                body=body,
                headers=headers,
                timeout=timeout,
                retries=retries,
                preload_content=False,
                redirect=False,
            )
            if not preload_content:
                return response
            try:
                return read_bounded(response, max_response_bytes)
            except (ProtocolError, ReadTimeoutError) as failure:
                response.close()
                if current_deadline_expired():
                    raise
                retries = (response.retries or retries).increment(method, url, error=failure)
                retries.sleep()

    def clear(self) -> None:
        """Close every pooled connection."""
        self.pool_manager.clear()


def _past_deadline(deadline: float | None, attempts: int) -> ApiTimeoutError:
    return ApiTimeoutError(
        f"no complete answer within the deadline of {deadline:g} s", attempts=attempts
    )


def read_bounded(response: BaseHTTPResponse, limit: int | None) -> BaseHTTPResponse:
    """Read and decode the whole body, refusing more than ``limit`` decoded bytes.

    The decoder is asked for a small amount at a time (urllib3 bounds what it inflates per
    read), so a compression bomb costs about ``limit`` bytes of memory, not what it inflates
    to. Returns a response whose ``data`` is the decoded body, with the original's status,
    headers and retry history; an oversized answer raises :class:`ApiResponseTooLargeError`.
    """
    declared = getattr(response, "length_remaining", None)
    if (
        declared is not None
        and limit is not None
        and declared <= limit
        and response.headers.get("Content-Encoding", "identity").lower() == "identity"
    ):
        # The usual answer: not encoded, and http.client never reads past its Content-Length.
        # Read it in one go and keep it as the response's own data.
        response.read(cache_content=True)
        response.release_conn()
        return response
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read(_READ_CHUNK, decode_content=True):
        size += len(chunk)
        if limit is not None and size > limit:
            response.close()  # the rest stays unread: the connection cannot be reused
            response.release_conn()
            raise ApiResponseTooLargeError(
                f"the response body exceeds max_response_bytes ({limit} bytes); "
                f"status {response.status}, Content-Type {response.headers.get('Content-Type')}",
                attempts=attempts_of(response),
            )
        chunks.append(chunk)
    response.release_conn()
    return HTTPResponse(
        body=io.BytesIO(b"".join(chunks)),
        headers=response.headers,
        status=response.status,
        version=response.version,
        reason=response.reason,
        preload_content=True,
        decode_content=False,
        retries=response.retries,
        request_method=None,
        request_url=response.url,
    )


def build_pool_manager(configuration: Any) -> urllib3.PoolManager:
    """A ``PoolManager`` (or ``ProxyManager``) with the configuration's TLS and pool settings."""
    options: dict[str, Any] = {
        "num_pools": 4,
        "maxsize": configuration.connection_pool_maxsize,
        "cert_reqs": "CERT_REQUIRED" if configuration.verify_ssl else "CERT_NONE",
        "ca_certs": configuration.ssl_ca_cert,
        "ca_cert_data": configuration.ca_cert_data,
        "cert_file": configuration.cert_file,
        "key_file": configuration.key_file,
    }
    # Unset options are left to urllib3's defaults (the same values): every request builds its
    # pool key from these, so fewer keys mean less work per call.
    options = {name: value for name, value in options.items() if value is not None}
    if configuration.tls_server_name:
        options["server_hostname"] = configuration.tls_server_name
    if configuration.assert_hostname is not None:
        options["assert_hostname"] = configuration.assert_hostname
    manager: urllib3.PoolManager
    if configuration.proxy and not _bypasses_proxy(configuration.host, configuration.no_proxy):
        manager = urllib3.ProxyManager(
            configuration.proxy,
            proxy_headers=_proxy_headers(configuration.proxy, configuration.proxy_headers),
            **options,
        )
    else:
        manager = _PoolManager(**options)
    manager.pool_classes_by_scheme = WATCHED_POOLS
    return manager


_MAX_REMEMBERED_KEYS = 64


class _PoolManager(urllib3.PoolManager):
    """A ``PoolManager`` that works out each host's pool key once instead of on every request.

    urllib3 rebuilds the key from all pool settings per request; here those settings never
    change after construction, so the key for a (host, port, scheme) is remembered. Pools are
    still looked up, evicted and created by urllib3 itself.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._pool_keys: dict[tuple[str, int | None, str | None], tuple[PoolKey, dict[str, Any]]]
        self._pool_keys = {}

    def connection_from_host(
        self,
        host: str | None,
        port: int | None = None,
        scheme: str | None = "http",
        pool_kwargs: dict[str, Any] | None = None,
    ) -> HTTPConnectionPool:
        if pool_kwargs is not None or not host:
            return super().connection_from_host(host, port, scheme, pool_kwargs)
        known = self._pool_keys.get((host, port, scheme)) or self._remember_key(host, port, scheme)
        if known is None:
            return super().connection_from_host(host, port, scheme)
        # A copy: urllib3 consumes the context when it has to create the pool.
        return self.connection_from_pool_key(known[0], request_context=dict(known[1]))

    def _remember_key(
        self, host: str, port: int | None, scheme: str | None
    ) -> tuple[PoolKey, dict[str, Any]] | None:
        """The pool key and context urllib3 builds for this host; ``None`` for other schemes."""
        resolved = scheme or "http"
        normalise = self.key_fn_by_scheme.get(resolved.lower())
        if normalise is None:
            return None
        context = self._merge_pool_kwargs(None)
        context["scheme"] = resolved
        context["port"] = port if port is not None else port_by_scheme.get(resolved.lower(), 80)
        context["host"] = host
        if len(self._pool_keys) >= _MAX_REMEMBERED_KEYS:  # redirects could name many hosts
            self._pool_keys.clear()
        known = self._pool_keys[(host, port, scheme)] = (normalise(context), context)
        return known


def _proxy_headers(proxy_url: str, extra: Mapping[str, str] | None) -> dict[str, str]:
    """Headers for the proxy: credentials from the proxy URL, then the caller's own."""
    headers: dict[str, str] = {}
    auth = parse_url(proxy_url).auth
    if auth:
        from urllib.parse import unquote

        headers.update(urllib3.make_headers(proxy_basic_auth=unquote(auth)))
    headers.update(extra or {})
    return headers


def _bypasses_proxy(host: str, no_proxy: str | None) -> bool:
    """Whether ``host`` matches ``no_proxy`` (comma-separated names, ``.suffix`` or ``*``)."""
    if not no_proxy:
        return False
    hostname = (parse_url(host).host or "").lower().strip("[]")
    for entry in (item.strip().lower() for item in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        entry = entry.split(":")[0].lstrip(".")
        if hostname == entry or hostname.endswith("." + entry):
            return True
    return False


def transport_error(failure: HTTPError) -> ApiTransportError:
    """The SDK exception for a request that got no usable response."""
    attempts = int(getattr(failure, "attempts", 1))
    reason: BaseException = failure
    if isinstance(failure, MaxRetryError) and failure.reason is not None:
        reason = failure.reason
    exception_class = _transport_class(reason)
    return exception_class(_describe(exception_class, reason), attempts=attempts)


def _transport_class(reason: BaseException) -> type[ApiTransportError]:
    if isinstance(reason, ProxyError):
        return ApiProxyError
    if isinstance(reason, SSLError):
        return ApiTLSError
    if isinstance(reason, NewConnectionError):
        return ApiConnectionError
    if isinstance(reason, DecodeError):
        return ApiResponseDecodeError
    if isinstance(reason, (ConnectTimeoutError, ReadTimeoutError, TimeoutError)):
        return ApiTimeoutError
    if isinstance(reason, ProtocolError):
        if any(isinstance(arg, http.client.IncompleteRead) for arg in reason.args):
            return ApiIncompleteResponseError
        return ApiConnectionResetError
    return ApiConnectionError


_DESCRIPTIONS: dict[type[ApiTransportError], str] = {
    ApiProxyError: "the proxy failed",
    ApiTLSError: "TLS handshake failed",
    ApiConnectionError: "could not connect",
    ApiResponseDecodeError: "the response body could not be decoded",
    ApiTimeoutError: "timed out",
    ApiIncompleteResponseError: "the response ended before its declared length",
    ApiConnectionResetError: "the connection was closed before a complete response arrived",
}


def _describe(exception_class: type[ApiTransportError], reason: BaseException) -> str:
    return f"{_DESCRIPTIONS[exception_class]}: {reason}"


def _root_cause(failure: HTTPError) -> BaseException:
    if isinstance(failure, MaxRetryError) and failure.reason is not None:
        return failure.reason
    return failure


__all__ = [
    "RESTClientObject",
    "RESTResponse",
    "RetryPolicy",
    "ApiException",
    "at_most_once",
    "attempts_of",
    "build_pool_manager",
    "read_bounded",
    "transport_error",
]
