"""``RealtimeApi``: the Realtime API's HTTP operations, each declared once.

An operation is an :class:`Endpoint`: its path, what it sends and what it returns. Every method
hands its arguments to one request path; the three variants of an operation (the model,
``_with_http_info``, ``_without_preload_content``) differ only in what they give back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, TypedDict, TypeVar, overload
from urllib.parse import quote, unquote, urlsplit

from typing_extensions import Self, Unpack
from urllib3.filepost import encode_multipart_formdata
from urllib3.response import BaseHTTPResponse

from openapiopenai.api_client import JSON, ApiClient, RequestOptions, api_response
from openapiopenai.api_response import ApiResponse
from openapiopenai.configuration import TimeoutSetting
from openapiopenai.exceptions import ApiTypeError, ApiValueError

if TYPE_CHECKING:
    from openapiopenai.models import (
        RealtimeCallReferRequest,
        RealtimeCallRejectRequest,
        RealtimeCreateClientSecretRequest,
        RealtimeCreateClientSecretResponse,
        RealtimeSessionCreateRequest,
        RealtimeSessionCreateRequestGA,
        RealtimeSessionCreateResponse,
        RealtimeTranscriptionSessionCreateRequest,
        RealtimeTranscriptionSessionCreateResponse,
        RealtimeTranslationClientSecretCreateRequest,
        RealtimeTranslationClientSecretCreateResponse,
    )
    from openapiopenai.models.openapi_model import OpenApiModel
    from openapiopenai.realtime import (
        RealtimeConnection,
        RealtimeTranslationConnection,
        Reconnect,
        Reconnected,
        ServerEvent,
    )
    from openapiopenai.realtime._open import ConnectOptions

T = TypeVar("T")
SDP = "application/sdp"


class RequestArgs(TypedDict, total=False):
    """The per-call options every method takes, as the generator names them."""

    _request_timeout: TimeoutSetting
    _request_auth: Mapping[str, str] | str | None
    _content_type: str | None
    _headers: Mapping[str, str] | None
    _host_index: int | None


class RealtimeCallAnswer(str):
    """The SDP answer of :meth:`RealtimeApi.create_realtime_call`: a ``str`` to hand to the
    peer connection, carrying the id of the new call (from the ``Location`` header), which
    every follow-up (``hangup_realtime_call``, ...) needs."""

    call_id: str | None

    def __new__(cls, sdp: str, call_id: str | None) -> Self:
        answer = super().__new__(cls, sdp)
        answer.call_id = call_id
        return answer

    def __getnewargs__(self) -> tuple[str, str | None]:  # type: ignore[override]
        """What ``copy`` and ``pickle`` pass to ``__new__``: the text and the call id."""
        return (str(self), self.call_id)


class Endpoint(Generic[T]):
    """One operation: a POST to ``path`` sending ``request`` and returning ``response``.

    ``request`` and ``response`` name models, imported on first use; ``response`` may also be
    ``None`` (an empty answer) or :data:`SDP` (an SDP answer). ``at_most_once``: the operation
    creates or changes something (a call), so it is sent again only when it cannot have
    reached the server or the answer says nothing was done.
    """

    __slots__ = (
        "_models",
        "at_most_once",
        "has_call_id",
        "optional_body",
        "parameter",
        "path",
        "request",
        "response",
    )

    def __init__(
        self,
        path: str,
        *,
        request: str | None = None,
        parameter: str = "",
        response: str | None = None,
        optional_body: bool = False,
        at_most_once: bool = False,
    ) -> None:
        self.path = path
        self.at_most_once = at_most_once
        self.has_call_id = "{call_id}" in path
        self.request = request
        self.parameter = parameter
        self.response = response
        self.optional_body = optional_body
        self._models: dict[str, type[OpenApiModel]] = {}

    def model(self, name: str) -> type[OpenApiModel]:
        model = self._models.get(name)
        if model is None:
            import openapiopenai.models

            model = self._models[name] = getattr(openapiopenai.models, name)
        return model


CREATE_SESSION: Endpoint[RealtimeSessionCreateResponse] = Endpoint(
    "/realtime/sessions",
    request="RealtimeSessionCreateRequest",
    parameter="realtime_session_create_request",
    response="RealtimeSessionCreateResponse",
)
CREATE_CLIENT_SECRET: Endpoint[RealtimeCreateClientSecretResponse] = Endpoint(
    "/realtime/client_secrets",
    request="RealtimeCreateClientSecretRequest",
    parameter="realtime_create_client_secret_request",
    response="RealtimeCreateClientSecretResponse",
)
# Opening a call twice orphans the first; accepting, referring, rejecting or hanging up twice
# acts twice or turns a success into an error: these are sent at most once.
CREATE_CALL: Endpoint[RealtimeCallAnswer] = Endpoint(
    "/realtime/calls",
    request="RealtimeSessionCreateRequestGA",
    parameter="session",
    response=SDP,
    at_most_once=True,
)
ACCEPT_CALL: Endpoint[None] = Endpoint(
    "/realtime/calls/{call_id}/accept",
    request="RealtimeSessionCreateRequestGA",
    parameter="realtime_session_create_request_ga",
    at_most_once=True,
)
HANGUP_CALL: Endpoint[None] = Endpoint("/realtime/calls/{call_id}/hangup", at_most_once=True)
REFER_CALL: Endpoint[None] = Endpoint(
    "/realtime/calls/{call_id}/refer",
    request="RealtimeCallReferRequest",
    parameter="realtime_call_refer_request",
    at_most_once=True,
)
REJECT_CALL: Endpoint[None] = Endpoint(
    "/realtime/calls/{call_id}/reject",
    request="RealtimeCallRejectRequest",
    parameter="realtime_call_reject_request",
    optional_body=True,
    at_most_once=True,
)
CREATE_TRANSCRIPTION_SESSION: Endpoint[RealtimeTranscriptionSessionCreateResponse] = Endpoint(
    "/realtime/transcription_sessions",
    request="RealtimeTranscriptionSessionCreateRequest",
    parameter="realtime_transcription_session_create_request",
    response="RealtimeTranscriptionSessionCreateResponse",
)
CREATE_TRANSLATION_CLIENT_SECRET: Endpoint[RealtimeTranslationClientSecretCreateResponse] = (
    Endpoint(
        "/realtime/translations/client_secrets",
        request="RealtimeTranslationClientSecretCreateRequest",
        parameter="realtime_translation_client_secret_create_request",
        response="RealtimeTranslationClientSecretCreateResponse",
    )
)

_Body = Any  # a request model, a dict, or None; checked against the endpoint's model


class _Request:
    """What goes on the wire for one call: path, body and its media types."""

    __slots__ = ("accept", "body", "content_type", "path")

    def __init__(
        self, path: str, body: bytes | None, content_type: str | None, accept: str = JSON
    ) -> None:
        self.path = path
        self.body = body
        self.content_type = content_type
        self.accept = accept


class RealtimeApi:
    """The Realtime API operations a backend performs over HTTP: minting keys for clients,
    opening WebRTC calls, and answering SIP calls."""

    def __init__(self, api_client: ApiClient | None = None) -> None:
        self.api_client = api_client if api_client is not None else ApiClient.get_default()

    # -- POST /realtime/client_secrets ------------------------------------------------------

    def create_realtime_client_secret(
        self,
        realtime_create_client_secret_request: RealtimeCreateClientSecretRequest
        | Mapping[str, Any],
        **options: Unpack[RequestArgs],
    ) -> RealtimeCreateClientSecretResponse:
        """Mint an ephemeral key (``value``, ``ek_...``) for a browser or app, with the
        session it opens: the way to hand the Realtime API to a client today."""
        return self._data(
            CREATE_CLIENT_SECRET, None, realtime_create_client_secret_request, options
        )

    def create_realtime_client_secret_with_http_info(
        self,
        realtime_create_client_secret_request: RealtimeCreateClientSecretRequest
        | Mapping[str, Any],
        **options: Unpack[RequestArgs],
    ) -> ApiResponse[RealtimeCreateClientSecretResponse]:
        """Like :meth:`create_realtime_client_secret`, with status, headers and raw body."""
        return self._info(
            CREATE_CLIENT_SECRET, None, realtime_create_client_secret_request, options
        )

    def create_realtime_client_secret_without_preload_content(
        self,
        realtime_create_client_secret_request: RealtimeCreateClientSecretRequest
        | Mapping[str, Any],
        **options: Unpack[RequestArgs],
    ) -> BaseHTTPResponse:
        """Send the request and return urllib3's response unread, whatever its status."""
        return self._raw(CREATE_CLIENT_SECRET, None, realtime_create_client_secret_request, options)

    # -- POST /realtime/sessions (beta) -----------------------------------------------------

    def create_realtime_session(
        self,
        realtime_session_create_request: RealtimeSessionCreateRequest | Mapping[str, Any],
        **options: Unpack[RequestArgs],
    ) -> RealtimeSessionCreateResponse:
        """Create a session of the older beta interface and return it with its ephemeral key
        (``client_secret``); kept for existing backends. New code uses
        :meth:`create_realtime_client_secret`.

        Raises :class:`~openapiopenai.exceptions.ApiException` (or a subclass) when the server
        refuses, and :class:`~openapiopenai.exceptions.ApiTransportError` when no answer comes.
        """
        return self._data(CREATE_SESSION, None, realtime_session_create_request, options)

    def create_realtime_session_with_http_info(
        self,
        realtime_session_create_request: RealtimeSessionCreateRequest | Mapping[str, Any],
        **options: Unpack[RequestArgs],
    ) -> ApiResponse[RealtimeSessionCreateResponse]:
        """Like :meth:`create_realtime_session`, with status, headers and raw body as well."""
        return self._info(CREATE_SESSION, None, realtime_session_create_request, options)

    def create_realtime_session_without_preload_content(
        self,
        realtime_session_create_request: RealtimeSessionCreateRequest | Mapping[str, Any],
        **options: Unpack[RequestArgs],
    ) -> BaseHTTPResponse:
        """Send the request and return urllib3's response unread, whatever its status."""
        return self._raw(CREATE_SESSION, None, realtime_session_create_request, options)

    # -- POST /realtime/calls ---------------------------------------------------------------

    def create_realtime_call(
        self,
        sdp: str,
        session: RealtimeSessionCreateRequestGA | Mapping[str, Any] | None = None,
        **options: Unpack[RequestArgs],
    ) -> RealtimeCallAnswer:
        """Open a WebRTC call with a client's SDP offer and return the SDP answer, whose
        ``call_id`` names the call. With ``session`` the offer goes out as multipart with the
        session's settings (use your API key); without, as ``application/sdp`` (use an
        ephemeral key minted with those settings)."""
        return self._data(CREATE_CALL, None, (sdp, session), options)

    def create_realtime_call_with_http_info(
        self,
        sdp: str,
        session: RealtimeSessionCreateRequestGA | Mapping[str, Any] | None = None,
        **options: Unpack[RequestArgs],
    ) -> ApiResponse[RealtimeCallAnswer]:
        """Like :meth:`create_realtime_call`, with status, headers and raw body as well."""
        return self._info(CREATE_CALL, None, (sdp, session), options)

    def create_realtime_call_without_preload_content(
        self,
        sdp: str,
        session: RealtimeSessionCreateRequestGA | Mapping[str, Any] | None = None,
        **options: Unpack[RequestArgs],
    ) -> BaseHTTPResponse:
        """Send the request and return urllib3's response unread, whatever its status."""
        return self._raw(CREATE_CALL, None, (sdp, session), options)

    # -- POST /realtime/calls/{call_id}/accept ----------------------------------------------

    def accept_realtime_call(
        self,
        call_id: str,
        realtime_session_create_request_ga: RealtimeSessionCreateRequestGA | Mapping[str, Any],
        **options: Unpack[RequestArgs],
    ) -> None:
        """Answer an incoming SIP call with the session that will talk to the caller."""
        return self._data(ACCEPT_CALL, call_id, realtime_session_create_request_ga, options)

    def accept_realtime_call_with_http_info(
        self,
        call_id: str,
        realtime_session_create_request_ga: RealtimeSessionCreateRequestGA | Mapping[str, Any],
        **options: Unpack[RequestArgs],
    ) -> ApiResponse[None]:
        """Like :meth:`accept_realtime_call`, with status and headers."""
        return self._info(ACCEPT_CALL, call_id, realtime_session_create_request_ga, options)

    def accept_realtime_call_without_preload_content(
        self,
        call_id: str,
        realtime_session_create_request_ga: RealtimeSessionCreateRequestGA | Mapping[str, Any],
        **options: Unpack[RequestArgs],
    ) -> BaseHTTPResponse:
        """Send the request and return urllib3's response unread, whatever its status."""
        return self._raw(ACCEPT_CALL, call_id, realtime_session_create_request_ga, options)

    # -- POST /realtime/calls/{call_id}/hangup ----------------------------------------------

    def hangup_realtime_call(self, call_id: str, **options: Unpack[RequestArgs]) -> None:
        """End a call, SIP or WebRTC."""
        return self._data(HANGUP_CALL, call_id, None, options)

    def hangup_realtime_call_with_http_info(
        self, call_id: str, **options: Unpack[RequestArgs]
    ) -> ApiResponse[None]:
        """Like :meth:`hangup_realtime_call`, with status and headers."""
        return self._info(HANGUP_CALL, call_id, None, options)

    def hangup_realtime_call_without_preload_content(
        self, call_id: str, **options: Unpack[RequestArgs]
    ) -> BaseHTTPResponse:
        """Send the request and return urllib3's response unread, whatever its status."""
        return self._raw(HANGUP_CALL, call_id, None, options)

    # -- POST /realtime/calls/{call_id}/refer -----------------------------------------------

    def refer_realtime_call(
        self,
        call_id: str,
        realtime_call_refer_request: RealtimeCallReferRequest | Mapping[str, Any],
        **options: Unpack[RequestArgs],
    ) -> None:
        """Transfer a SIP call elsewhere (SIP REFER), e.g. to ``tel:+14155550123``."""
        return self._data(REFER_CALL, call_id, realtime_call_refer_request, options)

    def refer_realtime_call_with_http_info(
        self,
        call_id: str,
        realtime_call_refer_request: RealtimeCallReferRequest | Mapping[str, Any],
        **options: Unpack[RequestArgs],
    ) -> ApiResponse[None]:
        """Like :meth:`refer_realtime_call`, with status and headers."""
        return self._info(REFER_CALL, call_id, realtime_call_refer_request, options)

    def refer_realtime_call_without_preload_content(
        self,
        call_id: str,
        realtime_call_refer_request: RealtimeCallReferRequest | Mapping[str, Any],
        **options: Unpack[RequestArgs],
    ) -> BaseHTTPResponse:
        """Send the request and return urllib3's response unread, whatever its status."""
        return self._raw(REFER_CALL, call_id, realtime_call_refer_request, options)

    # -- POST /realtime/calls/{call_id}/reject ----------------------------------------------

    def reject_realtime_call(
        self,
        call_id: str,
        realtime_call_reject_request: RealtimeCallRejectRequest | Mapping[str, Any] | None = None,
        **options: Unpack[RequestArgs],
    ) -> None:
        """Decline an incoming SIP call; without a status code the service answers 603."""
        return self._data(REJECT_CALL, call_id, realtime_call_reject_request, options)

    def reject_realtime_call_with_http_info(
        self,
        call_id: str,
        realtime_call_reject_request: RealtimeCallRejectRequest | Mapping[str, Any] | None = None,
        **options: Unpack[RequestArgs],
    ) -> ApiResponse[None]:
        """Like :meth:`reject_realtime_call`, with status and headers."""
        return self._info(REJECT_CALL, call_id, realtime_call_reject_request, options)

    def reject_realtime_call_without_preload_content(
        self,
        call_id: str,
        realtime_call_reject_request: RealtimeCallRejectRequest | Mapping[str, Any] | None = None,
        **options: Unpack[RequestArgs],
    ) -> BaseHTTPResponse:
        """Send the request and return urllib3's response unread, whatever its status."""
        return self._raw(REJECT_CALL, call_id, realtime_call_reject_request, options)

    # -- POST /realtime/transcription_sessions ----------------------------------------------

    def create_realtime_transcription_session(
        self,
        realtime_transcription_session_create_request: RealtimeTranscriptionSessionCreateRequest
        | Mapping[str, Any],
        **options: Unpack[RequestArgs],
    ) -> RealtimeTranscriptionSessionCreateResponse:
        """Mint an ephemeral key for a transcription-only session."""
        return self._data(
            CREATE_TRANSCRIPTION_SESSION,
            None,
            realtime_transcription_session_create_request,
            options,
        )

    def create_realtime_transcription_session_with_http_info(
        self,
        realtime_transcription_session_create_request: RealtimeTranscriptionSessionCreateRequest
        | Mapping[str, Any],
        **options: Unpack[RequestArgs],
    ) -> ApiResponse[RealtimeTranscriptionSessionCreateResponse]:
        """Like :meth:`create_realtime_transcription_session`, with status, headers and body."""
        return self._info(
            CREATE_TRANSCRIPTION_SESSION,
            None,
            realtime_transcription_session_create_request,
            options,
        )

    def create_realtime_transcription_session_without_preload_content(
        self,
        realtime_transcription_session_create_request: RealtimeTranscriptionSessionCreateRequest
        | Mapping[str, Any],
        **options: Unpack[RequestArgs],
    ) -> BaseHTTPResponse:
        """Send the request and return urllib3's response unread, whatever its status."""
        return self._raw(
            CREATE_TRANSCRIPTION_SESSION,
            None,
            realtime_transcription_session_create_request,
            options,
        )

    # -- POST /realtime/translations/client_secrets -----------------------------------------

    def create_realtime_translation_client_secret(
        self,
        realtime_translation_client_secret_create_request: (
            RealtimeTranslationClientSecretCreateRequest | Mapping[str, Any]
        ),
        **options: Unpack[RequestArgs],
    ) -> RealtimeTranslationClientSecretCreateResponse:
        """Mint an ephemeral key for a translation session."""
        return self._data(
            CREATE_TRANSLATION_CLIENT_SECRET,
            None,
            realtime_translation_client_secret_create_request,
            options,
        )

    def create_realtime_translation_client_secret_with_http_info(
        self,
        realtime_translation_client_secret_create_request: (
            RealtimeTranslationClientSecretCreateRequest | Mapping[str, Any]
        ),
        **options: Unpack[RequestArgs],
    ) -> ApiResponse[RealtimeTranslationClientSecretCreateResponse]:
        """Like :meth:`create_realtime_translation_client_secret`, with status and headers."""
        return self._info(
            CREATE_TRANSLATION_CLIENT_SECRET,
            None,
            realtime_translation_client_secret_create_request,
            options,
        )

    def create_realtime_translation_client_secret_without_preload_content(
        self,
        realtime_translation_client_secret_create_request: (
            RealtimeTranslationClientSecretCreateRequest | Mapping[str, Any]
        ),
        **options: Unpack[RequestArgs],
    ) -> BaseHTTPResponse:
        """Send the request and return urllib3's response unread, whatever its status."""
        return self._raw(
            CREATE_TRANSLATION_CLIENT_SECRET,
            None,
            realtime_translation_client_secret_create_request,
            options,
        )

    # -- WebSocket: wss://.../realtime and /realtime/translations ---------------------------

    @overload
    def connect(
        self,
        *,
        model: str | None = None,
        call_id: str | None = None,
        intent: str | None = None,
        reconnect: Literal[False] | None = None,
        **options: Unpack[ConnectOptions],
    ) -> RealtimeConnection: ...

    @overload
    def connect(
        self,
        *,
        model: str | None = None,
        call_id: str | None = None,
        intent: str | None = None,
        reconnect: Reconnect | bool | None,
        **options: Unpack[ConnectOptions],
    ) -> RealtimeConnection[ServerEvent | Reconnected]: ...

    def connect(
        self,
        *,
        model: str | None = None,
        call_id: str | None = None,
        intent: str | None = None,
        reconnect: Reconnect | bool | None = None,
        **options: Unpack[ConnectOptions],
    ) -> RealtimeConnection[Any]:
        """Open a conversation over WebSocket: a new session with ``model``, a sideband
        connection to a WebRTC or SIP call with ``call_id``, or a transcription session with
        ``intent="transcription"``. Use it as ``with api.connect(model=...) as conn:``.
        ``reconnect=True`` (or a :class:`~openapiopenai.realtime.Reconnect`) re-opens a lost
        link; :meth:`recv` then also gives a ``Reconnected`` marker. Needs the ``realtime``
        extra."""
        from openapiopenai.realtime import open_conversation

        return open_conversation(
            self.api_client,
            model=model,
            call_id=call_id,
            intent=intent,
            options=options,
            reconnect=reconnect,
        )

    @overload
    def connect_translation(
        self,
        *,
        model: str,
        reconnect: Literal[False] | None = None,
        **options: Unpack[ConnectOptions],
    ) -> RealtimeTranslationConnection: ...

    @overload
    def connect_translation(
        self, *, model: str, reconnect: Reconnect | bool | None, **options: Unpack[ConnectOptions]
    ) -> RealtimeTranslationConnection[ServerEvent | Reconnected]: ...

    def connect_translation(
        self,
        *,
        model: str,
        reconnect: Reconnect | bool | None = None,
        **options: Unpack[ConnectOptions],
    ) -> RealtimeTranslationConnection[Any]:
        """Open a translation session over WebSocket (``/realtime/translations``);
        ``reconnect=`` as for :meth:`connect`. Needs the ``realtime`` extra."""
        from openapiopenai.realtime import open_translation

        return open_translation(self.api_client, model=model, options=options, reconnect=reconnect)

    # -- the one request path ---------------------------------------------------------------

    def _data(
        self, endpoint: Endpoint[T], call_id: str | None, body: _Body, options: RequestArgs
    ) -> T:
        return self._read(endpoint, self._send(endpoint, call_id, body, options, preload=True))

    def _info(
        self, endpoint: Endpoint[T], call_id: str | None, body: _Body, options: RequestArgs
    ) -> ApiResponse[T]:
        response = self._send(endpoint, call_id, body, options, preload=True)
        return api_response(response, self._read(endpoint, response))

    def _raw(
        self, endpoint: Endpoint[Any], call_id: str | None, body: _Body, options: RequestArgs
    ) -> BaseHTTPResponse:
        return self._send(endpoint, call_id, body, options, preload=False)

    def _send(
        self,
        endpoint: Endpoint[Any],
        call_id: str | None,
        body: _Body,
        options: RequestArgs,
        *,
        preload: bool,
    ) -> BaseHTTPResponse:
        request = _build(endpoint, call_id, body)
        return self.api_client.request(
            "POST",
            request.path,
            body=request.body,
            options=_request_options(options),
            preload_content=preload,
            content_type=request.content_type,
            accept=request.accept,
            at_most_once=endpoint.at_most_once,
        )

    def _read(self, endpoint: Endpoint[T], response: BaseHTTPResponse) -> T:
        if endpoint.response is None:
            self.api_client.raise_for_status(response)
            return None  # type: ignore[return-value]  # T is None for these endpoints
        if endpoint.response == SDP:
            return _sdp_answer(self.api_client, response)  # type: ignore[return-value]
        return self.api_client.deserialize_data(response, endpoint.model(endpoint.response))  # type: ignore[return-value]


