"""The one request path: from a serialised body to a parsed response or an SDK exception.

``ApiClient`` derives everything a call needs (URL, headers with auth, timeout, retry policy,
pool) from its :class:`~openapiopenai.Configuration` once, and again only when the
configuration or the client's default headers change. A call with no per-call options does
no header or URL work at all.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from urllib3 import Timeout
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from openapiopenai._secrets import has_line_break, header_value_problem, loggable, redact
from openapiopenai.api_response import ApiResponse
from openapiopenai.configuration import LOGGER_NAME, Configuration, TimeoutSetting, to_timeout
from openapiopenai.exceptions import (
    ApiException,
    ApiTypeError,
    ApiValidationError,
    ApiValueError,
    UnexpectedResponseException,
)
from openapiopenai.rest import RESTClientObject, at_most_once, attempts_of

if TYPE_CHECKING:
    from openapiopenai.models.openapi_model import OpenApiModel

M = TypeVar("M", bound="OpenApiModel")
T = TypeVar("T")

logger = logging.getLogger(LOGGER_NAME)

JSON = "application/json"

#: Headers that frame the message or manage the connection: the HTTP client sets them from the
#: body and the URL, and a caller's value would desynchronise a kept-alive connection.
FRAMING_HEADERS = frozenset(
    {
        "connection",
        "content-length",
        "expect",
        "host",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

NO_API_KEY_MESSAGE = (
    "No API key: set the OPENAI_API_KEY environment variable, or pass "
    "Configuration(access_token=...), before making a call."
)


@dataclass(frozen=True, slots=True)
class RequestOptions:
    """Per-call overrides: the ``_request_timeout``, ``_request_auth``, ... arguments."""

    timeout: TimeoutSetting = None
    auth: Mapping[str, str] | str | None = None
    content_type: str | None = None
    headers: Mapping[str, str] | None = None
    host_index: int | None = None


class _Prepared:
    """What every call needs, derived once from the configuration.

    A plain slotted class rather than a dataclass: generating one costs import time.
    """

    __slots__ = (
        "base_url",
        "config_revision",
        "deadline",
        "debug",
        "header_revision",
        "headers",
        "max_response_bytes",
        "rest",
        "retries",
        "retries_at_most_once",
        "timeout",
        "variants",
    )

    def __init__(
        self,
        *,
        config_revision: int,
        header_revision: int,
        base_url: str,
        headers: dict[str, str],
        timeout: Timeout,
        retries: Retry,
        rest: RESTClientObject,
        debug: bool,
        max_response_bytes: int,
        deadline: float | None,
    ) -> None:
        self.config_revision = config_revision
        self.header_revision = header_revision
        self.base_url = base_url
        self.headers = headers
        self.timeout = timeout
        self.retries = retries
        self.retries_at_most_once = at_most_once(retries)
        self.rest = rest
        self.debug = debug
        self.max_response_bytes = max_response_bytes
        self.deadline = deadline
        # One header set per kind of body the operations send: a handful, never per call.
        self.variants: dict[tuple[str | None, str], dict[str, str]] = {(JSON, JSON): headers}

    def headers_for(self, content_type: str | None, accept: str) -> dict[str, str]:
        """The headers with another body type (``None``: no body) or accepted answer type.

        A media type with parameters (a multipart boundary) differs on every call: its headers
        are built for the call and not kept.
        """
        headers = self.variants.get((content_type, accept))
        if headers is None:
            headers = {k: v for k, v in self.headers.items() if k not in ("Content-Type", "Accept")}
            headers["Accept"] = accept
            if content_type is not None:
                headers["Content-Type"] = content_type
                if ";" in content_type:
                    return headers
            self.variants[(content_type, accept)] = headers
        return headers


class ApiClient:
    """Sends requests built by the API classes and turns responses into models or exceptions.

    Safe to share across threads. Use it as a context manager, or call :meth:`close`, to close
    its pooled connections.
    """

    _default: ClassVar[ApiClient | None] = None
    _default_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        configuration: Configuration | None = None,
        header_name: str | None = None,
        header_value: str | None = None,
        cookie: str | None = None,
    ) -> None:
        self.configuration = (
            configuration if configuration is not None else (Configuration.get_default())
        )
        self._default_headers: dict[str, str] = {"User-Agent": self.configuration.user_agent}
        self._header_revision = 0
        self._lock = threading.Lock()
        self._prepared: _Prepared | None = None
        self._rest: RESTClientObject | None = None
        self._pool_key: tuple[Any, ...] | None = None
        self._call_secrets: weakref.WeakKeyDictionary[BaseHTTPResponse, tuple[str, ...]]
        self._call_secrets = weakref.WeakKeyDictionary()
        if header_name is not None:
            if header_value is None:
                raise ApiValueError(f"header_value is required with header_name {header_name!r}")
            self.set_default_header(header_name, header_value)
        self.cookie = cookie
        if cookie is not None:
            self.set_default_header("Cookie", cookie)

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections; the client stays usable and reconnects when needed."""
        if self._rest is not None:
            self._rest.clear()

    @classmethod
    def get_default(cls) -> ApiClient:
        """The process-wide default client (on the default configuration), created on first use."""
        with cls._default_lock:
            if cls._default is None:
                cls._default = ApiClient()
            return cls._default

    @classmethod
    def set_default(cls, default: ApiClient | None) -> None:
        """Make ``default`` the client used by API classes created without one."""
        with cls._default_lock:
            cls._default = default

    def __repr__(self) -> str:
        return f"ApiClient(configuration={self.configuration!r})"

    # -- default headers -------------------------------------------------------------------

    @property
    def default_headers(self) -> Mapping[str, str]:
        """Headers sent with every call (read-only view; change with :meth:`set_default_header`)."""
        return MappingProxyType(self._default_headers)

    def set_default_header(self, header_name: str, header_value: str) -> None:
        """Send ``header_name: header_value`` with every call from this client."""
        _check_header(header_name, header_value)
        with self._lock:
            # Copy on write: a _prepare() in another thread may be iterating the old dict.
            self._default_headers = {**self._default_headers, header_name: header_value}
            self._header_revision += 1

    @property
    def user_agent(self) -> str:
        """The ``User-Agent`` sent: ``openapiopenai/<version> python/<x.y>`` by default."""
        return self._default_headers["User-Agent"]

    @user_agent.setter
    def user_agent(self, value: str) -> None:
        self.set_default_header("User-Agent", value)

    @property
    def rest_client(self) -> RESTClientObject:
        """The transport in use (built from the configuration on first use)."""
        return self._current().rest

    # -- the request path ------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None,
        options: RequestOptions | None = None,
        preload_content: bool = True,
        content_type: str | None = JSON,
        accept: str = JSON,
        at_most_once: bool = False,
    ) -> BaseHTTPResponse:
        """Send ``body`` (of ``content_type``; ``None`` for no body) to ``path`` with the
        configured auth, timeout and retries. ``at_most_once``: the request creates or changes
        something, so it is sent again only when it cannot have reached the server."""
        prepared = self._current()
        headers = prepared.headers_for(content_type, accept)
        auth = None
        if options is None:
            url, timeout = prepared.base_url + path, prepared.timeout
        else:
            auth = _auth_header(options.auth) if options.auth is not None else None
            url, headers, timeout = self._apply_options(prepared, path, options, headers, auth)
        if "Authorization" not in headers and auth is None:
            raise ApiValueError(NO_API_KEY_MESSAGE)
        logged = prepared.debug or logger.isEnabledFor(logging.DEBUG)
        started = _log_request(method, url, headers, body) if logged else 0.0
        try:
            response = prepared.rest.request(
                method,
                url,
                headers=headers,
                body=body,
                timeout=timeout,
                retries=prepared.retries_at_most_once if at_most_once else prepared.retries,
                preload_content=preload_content,
                max_response_bytes=prepared.max_response_bytes,
                deadline=prepared.deadline,
            )
        except Exception as failure:
            if logged:
                _log_failure(method, url, started, failure)
            raise
        if logged:
            _log_response(method, url, started, response)
        if auth is not None:
            # An error body may echo the per-call key: the exception built from it masks it.
            self._call_secrets[response] = _auth_secrets(auth)
        return response

    def call_api(
        self,
        method: str,
        url: str,
        header_params: Mapping[str, str] | None = None,
        body: Any = None,
        post_params: Any = None,
        _request_timeout: TimeoutSetting = None,
    ) -> BaseHTTPResponse:
        """Send a request to a full URL; for callers used to the generator's client."""
        if post_params:
            raise ApiValueError("form parameters are not used by this API")
        from openapiopenai.models.openapi_model import OpenApiModel

        if isinstance(body, OpenApiModel):
            body = body.to_json_bytes()
        prepared = self._current()
        rest = url[len(prepared.base_url) :]
        if not url.startswith(prepared.base_url) or (rest and not rest.startswith("/")):
            raise ApiValueError(f"call_api() only sends to the configured host {prepared.base_url}")
        options = RequestOptions(timeout=_request_timeout, headers=header_params)
        return self.request(method, rest, body=body, options=options)

    def deserialize(self, response: BaseHTTPResponse, response_type: type[M]) -> ApiResponse[M]:
        """Parse a 2xx body into ``response_type``; raise :class:`ApiException` otherwise."""
        return api_response(response, self.deserialize_data(response, response_type))

    # -- answers ---------------------------------------------------------------------------

    def raise_for_status(self, response: BaseHTTPResponse) -> None:
        """Raise the :class:`ApiException` subclass for a response that is not a 2xx."""
        if not 200 <= response.status < 300:
            raise ApiException.from_response(
                http_resp=response,
                attempts=attempts_of(response),
                secrets=self._secrets_of(response),
            )

    def unexpected(self, response: BaseHTTPResponse, detail: str) -> UnexpectedResponseException:
        """The error for a 2xx whose body is not what the operation returns."""
        return UnexpectedResponseException(
            http_resp=response,
            detail=redact(detail),
            attempts=attempts_of(response),
            secrets=self._secrets_of(response),
        )

    def deserialize_data(self, response: BaseHTTPResponse, response_type: type[M]) -> M:
        """Like :meth:`deserialize`, returning only the model (no :class:`ApiResponse` built)."""
        self.raise_for_status(response)
        try:
            return response_type.from_json(response.data)
        except ApiValidationError as invalid:
            problems = "; ".join(str(error) for error in invalid.errors) or str(invalid)
            problem = self.unexpected(
                response, f"The response body is not a valid {invalid.model}: {problems}"
            )
        raise problem  # outside the except block: no __context__ holding the body

    def _secrets_of(self, response: BaseHTTPResponse) -> tuple[str | None, ...]:
        """The keys that may be echoed in ``response``: the configured one and the call's own."""
        return (self.configuration.access_token, *self._call_secrets.get(response, ()))

    # -- internals -------------------------------------------------------------------------

    def _current(self) -> _Prepared:
        prepared = self._prepared
        if (
            prepared is None
            or prepared.config_revision != self.configuration.revision
            or prepared.header_revision != self._header_revision
        ):
            prepared = self._prepare()
        return prepared

    def _prepare(self) -> _Prepared:
        with self._lock:
            config = self.configuration
            # Revisions first: a change made while building then makes the next call rebuild,
            # instead of caching old values under the new revision.
            config_revision = config.revision
            header_revision = self._header_revision
            default_headers = self._default_headers
            headers = {"Accept": "application/json", "Content-Type": "application/json"}
            if config.access_token:
                headers["Authorization"] = f"Bearer {config.access_token}"
            if config.organization:
                headers["OpenAI-Organization"] = config.organization
            if config.project:
                headers["OpenAI-Project"] = config.project
            headers = _merge_headers(headers, default_headers)
            pool_key = config.pool_settings()
            if self._rest is None or pool_key != self._pool_key:
                # The old transport is only dropped, not cleared: another thread may be mid-call
                # on it; its idle connections close when it is garbage collected.
                self._rest, self._pool_key = RESTClientObject(config), pool_key
            self._prepared = _Prepared(
                config_revision=config_revision,
                header_revision=header_revision,
                base_url=config.get_host_from_settings(config.server_index),
                headers=headers,
                timeout=config.timeout,
                retries=config.retries,
                rest=self._rest,
                debug=config.debug,
                max_response_bytes=config.max_response_bytes,
                deadline=config.deadline,
            )
            return self._prepared

    def _apply_options(
        self,
        prepared: _Prepared,
        path: str,
        options: RequestOptions,
        headers: dict[str, str],
        auth: dict[str, str] | None,
    ) -> tuple[str, dict[str, str], Timeout]:
        if options.host_index is None:
            url = prepared.base_url + path
        else:
            url = self.configuration.get_host_from_settings(options.host_index) + path
        extra: dict[str, str] = {}
        if auth is not None:
            # The per-call auth replaces the configured one, whatever header it uses.
            headers = {name: value for name, value in headers.items() if name != "Authorization"}
            extra.update(auth)
        if options.content_type is not None:
            if headers.get("Content-Type") != JSON:
                raise ApiValueError("_content_type applies only to operations with a JSON body")
            if "json" not in options.content_type.lower():
                raise ApiValueError(
                    f"_content_type must be a JSON media type, got {options.content_type!r}"
                )
            extra["Content-Type"] = options.content_type
        if options.headers:
            extra.update(options.headers)
        if extra:
            for name, value in extra.items():
                _check_header(name, value)
            headers = _merge_headers(headers, extra)
        return url, headers, to_timeout(options.timeout, prepared.timeout)


