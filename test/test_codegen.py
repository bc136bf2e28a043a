"""The generator: the committed models are what the spec gives, and the spec is the pinned one.

``python -m codegen --check`` (a CI stage of its own) compares every generated file; these
tests pin the rules around it: the lock file, the overrides' reasons, stable names, and an
import of the SDK that builds no model it does not need.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codegen import spec as spec_module
from codegen.schema import camel, snake
from openapiopenai.exceptions import ApiValidationError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def spec_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of spec/ that the loader reads instead of the real one."""
    copy = tmp_path / "spec"
    shutil.copytree(ROOT / "spec", copy)
    monkeypatch.setattr(spec_module, "SPEC_DIR", copy)
    monkeypatch.setattr(spec_module, "SOURCES", copy / "sources.yaml")
    monkeypatch.setattr(spec_module, "OVERRIDES", copy / "overrides.yaml")
    return copy


def test_committed_output_is_up_to_date() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "codegen", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "up to date" in finished.stdout


def test_a_changed_spec_file_is_refused_until_the_lock_file_is_updated(spec_copy: Path) -> None:
    target = spec_copy / "realtime-ga.openapi.yaml"
    target.write_text(target.read_text() + "\n# changed\n")
    with pytest.raises(spec_module.SpecError, match=r"realtime-ga\.openapi\.yaml has sha256"):
        spec_module.load_specs()


def test_every_override_needs_a_reason(spec_copy: Path) -> None:
    overrides = spec_copy / "overrides.yaml"
    text = overrides.read_text()
    first_reason = text.index("    reason:")
    end = text.index("\n  - target:", first_reason)
    overrides.write_text(text[:first_reason] + text[end + 1 :])
    with pytest.raises(spec_module.SpecError, match="override 1 has no reason"):
        spec_module.load_specs()


def test_an_override_of_a_missing_node_is_refused(spec_copy: Path) -> None:
    overrides = spec_copy / "overrides.yaml"
    overrides.write_text(
        overrides.read_text().replace(
            "RealtimeSessionCreateRequest/properties/turn_detection\n",
            "RealtimeSessionCreateRequest/properties/turn_detektion\n",
            1,
        )
    )
    with pytest.raises(spec_module.SpecError, match="turn_detektion does not exist"):
        spec_module.load_specs()


def test_every_override_is_applied_and_explained() -> None:
    overrides = spec_module.load_yaml(ROOT / "spec" / "overrides.yaml")["corrections"]
    assert len(overrides) >= 20
    for override in overrides:
        assert len(override["reason"]) > 20, override["target"]
        assert {"set", "merge", "append", "delete"} & set(override), override["target"]


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("RealtimeSessionCreateRequestGA", "realtime_session_create_request_ga"),
        ("MCPToolFilter", "mcp_tool_filter"),
        ("ToolChoiceMCP", "tool_choice_mcp"),
        ("VoiceIdsShared", "voice_ids_shared"),
    ],
)
def test_module_names_follow_the_generator(name: str, module: str) -> None:
    assert snake(name) == module
    assert (ROOT / "openapiopenai" / "models" / f"{module}.py").is_file()


def test_inline_names_come_from_paths_and_tags() -> None:
    assert camel("input_audio_transcription") == "InputAudioTranscription"
    assert camel("audio/pcm") == "AudioPcm"
    import openapiopenai.models as models

    for name in (
        "RealtimeSessionCreateRequestGAAudioInput",  # path
        "RealtimeSessionCreateRequestToolsInner",  # array item
        "RealtimeTurnDetectionServerVad",  # union member, by its type tag
        "RealtimeAudioFormatsAudioPcm",
    ):
        assert name in models.__all__


def _in_fresh_interpreter(code: str) -> str:
    finished = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return finished.stdout.strip()


def test_import_builds_no_model() -> None:
    loaded = _in_fresh_interpreter(
        "import sys, openapiopenai\n"
        "print(sorted(m for m in sys.modules if m.startswith('openapiopenai.models.')))\n"
        "print('pydantic.main' in sys.modules)"
    )
    assert loaded.splitlines() == ["[]", "False"]


def test_a_model_loads_only_what_it_reaches() -> None:
    loaded = _in_fresh_interpreter(
        "import sys, openapiopenai\n"
        "openapiopenai.RealtimeSessionCreateRequest\n"
        "print(sum(m.startswith('openapiopenai.models.') for m in sys.modules))"
    )
    assert 2 <= int(loaded) <= 12  # the request, its parts and the base; none of the GA models


