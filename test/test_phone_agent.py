"""The phone agent example end to end on 127.0.0.1: the mock plays OpenAI (signed webhooks,
accept, the sideband, a scripted model) and the caller; the agent runs on waitress."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3

from openapiopenai import ApiClient, Configuration, RealtimeApi
from openapiopenai.mock import MockServer
from openapiopenai.mock.webhook_sender import send_call_incoming
from openapiopenai.webhooks import sign
from test.conftest import drop_first_sideband

AGENT_DIR = Path(__file__).resolve().parents[1] / "examples" / "phone_agent"
if str(AGENT_DIR) not in sys.path:
    sys.path.insert(0, str(AGENT_DIR))

import agent as phone  # noqa: E402 (the example's own directory comes first, as when run)
import bakery  # noqa: E402
from mock_demo import ScriptedCaller, wait_for  # noqa: E402

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
TRANSFER_TO = "tel:+15550100077"
Start = Callable[..., tuple[phone.PhoneAgent, str]]


@pytest.fixture
def mock(openai_mock: MockServer) -> MockServer:
    """The plugin's mock, by a shorter name."""
    return openai_mock


@pytest.fixture
def api(mock: MockServer) -> Iterator[RealtimeApi]:
    configuration = Configuration(host=mock.url, access_token="sk-test", ignore_environment=True)
    with ApiClient(configuration) as client:
        yield RealtimeApi(client)


@pytest.fixture
def start_agent(api: RealtimeApi) -> Iterator[Start]:
    """Serve an agent with these settings on waitress; stopped, its calls ended, afterwards."""
    running: list[tuple[phone.AgentServer, threading.Thread]] = []

    def start(**settings: Any) -> tuple[phone.PhoneAgent, str]:
        chosen = {"webhook_secret": SECRET, "transfer_to": TRANSFER_TO, **settings}
        agent = phone.PhoneAgent(api, phone.AgentSettings(**chosen))
        server = phone.AgentServer(agent, "127.0.0.1", 0)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread))
        return agent, server.url

    yield start
    for server, thread in running:
        server.stop()
        thread.join(10)
        server.app.switchboard.end_all(10)


def greeted(agent: phone.PhoneAgent, call_id: str) -> bool:
    """Wait (bounded) until the agent's greeting, its first response, is done."""
    return wait_for(lambda: agent.switchboard.records[call_id].responses >= 1)


def test_a_call_is_accepted_answered_by_a_tool_and_transferred(
    mock: MockServer, api: RealtimeApi, start_agent: Start
) -> None:
    agent, url = start_agent()
    status, call_id = mock.send_incoming_call(url, secret=SECRET)
    assert status == 200
    accepted = mock.calls[call_id].accepted_with
    assert accepted is not None
    assert accepted["instructions"] == bakery.INSTRUCTIONS
    names = [tool["name"] for tool in accepted["tools"]]
    assert names == ["opening_hours", "order_status", "transfer_to_person"]
    assert greeted(agent, call_id)  # the sideband connected and the agent spoke first

    with api.connect(call_id=call_id, receive_timeout=10) as conn:
        caller = ScriptedCaller(mock, conn)
        reply = caller.ask("Where is my order 42?", "order_status", {"order_number": 42})
        assert bakery.ORDERS[42] in reply
        outputs = [
            event["item"]["output"]
            for event in mock.realtime.received
            if event["type"] == "conversation.item.create"
            and event["item"].get("type") == "function_call_output"
        ]
        assert len(outputs) == 1 and bakery.ORDERS[42] in outputs[0]
        caller.ask("Can I talk to a person?", "transfer_to_person", {"reason": "a question"})

    record = agent.switchboard.records[call_id]
    assert record.ended.wait(10)
    assert record.outcome == "transferred"
    assert mock.calls[call_id].referred_to == TRANSFER_TO
    assert [action for action, _ in mock.calls[call_id].actions] == ["accept", "refer"]
    assert record.tool_calls == ["order_status", "transfer_to_person"]
    assert ("caller", "Where is my order 42?") in record.transcript
    assert any(
        bakery.ORDERS[42] in text for speaker, text in record.transcript if speaker == "agent"
    )


