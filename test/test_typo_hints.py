"""Small mistakes a newcomer makes get a pointer to the right name, and logs stay readable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import openapiopenai
from openapiopenai.mock import MockServer
from openapiopenai.models import RealtimeSessionCreateRequest, RealtimeSessionCreateRequestGA
from test.conftest import quick_api

BROKER_DIR = Path(__file__).resolve().parent.parent / "examples" / "token_broker"


def test_misspelt_event_type_gets_did_you_mean(openai_mock: MockServer) -> None:
    pytest.importorskip("websockets", reason="the realtime extra")
    with (
        quick_api(openai_mock.url).connect(model="gpt-realtime", receive_timeout=10) as conn,
        pytest.raises(openapiopenai.ApiValueError) as refused,
    ):
        conn.send({"type": "sesion.update", "session": {"type": "realtime"}})

    assert "got 'sesion.update'; did you mean 'session.update'?" in str(refused.value)
    assert openai_mock.realtime.received == []  # refused before sending


def test_unrelated_event_type_gets_no_guess(openai_mock: MockServer) -> None:
    pytest.importorskip("websockets", reason="the realtime extra")
    with (
        quick_api(openai_mock.url).connect(model="gpt-realtime", receive_timeout=10) as conn,
        pytest.raises(openapiopenai.ApiValueError) as refused,
    ):
        conn.send({"type": "zzz"})

    assert "did you mean" not in str(refused.value)


@pytest.mark.parametrize("name", ["voise", "voice"])
def test_beta_voice_in_a_ga_session_points_to_audio_output_voice(name: str) -> None:
    with pytest.raises(openapiopenai.ApiValidationError) as refused:
        RealtimeSessionCreateRequestGA.from_dict({"type": "realtime", name: "marin"})

    assert f"{name}: unknown field; did you mean 'audio.output.voice'?" in str(refused.value)


def test_beta_session_still_suggests_its_own_voice() -> None:
    with pytest.raises(openapiopenai.ApiValidationError) as refused:
        RealtimeSessionCreateRequest.from_dict({"voise": "marin"})

    assert "voise: unknown field; did you mean 'voice'?" in str(refused.value)


@pytest.mark.parametrize(("level", "chatty"), [("INFO", "30 30"), ("DEBUG", "10 10")])
def test_broker_log_quiets_webrtc_and_websocket_chatter(level: str, chatty: str) -> None:
    probe = (
        f"import logging, sys; sys.path.insert(0, {str(BROKER_DIR)!r}); import server\n"
        f"server.configure_logging({level!r})\n"
        "print(*(logging.getLogger(n).getEffectiveLevel() for n in ('aioice', 'websockets',"
        " 'token_broker')))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )

    assert shown.returncode == 0, shown.stderr
    own = "20" if level == "INFO" else "10"
    assert shown.stdout.split() == [*chatty.split(), own]
