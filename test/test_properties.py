"""Properties over generated data: parsing never fails in an unexpected way, and every valid
request survives dict and JSON round trips (and the wire) unchanged."""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import openapiopenai
from openapiopenai.exceptions import ApiTypeError, ApiValidationError
from openapiopenai.mock import MockServer
from openapiopenai.models.openapi_model import OpenApiModel
from openapiopenai.models.realtime_session_create_request import RealtimeSessionCreateRequest
from test.conftest import API_KEY

MODELS: list[type[OpenApiModel]] = [
    value
    for value in (getattr(openapiopenai, name) for name in openapiopenai.models.__all__)
    if isinstance(value, type)
    and issubclass(value, OpenApiModel)
    and value.__module__ != "openapiopenai.models.openapi_model"
]

FAST = settings(max_examples=150, deadline=None)
models = st.sampled_from(MODELS)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
#: Objects whose keys are sometimes the models' own field names, so validation goes deep.
FIELD_NAMES = sorted({name for model in MODELS for name in model.model_fields})
json_objects = st.dictionaries(
    st.sampled_from(FIELD_NAMES) | st.text(max_size=12), json_values, max_size=6
)


def test_every_model_is_covered() -> None:
    assert len(MODELS) >= 87  # every class generated from the two spec files


@FAST
@given(model=models, data=json_objects)
def test_from_dict_on_any_object(model: type[OpenApiModel], data: dict[str, Any]) -> None:
    try:
        parsed = model.from_dict(data)
    except ApiValidationError as error:
        assert error.errors
        return
    assert isinstance(parsed, model)
    assert isinstance(parsed.to_dict(), dict)
    assert isinstance(repr(parsed) + str(parsed) + parsed.to_str(), str)
    assert model.from_json(parsed.to_json()).to_dict() == parsed.to_dict()


@FAST
@given(model=models, value=json_values.filter(lambda value: not isinstance(value, dict)))
def test_from_dict_on_non_objects_is_a_type_error(model: type[OpenApiModel], value: Any) -> None:
    if value is None:
        assert model.from_dict(None) is None
        return
    with pytest.raises(ApiTypeError):
        model.from_dict(value)


@FAST
@given(model=models, value=json_values | json_objects)
def test_from_json_on_any_json(model: type[OpenApiModel], value: Any) -> None:
    text = json.dumps(value)
    try:
        parsed = model.from_json(text)
    except ApiValidationError as error:
        assert error.errors
        return
    assert isinstance(parsed, model)
    assert model.from_json(parsed.to_json()) == parsed


@FAST
@given(model=models, raw=st.text(max_size=40) | st.binary(max_size=40))
def test_from_json_on_any_text(model: type[OpenApiModel], raw: str | bytes) -> None:
    try:
        parsed = model.from_json(raw)
    except ApiValidationError as error:
        assert error.errors
        return
    assert isinstance(parsed, model)


@FAST
@given(data=json_objects)
def test_request_keywords_on_any_object(data: dict[str, Any]) -> None:
    try:
        RealtimeSessionCreateRequest(**data)
    except ApiValidationError as error:
        assert all(item.field for item in error.errors)


# -- valid requests ---------------------------------------------------------------------

text = st.text(max_size=30)
metadata = st.dictionaries(st.text(max_size=10), json_values, max_size=3)
finite = st.floats(allow_nan=False, allow_infinity=False)


def optional_fields(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


valid_requests = optional_fields(
    modalities=st.lists(st.sampled_from(["text", "audio"]), max_size=2),
    model=text,
    instructions=text,
    voice=text,
    input_audio_format=st.sampled_from(["pcm16", "g711_ulaw", "g711_alaw"]),
    output_audio_format=st.sampled_from(["pcm16", "g711_ulaw", "g711_alaw"]),
    input_audio_transcription=st.none() | optional_fields(model=text, language=text, prompt=text),
    turn_detection=st.none()
    | optional_fields(
        type=st.sampled_from(["server_vad", "semantic_vad"]),
        eagerness=st.sampled_from(["low", "medium", "high", "auto"]),
        threshold=st.floats(min_value=0.0, max_value=1.0),
        prefix_padding_ms=st.integers(min_value=0, max_value=10**6),
        silence_duration_ms=st.integers(min_value=0, max_value=10**6),
        create_response=st.booleans(),
        interrupt_response=st.booleans(),
    ),
    input_audio_noise_reduction=st.none()
    | optional_fields(type=st.sampled_from(["near_field", "far_field"])),
    speed=st.floats(min_value=0.25, max_value=1.5),
    tracing=st.none()
    | st.just("auto")
    | optional_fields(workflow_name=text, group_id=text, metadata=metadata),
    tools=st.lists(
        optional_fields(type=st.just("function"), name=text, description=text, parameters=metadata),
        max_size=3,
    ),
    tool_choice=text,
    temperature=finite,
    max_response_output_tokens=st.integers(min_value=1, max_value=2**31) | st.just("inf"),
    client_secret=optional_fields(
        expires_after=st.fixed_dictionaries(
            {"anchor": st.just("created_at")},
            optional={"seconds": st.integers(min_value=10, max_value=7200)},
        )
    ),
)


@FAST
@given(data=valid_requests)
def test_valid_request_round_trips(data: dict[str, Any]) -> None:
    request = RealtimeSessionCreateRequest.from_dict(data)

    assert request.to_dict() == data
    assert RealtimeSessionCreateRequest.from_dict(request.to_dict()) == request
    assert json.loads(request.to_json()) == data
    again = RealtimeSessionCreateRequest.from_json(request.to_json())
    assert again == request
    assert again.to_json() == request.to_json()
    assert RealtimeSessionCreateRequest(**data) == request


@pytest.fixture(scope="module")
def module_mock() -> Iterator[MockServer]:
    """One mock for all examples of a property: starting one per example would be slow."""
    server = MockServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@settings(max_examples=60, deadline=None)
@given(data=valid_requests)
def test_valid_request_goes_out_unchanged(module_mock: MockServer, data: dict[str, Any]) -> None:
    module_mock.clear()
    configuration = openapiopenai.Configuration(
        host=module_mock.url, access_token=API_KEY, retries=0, ignore_environment=True
    )
    with openapiopenai.ApiClient(configuration) as client:
        session = openapiopenai.RealtimeApi(client).create_realtime_session(data)

    assert [request.json() for request in module_mock.requests] == [data]
    assert session.client_secret.value.startswith("ek_")


@FAST
@given(
    secret=st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=16, max_size=40),
    extra=metadata,
)
def test_ephemeral_key_never_in_text(secret: str, extra: dict[str, Any]) -> None:
    value = "ek_" + secret
    unknown = {f"x_{name}": item for name, item in extra.items()}  # never a known field
    body = {**unknown, "client_secret": {"value": value, "expires_at": 1}}
    session = openapiopenai.RealtimeSessionCreateResponse.from_dict(body)

    for text in (repr(session), str(session), session.to_str(), repr(session.client_secret)):
        assert value not in text
    assert session.client_secret.value == value
    assert json.loads(session.to_json())["client_secret"]["value"] == value
