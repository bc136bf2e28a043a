"""RealtimeSessionCreateRequest: every field of the spec, what goes on the wire, what is refused."""

from __future__ import annotations

import time
from typing import Any

import pytest

import openapiopenai
from openapiopenai.exceptions import (
    ApiAttributeError,
    ApiValidationError,
    ApiValueError,
    BadRequestException,
    OpenApiException,
)
from openapiopenai.mock import MockServer
from openapiopenai.models.realtime_session_create_request import RealtimeSessionCreateRequest
from openapiopenai.models.realtime_session_create_request_turn_detection import (
    RealtimeSessionCreateRequestTurnDetection,
)
from test.conftest import canned_session, sent_json

#: Every field of the request, each with a valid value, nested objects as plain dicts.
FULL_REQUEST: dict[str, Any] = {
    "modalities": ["text", "audio"],
    "model": "gpt-4o-realtime-preview",
    "instructions": "Answer in one short sentence.",
    "voice": "alloy",
    "input_audio_format": "pcm16",
    "output_audio_format": "g711_ulaw",
    "input_audio_transcription": {"model": "whisper-1", "language": "en", "prompt": "weather"},
    "turn_detection": {
        "type": "semantic_vad",
        "eagerness": "high",
        "threshold": 0.6,
        "prefix_padding_ms": 250,
        "silence_duration_ms": 400,
        "create_response": True,
        "interrupt_response": False,
    },
    "input_audio_noise_reduction": {"type": "far_field"},
    "speed": 1.25,
    "tracing": {"workflow_name": "support", "group_id": "team-7", "metadata": {"tier": "gold"}},
    "tools": [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ],
    "tool_choice": "required",
    "temperature": 0.9,
    "max_response_output_tokens": 4096,
    "client_secret": {"expires_after": {"anchor": "created_at", "seconds": 120}},
}

#: Models listed by the service today (spec file and newer descriptions).
SERVICE_MODELS = [
    "gpt-realtime",
    "gpt-realtime-2025-08-28",
    "gpt-realtime-mini",
    "gpt-realtime-mini-2025-10-06",
    "gpt-realtime-mini-2025-12-15",
    "gpt-realtime-1.5",
    "gpt-realtime-2",
    "gpt-realtime-2.1",
    "gpt-realtime-2.1-mini",
    "gpt-audio-1.5",
    "gpt-audio-mini",
    "gpt-audio-mini-2025-10-06",
    "gpt-audio-mini-2025-12-15",
    "gpt-4o-realtime-preview",
    "gpt-4o-realtime-preview-2024-10-01",
    "gpt-4o-realtime-preview-2024-12-17",
    "gpt-4o-realtime-preview-2025-06-03",
    "gpt-4o-mini-realtime-preview",
    "gpt-4o-mini-realtime-preview-2024-12-17",
]

SERVICE_VOICES = [
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "onyx",
    "nova",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
]


