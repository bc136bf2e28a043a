"""Events whose classes are built on first arrival, arriving in several threads at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("websockets")

from test.test_realtime_mock import _spec_examples

ROOT = Path(__file__).resolve().parent.parent

#: Each event type's first message parsed by sixteen threads at once, in a fresh interpreter so
#: that no class is built yet; what each thread got back (or raised) is printed as JSON.
SCRIPT = """
import json, sys, threading
sys.setswitchinterval(1e-6)
from openapiopenai.models import RealtimeServerEvent
from openapiopenai.realtime._protocol import ServerEvents
events = ServerEvents(RealtimeServerEvent)
wrong = []
for name, example in json.loads(sys.stdin.read()).items():
    message = json.dumps({"event_id": "event_1", **example}).encode()
    barrier = threading.Barrier(16)
    def parse(name=name, message=message, barrier=barrier):
        barrier.wait(timeout=30)
        try:
            got = type(events.parse(message)).__name__
        except Exception as error:
            got = type(error).__name__
        if got != name:
            wrong.append([name, got])
    threads = [threading.Thread(target=parse) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
print(json.dumps(wrong))
"""


#: A race shows in some processes only, so several fresh ones try it.
PROCESSES = 12


def test_threads_that_receive_a_type_first_at_once_all_get_its_class() -> None:
    from openapiopenai.models import RealtimeServerEvent
    from openapiopenai.realtime._protocol import event_classes

    names = {model.__name__ for model in event_classes(RealtimeServerEvent).values()}
    examples = {name: example for name, example in _spec_examples().items() if name in names}
    assert len(examples) >= 40
    # session.created first: the first event of every connection, and the one reaching most.
    first = "RealtimeServerEventSessionCreated"
    ordered = {first: examples.pop(first), **examples}
    for attempt in range(PROCESSES):
        finished = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            input=json.dumps(ordered if attempt == 0 else {first: ordered[first]}),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        assert json.loads(finished.stdout) == [], (attempt, finished.stderr)
