"""Settings for talking to the API: where, as whom, how patiently, over which TLS and proxy.

Every setting can be changed after creation; an :class:`~openapiopenai.ApiClient` notices
the change on its next call and recomputes what it derives from them (headers, pool) once.
"""

from __future__ import annotations

import copy
import itertools
import logging
import math
import os
import sys
import threading
import warnings
import weakref
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from urllib3 import Timeout
from urllib3.exceptions import SecurityWarning
from urllib3.util.retry import Retry

from openapiopenai._secrets import has_line_break, header_value_problem, mask_secret, redact
from openapiopenai._version import __version__
from openapiopenai.exceptions import ApiTypeError, ApiValueError
from openapiopenai.rest import RetryPolicy

#: The server this API is published on.
DEFAULT_HOST = "https://api.openai.com/v1"
#: The ``info.version`` of the OpenAPI document this SDK implements (not the SDK's version).
API_VERSION = "2.3.0"
#: Connect within 5 s; then wait up to 60 s between bytes of the answer. Per attempt.
DEFAULT_TIMEOUT = Timeout(connect=5.0, read=60.0)
#: Retries after the first attempt, for connection errors, timeouts, 408, 409, 429 and 5xx.
DEFAULT_RETRIES = 2
#: The largest response body read (decoded): far above any real answer of this API (a few KB).
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
LOGGER_NAME = "openapiopenai"

# Revisions are unique across all configurations, so a client handed another configuration
# object never mistakes it for the one it prepared.
_REVISIONS = itertools.count(1)

TimeoutSetting = float | int | tuple[float | None, float | None] | Timeout | None
RetrySetting = int | Retry | None

_ENVIRONMENT = {
    "access_token": "OPENAI_API_KEY",
    "host": "OPENAI_BASE_URL",
    "organization": "OPENAI_ORG_ID",
    "project": "OPENAI_PROJECT_ID",
}


def to_timeout(value: TimeoutSetting, default: Timeout = DEFAULT_TIMEOUT) -> Timeout:
    """Read a timeout given as seconds, a ``(connect, read)`` pair or a ``urllib3.Timeout``."""
    if value is None:
        return default
    if isinstance(value, Timeout):
        return value
    if isinstance(value, bool):
        raise ApiTypeError("timeout must be seconds, a (connect, read) pair or urllib3.Timeout")
    if isinstance(value, (int, float)):
        seconds = _seconds(value, "timeout")
        return Timeout(connect=seconds, read=seconds)
    if isinstance(value, tuple) and len(value) == 2:
        connect = _seconds(value[0], "connect timeout", optional=True)
        return Timeout(connect=connect, read=_seconds(value[1], "read timeout", optional=True))
    raise ApiTypeError(
        f"timeout must be seconds, a (connect, read) pair or urllib3.Timeout, "
        f"not {type(value).__name__}"
    )


def _seconds(value: object, what: str, *, optional: bool = False) -> float | None:
    """A timeout in seconds, checked here so that the error speaks of the setting, not urllib3."""
    if value is None and optional:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and _positive(value):
        return value
    allowed = " or None" if optional else ""
    raise ApiValueError(
        f"{what} must be a finite number of seconds above 0{allowed}, not {value!r}"
    )


def _positive(seconds: float) -> bool:
    return math.isfinite(seconds) and seconds > 0


def to_retry(value: RetrySetting) -> Retry:
    """Read a retry setting: a number of retries (0 disables) or a ``urllib3.Retry``."""
    if value is None:
        return RetryPolicy(total=DEFAULT_RETRIES)
    if isinstance(value, Retry):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiTypeError(f"retries must be an int or urllib3.Retry, not {type(value).__name__}")
    if value < 0:
        raise ApiValueError("retries must be 0 or more")
    return RetryPolicy(total=value)


