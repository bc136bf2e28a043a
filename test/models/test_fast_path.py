"""The validators that call no Python: same bytes, same models and same errors as the exact
path; classes loaded only when an answer holds them."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

import openapiopenai.models as models
from openapiopenai.exceptions import ApiValidationError, ApiValueError
from openapiopenai.models import _fast
from openapiopenai.models.openapi_model import RESPONSE_CONTEXT

ROOT = Path(__file__).resolve().parent.parent.parent

SESSION_GA: dict[str, Any] = {
    "type": "realtime",
    "object": "realtime.session",
    "id": "sess_C9CiUVUzUzYIssh3ELY1d",
    "model": "gpt-realtime",
    "output_modalities": ["audio"],
    "instructions": "Be brief.",
    "tools": [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}],
    "tool_choice": "auto",
    "max_output_tokens": "inf",
    "tracing": "auto",
    "truncation": "auto",
    "prompt": None,
    "expires_at": 0,
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": {"model": "gpt-4o-mini-transcribe"},
            "noise_reduction": None,
            "turn_detection": {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 200,
                "idle_timeout_ms": None,
                "create_response": True,
                "interrupt_response": True,
            },
        },
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin", "speed": 1},
    },
    "include": None,
}
MCP_TOOL = {
    "type": "mcp",
    "server_label": "docs",
    "server_url": "https://example.test/mcp",
    "allowed_tools": ["search"],
    "require_approval": "never",
}


def _secret(**session: Any) -> dict[str, Any]:
    body = copy.deepcopy(SESSION_GA)
    body.update(session)
    return {"value": "ek_68af296e8e408191a1120ab6383263c2", "expires_at": 1, "session": body}


def _audio(**input_fields: Any) -> dict[str, Any]:
    audio = copy.deepcopy(SESSION_GA["audio"])
    audio["input"].update(input_fields)
    return audio


#: Answers of POST /realtime/client_secrets: usual ones, newer ones, wrong ones.
CLIENT_SECRET_ANSWERS: dict[str, dict[str, Any]] = {
    "usual": _secret(),
    "max_output_tokens_number": _secret(max_output_tokens=4096),
    "mcp_tool": _secret(tools=[MCP_TOOL]),
    "tool_choice_function": _secret(tool_choice={"type": "function", "name": "lookup"}),
    "tracing_object": _secret(tracing={"workflow_name": "w"}),
    "truncation_ratio": _secret(truncation={"type": "retention_ratio", "retention_ratio": 0.5}),
    "semantic_vad": _secret(audio=_audio(turn_detection={"type": "semantic_vad"})),
    "transcription": {
        "value": "ek_1",
        "expires_at": 1,
        "session": {"type": "transcription", "id": "s", "object": "realtime.transcription_session"},
    },
    "new_field": _secret(brand_new={"x": [1, 2]}),
    "new_enum_value": _secret(output_modalities=["audio", "hologram"]),
    "new_mode": _secret(tool_choice="a-new-mode"),
    "new_tool_type": _secret(tools=[{"type": "browser", "name": "b"}]),
    "new_format": _secret(audio=_audio(format={"type": "audio/opus"})),
    "new_vad": _secret(audio=_audio(turn_detection={"type": "future_vad"})),
    "out_of_range": _secret(audio=_audio(turn_detection={"type": "server_vad", "threshold": 7})),
    "number_in_enum_list": _secret(output_modalities=["audio", 5]),
    "new_session_type": {"value": "ek_1", "expires_at": 1, "session": {"type": "video"}},
    "tag_not_text": _secret(tools=[{"type": 5}]),
    "null_required": {"value": None, "expires_at": 1, "session": {"type": "video"}},
    "text_for_number": {"value": "ek_1", "expires_at": "soon", "session": SESSION_GA},
    "missing_value": {"expires_at": 1, "session": SESSION_GA},
    "tokens_object": _secret(max_output_tokens={"limit": 5}),
    "tokens_list": _secret(max_output_tokens=[5]),
}


def _same(fast: Any, exact: Any) -> None:
    """Assert two parse results are the same objects, down to what was set and extras."""
    assert type(fast) is type(exact)
    if isinstance(fast, BaseModel):
        assert fast.model_fields_set == exact.model_fields_set
        assert fast.__pydantic_extra__ == exact.__pydantic_extra__
        assert list(fast.__dict__) == list(exact.__dict__)
        for name, value in fast.__dict__.items():
            _same(value, exact.__dict__[name])
    elif isinstance(fast, list):
        assert len(fast) == len(exact)
        for a, b in zip(fast, exact, strict=True):
            _same(a, b)
    elif isinstance(fast, dict):
        assert list(fast) == list(exact)
        for key, value in fast.items():
            _same(value, exact[key])
    else:
        assert fast == exact


def _exact(cls: type[Any], body: bytes) -> Any:
    try:
        return cls.model_validate_json(body, context=RESPONSE_CONTEXT)
    except ValidationError as error:
        return cls._validation_error(error)


@pytest.mark.parametrize("case", sorted(CLIENT_SECRET_ANSWERS))
def test_response_same_result_or_same_error_as_the_exact_path(case: str) -> None:
    cls = models.RealtimeCreateClientSecretResponse
    body = json.dumps(CLIENT_SECRET_ANSWERS[case]).encode()
    exact = _exact(cls, body)
    if isinstance(exact, ApiValidationError):
        with pytest.raises(ApiValidationError) as caught:
            cls.from_json(body)
        assert str(caught.value) == str(exact)
    else:
        _same(cls.from_json(body), exact)


@pytest.mark.parametrize(
    "case",
    [
        "usual",
        "max_output_tokens_number",
        "mcp_tool",
        "tool_choice_function",
        "tracing_object",
        "truncation_ratio",
        "semantic_vad",
        "transcription",
        "new_field",
    ],
)
def test_usual_and_new_field_answers_take_the_fast_path(case: str) -> None:
    body = json.dumps(CLIENT_SECRET_ANSWERS[case]).encode()
    parsed = _fast.parse_json(models.RealtimeCreateClientSecretResponse, body)
    assert parsed is not None
    _same(parsed, _exact(models.RealtimeCreateClientSecretResponse, body))


@pytest.mark.parametrize(
    "case", ["new_enum_value", "new_mode", "new_tool_type", "new_vad", "tokens_object"]
)
def test_newer_or_wrong_values_are_left_to_the_exact_path(case: str) -> None:
    body = json.dumps(CLIENT_SECRET_ANSWERS[case]).encode()
    assert _fast.parse_json(models.RealtimeCreateClientSecretResponse, body) is None


def test_beta_session_answer_takes_the_fast_path() -> None:
    from test.conftest import canned_session

    cls = models.RealtimeSessionCreateResponse
    body = json.dumps(canned_session(tools=[{"type": "function", "name": "f"}])).encode()
    parsed = _fast.parse_json(cls, body)
    assert parsed is not None
    _same(parsed, _exact(cls, body))


def test_a_callers_own_model_of_a_generated_name_is_left_to_the_exact_path() -> None:
    from openapiopenai.models.openapi_model import ResponseModel

    class RealtimeSessionCreateResponseGAAudio(ResponseModel):  # same name, not the class
        own: int

    assert _fast.parse_json(RealtimeSessionCreateResponseGAAudio, b'{"own": 1}') is None
    assert RealtimeSessionCreateResponseGAAudio.from_json(b'{"own": 1}').own == 1


# -- item: a value of the wrong kind where an enum or a number belongs -------------------------


@pytest.mark.parametrize("value", [{"limit": 5}, [5], ["inf"], {}])
def test_max_output_tokens_of_the_wrong_kind_is_an_error(value: object) -> None:
    body = json.dumps(_secret(max_output_tokens=value))
    with pytest.raises(ApiValidationError) as caught:
        models.RealtimeCreateClientSecretResponse.from_json(body)
    assert caught.value.errors[0].field.startswith("session.max_output_tokens")
    with pytest.raises(ApiValidationError):
        models.RealtimeSessionCreateResponseGA.from_dict({**SESSION_GA, "max_output_tokens": value})


@pytest.mark.parametrize("value", [4096, "inf", "unlimited"])
def test_max_output_tokens_number_inf_or_newer_text_is_kept(value: object) -> None:
    secret = models.RealtimeCreateClientSecretResponse.from_json(
        json.dumps(_secret(max_output_tokens=value))
    )
    assert secret.session.max_output_tokens == value  # type: ignore[union-attr]


def test_an_unknown_value_inside_a_list_is_still_kept() -> None:
    secret = models.RealtimeCreateClientSecretResponse.from_json(
        json.dumps(_secret(output_modalities=["audio", 5, "hologram"]))
    )
    assert secret.session.output_modalities == ["audio", 5, "hologram"]  # type: ignore[union-attr]


# -- requests ---------------------------------------------------------------------------------

REALISTIC = {
    "session": {
        "type": "realtime",
        "model": "gpt-realtime",
        "instructions": "Be brief.",
        "audio": {
            "input": {"turn_detection": {"type": "server_vad", "threshold": 0.6}},
            "output": {"voice": "marin"},
        },
    }
}

#: (request model, dict): valid, valid in ways only the exact path knows, and wrong.
REQUESTS: list[tuple[str, Any]] = [
    ("RealtimeCreateClientSecretRequest", REALISTIC),
    ("RealtimeCreateClientSecretRequest", {}),
    ("RealtimeCreateClientSecretRequest", {"expires_after": {"anchor": "created_at"}}),
    ("RealtimeCreateClientSecretRequest", {"session": {"type": "transcription"}}),
    ("RealtimeCreateClientSecretRequest", {"session": {"model": "gpt-realtime"}}),
    ("RealtimeCreateClientSecretRequest", {"session": {"type": "video"}}),
    ("RealtimeCreateClientSecretRequest", {"session": {"type": 5}}),
    ("RealtimeCreateClientSecretRequest", {"session": None}),
    ("RealtimeCreateClientSecretRequest", {"sesion": {}}),
    ("RealtimeCreateClientSecretRequest", {"session": {"type": "realtime", "instructions": None}}),
    (
        "RealtimeCreateClientSecretRequest",
        {"session": {"type": "realtime", "max_output_tokens": 5}},
    ),
    (
        "RealtimeCreateClientSecretRequest",
        {"session": {"type": "realtime", "max_output_tokens": "inf"}},
    ),
    (
        "RealtimeCreateClientSecretRequest",
        {"session": {"type": "realtime", "max_output_tokens": {"x": 1}}},
    ),
    (
        "RealtimeCreateClientSecretRequest",
        {"session": {"type": "realtime", "tools": [{"type": "function", "name": "f"}, MCP_TOOL]}},
    ),
    (
        "RealtimeCreateClientSecretRequest",
        {"session": {"type": "realtime", "tool_choice": {"type": "function", "name": "f"}}},
    ),
    ("RealtimeCreateClientSecretRequest", {"session": {"type": "realtime", "tool_choice": "x"}}),
    (
        "RealtimeCreateClientSecretRequest",
        {"session": {"type": "realtime", "truncation": {"type": "retention_ratio"}}},
    ),
    (
        "RealtimeCreateClientSecretRequest",
        {"session": {"type": "realtime", "audio": {"output": {"voice": {"id": "voice_1"}}}}},
    ),
    (
        "RealtimeCreateClientSecretRequest",
        {"session": {"type": "realtime", "audio": {"output": {"speed": 1}}}},
    ),
    (
        "RealtimeCreateClientSecretRequest",
        {"session": {"type": "realtime", "audio": {"output": {"speed": 9}}}},
    ),
    (
        "RealtimeCreateClientSecretRequest",
        {"session": {"type": "realtime", "audio": {"output": {"speed": float("nan")}}}},
    ),
    (
        "RealtimeCreateClientSecretRequest",
        {"session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}}},
    ),
    (
        "RealtimeCreateClientSecretRequest",
        {"session": {"type": "realtime", "audio": {"input": {"turn_detection": {}}}}},
    ),
    ("RealtimeCreateClientSecretRequest", {"session": {"type": "realtime", "model": True}}),
    ("RealtimeCreateClientSecretRequest", {"session": {"type": "realtime", "model": "\ud800"}}),
    (
        "RealtimeCreateClientSecretRequest",
        {"session": {"type": "realtime", "tracing": {"metadata": {"k": object()}}}},
    ),
    ("RealtimeSessionCreateRequestGA", {"model": "gpt-realtime"}),
    ("RealtimeSessionCreateRequestGA", {"type": "realtime", "output_modalities": ["audio"]}),
    ("RealtimeSessionCreateRequestGA", {"output_modalities": []}),
    (
        "RealtimeSessionCreateRequest",
        {
            "model": "gpt-realtime",
            "voice": "marin",
            "modalities": ["audio", "text"],
            "turn_detection": {"type": "server_vad", "threshold": 0.5},
            "temperature": 0.8,
        },
    ),
    ("RealtimeSessionCreateRequest", {"temperature": "0.8"}),
    ("RealtimeSessionCreateRequest", {"turn_detection": {"threshold": 2}}),
    ("RealtimeCallReferRequest", {"target_uri": "tel:+14155550123"}),
    ("RealtimeCallReferRequest", {}),
    ("RealtimeCallRejectRequest", {"status_code": 486}),
    ("RealtimeTranslationClientSecretCreateRequest", {"session": {"model": "gpt-realtime"}}),
]


def _exact_bytes(name: str, body: Any) -> bytes | None:
    try:
        return getattr(models, name).from_dict(body).to_json_bytes()  # type: ignore[no-any-return]
    except (ApiValidationError, ApiValueError):
        return None


@pytest.mark.parametrize(("name", "body"), REQUESTS)
def test_request_dict_fast_bytes_are_the_exact_bytes_or_it_defers(name: str, body: Any) -> None:
    exact = _exact_bytes(name, body)
    fast = _fast.request_json(name, body)
    assert fast is None or fast == exact


@pytest.mark.parametrize(
    ("name", "body"),
    [
        (name, body)
        for name, body in REQUESTS
        if body
        in (
            REALISTIC,
            {"session": {"type": "transcription"}},
            {"session": {"type": "realtime", "max_output_tokens": "inf"}},
            {"model": "gpt-realtime"},
            {"target_uri": "tel:+14155550123"},
        )
        or (name == "RealtimeSessionCreateRequest" and "model" in body)
    ],
)
def test_usual_request_dicts_take_the_fast_path(name: str, body: Any) -> None:
    fast = _fast.request_json(name, body)
    assert fast is not None and fast == _exact_bytes(name, body)


def test_type_tag_is_filled_in_like_the_exact_path() -> None:
    fast = _fast.request_json("RealtimeSessionCreateRequestGA", {"model": "gpt-realtime"})
    assert fast == b'{"type":"realtime","model":"gpt-realtime"}'


# -- cold start --------------------------------------------------------------------------------

FRESH = """
import json, sys
import openapiopenai
from openapiopenai.models import _fast

