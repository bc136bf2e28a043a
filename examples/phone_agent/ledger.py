"""Which worker answers each tool call of a call, kept in the store so that a tool call the
model made survives the worker that was running it.

A worker records a tool call before running it (``by`` itself); the output's
``conversation.item.added`` removes the record. A worker that takes a call over finds the
records left by another worker (it died mid-call, or handed the call over while the call came
in) and answers them: again if the tool is safe to run twice, else with an error telling the
model to ask again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from store import CallStore, StoreUnavailable, ToolRun

LOG = logging.getLogger("phone_agent")
ToolSeconds = Callable[[str, float], None]


class ToolLedger:
    """The tool calls of one call, for one worker: claiming, answering, and finding orphans."""

    def __init__(
        self, store: CallStore, call_id: str, owner: str, tool_seconds: ToolSeconds
    ) -> None:
        self.store = store
        self.call_id = call_id
        self.owner = owner
        self._tool_seconds = tool_seconds
        #: Tool calls this worker answers and whose output the service has yet to show.
        self._running: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        #: Set while handing the call over: calls seen are recorded for the next owner.
        self.handing_over = False

    def claim(self, tool_call_id: str, name: str, arguments: str) -> bool:
        """Whether this worker answers a tool call it has just seen; it is recorded first.

        While handing over, the call is only recorded (the next owner answers it). Without
        the store, the worker answers what it sees: its calls go on.
        """
        seen = ToolRun(name, arguments)
        mine = ToolRun(name, arguments, self.owner)
        try:
            if self.handing_over:
                self.store.swap_tool(self.call_id, tool_call_id, None, seen)
                return False
            won = self.store.swap_tool(self.call_id, tool_call_id, None, mine) or (
                self.store.swap_tool(self.call_id, tool_call_id, seen, mine)
            )
        except StoreUnavailable:
            won = True
        if won:
            self._started(tool_call_id, name)
        return won

    def _started(self, tool_call_id: str, name: str) -> None:
        with self._lock:
            self._running[tool_call_id] = (name, time.monotonic())

    def answered(self, tool_call_id: str) -> bool:
        """The service shows the output of ``tool_call_id``; ``True`` if this worker sent it."""
        with self._lock:
            started = self._running.pop(tool_call_id, None)
        if started is None:
            return False
        name, since = started
        self._tool_seconds(name, time.monotonic() - since)
        try:
            self.store.tool_answered(self.call_id, tool_call_id)
        except StoreUnavailable:
            LOG.warning("call %s: the store missed a tool's answer", self.call_id[:12])
        return True

    def running(self) -> int:
        """How many tool calls this worker has running (output not yet shown)."""
        with self._lock:
            return len(self._running)

    def orphans(self, idempotent: frozenset[str]) -> list[tuple[str, ToolRun, bool]]:
        """Take the tool calls other workers left unanswered: ``(tool call id, record,
        run it)``, ``run it`` false for a tool that was running and is not safe to repeat."""
        taken = []
        try:
            for tool_call_id, run in self.store.tool_runs(self.call_id).items():
                if run.by == self.owner:
                    continue
                mine = ToolRun(run.name, run.arguments, self.owner)
                if self.store.swap_tool(self.call_id, tool_call_id, run, mine):
                    self._started(tool_call_id, run.name)
                    taken.append((tool_call_id, run, not run.by or run.name in idempotent))
        except StoreUnavailable:
            return taken
        return taken


def interrupted_output(name: str) -> str:
    """What the model reads for a tool call cut off by a worker's death, not safe to repeat."""
    message = (
        f"{name} was interrupted and may or may not have happened. Tell the caller, "
        "and call it again if they still want it."
    )
    return json.dumps({"error": message})


def output_item(tool_call_id: str, output: str) -> dict[str, Any]:
    """The ``function_call_output`` item answering ``tool_call_id``."""
    return {"type": "function_call_output", "call_id": tool_call_id, "output": output}
