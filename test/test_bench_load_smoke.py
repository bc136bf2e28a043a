"""The load benchmark runs end to end (tiny sizes) against the mock in its own process and
reports both variants; no timing is asserted, only that nothing was lost or left behind."""

from __future__ import annotations

from pathlib import Path

from test.conftest import bench_smoke


def test_smoke_run_loses_nothing_and_leaves_nothing(tmp_path: Path) -> None:
    results, printed = bench_smoke("bench.load", tmp_path, timeout=300)
    assert results["meta"] == {"sessions": 4, "turns": 1, "rounds": 1}
    for variant in ("sdk", "websockets"):
        assert results[variant]["events"] > 4 and results[variant]["cpu_per_event_us"] > 0
        assert results["worst"][variant] == {"lost": 0, "threads_left": 0, "sockets_left": 0}
    assert "client CPU per event" in printed
