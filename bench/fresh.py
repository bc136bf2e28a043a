"""The sections timed in fresh interpreters: ``import openapiopenai`` and a process's way to its
first key, each against raw urllib3 and json with pydantic imported, interleaved, medians.

Bytecode is cached in a temporary ``PYTHONPYCACHEPREFIX`` for every measured process, with
``PYTHONDONTWRITEBYTECODE`` removed from their environment: users run compiled code (pip compiles
it at install, an editable install writes it on first import), and CI's setting would otherwise
recompile the SDK on every start while its dependencies load compiled code.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SDK_IMPORT = "import openapiopenai"
FLOOR_IMPORT = "import urllib3, json; from pydantic import BaseModel"
#: The floor plus what defining any pydantic model with a field costs (pydantic loads more).
MODEL_FLOOR_IMPORT = FLOOR_IMPORT + "; M = type('M', (BaseModel,), {'__annotations__': {'x': int}})"


def medians(measures: list[Callable[[], float]], rounds: int) -> list[float]:
    """Run the measurements in turn, starting one later each round; the median of each."""
    samples: list[list[float]] = [[] for _ in measures]
    for index in range(rounds):
        for offset in range(len(measures)):
            which = (index + offset) % len(measures)
            samples[which].append(measures[which]())
    return [statistics.median(values) for values in samples]


def median_pair(
    first: Callable[[], float], second: Callable[[], float], rounds: int
) -> tuple[float, float]:
    """Run two measurements alternately (order swapped each round); medians of each."""
    a, b = medians([first, second], rounds)
    return a, b


def _bytecode_environment(cache: str) -> dict[str, str]:
    """Our environment, with compiled bytecode cached under ``cache`` for every module.

    An installed package has bytecode; an editable checkout run with PYTHONDONTWRITEBYTECODE
    would otherwise recompile the SDK's sources on every import while its dependencies load
    theirs from site-packages, which is not the comparison we want.
    """
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPYCACHEPREFIX"] = cache
    return environment


def _import_seconds(statement: str, environment: dict[str, str]) -> float:
    """Seconds ``statement`` takes in a fresh interpreter (start-up itself not counted)."""
    return _timed_block(statement + "\n", environment)[0]


def _timed_block(code: str, environment: dict[str, str]) -> tuple[float, float]:
    """Seconds a block of code takes in a fresh interpreter (start-up itself not counted), by
    wall clock and by that process's CPU time (which other processes' load barely moves)."""
    timed = "import time as _t\n_start, _cpu = _t.perf_counter(), _t.process_time()\n" + code
    timed += "print(_t.perf_counter() - _start, _t.process_time() - _cpu)\n"
    output = subprocess.run(
        [sys.executable, "-c", timed],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    wall, cpu = output.split()
    return float(wall), float(cpu)


def _process_seconds(statement: str, environment: dict[str, str]) -> float:
    """Wall time of a whole fresh interpreter running ``statement``."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], cwd=ROOT, env=environment, check=True)
    return time.perf_counter() - started


