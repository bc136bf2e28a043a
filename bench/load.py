"""Many conversations at once: the SDK against websockets' own sync client doing the same turns.

N sessions (half of them sidebands of WebRTC calls opened on the mock first) each run T text
turns (``conversation.item.create`` + ``response.create``, read to ``response.done``) against
the mock in its own process. Each variant runs in a fresh client process, one thread per
session, and reports:

* client CPU per event: the process's CPU time (all threads) over the events it received,
  after one untimed turn (the SDK builds each event type's validator on first use);
* wall time of the turns, RSS and threads per open session;
* events lost: each turn's text deltas must rebuild ``response.done``'s text;
* threads and sockets left once every session is closed.

Run ``python -m bench.load`` (``--sessions``, ``--turns``, ``--rounds``; ``--smoke`` for a
tiny run, ``--json PATH`` to keep the numbers). Variants alternate; medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from bench import API_KEY

ROOT = Path(__file__).resolve().parent.parent
OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
#: Client CPU per event, SDK / websockets: at most this for many sessions, and for one.
TARGETS = {"many": 1.25, "one": 1.5}
#: What must be zero after every round, in each variant.
NOTHING_LEFT = ("lost", "threads_left", "sockets_left")
VARIANTS = ("sdk", "websockets")


@contextmanager
def mock_process() -> Iterator[str]:
    """The mock in its own process; yields its base URL and stops it when done."""
    child = subprocess.Popen(
        [sys.executable, "-m", "openapiopenai.mock", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        yield child.stdout.readline().strip()
    finally:
        child.terminate()
        child.wait(10)


def open_calls(url: str, count: int) -> list[str]:
    """``count`` WebRTC calls opened on the mock, for sidebands to join (not timed)."""
    from openapiopenai import ApiClient, Configuration, RealtimeApi

    with ApiClient(Configuration(host=url, access_token=API_KEY)) as client:
        api = RealtimeApi(client)
        session = {"type": "realtime", "model": "gpt-realtime"}
        calls = [api.create_realtime_call(OFFER, session).call_id for _ in range(count)]
    assert all(calls), "the mock answered a call without its id"
    return [call for call in calls if call]


# -- one client process ------------------------------------------------------------------------


#: Sent first by every session: answers in text (deltas to add up, no audio to carry).
TEXT_ONLY = {
    "type": "session.update",
    "session": {"type": "realtime", "output_modalities": ["text"]},
}


def _text_turn() -> list[dict[str, Any]]:
    content = [{"type": "input_text", "text": "Say hello."}]
    item = {"type": "message", "role": "user", "content": content}
    return [{"type": "conversation.item.create", "item": item}, {"type": "response.create"}]


class _Session:
    """One conversation's counters: events received, turns whose text did not add up."""

    def __init__(self) -> None:
        self.events = 0
        self.lost = 0


def _sdk_session(url: str, target: dict[str, str], turns: int, ready: Any, go: Any) -> _Session:
    from openapiopenai import ApiClient, Configuration, RealtimeApi

    counts = _Session()
    api = RealtimeApi(ApiClient(Configuration(host=url, access_token=API_KEY)))
    with api.connect(model=target.get("model"), call_id=target.get("call_id")) as conn:
        conn.recv()
        conn.send(TEXT_ONLY)
        conn.recv()
        ready.wait()
        go.wait()
        for _ in range(turns):
            for request in _text_turn():
                conn.send(request)
            deltas: list[str] = []
            while True:
                event = conn.recv()
                counts.events += 1
                if event.type == "response.output_text.delta":
                    deltas.append(event.delta)  # type: ignore[attr-defined]
                if event.type == "response.done":
                    text = event.response.output[0].content[0].text  # type: ignore[attr-defined]
                    counts.lost += "".join(deltas) != text
                    break
    return counts


def _raw_session(url: str, target: dict[str, str], turns: int, ready: Any, go: Any) -> _Session:
    from websockets.sync.client import connect

    counts = _Session()
    query = "&".join(f"{key}={value}" for key, value in target.items())
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with connect(
        f"{url.replace('http', 'ws', 1)}/realtime?{query}", additional_headers=headers
    ) as ws:
        ws.recv()
        ws.send(json.dumps(TEXT_ONLY))
        ws.recv()
        ready.wait()
        go.wait()
        for _ in range(turns):
            for event in _text_turn():
                ws.send(json.dumps(event))
            deltas = []
            while True:
                event = json.loads(ws.recv())
                counts.events += 1
                if event["type"] == "response.output_text.delta":
                    deltas.append(event["delta"])
                if event["type"] == "response.done":
                    text = event["response"]["output"][0]["content"][0]["text"]
                    counts.lost += "".join(deltas) != text
                    break
    return counts


