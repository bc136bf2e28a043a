"""``openapiopenai realtime chat`` driven as a person drives it: through a pseudo-terminal,
against the mock on 127.0.0.1, every read bounded."""

from __future__ import annotations

import io
import itertools
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from openapiopenai import ApiClient, Configuration, RealtimeApi
from openapiopenai.mock import MockServer
from test.test_cli import API_KEY, assert_one_error_line, run

pytest.importorskip("websockets")

BOUND = 30.0  # seconds any one read may wait before the test fails instead of hanging
#: How long the mock stalls after the first word of an answer: the rest cannot arrive sooner,
#: so what the terminal shows before then was streamed.
STALL = 4.0


@dataclass
class Terminal:
    """The chat's side of a pseudo-terminal: what it has shown so far, and a keyboard."""

    child: subprocess.Popen[bytes]
    master: int
    shown: str = ""

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def read_until(self, text: str, start: int = 0) -> str:
        """Read until ``text`` shows up after position ``start``; everything shown so far."""
        while text not in self.shown[start:]:
            ready, _, _ = select.select([self.master], [], [], BOUND)
            assert ready, f"nothing more within {BOUND} s; waited for {text!r} in {self.shown!r}"
            try:
                chunk = os.read(self.master, 4096).decode(errors="replace")
            except OSError:  # EIO: the chat has exited and the terminal is gone
                chunk = ""
            assert chunk, f"the chat ended before {text!r}: {self.shown!r}"
            self.shown += chunk.replace("\r\n", "\n")
        return self.shown

    def exit_status(self) -> int:
        """The chat's exit status, once it has exited; what it showed until then is read."""
        status = self.child.wait(timeout=BOUND)
        while select.select([self.master], [], [], BOUND)[0]:
            try:
                chunk = os.read(self.master, 4096).decode(errors="replace")
            except OSError:  # EIO: everything was read, the terminal is gone
                break
            if not chunk:
                break
            self.shown += chunk.replace("\r\n", "\n")
        return status


