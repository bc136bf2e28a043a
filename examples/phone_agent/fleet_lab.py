"""A fleet on one machine, for trying it, measuring it and testing it: a ``redis-server`` on a
free loopback port (no persistence, in a temporary directory), workers of ``agent.py`` as
processes, the SDK's mock playing OpenAI, and signed webhook deliveries, all on 127.0.0.1.

    python examples/phone_agent/fleet_lab.py     # two workers, one call, one worker killed
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import urllib3
from calls import wait_for

from openapiopenai import ApiClient, Configuration, RealtimeApi
from openapiopenai.mock import MockServer
from openapiopenai.mock.webhook_sender import call_incoming_event
from openapiopenai.webhooks import sign

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parents[1]
STARTUP_SECONDS = 30.0
ORDER_42 = {"order_number": 42}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """Debian's ``redis-server`` on a free loopback port, without persistence; stopped (and
    its directory removed) on :meth:`stop` or leaving ``with``."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.mkdtemp(prefix="phone-agent-redis-")
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", self._dir]
        self.process = subprocess.Popen(  # noqa: S603 (our own command line)
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self._dir
        )
        if not wait_for(self._answers, STARTUP_SECONDS, step=0.02):
            self.stop()
            raise RuntimeError(f"redis-server did not answer PING on port {self.port}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class Worker:
    """``agent.py --store ...`` as a process on a free port; its log in ``log``."""

    def __init__(
        self,
        store_url: str,
        base_url: str,
        secret: str,
        log: Path,
        arguments: Sequence[str] = (),
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/webhook"
        self.log = log
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        path = os.pathsep.join(p for p in (str(REPOSITORY), env.get("PYTHONPATH", "")) if p)
        env.update(
            PYTHONPATH=path,
            OPENAI_BASE_URL=base_url,
            OPENAI_API_KEY="sk-fleet-test",
            OPENAI_WEBHOOK_SECRET=secret,
            **(environment or {}),
        )
        command = [sys.executable, str(HERE / "agent.py"), "--port", str(self.port)]
        command += ["--store", store_url, *arguments]
        with log.open("ab") as sink:
            self.process = subprocess.Popen(  # noqa: S603 (our own command line)
                command, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=HERE
            )
        if not wait_for(self._serving, STARTUP_SECONDS, step=0.05):
            self.kill()
            raise RuntimeError(f"the worker did not start:\n{log.read_text()}")

    def _serving(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{self.log.read_text()}")
        return b"sharing calls through the store" in self.log.read_bytes()

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def metrics(self) -> str:
        answer = urllib3.request("GET", self.metrics_url, retries=False, timeout=5)
        assert answer.status == 200, answer.status
        return answer.data.decode()

    def kill(self) -> None:
        """kill -9: no goodbye."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, then wait for the exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


def signed_delivery(call_id: str, secret: str) -> tuple[bytes, dict[str, str]]:
    """A ``realtime.call.incoming`` webhook as OpenAI sends it: body and signed headers (one
    ``webhook-id``, the same in every redelivery)."""
    body = json.dumps(call_incoming_event(call_id)).encode()
    return body, {"Content-Type": "application/json", **sign(body, secret=secret)}


def deliver(url: str, delivery: tuple[bytes, Mapping[str, str]]) -> int:
    """POST a delivery to a worker; its HTTP status."""
    body, headers = delivery
    answer = urllib3.request(
        "POST", url, body=body, headers=dict(headers), retries=False, timeout=10
    )
    return int(answer.status)


def ask_tool(
    api: RealtimeApi,
    mock: MockServer,
    call_id: str,
    tool: str = "order_status",
    arguments: Mapping[str, object] = ORDER_42,
) -> str:
    """As the caller: the model calls ``tool`` on ``call_id``; the output the call's owner
    sent (and the model's answer after it is done, so nothing scripted is left)."""
    output = None
    with api.connect(call_id=call_id, receive_timeout=10) as conn:
        tool_call = mock.realtime.script_tool_call(tool, arguments)
        conn.response.create()
        for event in conn:
            item = event.to_dict().get("item") or {}
            if item.get("type") == "function_call_output" and item.get("call_id") == tool_call:
                output = str(item.get("output"))
            elif event.type == "response.done" and output is not None:
                break
    assert output is not None
    return output


def demo(workers: int = 2) -> None:
    """Two workers and a Redis: a call is accepted and answers a tool; its worker is killed
    (SIGKILL) and another takes the call over and answers the next tool call."""
    secret = "whsec_" + "A" * 32
    mock = MockServer()
    mock.start()
    configuration = Configuration(host=mock.url, access_token="sk-mock", ignore_environment=True)  # noqa: S106
    with (
        RedisServer() as redis,
        tempfile.TemporaryDirectory() as logs,
        ApiClient(configuration) as client,
    ):
        api = RealtimeApi(client)
        fleet = [
            Worker(redis.url, mock.url, secret, Path(logs) / f"worker-{n}.log")
            for n in range(workers)
        ]
        try:
            print(f"redis-server at {redis.url}; workers at", *(w.url for w in fleet))
            call_id = mock.incoming_call()
            delivery = signed_delivery(call_id, secret)
            print("webhook to the first worker:", deliver(fleet[0].url, delivery))
            print("the same webhook to the second:", deliver(fleet[-1].url, delivery))
            print("accepted", sum(a == "accept" for a, _ in mock.calls[call_id].actions), "time(s)")
            time.sleep(0.5)  # the greeting
            print("the tool answered:", ask_tool(api, mock, call_id))
            fleet[0].kill()
            killed = time.monotonic()
            print("the first worker is killed; waiting for a takeover...")
            wait_for(lambda: "taken over" in "".join(w.log.read_text() for w in fleet[1:]), 30)
            print(f"taken over after {time.monotonic() - killed:.1f} s")
            time.sleep(0.3)
            print("the tool answered:", ask_tool(api, mock, call_id))
            for worker in fleet:
                print(f"-- {worker.log.name}")
                print(worker.log.read_text().strip())
        finally:
            for worker in fleet:
                worker.kill()
            mock.stop()


if __name__ == "__main__":
    logging.getLogger("websockets").setLevel(logging.WARNING)
    demo()