def client(variant: str, url: str, calls: list[str], sessions: int, turns: int) -> dict[str, Any]:
    """Run ``sessions`` conversations in this process as ``variant``; what it measured."""
    run: Callable[..., _Session] = _sdk_session if variant == "sdk" else _raw_session
    targets = [
        {"call_id": calls[index // 2]} if index % 2 else {"model": "gpt-realtime"}
        for index in range(sessions)
    ]
    # One untimed turn first: the SDK builds each event type's validator on its first event.
    started = threading.Event()
    started.set()
    run(url, {"model": "gpt-realtime"}, 1, threading.Barrier(1), started)
    base_threads, base_rss = _settled_threads(), _rss_mb()
    ready = threading.Barrier(sessions + 1)
    go = threading.Event()
    results: list[_Session] = []
    threads = [
        threading.Thread(target=lambda t=t: results.append(run(url, t, turns, ready, go)))
        for t in targets
    ]
    for thread in threads:
        thread.start()
    ready.wait()  # every session open
    open_threads, open_rss = threading.active_count(), _rss_mb()
    cpu, wall = time.process_time(), time.perf_counter()
    go.set()
    for thread in threads:
        thread.join()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    left = _settled_threads() - base_threads
    events = sum(each.events for each in results)
    return {
        "cpu_per_event_us": cpu / events * 1e6,
        "wall_s": wall,
        "events": events,
        "lost": sum(each.lost for each in results) + sessions - len(results),
        "rss_per_session_mb": (open_rss - base_rss) / sessions,
        "threads_per_session": (open_threads - base_threads - sessions) / sessions,
        "threads_left": left,
        "sockets_left": _sockets(),
    }


def _settled_threads(limit: float = 3.0) -> int:
    """The thread count once threads that end a closed connection in the background (its
    reader, its keepalive, a close's guard) have finished: unchanged for 0.3 s, or ``limit``."""
    count, since, stop = threading.active_count(), time.monotonic(), time.monotonic() + limit
    while time.monotonic() < stop and time.monotonic() - since < 0.3:
        time.sleep(0.05)
        now = threading.active_count()
        if now != count:
            count, since = now, time.monotonic()
    return count


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _sockets() -> int:
    found = 0
    for fd in os.listdir("/proc/self/fd"):
        with suppress(OSError):
            found += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return found


# -- the comparison ----------------------------------------------------------------------------


def run(sessions: int, turns: int, rounds: int) -> dict[str, Any]:
    """Alternating rounds of both variants, each in a fresh process; medians and ratios."""
    measured: dict[str, list[dict[str, Any]]] = {variant: [] for variant in VARIANTS}
    with mock_process() as url:
        for _ in range(rounds):
            for variant in VARIANTS:
                calls = open_calls(url, sessions // 2)
                measured[variant].append(_child(variant, url, calls, sessions, turns))
    medians = {
        variant: {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        for variant, runs in measured.items()
    }
    sdk, raw = medians["sdk"], medians["websockets"]
    ratio = sdk["cpu_per_event_us"] / raw["cpu_per_event_us"]
    return {
        "meta": {"sessions": sessions, "turns": turns, "rounds": rounds},
        "sdk": sdk,
        "websockets": raw,
        "cpu_ratio": ratio,
        "target": (target := TARGETS["one" if sessions == 1 else "many"]),
        "target_met": ratio <= target,
        "wall_ratio": sdk["wall_s"] / raw["wall_s"],
        "worst": {
            variant: {key: max(run[key] for run in runs) for key in NOTHING_LEFT}
            for variant, runs in measured.items()
        },
    }


def _child(variant: str, url: str, calls: list[str], sessions: int, turns: int) -> dict[str, Any]:
    arguments = [variant, url, ",".join(calls), str(sessions), str(turns)]
    completed = subprocess.run(
        [sys.executable, "-m", "bench.load", "--client", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(completed.stdout)  # type: ignore[no-any-return]


def table(results: dict[str, Any]) -> str:
    sdk, raw, meta = results["sdk"], results["websockets"], results["meta"]
    lines = [
        f"load    {meta['sessions']} sessions (half sidebands) x {meta['turns']} text turns, "
        f"{meta['rounds']} rounds, medians: SDK / websockets + json.loads",
        f"        client CPU per event: {sdk['cpu_per_event_us']:.1f} / "
        f"{raw['cpu_per_event_us']:.1f} us = {results['cpu_ratio']:.3f}x "
        f"(<= {results['target']}: {'met' if results['target_met'] else 'MISSED'})",
        f"        wall time of the turns: {sdk['wall_s']:.2f} / {raw['wall_s']:.2f} s = "
        f"{results['wall_ratio']:.3f}x",
        f"        per open session: {sdk['rss_per_session_mb']:.3f} / "
        f"{raw['rss_per_session_mb']:.3f} MB RSS, {sdk['threads_per_session']:.1f} / "
        f"{raw['threads_per_session']:.1f} threads besides the session's own",
        f"        worst round: events lost {results['worst']['sdk']['lost']} / "
        f"{results['worst']['websockets']['lost']}, threads left after close "
        f"{results['worst']['sdk']['threads_left']} / "
        f"{results['worst']['websockets']['threads_left']}, sockets left "
        f"{results['worst']['sdk']['sockets_left']} / "
        f"{results['worst']['websockets']['sockets_left']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="4 sessions, 1 turn, 1 round")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    parser.add_argument("--client", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        variant, url, calls, sessions, turns = args.client
        measured = client(variant, url, calls.split(","), int(sessions), int(turns))
        print(json.dumps(measured))
        return 0
    if args.smoke:
        args.sessions, args.turns, args.rounds = 4, 1, 1
    results = run(args.sessions, args.turns, args.rounds)
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
