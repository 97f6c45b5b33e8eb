"""What a Redis Cluster costs parole's customer hot path: the same journeys stored on one Redis (the baseline)
and on a local Redis Cluster of three masters, through `bot.storage.store.Store` (`load_chat` then `save_turn` for
each update, as `bot.conversations.chat` does).

Each customer makes four updates: `/start TOKEN` (the conversation, and the venue read by its token), the
rating (the feedback is created: indexes, pending), the reason, the suggestion (complete: to the analysis
stream). Both Redis setups run `redis-server` with parole's settings (append-only file, `appendfsync
everysec`, `noeviction`) on loopback; the cluster has no replicas.

Printed, for each: updates a second (wall clock, `--concurrency` customers at a time, one process), update
latency p50/p99 (load + save), Redis round trips and commands per update (counted where redis-py's asyncio
connection writes to a socket and packs a command; a pipeline to two nodes is two round trips, sent
concurrently), and the checks: every feedback complete, once in the stream.

    .venv/bin/python bench/bench_cluster.py [--customers 2000] [--concurrency 50] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection

from bot.storage import keys
from bot.storage.cluster import cluster_client
from bot.storage.embedded import EmbeddedRedis, LocalCluster, free_port
from bot.storage.identity import CustomerId
from bot.storage.store import Store
from dialogs.types import Conversation, FeedbackRecord, FeedbackStatus, VenueRef

COUNTS = {"round_trips": 0, "commands": 0}
BRANDS = ("quick", "sncf", "fnac", "monop")  # several hash tags: brands land on different masters


def count_redis() -> None:
    """Count each socket write (a round trip) and each packed command of redis-py's asyncio connections."""
    send, pack = AbstractConnection.send_packed_command, AbstractConnection.pack_command

    async def counted_send(self: AbstractConnection, *args: Any, **kwargs: Any) -> None:
        COUNTS["round_trips"] += 1
        await send(self, *args, **kwargs)

    def counted_pack(self: AbstractConnection, *args: Any) -> Any:
        COUNTS["commands"] += 1
        return pack(self, *args)

    AbstractConnection.send_packed_command = counted_send  # type: ignore[method-assign]
    AbstractConnection.pack_command = counted_pack  # type: ignore[method-assign]


