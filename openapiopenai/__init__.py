"""openapiopenai: a typed client for OpenAI's ``POST /v1/realtime/sessions``.

Mint an ephemeral key on your backend and hand it to a browser::

    import openapiopenai

    with openapiopenai.ApiClient() as client:
        session = openapiopenai.RealtimeApi(client).create_realtime_session(
            openapiopenai.RealtimeSessionCreateRequest(model="gpt-realtime", voice="marin")
        )
"""

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
    ServiceException,
    TooManyRequestsException,
    UnauthorizedException,
    UnexpectedResponseException,
    UnprocessableEntityException,
    WebhookVerificationError,
)
from openapiopenai.rest import RetryPolicy

if TYPE_CHECKING:
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
    "RetryPolicy",
    "ServiceException",
    "TooManyRequestsException",
    "UnauthorizedException",
    "UnexpectedResponseException",
    "UnprocessableEntityException",
    "WebhookVerificationError",
]
__all__.extend(_models.__all__)


def __getattr__(name: str) -> Any:
    """Models load on first use (see :mod:`openapiopenai.models`)."""
    return getattr(_models, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
