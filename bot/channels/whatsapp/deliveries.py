"""Which sent message was a staff answer, and to whom, so that its delivery statuses can reach the ticket.

Meta reports what became of each message (`sent`, `delivered`, `read`, `failed`) by its id only; parole keeps
the ids of staff answers and, per customer, the latest one, as long as the window's record (a day and an
hour: the customer's number leaves Redis as promised after `/forget`); a status reported later is not kept.
"""

from __future__ import annotations

from typing import Final

from redis.asyncio import Redis

from bot.channels.whatsapp.window import KEEP_SECONDS, PREFIX
from bot.storage.identity import CustomerId
from bot.storage.store import redis_text

STATUSES: Final = frozenset({"sent", "delivered", "read", "failed"})


def answer_key(wamid: str) -> str:
    return f"{PREFIX}:answer:{wamid}"


def latest_key(customer: CustomerId) -> str:
    return f"{PREFIX}:latest_answer:{customer.id}"


class StaffAnswers:
    """The staff answers sent on WhatsApp, by their message id."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def record(self, customer: CustomerId, wamid: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(answer_key(wamid), customer.id, ex=KEEP_SECONDS)
            pipe.set(latest_key(customer), wamid, ex=KEEP_SECONDS)
            await pipe.execute()

    async def find(self, wamid: str) -> tuple[CustomerId, bool] | None:
        """The customer a staff answer went to, and whether it is their latest; None for any other message."""
        number = await self.redis.get(answer_key(wamid))
        if number is None:
            return None
        customer = CustomerId.of("whatsapp", redis_text(number))
        latest = await self.redis.get(latest_key(customer))
        return customer, latest is not None and redis_text(latest) == wamid
