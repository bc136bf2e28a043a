"""Credentials a model holds are masked in everything it prints: ``repr``, ``str``, ``to_str``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from openapiopenai.models import MCPTool, RealtimeSessionCreateRequestGA

#: A credential with no recognisable shape: only the exact value can give it away.
PLAIN_TOKEN = "mcp7d4f0c2a9b1e5f3a8c6dQ"
MCP_HEADERS = {"X-Api-Key": PLAIN_TOKEN, "Authorization": f"Bearer {PLAIN_TOKEN}x"}


def _mcp_tool() -> MCPTool:
    return MCPTool(
        type="mcp",
        server_label="crm",
        server_url="https://mcp.example.com",
        authorization=PLAIN_TOKEN,
        headers=MCP_HEADERS,
    )


@pytest.mark.parametrize("render", [repr, str, MCPTool.to_str], ids=["repr", "str", "to_str"])
def test_mcp_tool_headers_are_masked_like_its_authorization(render: Callable[[Any], str]) -> None:
    shown = render(_mcp_tool())

    assert PLAIN_TOKEN not in shown
    assert "X-Api-Key" in shown  # the names stay readable: only values are credentials
    assert "crm" in shown


def test_mcp_tool_headers_are_masked_inside_a_session() -> None:
    session = RealtimeSessionCreateRequestGA(type="realtime", tools=[_mcp_tool()])

    for shown in (repr(session), str(session), session.to_str()):
        assert PLAIN_TOKEN not in shown
    assert session.to_dict()["tools"][0]["headers"] == MCP_HEADERS  # still sent as given
