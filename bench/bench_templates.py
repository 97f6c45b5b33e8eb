"""Template validation's worst time and peak memory over the payloads of issue 15 and the sandbox escapes.

    .venv/bin/python bench/bench_templates.py [--rounds 5]

Each payload (`tests/dialogs/template_payloads.py`) is validated as a save of the greeting would be
(`TemplateCatalog.with_source`), `--rounds` times; the best time of each (the machine is shared) and the
peak memory Python allocated while validating it (tracemalloc) are printed, then the worst of both over
the list, and the same for the shipped templates validated one by one.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dialogs.catalog import TemplateCatalog
from dialogs.errors import TemplateError
from tests.dialogs.template_payloads import PAYLOADS


def measure(catalog: TemplateCatalog, source: str, rounds: int) -> tuple[float, int, str]:
    """Best time of `rounds` validations, peak memory of one, and the reason (or 'accepted')."""
    best = float("inf")
    outcome = "accepted"
    for _ in range(rounds):
        started = time.perf_counter()
        try:
            catalog.with_source("greeting", "fr", source)
        except TemplateError as refused:
            outcome = refused.problem
        best = min(best, time.perf_counter() - started)
    tracemalloc.start()
    with contextlib.suppress(TemplateError):
        catalog.with_source("greeting", "fr", source)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak, outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    catalog = TemplateCatalog()
    worst_time, worst_peak, accepted = 0.0, 0, 0
    print(f"{'payload':40} {'ms':>8} {'peak KiB':>9}  reason")
    for what, source, _ in PAYLOADS:
        seconds, peak, outcome = measure(catalog, source, args.rounds)
        worst_time, worst_peak = max(worst_time, seconds), max(worst_peak, peak)
        accepted += outcome == "accepted"
        print(f"{what:40} {seconds * 1000:8.2f} {peak / 1024:9.0f}  {outcome[:90]}")
    worst = f"worst {worst_time * 1000:.1f} ms, peak {worst_peak / 1024:.0f} KiB"
    print(f"\n{len(PAYLOADS)} payloads, {accepted} accepted: {worst}")
    shipped = [
        (name, language) for name in catalog.names for language in catalog.languages if catalog.has(name, language)
    ]
    slowest = max((measure_shipped(catalog, name, language, args.rounds), name, language) for name, language in shipped)
    print(f"{len(shipped)} shipped templates: slowest {slowest[1]} ({slowest[2]}) {slowest[0] * 1000:.1f} ms")
    return 1 if accepted else 0


def measure_shipped(catalog: TemplateCatalog, name: str, language: str, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        catalog.with_source(name, language, catalog.source(name, language))
        best = min(best, time.perf_counter() - started)
    return best


if __name__ == "__main__":
    sys.exit(main())