def test_every_name_is_visible_before_it_is_loaded() -> None:
    import openapiopenai
    import openapiopenai.models as models

    assert set(models.__all__) <= set(dir(models))
    assert set(models.__all__) <= set(openapiopenai.__all__)
    assert set(models.__all__) <= set(dir(openapiopenai))
    with pytest.raises(AttributeError, match="NoSuchModel"):
        _ = models.NoSuchModel  # type: ignore[attr-defined]


def _plain_mypy(directory: Path, code: str) -> subprocess.CompletedProcess[str]:
    (directory / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")
    (directory / "example.py").write_text(code, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "example.py"],
        cwd=directory,
        env={**os.environ, "MYPYPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_type_checkers_take_a_dict_for_a_nested_request_model_and_check_its_keys(
    tmp_path: Path,
) -> None:
    pytest.importorskip("mypy", reason="mypy comes with the dev extra")
    code = (
        "from typing import TYPE_CHECKING\n"
        "from openapiopenai.models import RealtimeSessionCreateRequestGA as Session\n"
        "if TYPE_CHECKING:\n"
        "    from openapiopenai.models.realtime_session_create_request_ga_audio import (\n"
        "        RealtimeSessionCreateRequestGAAudioDict,\n"
        "    )\n"
        "audio: 'RealtimeSessionCreateRequestGAAudioDict' = {'output': {'voice': 'marin'}}\n"
        "good = Session(model='gpt-realtime', audio={'output': {'voice': 'marin'}})\n"
        "also = Session(audio=audio)\n"
        "reveal_type(good.audio)\n"
        "Session(audio={'output': {'voise': 'marin'}})\n"
    )
    checked = _plain_mypy(tmp_path, code)
    errors = [line for line in checked.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and errors[0].startswith("example.py:11:"), checked.stdout
    assert 'Argument "audio" to "RealtimeSessionCreateRequestGA"' in errors[0]
    assert 'Revealed type is "openapiopenai.models.realtime_session_create_request_ga_audio.' in (
        checked.stdout
    )


def test_websocket_events_take_the_direction_of_their_union() -> None:
    from openapiopenai.models import (
        RealtimeClientEventResponseCreate,
        RealtimeConversationItemMessageUser,
        RealtimeServerEventConversationItemAdded,
        RealtimeServerEventResponseDone,
        RealtimeTranslationClientEventSessionClose,
        RealtimeTranslationServerEventSessionClosed,
    )
    from openapiopenai.models.openapi_model import RequestModel, ResponseModel

    for sent in (RealtimeClientEventResponseCreate, RealtimeTranslationClientEventSessionClose):
        assert issubclass(sent, RequestModel)
    for received in (RealtimeServerEventResponseDone, RealtimeTranslationServerEventSessionClosed):
        assert issubclass(received, ResponseModel)
    # An item is sent (conversation.item.create) and received (conversation.item.added): strict
    # in the one, lenient in the other.
    assert issubclass(RealtimeConversationItemMessageUser, RequestModel)
    user = {"type": "message", "role": "user", "content": [], "status": "from_the_future"}
    with pytest.raises(ApiValidationError, match="status"):
        RealtimeConversationItemMessageUser.from_dict(user)
    added = {"type": "conversation.item.added", "event_id": "e", "item": user}
    assert RealtimeServerEventConversationItemAdded.from_dict(added).to_dict() == added


def test_base64_fields_offer_their_bytes() -> None:
    from openapiopenai.models import (
        RealtimeServerEventResponseAudioDelta,
        RealtimeTranslationServerEventSessionOutputAudioDelta,
    )

    fields = {"event_id": "e", "response_id": "r", "item_id": "i"}
    delta = RealtimeServerEventResponseAudioDelta.from_dict(
        {"type": "response.output_audio.delta", **fields, "output_index": 0, "content_index": 0}
        | {"delta": "AAEC"}
    )
    assert delta.delta_bytes == b"\x00\x01\x02"
    translated = RealtimeTranslationServerEventSessionOutputAudioDelta.from_dict(
        {"type": "session.output_audio.delta", "event_id": "e", "delta": "/w=="}
    )
    assert translated.delta_bytes == b"\xff"
