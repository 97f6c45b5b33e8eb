"""Smoke test of the scale benchmark: a few customers through two parole bot processes behind the proxy, the
worker and the baseline, nothing lost, duplicated or analysed twice, and every figure printed.

Not a timed test: the figures are not checked against targets, only that they were measured.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "bench_scale.py"

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("tornado") is None,
        reason="the baseline needs python-telegram-bot's webhook server: pip install 'python-telegram-bot[webhooks]'",
    ),
]

PRINTED = (
    "conversations/s per core",
    "update latency p99 ms",
    "webhook latency p99 ms",
    "Bot API calls per feedback",
    "Redis round trips per update",
    "peak RSS MB: bot1",
    "worker",
    "redis-server",
    "lost",
    "duplicated",
    "analysed twice or more",
    "load average",
    "baseline load: the largest load it sustains: 20 customers, 40 at a time",
    "target webhook p99 < 50 ms at 40 updates/s",
)


def test_bench_scale_runs_twenty_customers_through_two_bots_a_worker_and_the_baseline(tmp_path: Path) -> None:
    output = tmp_path / "scale.json"
    argv = [sys.executable, str(BENCH), "--customers", "20", "--window", "2", "--rate", "40", "--rate-seconds", "1"]
    done = subprocess.run(
        [*argv, "--warmup", "2", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(output.read_text())
    parole, baseline = results["parole"], results["baseline"]
    for side in (parole, baseline):
        assert side["completed"] == 20 and side["failed"] == 0, side["failures"]
        assert side["lost"] == 0 and side["duplicated"] == 0
        assert side["bot_api_errors"] == 0
        assert side["bot_api_calls"] == 5 * 20  # sendMessage x3, answerCallbackQuery, editMessageText
        assert side["conversations_per_s_per_core"] > 0
        assert side["max_connections"] == 40  # Telegram's default, as both bots register their webhook
    assert parole["acknowledged"] == parole["stored"] == 2 + 20 + 10  # warm-up, arrivals, phase 2
    assert parole["analysed_once"] == parole["stored"] and parole["analysed_twice_or_more"] == 0
    assert parole["not_analysed"] == 0
    # Both bot processes took updates, each counted its Redis round trips.
    assert [row["updates"] > 0 for row in parole["bots"]] == [True, True]
    assert sum(row["updates"] for row in parole["bots"]) == parole["updates"] == 4 * 20
    assert all(row["redis_round_trips_per_update"] > 0 for row in parole["bots"])
    assert parole["proxy"]["bad_gateway"] == 0 and sum(parole["proxy"]["requests"]) >= 4 * (2 + 20 + 10)
    assert set(parole["peak_rss_mb"]) == {"bot1", "bot2", "proxy", "worker", "redis-server"}
    assert all(value > 0 for value in parole["peak_rss_mb"].values())
    assert parole["spacy_in_bot_processes"] is False
    assert parole["rate"]["completed"] == 10 and parole["rate"]["updates"] == 40
    assert parole["rate"]["webhook_p99_ms"] > 0
    for text in PRINTED:
        assert text in done.stdout, text
    assert sum("met" in line or "MISSED" in line for line in results["targets"]) == 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--customers", "0"], "--customers: must be at least 1"),
        (["--window", "-5"], "--window: must be more than 0"),
        (["--rate", "fast"], "--rate: invalid positive_float value: 'fast'"),
    ],
)
def test_bench_scale_refuses_bad_arguments_before_starting_anything(
    args: list[str], message: str, tmp_path: Path
) -> None:
    output = tmp_path / "scale.json"
    done = subprocess.run(
        [sys.executable, str(BENCH), *args, "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert not output.exists()