def bench_import(rounds: int) -> dict[str, Any]:
    """``import openapiopenai`` against the floor of its dependencies, fresh interpreters."""
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache:
        env = _bytecode_environment(cache)
        for statement in (SDK_IMPORT, FLOOR_IMPORT, MODEL_FLOOR_IMPORT):
            _import_seconds(statement, env)  # writes the bytecode
        sdk_s, floor_s = median_pair(
            lambda: _import_seconds(SDK_IMPORT, env),
            lambda: _import_seconds(FLOOR_IMPORT, env),
            rounds,
        )
        model_floor_s = statistics.median(
            _import_seconds(MODEL_FLOOR_IMPORT, env) for _ in range(max(1, rounds // 2))
        )
        sdk_p, floor_p = median_pair(
            lambda: _process_seconds(SDK_IMPORT, env),
            lambda: _process_seconds(FLOOR_IMPORT, env),
            rounds,
        )
    return {
        "sdk_ms": sdk_s * 1e3,
        "floor_ms": floor_s * 1e3,
        "ratio": sdk_s / floor_s,
        "model_floor_ms": model_floor_s * 1e3,
        "model_floor_ratio": model_floor_s / floor_s,
        "sdk_process_ms": sdk_p * 1e3,
        "floor_process_ms": floor_p * 1e3,
        "process_ratio": sdk_p / floor_p,
    }


#: A fresh process's way to its first key through the SDK: import, configure, one call.
SDK_COLD_START = """
import openapiopenai
with openapiopenai.ApiClient(openapiopenai.Configuration(host={base!r}, access_token={key!r})) as c:
    session = openapiopenai.RealtimeApi(c).create_realtime_session(
        openapiopenai.RealtimeSessionCreateRequest(model="gpt-realtime", voice="marin")
    )
assert session.client_secret.value
"""
#: The same by hand: urllib3 and json, with pydantic imported as the SDK's floor has it.
RAW_COLD_START = """
import json, urllib3
from pydantic import BaseModel
with urllib3.PoolManager() as pool:
    answer = pool.request(
        "POST", {base!r} + "/realtime/sessions",
        body=json.dumps({{"model": "gpt-realtime", "voice": "marin"}}).encode(),
        headers={{"Authorization": "Bearer " + {key!r}, "Content-Type": "application/json"}},
    )
    session = json.loads(answer.data)
assert session["client_secret"]["value"]
"""


#: The same for ``create_realtime_client_secret`` (the GA key), with the realistic request of
#: the per-call section (``bench.run.client_secret_payload``); its answer is a complete GA session.
SDK_COLD_START_CLIENT_SECRET = """
import openapiopenai
with openapiopenai.ApiClient(openapiopenai.Configuration(host={base!r}, access_token={key!r})) as c:
    secret = openapiopenai.RealtimeApi(c).create_realtime_client_secret({payload!r})
assert secret.value
"""
RAW_COLD_START_CLIENT_SECRET = """
import json, urllib3
from pydantic import BaseModel
with urllib3.PoolManager() as pool:
    answer = pool.request(
        "POST", {base!r} + "/realtime/client_secrets",
        body=json.dumps({payload!r}).encode(),
        headers={{"Authorization": "Bearer " + {key!r}, "Content-Type": "application/json"}},
    )
    secret = json.loads(answer.data)
assert secret["value"]
"""

#: The raw way with one pydantic model reading the answer: what any SDK built on pydantic
#: pays at least on its first call (pydantic loads ``fields``, ``types`` and
#: ``annotated_types`` for its first model class, and builds one validator).
MODEL_FLOOR_COLD_START_CLIENT_SECRET = """
import json, urllib3
from pydantic import BaseModel
class Secret(BaseModel):
    value: str
    expires_at: int
with urllib3.PoolManager() as pool:
    answer = pool.request(
        "POST", {base!r} + "/realtime/client_secrets",
        body=json.dumps({payload!r}).encode(),
        headers={{"Authorization": "Bearer " + {key!r}, "Content-Type": "application/json"}},
    )
    secret = Secret.model_validate_json(answer.data)
assert secret.value
"""


def bench_cold_start(
    base_url: str, key: str, payload: dict[str, Any], rounds: int
) -> dict[str, Any]:
    """A fresh interpreter from its first import to its first key, SDK against raw urllib3,
    for the beta sessions endpoint and for client secrets; for client secrets also raw urllib3
    with one pydantic model reading the answer, the floor of any SDK built on pydantic."""
    results: dict[str, Any] = {}
    variants = {
        "": (SDK_COLD_START, RAW_COLD_START),
        "client_secret_": (
            SDK_COLD_START_CLIENT_SECRET,
            RAW_COLD_START_CLIENT_SECRET,
            MODEL_FLOOR_COLD_START_CLIENT_SECRET,
        ),
    }
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache:
        env = _bytecode_environment(cache)
        for prefix, codes in variants.items():
            blocks = [code.format(base=base_url, key=key, payload=payload) for code in codes]
            for block in blocks:
                _timed_block(block, env)  # writes the bytecode
            samples: list[list[tuple[float, float]]] = [[] for _ in blocks]
            for index in range(rounds):
                order = range(len(blocks)) if index % 2 == 0 else reversed(range(len(blocks)))
                for which in order:
                    samples[which].append(_timed_block(blocks[which], env))
            walls = [statistics.median(wall for wall, _ in side) for side in samples]
            cpus = [statistics.median(cpu for _, cpu in side) for side in samples]
            results[f"{prefix}sdk_ms"] = walls[0] * 1e3
            results[f"{prefix}raw_ms"] = walls[1] * 1e3
            results[f"{prefix}ratio"] = walls[0] / walls[1]
            results[f"{prefix}sdk_cpu_ms"] = cpus[0] * 1e3
            results[f"{prefix}raw_cpu_ms"] = cpus[1] * 1e3
            results[f"{prefix}cpu_ratio"] = cpus[0] / cpus[1]
            if len(blocks) == 3:
                results[f"{prefix}model_floor_ms"] = walls[2] * 1e3
                results[f"{prefix}model_floor_ratio"] = walls[2] / walls[1]
                results[f"{prefix}model_floor_cpu_ratio"] = cpus[2] / cpus[1]
                results[f"{prefix}sdk_over_model_floor"] = walls[0] / walls[2]
    return results