def test_a_dropped_sideband_re_joins_the_call_and_tools_keep_being_answered(
    mock: MockServer, api: RealtimeApi, start_agent: Start
) -> None:
    agent, url = start_agent()
    _, call_id = mock.send_incoming_call(url, secret=SECRET)
    assert greeted(agent, call_id)
    with api.connect(call_id=call_id, receive_timeout=10) as conn:
        drop_first_sideband(mock, conn)
        (session,) = [s for s in mock.realtime.sessions if s.call_id == call_id]
        assert wait_for(lambda: len(session.connections) == 1)  # the agent's dropped...
        assert wait_for(lambda: len(session.connections) == 2)  # ...and came back
        reply = ScriptedCaller(mock, conn).ask(
            "Where is my order 42?", "order_status", {"order_number": 42}
        )

    assert bakery.ORDERS[42] in reply
    record = agent.switchboard.records[call_id]
    assert record.tool_calls == ["order_status"]
    assert not record.ended.is_set()  # the call goes on


def test_a_call_that_ends_while_its_sideband_re_joins_is_recorded_hung_up(
    mock: MockServer, api: RealtimeApi, start_agent: Start
) -> None:
    agent, url = start_agent()
    _, call_id = mock.send_incoming_call(url, secret=SECRET)
    assert greeted(agent, call_id)
    with api.connect(call_id=call_id, receive_timeout=10) as conn:
        drop_first_sideband(mock, conn, call_gone=True)
        record = agent.switchboard.records[call_id]
        assert record.ended.wait(10)

    assert record.outcome == "hung up"


def test_a_webhook_with_a_bad_signature_gets_400_and_no_call_is_touched(
    mock: MockServer, start_agent: Start
) -> None:
    agent, url = start_agent()
    call_id = mock.incoming_call()
    status, _ = send_call_incoming(url, secret=OTHER_SECRET, call_id=call_id)
    assert status == 400
    unsigned = urllib3.request("POST", url, body=b"{}", retries=False, timeout=5)
    assert unsigned.status == 400
    assert mock.calls[call_id].actions == []
    assert agent.switchboard.records == {}


def test_a_call_beyond_capacity_is_rejected_busy(
    mock: MockServer, api: RealtimeApi, start_agent: Start
) -> None:
    agent, url = start_agent(max_calls=1)
    first = mock.send_incoming_call(url, secret=SECRET)[1]
    assert greeted(agent, first)
    status, second = mock.send_incoming_call(url, secret=SECRET)
    assert status == 200
    assert mock.calls[second].actions == [("reject", phone.BUSY_HERE)]
    assert mock.calls[first].actions[0][0] == "accept"
    api.hangup_realtime_call(first)  # the first caller hangs up: the line is free again
    assert agent.switchboard.records[first].ended.wait(10)
    assert agent.switchboard.records[first].outcome == "hung up"
    third = mock.send_incoming_call(url, secret=SECRET)[1]
    assert mock.calls[third].actions[0][0] == "accept"


def test_a_call_to_another_number_is_rejected(mock: MockServer, start_agent: Start) -> None:
    _, url = start_agent(numbers=("+15550100003",))
    status, call_id = mock.send_incoming_call(url, secret=SECRET)
    assert status == 200
    assert mock.calls[call_id].actions == [("reject", phone.NOT_OUR_NUMBER)]


def test_a_call_that_reaches_its_time_limit_is_hung_up(
    mock: MockServer, start_agent: Start
) -> None:
    agent, url = start_agent(call_time_limit_seconds=0.5)
    call_id = mock.send_incoming_call(url, secret=SECRET)[1]
    record = agent.switchboard.records[call_id]
    assert record.ended.wait(10)
    assert record.outcome == "time limit"
    assert mock.calls[call_id].hung_up


def test_other_webhook_types_are_acknowledged_and_ignored(
    mock: MockServer, start_agent: Start
) -> None:
    agent, url = start_agent()
    body = json.dumps({"object": "event", "id": "evt_1", "type": "batch.completed", "data": {}})
    headers = {"Content-Type": "application/json", **sign(body, secret=SECRET)}
    answer = urllib3.request("POST", url, body=body, headers=headers, retries=False, timeout=5)
    assert answer.status == 200
    assert agent.switchboard.records == {}
    assert mock.calls == {}


def test_a_repeated_webhook_for_a_call_in_progress_changes_nothing(
    mock: MockServer, start_agent: Start
) -> None:
    agent, url = start_agent()
    call_id = mock.send_incoming_call(url, secret=SECRET)[1]
    assert greeted(agent, call_id)
    status, _ = send_call_incoming(url, secret=SECRET, call_id=call_id)
    assert status == 200
    assert [action for action, _ in mock.calls[call_id].actions] == ["accept"]
    assert not agent.switchboard.records[call_id].ended.is_set()


