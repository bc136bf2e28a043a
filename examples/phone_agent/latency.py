#!/usr/bin/env python3
"""How long from OpenAI's webhook to the first tool answer, against the offline mock.

Each run: the mock sends a signed ``realtime.call.incoming``; the agent verifies it, accepts
the call, opens the sideband and asks for its greeting, in which the scripted model calls
``order_status``; the clock stops when the mock receives the ``function_call_output``.
Everything runs on 127.0.0.1 in this process, so this is the agent's and the SDK's own cost
(plus the mock's), not the service's or the network's.

    python examples/phone_agent/latency.py --runs 50
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from typing import Any

from agent import AgentServer, AgentSettings, PhoneAgent

from openapiopenai import ApiClient, Configuration, RealtimeApi
from openapiopenai.mock import MockServer

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 (the mock's, made up)


def tool_output_seen(mock: MockServer, call_id: str, timeout: float = 10.0) -> bool:
    """Poll (every 0.2 ms, bounded) until the mock has received the call's tool output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in reversed(mock.realtime.received):
            item = event.get("item") or {}
            if item.get("type") == "function_call_output" and item.get("call_id") == call_id:
                return True
        time.sleep(0.0002)
    return False


def one_run(mock: MockServer, agent: PhoneAgent, url: str) -> dict[str, float]:
    """Milliseconds from the webhook's start to its 200, and to the first tool answer."""
    mock.realtime.clear()
    tool_call = mock.realtime.script_tool_call("order_status", {"order_number": 42})
    start = time.perf_counter()
    status, call_id = mock.send_incoming_call(url, secret=SECRET)
    answered = time.perf_counter()
    if status != 200 or not tool_output_seen(mock, tool_call):
        raise RuntimeError(f"run failed: webhook {status}, no tool output for {call_id}")
    done = time.perf_counter()
    agent.api.hangup_realtime_call(call_id)
    agent.switchboard.records[call_id].ended.wait(10)
    return {"webhook_ms": (answered - start) * 1e3, "tool_answer_ms": (done - start) * 1e3}


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 2),
        "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 2),
        "min": round(ordered[0], 2),
        "max": round(ordered[-1], 2),
    }


def measure(runs: int) -> dict[str, Any]:
    """``runs`` calls one after another (after one warm-up call), summarised."""
    mock = MockServer()
    base = mock.start()
    configuration = Configuration(host=base, access_token="sk-mock", ignore_environment=True)  # noqa: S106
    client = ApiClient(configuration)
    agent = PhoneAgent(RealtimeApi(client), AgentSettings(webhook_secret=SECRET, max_calls=2))
    server = AgentServer(agent, "127.0.0.1", 0)
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    try:
        one_run(mock, agent, server.url)  # warm-up: imports, first connections
        results = [one_run(mock, agent, server.url) for _ in range(runs)]
    finally:
        server.stop()
        serving.join(10)
        agent.switchboard.end_all(10)
        client.close()
        mock.stop()
    return {
        "runs": runs,
        "python": sys.version.split()[0],
        **{key: summary([r[key] for r in results]) for key in ("webhook_ms", "tool_answer_ms")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    print(json.dumps(measure(parser.parse_args().runs), indent=2))


if __name__ == "__main__":
    main()
