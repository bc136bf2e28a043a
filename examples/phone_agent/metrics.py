"""The worker's metrics, served at ``GET /metrics`` in Prometheus' text format.

Each worker has a registry of its own (not ``prometheus_client``'s global one), so two agents
in one process, as in tests, count apart. Without ``prometheus_client`` installed the agent
runs as before and ``/metrics`` is not served.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any


def _prometheus() -> ModuleType | None:
    """``prometheus_client``, if installed (the examples extra brings it)."""
    try:
        return importlib.import_module("prometheus_client")
    except ImportError:
        return None


prometheus_client = _prometheus()

#: Tool calls take milliseconds to seconds; a call's first answer, tenths to seconds.
TOOL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
FIRST_ANSWER_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """What one worker counts: calls held now, accepted, rejected by reason, taken over,
    duplicate webhooks, tool call seconds by tool, webhook-to-first-tool-answer seconds."""

    def __init__(self) -> None:
        self.registry: Any = None
        if prometheus_client is None:
            return
        p = prometheus_client
        self.registry = registry = p.CollectorRegistry()
        self._active = p.Gauge(
            "phone_agent_calls_active", "Calls this worker holds now", registry=registry
        )
        self._accepted = p.Counter(
            "phone_agent_calls_accepted", "Calls this worker accepted", registry=registry
        )
        self._rejected = p.Counter(
            "phone_agent_calls_rejected",
            "Calls turned down, by reason",
            ["reason"],
            registry=registry,
        )
        self._taken_over = p.Counter(
            "phone_agent_calls_taken_over",
            "Calls this worker took over from another",
            registry=registry,
        )
        self._duplicates = p.Counter(
            "phone_agent_webhooks_duplicate",
            "Webhook deliveries handled already (by any worker)",
            registry=registry,
        )
        self._tool_seconds = p.Histogram(
            "phone_agent_tool_call_seconds",
            "From the model's tool call to its output reaching the service",
            ["tool"],
            buckets=TOOL_BUCKETS,
            registry=registry,
        )
        self._first_answer = p.Histogram(
            "phone_agent_first_tool_answer_seconds",
            "From the webhook to the call's first tool output reaching the service",
            buckets=FIRST_ANSWER_BUCKETS,
            registry=registry,
        )

    def watch_active(self, count: Callable[[], int]) -> None:
        """The active-calls gauge reads ``count()`` when scraped."""
        if self.registry is not None:
            self._active.set_function(count)

    def accepted(self) -> None:
        if self.registry is not None:
            self._accepted.inc()

    def rejected(self, reason: str) -> None:
        if self.registry is not None:
            self._rejected.labels(reason=reason).inc()

    def taken_over(self) -> None:
        if self.registry is not None:
            self._taken_over.inc()

    def duplicate(self) -> None:
        if self.registry is not None:
            self._duplicates.inc()

    def tool_seconds(self, tool: str, seconds: float) -> None:
        if self.registry is not None:
            self._tool_seconds.labels(tool=tool).observe(seconds)

    def first_tool_answer(self, seconds: float) -> None:
        if self.registry is not None:
            self._first_answer.observe(seconds)

    def render(self) -> tuple[bytes, str] | None:
        """The metrics as text and their content type; ``None`` without prometheus_client."""
        if prometheus_client is None or self.registry is None:
            return None
        body = prometheus_client.generate_latest(self.registry)
        return body, prometheus_client.CONTENT_TYPE_LATEST
