"""The inbox index (`bot.storage.index`) on a large brand: page latency, filters, search, and its memory.

Run:  .venv/bin/python bench/bench_inbox.py [--feedbacks 100000] [--venues 50] [--runs 200]

Seeds a private redis-server (no persistence) with `--feedbacks` feedbacks of one brand: the feedback hash as
`Store.save_turn` writes it and the index script as the bot, the worker and the tickets call it (one call a
feedback here, with everything: venue, channel, rating, kind, aspects, ticket state, suggestion, the words of
the reason, suggestion and staff answer). Texts are drawn from a 30,000-word vocabulary with Zipf frequencies,
so some words are in most feedbacks and most words in a few. Then it times, `--runs` times each, the script call
of: the first page, a page deep in the list (a cursor half-way, and one near the oldest), four filters at
once, a frequent word, a rare word, two words with a filter; and a whole page with its rows (the script,
then the feedback and ticket hashes of 20 rows). It prints p50 and p99 in ms, the matches of each query, the
index's memory (MEMORY USAGE of its keys, and per feedback) next to the feedback hashes', and the Redis time
the index script costs a feedback when it is written.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.storage import keys  # noqa: E402
from bot.storage.embedded import EmbeddedRedis, free_port  # noqa: E402
from bot.storage.index import (  # noqa: E402
    FeedbackIndex,
    InboxQuery,
    analysis_facets,
    index_command,
    status_facet,
    stored_facets,
    words,
)
from bot.storage.scripts import execute, queue  # noqa: E402

START = 1_780_000_000.0
BRAND = "bench"
CHANNELS = ("telegram", "telegram", "whatsapp", "whatsapp", "web", "kiosk")
KINDS = ("praise", "praise", "critique", "critique", "complaint", "suggestion")
ASPECTS = ("welcome_staff", "waiting_time", "price", "cleanliness", "product_quality", "opening_hours")
STATUSES = ("open", "answered", "answered", "closed", "closed", "no_answer")
SYLLABLES = ("ba", "ri", "mon", "te", "lu", "ca", "fe", "jo", "sa", "ne", "pi", "dor", "va", "gu", "le", "tis")


def vocabulary(rng: random.Random, size: int = 30_000) -> list[str]:
    found: dict[str, None] = {}
    while len(found) < size:
        found["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))] = None
    return list(found)


def sentence(rng: random.Random, vocab: list[str], weights: list[float], length: int) -> str:
    return " ".join(rng.choices(vocab, cum_weights=weights, k=length))


async def seed(redis: Redis, count: int, venues: int, rng: random.Random) -> float:
    """The feedbacks and their index; the seconds it took."""
    vocab = vocabulary(rng)
    weights, total = [], 0.0
    for rank in range(1, len(vocab) + 1):
        total += 1 / rank
        weights.append(total)
    started = time.perf_counter()
    batch = 2000
    for first in range(0, count, batch):
        async with redis.pipeline(transaction=False) as pipe:
            for n in range(first, min(count, first + batch)):
                created = START + n * 30
                feedback_id = f"{int(created * 1000):011x}{n % 65536:04x}"
                rating = rng.choice((1, 2, 3, 4, 4, 5, 5, 5))
                reason = sentence(rng, vocab, weights, rng.randint(4, 18))
                suggestion = sentence(rng, vocab, weights, rng.randint(3, 10)) if rng.random() < 0.3 else ""
                answer = sentence(rng, vocab, weights, 8) if rng.random() < 0.5 else ""
                venue, channel = f"venue-{rng.randrange(venues)}", rng.choice(CHANNELS)
                pipe.hset(
                    keys.feedback(BRAND, feedback_id),
                    mapping={
                        "id": feedback_id, "brand": BRAND, "venue": venue, "venue_name": venue, "language": "fr",
                        "rating": rating, "reason": reason, "suggestion": suggestion, "status": "complete",
                        "created_at": created, "updated_at": created, "flow": "default", "chat_id": str(n),
                        "channel": channel, "kind": rng.choice(KINDS), "aspects": "[]", "entities": "[]",
                    },
                )  # fmt: skip
                facets = stored_facets(venue, channel, rating, suggestion)
                facets += analysis_facets(rng.choice(KINDS), rng.sample(ASPECTS, rng.randint(0, 2)), ASPECTS)
                facets.append(status_facet(rng.choice(STATUSES)))
                text = words(f"{reason} {suggestion} {answer}")
                queue(pipe, index_command(BRAND, feedback_id, created, facets, text))
            await execute(pipe)
        if (first // batch) % 50 == 0:
            print(f"  seeded {min(count, first + batch)}", flush=True)
    return time.perf_counter() - started


async def timed(runs: int, call: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """p50 and p99 of a call, in ms (after two warm-up calls)."""
    for _ in range(2):
        await call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


async def index_memory(redis: Redis) -> tuple[int, int]:
    """Bytes of the index's keys, and of the feedback hashes (the mean of the first 2,048)."""
    index = await FeedbackIndex(redis).memory(BRAND)
    ids = [i for k in range(16) for i in (await redis.hgetall(f"{keys.index(BRAND)}:ids:{k}")).values()]
    sampled = [int(await redis.memory_usage(keys.feedback(BRAND, i), samples=0) or 0) for i in ids]
    return index, int(statistics.mean(sampled)) if sampled else 0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feedbacks", type=int, default=100_000)
    parser.add_argument("--venues", type=int, default=50)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", port=free_port(), appendonly=False)
        server.start()
        redis = Redis.from_url(server.url, decode_responses=True)
        try:
            before = int((await redis.info("memory"))["used_memory"])
            seconds = await seed(redis, args.feedbacks, args.venues, random.Random(args.feedbacks))
            stats = await redis.info("commandstats")
            evals = stats.get("cmdstat_eval", {})
            print(
                f"seeded {args.feedbacks} feedbacks in {seconds:.0f} s; index script "
                f"{float(evals.get('usec_per_call', 0)):.1f} µs of Redis a feedback",
                flush=True,
            )
            await report(redis, args, before)
        finally:
            await redis.aclose()
            server.stop()