_OPTION_NAMES = frozenset(RequestArgs.__annotations__)


def _request_options(options: RequestArgs) -> RequestOptions | None:
    if not options:
        return None
    unknown = options.keys() - _OPTION_NAMES
    if unknown:
        raise ApiTypeError(
            f"unexpected keyword argument {sorted(unknown)[0]!r}; per-call options are "
            + ", ".join(RequestArgs.__annotations__)
        )
    return RequestOptions(
        options.get("_request_timeout"),
        options.get("_request_auth"),
        options.get("_content_type"),
        options.get("_headers"),
        options.get("_host_index"),
    )


def _build(endpoint: Endpoint[Any], call_id: str | None, body: _Body) -> _Request:
    """Check the arguments and turn them into the bytes and headers to send."""
    path = endpoint.path
    if endpoint.has_call_id:
        path = path.format(call_id=_segment(call_id))
    if endpoint.response == SDP:
        sdp, session = body
        return _offer(endpoint, path, sdp, session)
    if endpoint.request is None:
        return _Request(path, None, None)
    if body is None and endpoint.optional_body:
        return _Request(path, None, None)
    return _Request(path, _json(endpoint, body, endpoint.parameter), JSON)


def _json(endpoint: Endpoint[Any], body: _Body, parameter: str) -> bytes:
    assert endpoint.request is not None
    if isinstance(body, dict):
        # A dict (the documented way) is checked and sent without building a model; anything
        # the fast check refuses goes the exact way below, which reports what is wrong.
        from openapiopenai.models._fast import request_json  # pydantic-core: not at import

        sent = request_json(endpoint.request, body)
        if sent is not None:
            return sent
    model = endpoint.model(endpoint.request)
    if isinstance(body, model):
        return body.to_json_bytes()
    if isinstance(body, Mapping):
        return model.from_dict(body).to_json_bytes()
    raise ApiTypeError(
        f"{parameter} must be a {model.__name__} or a dict, not {type(body).__name__}"
    )