class TestEveryField:
    def test_full_request_from_nested_dicts_goes_out_unchanged(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        request = RealtimeSessionCreateRequest(**FULL_REQUEST)

        session = api.create_realtime_session(request)

        assert sent_json(openai_mock) == FULL_REQUEST
        assert isinstance(request.turn_detection, RealtimeSessionCreateRequestTurnDetection)
        assert session.model == "gpt-4o-realtime-preview"
        assert session.modalities == ["text", "audio"]
        assert session.output_audio_format == "g711_ulaw"
        assert session.speed == 1.25
        assert session.tool_choice == "required"
        assert session.tools is not None and session.tools[0].name == "get_weather"
        assert session.max_response_output_tokens == 4096

    def test_full_request_as_dict_body(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        api.create_realtime_session(FULL_REQUEST)

        assert sent_json(openai_mock) == FULL_REQUEST

    def test_to_dict_and_to_json_match_the_input(self) -> None:
        request = RealtimeSessionCreateRequest.from_dict(FULL_REQUEST)

        assert request.to_dict() == FULL_REQUEST
        assert RealtimeSessionCreateRequest.from_json(request.to_json()) == request

    def test_empty_request_sends_exactly_an_empty_object(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        api.create_realtime_session(RealtimeSessionCreateRequest())

        assert openai_mock.requests[-1].body == b"{}"


class TestPlainValuesForUnions:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("voice", "alloy"),
            ("max_response_output_tokens", 4096),
            ("max_response_output_tokens", 1),
            ("max_response_output_tokens", "inf"),
            ("tracing", "auto"),
            ("tracing", {"workflow_name": "checkout"}),
        ],
    )
    def test_sent_as_given(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer, field: str, value: object
    ) -> None:
        session = api.create_realtime_session(RealtimeSessionCreateRequest(**{field: value}))

        assert sent_json(openai_mock) == {field: value}
        echoed = getattr(session, field)
        assert (echoed.to_dict() if hasattr(echoed, "to_dict") else echoed) == value

    @pytest.mark.parametrize("value", [0, -1, "infinite", 1.5, [1]])
    def test_max_response_output_tokens_refuses_other_values(self, value: object) -> None:
        with pytest.raises(ApiValidationError) as caught:
            RealtimeSessionCreateRequest(max_response_output_tokens=value)
        assert "max_response_output_tokens" in str(caught.value)

    def test_tracing_refuses_other_strings(self) -> None:
        with pytest.raises(ApiValidationError) as caught:
            RealtimeSessionCreateRequest(tracing="manual")
        assert "tracing" in str(caught.value)
        assert "'auto'" in str(caught.value)


class TestOpenModelAndVoice:
    @pytest.mark.parametrize("model", [*SERVICE_MODELS, "gpt-realtime-9-preview"])
    def test_any_model_is_sent(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer, model: str
    ) -> None:
        session = api.create_realtime_session(RealtimeSessionCreateRequest(model=model))

        assert sent_json(openai_mock) == {"model": model}
        assert session.model == model

    @pytest.mark.parametrize("voice", [*SERVICE_VOICES, "a-voice-from-next-year"])
    def test_any_voice_is_sent(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer, voice: str
    ) -> None:
        session = api.create_realtime_session(RealtimeSessionCreateRequest(voice=voice))

        assert sent_json(openai_mock) == {"voice": voice}
        assert session.voice == voice

    def test_known_lists_cover_the_service(self) -> None:
        assert set(SERVICE_MODELS) <= set(openapiopenai.KNOWN_MODELS)
        assert set(SERVICE_VOICES) <= set(openapiopenai.KNOWN_VOICES)

    @pytest.mark.parametrize("field", ["model", "voice"])
    def test_non_string_refused(self, field: str) -> None:
        with pytest.raises(ApiValidationError) as caught:
            RealtimeSessionCreateRequest(**{field: 42})
        assert caught.value.errors[0].field == field


#: (request body, field path named in the error, values the error must list)
CLOSED_ENUMS = [
    ({"modalities": ["text", "video"]}, "modalities.1", ["text", "audio"]),
    ({"input_audio_format": "mp3"}, "input_audio_format", ["pcm16", "g711_ulaw", "g711_alaw"]),
    ({"output_audio_format": "wav"}, "output_audio_format", ["pcm16", "g711_ulaw", "g711_alaw"]),
    (
        {"turn_detection": {"type": "client_vad"}},
        "turn_detection.type",
        ["server_vad", "semantic_vad"],
    ),
    (
        {"turn_detection": {"eagerness": "eager"}},
        "turn_detection.eagerness",
        ["low", "medium", "high", "auto"],
    ),
    (
        {"input_audio_noise_reduction": {"type": "mid_field"}},
        "input_audio_noise_reduction.type",
        ["near_field", "far_field"],
    ),
    ({"tools": [{"type": "web_search"}]}, "tools.0.type", ["function"]),
    (
        {"client_secret": {"expires_after": {"anchor": "now"}}},
        "client_secret.expires_after.anchor",
        ["created_at"],
    ),
]


class TestClosedEnums:
    @pytest.mark.parametrize(("body", "field", "allowed"), CLOSED_ENUMS)
    def test_bad_value_refused_before_io(
        self,
        api: openapiopenai.RealtimeApi,
        openai_mock: MockServer,
        body: dict[str, Any],
        field: str,
        allowed: list[str],
    ) -> None:
        with pytest.raises(ApiValidationError) as caught:
            api.create_realtime_session(body)

        assert openai_mock.requests == []
        assert [error.field for error in caught.value.errors] == [field]
        message = str(caught.value)
        assert field in message
        for value in allowed:
            assert repr(value) in message

    @pytest.mark.parametrize(("body", "field", "allowed"), CLOSED_ENUMS)
    def test_bad_value_refused_by_constructor(
        self, body: dict[str, Any], field: str, allowed: list[str]
    ) -> None:
        with pytest.raises(ApiValidationError) as caught:
            RealtimeSessionCreateRequest(**body)
        assert caught.value.errors[0].field == field
        assert isinstance(caught.value, ValueError)
        assert isinstance(caught.value, OpenApiException)

    @pytest.mark.parametrize(
        "body",
        [
            {"modalities": ["text"]},
            {"modalities": ["audio", "text"]},
            {"input_audio_format": "g711_alaw", "output_audio_format": "pcm16"},
            {"turn_detection": {"type": "server_vad"}},
            {"turn_detection": {"type": "semantic_vad", "eagerness": "low"}},
            {"turn_detection": {"eagerness": "medium"}},
            {"turn_detection": {"eagerness": "auto"}},
            {"input_audio_noise_reduction": {"type": "near_field"}},
            {"tools": [{"type": "function", "name": "f"}]},
            {"client_secret": {"expires_after": {"anchor": "created_at"}}},
        ],
    )
    def test_every_allowed_value_is_sent(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer, body: dict[str, Any]
    ) -> None:
        api.create_realtime_session(RealtimeSessionCreateRequest(**body))

        assert sent_json(openai_mock) == body


class TestBounds:
    @pytest.mark.parametrize("speed", [0.25, 1.0, 1.5])
    def test_speed_edges_sent(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer, speed: float
    ) -> None:
        session = api.create_realtime_session(RealtimeSessionCreateRequest(speed=speed))

        assert sent_json(openai_mock) == {"speed": speed}
        assert session.speed == speed

    @pytest.mark.parametrize("speed", [0.2499, 0.0, -1.0, 1.5001, 2.0])
    def test_speed_outside_refused(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer, speed: float
    ) -> None:
        with pytest.raises(ApiValidationError) as caught:
            api.create_realtime_session({"speed": speed})
        assert openai_mock.requests == []
        assert caught.value.errors[0].field == "speed"
        assert ("0.25" in str(caught.value)) or ("1.5" in str(caught.value))

    @pytest.mark.parametrize("seconds", [10, 7200])
    def test_expires_after_edges_sent(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer, seconds: int
    ) -> None:
        before = int(time.time())
        body = {"client_secret": {"expires_after": {"anchor": "created_at", "seconds": seconds}}}

        session = api.create_realtime_session(body)

        assert sent_json(openai_mock) == body
        assert session.client_secret.expires_at >= before + seconds

    @pytest.mark.parametrize("seconds", [9, 0, -10, 7201])
    def test_expires_after_outside_refused(self, seconds: int) -> None:
        with pytest.raises(ApiValidationError) as caught:
            RealtimeSessionCreateRequest(
                client_secret={"expires_after": {"anchor": "created_at", "seconds": seconds}}
            )
        assert caught.value.errors[0].field == "client_secret.expires_after.seconds"

    def test_bounds_checked_on_assignment(self) -> None:
        request = RealtimeSessionCreateRequest(speed=1.0)
        with pytest.raises(ApiValidationError):
            request.speed = 1.6
        assert request.speed == 1.0


class TestStrictTypes:
    """Values of the wrong type are refused, not quietly converted into something else."""

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"speed": "1.2"}, "speed"),
            ({"temperature": "0.8"}, "temperature"),
            ({"max_response_output_tokens": True}, "max_response_output_tokens"),
            ({"max_response_output_tokens": "4096"}, "max_response_output_tokens"),
            ({"turn_detection": {"create_response": "yes"}}, "turn_detection.create_response"),
            (
                {"turn_detection": {"silence_duration_ms": 500.0}},
                "turn_detection.silence_duration_ms",
            ),
            ({"instructions": 42}, "instructions"),
        ],
    )
    def test_wrong_type_refused_before_io(
        self,
        api: openapiopenai.RealtimeApi,
        openai_mock: MockServer,
        body: dict[str, Any],
        field: str,
    ) -> None:
        with pytest.raises(ApiValidationError) as caught:
            api.create_realtime_session(body)
        assert openai_mock.requests == []
        assert [error.field for error in caught.value.errors] == [field]

    def test_int_accepted_where_a_number_is_expected(self) -> None:
        assert RealtimeSessionCreateRequest(speed=1, temperature=1).to_dict() == {
            "speed": 1.0,
            "temperature": 1.0,
        }


