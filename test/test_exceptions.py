"""Errors: one hierarchy, one class per status, the OpenAI error body parsed, no secret shown."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

import pytest

import openapiopenai
from openapiopenai import exceptions
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
    ErrorDetail,
    ForbiddenException,
    NotFoundException,
    OpenApiException,
    ServiceException,
    TooManyRequestsException,
    UnauthorizedException,
    UnexpectedResponseException,
    UnprocessableEntityException,
    exception_class_for_status,
)
from openapiopenai.mock import MockServer
from test.conftest import API_KEY, EPHEMERAL_KEY, canned_session

ALL_EXCEPTIONS = [
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
    NotFoundException,
    ServiceException,
    TooManyRequestsException,
    UnauthorizedException,
    UnexpectedResponseException,
    UnprocessableEntityException,
]

STATUS_CLASSES = [
    (400, BadRequestException),
    (401, UnauthorizedException),
    (403, ForbiddenException),
    (404, NotFoundException),
    (409, ConflictException),
    (422, UnprocessableEntityException),
    (429, TooManyRequestsException),
    (500, ServiceException),
    (502, ServiceException),
    (503, ServiceException),
    (504, ServiceException),
    (599, ServiceException),
]

_REASONS = {status.value: status.phrase for status in HTTPStatus}


def error_body(
    message: str = "Something is off.",
    kind: str | None = "invalid_request_error",
    code: str | None = "bad_thing",
    param: str | None = "voice",
) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code, "param": param}}


class TestHierarchy:
    @pytest.mark.parametrize("cls", ALL_EXCEPTIONS)
    def test_everything_derives_from_open_api_exception(self, cls: type[Exception]) -> None:
        assert issubclass(cls, OpenApiException)

    @pytest.mark.parametrize(
        "cls", [cls for _, cls in STATUS_CLASSES] + [UnexpectedResponseException]
    )
    def test_status_classes_are_api_exceptions(self, cls: type[Exception]) -> None:
        assert issubclass(cls, ApiException)

    @pytest.mark.parametrize(
        ("cls", "builtin"),
        [
            (ApiTypeError, TypeError),
            (ApiValueError, ValueError),
            (ApiValidationError, ValueError),
            (ApiAttributeError, AttributeError),
            (ApiKeyError, KeyError),
            (ApiConnectionError, ConnectionError),
            (ApiTimeoutError, TimeoutError),
        ],
    )
    def test_input_and_transport_errors_are_builtin_kinds(
        self, cls: type[Exception], builtin: type[Exception]
    ) -> None:
        assert issubclass(cls, builtin)

    def test_transport_family(self) -> None:
        for cls in (ApiConnectionResetError, ApiIncompleteResponseError, ApiProxyError):
            assert issubclass(cls, ApiConnectionError)
        for cls in (ApiConnectionError, ApiTLSError, ApiTimeoutError):
            assert issubclass(cls, ApiTransportError)
        assert not issubclass(ApiTransportError, ApiException)

    def test_rest_reexports_api_exception(self) -> None:
        assert openapiopenai.rest.ApiException is ApiException
        assert openapiopenai.ApiException is exceptions.ApiException

    @pytest.mark.parametrize(
        ("status", "cls"), [*STATUS_CLASSES, (418, ApiException), (402, ApiException)]
    )
    def test_class_for_status(self, status: int, cls: type[ApiException]) -> None:
        assert exception_class_for_status(status) is cls

    def test_path_to_item_rendered(self) -> None:
        error = ApiTypeError("must be a string", ["tools", 0, "name"])
        assert str(error) == "must be a string at ['tools'][0]['name']"
        assert error.path_to_item == ["tools", 0, "name"]


class TestStatusMapping:
    @pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
    def test_each_status_raises_its_class(
        self,
        no_retry_api: openapiopenai.RealtimeApi,
        openai_mock: MockServer,
        status: int,
        cls: type[ApiException],
    ) -> None:
        openai_mock.respond_next(
            status,
            error_body(f"Refused with {status}.", "some_error", "some_code", "model"),
            headers={"x-request-id": f"req_status_{status}"},
        )

        with pytest.raises(cls) as caught:
            no_retry_api.create_realtime_session({})

        error = caught.value
        assert type(error) is cls
        assert error.status == status
        assert error.reason == _REASONS.get(status, "")
        assert error.headers is not None and error.headers["x-request-id"] == f"req_status_{status}"
        assert error.request_id == f"req_status_{status}"
        assert json.loads(error.body or "") == error_body(
            f"Refused with {status}.", "some_error", "some_code", "model"
        )
        assert (error.message, error.type, error.code, error.param) == (
            f"Refused with {status}.",
            "some_error",
            "some_code",
            "model",
        )
        assert error.attempts == 1
        text = str(error)
        assert f"({status})" in text
        assert f"Refused with {status}." in text
        assert f"req_status_{status}" in text
        assert len(openai_mock.requests) == 1

    @pytest.mark.parametrize("status", [402, 405, 418, 451])
    def test_other_statuses_raise_api_exception(
        self, no_retry_api: openapiopenai.RealtimeApi, openai_mock: MockServer, status: int
    ) -> None:
        openai_mock.respond_next(status, error_body("Nope."))

        with pytest.raises(ApiException) as caught:
            no_retry_api.create_realtime_session({})

        assert type(caught.value) is ApiException
        assert caught.value.status == status
        assert caught.value.message == "Nope."

    def test_real_401_from_the_mock(
        self, no_retry_configuration: openapiopenai.Configuration, openai_mock: MockServer
    ) -> None:
        strict = MockServer(api_key="sk-the-right-key-000000")
        strict.start()
        try:
            no_retry_configuration.host = strict.url
            with (
                openapiopenai.ApiClient(no_retry_configuration) as client,
                pytest.raises(UnauthorizedException) as caught,
            ):
                openapiopenai.RealtimeApi(client).create_realtime_session({})
        finally:
            strict.stop()
        assert caught.value.code == "invalid_api_key"
        assert API_KEY not in str(caught.value)

    def test_real_400_from_the_mock_names_the_param(
        self, no_retry_api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        openai_mock.respond_next(
            400,
            error_body("Invalid value: 'robot'. Supported values are: 'alloy'.", param="voice"),
        )
        with pytest.raises(BadRequestException) as caught:
            no_retry_api.create_realtime_session({"voice": "robot"})
        assert caught.value.param == "voice"
        assert "param=voice" in str(caught.value)

    def test_error_body_without_error_object_shown_raw(
        self, no_retry_api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        openai_mock.respond_next(
            502, b"<html>Bad gateway</html>", headers={"Content-Type": "text/html"}
        )
        with pytest.raises(ServiceException) as caught:
            no_retry_api.create_realtime_session({})
        assert caught.value.error is None
        assert caught.value.message is None
        assert caught.value.body == "<html>Bad gateway</html>"
        assert "<html>Bad gateway</html>" in str(caught.value)

    def test_empty_error_body(
        self, no_retry_api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        openai_mock.respond_next(403, b"")
        with pytest.raises(ForbiddenException) as caught:
            no_retry_api.create_realtime_session({})
        assert caught.value.body == ""
        assert caught.value.error is None

    def test_retryable_status_after_retries_reports_attempts(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        openai_mock.fail_next(3, status=503)
        with pytest.raises(ServiceException) as caught:
            api.create_realtime_session({})
        assert caught.value.attempts == 3
        assert len(openai_mock.requests) == 3
        assert "Attempts: 3" in str(caught.value)

    def test_too_many_requests_retry_after(
        self, no_retry_api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        openai_mock.fail_next(status=429, retry_after=7)
        with pytest.raises(TooManyRequestsException) as caught:
            no_retry_api.create_realtime_session({})
        assert caught.value.retry_after == 7.0
        assert caught.value.code == "rate_limit_exceeded"

    def test_too_many_requests_retry_after_ms(
        self, no_retry_api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        openai_mock.fail_next(status=429, headers={"retry-after-ms": "1500"})
        with pytest.raises(TooManyRequestsException) as caught:
            no_retry_api.create_realtime_session({})
        assert caught.value.retry_after == 1.5

    def test_secrets_in_error_bodies_redacted(
        self, no_retry_api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        openai_mock.respond_next(
            401, error_body(f"Incorrect API key provided: {API_KEY}; also {EPHEMERAL_KEY}")
        )
        with pytest.raises(UnauthorizedException) as caught:
            no_retry_api.create_realtime_session({})
        text = str(caught.value) + repr(caught.value)
        assert API_KEY not in text
        assert EPHEMERAL_KEY not in text
        assert "Incorrect API key provided" in text

    @pytest.mark.parametrize("key", [API_KEY, "gateway7d4f0c2a9b1e5f3a8c6d"])
    def test_message_attributes_are_redacted_body_is_verbatim(
        self,
        no_retry_configuration: openapiopenai.Configuration,
        openai_mock: MockServer,
        key: str,
    ) -> None:
        message = f"Incorrect API key provided: {key}; also {EPHEMERAL_KEY}"
        openai_mock.respond_next(401, error_body(message, code=f"bad_key_{key}"))
        no_retry_configuration.access_token = key
        with (
            openapiopenai.ApiClient(no_retry_configuration) as client,
            pytest.raises(UnauthorizedException) as caught,
        ):
            openapiopenai.RealtimeApi(client).create_realtime_session({})

        error = caught.value
        assert error.error is not None
        for text in (error.message, error.error.message, error.code, repr(error.error)):
            assert text is not None
            assert key not in text
            assert EPHEMERAL_KEY not in text
        assert error.message is not None
        assert error.message.startswith("Incorrect API key provided: ")
        assert error.body is not None
        assert key in error.body  # the raw server text, for code that must parse it


class TestUnexpectedSuccessBody:
    @pytest.mark.parametrize(
        ("body", "content_type"),
        [
            (b"<html>ok</html>", "text/html"),
            (b"", "application/json"),
            (b"not json at all", "application/json"),
            (b'{"client_secret": {"value": "' + EPHEMERAL_KEY.encode() + b'"', "application/json"),
            (b"[1, 2, 3]", "application/json"),
            (b'"just a string"', "application/json"),
            (b"null", "application/json"),
            (
                json.dumps({"id": "sess_1", "object": "realtime.session"}).encode(),
                "application/json",
            ),
            (
                json.dumps(canned_session(client_secret={"value": EPHEMERAL_KEY})).encode(),
                "application/json",
            ),
            (
                json.dumps(canned_session(client_secret=EPHEMERAL_KEY)).encode(),
                "application/json",
            ),
            (json.dumps(canned_session(speed="fast")).encode(), "application/json"),
        ],
    )
    def test_becomes_unexpected_response_exception(
        self,
        no_retry_api: openapiopenai.RealtimeApi,
        openai_mock: MockServer,
        body: bytes,
        content_type: str,
    ) -> None:
        openai_mock.respond_next(200, body, headers={"Content-Type": content_type})

        with pytest.raises(UnexpectedResponseException) as caught:
            no_retry_api.create_realtime_session({})

        error = caught.value
        assert isinstance(error, ApiException)
        assert not isinstance(error, json.JSONDecodeError)
        assert error.status == 200
        assert error.body == body.decode()
        assert error.request_id is not None
        assert EPHEMERAL_KEY not in str(error)
        assert EPHEMERAL_KEY not in repr(error)
        assert "not a valid" in str(error)

    def test_with_http_info_raises_the_same(
        self, no_retry_api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        openai_mock.respond_next(201, b"created", headers={"Content-Type": "text/plain"})
        with pytest.raises(UnexpectedResponseException) as caught:
            no_retry_api.create_realtime_session_with_http_info({})
        assert caught.value.status == 201


class TestErrorDetail:
    def test_parsed(self) -> None:
        detail = ErrorDetail.from_body(json.dumps(error_body("m", "t", "c", "p")))
        assert detail == ErrorDetail("m", "t", "c", "p")

    @pytest.mark.parametrize(
        "body", [None, "", "x", "[]", '{"error": "flat"}', '{"message": "no wrapper"}']
    )
    def test_not_an_error_body(self, body: str | None) -> None:
        assert ErrorDetail.from_body(body) is None

    def test_non_string_members_become_text(self) -> None:
        detail = ErrorDetail.from_body('{"error": {"message": "m", "code": 42, "param": null}}')
        assert detail == ErrorDetail("m", None, "42", None)


def test_api_exception_without_response() -> None:
    error = ApiException(status=418, reason="I'm a teapot", body='{"error": {"message": "tea"}}')
    assert error.message == "tea"
    assert error.request_id is None
    assert str(error).startswith("(418) I'm a teapot")


def test_error_detail_redacted_masks_every_member() -> None:
    detail = ErrorDetail(f"bad {API_KEY}", "t", "c", "secret-word-1234")
    assert detail.redacted("secret-word-1234") == ErrorDetail("bad sk-***", "t", "c", "sec***")


@pytest.mark.parametrize(
    "headers",
    [{}, {"retry-after": "soon"}, {"retry-after-ms": "x"}],
)
def test_retry_after_unknown(
    no_retry_api: openapiopenai.RealtimeApi, openai_mock: MockServer, headers: dict[str, str]
) -> None:
    openai_mock.fail_next(status=429, headers=headers)
    with pytest.raises(TooManyRequestsException) as caught:
        no_retry_api.create_realtime_session({})
    assert caught.value.retry_after is None


def test_retry_after_without_headers() -> None:
    assert TooManyRequestsException(status=429).retry_after is None


def test_validation_error_masks_key_shaped_values() -> None:
    secret = "sk-proj-abcdefghijklmnopqrstuvwxyz0123"
    with pytest.raises(openapiopenai.ApiValidationError) as caught:
        openapiopenai.RealtimeSessionCreateRequest(modalities=[secret])
    assert secret not in str(caught.value)
    assert "modalities.0" in str(caught.value)
