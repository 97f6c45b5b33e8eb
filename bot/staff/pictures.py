"""The customers' pictures that their channel must fetch before they go under a ticket's card (a WhatsApp image):
stored in Redis as jobs before the channel's webhook answers, done in the background (a few at once), and taken
over by another bot process when the one that took a job stops before it is done.

A job is done at least once: a process stopped after the photo reached the room, before the job was crossed
out, leaves it to be done again (the photo twice, rather than none).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Final

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.errors import InvalidInput
from bot.storage import keys
from bot.storage.cluster import REDIS_UNAVAILABLE, resume_every
from bot.storage.identity import CustomerId
from bot.storage.scripts import Lua, run_commands
from bot.storage.store import redis_text

log = logging.getLogger(__name__)

#: Seconds a process holds a job, from when it starts it: longer than its calls can take (a lookup, a download, a
#: send, each retried).
PICTURE_LEASE: Final = 300.0
RESUME_EVERY: Final = 60.0  # seconds between two looks for jobs a stopped process left, in every bot process
AT_ONCE: Final = 4  # pictures fetched at once by a process: at most 4 pictures of 5 MB in memory


@dataclass(frozen=True, slots=True)
class PictureJob:
    """A customer's picture to fetch from their channel (`media`) and post under their ticket's card: its caption
    as the room is shown it (`text`) and as the thread keeps it (`kept`); whether the ticket opened again for it;
    when the customer sent it."""

    brand: str
    ticket: int
    customer: CustomerId
    language: str
    media: str
    text: str
    kept: str
    reopened: bool
    at: float

    @property
    def member(self) -> str:
        return f"{self.brand}/{self.ticket}/{self.media}"

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "customer": self.customer.key}, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> PictureJob:
        """Raises InvalidInput (or ValueError, KeyError, TypeError) for anything `to_json` never wrote."""
        data = json.loads(raw)
        return cls(
            str(data["brand"]), int(data["ticket"]), CustomerId.from_key(str(data["customer"])),
            str(data["language"]), str(data["media"]), str(data["text"]), str(data["kept"]),
            bool(data["reopened"]), float(data["at"]),
        )  # fmt: skip


# The lease renewed by its holder, or taken when free: 1; held by another process: 0.
_HOLD = Lua(
    """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
)
# The lease given back by its holder only (another process may have taken it since it ran out).
_RELEASE = Lua(
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
)

#: What is done with a job: the picture fetched and posted, or the customer told why not.
Work = Callable[[PictureJob], Awaitable[None]]


class PictureJobs:
    """The jobs stored in Redis, and the ones this process is doing."""

    def __init__(
        self, redis: Redis, work: Work, *, lease: float = PICTURE_LEASE, at_once: int = AT_ONCE, name: str = ""
    ) -> None:
        self.redis = redis
        self.work = work
        self.lease = lease
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"
        self.running: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(at_once)

    async def add(self, job: PictureJob) -> None:
        """Store a job, taken by this process, and start it in the background."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(keys.PICTURES, job.member, job.to_json())
            pipe.set(keys.picture_lease(job.member), self.name, px=self._lease_ms)
            await pipe.execute()
        self._spawn(job)

    async def resume(self) -> int:
        """Start every stored job whose lease is free (the process that took it stopped); how many were started."""
        started = 0
        for member, raw in (await self.redis.hgetall(keys.PICTURES)).items():
            name = redis_text(member)
            if name in self.running:
                continue
            try:
                job = PictureJob.from_json(redis_text(raw))
            except (InvalidInput, ValueError, KeyError, TypeError):
                log.error("picture job %s unreadable: dropped", name)
                await self.redis.hdel(keys.PICTURES, name)
                continue
            if await self.redis.set(keys.picture_lease(name), self.name, nx=True, px=self._lease_ms):
                self._spawn(job)
                started += 1
        return started

    async def keep_resuming(self, every: float = RESUME_EVERY) -> None:
        """Resume the jobs stopped processes left, now and every `every` seconds, until cancelled."""
        await resume_every(self.resume, every, what="customer picture(s)")

    async def idle(self) -> None:
        """Wait for the jobs under way."""
        while self.running:
            await asyncio.gather(*self.running.values(), return_exceptions=True)

    async def stop(self) -> None:
        """Stop (the process is stopping): the jobs under way are given back, for another bot process to do."""
        members, tasks = list(self.running), list(self.running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for member in members:
            with contextlib.suppress(RedisError):
                await run_commands(self.redis, None, [_RELEASE.call([keys.picture_lease(member)], [self.name])])

    @property
    def _lease_ms(self) -> int:
        return max(1, int(self.lease * 1000))

    def _spawn(self, job: PictureJob) -> None:
        task = asyncio.create_task(self._run(job))
        self.running[job.member] = task
        task.add_done_callback(lambda _: self.running.pop(job.member, None))

    async def _hold(self, job: PictureJob) -> bool:
        """Whether the job is still stored and this process holds its lease, renewed from now: its lease ran
        from when it was stored, and a job may wait for a slot (another process takes it once it runs out)."""
        if not await self.redis.hexists(keys.PICTURES, job.member):
            return False  # done by another process meanwhile
        [held] = await run_commands(
            self.redis, None, [_HOLD.call([keys.picture_lease(job.member)], [self.name, self._lease_ms])]
        )
        return bool(held)

    async def _run(self, job: PictureJob) -> None:
        async with self._slots:
            try:
                if not await self._hold(job):
                    log.info("customer picture %s: taken over by another process, or done", job.member)
                    return
            except REDIS_UNAVAILABLE as exc:
                log.warning("customer picture %s waits, Redis unavailable (resumed later): %s", job.member, exc)
                return
            try:
                await self.work(job)
            except asyncio.CancelledError:
                raise
            except REDIS_UNAVAILABLE as exc:  # kept: its lease expires, and a bot process does it again
                log.warning("customer picture %s stopped, Redis unavailable (resumed later): %s", job.member, exc)
                return
            except Exception:  # a bug with this job: logged with its traceback, not tried forever
                log.exception("customer picture %s failed: dropped", job.member)
            try:
                await run_commands(
                    self.redis,
                    None,
                    [("HDEL", keys.PICTURES, job.member), _RELEASE.call([keys.picture_lease(job.member)], [self.name])],
                )
            except RedisError as exc:
                log.warning("customer picture %s done, but still stored (done again later): %s", job.member, exc)
