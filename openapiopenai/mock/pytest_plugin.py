"""pytest plugin (registered automatically on install): the ``openai_mock`` fixture.

``openai_mock`` is a running :class:`~openapiopenai.mock.MockServer`; ``openai_mock.url`` is
the base URL to configure, for HTTP and WebSocket alike (``openai_mock.realtime`` scripts the
WebSocket side). ``openai_mock_configuration`` is a ``Configuration`` pointing at it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openapiopenai.configuration import Configuration
from openapiopenai.mock import MockServer


@pytest.fixture
def openai_mock() -> Iterator[MockServer]:
    """A fake of OpenAI's Realtime API (HTTP and WebSocket) on 127.0.0.1, stopped after the
    test."""
    server = MockServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def openai_mock_configuration(openai_mock: MockServer) -> Configuration:
    """A configuration that talks to ``openai_mock`` with a dummy key and no retry delays."""
    return Configuration(
        host=openai_mock.url,
        access_token="sk-test-mock",  # noqa: S106 (the mock accepts any key)
        ignore_environment=True,
    )