def _offer(endpoint: Endpoint[Any], path: str, sdp: object, session: _Body) -> _Request:
    """``application/sdp`` alone, or multipart with the offer and the session's settings."""
    if not isinstance(sdp, str):
        raise ApiTypeError(f"sdp must be the SDP offer as a str, not {type(sdp).__name__}")
    if not sdp.strip():
        raise ApiValueError("sdp must not be empty: pass the SDP offer of the peer connection")
    offer = _utf8(sdp, "sdp")
    if session is None:
        return _Request(path, offer, SDP, SDP)
    settings = _json(endpoint, session, "session").decode("utf-8")
    body, content_type = encode_multipart_formdata(
        [_part("sdp", offer, SDP), _part("session", settings, JSON)]
    )
    return _Request(path, body, content_type, SDP)


def _part(name: str, data: bytes | str, content_type: str) -> Any:
    from urllib3.fields import RequestField

    field = RequestField(name=name, data=data)
    field.make_multipart(content_type=content_type)
    return field


def _segment(call_id: object) -> str:
    """``call_id`` as exactly one path segment, whatever it contains."""
    if not isinstance(call_id, str):
        raise ApiTypeError(f"call_id must be a str, not {type(call_id).__name__}")
    if not call_id:
        raise ApiValueError("call_id must not be empty")
    segment = quote(_utf8(call_id, "call_id"), safe="")
    # "." and ".." would be removed from the URL as dot segments: encode them too.
    return segment.replace(".", "%2E") if not segment.strip(".") else segment


def _utf8(text: str, argument: str) -> bytes:
    """``text`` as UTF-8, or an error naming ``argument`` (a lone surrogate has no encoding)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as bad:
        problem = ApiValueError(
            f"{argument} is not valid UTF-8 text: character {bad.start} is a lone surrogate "
            f"({text[bad.start]!a})"
        )
    raise problem  # outside the except block: no __context__ holding the whole text


def _sdp_answer(api_client: ApiClient, response: BaseHTTPResponse) -> RealtimeCallAnswer:
    api_client.raise_for_status(response)
    media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    try:
        text = response.data.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if media_type not in (SDP, "text/plain", "") or not text.startswith("v="):
        raise api_client.unexpected(
            response, f"The response is not an SDP answer (Content-Type: {media_type or 'none'})"
        )
    return RealtimeCallAnswer(text, _call_id(response.headers.get("Location")))


def _call_id(location: str | None) -> str | None:
    """``rtc_...`` from ``Location: /v1/realtime/calls/rtc_...``."""
    if not location:
        return None
    segment = urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1]
    return unquote(segment) or None


__all__ = ["Endpoint", "RealtimeApi", "RealtimeCallAnswer", "RequestArgs"]