class Configuration:
    """Where and how to call the API.

    :param host: base URL; default ``$OPENAI_BASE_URL``, else ``https://api.openai.com/v1``.
    :param access_token: API key sent as ``Authorization: Bearer``; default ``$OPENAI_API_KEY``.
    :param organization: sent as ``OpenAI-Organization``; default ``$OPENAI_ORG_ID``.
    :param project: sent as ``OpenAI-Project``; default ``$OPENAI_PROJECT_ID``.
    :param timeout: seconds, ``(connect, read)`` or ``urllib3.Timeout``; default 5 s / 60 s.
    :param retries: retries after the first attempt, or a ``urllib3.Retry``; default 2.
        An int builds a :class:`~openapiopenai.rest.RetryPolicy`. A plain ``urllib3.Retry`` is
        used as it is: it does not retry POST (urllib3 leaves it out of ``allowed_methods``)
        and knows none of OpenAI's rules (``x-should-retry``, ``retry-after-ms``), so pass
        ``RetryPolicy(...)`` for custom settings.
    :param verify_ssl: verify the server's certificate (default ``True``); setting it to
        ``False`` emits a ``urllib3.exceptions.SecurityWarning``.
    :param ssl_ca_cert: file of CA certificates to trust instead of the system's.
    :param ca_cert_data: the same, as PEM text.
    :param cert_file: client certificate for mutual TLS; ``key_file`` its private key.
    :param tls_server_name: name to send in SNI and verify the certificate against.
    :param proxy: ``http://`` or ``https://`` proxy URL (credentials may be in the URL).
    :param proxy_headers: extra headers for the proxy, e.g. ``Proxy-Authorization``.
    :param no_proxy: comma-separated hosts (or ``*``) reached directly, bypassing ``proxy``.
    :param connection_pool_maxsize: connections kept open per host for concurrent calls.
    :param max_response_bytes: the largest response body read, decoded (default 4 MiB); a
        larger one raises :class:`~openapiopenai.exceptions.ApiResponseTooLargeError`.
    :param deadline: seconds a whole call may take, retries included (default ``None``: only
        ``timeout`` per attempt); past it the call raises ``ApiTimeoutError``.
    :param debug: log a summary of each request from clients on this configuration to the
        ``openapiopenai`` logger, which is set to DEBUG (with a stderr handler if it has
        none) while any configuration has ``debug`` on; setting ``False`` on the last one
        undoes that. Clients whose configuration has ``debug`` off log their summaries only
        while that logger is enabled for DEBUG, by you or by such a configuration.
    :param ignore_environment: do not read ``OPENAI_*`` variables.
    """

    _default: ClassVar[Configuration | None] = None
    _default_lock: ClassVar[threading.Lock] = threading.Lock()

    _revision: int
    _host: str
    _access_token: str | None
    _organization: str | None
    _project: str | None
    _timeout: Timeout
    _retries: Retry
    _proxy: str | None
    _proxy_headers: dict[str, str] | None
    _connection_pool_maxsize: int
    _max_response_bytes: int
    _deadline: float | None
    _debug: bool
    _verify_ssl: bool

    def __init__(
        self,
        host: str | None = None,
        access_token: str | None = None,
        *,
        organization: str | None = None,
        project: str | None = None,
        timeout: TimeoutSetting = None,
        retries: RetrySetting = None,
        verify_ssl: bool = True,
        ssl_ca_cert: str | None = None,
        ca_cert_data: str | bytes | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        tls_server_name: str | None = None,
        assert_hostname: str | bool | None = None,
        proxy: str | None = None,
        proxy_headers: Mapping[str, str] | None = None,
        no_proxy: str | None = None,
        connection_pool_maxsize: int = 10,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        deadline: float | None = None,
        server_index: int | None = None,
        debug: bool = False,
        ignore_environment: bool = False,
    ) -> None:
        object.__setattr__(self, "_revision", next(_REVISIONS))
        environ: Mapping[str, str] = {} if ignore_environment else os.environ
        explicit = {
            "host": host,
            "access_token": access_token,
            "organization": organization,
            "project": project,
        }
        from_env = {
            name: value if value is not None else (environ.get(_ENVIRONMENT[name]) or None)
            for name, value in explicit.items()
        }
        self.host = from_env["host"]
        self.access_token = from_env["access_token"]
        self.organization = from_env["organization"]
        self.project = from_env["project"]
        self.timeout = timeout
        self.retries = retries
        object.__setattr__(self, "_verify_ssl", bool(verify_ssl))
        if not verify_ssl:
            _warn_unverified(stacklevel=3)
        self.ssl_ca_cert = ssl_ca_cert
        self.ca_cert_data = ca_cert_data
        self.cert_file = cert_file
        self.key_file = key_file
        self.tls_server_name = tls_server_name
        self.assert_hostname = assert_hostname
        self.proxy = proxy
        self.proxy_headers = proxy_headers
        self.no_proxy = no_proxy
        self.connection_pool_maxsize = connection_pool_maxsize
        self.max_response_bytes = max_response_bytes
        self.deadline = deadline
        self.server_index = server_index
        self.debug = debug

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if not name.startswith("_"):
            object.__setattr__(self, "_revision", next(_REVISIONS))

    # Settings that are checked when set, so a mistake fails here and names the setting.

    @property
    def host(self) -> str:
        """Base URL of the API, without a trailing slash."""
        return self._host

    @host.setter
    def host(self, value: str | None) -> None:
        self._host = _check_url("host", value or DEFAULT_HOST).rstrip("/")

    @property
    def access_token(self) -> str | None:
        """The API key, sent as ``Authorization: Bearer <key>``."""
        return self._access_token

    @access_token.setter
    def access_token(self, value: str | None) -> None:
        self._access_token = _check_header_value("access_token", value)

    @property
    def organization(self) -> str | None:
        """Sent as ``OpenAI-Organization`` when set."""
        return self._organization

    @organization.setter
    def organization(self, value: str | None) -> None:
        self._organization = _check_header_value("organization", value)

    @property
    def project(self) -> str | None:
        """Sent as ``OpenAI-Project`` when set."""
        return self._project

    @project.setter
    def project(self, value: str | None) -> None:
        self._project = _check_header_value("project", value)

    @property
    def timeout(self) -> Timeout:
        """Connect and read timeouts of each attempt."""
        return self._timeout

    @timeout.setter
    def timeout(self, value: TimeoutSetting) -> None:
        self._timeout = to_timeout(value)

    @property
    def retries(self) -> Retry:
        """The retry policy (set an int for that many retries, 0 to disable)."""
        return self._retries

    @retries.setter
    def retries(self, value: RetrySetting) -> None:
        self._retries = to_retry(value)

    @property
    def proxy(self) -> str | None:
        """URL of the HTTP(S) proxy, if any."""
        return self._proxy

    @proxy.setter
    def proxy(self, value: str | None) -> None:
        self._proxy = None if value is None else _check_url("proxy", value)

    @property
    def proxy_headers(self) -> dict[str, str] | None:
        """Extra headers sent to the proxy."""
        return self._proxy_headers

    @proxy_headers.setter
    def proxy_headers(self, value: Mapping[str, str] | None) -> None:
        if not value:
            self._proxy_headers = None
            return
        if not isinstance(value, Mapping):
            raise ApiTypeError("proxy_headers must be a mapping of header names to values")
        for name, header in value.items():
            _check_header_value(f"proxy_headers[{name!r}]", name)
            _check_header_value(f"proxy_headers[{name!r}]", header)
        self._proxy_headers = dict(value)

    @property
    def max_response_bytes(self) -> int:
        """The largest response body read (after decompression); more raises
        ``ApiResponseTooLargeError``."""
        return self._max_response_bytes

    @max_response_bytes.setter
    def max_response_bytes(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ApiValueError(
                "max_response_bytes must be a positive int (bytes)", ["max_response_bytes"]
            )
        self._max_response_bytes = value

    @property
    def deadline(self) -> float | None:
        """Seconds a whole call may take, retries included; ``None`` for no such limit."""
        return self._deadline

    @deadline.setter
    def deadline(self, value: float | None) -> None:
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value <= 0
        ):
            raise ApiValueError(
                "deadline must be None or a positive, finite number of seconds", ["deadline"]
            )
        self._deadline = None if value is None else float(value)

    @property
    def connection_pool_maxsize(self) -> int:
        """Connections kept open per host."""
        return self._connection_pool_maxsize

    @connection_pool_maxsize.setter
    def connection_pool_maxsize(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ApiValueError("connection_pool_maxsize must be a positive int")
        self._connection_pool_maxsize = value

    @property
    def verify_ssl(self) -> bool:
        """Verify the server's certificate; ``False`` warns, as anyone on the path can then
        read the API key."""
        return self._verify_ssl

    @verify_ssl.setter
    def verify_ssl(self, value: bool) -> None:
        self._verify_ssl = bool(value)
        if not self._verify_ssl:
            _warn_unverified(stacklevel=4)  # past this setter and __setattr__

    @property
    def debug(self) -> bool:
        """Log a summary of each request and response to the ``openapiopenai`` logger."""
        return self._debug

    @debug.setter
    def debug(self, value: bool) -> None:
        self._debug = bool(value)
        if self._debug:
            _debug_on(self)
        else:
            _debug_off(self)

    @property
    def revision(self) -> int:
        """Changes on every change (unique across configurations); clients compare it to know
        when to recompute what they derived."""
        return self._revision

    @property
    def user_agent(self) -> str:
        """``openapiopenai/<version> python/<x.y>``."""
        return f"openapiopenai/{__version__} python/{sys.version_info[0]}.{sys.version_info[1]}"

    @classmethod
    def get_default(cls) -> Configuration:
        """The process-wide default configuration, created on first use."""
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls()
            return cls._default

    @classmethod
    def set_default(cls, default: Configuration | None) -> None:
        """Make ``default`` the configuration used when none is passed (``None`` resets)."""
        with cls._default_lock:
            cls._default = default

    @classmethod
    def get_default_copy(cls) -> Configuration:
        """A copy of the default configuration, safe to change (nested settings included)."""
        return copy.deepcopy(cls.get_default())

    def auth_settings(self) -> dict[str, dict[str, str]]:
        """The authentication this configuration sends, in the generator's format."""
        if not self.access_token:
            return {}
        return {
            "ApiKeyAuth": {
                "type": "bearer",
                "in": "header",
                "key": "Authorization",
                "value": f"Bearer {self.access_token}",
            }
        }

    def get_host_settings(self) -> list[dict[str, Any]]:
        """The servers this API is published on."""
        return [{"url": DEFAULT_HOST, "description": "OpenAI API", "variables": {}}]

    def get_host_from_settings(
        self, index: int | None, variables: Mapping[str, str] | None = None
    ) -> str:
        """URL of server ``index`` from :meth:`get_host_settings`; ``None`` gives ``host``."""
        if index is None:
            return str(self.host)
        servers = self.get_host_settings()
        if not isinstance(index, int) or not 0 <= index < len(servers):
            raise ApiValueError(
                f"Invalid host index {index!r}: this API has {len(servers)} server(s), "
                f"index 0 to {len(servers) - 1}"
            )
        return str(servers[index]["url"])

    def to_debug_report(self) -> str:
        """Versions of what this SDK runs on, for bug reports."""
        import pydantic
        from urllib3._version import __version__ as urllib3_version

        return (
            f"Python SDK Debug Report:\nOS: {sys.platform}\nPython Version: {sys.version}\n"
            f"Version of the API: {API_VERSION}\nSDK Package Version: {__version__}\n"
            f"urllib3: {urllib3_version}\npydantic: {pydantic.VERSION}"
        )

    def pool_settings(self) -> tuple[Any, ...]:
        """Everything the connection pool is built from; a change means a new pool."""
        return (
            self.verify_ssl,
            self.ssl_ca_cert,
            self.ca_cert_data,
            self.cert_file,
            self.key_file,
            self.tls_server_name,
            self.assert_hostname,
            self.proxy,
            tuple(sorted((self.proxy_headers or {}).items())),
            self.no_proxy,
            self.connection_pool_maxsize,
            self.host,
        )

    def __repr__(self) -> str:
        proxy = redact(_hide_userinfo(self.proxy)) if self.proxy else None
        token = mask_secret(self.access_token) if self.access_token else None
        return (
            f"Configuration(host={self.host!r}, access_token={token!r}, "
            f"organization={self.organization!r}, project={self.project!r}, "
            f"timeout={self.timeout!r}, retries={self.retries!r}, verify_ssl={self.verify_ssl!r}, "
            f"proxy={proxy!r}, debug={self.debug!r})"
        )

    __str__ = __repr__

    def __copy__(self) -> Configuration:
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        if clone._debug:
            _debug_on(clone)
        return clone

    def __deepcopy__(self, memo: dict[int, Any]) -> Configuration:
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        for name, value in self.__dict__.items():
            clone.__dict__[name] = copy.deepcopy(value, memo)
        if clone._debug:
            _debug_on(clone)
        return clone


def _warn_unverified(stacklevel: int) -> None:
    """Warn, at the caller's line ``stacklevel`` frames up, that certificates go unchecked."""
    warnings.warn(
        "TLS certificate verification is disabled (verify_ssl=False): the connection "
        "to the API can be intercepted and the API key read.",
        SecurityWarning,
        stacklevel=stacklevel,
    )


def _check_header_value(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiTypeError(f"{name} must be a string", [name])
    problem = header_value_problem(value)
    if problem is not None:
        # The value is never quoted: it is usually a credential.
        raise ApiValueError(f"{name} {problem}", [name])
    return value


def _check_url(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ApiTypeError(f"{name} must be a URL string", [name])
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiValueError(
            f"{name} must be an http:// or https:// URL with a host, got {_hide_userinfo(value)!r}",
            [name],
        )
    if has_line_break(value):
        raise ApiValueError(f"{name} must not contain CR, LF or NUL characters", [name])
    if name == "proxy" and "@" in parts.netloc:
        # Sent as Proxy-Authorization, which http.client encodes as latin-1.
        _check_header_value("proxy credentials", unquote(parts.netloc.rpartition("@")[0]))
    if name == "host" and (parts.username is not None or parts.password is not None):
        # urllib3 never sends URL credentials, and they would show in repr and logs.
        raise ApiValueError(
            f"host must not contain credentials ({_hide_userinfo(value)!r}): "
            "set access_token for the API key",
            [name],
        )
    return value


def _hide_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return parts._replace(netloc=f"***@{host}").geturl()


# What debug=True changed on the SDK's logger, undone when no configuration has debug on.
_debug_lock = threading.Lock()
_debug_configurations: weakref.WeakSet[Configuration] = weakref.WeakSet()
_debug_handler: logging.Handler | None = None
_saved_level: int | None = None


def _debug_on(configuration: Configuration) -> None:
    """Make the SDK's own logger print DEBUG records; nothing else in the process changes."""
    global _debug_handler, _saved_level
    logger = logging.getLogger(LOGGER_NAME)
    with _debug_lock:
        _debug_configurations.add(configuration)
        if logger.level != logging.DEBUG:
            if _saved_level is None:
                _saved_level = logger.level
            logger.setLevel(logging.DEBUG)
        if _debug_handler is None and not logger.handlers:
            _debug_handler = logging.StreamHandler()
            _debug_handler.setFormatter(
                logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")
            )
            logger.addHandler(_debug_handler)


def _debug_off(configuration: Configuration) -> None:
    """Undo :func:`_debug_on` once no configuration has debug on any more."""
    global _debug_handler, _saved_level
    logger = logging.getLogger(LOGGER_NAME)
    with _debug_lock:
        _debug_configurations.discard(configuration)
        if len(_debug_configurations):
            return
        if _debug_handler is not None:
            logger.removeHandler(_debug_handler)
            _debug_handler = None
        if _saved_level is not None:
            if logger.level == logging.DEBUG:  # unless someone has set a level since
                logger.setLevel(_saved_level)
            _saved_level = None
