"""Customer pseudonyms: what staff see instead of who the customer is on their channel.

A pseudonym is HMAC-SHA256(deployment secret, brand + the customer's salt), shown as six hexadecimal
characters ("Client #A7F3C2"). It is stable per customer and brand, differs between brands, and says
nothing of their name or id on any channel. The salt is random, stored per customer when their first
feedback is stored; `/forget` deletes it, so the next feedback gets an unrelated pseudonym and the old
ones lead nowhere. The secret is created once per deployment and kept in Redis.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from redis.asyncio import Redis

from bot.storage import keys

PSEUDONYM_LENGTH = 6


class Pseudonyms:
    """Computes pseudonyms with the deployment's secret (read, or created, once per process)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._secret: bytes | None = None

    async def secret(self) -> bytes:
        if self._secret is None:
            await self.redis.set(keys.SECRET, secrets.token_hex(32), nx=True)
            value = await self.redis.get(keys.SECRET)
            self._secret = str(value).encode()
        return self._secret

    async def of(self, brand: str, salt: str | None) -> str:
        """The pseudonym of the customer whose salt is `salt`, at this brand ("" once they are forgotten)."""
        if not salt:
            return ""
        digest = hmac.new(await self.secret(), f"{brand}\n{salt}".encode(), hashlib.sha256).hexdigest()
        return digest[:PSEUDONYM_LENGTH].upper()
