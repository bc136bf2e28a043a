"""RealtimeSessionCreateResponseClientSecret: the key is readable but never printed."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest

import openapiopenai
from openapiopenai.exceptions import ApiValidationError
from openapiopenai.mock import MockServer
from openapiopenai.models.realtime_session_create_response_client_secret import (
    RealtimeSessionCreateResponseClientSecret as ClientSecret,
)
from test.conftest import EPHEMERAL_KEY


def make() -> ClientSecret:
    return ClientSecret.from_dict({"value": EPHEMERAL_KEY, "expires_at": 1_700_000_000})


def test_value_readable() -> None:
    assert make().value == EPHEMERAL_KEY


@pytest.mark.parametrize("render", [repr, str, ClientSecret.to_str, "{!r}".format, "{}".format])
def test_value_masked_in_text(render: object) -> None:
    text = render(make())  # type: ignore[operator]
    assert EPHEMERAL_KEY not in text
    assert "ek_***" in text


def test_value_kept_in_data() -> None:
    secret = make()
    assert secret.to_dict() == {"value": EPHEMERAL_KEY, "expires_at": 1_700_000_000}
    assert EPHEMERAL_KEY in secret.to_json()
    assert EPHEMERAL_KEY.encode() in secret.to_json_bytes()


def test_short_value_fully_masked() -> None:
    secret = ClientSecret(value="ek_short", expires_at=1)
    assert "ek_short" not in repr(secret)


def test_expires_at_datetime_is_aware_utc() -> None:
    moment = make().expires_at_datetime
    assert moment == datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)
    assert moment.tzinfo is timezone.utc


def test_required_fields() -> None:
    with pytest.raises(ApiValidationError) as caught:
        ClientSecret.from_dict({})
    assert {error.field for error in caught.value.errors} == {"value", "expires_at"}


def test_minted_key_never_logged(openai_mock: MockServer, caplog: pytest.LogCaptureFixture) -> None:
    configuration = openapiopenai.Configuration(
        host=openai_mock.url, access_token="sk-test-logging-0123456789"
    )
    with (
        caplog.at_level(logging.DEBUG, logger="openapiopenai"),
        openapiopenai.ApiClient(configuration) as client,
    ):
        session = openapiopenai.RealtimeApi(client).create_realtime_session({})
        logging.getLogger("openapiopenai").debug("session: %s", session)

    assert session.client_secret.value.startswith("ek_")
    assert caplog.records
    assert session.client_secret.value not in caplog.text
    assert "sk-test-logging-0123456789" not in caplog.text
