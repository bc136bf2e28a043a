"""The benchmark runs end to end (tiny sizes) and reports every section; no timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("server", "call", "models", "import", "threads", "memory", "cold_start")


def test_smoke_run_reports_every_section(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr

    results = json.loads(out.read_text())
    for section in SECTIONS:
        assert section in results, section
        assert section.split("_")[0] in completed.stdout
    assert results["meta"]["smoke"] is True
    assert results["call"]["sdk_us"] > 0 and results["call"]["raw_us"] > 0
    assert results["call"]["ratio"] > 0 and results["threads"]["ratio"] > 0
    assert results["threads"]["raw_with_timeout_ratio"] > 0
    assert results["threads"]["sdk_over_raw_with_timeout_ratio"] > 0
    assert results["import"]["sdk_ms"] > 0 and results["import"]["floor_ms"] > 0
    assert all(rate > 0 for rate in results["models"].values())
    assert results["memory"]["calls"] > 0
    assert results["cold_start"]["sdk_ms"] > 0 and results["cold_start"]["raw_ms"] > 0
    assert results["cold_start"]["client_secret_model_floor_ms"] > 0
    assert set(results["targets_met"]) == {"call", "import", "cold_start", "threads", "memory"}
    assert "create_realtime_session / raw urllib3" in completed.stdout
