"""What a Realtime conversation over WebSocket costs on top of doing it by hand.

* parse: a recorded stream of server events (mostly ``response.output_audio.delta`` with
  100 ms of audio each), turned from the bytes the socket gives into the SDK's event classes,
  against ``json.loads`` of the same bytes;
* turn: the same for text turns with a tool call, as the mock sends them (``bench/turns.py``:
  conversation items in about a third of the events), and openai-python's ``parse_event`` of
  the same bytes when it happens to be installed;
* append: sending 20 ms audio chunks with ``conn.input_audio_buffer.append(pcm)`` against a
  raw ``websockets`` send of the same JSON text, to a server in its own process (and against
  the least a sender holding PCM must do: base64 into a fixed JSON frame, then send).

Run ``python -m bench.realtime`` (``--smoke`` for a run of a second or two, ``--json PATH`` to
keep the numbers). Rounds alternate SDK and raw; medians.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import API_KEY

#: 24 kHz, 16-bit mono: bytes per millisecond of audio.
PCM_BYTES_PER_MS = 48
TARGETS = {"parse": 1.0, "turn": 1.25, "append": 1.2}
#: Events timed by one parser before the next takes its turn (about one turn of the mock).
CHUNK = 43


def recorded_stream(responses: int) -> list[bytes]:
    """Server messages as the service writes them (``type`` first, compact JSON): per
    response a text-and-audio turn with 20 audio deltas of 100 ms and transcript deltas."""
    rng = random.Random(7)
    messages: list[dict[str, Any]] = []
    ids = {"response_id": "resp_C9G8pGVKYnaZu8PH5YQ9O", "item_id": "item_C9G8pjSJCfRNEhMEnYAVy"}
    for number in range(responses):
        place = {**ids, "output_index": 0, "content_index": 0}
        messages.append(
            {
                "type": "response.created",
                "event_id": f"event_{number}a",
                "response": {"id": ids["response_id"], "object": "realtime.response"},
            }
        )
        for chunk in range(20):
            audio = rng.randbytes(100 * PCM_BYTES_PER_MS)
            messages.append(
                {
                    "type": "response.output_audio.delta",
                    "event_id": f"event_{number}_{chunk}",
                    **place,
                    "delta": base64.b64encode(audio).decode(),
                }
            )
            if chunk % 4 == 0:
                messages.append(
                    {
                        "type": "response.output_audio_transcript.delta",
                        "event_id": f"event_{number}_{chunk}t",
                        **place,
                        "delta": "Hello there, ",
                    }
                )
        messages.append({"type": "response.output_audio.done", "event_id": "e", **place})
    return [json.dumps(message, separators=(",", ":")).encode() for message in messages]


def bench_parse(responses: int, rounds: int) -> dict[str, Any]:
    """Microseconds per server event: the SDK's parser against ``json.loads``."""
    from openapiopenai.models import RealtimeServerEvent, RealtimeServerEventResponseAudioDelta
    from openapiopenai.realtime._protocol import ServerEvents

    stream = recorded_stream(responses)
    parser = ServerEvents(RealtimeServerEvent)
    assert isinstance(parser.parse(stream[1]), RealtimeServerEventResponseAudioDelta)
    for message in stream:  # each type's validator is built on its first event: not timed
        parser.parse(message)
    sdk, raw = [], []
    for _ in range(rounds):
        sdk.append(_each(parser.parse, stream))
        raw.append(_each(json.loads, stream))
    audio = sum(b'"response.output_audio.delta"' in message for message in stream)
    return _ratio(sdk, raw) | {"events": len(stream), "audio_share": audio / len(stream)}


