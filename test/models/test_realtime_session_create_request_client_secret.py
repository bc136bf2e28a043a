"""RealtimeSessionCreateRequestClientSecret: options of the key to mint."""

from __future__ import annotations

import pytest

import openapiopenai
from openapiopenai.exceptions import ApiValidationError
from openapiopenai.mock import MockServer
from openapiopenai.models.realtime_session_create_request_client_secret import (
    RealtimeSessionCreateRequestClientSecret as ClientSecret,
)
from openapiopenai.models.realtime_session_create_request_client_secret_expires_after import (
    RealtimeSessionCreateRequestClientSecretExpiresAfter as ExpiresAfter,
)
from test.conftest import sent_json


def test_models_and_dicts_send_the_same(
    api: openapiopenai.RealtimeApi, openai_mock: MockServer
) -> None:
    as_models = ClientSecret(expires_after=ExpiresAfter(anchor="created_at", seconds=3600))
    as_dicts = {"expires_after": {"anchor": "created_at", "seconds": 3600}}

    api.create_realtime_session(openapiopenai.RealtimeSessionCreateRequest(client_secret=as_models))
    first = sent_json(openai_mock)
    api.create_realtime_session({"client_secret": as_dicts})

    assert first == sent_json(openai_mock) == {"client_secret": as_dicts}


def test_empty_client_secret_sent_as_empty_object(
    api: openapiopenai.RealtimeApi, openai_mock: MockServer
) -> None:
    api.create_realtime_session({"client_secret": {}})
    assert sent_json(openai_mock) == {"client_secret": {}}


def test_wrong_type_refused() -> None:
    with pytest.raises(ApiValidationError) as caught:
        ClientSecret(expires_after=600)
    assert caught.value.errors[0].field == "expires_after"


def test_response_fields_are_not_request_fields() -> None:
    with pytest.raises(ApiValidationError) as caught:
        ClientSecret(value="ek_123456789")
    assert caught.value.errors[0].field == "value"