@contextmanager
def chat(*args: str, api_key: str | None = API_KEY) -> Iterator[Terminal]:
    """``python -m openapiopenai realtime chat ARGS`` on a new pseudo-terminal."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("OPENAI_")}
    if api_key is not None:
        env["OPENAI_API_KEY"] = api_key
    master, slave = os.openpty()
    command: Sequence[str] = [sys.executable, "-m", "openapiopenai", "realtime", "chat", *args]
    child = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    try:
        yield Terminal(child, master)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=BOUND)
        os.close(master)


def test_two_turns_stream_and_quit_cleanly(openai_mock: MockServer) -> None:
    openai_mock.realtime.script_reply("Fresh bread from seven.")
    openai_mock.realtime.script_reply("We close at six.")
    openai_mock.realtime.delay(STALL, after="response.output_text.delta")
    with chat("--base-url", openai_mock.url, "--instructions", "Be brief.") as terminal:
        terminal.read_until("you> ")
        terminal.type("When do you open?\n")
        shown = terminal.read_until("model> Fresh")
        streamed = "Fresh bread" not in shown  # the first word, before the mock sent the rest
        first = len(terminal.read_until("you> ", len(shown)))
        terminal.type("And close?\n")
        terminal.read_until("you> ", first)
        terminal.type("/quit\n")
        status = terminal.exit_status()

    assert status == 0
    assert streamed
    assert "model> Fresh bread from seven.\nyou> " in terminal.shown
    assert "And close?\nmodel> We close at six.\nyou> /quit\n" in terminal.shown
    assert API_KEY not in terminal.shown
    assert "Traceback" not in terminal.shown
    received = openai_mock.realtime.received
    assert received[0]["session"] == {
        "type": "realtime",
        "output_modalities": ["text"],
        "instructions": "Be brief.",
    }
    said = [e["item"]["content"][0]["text"] for e in received if e["type"].startswith("conv")]
    assert said == ["When do you open?", "And close?"]


def test_end_of_input_ends_a_mock_chat() -> None:
    with chat("--mock", api_key=None) as terminal:
        terminal.read_until("you> ")
        terminal.type("Hello?\n")
        terminal.read_until("you> ", terminal.read_until("model> ").index("model> "))
        terminal.type("\x04")  # Ctrl-D
        status = terminal.exit_status()

    assert status == 0
    assert "model> Hello! This is the offline mock of the Realtime API.\n" in terminal.shown


def test_an_ended_conversation_is_told_in_words(openai_mock: MockServer) -> None:
    openai_mock.realtime.close(1008, "policy violated", on="response.create")
    with chat("--base-url", openai_mock.url) as terminal:
        terminal.read_until("you> ")
        terminal.type("Hello?\n")
        status = terminal.exit_status()

    assert status == 1
    assert "openapiopenai: error: " in terminal.shown
    assert "1008" in terminal.shown and "policy violated" in terminal.shown
    assert "Traceback" not in terminal.shown
    assert API_KEY not in terminal.shown


def test_a_dropped_conversation_reconnects_and_goes_on(openai_mock: MockServer) -> None:
    openai_mock.realtime.close(1011, "the model crashed", on="response.create")
    openai_mock.realtime.script_reply("Back again.")
    with chat("--base-url", openai_mock.url) as terminal:
        terminal.read_until("you> ")
        terminal.type("Hello?\n")
        terminal.read_until("[reconnected: a new conversation begins]")
        terminal.read_until("you> ")
        terminal.type("Still there?\n")
        terminal.read_until("model> Back again.")
        terminal.read_until("you> ")
        terminal.type("/quit\n")
        status = terminal.exit_status()

    assert status == 0
    assert "Traceback" not in terminal.shown
    assert API_KEY not in terminal.shown


def test_a_turn_sent_while_the_link_was_down_is_answered_in_its_own_turn(
    openai_mock: MockServer,
) -> None:
    """The link drops while the user types: the turn's events wait for the new link and go
    out there, so its answer comes in that turn, not one turn late."""
    from openapiopenai._chat import ChatOptions, run_chat

    for answer in ("Answer one.", "Answer two."):
        openai_mock.realtime.script_reply(answer)
    lines = iter(["first?", "second?"])

    def read_line(prompt: str) -> str:
        if next(turns) == 0:
            openai_mock.realtime.close_all()
            # Both ends' reading threads end with the connection: the chat's next send then
            # finds it closed (nobody was reading to notice sooner).
            deadline = time.monotonic() + 5
            while any(t.name.endswith("(recv_events)") for t in threading.enumerate()):
                assert time.monotonic() < deadline, "the dropped connection did not end"
                time.sleep(0.01)
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    turns = itertools.count()
    shown = io.StringIO()
    configuration = Configuration(host=openai_mock.url, access_token=API_KEY, retries=0)
    with ApiClient(configuration) as client:
        run_chat(RealtimeApi(client), ChatOptions(model="gpt-realtime"), read_line, shown)

    said = [line for line in shown.getvalue().splitlines() if line.startswith("model> ")]
    assert said == [
        "model> [reconnected: a new conversation begins]Answer one.",
        "model> Answer two.",
    ]


def test_an_unreachable_server_is_told_in_words() -> None:
    command = [sys.executable, "-m", "openapiopenai"]
    result = run(
        command, "realtime", "chat", "--base-url", "http://127.0.0.1:9/v1", "--retries", "0",
        api_key=API_KEY,
    )  # fmt: skip
    assert_one_error_line(result, "could not connect", "127.0.0.1:9")
    assert API_KEY not in result.stdout + result.stderr


def test_the_chat_needs_a_key_unless_mocked() -> None:
    command = [sys.executable, "-m", "openapiopenai"]
    result = run(command, "realtime", "chat", "--base-url", "http://127.0.0.1:9/v1")
    assert_one_error_line(result, "no API key", "--mock")


def test_server_errors_and_a_failed_response_are_told_without_terminal_controls(
    openai_mock: MockServer,
) -> None:
    from openapiopenai._chat import ChatError, ChatOptions, run_chat

    def read_line(prompt: str) -> str:
        error = {"type": "server_error", "message": "the model \x1b[2Jhiccuped"}
        openai_mock.realtime.push({"type": "error", "event_id": "event_1", "error": error})
        details = {"type": "failed", "error": {"type": "server_error", "message": "out \x07of it"}}
        response = {"id": "resp_1", "status": "failed", "status_details": details, "output": []}
        openai_mock.realtime.push({"type": "response.done", "event_id": "e2", "response": response})
        return "Hello?"

    shown = io.StringIO()
    configuration = Configuration(host=openai_mock.url, access_token=API_KEY, retries=0)
    with ApiClient(configuration) as client, pytest.raises(ChatError) as failed:
        run_chat(RealtimeApi(client), ChatOptions(model="gpt-realtime"), read_line, shown)

    assert str(failed.value) == "the response failed: out of it"
    assert "model> [server error: the model [2Jhiccuped]\n" in shown.getvalue()
    assert "\x1b" not in shown.getvalue()


def test_without_the_realtime_extra_the_chat_names_it() -> None:
    hide_websockets = (
        "import sys; sys.modules['websockets'] = None; from openapiopenai.cli import main; "
        "sys.exit(main(['realtime', 'chat', '--mock']))"
    )
    result = run([sys.executable, "-c", hide_websockets])
    assert_one_error_line(result, "pip install -e '.[realtime]'")
    assert result.returncode == 1


def test_a_close_reason_is_shown_without_terminal_controls(openai_mock: MockServer) -> None:
    openai_mock.realtime.close(
        1008, "the model \x1b]0;owned\x07crashed\x9b2J", on="response.create"
    )
    with chat("--base-url", openai_mock.url) as terminal:
        terminal.read_until("you> ")
        terminal.type("Hello?\n")
        status = terminal.exit_status()

    assert status == 1
    assert "1008" in terminal.shown and "the model ]0;ownedcrashed2J" in terminal.shown
    assert "\x1b" not in terminal.shown and "\x07" not in terminal.shown
    assert "\x9b" not in terminal.shown


def test_a_refused_handshake_is_shown_without_terminal_controls(openai_mock: MockServer) -> None:
    openai_mock.fail_next(1, 403, message="Project \x1b[31mblocked\x1b[0m; ask \x1b]8;;x\x07")
    with chat("--base-url", openai_mock.url, "--retries", "0") as terminal:
        status = terminal.exit_status()

    assert status == 1
    assert "HTTP 403" in terminal.shown and "Project [31mblocked[0m; ask ]8;;x" in terminal.shown
    assert "\x1b" not in terminal.shown and "\x07" not in terminal.shown