def bench_turn(turns: int, rounds: int) -> dict[str, Any]:
    """Microseconds per server event of text-and-tool turns: the SDK's parser against
    ``json.loads`` (and openai-python's, if installed)."""
    from bench.turns import openai_python_parser, record_turns
    from openapiopenai.models import RealtimeServerEvent
    from openapiopenai.realtime import UnknownServerEvent
    from openapiopenai.realtime._protocol import ServerEvents

    stream = record_turns(turns)
    parser = ServerEvents(RealtimeServerEvent)
    for message in stream:  # each type's validator is built on its first event: not timed
        assert not isinstance(parser.parse(message), UnknownServerEvent)
    other = openai_python_parser()
    parsers = [parser.parse, json.loads] + ([other] if other is not None else [])
    # Each turn's events by each parser in turn (not the whole stream by one, then the other):
    # a burst of the machine's other work then hits all of them alike.
    chunks = [stream[start : start + CHUNK] for start in range(0, len(stream), CHUNK)]
    sdk, raw, theirs = [], [], []
    for _ in range(rounds):
        spent = [0.0] * len(parsers)
        for chunk in chunks:
            for index, parse in enumerate(parsers):
                spent[index] += _each(parse, chunk) * len(chunk)
        sdk.append(spent[0] / len(stream))
        raw.append(spent[1] / len(stream))
        theirs += [spent[2] / len(stream)] if other is not None else []
    items = sum(b'"item":' in message or b'"output":[' in message for message in stream)
    result = _ratio(sdk, raw) | {"events": len(stream), "item_share": items / len(stream)}
    if theirs:
        result["openai_python_ratio"] = statistics.median(theirs) / statistics.median(raw)
    return result


def _ratio(sdk: list[float], raw: list[float]) -> dict[str, Any]:
    sdk_us, raw_us = statistics.median(sdk) * 1e6, statistics.median(raw) * 1e6
    return {"sdk_us": sdk_us, "raw_us": raw_us, "ratio": sdk_us / raw_us}


# -- append ------------------------------------------------------------------------------------


def serve() -> None:
    """The sink: greets each connection with ``session.created`` and drops what it receives.
    Runs in its own process (``--serve``), so its work never holds the client's GIL."""
    from websockets.sync.server import ServerConnection
    from websockets.sync.server import serve as websocket_server

    def sink(connection: ServerConnection) -> None:
        greeting = {"type": "session.created", "event_id": "e", "session": {"type": "realtime"}}
        connection.send(json.dumps(greeting))
        for _ in connection:
            pass

    with websocket_server(sink, "127.0.0.1", 0, max_size=None, compression=None) as server:
        print(server.socket.getsockname()[1], flush=True)
        server.serve_forever()


@contextmanager
def sink_server() -> Iterator[int]:
    """``serve()`` in a child process; yields its port and stops it when done."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.realtime", "--serve"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert child.stdout is not None
        yield int(child.stdout.readline())
    finally:
        child.terminate()
        child.wait(10)


def bench_append(chunks: int, rounds: int) -> dict[str, Any]:
    """Microseconds per 20 ms chunk: ``append(pcm)`` against ``websocket.send(json_text)``,
    each chunk different audio (the raw side's JSON texts are written before the clock
    starts)."""
    import inspect

    from websockets.sync.client import connect

    from openapiopenai import ApiClient, Configuration, RealtimeApi

    rng = random.Random(3)
    pcm = [rng.randbytes(20 * PCM_BYTES_PER_MS) for _ in range(chunks)]
    direct = {"legacy": True} if "legacy" in inspect.signature(connect).parameters else {}
    with sink_server() as port:
        host = f"http://127.0.0.1:{port}/v1"
        api = RealtimeApi(ApiClient(Configuration(host=host, access_token=API_KEY)))
        with api.connect(model="gpt-realtime") as conn:
            conn.recv()
            sample_id = conn.input_audio_buffer.append(pcm[0])
            texts = [_append_json(chunk, sample_id) for chunk in pcm]
            raw = connect(host.replace("http", "ws", 1) + "/realtime", compression=None, **direct)  # type: ignore[call-overload]
            raw.recv()
            encode_and_send = _base64_sender(raw, sample_id)
            sdk_times, raw_times, dumps_times, base64_times = [], [], [], []
            sdk_cpu, raw_cpu = [], []
            for _ in range(rounds):
                sdk_times.append(_each(conn.input_audio_buffer.append, pcm))
                raw_times.append(_each(raw.send, texts))
                dumps_times.append(_each(lambda chunk: raw.send(_append_json(chunk, "")), pcm))
                base64_times.append(_each(encode_and_send, pcm))
                sdk_cpu.append(_each(conn.input_audio_buffer.append, pcm, clock=time.thread_time))
                raw_cpu.append(_each(raw.send, texts, clock=time.thread_time))
            raw.close()
    result = _ratio(sdk_times, raw_times)
    result["raw_dumps_us"] = statistics.median(dumps_times) * 1e6
    result["dumps_ratio"] = result["sdk_us"] / result["raw_dumps_us"]
    result["raw_base64_us"] = statistics.median(base64_times) * 1e6
    result["base64_ratio"] = result["sdk_us"] / result["raw_base64_us"]
    cpu = _ratio(sdk_cpu, raw_cpu)
    result |= {"sdk_cpu_us": cpu["sdk_us"], "raw_cpu_us": cpu["raw_us"], "cpu_ratio": cpu["ratio"]}
    return result


def _base64_sender(raw: Any, event_id: str) -> Callable[[bytes], None]:
    """The least a sender holding PCM must do: base64 into a fixed JSON frame, then send."""
    head = b'{"type":"input_audio_buffer.append","event_id":"%s","audio":"' % event_id.encode()

    def send(chunk: bytes) -> None:
        raw.send(head + binascii.b2a_base64(chunk, newline=False) + b'"}', text=True)

    return send


def _append_json(pcm: bytes, event_id: str) -> str:
    event = {
        "type": "input_audio_buffer.append",
        "event_id": event_id,
        "audio": base64.b64encode(pcm).decode(),
    }
    return json.dumps(event, separators=(",", ":"))


def _each(
    call: Callable[[Any], object],
    items: list[Any],
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Seconds per item of ``call`` over ``items``, by ``clock`` (wall time by default;
    ``time.thread_time`` counts only this thread's CPU, leaving out the machine's noise)."""
    started = clock()
    for item in items:
        call(item)
    return (clock() - started) / len(items)