class TestMisspelledNames:
    def test_unknown_keyword_is_an_error_with_a_suggestion(self) -> None:
        with pytest.raises(ApiValidationError) as caught:
            RealtimeSessionCreateRequest(instruction="Be brief.")
        assert caught.value.errors[0].field == "instruction"
        assert "'instructions'" in str(caught.value)
        assert "with_additional_properties" in str(caught.value)

    def test_unknown_key_in_dict_body_refused_before_io(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        with pytest.raises(ApiValidationError):
            api.create_realtime_session({"voice": "alloy", "temprature": 0.8})
        assert openai_mock.requests == []

    def test_unknown_nested_key_refused(self) -> None:
        with pytest.raises(ApiValidationError) as caught:
            RealtimeSessionCreateRequest(turn_detection={"type": "server_vad", "treshold": 0.5})
        assert caught.value.errors[0].field == "turn_detection.treshold"

    def test_unknown_attribute_assignment_is_an_error(self) -> None:
        request = RealtimeSessionCreateRequest()
        with pytest.raises(ApiAttributeError) as caught:
            request.instruction = "Be brief."  # type: ignore[attr-defined]
        assert isinstance(caught.value, AttributeError)
        assert "instruction" in str(caught.value)
        assert request.to_dict() == {}

    def test_known_attribute_assignment_is_validated_and_sent(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        request = RealtimeSessionCreateRequest()
        request.instructions = "Be brief."
        request.turn_detection = {"type": "server_vad"}  # type: ignore[assignment]
        with pytest.raises(ApiValidationError):
            request.voice = 7  # type: ignore[assignment]

        api.create_realtime_session(request)

        assert sent_json(openai_mock) == {
            "instructions": "Be brief.",
            "turn_detection": {"type": "server_vad"},
        }


class TestAdditionalProperties:
    def test_sent_alongside_known_fields(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        request = RealtimeSessionCreateRequest(voice="marin").with_additional_properties(
            {"include": ["item.input_audio_transcription.logprobs"]}, prompt={"id": "pmpt_1"}
        )
        # The service refuses fields it does not know, so the answer is scripted here.
        openai_mock.respond_next(200, canned_session())

        api.create_realtime_session(request)

        assert sent_json(openai_mock) == {
            "voice": "marin",
            "include": ["item.input_audio_transcription.logprobs"],
            "prompt": {"id": "pmpt_1"},
        }
        assert request.additional_properties == {
            "include": ["item.input_audio_transcription.logprobs"],
            "prompt": {"id": "pmpt_1"},
        }

    def test_original_unchanged(self) -> None:
        request = RealtimeSessionCreateRequest()
        request.with_additional_properties(extra=1)
        assert request.to_dict() == {}

    def test_known_name_refused(self) -> None:
        with pytest.raises(ApiValidationError) as caught:
            RealtimeSessionCreateRequest().with_additional_properties(voice="alloy")
        assert caught.value.errors[0].field == "voice"

    def test_on_nested_model(self, api: openapiopenai.RealtimeApi, openai_mock: MockServer) -> None:
        detection = RealtimeSessionCreateRequestTurnDetection(
            type="server_vad"
        ).with_additional_properties(idle_timeout_ms=5000)
        openai_mock.respond_next(200, canned_session())

        api.create_realtime_session(RealtimeSessionCreateRequest(turn_detection=detection))

        assert sent_json(openai_mock) == {
            "turn_detection": {"type": "server_vad", "idle_timeout_ms": 5000}
        }

    def test_copy_does_not_share_nested_models(self) -> None:
        original = RealtimeSessionCreateRequest(turn_detection={"type": "server_vad"})
        copy = original.with_additional_properties(extra=1)

        assert copy.turn_detection is not None and original.turn_detection is not None
        copy.turn_detection.type = "semantic_vad"

        assert original.turn_detection.type == "server_vad"
        assert original.to_dict() == {"turn_detection": {"type": "server_vad"}}

    def test_keys_masked_in_text_sent_as_given(self) -> None:
        key = "sk-ABCDEFGHIJKLMNOP"
        request = RealtimeSessionCreateRequest(voice="ash").with_additional_properties(
            {"x_key": key, "nested": {"keys": [key]}}
        )

        for text in (repr(request), str(request), request.to_str()):
            assert key not in text
            assert "x_key" in text
        assert request.to_dict()["x_key"] == key
        assert request.to_dict()["nested"] == {"keys": [key]}
        assert key in request.to_json()

    def test_mock_refuses_them_like_the_service(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        request = RealtimeSessionCreateRequest().with_additional_properties(prompt={"id": "p"})

        with pytest.raises(BadRequestException) as caught:
            api.create_realtime_session(request)

        assert caught.value.message == "Unknown parameter: 'prompt'."
        assert caught.value.param == "prompt"
        assert sent_json(openai_mock) == {"prompt": {"id": "p"}}


class TestModelCopy:
    def test_unknown_update_key_refused_like_the_constructor(self) -> None:
        request = RealtimeSessionCreateRequest(voice="ash")
        with pytest.raises(ApiValidationError) as caught:
            request.model_copy(update={"speeed": 1})
        with pytest.raises(ApiValidationError) as from_constructor:
            RealtimeSessionCreateRequest(voice="ash", speeed=1)
        assert [error.field for error in caught.value.errors] == ["speeed"]
        assert caught.value.errors == from_constructor.value.errors

    def test_update_values_validated(self) -> None:
        with pytest.raises(ApiValidationError) as caught:
            RealtimeSessionCreateRequest().model_copy(update={"speed": 9})
        assert [error.field for error in caught.value.errors] == ["speed"]

    def test_update_sent_with_the_rest(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        original = RealtimeSessionCreateRequest(
            voice="ash", turn_detection={"type": "server_vad"}
        ).with_additional_properties(prompt={"id": "pmpt_1"})
        openai_mock.respond_next(200, canned_session())

        api.create_realtime_session(
            original.model_copy(update={"speed": 1.2, "turn_detection": None})
        )

        assert sent_json(openai_mock) == {
            "voice": "ash",
            "turn_detection": None,
            "speed": 1.2,
            "prompt": {"id": "pmpt_1"},
        }
        assert original.to_dict() == {
            "voice": "ash",
            "turn_detection": {"type": "server_vad"},
            "prompt": {"id": "pmpt_1"},
        }

    @pytest.mark.parametrize("deep", [False, True])
    def test_deep_decides_whether_nested_models_are_shared(self, deep: bool) -> None:
        original = RealtimeSessionCreateRequest(turn_detection={"type": "server_vad"})
        copy = original.model_copy(update={"speed": 1.2}, deep=deep)
        assert (copy.turn_detection is original.turn_detection) is not deep
        assert copy.to_dict() == {"turn_detection": {"type": "server_vad"}, "speed": 1.2}


class TestNone:
    @pytest.mark.parametrize(
        "field",
        ["turn_detection", "input_audio_transcription", "input_audio_noise_reduction", "tracing"],
    )
    def test_nullable_none_sent_as_null(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer, field: str
    ) -> None:
        session = api.create_realtime_session(RealtimeSessionCreateRequest(**{field: None}))

        assert openai_mock.requests[-1].body == f'{{"{field}":null}}'.encode()
        assert session.to_dict()[field] is None

    @pytest.mark.parametrize(
        "field",
        [
            "modalities",
            "model",
            "instructions",
            "voice",
            "input_audio_format",
            "output_audio_format",
            "speed",
            "tools",
            "tool_choice",
            "temperature",
            "max_response_output_tokens",
            "client_secret",
        ],
    )
    def test_other_none_not_sent(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer, field: str
    ) -> None:
        body: dict[str, Any] = {"tool_choice": "none", field: None}
        api.create_realtime_session(RealtimeSessionCreateRequest(**body))

        expected = {} if field == "tool_choice" else {"tool_choice": "none"}
        assert sent_json(openai_mock) == expected

    def test_none_inside_nested_models_not_sent(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        api.create_realtime_session(
            {
                "turn_detection": {"type": "server_vad", "threshold": None},
                "input_audio_transcription": {"model": "whisper-1", "language": None},
                "client_secret": {"expires_after": {"anchor": "created_at", "seconds": None}},
            }
        )

        assert sent_json(openai_mock) == {
            "turn_detection": {"type": "server_vad"},
            "input_audio_transcription": {"model": "whisper-1"},
            "client_secret": {"expires_after": {"anchor": "created_at"}},
        }

    def test_assigning_none_to_nullable_sends_null(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        request = RealtimeSessionCreateRequest(turn_detection={"type": "server_vad"})
        request.turn_detection = None

        api.create_realtime_session(request)

        assert sent_json(openai_mock) == {"turn_detection": None}


class TestGeneratorDefectsAbsent:
    """Faults of the stock generated client that this SDK must not have."""

    def test_no_defaults_injected_into_nested_objects(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        api.create_realtime_session(
            RealtimeSessionCreateRequest(
                turn_detection={"type": "semantic_vad"},
                client_secret={"expires_after": {"anchor": "created_at"}},
            )
        )

        assert sent_json(openai_mock) == {
            "turn_detection": {"type": "semantic_vad"},
            "client_secret": {"expires_after": {"anchor": "created_at"}},
        }

    def test_turn_detection_null_and_new_model_accepted_together(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        session = api.create_realtime_session(
            RealtimeSessionCreateRequest(model="gpt-realtime", turn_detection=None)
        )

        assert sent_json(openai_mock) == {"model": "gpt-realtime", "turn_detection": None}
        assert session.turn_detection is None

    def test_no_wrapper_objects_needed(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        request = RealtimeSessionCreateRequest(
            voice="cedar", max_response_output_tokens="inf", tracing="auto"
        )

        assert request.voice == "cedar"
        assert request.max_response_output_tokens == "inf"
        assert request.tracing == "auto"
        api.create_realtime_session(request)
        assert sent_json(openai_mock) == {
            "voice": "cedar",
            "max_response_output_tokens": "inf",
            "tracing": "auto",
        }


def test_repr_shows_only_set_fields() -> None:
    text = repr(RealtimeSessionCreateRequest(voice="alloy"))
    assert text == "RealtimeSessionCreateRequest(voice='alloy')"


class TestValuesWithoutJsonForm:
    """Values JSON cannot carry fail before I/O with an SDK error, not silently or obscurely."""

    @pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
    def test_non_finite_temperature_refused(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer, value: float
    ) -> None:
        with pytest.raises(ApiValidationError) as caught:
            api.create_realtime_session({"temperature": value})
        assert caught.value.errors[0].field == "temperature"
        assert openai_mock.requests == []

    def test_nan_in_json_refused(self) -> None:
        with pytest.raises(ApiValidationError):
            RealtimeSessionCreateRequest.from_json('{"temperature": NaN}')

    @pytest.mark.parametrize(
        "request_",
        [
            RealtimeSessionCreateRequest(instructions="lone surrogate \ud800"),
            RealtimeSessionCreateRequest(tracing={"metadata": {"when": object()}}),
        ],
        ids=["surrogate", "object-in-metadata"],
    )
    def test_unserialisable_request_refused_before_io(
        self,
        api: openapiopenai.RealtimeApi,
        openai_mock: MockServer,
        request_: RealtimeSessionCreateRequest,
    ) -> None:
        with pytest.raises(ApiValueError) as caught:
            api.create_realtime_session(request_)
        assert "cannot be written as JSON" in str(caught.value)
        assert openai_mock.requests == []
