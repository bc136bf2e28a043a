"""The model base classes: conversion, strict requests, lenient responses, masking."""

from __future__ import annotations

from typing import ClassVar

import pytest

from openapiopenai.exceptions import (
    ApiTypeError,
    ApiValidationError,
    ApiValueError,
    FieldError,
    OpenApiException,
)
from openapiopenai.models.openapi_model import OpenApiModel, RequestModel, ResponseModel
from openapiopenai.models.realtime_session_create_request import RealtimeSessionCreateRequest
from openapiopenai.models.realtime_session_create_response import RealtimeSessionCreateResponse
from test.conftest import EPHEMERAL_KEY, canned_session


class Credentials(ResponseModel):
    """A response model with a secret, nested in lists, to test masking recursively."""

    __secret_fields__: ClassVar[frozenset[str]] = frozenset({"token"})

    token: str | None = None
    label: str | None = None


class Holder(ResponseModel):
    items: list[Credentials] | None = None


def test_every_model_is_an_openapi_model() -> None:
    assert issubclass(RealtimeSessionCreateRequest, RequestModel)
    assert issubclass(RealtimeSessionCreateResponse, ResponseModel)
    assert issubclass(RequestModel, OpenApiModel) and issubclass(ResponseModel, OpenApiModel)


def test_from_dict_none_gives_none() -> None:
    assert RealtimeSessionCreateRequest.from_dict(None) is None


def test_from_dict_instance_returned_as_is() -> None:
    request = RealtimeSessionCreateRequest(voice="ash")
    assert RealtimeSessionCreateRequest.from_dict(request) is request


@pytest.mark.parametrize("value", [[1], "voice", 3, b"{}"])
def test_from_dict_refuses_non_mappings(value: object) -> None:
    with pytest.raises(ApiTypeError) as caught:
        RealtimeSessionCreateRequest.from_dict(value)  # type: ignore[call-overload]
    assert isinstance(caught.value, OpenApiException)
    assert "mapping" in str(caught.value)


@pytest.mark.parametrize(
    "text", ['{"voice": "ash"}', b'{"voice": "ash"}', bytearray(b'{"voice":"ash"}')]
)
def test_from_json_takes_text_or_bytes(text: str | bytes) -> None:
    assert RealtimeSessionCreateRequest.from_json(text).voice == "ash"


@pytest.mark.parametrize("text", ["", "{", "nul", "[]", '"x"', "{}{}"])
def test_from_json_refuses_bad_json_with_validation_error(text: str) -> None:
    with pytest.raises(ApiValidationError) as caught:
        RealtimeSessionCreateRequest.from_json(text)
    assert caught.value.errors[0].field == "(root)"


def test_to_json_bytes_and_to_json_agree() -> None:
    request = RealtimeSessionCreateRequest(instructions="héllo ✓")
    assert request.to_json_bytes() == request.to_json().encode("utf-8")
    assert RealtimeSessionCreateRequest.from_json(request.to_json_bytes()) == request


def test_validation_error_lists_every_bad_field() -> None:
    with pytest.raises(ApiValidationError) as caught:
        RealtimeSessionCreateRequest(speed=9, voice=1, input_audio_format="mp3")

    error = caught.value
    assert isinstance(error, ApiValueError) and isinstance(error, ValueError)
    assert error.model == "RealtimeSessionCreateRequest"
    assert {item.field for item in error.errors} == {"speed", "voice", "input_audio_format"}
    assert all(isinstance(item, FieldError) for item in error.errors)
    assert str(error).startswith("3 invalid fields in RealtimeSessionCreateRequest")
    assert error.path_to_item == [error.errors[0].field]


def test_request_errors_show_the_bad_value() -> None:
    with pytest.raises(ApiValidationError) as caught:
        RealtimeSessionCreateRequest(input_audio_format="mp3")
    assert "(got 'mp3')" in str(caught.value)


def test_response_errors_never_show_values() -> None:
    with pytest.raises(ApiValidationError) as caught:
        RealtimeSessionCreateResponse.from_dict(
            {"client_secret": {"value": EPHEMERAL_KEY, "expires_at": "tomorrow"}}
        )
    assert "tomorrow" not in str(caught.value)
    assert EPHEMERAL_KEY not in str(caught.value)


def test_request_additional_properties_empty_by_default() -> None:
    assert RealtimeSessionCreateRequest(voice="ash").additional_properties == {}


def test_response_additional_properties_is_a_copy() -> None:
    session = RealtimeSessionCreateResponse.from_dict(canned_session(extra_field=1))
    session.additional_properties["extra_field"] = 2
    assert session.additional_properties == {"extra_field": 1}


def test_to_dict_only_has_what_was_set() -> None:
    session = RealtimeSessionCreateResponse.from_dict(canned_session(voice=None))
    assert session.to_dict() == canned_session(voice=None)
    assert "speed" not in session.to_dict()


def test_masking_reaches_into_lists() -> None:
    holder = Holder.from_dict({"items": [{"token": EPHEMERAL_KEY, "label": "a"}]})

    for text in (repr(holder), str(holder), holder.to_str()):
        assert EPHEMERAL_KEY not in text
        assert "'a'" in text
    assert holder.to_dict() == {"items": [{"token": EPHEMERAL_KEY, "label": "a"}]}


def test_equality_by_value() -> None:
    assert RealtimeSessionCreateRequest(voice="ash") == RealtimeSessionCreateRequest.from_dict(
        {"voice": "ash"}
    )
    assert RealtimeSessionCreateRequest(voice="ash") != RealtimeSessionCreateRequest(voice="echo")


def test_keyword_construction_errors_never_show_a_key_in_the_traceback() -> None:
    import traceback

    from openapiopenai.models import RealtimeSessionCreateResponseClientSecret

    for build in (
        # a missing field: pydantic's own message quotes the whole input, key included
        lambda: RealtimeSessionCreateResponseClientSecret(value=EPHEMERAL_KEY),  # type: ignore[call-arg]
        lambda: RealtimeSessionCreateRequest(instructions=EPHEMERAL_KEY, speed=99),
    ):
        with pytest.raises(ApiValidationError) as caught:
            build()
        formatted = "".join(traceback.format_exception(caught.value))
        assert EPHEMERAL_KEY not in formatted
        assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_assignment_errors_never_show_a_key_in_the_traceback() -> None:
    import traceback

    request = RealtimeSessionCreateRequest()
    with pytest.raises(ApiValidationError) as caught:
        request.speed = EPHEMERAL_KEY  # type: ignore[assignment]
    assert EPHEMERAL_KEY not in "".join(traceback.format_exception(caught.value))
