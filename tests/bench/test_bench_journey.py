"""Smoke test of the journey benchmark: a handful of customers through both bots, nothing lost or duplicated.

Not a timed test: the figures are not checked, only that the benchmark runs and its correctness checks pass.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "bench_journey.py"

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("tornado") is None,
        reason="the baseline needs python-telegram-bot's webhook server: pip install 'python-telegram-bot[webhooks]'",
    ),
]


def test_bench_journey_runs_five_customers_through_both_bots(tmp_path: Path) -> None:
    output = tmp_path / "journey.json"
    argv = [sys.executable, str(BENCH), "--customers", "5", "--concurrency", "2", "--warmup", "1", "--no-pin"]
    done = subprocess.run(
        [*argv, "--output", str(output)], cwd=ROOT, capture_output=True, text=True, timeout=90, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(output.read_text())
    for side in ("parole", "baseline"):
        figures = results[side]
        assert figures["completed"] == 5, figures["failures"]
        assert figures["failed"] == 0 and figures["warmup_failures"] == 0
        assert figures["lost"] == 0 and figures["duplicated"] == 0 and figures["unexpected"] == 0
        assert figures["stored_complete"] == 6  # the warm-up customer's feedback too
        assert figures["bot_api_errors"] == 0
        assert 0 < figures["bot_api_calls"] <= 5 * 5  # at most 5 a feedback, the project's target
        assert figures["conversations_per_s_per_core"] > 0
    assert results["parole"]["redis_round_trips_per_update"] > 0
    assert results["parole"]["redis_webhook_path_told_apart"] is True
    assert results["baseline"]["bot_api_calls"] == 5 * 5  # sendMessage x3, answerCallbackQuery, editMessageText
    assert results["same_messages"] is True
    assert "conversations/s per core" in done.stdout
