"""The 24-hour customer service window: when each WhatsApp customer last wrote, kept in Redis for every process.

Only what the window needs is kept, and only as long as it matters (a day and an hour): after `/forget`
the customer's number leaves Redis with it within that time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from redis.asyncio import Redis

from bot.channels.whatsapp.limits import WINDOW
from bot.storage.identity import CustomerId

KEEP_SECONDS: Final = int(WINDOW) + 3600
PREFIX: Final = "parole:whatsapp"


def seen_key(customer: CustomerId) -> str:
    return f"{PREFIX}:seen:{customer.id}"


def handled_key(wamid: str) -> str:
    return f"{PREFIX}:handled:{wamid}"


REFUSED_KEY: Final = f"{PREFIX}:refused:outside_window"


class ServiceWindow:
    """When each customer last wrote, and whether a free-form message may still reach them."""

    def __init__(self, redis: Redis, clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.clock = clock

    async def is_open(self, customer: CustomerId) -> bool:
        last = await self.redis.get(seen_key(customer))
        return last is not None and self.clock() - float(last) < WINDOW

    async def refused(self) -> int:
        """Count a message refused for the window (no template configured); the count so far."""
        return int(await self.redis.incr(REFUSED_KEY))
