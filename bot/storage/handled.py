"""The updates handled and answered, kept 48 hours, so that a redelivered update changes nothing and answers
nothing (Telegram redelivers an update whose 200 it did not get; a second process may get it meanwhile).

An update is claimed before it is handled (`claim`, a few minutes: a process that dies mid-way gives it
back by expiry) and recorded once it is handled and answered (`done`). A redelivery of a recorded update
is dropped; one that finds the update claimed waits for the claim to end: recorded, it is dropped; given
back (an error, `release`) or expired, it is handled. A process that dies between its answer and the record
leaves the claim to expire: the redelivery then answers once more (once, never not).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, Protocol

from bot.storage import keys

KEEP_SECONDS: Final = 48 * 3600  # Telegram keeps an unconfirmed update 24 hours: twice that
CLAIM_SECONDS: Final = 120  # the most one update's handling takes (its answers' retries included)
_DONE: Final = "done"

Commands = Sequence[Sequence[str | bytes | int | float]]
RoundTrip = Callable[[Commands], Awaitable[list[Any]]]


class SoonWriter(Protocol):
    def write_soon(self, command: Sequence[str | bytes | int | float]) -> None: ...


class HandledUpdates:
    """Claims and records of updates in Redis, each by its key (`keys.handled_update`)."""

    def __init__(self, round_trip: RoundTrip, *, claim_seconds: float = CLAIM_SECONDS) -> None:
        """`round_trip` runs Redis commands in one round trip (`Store.round_trip`: the lean lane if any)."""
        self.round_trip = round_trip
        self.claim_seconds = claim_seconds

    async def claim(self, key: str) -> bool:
        """True when this process is to handle the update now; False when it was handled and answered."""
        deadline = time.monotonic() + self.claim_seconds + 1
        pause = 0.01
        while True:
            taken, state = await self.round_trip(
                [("SET", key, "claim", "NX", "EX", int(self.claim_seconds)), ("GET", key)]
            )
            if taken:
                return True
            if _text(state) == _DONE:
                return False
            if time.monotonic() > deadline:  # a claim that does not expire: taken over
                await self.round_trip([("SET", key, "claim", "EX", int(self.claim_seconds))])
                return True
            await asyncio.sleep(pause)  # another process handles it: wait for what it does
            pause = min(pause * 2, 0.5)

    async def is_done(self, key: str) -> bool:
        """Tell whether the update was handled and answered."""
        [state] = await self.round_trip([("GET", key)])
        return _text(state) == _DONE

    async def done(self, key: str) -> None:
        """Record the update as handled and answered: its redeliveries, for 48 hours, do nothing."""
        await self.round_trip([("SET", key, _DONE, "EX", KEEP_SECONDS)])

    def done_soon(self, key: str, store: SoonWriter) -> None:
        """`done`, sent with the process's next Redis round trip (`Store.write_soon`): lost in a crash, it
        costs one repeated answer on a redelivery, never a lost one."""
        store.write_soon(("SET", key, _DONE, "EX", KEEP_SECONDS))

    async def release(self, key: str) -> None:
        """Give back a claim whose handling failed: the redelivery handles the update again."""
        await self.round_trip([("EVAL", _RELEASE, 1, key)])


# Deletes a claim, never a record.
_RELEASE: Final = "if redis.call('GET', KEYS[1]) == 'claim' then return redis.call('DEL', KEYS[1]) end return 0"


def _text(value: object) -> str | None:
    return value.decode() if isinstance(value, bytes) else value if isinstance(value, str) else None


def telegram_update(update_id: int) -> str:
    """The key of a Telegram update (its ids are the bot's, unique for all chats)."""
    return keys.handled_update("telegram", update_id)
