"""Every hint for a missing optional dependency names the package and this checkout's extra.

``pip install 'openapiopenai[extra]'`` is never suggested: that name on the public index is
another project, which would replace this SDK.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: What each optional feature prints when its package is hidden: (package, extra, code).
MISSING = {
    "realtime": (
        "websockets",
        "realtime",
        "import openapiopenai.realtime",
    ),
    "mock-webrtc": (
        "aiortc",
        "webrtc",
        "from openapiopenai.mock import MockServer\nMockServer(webrtc=True)",
    ),
    "mock-webrtc-module": (
        "aiortc",
        "webrtc",
        "import openapiopenai.mock.webrtc",
    ),
    "mock-websocket-side": (
        "websockets",
        "realtime",
        "import http.client, sys\n"
        "from openapiopenai.mock import MockServer\n"
        "with MockServer() as url:\n"
        "    host, port = url.split('//')[1].split('/')[0].split(':')\n"
        "    connection = http.client.HTTPConnection(host, int(port), timeout=10)\n"
        "    connection.request('GET', '/v1/realtime?model=gpt-realtime', headers={\n"
        "        'Authorization': 'Bearer sk-x', 'Connection': 'Upgrade', 'Upgrade': 'websocket',\n"
        "        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13'})\n"
        "    answer = connection.getresponse()\n"
        "    sys.exit(f'{answer.status} {answer.read().decode()}')\n",
    ),
    "chat": (
        "websockets",
        "realtime",
        "from openapiopenai.cli import main\nmain(['realtime', 'chat', '--mock'])",
    ),
    "token-broker": (
        "aiortc",
        "webrtc",
        f"import logging, sys\nsys.path.insert(0, {str(ROOT / 'examples' / 'token_broker')!r})\n"
        "logging.basicConfig()\nimport server\nserver._start_mock().stop()",
    ),
}


@pytest.mark.parametrize("feature", sorted(MISSING))
def test_hint_names_the_package_and_the_checkouts_extra(feature: str) -> None:
    package, extra, code = MISSING[feature]
    hidden = f"import sys\nsys.modules[{package!r}] = None\n{code}"
    finished = subprocess.run(
        [sys.executable, "-c", hidden], capture_output=True, text=True, timeout=60, check=False
    )
    said = finished.stdout + finished.stderr

    assert f"pip install {package} " in said, said
    assert f"pip install -e '.[{extra}]'" in said, said
    assert "openapiopenai[" not in said, said


def test_readme_warns_once_near_installation() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    installation = text.split("## Installation", 1)[1].split("\n## ", 1)[0]
    assert "another project" in installation
    assert text.count("another project") == 1
