"""The updates handled and answered, kept 48 hours, so that a redelivered update changes nothing and answers
nothing (Telegram redelivers an update whose 200 it did not get; a second process may get it meanwhile).

An update is claimed before it is handled (`claim`, a few minutes: a process that dies mid-way gives it
back by expiry) and recorded once it is handled and answered (`done`). A redelivery of a recorded update
is dropped; one that finds the update claimed is refused for now (`UpdateClaimed`: the webhook answers 503
with `Retry-After`, long polling parks it) and comes again once the claim has ended: recorded, it is
dropped; given back (an error, `release`) or expired, it is handled. A process that dies between its answer
and the record leaves the claim to expire: the redelivery then answers once more (once, never not).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, Protocol

from bot.errors import UpdateClaimed
from bot.storage import keys

KEEP_SECONDS: Final = 48 * 3600  # Telegram keeps an unconfirmed update 24 hours: twice that
CLAIM_SECONDS: Final = 120  # the most one update's handling takes (its answers' retries included)
ASK_AGAIN_SECONDS: Final = (
    5.0  # an update found claimed comes again this soon: the claim may end well before it expires
)
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
        """True when this process is to handle the update now; False when it was handled and answered.

        Raises `UpdateClaimed` (with the seconds the claim has left) when another process has it in hand:
        the update is to come again once that claim ends (Telegram's redelivery after a 503, or parked by
        long polling), rather than be waited for here, where it would hold its chat's lane."""
        for _ in range(3):  # a claim given back between the SET and the GET: try again
            taken, state, left_ms = await self.round_trip(
                [("SET", key, "claim", "NX", "EX", int(self.claim_seconds)), ("GET", key), ("PTTL", key)]
            )
            if taken:
                return True
            if _text(state) == _DONE:
                return False
            if state is not None and int(left_ms) == -1:  # a claim that does not expire: taken over
                await self.round_trip([("SET", key, "claim", "EX", int(self.claim_seconds))])
                return True
            if state is not None:
                raise UpdateClaimed(key, min(max(int(left_ms), 0) / 1000, ASK_AGAIN_SECONDS))
        raise UpdateClaimed(key, ASK_AGAIN_SECONDS)

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
