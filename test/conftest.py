"""Shared fixtures: the SDK pointed at a real mock server on 127.0.0.1, with a clean environment.

The ``openai_mock`` fixture itself comes from the package's pytest plugin
(``openapiopenai.mock.pytest_plugin``), the same one users get.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import openapiopenai
from openapiopenai.configuration import Configuration
from openapiopenai.mock import MockServer

API_KEY = "sk-test-0123456789abcdefghijklmnopqrstuv"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's OPENAI_* variables or leaves a default behind."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)
    yield
    Configuration.set_default(None)
    openapiopenai.ApiClient.set_default(None)


@pytest.fixture
def configuration(openai_mock: MockServer) -> Configuration:
    """A configuration aimed at the mock, with a fake key and quick retries."""
    return Configuration(
        host=openai_mock.url,
        access_token=API_KEY,
        retries=openapiopenai.RetryPolicy(total=2, backoff_factor=0.01, backoff_jitter=0),
    )


@pytest.fixture
def api_client(configuration: Configuration) -> Iterator[openapiopenai.ApiClient]:
    with openapiopenai.ApiClient(configuration) as client:
        yield client


@pytest.fixture
def api(api_client: openapiopenai.ApiClient) -> openapiopenai.RealtimeApi:
    return openapiopenai.RealtimeApi(api_client)