def test_two_deliveries_of_one_webhook_at_once_accept_the_call_once(
    mock: MockServer, start_agent: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent, url = start_agent()
    both_arrived = threading.Barrier(2, timeout=10)
    reserve = agent.switchboard.reserve

    def reserve_when_both_arrived(call_id: str) -> Any:
        both_arrived.wait()  # each delivery has got as far as taking a line
        return reserve(call_id)

    monkeypatch.setattr(agent.switchboard, "reserve", reserve_when_both_arrived)
    call_id = mock.incoming_call()
    statuses: list[int] = []

    def deliver() -> None:
        statuses.append(send_call_incoming(url, secret=SECRET, call_id=call_id)[0])

    deliveries = [threading.Thread(target=deliver) for _ in range(2)]
    for delivery in deliveries:
        delivery.start()
    for delivery in deliveries:
        delivery.join(15)

    assert statuses == [200, 200]
    assert [action for action, _ in mock.calls[call_id].actions] == ["accept"]
    assert greeted(agent, call_id)
    assert not agent.switchboard.records[call_id].ended.is_set()


def test_the_script_with_mock_plays_its_demo_call_offline(tmp_path: Path) -> None:
    """``agent.py --mock``, as the README runs it: the demo call ends transferred."""
    log = tmp_path / "agent.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, str(AGENT_DIR / "agent.py"), "--mock", "--port", "0"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=tmp_path,
        )
    try:
        ended = wait_for(lambda: b"the call ended:" in log.read_bytes(), timeout=60)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    text = log.read_text()
    assert ended, text
    assert "the call ended: transferred; referred to tel:+15550100099" in text
    assert "caller: Where is my order 42?" in text
    assert f"agent: The order_status tool returned: {bakery.ORDERS[42]}" in text
    assert process.returncode == 0


def hangups_asked(mock: MockServer, call_id: str) -> int:
    return sum(1 for r in mock.requests if r.path.endswith(f"/{call_id}/hangup"))


def test_a_hangup_the_service_fails_once_is_tried_again(
    mock: MockServer, start_agent: Start
) -> None:
    agent, url = start_agent(call_time_limit_seconds=2.0)
    call_id = mock.send_incoming_call(url, secret=SECRET)[1]
    assert greeted(agent, call_id)
    mock.fail_next(1, 500)  # the time limit's hangup meets a transient failure
    record = agent.switchboard.records[call_id]

    assert record.ended.wait(15), "the call was never hung up"
    assert record.outcome == "time limit"
    assert mock.calls[call_id].hung_up
    assert hangups_asked(mock, call_id) == 2


def test_a_call_every_hangup_failed_for_is_hung_up_at_shutdown(
    mock: MockServer, start_agent: Start
) -> None:
    agent, url = start_agent(call_time_limit_seconds=2.0)
    call_id = mock.send_incoming_call(url, secret=SECRET)[1]
    assert greeted(agent, call_id)
    mock.fail_next(3, 500)  # every try at the time limit fails
    tried = wait_for(lambda: hangups_asked(mock, call_id) == 3, timeout=15)
    record = agent.switchboard.records[call_id]
    assert not record.ended.is_set() and not mock.calls[call_id].hung_up

    agent.switchboard.end_all(10)

    assert tried, "a failed hangup was not tried again"
    assert record.ended.is_set() and record.outcome == "shutting down"
    assert mock.calls[call_id].hung_up
    assert hangups_asked(mock, call_id) == 4


def test_stop_returns_when_the_server_lost_its_trigger(api: RealtimeApi) -> None:
    """A file descriptor closed twice elsewhere in the process can take the server loop's
    wake-up pipe with it: the loop then closes that trigger itself, and stop() must still
    end the server instead of writing to the closed pipe (EBADF, or another file)."""
    agent = phone.PhoneAgent(api, phone.AgentSettings(webhook_secret=SECRET))
    server = phone.AgentServer(agent, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    trigger = server._server.trigger
    os.close(trigger.socket.fd)  # what a stray double close elsewhere does to it

    assert wait_for(lambda: trigger._closed, timeout=5)
    server.stop()
    thread.join(5)
    assert not thread.is_alive()
