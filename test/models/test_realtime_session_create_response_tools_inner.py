"""RealtimeSessionCreateResponseToolsInner: tools as the session runs them."""

from __future__ import annotations

from openapiopenai.models.realtime_session_create_response_tools_inner import (
    RealtimeSessionCreateResponseToolsInner as Tool,
)


def test_fields_read() -> None:
    tool = Tool.from_dict(
        {"type": "function", "name": "f", "description": "does f", "parameters": {"type": "object"}}
    )
    assert (tool.type, tool.name, tool.description) == ("function", "f", "does f")
    assert tool.parameters == {"type": "object"}


def test_other_tool_types_kept() -> None:
    tool = Tool.from_dict({"type": "mcp", "server_url": "https://example.invalid/mcp"})
    assert tool.type == "mcp"
    assert tool.additional_properties == {"server_url": "https://example.invalid/mcp"}
