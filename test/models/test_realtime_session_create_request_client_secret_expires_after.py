"""RealtimeSessionCreateRequestClientSecretExpiresAfter: anchor required, 10..7200 seconds."""

from __future__ import annotations

import pytest

from openapiopenai.exceptions import ApiValidationError
from openapiopenai.models.realtime_session_create_request_client_secret_expires_after import (
    RealtimeSessionCreateRequestClientSecretExpiresAfter as ExpiresAfter,
)


def test_anchor_alone() -> None:
    assert ExpiresAfter(anchor="created_at").to_dict() == {"anchor": "created_at"}


def test_anchor_required() -> None:
    with pytest.raises(ApiValidationError) as caught:
        ExpiresAfter(seconds=600)  # type: ignore[call-arg]
    assert caught.value.errors[0].field == "anchor"


@pytest.mark.parametrize("anchor", ["expires_at", "now", "CREATED_AT"])
def test_bad_anchor(anchor: str) -> None:
    with pytest.raises(ApiValidationError) as caught:
        ExpiresAfter(anchor=anchor)  # type: ignore[arg-type]
    assert caught.value.errors[0].field == "anchor"
    assert "'created_at'" in str(caught.value)


@pytest.mark.parametrize("seconds", [10, 11, 600, 7199, 7200])
def test_seconds_within_bounds(seconds: int) -> None:
    assert ExpiresAfter(anchor="created_at", seconds=seconds).to_dict()["seconds"] == seconds


@pytest.mark.parametrize(("seconds", "bound"), [(9, "10"), (7201, "7200"), (-1, "10")])
def test_seconds_outside_bounds_name_the_bound(seconds: int, bound: str) -> None:
    with pytest.raises(ApiValidationError) as caught:
        ExpiresAfter(anchor="created_at", seconds=seconds)
    assert caught.value.errors[0].field == "seconds"
    assert bound in str(caught.value)


def test_seconds_must_be_whole() -> None:
    with pytest.raises(ApiValidationError):
        ExpiresAfter(anchor="created_at", seconds=60.5)  # type: ignore[arg-type]