def run(smoke: bool) -> dict[str, Any]:
    """Both sections; sizes for a full run or a smoke run."""
    results = {
        "meta": {"python": sys.version.split()[0], "smoke": smoke},
        "parse": bench_parse(responses=2 if smoke else 50, rounds=2 if smoke else 15),
        "turn": bench_turn(turns=1 if smoke else 20, rounds=2 if smoke else 15),
        "append": bench_append(chunks=20 if smoke else 2000, rounds=2 if smoke else 15),
    }
    results["targets_met"] = {
        name: results[name]["ratio"] <= limit for name, limit in TARGETS.items()
    }
    return results


def table(results: dict[str, Any]) -> str:
    parse, append, met = results["parse"], results["append"], results["targets_met"]
    turn = results["turn"]
    mark = {True: "met", False: "MISSED"}
    theirs = turn.get("openai_python_ratio")
    return "\n".join(
        [
            f"parse   {parse['events']} server events ({parse['audio_share']:.0%} audio deltas), "
            f"SDK / json.loads: {parse['sdk_us']:.2f} / {parse['raw_us']:.2f} us per event = "
            f"{parse['ratio']:.3f}x (<= {TARGETS['parse']}: {mark[met['parse']]})",
            f"turn    {turn['events']} server events of text turns with a tool call "
            f"({turn['item_share']:.0%} with items), SDK / json.loads: {turn['sdk_us']:.2f} / "
            f"{turn['raw_us']:.2f} us per event = {turn['ratio']:.3f}x "
            f"(<= {TARGETS['turn']}: {mark[met['turn']]})",
            "        openai-python's parse_event / json.loads: "
            + (f"{theirs:.3f}x" if theirs is not None else "not installed"),
            f"append  20 ms chunk, SDK append(pcm) / raw send of the same JSON: "
            f"{append['sdk_us']:.2f} / {append['raw_us']:.2f} us = {append['ratio']:.3f}x "
            f"(<= {TARGETS['append']}: {mark[met['append']]})",
            f"        same, this thread's CPU time only: {append['sdk_cpu_us']:.2f} / "
            f"{append['raw_cpu_us']:.2f} us = {append['cpu_ratio']:.3f}x",
            f"        same against base64 + json.dumps + send per chunk: "
            f"{append['sdk_us']:.2f} / {append['raw_dumps_us']:.2f} us = "
            f"{append['dumps_ratio']:.3f}x",
            f"        same against base64 into a fixed JSON frame + send per chunk: "
            f"{append['sdk_us']:.2f} / {append['raw_base64_us']:.2f} us = "
            f"{append['base64_ratio']:.3f}x",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.realtime", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks it runs")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve()
        return 0
    results = run(args.smoke)
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
