"""RealtimeSessionCreateRequestInputAudioNoiseReduction: near or far field."""

from __future__ import annotations

import pytest

import openapiopenai
from openapiopenai.exceptions import ApiValidationError
from openapiopenai.mock import MockServer
from openapiopenai.models.realtime_session_create_request_input_audio_noise_reduction import (
    RealtimeSessionCreateRequestInputAudioNoiseReduction as NoiseReduction,
)
from test.conftest import sent_json


@pytest.mark.parametrize("kind", ["near_field", "far_field"])
def test_each_type_sent(api: openapiopenai.RealtimeApi, openai_mock: MockServer, kind: str) -> None:
    api.create_realtime_session(
        openapiopenai.RealtimeSessionCreateRequest(
            input_audio_noise_reduction=NoiseReduction(type=kind)
        )
    )

    assert sent_json(openai_mock) == {"input_audio_noise_reduction": {"type": kind}}


@pytest.mark.parametrize("kind", ["mid_field", "NEAR_FIELD", ""])
def test_bad_type_names_field_and_values(kind: str) -> None:
    with pytest.raises(ApiValidationError) as caught:
        NoiseReduction(type=kind)
    assert caught.value.errors[0].field == "type"
    assert "'near_field'" in str(caught.value)
    assert "'far_field'" in str(caught.value)


def test_unset_type_not_sent() -> None:
    assert NoiseReduction().to_dict() == {}
    assert NoiseReduction(type=None).to_json() == "{}"