def loaded():
    return sorted(m.rsplit(".", 1)[1] for m in sys.modules if m.startswith("openapiopenai.models."))

report = {}
sent = _fast.request_json("RealtimeCreateClientSecretRequest", REQUEST)
report["request_json"] = sent is not None
report["after_request"] = loaded()
R = openapiopenai.RealtimeCreateClientSecretResponse
secret = R.from_json(ANSWER)
report["session"] = type(secret.session).__name__
report["after_answer"] = loaded()
with_mcp = R.from_json(MCP_ANSWER)
report["mcp"] = type(with_mcp.session.tools[0]).__name__
report["after_mcp"] = loaded()
report["exact_path_built"] = R.__pydantic_complete__
report["schema_has_prompt"] = "Prompt" in json.dumps(R.model_json_schema())
report["everything_listed"] = "Prompt" in dir(openapiopenai.models)
report["after_schema"] = loaded()
print(json.dumps(report))
"""


def test_a_fresh_process_loads_only_the_classes_it_instantiates() -> None:
    code = (
        FRESH.replace("REQUEST", repr(REALISTIC))
        .replace("MCP_ANSWER", repr(json.dumps(CLIENT_SECRET_ANSWERS["mcp_tool"])))
        .replace("ANSWER", repr(json.dumps(CLIENT_SECRET_ANSWERS["usual"])))
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(completed.stdout)
    assert report["request_json"] is True
    # A dict request builds no model at all.
    assert report["after_request"] == ["_fast", "_shapes"]
    assert report["session"] == "RealtimeSessionCreateResponseGA"
    after_answer = set(report["after_answer"])
    assert "realtime_session_create_response_ga" in after_answer
    assert "realtime_turn_detection_server_vad" in after_answer
    # Union members and objects the answer does not hold are not loaded ...
    for absent in ("mcp_tool", "prompt", "realtime_transcription_session_create_response_ga"):
        assert absent not in after_answer
    # ... until an answer holds them, still without the exact path ...
    assert report["mcp"] == "MCPTool"
    assert "mcp_tool" in report["after_mcp"] and "prompt" not in report["after_mcp"]
    assert report["exact_path_built"] is False
    # ... and pydantic and dir() see every one of them.
    assert report["schema_has_prompt"] and report["everything_listed"]
    assert "prompt" in report["after_schema"]


def test_a_callers_subclass_of_a_generated_model_reads_its_nested_classes() -> None:
    class Mine(models.RealtimeSessionCreateResponseGA):
        note: str | None = None

    body = json.dumps({**SESSION_GA, "note": "kept"})
    mine = Mine.from_json(body)
    assert mine.note == "kept"
    assert isinstance(mine.audio, models.RealtimeSessionCreateResponseGAAudio)
    assert mine.audio.output is not None and mine.audio.output.voice == "marin"


def test_shapes_describe_every_generated_class_field_by_field() -> None:
    from openapiopenai.models._shapes import ALIASES, CLASSES

    assert set(CLASSES) | set(ALIASES) <= set(models.__all__)
    for name, (_, fields) in CLASSES.items():
        cls = getattr(models, name)
        wire_names = [field.alias or attribute for attribute, field in cls.model_fields.items()]
        assert [wire for wire, *_ in fields] == wire_names, name
        assert [attribute for _, attribute, *_ in fields] == list(cls.model_fields), name


def test_request_validator_grows_with_the_classes_requests_hold() -> None:
    name = "RealtimeCreateClientSecretRequest"
    _fast._requests.pop(name, None)
    assert _fast.request_json(name, {}) == b"{}"
    assert _fast._requests[name].classes == {name}
    for body in (REALISTIC, {"session": {"type": "realtime", "tools": [MCP_TOOL]}}):
        sent = _fast.request_json(name, body)
        assert sent is not None and sent == _exact_bytes(name, body)
    assert {"MCPTool", "RealtimeTurnDetectionServerVad"} <= _fast._requests[name].classes
