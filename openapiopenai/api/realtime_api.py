"""``RealtimeApi``: mint ephemeral keys for the Realtime API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from urllib3.response import BaseHTTPResponse

from openapiopenai.api_client import ApiClient, RequestOptions
from openapiopenai.api_response import ApiResponse
from openapiopenai.configuration import TimeoutSetting
from openapiopenai.exceptions import ApiTypeError

if TYPE_CHECKING:
    from openapiopenai.models.realtime_session_create_request import RealtimeSessionCreateRequest
    from openapiopenai.models.realtime_session_create_response import (
        RealtimeSessionCreateResponse,
    )

_PATH = "/realtime/sessions"


class RealtimeApi:
    """Operations of the Realtime API that a backend performs over HTTP."""

    def __init__(self, api_client: ApiClient | None = None) -> None:
        self.api_client = api_client if api_client is not None else ApiClient.get_default()

    def create_realtime_session(
        self,
        realtime_session_create_request: RealtimeSessionCreateRequest | Mapping[str, Any],
        _request_timeout: TimeoutSetting = None,
        _request_auth: Mapping[str, str] | str | None = None,
        _content_type: str | None = None,
        _headers: Mapping[str, str] | None = None,
        _host_index: int | None = None,
    ) -> RealtimeSessionCreateResponse:
        """Create a Realtime session and return it with its ephemeral key (``client_secret``).

        Raises :class:`~openapiopenai.exceptions.ApiException` (or a subclass) when the server
        refuses, and :class:`~openapiopenai.exceptions.ApiTransportError` when no answer comes.
        """
        response = self._send(
            realtime_session_create_request,
            _request_timeout,
            _request_auth,
            _content_type,
            _headers,
            _host_index,
        )
        from openapiopenai.models.realtime_session_create_response import (
            RealtimeSessionCreateResponse,
        )

        return self.api_client.deserialize_data(response, RealtimeSessionCreateResponse)

    def create_realtime_session_with_http_info(
        self,
        realtime_session_create_request: RealtimeSessionCreateRequest | Mapping[str, Any],
        _request_timeout: TimeoutSetting = None,
        _request_auth: Mapping[str, str] | str | None = None,
        _content_type: str | None = None,
        _headers: Mapping[str, str] | None = None,
        _host_index: int | None = None,
    ) -> ApiResponse[RealtimeSessionCreateResponse]:
        """Like :meth:`create_realtime_session`, with status, headers and raw body as well."""
        response = self._send(
            realtime_session_create_request,
            _request_timeout,
            _request_auth,
            _content_type,
            _headers,
            _host_index,
        )
        from openapiopenai.models.realtime_session_create_response import (
            RealtimeSessionCreateResponse,
        )

        return self.api_client.deserialize(response, RealtimeSessionCreateResponse)

    def create_realtime_session_without_preload_content(
        self,
        realtime_session_create_request: RealtimeSessionCreateRequest | Mapping[str, Any],
        _request_timeout: TimeoutSetting = None,
        _request_auth: Mapping[str, str] | str | None = None,
        _content_type: str | None = None,
        _headers: Mapping[str, str] | None = None,
        _host_index: int | None = None,
    ) -> BaseHTTPResponse:
        """Send the request and return urllib3's response unread, whatever its status."""
        return self._send(
            realtime_session_create_request,
            _request_timeout,
            _request_auth,
            _content_type,
            _headers,
            _host_index,
            preload_content=False,
        )

    def _send(
        self,
        request: RealtimeSessionCreateRequest | Mapping[str, Any],
        timeout: TimeoutSetting,
        auth: Mapping[str, str] | str | None,
        content_type: str | None,
        headers: Mapping[str, str] | None,
        host_index: int | None,
        preload_content: bool = True,
    ) -> BaseHTTPResponse:
        options = None
        if (
            timeout is not None
            or auth is not None
            or content_type is not None
            or headers
            or (host_index is not None)
        ):
            options = RequestOptions(timeout, auth, content_type, headers, host_index)
        return self.api_client.request(
            "POST",
            _PATH,
            body=_request_body(request),
            options=options,
            preload_content=preload_content,
        )


def _request_body(request: object) -> bytes:
    from openapiopenai.models.realtime_session_create_request import RealtimeSessionCreateRequest

    if isinstance(request, RealtimeSessionCreateRequest):
        return request.to_json_bytes()
    if isinstance(request, Mapping):
        return RealtimeSessionCreateRequest.from_dict(request).to_json_bytes()
    raise ApiTypeError(
        "realtime_session_create_request must be a RealtimeSessionCreateRequest or a dict, "
        f"not {type(request).__name__}"
    )