def _log_request(method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> float:
    """Log what is about to be sent (header names only, never values); return the start time."""
    logger.debug(
        "%s %s (%d body bytes, headers: %s)",
        method,
        url,
        len(body or b""),
        ", ".join(sorted(name for name in headers if name.lower() != "authorization")),
    )
    return time.perf_counter()


def _log_failure(method: str, url: str, started: float, failure: BaseException) -> None:
    logger.debug(
        "%s %s failed after %.1f ms: %s",
        method,
        url,
        (time.perf_counter() - started) * 1000,
        type(failure).__name__,
    )


def _log_response(method: str, url: str, started: float, response: BaseHTTPResponse) -> None:
    logger.debug(
        "%s %s -> %d in %.1f ms, attempts %d, request id %s",
        method,
        url,
        response.status,
        (time.perf_counter() - started) * 1000,
        attempts_of(response),
        _request_id(response),
    )


def _request_id(response: BaseHTTPResponse) -> str | None:
    """The answer's ``x-request-id``, escaped: it comes from the peer."""
    request_id = response.headers.get("x-request-id")
    return None if request_id is None else loggable(request_id)


def _auth_header(auth: Mapping[str, str] | str) -> dict[str, str]:
    """``_request_auth``: a bare token, or the generator's ``{"in", "key", "value"}`` dict."""
    if isinstance(auth, str):
        if not auth:
            raise ApiValueError("_request_auth must not be an empty token")
        return {"Authorization": f"Bearer {auth}"}
    if not isinstance(auth, Mapping) or auth.get("in", "header") != "header":
        raise ApiValueError("_request_auth must be a token or a header auth setting")
    value = auth.get("value")
    if value is None or value == "":
        raise ApiValueError('_request_auth needs a non-empty "value": the header value to send')
    return {auth.get("key", "Authorization"): str(value)}


def _auth_secrets(header: Mapping[str, str]) -> tuple[str, ...]:
    """The per-call credential as sent, and without its scheme (``Bearer``, ``Basic``)."""
    values = [value for value in header.values() if value]
    return (*values, *(value.split(" ", 1)[1] for value in values if " " in value))


def _check_header(name: object, value: object) -> None:
    """Refuse header names or values that are not text, would split the header block, or that
    the HTTP client cannot encode. The error names the header, never its value."""
    if not isinstance(name, str) or not isinstance(value, str):
        raise ApiTypeError(f"header {_shown_name(name)} must have a str name and a str value")
    if has_line_break(name) or header_value_problem(name) or not name.strip():
        raise ApiValueError(f"header {_shown_name(name)} contains CR, LF or NUL, or has no name")
    if name.strip().lower() in FRAMING_HEADERS:
        raise ApiValueError(
            f"header {_shown_name(name)} is a framing or connection header, which the HTTP "
            "client sets itself from the body and URL; leave it out"
        )
    problem = header_value_problem(value)
    if problem is not None:
        raise ApiValueError(f"the value of header {_shown_name(name)} {problem}")


def _shown_name(name: object) -> str:
    """A header name as it may appear in an error: printable, short."""
    return ascii(name.strip() if isinstance(name, str) else name)[:60]


def _merge_headers(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """``base`` updated with ``extra``; names match case-insensitively, ``extra`` wins."""
    lowered = {name.lower() for name in extra}
    merged = {name: value for name, value in base.items() if name.lower() not in lowered}
    merged.update(extra)
    if "authorization" in lowered:
        # Keep the canonical spelling so the "is there a key?" check stays a dict lookup.
        for name in list(merged):
            if name.lower() == "authorization" and name != "Authorization":
                merged["Authorization"] = merged.pop(name)
    return merged


def api_response(response: BaseHTTPResponse, data: T) -> ApiResponse[T]:
    """What ``*_with_http_info`` returns: ``data`` with the HTTP details of ``response``."""
    return ApiResponse(
        status_code=response.status,
        headers=response.headers,
        data=data,
        raw_data=response.data,
        attempts=attempts_of(response),
    )
