"""The tools the model may call on calls the broker opens, answered in the broker's process.

Each is a plain typed Python function: its name, docstring and type hints become the tool's
definition (``openapiopenai.realtime.tools.FunctionTools``). Put your own here.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from openapiopenai.realtime.tools import ToolError


def current_time(time_zone: str = "UTC") -> str:
    """The current date and time in an IANA time zone such as Europe/Paris."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(
            f"unknown time zone {time_zone[:64]!r}; use a name like Europe/Paris"
        ) from None
    return datetime.datetime.now(zone).strftime("%A %d %B %Y, %H:%M (%Z)")


def days_until(date: datetime.date) -> str:
    """How many days from today (UTC) until a date."""
    days = (date - datetime.datetime.now(datetime.timezone.utc).date()).days
    if days < 0:
        return f"{date.isoformat()} was {-days} days ago."
    return f"{days} days until {date.isoformat()}."


#: Every tool the broker offers.
TOOLS: list[Callable[..., Any]] = [current_time, days_until]
