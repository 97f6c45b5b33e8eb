"""Smoke test of the inbox benchmark: a few thousand feedbacks, every query timed and the index's memory
printed. Not a timed test: the figures are not checked against targets, only that they were measured."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_inbox.py"

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server on PATH")


def test_the_inbox_benchmark_measures_every_query_and_the_index_memory() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--feedbacks", "3000", "--venues", "5", "--runs", "3"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    timed = re.findall(r"^  (.+?)\s+p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms", done.stdout, re.MULTILINE)
    assert len(timed) == 10, done.stdout
    names = [name for name, _, _ in timed]
    assert names[0] == "first page" and any(n.startswith("rare word '") and n != "rare word ''" for n in names)
    assert re.search(r"4 filters, first page\s+p50 .* ms\s+\d+ matches", done.stdout)
    assert re.search(r"index memory [\d.]+ MB \(\d+ B a feedback; \d+ words as bitmaps, \d+ as lists", done.stdout)
