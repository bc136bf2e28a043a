"""The benchmark runs end to end (tiny sizes) and reports every section; no timing is asserted."""

from __future__ import annotations

from pathlib import Path

from test.conftest import bench_smoke

SECTIONS = ("server", "call", "models", "import", "threads", "memory", "cold_start")


def test_smoke_run_reports_every_section(tmp_path: Path) -> None:
    results, printed = bench_smoke("bench", tmp_path, timeout=600)
    for section in SECTIONS:
        assert section in results, section
        assert section.split("_")[0] in printed
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
    assert "create_realtime_session / raw urllib3" in printed
