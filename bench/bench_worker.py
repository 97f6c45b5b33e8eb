"""The analysis worker, end to end, against raw spaCy `nlp.pipe` on the same texts in the same run.

Run:  .venv/bin/python bench/bench_worker.py [--feedbacks 2000] [--batch 128] [--rounds 5] [--rate 50] [--seconds 20]

What it prints:
- raw nlp.pipe: texts per second of the Analyzer's own spaCy pipeline (`Analyzer.nlp`, the same
  components) over every reason and suggestion text, `nlp.pipe(batch_size=--batch)`, nothing else;
- worker: texts per second of `AnalysisWorker` (batches of `--batch`, its model's too) draining the
  feedback stream in the same process: XREADGROUP a batch → read the feedback texts → analyse (entities
  with the vocabulary, kind, aspects, language) while the next read and the last store are in flight
  → store each result (Lua script) → XACK;
  the ratio worker / raw (target ≥ 0.9). Raw and worker runs alternate for `--rounds` rounds: the ratio
  of the best of each, and the median of each round's ratio (its two runs side by side, under about the
  same load), in wall-clock time (the target) and in CPU time of this process (steadier on a shared
  machine; the worker's redis-server is another process, not counted there);
- the memory (RSS) of a `parole worker` process once the model is loaded, and after the latency run;
- latency from a feedback completed (its stream entry written) to its analysis stored, p50 and p99,
  with one `parole worker` process and feedbacks completed at `--rate` per second for `--seconds`.

Texts: the labelled French set in tests/data/feedback_fr.jsonl, cycled up to `--feedbacks`, with the
brands' vocabularies from tests/data/vocabularies.json. Redis: a private redis-server on a free port.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.analysis.worker import BATCH_SIZE, AnalysisWorker  # noqa: E402
from bot.storage import keys  # noqa: E402
from bot.storage.embedded import EmbeddedRedis, free_port  # noqa: E402
from bot.storage.identity import CustomerId  # noqa: E402
from bot.storage.lane import lane_for  # noqa: E402
from bot.storage.store import Store  # noqa: E402
from bot.storage.vocabulary import VocabularyStore  # noqa: E402
from dialogs.types import Conversation, FeedbackRecord, FeedbackStatus, VenueRef  # noqa: E402
from nlp import Analyzer  # noqa: E402

DATA = ROOT / "tests" / "data"


def load_samples() -> tuple[list[dict[str, Any]], dict[str, list[dict[str, str]]]]:
    samples = [
        json.loads(line) for line in (DATA / "feedback_fr.jsonl").read_text(encoding="utf-8").splitlines() if line
    ]
    vocabularies: dict[str, list[dict[str, str]]] = json.loads((DATA / "vocabularies.json").read_text(encoding="utf-8"))
    return samples, vocabularies


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def seed_brands(store: Store, vocabularies: dict[str, list[dict[str, str]]], brands: set[str]) -> None:
    words = VocabularyStore(store.redis)
    for brand in sorted(brands):
        await store.add_brand(brand, brand.title())
        await store.add_venue(brand, f"{brand.title()} Centre")
        for entry in vocabularies.get(brand, []):
            await words.add(brand, entry["label"], entry["text"], entry.get("id"))


async def complete(store: Store, sample: dict[str, Any], number: int) -> None:
    brand = sample["brand"]
    venue = VenueRef(brand, f"{brand}-centre", f"{brand.title()} Centre", brand.title())
    field = sample.get("field", "reason")
    now = time.time()
    record = FeedbackRecord(
        id=f"b{number:07d}", venue=venue, language="fr", rating=int(sample.get("rating") or 3),
        reason=sample["text"] if field == "reason" else None,
        suggestion=sample["text"] if field == "suggestion" else None,
        status=FeedbackStatus.COMPLETE, created_at=now, updated_at=now, flow="default",
    )  # fmt: skip
    await store.save_turn(
        CustomerId.telegram(10_000 + number), Conversation(), [record], duplicate_window=1, conversation_timeout=60
    )


async def throughput(
    redis: Redis, analyzer: Analyzer, samples: list[dict[str, Any]], count: int, *, batch: int, rounds: int
) -> dict[str, float]:
    """Raw `nlp.pipe` and the worker over the same `count` texts, in alternating rounds; the best of each.

    Both sides use batches of `batch` texts (spaCy gets faster with larger batches, so a different size on
    each side would not be a fair comparison). The machine is shared: alternating rounds and keeping the
    best of each lets a noisy neighbour hurt both sides alike. Each round completes `count` new feedbacks,
    so the worker drains exactly those.
    """
    store = Store(redis)
    texts = [samples[i % len(samples)]["text"] for i in range(count)]
    # Raw spaCy: the same pipeline object, the same texts, nothing else.
    nlp = analyzer.nlp

    def raw() -> None:
        for _ in nlp.pipe(texts, batch_size=batch):
            pass

    wall: dict[str, list[float]] = {"raw": [], "worker": []}
    cpu: dict[str, list[float]] = {"raw": [], "worker": []}
    # Round 0 warms both sides up (the worker compiles each brand's ruler and fills its word caches, as a
    # running worker has long done) and is not counted.
    for round_number in range(rounds + 1):
        for number in range(count):
            await complete(store, samples[number % len(samples)], round_number * count + number)
        started, started_cpu = time.perf_counter(), time.process_time()
        raw()
        raw_wall, raw_cpu = time.perf_counter() - started, time.process_time() - started_cpu
        # As `parole worker` runs it: its batches' round trips through a lane (`bot.storage.lane`).
        lane = lane_for(redis)
        worker = AnalysisWorker(redis, analyzer, name=f"bench-{round_number}", batch_size=batch, block=0.01, lane=lane)
        await worker.ensure_group()
        started, started_cpu = time.perf_counter(), time.process_time()
        await worker.drain(until_idle=True)
        worker_wall, worker_cpu = time.perf_counter() - started, time.process_time() - started_cpu
        if lane is not None:
            await lane.aclose()
        assert worker.analysed == count, f"analysed {worker.analysed} of {count}"
        if round_number:
            wall["raw"].append(raw_wall)
            cpu["raw"].append(raw_cpu)
            wall["worker"].append(worker_wall)
            cpu["worker"].append(worker_cpu)
    return {
        "texts": count,
        "batch": batch,
        "rounds": rounds,
        "raw_texts_per_s": count / min(wall["raw"]),
        "worker_texts_per_s": count / min(wall["worker"]),
        "ratio": min(wall["raw"]) / min(wall["worker"]),
        "raw_texts_per_cpu_s": count / min(cpu["raw"]),
        "worker_texts_per_cpu_s": count / min(cpu["worker"]),
        "cpu_ratio": min(cpu["raw"]) / min(cpu["worker"]),
        "median_ratio": statistics.median(r / w for r, w in zip(wall["raw"], wall["worker"], strict=True)),
        "median_cpu_ratio": statistics.median(r / w for r, w in zip(cpu["raw"], cpu["worker"], strict=True)),
    }


async def latency(
    redis_url: str, redis: Redis, samples: list[dict[str, Any]], rate: float, seconds: float
) -> dict[str, float]:
    store = Store(redis)
    env = {**os.environ, "PAROLE_REDIS_URL": redis_url, "PAROLE_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "bot", "worker", "--name", "latency"], env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while not await redis.hexists(keys.WORKERS, "latency"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("parole worker did not start")
            await asyncio.sleep(0.1)
        loaded_rss = rss_mb(process.pid)
        total = int(rate * seconds)
        sent: dict[str, float] = {}
        started = time.monotonic()
        for number in range(total):
            await asyncio.sleep(max(0.0, started + number / rate - time.monotonic()))
            await complete(store, samples[number % len(samples)], 1_000_000 + number)
            sent[f"b{1_000_000 + number:07d}"] = time.time()
        waits: list[float] = []
        deadline = time.monotonic() + 60
        pending = dict(sent)
        while pending and time.monotonic() < deadline:
            for feedback_id, at in list(pending.items()):
                brand = samples[(int(feedback_id[1:]) - 1_000_000) % len(samples)]["brand"]
                stored = await redis.hget(keys.feedback(brand, feedback_id), "analysed_at")
                if stored is not None:
                    waits.append((float(stored) - at) * 1000)
                    del pending[feedback_id]
            await asyncio.sleep(0.05)
        after_rss = rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {
        "feedbacks": total,
        "rate_per_s": rate,
        "not_analysed": len(pending),
        "p50_ms": percentile(waits, 0.5),
        "p99_ms": percentile(waits, 0.99),
        "mean_ms": statistics.fmean(waits),
        "worker_rss_mb_loaded": loaded_rss,
        "worker_rss_mb_after": after_rss,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feedbacks", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--batch", type=int, default=BATCH_SIZE, help=f"worker and nlp.pipe batch size (default {BATCH_SIZE})"
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternating raw/worker rounds after a warm-up one (default 5)"
    )
    args = parser.parse_args()
    samples, vocabularies = load_samples()
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp), port=free_port(), appendonly=False)
        server.start()
        redis: Redis = Redis.from_url(server.url, decode_responses=True)
        try:
            await seed_brands(Store(redis), vocabularies, {s["brand"] for s in samples})
            print("loading the French model…", file=sys.stderr)
            loaded = time.perf_counter()
            analyzer = Analyzer(batch_size=args.batch)
            load_s = time.perf_counter() - loaded
            result = await throughput(redis, analyzer, samples, args.feedbacks, batch=args.batch, rounds=args.rounds)
            print(f"model load                      {load_s:8.1f} s   pipeline {analyzer.pipeline_names}")
            print(f"best of {args.rounds} alternating rounds, {args.feedbacks} texts, batches of {args.batch}:")
            print(f"{'':<34}{'texts/s':>8}{'texts/CPU s':>13}")
            print(f"{'raw nlp.pipe':<34}{result['raw_texts_per_s']:8.0f}{result['raw_texts_per_cpu_s']:13.0f}")
            print(
                f"{'worker (stream→analyse→store→ack)':<34}{result['worker_texts_per_s']:8.0f}"
                f"{result['worker_texts_per_cpu_s']:13.0f}"
            )
            print(f"{'ratio worker / raw':<34}{result['ratio']:8.2f}{result['cpu_ratio']:13.2f}   (target ≥ 0.9)")
            print(f"{'median ratio of the rounds':<34}{result['median_ratio']:8.2f}{result['median_cpu_ratio']:13.2f}")
            lat = await latency(server.url, redis, samples, args.rate, args.seconds)
            print(f"parole worker RSS, model loaded {lat['worker_rss_mb_loaded']:8.0f} MB")
            print(f"parole worker RSS, after load   {lat['worker_rss_mb_after']:8.0f} MB")
            print(
                f"completed → analysis stored at {lat['rate_per_s']:.0f}/s ({lat['feedbacks']} feedbacks): "
                f"p50 {lat['p50_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms, not analysed {lat['not_analysed']}"
            )
            out = ROOT / "bench" / "results"
            out.mkdir(exist_ok=True)
            (out / "worker.json").write_text(json.dumps({"load_s": load_s, **result, "latency": lat}, indent=2))
        finally:
            await redis.aclose()
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
