"""Per-chat lanes: one chat's updates run one at a time and in order, different chats at once, and a chat may
keep only so many waiting (a flood is refused beyond that, so it never holds memory or anyone else)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine, Hashable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

#: How many updates a chat may have waiting behind the one being handled. A person typing, or a client
#: sending a few messages queued offline, stays well under it; a flood goes past it in a second.
WAITING_PER_CHAT = 10


@dataclass(slots=True)
class _Lane:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # fair (FIFO) since Python 3.7: keeps the order
    entered: int = 0  # the update being handled and those waiting
    refused: int = 0  # refused since the lane was last empty


class Lanes:
    """Runs work keyed by chat: in the order it came for one key, concurrently across keys, bounded per key."""

    def __init__(self, waiting: int = WAITING_PER_CHAT) -> None:
        if waiting < 0:
            raise ValueError("a lane's bound cannot be negative")
        self.waiting = waiting
        self._lanes: dict[Hashable, _Lane] = {}

    def busy(self, key: Hashable) -> int:
        """How many of the key's updates are in its lane (the one being handled and those waiting)."""
        lane = self._lanes.get(key)
        return 0 if lane is None else lane.entered

    def admits(self, key: Hashable) -> bool:
        """Tell whether the key's lane has room for one more."""
        return self.busy(key) <= self.waiting

    async def run(self, key: Hashable, work: Awaitable[T]) -> T:
        """Await `work` once everything the key had before it is done. The caller checks `admits` first, in
        the same step of the event loop (nothing awaited in between), or the bound does not hold."""
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
        lane.entered += 1
        try:
            try:
                await lane.lock.acquire()
            except BaseException:
                if isinstance(work, Coroutine):  # cancelled while waiting: it never ran, and never will
                    work.close()
                raise
            try:
                return await work
            finally:
                lane.lock.release()
        finally:
            lane.entered -= 1
            if lane.entered == 0:
                del self._lanes[key]

    def refuse(self, key: Hashable) -> bool:
        """Count a refusal for the key; True for the first since its lane was last empty (say so once)."""
        lane = self._lanes.get(key)
        if lane is None:  # nothing waiting: nothing to refuse for (the caller checked admits)
            return True
        lane.refused += 1
        return lane.refused == 1
