#!/usr/bin/env python3
"""How a fleet of phone agents behaves, measured offline: a ``redis-server``, worker processes
of ``agent.py --store redis://...`` and the SDK's mock (in this process), all on 127.0.0.1.

1. Webhook to first tool answer through the fleet: the mock's scripted model calls
   ``order_status`` in the greeting; the clock runs from the webhook's POST to the mock's
   receipt of the ``function_call_output``.
2. Takeover: on a call, the model calls ``order_status`` and the order system, slowed to
   ``--order-seconds``, is still answering when its worker is killed (SIGKILL). The clock
   runs from the kill to another worker's lease on the call, and to the output of the worker
   that took the call over (it runs the tool again, as it only reads: the order system's
   time is part of it).

    python examples/phone_agent/fleet_bench.py --kills 20 --runs 30
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from calls import wait_for
from fleet_lab import RedisServer, Worker, deliver, signed_delivery
from redis_store import RedisStore

from openapiopenai import ApiClient, Configuration, RealtimeApi
from openapiopenai.mock import MockServer

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 (the mock's, made up)


def output_seen(mock: MockServer, tool_call_id: str, timeout: float = 30.0) -> float | None:
    """When (perf_counter) the mock received the tool call's output; polled every 0.2 ms."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in reversed(mock.realtime.received):
            item = event.get("item") or {}
            if item.get("type") == "function_call_output" and item.get("call_id") == tool_call_id:
                return time.perf_counter()
        time.sleep(0.0002)
    return None


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 3),
        "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 3),
        "min": round(ordered[0], 3),
        "max": round(ordered[-1], 3),
    }


class Lab:
    """The fleet under measurement."""

    def __init__(self, workers: int, lease: float, order_seconds: float, logs: Path) -> None:
        self.redis = RedisServer()
        self.mock = MockServer()
        self.mock.start()
        self.store = RedisStore(self.redis.url)
        config = Configuration(host=self.mock.url, access_token="sk-bench", ignore_environment=True)  # noqa: S106
        self.client = ApiClient(config)
        self.api = RealtimeApi(self.client)
        self.logs = logs
        self.arguments = ("--lease-seconds", str(lease), "--max-calls", "100")
        self.environment = {"BAKERY_ORDER_SECONDS": str(order_seconds)}
        self.started = 0
        self.workers = [self.start_worker() for _ in range(workers)]

    def start_worker(self) -> Worker:
        self.started += 1
        log = self.logs / f"worker-{self.started}.log"
        return Worker(self.redis.url, self.mock.url, SECRET, log, self.arguments, self.environment)

    def call(self, worker: Worker) -> str:
        call_id = self.mock.incoming_call()
        if deliver(worker.url, signed_delivery(call_id, SECRET)) != 200:
            raise RuntimeError("the webhook failed")
        return call_id

    def webhook_to_tool_answer(self, index: int) -> float:
        self.mock.realtime.clear()
        tool_call = self.mock.realtime.script_tool_call("order_status", {"order_number": 42})
        start = time.perf_counter()
        call_id = self.call(self.workers[index % len(self.workers)])
        done = output_seen(self.mock, tool_call)
        if done is None:
            raise RuntimeError(f"no tool output on {call_id}")
        self.api.hangup_realtime_call(call_id)
        time.sleep(0.2)  # the model's answer on that call is done before the next script
        return done - start

    def kill_to_tool_answer(self) -> tuple[float, float]:
        """Seconds from the kill to another worker's lease on the call, and to the output of
        the tool call that was running (run again there)."""
        self.mock.realtime.clear()
        call_id = self.call(self.workers[0])
        wait_for(
            lambda: any(e["type"] == "response.create" for e in self.mock.realtime.received), 10
        )
        time.sleep(0.2)  # the greeting is done
        tool_call = self.mock.realtime.script_tool_call("order_status", {"order_number": 42})
        with self.api.connect(call_id=call_id, receive_timeout=10) as caller:
            caller.response.create()
            if not wait_for(lambda: tool_call in self.store.tool_runs(call_id), 10):
                raise RuntimeError("the tool call never started")
        owner = self.store.owner(call_id)
        victim = next(w for w in self.workers if (owner or "").split("-")[-2] == str(w.process.pid))
        killed = time.perf_counter()
        victim.kill()
        wait_for(lambda: self.store.owner(call_id) not in (None, owner), 30, step=0.002)
        taken = time.perf_counter()
        done = output_seen(self.mock, tool_call)
        if done is None:
            raise RuntimeError(f"no tool output after the kill on {call_id}")
        self.api.hangup_realtime_call(call_id)
        time.sleep(0.2)
        self.workers.remove(victim)
        self.workers.insert(0, self.start_worker())
        return taken - killed, done - killed

    def close(self) -> None:
        for worker in self.workers:
            worker.kill()
        self.store.close()
        self.client.close()
        self.mock.stop()
        self.redis.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--runs", type=int, default=30, help="calls timed to the first answer")
    parser.add_argument("--kills", type=int, default=20, help="workers killed mid-tool-call")
    parser.add_argument("--lease-seconds", type=float, default=6.0)
    parser.add_argument("--order-seconds", type=float, default=0.5, help="the slow tool's time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as logs:
        lab = Lab(args.workers, args.lease_seconds, args.order_seconds, Path(logs))
        try:
            lab.webhook_to_tool_answer(0)  # warm-up
            first = [lab.webhook_to_tool_answer(i) for i in range(args.runs)]
            kills = [lab.kill_to_tool_answer() for _ in range(args.kills)]
        finally:
            lab.close()
    result: dict[str, Any] = {
        "python": sys.version.split()[0],
        "workers": args.workers,
        "lease_seconds": args.lease_seconds,
        "order_seconds": args.order_seconds,
        "webhook_to_first_tool_answer_s": summary(first) if first else None,
        "kill_to_taken_over_s": summary([k[0] for k in kills]) if kills else None,
        "kill_to_tool_answer_s": summary([k[1] for k in kills]) if kills else None,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
