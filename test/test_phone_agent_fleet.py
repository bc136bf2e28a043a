"""The phone agent as a fleet: worker processes of ``agent.py`` sharing calls through a real
``redis-server``, one mock (in this process) playing OpenAI, all on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from openapiopenai import RealtimeApi
from openapiopenai.mock import MockServer

AGENT_DIR = Path(__file__).resolve().parents[1] / "examples" / "phone_agent"
if str(AGENT_DIR) not in sys.path:
    sys.path.insert(0, str(AGENT_DIR))


def _missing() -> str | None:
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (apt-get install redis-server)"
    for module in ("redis", "prometheus_client"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (the examples extra)"
    return None


if _missing():
    if os.environ.get("OPENAPIOPENAI_REQUIRE_REDIS") == "1":
        raise RuntimeError(f"the fleet tests are required, but: {_missing()}")
    pytest.skip(str(_missing()), allow_module_level=True)

import bakery  # noqa: E402
from calls import wait_for  # noqa: E402
from fleet_lab import (  # noqa: E402
    RedisServer,
    Worker,
    ask_tool,
    deliver,
    free_port,
    signed_delivery,
)
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from redis_store import RedisStore  # noqa: E402
from store import MemoryStore, Reservation, ToolRun  # noqa: E402

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#: Short leases keep the tests quick: renewed every 0.5 s, expired after 1.5 s.
LEASE = "1.5"
StartWorker = Callable[..., Worker]


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def store(redis_server: RedisServer) -> Iterator[RedisStore]:
    shared = RedisStore(redis_server.url)
    yield shared
    shared.close()


@pytest.fixture
def mock(openai_mock: MockServer) -> MockServer:
    """The plugin's mock, by a shorter name."""
    return openai_mock


@pytest.fixture
def start_worker(
    redis_server: RedisServer, mock: MockServer, tmp_path: Path
) -> Iterator[StartWorker]:
    """Start workers of one fleet; every one still running is killed afterwards."""
    workers: list[Worker] = []

    def start(*arguments: str, environment: dict[str, str] | None = None) -> Worker:
        log = tmp_path / f"worker-{len(workers)}.log"
        arguments = ("--lease-seconds", LEASE, *arguments)
        worker = Worker(redis_server.url, mock.url, SECRET, log, arguments, environment)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.kill()


def sidebands(mock: MockServer, call_id: str) -> int:
    """How many connections the call's session has now."""
    for session in mock.realtime.sessions:
        if getattr(session, "call_id", None) == call_id:
            return len(session.connections)
    return 0


def accepts(mock: MockServer, call_id: str) -> int:
    return sum(1 for action, _ in mock.calls[call_id].actions if action == "accept")


def greeted(mock: MockServer, count: int) -> bool:
    """Wait until ``count`` greetings were asked for and the mock's replies are done."""
    asked = wait_for(
        lambda: sum(e["type"] == "response.create" for e in mock.realtime.received) >= count, 10
    )
    time.sleep(0.3)  # the default replies take milliseconds
    return asked


def outputs(mock: MockServer, tool_call_id: str) -> list[str]:
    return [
        str(event["item"].get("output"))
        for event in mock.realtime.received
        if event["type"] == "conversation.item.create"
        and event["item"].get("call_id") == tool_call_id
    ]