@asynccontextmanager
async def single_redis(root: Path) -> AsyncIterator[Redis]:
    server = EmbeddedRedis(root / "single", port=free_port())
    await asyncio.to_thread(server.start)
    client: Redis = Redis.from_url(server.url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()
        await asyncio.to_thread(server.stop)


@asynccontextmanager
async def cluster_redis(root: Path) -> AsyncIterator[Redis]:
    cluster = LocalCluster(root / "cluster", appendonly=True)
    await asyncio.to_thread(cluster.create)
    client = cluster_client(cluster.url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()
        await asyncio.to_thread(cluster.stop)


async def timed(latencies: list[float], call: Callable[[], Awaitable[None]]) -> None:
    started = time.perf_counter()
    await call()
    latencies.append(time.perf_counter() - started)


async def journey(store: Store, venue: VenueRef, token: str, chat_id: int, latencies: list[float]) -> None:
    """Four updates of one customer, each a `load_chat` and a `save_turn`."""
    feedback_id = f"f{chat_id}"
    customer = CustomerId.telegram(chat_id)
    created = time.time()
    steps: list[tuple[str | None, Conversation, FeedbackRecord | None]] = []
    conversation = Conversation(step="rating", venue=venue, created_at=created, updated_at=created)
    steps.append((token, conversation, None))
    answers = [
        ("reason", 2, None, None, FeedbackStatus.IN_PROGRESS),
        ("suggestion", 2, "On a attendu 40 minutes au comptoir.", None, FeedbackStatus.IN_PROGRESS),
        (None, 2, "On a attendu 40 minutes au comptoir.", "Une deuxième caisse le midi.", FeedbackStatus.COMPLETE),
    ]
    for number, (step, rating, reason, suggestion, status) in enumerate(answers, start=1):
        now = created + number
        record = FeedbackRecord(
            id=feedback_id, venue=venue, language="fr", rating=rating, reason=reason, suggestion=suggestion,
            status=status, created_at=created + 1, updated_at=now, flow="default",
        )  # fmt: skip
        conversation = Conversation(
            step=step, venue=venue if step else None, feedback_id=feedback_id if step else None,
            rating=rating, reason=reason, created_at=created, updated_at=now,
        )  # fmt: skip
        steps.append((None, conversation, record))
    for given_token, state, record in steps:

        async def update(given_token: str | None = given_token, state: Conversation = state,
                         record: FeedbackRecord | None = record) -> None:  # fmt: skip
            await store.load_chat(customer, given_token)
            await store.save_turn(
                customer, state, [record] if record else [], duplicate_window=86400, conversation_timeout=1800
            )

        await timed(latencies, update)


async def run(redis: Redis, customers: int, concurrency: int) -> dict[str, Any]:
    store = Store(redis)
    venues: list[tuple[VenueRef, str]] = []
    for brand in BRANDS:
        made = await store.add_brand(brand, brand.title())
        venue = await store.add_venue(brand, f"{made.name} Massy")
        venues.append((VenueRef(brand, venue.code, venue.name, made.name), venue.token))
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(customers):
        queue.put_nowait(number)

    async def customer_loop() -> None:
        while not queue.empty():
            number = queue.get_nowait()
            venue, token = venues[number % len(venues)]
            await journey(store, venue, token, 10_000_000 + number, latencies)

    before = dict(COUNTS)
    started = time.perf_counter()
    await asyncio.gather(*(customer_loop() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    round_trips, commands = COUNTS["round_trips"] - before["round_trips"], COUNTS["commands"] - before["commands"]
    updates = len(latencies)
    stored = 0
    for brand in BRANDS:
        async for feedback in store.iter_feedback(brand):
            stored += feedback["status"] == "complete"
    streamed = await redis.xlen(keys.FEEDBACK_STREAM)
    latencies.sort()
    return {
        "updates": updates,
        "seconds": round(elapsed, 2),
        "updates_per_second": round(updates / elapsed, 1),
        "latency_p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "latency_p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2),
        "round_trips_per_update": round(round_trips / updates, 2),
        "commands_per_update": round(commands / updates, 2),
        "complete_feedback": stored,
        "streamed": streamed,
        "lost": customers - stored,
        "duplicated": max(0, streamed - customers),
    }


async def main_async(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    count_redis()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="parole-bench-cluster-") as tmp:
        for name, setup in (("one Redis", single_redis), ("Redis Cluster, 3 masters", cluster_redis)):
            async with setup(Path(tmp)) as redis:
                results[name] = await run(redis, args.customers, args.concurrency)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    if args.customers < 1 or args.concurrency < 1:
        parser.error("--customers and --concurrency must be at least 1")
    results = asyncio.run(main_async(args))
    rows = [
        ("updates a second", "updates_per_second"),
        ("update latency p50 (ms)", "latency_p50_ms"),
        ("update latency p99 (ms)", "latency_p99_ms"),
        ("Redis round trips per update", "round_trips_per_update"),
        ("Redis commands per update", "commands_per_update"),
        ("complete feedback stored", "complete_feedback"),
        ("lost", "lost"),
        ("duplicated in the stream", "duplicated"),
    ]
    names = list(results)
    print(
        f"{args.customers} customers x 4 updates, {args.concurrency} at a time, one process"
        " (Store.load_chat + Store.save_turn)"
    )
    print(f"{'':32}" + "".join(f"{name:>28}" for name in names))
    for label, key in rows:
        print(f"{label:32}" + "".join(f"{results[name][key]:>28}" for name in names))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    failed = [name for name in names if results[name]["lost"] or results[name]["duplicated"]]
    if failed:
        print(f"FAILED: feedback lost or duplicated on {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
