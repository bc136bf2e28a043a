"""openapiopenai: a typed client for OpenAI's Realtime API, over HTTP and WebSocket.

Mint ephemeral keys for browsers and apps (``POST /v1/realtime/client_secrets``), open and
control calls (``POST /v1/realtime/calls``, SIP accept, refer, reject and hangup), verify the
``realtime.call.incoming`` webhook (:mod:`openapiopenai.webhooks`), take part in the
conversation over WebSocket (``RealtimeApi.connect``, :mod:`openapiopenai.realtime`, with the
``realtime`` extra), and try all of it offline against :mod:`openapiopenai.mock`. The older
beta ``POST /v1/realtime/sessions`` is kept as ``create_realtime_session``.

Mint a key on your backend and hand only its value to a browser::

    import openapiopenai

    with openapiopenai.ApiClient() as client:
        secret = openapiopenai.RealtimeApi(client).create_realtime_client_secret(
            {"session": {"type": "realtime", "model": "gpt-realtime"}}
        )
    print(secret)  # value='ek_***': masked; the browser gets secret.value and .expires_at
"""

import importlib
import sys
from typing import TYPE_CHECKING, Any

from openapiopenai import models as _models
from openapiopenai._version import __version__
from openapiopenai.api.realtime_api import RealtimeApi, RealtimeCallAnswer
from openapiopenai.api_client import ApiClient
from openapiopenai.api_response import ApiResponse
from openapiopenai.configuration import Configuration
from openapiopenai.exceptions import (
    ApiAttributeError,
    ApiConnectionError,
    ApiConnectionResetError,
    ApiException,
    ApiIncompleteResponseError,
    ApiKeyError,
    ApiProxyError,
    ApiResponseDecodeError,
    ApiResponseTooLargeError,
    ApiTimeoutError,
    ApiTLSError,
    ApiTransportError,
    ApiTypeError,
    ApiValidationError,
    ApiValueError,
    BadRequestException,
    ConflictException,
    ForbiddenException,
    InvalidWebhookSignatureError,
    MissingDependencyError,
    NotFoundException,
    OpenApiException,
    RealtimeConnectionClosedError,
    RealtimeReconnectFailedError,
    RealtimeSendQueueFullError,
    ServiceException,
    TooManyRequestsException,
    UnauthorizedException,
    UnexpectedResponseException,
    UnprocessableEntityException,
    WebhookVerificationError,
)
from openapiopenai.rest import RetryPolicy

if TYPE_CHECKING:
    from openapiopenai import cli as cli
    from openapiopenai import mock as mock
    from openapiopenai import webhooks as webhooks
    from openapiopenai.models import *  # noqa: F403

__all__ = [
    "__version__",
    "ApiAttributeError",
    "ApiClient",
    "ApiConnectionError",
    "ApiConnectionResetError",
    "ApiException",
    "ApiIncompleteResponseError",
    "ApiKeyError",
    "ApiProxyError",
    "ApiResponse",
    "ApiResponseDecodeError",
    "ApiResponseTooLargeError",
    "ApiTLSError",
    "ApiTimeoutError",
    "ApiTransportError",
    "ApiTypeError",
    "ApiValidationError",
    "ApiValueError",
    "BadRequestException",
    "Configuration",
    "ConflictException",
    "ForbiddenException",
    "InvalidWebhookSignatureError",
    "MissingDependencyError",
    "NotFoundException",
    "OpenApiException",
    "RealtimeApi",
    "RealtimeCallAnswer",
    "RealtimeConnectionClosedError",
    "RealtimeReconnectFailedError",
    "RealtimeSendQueueFullError",
    "RetryPolicy",
    "ServiceException",
    "TooManyRequestsException",
    "UnauthorizedException",
    "UnexpectedResponseException",
    "UnprocessableEntityException",
    "WebhookVerificationError",
]
__all__.extend(_models.__all__)


#: Submodules reachable as attributes; the ones not imported above load on first use.
_SUBMODULES = frozenset(
    {
        "api",
        "api_client",
        "api_response",
        "cli",
        "configuration",
        "exceptions",
        "mock",
        "models",
        "realtime",
        "rest",
        "webhooks",
    }
)
_MODEL_NAMES = frozenset(_models.__all__)


def __getattr__(name: str) -> Any:
    """Models and submodules load on first use, so ``import openapiopenai`` stays cheap."""
    if name in _MODEL_NAMES:
        value = getattr(_models, name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(
        f"module {__name__!r} has no attribute {name!r}", name=name, obj=sys.modules[__name__]
    )


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)
