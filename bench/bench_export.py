"""`parole export` on a large seeded brand: time and peak memory, against the idiomatic read-everything export.

Run:  .venv/bin/python bench/bench_export.py [--feedbacks 200000] [--format csv]

Seeds a private redis-server with `--feedbacks` feedbacks (through parole's own write paths, see
tests/seeding.py: most analysed, each with a ticket, half answered), in two steps, and after each step
measures, each in its own process:
- parole: `parole export --format F -o FILE` (batches of 500 read and written as they come);
- baseline: the same records written the way a quick script would, with redis-py: ZRANGE of every id,
  one pipeline of every HGETALL and LRANGE (and the tickets), the records in a list, then
  `csv.writer.writerows` (or one `json.dumps` a line). It builds the same rows with parole's
  `export_record`/`csv_row`, so only the way of reading and writing differs.
It prints feedbacks, seconds, feedbacks per second and the peak RSS (max resident set) of each process:
parole's memory should not grow with the number of feedbacks, the baseline's does.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.storage.embedded import EmbeddedRedis, free_port  # noqa: E402
from bot.storage.store import Store  # noqa: E402
from tests.seeding import seed_feedback  # noqa: E402

START = 1_780_000_000.0
PAROLE = Path(sys.executable).with_name("parole")


def baseline_export(redis_url: str, fmt: str, output: str) -> None:
    """The read-everything export (runs in its own process: `bench_export.py --baseline URL FMT FILE`)."""
    import redis as sync_redis

    from bot.insights.export import CSV_COLUMNS, csv_row, export_record
    from bot.storage import keys
    from bot.storage.store import _feedback_from_hash

    client = sync_redis.Redis.from_url(redis_url, decode_responses=True)
    records = []
    for brand in sorted(client.smembers(keys.BRANDS)):
        ids = client.zrange(keys.feedbacks(brand), 0, -1)
        pipe = client.pipeline(transaction=False)
        for feedback_id in ids:
            pipe.hgetall(keys.feedback(brand, feedback_id))
            pipe.lrange(keys.replies(brand, feedback_id), 0, -1)
        results = pipe.execute()
        feedbacks = [
            {**_feedback_from_hash(row), "replies": [json.loads(m) for m in thread]}
            for row, thread in zip(results[::2], results[1::2], strict=True)
        ]
        pipe = client.pipeline(transaction=False)
        for feedback in feedbacks:
            pipe.hgetall(keys.ticket(brand, feedback["ticket"] or 0))
        for feedback, ticket in zip(feedbacks, pipe.execute(), strict=True):
            feedback["ticket_hash"] = ticket
        records += [export_record(f) for f in feedbacks]
    with open(output, "w", encoding="utf-8-sig", newline="") as out:
        if fmt == "csv":
            writer = csv.writer(out, delimiter=";")
            writer.writerow(heading for _, heading in CSV_COLUMNS)
            writer.writerows(csv_row(r) for r in records)
        else:
            out.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a command in a fresh wrapper process; its seconds and peak RSS in MB."""
    wrapper = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "subprocess.run(sys.argv[1:], check=True, stderr=subprocess.DEVNULL); "
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    command = [sys.executable, "-c", wrapper, *command]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    seconds, kib = done.stdout.split()
    return float(seconds), int(kib) / 1024


async def seed(redis: Redis, count: int, already: int) -> float:
    store = Store(redis)
    if not already:
        await store.add_brand("bench", "Bench")
        for n in range(20):
            await store.add_venue("bench", f"Venue {n}")
    venues = await store.list_venues("bench")
    started = time.perf_counter()
    await seed_feedback(
        redis,
        venues,
        count - already,
        start=START + already * 30,
        spacing=30,
        rng=random.Random(count),
        batch=1000,
        tickets_by_batch=True,
    )
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feedbacks", type=int, default=200_000)
    parser.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", port=free_port(), appendonly=False)
        server.start()
        redis = Redis.from_url(server.url, decode_responses=True)
        env = {**os.environ, "PAROLE_REDIS_URL": server.url, "PAROLE_DATA_DIR": tmp}
        results = []
        try:
            done = 0
            for size in (args.feedbacks // 4, args.feedbacks):
                seconds = await seed(redis, size, done)
                done = size
                print(f"seeded {size} feedbacks ({seconds:.0f} s)", flush=True)
                out = Path(tmp) / f"export.{args.format}"
                parole = [str(PAROLE), "export", "--format", args.format, "-o", str(out)]
                baseline = [sys.executable, __file__, "--baseline", server.url, args.format, str(out)]
                for name, command in (("parole export", parole), ("baseline (read all)", baseline)):
                    seconds, peak = measure(command, env)
                    size_mb = out.stat().st_size / 1e6
                    print(
                        f"  {name:<20} {size:>8} feedbacks  {seconds:7.1f} s  {size / seconds:8.0f}/s  "
                        f"peak RSS {peak:7.0f} MB  file {size_mb:.0f} MB",
                        flush=True,
                    )
                    results.append({"name": name, "feedbacks": size, "seconds": seconds, "peak_rss_mb": peak})
            target = ROOT / "bench" / "results"
            target.mkdir(exist_ok=True)
            (target / "export.json").write_text(json.dumps(results, indent=2))
        finally:
            await redis.aclose()
            server.stop()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--baseline":
        baseline_export(*sys.argv[2:])
    else:
        asyncio.run(main())
