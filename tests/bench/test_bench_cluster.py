"""Smoke test of the cluster benchmark: a few customers on one Redis and on a cluster, nothing lost.

Not a timed test: the figures are not checked, only that the benchmark runs and its correctness checks pass.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "bench_cluster.py"


def test_bench_cluster_stores_every_feedback_once_on_both(tmp_path: Path) -> None:
    output = tmp_path / "cluster.json"
    argv = [sys.executable, str(BENCH), "--customers", "8", "--concurrency", "3", "--json", str(output)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(output.read_text())
    assert list(results) == ["one Redis", "Redis Cluster, 3 masters"]
    for figures in results.values():
        assert figures["updates"] == 8 * 4
        assert figures["complete_feedback"] == 8 and figures["streamed"] == 8
        assert figures["lost"] == 0 and figures["duplicated"] == 0
        assert figures["round_trips_per_update"] >= 2  # a load and a save at least
    assert "Redis round trips per update" in done.stdout


def test_bench_cluster_refuses_bad_counts() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--customers", "0"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "--customers and --concurrency must be at least 1" in done.stderr
