"""A port someone else holds: each server says so in one line and exits, no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SERVERS = {
    "mock": [sys.executable, "-m", "openapiopenai.mock"],
    "mock-with-key": [sys.executable, "-m", "openapiopenai.mock", "--api-key", "sk-x"],
    "phone-agent": [sys.executable, str(ROOT / "examples" / "phone_agent" / "agent.py")],
    "phone-agent-mock": [
        sys.executable,
        str(ROOT / "examples" / "phone_agent" / "agent.py"),
        "--mock",
    ],
    "token-broker": [sys.executable, str(ROOT / "examples" / "token_broker" / "server.py")],
    "token-broker-mock": [
        sys.executable,
        str(ROOT / "examples" / "token_broker" / "server.py"),
        "--mock",
    ],
}


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port with a listener on it for the whole test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield int(holder.getsockname()[1])


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_busy_port_is_one_line_naming_it(name: str, busy_port: int, tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    environment["OPENAI_API_KEY"] = "sk-busy-port-0123456789"
    finished = subprocess.run(
        [*SERVERS[name], "--port", str(busy_port)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )

    assert finished.returncode in (1, 2), finished.stderr
    assert "Traceback" not in finished.stderr, finished.stderr
    said = [line for line in finished.stderr.splitlines() if str(busy_port) in line]
    assert len(said) == 1, finished.stderr
    assert f"cannot listen on 127.0.0.1:{busy_port}: Address already in use" in said[0]
    assert finished.stdout == ""
