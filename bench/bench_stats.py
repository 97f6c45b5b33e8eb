"""`parole stats` on a large seeded brand: the seconds its figures take, with and without the field's figures.

Run:  .venv/bin/python bench/bench_stats.py [--feedbacks 50000] [--runs 3]

Seeds a private redis-server with `--feedbacks` feedbacks over 60 days at two venues (tests/seeding.py: most
analysed, each with a ticket, half answered), one of them with opening hours, then times, best of `--runs`:
- everything: `venue_stats` over the whole history (the field's figures read every feedback with its ticket
  once more; no previous period without a start);
- a period: the last 30 days, whose field's figures read the 30 days before too (the previous period);
- the field's figures alone (`field_figures`), over everything and over the same 30 days, to see their share
  (`venue_stats` less `field_figures` is what the figures cost before them).
It prints feedbacks, seconds and feedbacks per second of each.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.insights.figures import field_figures  # noqa: E402
from bot.insights.stats import venue_stats  # noqa: E402
from bot.staff.hours import HoursStore, OpeningHours  # noqa: E402
from bot.storage.embedded import EmbeddedRedis, free_port  # noqa: E402
from bot.storage.store import Store  # noqa: E402
from tests.seeding import seed_feedback  # noqa: E402

START = 1_780_000_000.0
DAY = 86400.0


async def best(runs: int, work: Callable[[], Awaitable[Any]]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        times.append(time.perf_counter() - started)
    return min(times)


async def main(feedbacks: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", port=free_port(), appendonly=False)
        server.start()
        try:
            await measure(server.url, feedbacks, runs)
        finally:
            server.stop()


async def measure(url: str, feedbacks: int, runs: int) -> None:
    async with Redis.from_url(url, decode_responses=True) as redis:
        store = Store(redis)
        await store.add_brand("quick", "Quick")
        venues = [await store.add_venue("quick", name) for name in ("Quick Massy", "Quick Orly")]
        weekdays = {day: (("09:00", "19:00"),) for day in ("mon", "tue", "wed", "thu", "fri", "sat")}
        await HoursStore(redis).set("quick", venues[0].code, OpeningHours(weekly=weekdays))
        spacing = 60 * DAY / feedbacks
        await seed_feedback(redis, venues, feedbacks, start=START, spacing=spacing, rng=random.Random(1),
                            tickets_by_batch=True)  # fmt: skip
        since, until = START + 30 * DAY, START + 60 * DAY
        print(f"feedbacks: {feedbacks} over 60 days at 2 venues (one with opening hours); best of {runs}")
        for what, count, work in (
            ("everything", feedbacks, lambda: venue_stats(store, "quick")),
            ("field's figures alone, everything", feedbacks, lambda: field_figures(store, "quick")),
            ("last 30 days (+ the 30 before)", feedbacks, lambda: venue_stats(store, "quick", since=since,
                                                                              until=until)),
            ("field's figures alone, 30 days (+ 30)", feedbacks, lambda: field_figures(store, "quick",
                                                                                       since=since, until=until)),
        ):  # fmt: skip
            seconds = await best(runs, work)
            print(f"{what:40} {seconds:7.2f} s  {count / seconds:9.0f} feedbacks/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feedbacks", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.feedbacks, arguments.runs))
