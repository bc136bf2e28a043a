"""openapiopenai: a typed client for OpenAI's ``POST /v1/realtime/sessions``.

Mint an ephemeral key on your backend and hand it to a browser::

    import openapiopenai

    with openapiopenai.ApiClient() as client:
        session = openapiopenai.RealtimeApi(client).create_realtime_session(
            openapiopenai.RealtimeSessionCreateRequest(model="gpt-realtime", voice="marin")
        )
"""

from openapiopenai import models
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
    NotFoundException,
    OpenApiException,
    ServiceException,
    TooManyRequestsException,
    UnauthorizedException,
    UnexpectedResponseException,
    UnprocessableEntityException,
)
from openapiopenai.models import *  # noqa: F403
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
    "NotFoundException",
    "OpenApiException",
    "RealtimeApi",
    "RetryPolicy",
    "ServiceException",
    "TooManyRequestsException",
    "UnauthorizedException",
    "UnexpectedResponseException",
    "UnprocessableEntityException",
]
__all__ += models.__all__  # in a form type checkers follow
