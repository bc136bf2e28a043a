"""The Realtime benchmark runs end to end (tiny sizes) and reports both sections; no timing is
asserted."""

from __future__ import annotations

from pathlib import Path

from test.conftest import bench_smoke


def test_smoke_run_reports_parse_turn_and_append(tmp_path: Path) -> None:
    results, printed = bench_smoke("bench.realtime", tmp_path, timeout=300)
    assert results["meta"]["smoke"] is True
    assert results["parse"]["events"] > 0 and 0.5 < results["parse"]["audio_share"] < 1
    assert results["turn"]["events"] > 0 and 0 < results["turn"]["item_share"] < 1
    for section in ("parse", "turn", "append"):
        assert results[section]["sdk_us"] > 0 and results[section]["raw_us"] > 0
        assert section in printed
    assert set(results["targets_met"]) == {"parse", "turn", "append"}
    assert results["append"]["raw_base64_us"] > 0
    assert "base64 into a fixed JSON frame" in printed
