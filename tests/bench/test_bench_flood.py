"""Smoke test of the flood benchmark: a small flood in each mode, the other customers' feedback all stored.

Not a timed test: the latencies are not checked, only that the benchmark runs and nothing is lost.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "bench_flood.py"


@pytest.mark.parametrize("mode", ["webhook", "polling"])
def test_bench_flood_loses_nothing(mode: str, tmp_path: Path) -> None:
    output = tmp_path / "flood.json"
    argv = [
        sys.executable, str(BENCH), "--mode", mode, "--flood", "30", "--customers", "3", "--step-timeout", "60",
        "--output", str(output),
    ]  # fmt: skip
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(output.read_text())
    assert figures["lost"] == 0 and figures["stored_complete"] == 3
    assert figures["others_replies"] == 3 * 4  # each step of each journey answered
    assert figures["flooder_slow_downs"] == 1
    assert figures["flooder_answered"] < 30