async def report(redis: Redis, args: argparse.Namespace, before: int) -> None:
    index = FeedbackIndex(redis)
    prefix = keys.index(BRAND)
    # A frequent word (a bitmap) and a rare one (a list of positions), as the seeding made them.
    frequent = rare = ""
    bitmaps = positions = 0
    async for key in redis.scan_iter(match=f"{prefix}:w:*", count=2000):
        bitmaps += 1
        frequent = frequent or key.rsplit(":", 1)[1]
    async for key in redis.scan_iter(match=f"{prefix}:p:*", count=2000):
        positions += 1
        if not rare and await redis.strlen(key) >= 4 * 20:
            rare = key.rsplit(":", 1)[1]
    n = args.feedbacks
    filters = {"venue": ["venue-3"], "rating": ["1", "2", "3"], "status": ["open", "answered"], "kind": ["complaint"]}
    queries = {
        "first page": InboxQuery(BRAND, {}),
        "deep page (cursor half-way)": InboxQuery(BRAND, {}, before=n // 2),
        "deep page (cursor near the oldest)": InboxQuery(BRAND, {}, before=100),
        "4 filters, first page": InboxQuery(BRAND, filters),
        "4 filters, deep page": InboxQuery(BRAND, filters, before=n // 10),
        f"frequent word '{frequent}'": InboxQuery(BRAND, {}, text=frequent),
        f"rare word '{rare}'": InboxQuery(BRAND, {}, text=rare),
        f"'{frequent} {rare}' + rating 1-3": InboxQuery(BRAND, {"rating": ["1", "2", "3"]}, text=f"{frequent} {rare}"),
        "period of a week + channel": InboxQuery(
            BRAND, {"channel": ["whatsapp"]}, since=_day(START + n * 15), until=_day(START + n * 15 + 7 * 86400)
        ),
    }
    results = []
    for name, query in queries.items():
        page = await index.query(query)
        p50, p99 = await timed(args.runs, lambda q=query: index.query(q))  # type: ignore[misc]
        print(f"  {name:<44} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  {page.count:>8} matches", flush=True)
        results.append({"query": name, "p50_ms": p50, "p99_ms": p99, "matches": page.count})

    async def whole_page() -> None:
        page = await index.query(InboxQuery(BRAND, filters))
        async with redis.pipeline(transaction=False) as pipe:
            for feedback_id in page.feedback_ids:
                pipe.hgetall(keys.feedback(BRAND, feedback_id))
                pipe.hgetall(keys.ticket(BRAND, 0))
            await pipe.execute()

    p50, p99 = await timed(args.runs, whole_page)
    print(f"  {'4 filters + the rows of the page':<44} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms", flush=True)
    index_bytes, per_hash = await index_memory(redis)
    used = int((await redis.info("memory"))["used_memory"]) - before
    words_total = f"{bitmaps} words as bitmaps, {positions} as lists of positions"
    print(
        f"index memory {index_bytes / 1e6:.1f} MB ({index_bytes / n:.0f} B a feedback; {words_total}); "
        f"feedback hashes about {per_hash * n / 1e6:.0f} MB ({per_hash} B each); Redis used {used / 1e6:.0f} MB",
        flush=True,
    )
    target = ROOT / "bench" / "results"
    target.mkdir(exist_ok=True)
    summary = {"feedbacks": n, "queries": results, "index_bytes": index_bytes, "feedback_hash_bytes": per_hash}
    (target / "inbox.json").write_text(json.dumps(summary, indent=2))


def _day(at: float) -> str:
    return time.strftime("%Y%m%d", time.gmtime(at))


if __name__ == "__main__":
    asyncio.run(main())
