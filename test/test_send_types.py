"""What the send helpers take is typed: a dict literal is checked against the event's model.

``conn.session.update({...})``, ``conn.conversation.item.create({...})`` and
``conn.response.create({...})`` take the generated model or its ``...Dict`` TypedDict, so mypy
and pyright refuse a misspelt key or a wrong type in a literal, and pass correct nested ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

HEADER = """\
from openapiopenai.realtime import RealtimeConnection
from openapiopenai.realtime.tools import FunctionTools

tools = FunctionTools()


@tools.register
def order_status(order_id: int) -> str:
    \"\"\"The status of an order.\"\"\"
    return "ready"


def talk(conn: RealtimeConnection) -> None:
"""

CORRECT = """\
    conn.session.update(
        {
            "type": "realtime",
            "instructions": "Be brief.",
            "output_modalities": ["audio"],
            "audio": {
                "input": {"format": {"type": "audio/pcm", "rate": 24000}, "turn_detection": None},
                "output": {"voice": "marin", "speed": 1.1},
            },
            "tools": tools.definitions(),
            "tool_choice": "auto",
        }
    )
    conn.session.update({"type": "transcription", "audio": {"input": {"transcription": {}}}})
    conn.conversation.item.create(
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Hello"},
                {"type": "input_audio", "audio": "AAAA"},
            ],
        }
    )
    conn.conversation.item.create(
        {"type": "function_call_output", "call_id": "call_1", "output": "{}"}
    )
    conn.conversation.item.create(
        {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "Hi"}]}
    )
    conn.response.create(
        {
            "output_modalities": ["text"],
            "instructions": "Answer now.",
            "metadata": {"turn": "1"},
        }
    )
    conn.response.create()
"""

#: One mistake a line. The checkers report each on its line, as an argument the parameter's
#: union (of models and TypedDicts) does not take; neither names the key inside a union.
MISTAKES = [
    '    conn.session.update({"type": "realtime", "instructons": "Be brief."})\n',
    '    conn.session.update({"type": "realtime", "instructions": 3})\n',
    '    conn.session.update({"type": "realtime", "audio": {"output": {"voise": "x"}}})\n',
    '    conn.conversation.item.create({"type": "message", "role": "usr", "content": []})\n',
    '    conn.conversation.item.create({"type": "function_call_output", "call_id": 1})\n',
    '    conn.response.create({"instructons": "x"})\n',
    '    conn.response.create({"output_modalities": "text"})\n',
]


def check(tmp_path: Path, body: str, *, checker: str) -> subprocess.CompletedProcess[str]:
    """mypy --strict or pyright on ``HEADER + body``, with the package as this checkout has it."""
    pytest.importorskip(checker, reason=f"{checker} comes with the dev extra")
    (tmp_path / "app.py").write_text(HEADER + body, encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if checker == "mypy":
        environment["MYPYPATH"] = str(ROOT)
        (tmp_path / "mypy.ini").write_text("[mypy]\nstrict = True\n", encoding="utf-8")
        command = ["mypy", "--config-file", "mypy.ini", "--cache-dir", ".mypy_cache", "app.py"]
    else:
        settings = {"extraPaths": [str(ROOT)], "typeCheckingMode": "strict"}
        (tmp_path / "pyrightconfig.json").write_text(json.dumps(settings), encoding="utf-8")
        command = ["pyright", "--pythonpath", sys.executable, "app.py"]
    return subprocess.run(
        [sys.executable, "-m", *command],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def error_lines(result: subprocess.CompletedProcess[str], checker: str) -> set[int]:
    """The app.py lines the checker reports an error on."""
    lines = set()
    for line in result.stdout.splitlines():
        if checker == "mypy" and line.startswith("app.py:") and ": error:" in line:
            lines.add(int(line.split(":")[1]))
        elif checker == "pyright" and " - error:" in line:
            lines.add(int(line.split("app.py:")[1].split(":")[0]))
    return lines


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_correct_nested_literals_type_check(checker: str, tmp_path: Path) -> None:
    result = check(tmp_path, CORRECT, checker=checker)

    assert result.returncode == 0, result.stdout + result.stderr
    assert not error_lines(result, checker)


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_each_mistake_is_a_type_error_on_its_line(checker: str, tmp_path: Path) -> None:
    result = check(tmp_path, "".join(MISTAKES), checker=checker)

    first = HEADER.count("\n") + 1
    assert error_lines(result, checker) == set(range(first, first + len(MISTAKES))), result.stdout