def metric_samples(worker: Worker) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The worker's metrics, read by prometheus_client's own parser."""
    samples = {}
    for family in text_string_to_metric_families(worker.metrics()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_redelivered_webhooks_are_accepted_once_across_the_fleet(
    mock: MockServer, store: RedisStore, start_worker: StartWorker
) -> None:
    workers = [start_worker("--max-calls", "6") for _ in range(3)]
    calls = [mock.incoming_call() for _ in range(6)]
    for index, call_id in enumerate(calls):
        delivery = signed_delivery(call_id, SECRET)
        assert deliver(workers[index % 3].url, delivery) == 200
        assert deliver(workers[(index + 1) % 3].url, delivery) == 200  # the same webhook-id

    for call_id in calls:
        assert accepts(mock, call_id) == 1
        assert wait_for(lambda call_id=call_id: sidebands(mock, call_id) == 1, 10)
    time.sleep(1.0)  # leases renewed twice: nobody joins a second time
    assert [sidebands(mock, call_id) for call_id in calls] == [1] * 6
    assert store.live_calls() == 6  # capacity counted once per call: the line is full
    duplicates = [metric_samples(w)[("phone_agent_webhooks_duplicate_total", ())] for w in workers]
    assert sum(duplicates) == 6  # each redelivery known by its webhook-id
    seventh = mock.incoming_call()
    assert deliver(workers[0].url, signed_delivery(seventh, SECRET)) == 200
    assert mock.calls[seventh].actions == [("reject", 486)]


def test_capacity_is_shared_the_fifth_call_is_rejected_wherever_it_lands(
    mock: MockServer, store: RedisStore, start_worker: StartWorker
) -> None:
    workers = [start_worker("--max-calls", "4") for _ in range(3)]
    held = [mock.incoming_call() for _ in range(4)]
    for index, call_id in enumerate(held):
        assert deliver(workers[index % 3].url, signed_delivery(call_id, SECRET)) == 200
        assert accepts(mock, call_id) == 1
    for worker in workers:
        fifth = mock.incoming_call()
        assert deliver(worker.url, signed_delivery(fifth, SECRET)) == 200
        assert mock.calls[fifth].actions == [("reject", 486)]
    assert store.live_calls() == 4


def test_a_killed_workers_calls_are_taken_over_and_its_tool_calls_answered(
    mock: MockServer, api: RealtimeApi, store: RedisStore, start_worker: StartWorker
) -> None:
    slow_orders = {"BAKERY_ORDER_SECONDS": "1.5"}
    doomed = start_worker(environment=slow_orders)
    for _ in range(2):
        start_worker(environment=slow_orders)  # the survivors
    calls = [mock.incoming_call() for _ in range(3)]
    for call_id in calls:
        assert deliver(doomed.url, signed_delivery(call_id, SECRET)) == 200
    assert greeted(mock, 3)
    dead = store.owner(calls[0])
    assert dead is not None and all(store.owner(call_id) == dead for call_id in calls)

    # On the first call the model asks for an order: the slow order system is still
    # answering when the worker dies. On the second, a transfer was under way (recorded).
    running = mock.realtime.script_tool_call("order_status", {"order_number": 42})
    with api.connect(call_id=calls[0], receive_timeout=10) as conn:
        conn.response.create()
        assert wait_for(lambda: running in store.tool_runs(calls[0]), 10)
    store.swap_tool(calls[1], "call_transfer", None, ToolRun("transfer_to_person", "{}", dead))
    doomed.kill()
    killed_at = time.monotonic()

    for call_id in calls:
        assert wait_for(lambda call_id=call_id: sidebands(mock, call_id) == 1, 10)
        assert store.owner(call_id) not in (None, dead)
    assert time.monotonic() - killed_at < 10
    assert wait_for(lambda: outputs(mock, running) and outputs(mock, "call_transfer"), 10)
    assert outputs(mock, running) == [f"{bakery.ORDERS[42]}"]  # run again: it only reads
    assert "interrupted" in outputs(mock, "call_transfer")[0]  # not safe to repeat: ask again
    time.sleep(0.5)  # the model's answers to those outputs are done
    for call_id in calls:  # (a tool the slow order system does not slow down)
        assert "Friday" in ask_tool(api, mock, call_id, "opening_hours", {"day": "friday"})
    assert all(store.owner(call_id) not in (None, dead) for call_id in calls)


def test_a_transfer_asked_for_survives_a_takeover(
    mock: MockServer, api: RealtimeApi, store: RedisStore, start_worker: StartWorker
) -> None:
    doomed = start_worker("--transfer-to", "tel:+15550100077")
    call_id = mock.incoming_call()
    assert deliver(doomed.url, signed_delivery(call_id, SECRET)) == 200
    assert greeted(mock, 1)
    dead = store.owner(call_id)
    # The caller asked for a person; the worker dies before the goodbye is spoken.
    store.update(call_id, {"transfer_asked": "1"})
    start_worker("--transfer-to", "tel:+15550100077")
    doomed.kill()

    assert wait_for(lambda: store.owner(call_id) not in (None, dead), 10)
    assert wait_for(lambda: sidebands(mock, call_id) == 1, 10)
    with api.connect(call_id=call_id, receive_timeout=10) as conn:
        conn.response.create()  # the model says goodbye: the new owner transfers
        assert wait_for(lambda: mock.calls[call_id].referred_to is not None, 10)
    assert mock.calls[call_id].referred_to == "tel:+15550100077"
    assert wait_for(lambda: store.state(call_id).get("outcome") == "transferred", 10)
    assert store.live_calls() == 0


def test_the_time_limit_survives_a_takeover(
    mock: MockServer, store: RedisStore, start_worker: StartWorker
) -> None:
    doomed = start_worker("--time-limit", "5")
    call_id = mock.incoming_call()
    assert deliver(doomed.url, signed_delivery(call_id, SECRET)) == 200
    assert greeted(mock, 1)
    deadline = float(store.state(call_id)["deadline"])
    dead = store.owner(call_id)
    start_worker("--time-limit", "5")
    time.sleep(2)  # a fresh time limit from the takeover would end 4 s after the deadline
    doomed.kill()

    assert wait_for(lambda: store.owner(call_id) not in (None, dead), 10)
    assert wait_for(lambda: mock.calls[call_id].hung_up, 15)
    assert time.time() < deadline + 2  # the call's own deadline, not a new one
    assert wait_for(lambda: store.state(call_id).get("outcome") == "time limit", 10)


def test_a_dead_workers_line_is_freed_when_its_call_ended_meanwhile(
    mock: MockServer, api: RealtimeApi, store: RedisStore, start_worker: StartWorker
) -> None:
    doomed, survivor = start_worker("--max-calls", "1"), start_worker("--max-calls", "1")
    ended = mock.incoming_call()
    assert deliver(doomed.url, signed_delivery(ended, SECRET)) == 200
    assert wait_for(lambda: sidebands(mock, ended) == 1, 10)
    doomed.kill()
    api.hangup_realtime_call(ended)  # the caller hangs up while nobody holds the call
    assert store.live_calls() == 1

    assert wait_for(lambda: store.live_calls() == 0, 10)  # the taker found it ended
    assert store.state(ended)["outcome"] == "hung up"
    later = mock.incoming_call()
    assert deliver(survivor.url, signed_delivery(later, SECRET)) == 200
    assert accepts(mock, later) == 1


def test_a_restarted_worker_ignores_a_webhook_the_fleet_handled(
    mock: MockServer, store: RedisStore, start_worker: StartWorker
) -> None:
    first = start_worker()
    call_id = mock.incoming_call()
    delivery = signed_delivery(call_id, SECRET)
    assert deliver(first.url, delivery) == 200
    assert wait_for(lambda: sidebands(mock, call_id) == 1, 10)
    first.kill()

    restarted = start_worker()
    assert deliver(restarted.url, delivery) == 200
    assert accepts(mock, call_id) == 1
    assert metric_samples(restarted)[("phone_agent_webhooks_duplicate_total", ())] == 1
    assert wait_for(lambda: sidebands(mock, call_id) == 1, 10)  # taken over, not accepted
    assert store.live_calls() == 1


def test_sigterm_hands_calls_over_without_a_gap(
    mock: MockServer, api: RealtimeApi, store: RedisStore, start_worker: StartWorker
) -> None:
    # Leases of 6 s: waiting for one to run out would leave the calls alone for seconds.
    stopping = start_worker("--lease-seconds", "6")
    staying = start_worker("--lease-seconds", "6")
    calls = [mock.incoming_call() for _ in range(2)]
    for call_id in calls:
        assert deliver(stopping.url, signed_delivery(call_id, SECRET)) == 200
        assert wait_for(lambda call_id=call_id: sidebands(mock, call_id) == 1, 10)
    assert greeted(mock, 2)
    owner = store.owner(calls[0])

    alone_since: dict[str, float] = {}
    longest_alone = {call_id: 0.0 for call_id in calls}
    watching = threading.Event()

    def watch() -> None:
        while not watching.is_set():
            now = time.monotonic()
            for call_id in calls:
                if sidebands(mock, call_id) == 0:
                    alone_since.setdefault(call_id, now)
                    longest_alone[call_id] = max(longest_alone[call_id], now - alone_since[call_id])
                else:
                    alone_since.pop(call_id, None)
            time.sleep(0.002)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        assert stopping.terminate() == 0
        assert all(store.owner(call_id) not in (None, owner) for call_id in calls)
        time.sleep(0.3)
    finally:
        watching.set()
        watcher.join(5)
    assert max(longest_alone.values()) < 0.5, longest_alone
    assert wait_for(lambda: [sidebands(mock, call_id) for call_id in calls] == [1, 1], 5)
    for call_id in calls:
        assert bakery.ORDERS[42] in ask_tool(api, mock, call_id)
    assert staying.process.poll() is None


def test_metrics_parse_and_count_what_happened(
    mock: MockServer, api: RealtimeApi, store: RedisStore, start_worker: StartWorker
) -> None:
    workers = [start_worker("--max-calls", "2") for _ in range(2)]
    calls = [mock.incoming_call() for _ in range(3)]
    for index, call_id in enumerate(calls):
        assert deliver(workers[min(index, 1)].url, signed_delivery(call_id, SECRET)) == 200
    assert greeted(mock, 2)
    assert bakery.ORDERS[42] in ask_tool(api, mock, calls[0])
    workers[0].kill()
    assert wait_for(lambda: store.owner(calls[0]) not in (None,), 10)
    assert wait_for(lambda: sidebands(mock, calls[0]) == 1, 10)

    samples = metric_samples(workers[1])
    assert samples[("phone_agent_calls_accepted_total", ())] == 1.0
    assert samples[("phone_agent_calls_rejected_total", (("reason", "busy"),))] == 1.0
    assert samples[("phone_agent_calls_taken_over_total", ())] == 1.0
    assert samples[("phone_agent_calls_active", ())] == 2.0
    assert ("phone_agent_tool_call_seconds_count", (("tool", "order_status"),)) not in samples
    assert bakery.ORDERS[42] in ask_tool(api, mock, calls[0])
    samples = metric_samples(workers[1])
    assert samples[("phone_agent_tool_call_seconds_count", (("tool", "order_status"),))] == 1.0
    assert samples[("phone_agent_first_tool_answer_seconds_count", ())] == 0.0
    assert bakery.ORDERS[42] in ask_tool(api, mock, calls[1])
    samples = metric_samples(workers[1])
    assert samples[("phone_agent_first_tool_answer_seconds_count", ())] == 1.0
    assert samples[("phone_agent_tool_call_seconds_count", (("tool", "order_status"),))] == 2.0


def test_a_lost_store_refuses_new_calls_with_503_while_live_calls_go_on(
    mock: MockServer, api: RealtimeApi, redis_server: RedisServer, start_worker: StartWorker
) -> None:
    worker = start_worker()
    live = mock.incoming_call()
    assert deliver(worker.url, signed_delivery(live, SECRET)) == 200
    assert greeted(mock, 1)
    redis_server.stop()

    refused = mock.incoming_call()
    assert deliver(worker.url, signed_delivery(refused, SECRET)) == 503
    assert mock.calls[refused].actions == []  # the sender retries, maybe elsewhere
    assert bakery.ORDERS[42] in ask_tool(api, mock, live)
    assert wait_for(lambda: sidebands(mock, live) == 1, 5)  # the worker's, still there
    samples = metric_samples(worker)
    assert samples[("phone_agent_calls_rejected_total", (("reason", "store_unavailable"),))] == 1


def run_agent(*arguments: str) -> subprocess.CompletedProcess[str]:
    """``agent.py`` with these arguments, as an operator starts it (bounded)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    environment["OPENAI_API_KEY"] = "sk-fleet-test"
    return subprocess.run(
        [sys.executable, str(AGENT_DIR / "agent.py"), "--port", "0", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:notaport/0", "postgres://db/0", "redis://127.0.0.1:6379/db"]
)
def test_a_malformed_store_is_a_usage_error(url: str) -> None:
    finished = run_agent("--store", url)
    assert finished.returncode == 2
    assert "usage:" in finished.stderr and "--store" in finished.stderr


def test_an_unreachable_store_at_start_is_one_line_and_status_1() -> None:
    url = f"redis://:hunter2-password@127.0.0.1:{free_port()}/0"
    finished = run_agent("--store", url)
    assert finished.returncode == 1
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot be reached" in lines[0], finished.stderr
    assert "hunter2" not in finished.stderr + finished.stdout


@pytest.fixture(params=["memory", "redis"])
def any_store(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Each store, to hold both to one contract."""
    if request.param == "memory":
        yield MemoryStore()
        return
    with RedisServer() as server:
        shared = RedisStore(server.url)
        yield shared
        shared.close()


def test_both_stores_keep_one_contract(any_store: Any) -> None:
    store = any_store
    assert store.first_delivery("wh_1") and not store.first_delivery("wh_1")
    store.undelivered("wh_1")  # handling failed: the retry is handled
    assert store.first_delivery("wh_1")
    store.delivered("wh_1")
    assert not store.first_delivery("wh_1")

    assert store.reserve("c1", "w1", 2, 0.5, {"webhook_at": "1"}) is Reservation.RESERVED
    assert store.reserve("c1", "w2", 2, 0.5, {}) is Reservation.HELD
    assert store.reserve("c2", "w1", 2, 0.5, {}) is Reservation.RESERVED
    assert store.reserve("c3", "w1", 2, 0.5, {}) is Reservation.BUSY
    store.unreserve("c2")
    assert store.live_calls() == 1 and store.state("c2") == {}

    assert store.renew(["c1"], "w1", 0.5) == set() and store.renew(["c1"], "w2", 0.5) == {"c1"}
    assert not store.take("c1", "w2", 0.5)  # owned
    assert wait_for(lambda: store.unowned() == ["c1"], 5)  # the lease ran out
    assert store.take("c1", "w2", 5) and not store.take("c1", "w3", 5)
    assert store.owner("c1") == "w2" and store.renew(["c1"], "w1", 5) == {"c1"}
    assert store.hand_over("c1", "w2") and not store.hand_over("c1", "w2")
    assert store.next_handed_over(1) == "c1" and store.next_handed_over(0.05) is None

    seen, running = ToolRun("order_status", "{}"), ToolRun("order_status", "{}", "w2")
    assert store.swap_tool("c1", "t1", None, seen) and not store.swap_tool("c1", "t1", None, seen)
    assert store.swap_tool("c1", "t1", seen, running)
    assert store.tool_runs("c1") == {"t1": running}
    store.tool_answered("c1", "t1")
    assert store.tool_runs("c1") == {}

    store.update("c1", {"transfer_asked": "1"})
    assert store.state("c1") == {"accepted_by": "w1", "webhook_at": "1", "transfer_asked": "1"}
    store.end("c1", "hung up")
    assert store.live_calls() == 0 and store.unowned() == []
    assert store.reserve("c1", "w1", 2, 0.5, {}) is Reservation.HELD  # ended: a late webhook
