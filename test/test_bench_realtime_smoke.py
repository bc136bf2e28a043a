"""The Realtime benchmark runs end to end (tiny sizes) and reports both sections; no timing is
asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_smoke_run_reports_parse_turn_and_append(tmp_path: Path) -> None:
    out = tmp_path / "realtime.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench.realtime", "--smoke", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr

    results = json.loads(out.read_text())
    assert results["meta"]["smoke"] is True
    assert results["parse"]["events"] > 0 and 0.5 < results["parse"]["audio_share"] < 1
    assert results["turn"]["events"] > 0 and 0 < results["turn"]["item_share"] < 1
    for section in ("parse", "turn", "append"):
        assert results[section]["sdk_us"] > 0 and results[section]["raw_us"] > 0
        assert section in completed.stdout
    assert set(results["targets_met"]) == {"parse", "turn", "append"}
    assert results["append"]["raw_base64_us"] > 0
    assert "base64 into a fixed JSON frame" in completed.stdout
