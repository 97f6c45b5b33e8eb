"""A process's Redis client under a burst: more commands at once than pooled connections wait their turn."""

from __future__ import annotations

import asyncio

from bot.app import REDIS_POOL_SIZE, open_redis
from bot.config import Settings


async def test_a_burst_beyond_the_pool_waits_instead_of_failing(settings: Settings) -> None:
    # Each BLPOP holds its connection for its whole timeout: half again as many as the pool holds at once.
    # redis-py 8's default pool raised MaxConnectionsError from the 101st (live pages opening together).
    burst = REDIS_POOL_SIZE * 3 // 2
    async with open_redis(settings) as client:
        results = await asyncio.gather(*(client.blpop([f"test:pool:nothing:{n}"], timeout=0.2) for n in range(burst)))
        assert results == [None] * burst
        assert await client.ping()
