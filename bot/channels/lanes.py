"""Per-chat lanes: one chat's updates run one at a time and in order, different chats at once, and a chat may
keep only so many waiting (a flood is refused beyond that, so it never holds memory or anyone else).

Waiting is counted two ways. In the lane: the updates handed over at once (long polling's batches, or
webhook requests sent together) that wait behind the one in hand. And before it: Telegram itself delivers one
chat's webhook updates one at a time, the next once the bot answered the previous one, so a flood waits in
Telegram's queue, not here; a message that was sent while more than `waiting` of its chat's updates were
still to be handled (told by its date: that many of them began after it was sent) is refused too.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

#: How many updates a chat may have waiting behind the one being handled. A person typing, or a client
#: sending a few messages queued offline, stays well under it; a flood goes past it in a second.
WAITING_PER_CHAT = 10
#: Telegram dates a message in whole seconds, and its clock and ours may differ by a little: an update
#: began this long after a message's date certainly began after the message was sent.
DATE_MARGIN = 3.0
#: Telegram keeps an update 24 hours: a message dated earlier (or later than now) is not one it delivers.
KEPT_SECONDS = 24 * 3600.0
#: How long a chat's recent updates are remembered once it goes quiet (a backlog older than this is no flood).
REMEMBER_SECONDS = 600.0
#: A chat refused again and again is told to slow down at most this often.
SAY_EVERY_SECONDS = 60.0


@dataclass(slots=True)
class _Lane:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # fair (FIFO) since Python 3.7: keeps the order
    entered: int = 0  # the update being handled and those waiting


@dataclass(slots=True)
class _Recent:
    began: deque[float]  # when the chat's last updates began to be handled (wall clock)
    last: float  # the chat's last update, begun or refused
    told_at: float | None = None  # when the chat was last told to slow down


class Lanes:
    """Runs work keyed by chat: in the order it came for one key, concurrently across keys, bounded per key."""

    def __init__(self, waiting: int = WAITING_PER_CHAT, *, clock: Callable[[], float] = time.time) -> None:
        """`clock` is the wall clock Telegram's message dates are compared with."""
        if waiting < 0:
            raise ValueError("a lane's bound cannot be negative")
        self.waiting = waiting
        self.clock = clock
        self._lanes: dict[Hashable, _Lane] = {}
        self._recent: OrderedDict[Hashable, _Recent] = OrderedDict()  # least recently begun first

    def busy(self, key: Hashable) -> int:
        """How many of the key's updates are in its lane (the one being handled and those waiting)."""
        lane = self._lanes.get(key)
        return 0 if lane is None else lane.entered

    def admits(self, key: Hashable, sent_at: float | None = None) -> bool:
        """Tell whether the key's lane has room for one more, sent at `sent_at` (a message's date, if it
        has one): no more than `waiting` in the lane, nor begun since it was sent."""
        if self.busy(key) > self.waiting:
            return False
        recent = self._recent.get(key)
        if sent_at is None or recent is None or len(recent.began) <= self.waiting:
            return True
        if not -KEPT_SECONDS <= sent_at - self.clock() <= DATE_MARGIN:
            return True  # a date Telegram would not send: no sign of a backlog
        return recent.began[0] <= sent_at + DATE_MARGIN  # else all the last waiting + 1 began after it was sent

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
                self._began(key)
                return await work
            finally:
                lane.lock.release()
        finally:
            lane.entered -= 1
            if lane.entered == 0:
                del self._lanes[key]

    def refuse(self, key: Hashable) -> bool:
        """Count a refusal for the key; True when the chat is to be told (at most once a `SAY_EVERY_SECONDS`)."""
        now = self.clock()
        recent = self._remember(key, now)
        if recent.told_at is not None and now - recent.told_at < SAY_EVERY_SECONDS:
            return False
        recent.told_at = now
        return True

    def _began(self, key: Hashable) -> None:
        now = self.clock()
        self._remember(key, now).began.append(now)

    def _remember(self, key: Hashable, now: float) -> _Recent:
        """The key's recent updates, now its most recent; the chats quiet for long forgotten."""
        recent = self._recent.get(key)
        if recent is None:
            recent = self._recent[key] = _Recent(deque(maxlen=self.waiting + 1), now)
        recent.last = now
        self._recent.move_to_end(key)
        while now - next(iter(self._recent.values())).last >= REMEMBER_SECONDS:
            self._recent.popitem(last=False)  # never the key's own: it was just moved to the end
        return recent
