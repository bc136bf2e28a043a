"""``agent.py --mock``: the agent against the SDK's offline mock of OpenAI, with one demo call.

The mock plays OpenAI's part (a signed ``realtime.call.incoming`` webhook, accept, the
sideband, a scripted model) and :class:`ScriptedCaller` the caller's: it speaks (a tone the
mock hears as speech, and the words the mock transcribes it as) and listens to the replies.
"""

from __future__ import annotations

import base64
import logging
import math
import os
import struct
import sys
import threading
from collections.abc import Mapping
from typing import Any

from agent import AgentServer, AgentSettings, CannotListenError, PhoneAgent
from calls import CallRecord, wait_for

from openapiopenai import ApiClient, Configuration, RealtimeApi
from openapiopenai.mock import MockServer
from openapiopenai.realtime import RealtimeConnection

LOG = logging.getLogger("phone_agent.demo")
RATE = 24_000  # PCM16 mono samples per second: the session's default input format


def speech(seconds: float, loud: bool) -> bytes:
    """PCM16 audio: a 300 Hz tone the mock's voice detection takes for speech, or silence."""
    count = int(RATE * seconds)
    level = 8000 if loud else 0
    samples = (int(level * math.sin(2 * math.pi * 300 * n / RATE)) for n in range(count))
    return struct.pack(f"<{count}h", *samples)


class ScriptedCaller:
    """The person on the phone, on a connection of their own to the call."""

    def __init__(self, mock: MockServer, conn: RealtimeConnection) -> None:
        self.mock = mock
        self.conn = conn

    def ask(self, words: str, tool: str, arguments: Mapping[str, Any]) -> str:
        """Say ``words``, which make the model call ``tool``; return the reply after the
        tool's answer (the spoken transcript of the next response that is not a tool call)."""
        self.mock.realtime.script_transcription(words)
        self.mock.realtime.script_tool_call(tool, dict(arguments))
        audio = speech(0.4, loud=True) + speech(0.6, loud=False)
        self.conn.input_audio_buffer.append(audio)
        return self.next_reply()

    def next_reply(self) -> str:
        """The transcript of the next spoken response (bounded by the receive timeout)."""
        for event in self.conn:
            if event.type != "response.done":
                continue
            output = event.to_dict()["response"].get("output") or []
            for item in output:
                for part in item.get("content") or []:
                    text = part.get("transcript") or part.get("text")
                    if text:
                        return str(text)
        raise RuntimeError("the call ended before the reply")


def demo_call(mock: MockServer, api: RealtimeApi, agent: PhoneAgent, url: str, secret: str) -> None:
    """One call: the caller asks about order 42, then for a person, and is transferred."""
    status, call_id = mock.send_incoming_call(url, secret=secret)
    LOG.info("webhook answered %d", status)
    record: CallRecord = agent.switchboard.records[call_id]
    wait_for(lambda: record.responses >= 1)  # the greeting
    with api.connect(call_id=call_id, receive_timeout=10) as conn:
        caller = ScriptedCaller(mock, conn)
        LOG.info(
            "heard: %s", caller.ask("Where is my order 42?", "order_status", {"order_number": 42})
        )
        reason = {"reason": "wants a person"}
        LOG.info("heard: %s", caller.ask("Can I talk to a person?", "transfer_to_person", reason))
    record.ended.wait(10)
    LOG.info("the call ended: %s; referred to %s", record.outcome, mock.calls[call_id].referred_to)


def run(settings: AgentSettings, host: str, port: int) -> int:
    """Serve the agent against a local mock, play the demo call, then serve until Ctrl-C."""
    logging.getLogger("websockets").setLevel(logging.WARNING)
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    mock = MockServer()
    base = mock.start()
    configuration = Configuration(host=base, access_token="sk-mock", ignore_environment=True)  # noqa: S106
    api = RealtimeApi(ApiClient(configuration))
    agent = PhoneAgent(api, AgentSettings(**{**settings.__dict__, "webhook_secret": secret}))
    try:
        server = AgentServer(agent, host, port)
    except CannotListenError as refused:
        mock.stop()
        print(f"phone agent: {refused}", file=sys.stderr)
        return 1
    print(f"Phone agent: webhook at {server.url} (upstream: a local mock)", flush=True)
    threading.Thread(
        target=demo_call, args=(mock, api, agent, server.url, secret), daemon=True
    ).start()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        agent.switchboard.end_all(timeout=10)
        mock.stop()
    return 0
