"""Faults under load: a worker process killed with SIGKILL mid-batch (every feedback still analysed once),
Redis restarted while customers are answering (nothing they were thanked for is lost, nothing counted twice)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from bot.cli.serve import Listen, running_bot
from bot.config import Settings
from bot.storage import keys
from bot.storage.embedded import EmbeddedRedis
from bot.storage.store import Store
from dialogs.types import VenueRef
from emulator import BotApiEmulator, Delivery
from tests.bot.analysis.test_worker import REASONS, _analysis_counts, _complete
from tests.support import Clock, Customer


async def _worker(redis_url: str, name: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PAROLE_REDIS_URL": redis_url, "PAROLE_LOG_LEVEL": "WARNING"}
    env.pop("PAROLE_TELEGRAM_TOKEN", None)
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "worker", "--no-notifier", "--batch", "8", "--claim-after", "1"),
        *("--port", "0"),  # several workers at once: no /healthz server each
        *("--name", name),
        env=env,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def _until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def test_a_worker_killed_mid_batch_leaves_every_feedback_analysed_once(
    redis_client: Redis, redis_url: str
) -> None:
    store = Store(redis_client)
    await store.add_brand("quick", "Quick")
    await store.add_venue("quick", "Quick Massy")
    venue = VenueRef("quick", "quick-massy", "Quick Massy", "Quick")
    total = 160
    for number in range(total):
        reason, rating = REASONS[number % len(REASONS)]
        await _complete(store, venue, number, reason, rating)

    async def analysed() -> int:
        return sum(1 for count in (await _analysis_counts(redis_client, "quick")).values() if count)

    first = await _worker(redis_url, "first")
    try:
        await _until(lambda: _at_least(analysed, 16), "the first worker analysed nothing")
        first.send_signal(signal.SIGKILL)
        await first.wait()
        left = total - await analysed()
        assert left > 0, "the first worker finished before it was killed: more feedback needed"
        second = await _worker(redis_url, "second")
        try:
            await _until(lambda: _at_least(analysed, total), "the second worker did not finish the stream")
        finally:
            second.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.wait(), 60) == 0
    finally:
        if first.returncode is None:
            first.kill()
    counts = await _analysis_counts(redis_client, "quick")
    assert len(counts) == total and set(counts.values()) == {1}, counts
    assert (await redis_client.xpending(keys.FEEDBACK_STREAM, keys.ANALYSIS_GROUP))["pending"] == 0
    assert await redis_client.xlen(keys.events("quick")) == total


async def _at_least(count: Callable[[], Awaitable[int]], target: int) -> bool:
    return await count() >= target


async def test_redis_restarted_under_load_loses_nothing_acknowledged(
    settings: Settings, emulator: BotApiEmulator, own_redis: EmbeddedRedis, clock: Clock
) -> None:
    settings = dataclasses.replace(settings, redis_url=own_redis.url)
    assert settings.webhook_url is not None
    port = int(settings.webhook_url.split(":")[2].split("/")[0])
    customers = 24
    refused: list[Delivery] = []
    async with running_bot(settings, listen=Listen("127.0.0.1", port), clock=clock) as bot:
        await bot.store.add_brand("quick", "Quick")
        venue = await bot.store.add_venue("quick", "Quick Massy")
        people = [Customer.new(emulator, f"Client {n}") for n in range(customers)]
        restarted = asyncio.Event()

        async def until_handled(delivery: Delivery) -> None:
            # Telegram keeps a refused update and delivers it again later (here: once Redis is back).
            while delivery.status != 200:
                refused.append(delivery)
                await restarted.wait()
                await asyncio.sleep(0.05)
                delivery = await emulator.deliver_raw(delivery.update)

        async def journey(number: int) -> None:
            person = people[number]
            await asyncio.sleep(number * 0.03)
            await until_handled(await emulator.send_text(person.user, f"/start {venue.token}"))
            await until_handled(await emulator.send_text(person.user, str(1 + number % 5)))
            await until_handled(await emulator.send_text(person.user, f"Raison numéro {number}."))
            await until_handled(await emulator.send_text(person.user, f"Suggestion numéro {number}."))

        async def restart() -> None:
            await asyncio.sleep(0.4)
            await asyncio.to_thread(own_redis.stop)  # a clean restart: the append-only file is flushed
            await asyncio.sleep(0.3)
            await asyncio.to_thread(own_redis.start)
            restarted.set()

        await asyncio.gather(restart(), *(journey(n) for n in range(customers)))
        feedback = [f async for f in bot.store.iter_feedback("quick")]
    assert refused, "Redis was restarted after the load: nothing was tested"
    by_reason = {f["reason"]: f for f in feedback}
    assert len(feedback) == customers, feedback
    for number in range(customers):
        stored = by_reason[f"Raison numéro {number}."]
        assert stored["suggestion"] == f"Suggestion numéro {number}." and stored["status"] == "complete"
        assert stored["rating"] == 1 + number % 5
