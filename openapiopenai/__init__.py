"""openapiopenai: a typed client for OpenAI's ``POST /v1/realtime/sessions``.

Mint an ephemeral key on your backend and hand it to a browser::

    import openapiopenai

    with openapiopenai.ApiClient() as client:
        session = openapiopenai.RealtimeApi(client).create_realtime_session(
            openapiopenai.RealtimeSessionCreateRequest(model="gpt-realtime", voice="marin")
        )
"""

from openapiopenai._version import __version__
from openapiopenai.api.realtime_api import RealtimeApi
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
    NotFoundException,
    OpenApiException,
    ServiceException,
    TooManyRequestsException,
    UnauthorizedException,
    UnexpectedResponseException,
    UnprocessableEntityException,
    WebhookVerificationError,
)
from openapiopenai.models import *  # noqa: F403
from openapiopenai.models import __all__ as _model_names
from openapiopenai.rest import RetryPolicy

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
    "NotFoundException",
    "OpenApiException",
    "RealtimeApi",
    "RetryPolicy",
    "ServiceException",
    "TooManyRequestsException",
    "UnauthorizedException",
    "UnexpectedResponseException",
    "UnprocessableEntityException",
    "WebhookVerificationError",
    *_model_names,
]
