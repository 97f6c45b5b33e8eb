""" "You said, we did": the customers who opted in to a venue's news, and the brand's messages to them.

A customer opts in with the button under the thanks (`news:in:<feedback id>`), and out with the button
under any news (`news:out:<venue short code>`) or `/stopnews` (every venue); `/forget` drops it all. A
brand admin sends one message to the customers of a venue who opted in within a period: it goes out at
most `BROADCAST_PER_SECOND` messages a second for the whole bot, whatever the number of processes
sending (slots taken from Redis), one message per customer (so one a second per chat at most), and
a customer who blocked the bot (403) is unsubscribed. A broadcast is stored in Redis and survives the process
that started it (`bot.customers.broadcasts`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.botapi.outbound import PRIORITY, Priority
from bot.customers.broadcasts import BroadcastReport, Fate, NewsJob, NewsJobs
from bot.errors import InvalidInput, NotFound, problem
from bot.seam.commands import NEWS_OUT
from bot.seam.outgoing import Channels, Delivered, OutgoingMessage
from bot.storage import keys
from bot.storage.cluster import resume_every
from bot.storage.identity import CustomerId
from bot.storage.store import Store, feedback_brand, redis_text
from bot.storage.venues import Venue
from dialogs.render import MessageRenderer
from dialogs.types import MessagePart

log = logging.getLogger(__name__)

BROADCAST_PER_SECOND = 25  # under Telegram's ~30 a second for a bot: room left for answers to customers
MAX_NEWS_LENGTH = 3000  # Telegram takes 4096 characters; the template adds the venue's name around it
NEWS_LEASE = 30.0  # seconds a process holds a broadcast without renewing it; then any bot process takes it over
RESUME_EVERY = 15.0  # seconds between two looks for abandoned broadcasts, in every bot process
NEWS_REPORT_EVERY = 5.0  # seconds between two edits of a broadcast's report: a group takes 20 messages a minute


@dataclass(frozen=True, slots=True)
class Subscription:
    """A customer's opt-in to a venue's news."""

    brand: str
    venue: str
    venue_name: str
    short_code: str


class NewsStore:
    """Who receives which venue's news (Redis)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def subscribe_after(self, customer: CustomerId, feedback_id: str, now: float) -> Subscription | None:
        """Opt the customer in to the news of the venue of one of their feedbacks; None if it is not theirs."""
        brand = await feedback_brand(self.redis, customer, feedback_id)
        if brand is None:
            return None
        venue_code = await self.redis.hget(keys.feedback(brand, feedback_id), "venue")
        if not venue_code:
            return None
        name, short = await self.redis.hmget(keys.venue(brand, redis_text(venue_code)), ["name", "short_code"])
        if not name or not short:
            return None
        subscription = Subscription(brand, redis_text(venue_code), redis_text(name), redis_text(short))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(keys.news_subscribers(brand, subscription.venue), {str(customer): now})
            pipe.sadd(keys.customer_news(customer), keys.venue_member(brand, subscription.venue))
            await pipe.execute()
        return subscription

    async def unsubscribe(self, customer: CustomerId, brand: str, venue: str) -> bool:
        """Opt the customer out of one venue's news; False if they were not in."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(keys.news_subscribers(brand, venue), str(customer))
            pipe.srem(keys.customer_news(customer), keys.venue_member(brand, venue))
            removed, _ = await pipe.execute()
        return bool(removed)

    async def unsubscribe_all(self, customer: CustomerId) -> int:
        """Opt the customer out of every venue's news; how many they were in."""
        members = [redis_text(m) for m in await self.redis.smembers(keys.customer_news(customer))]
        async with self.redis.pipeline(transaction=True) as pipe:
            for member in members:
                brand, _, venue = member.partition("/")
                pipe.zrem(keys.news_subscribers(brand, venue), str(customer))
            pipe.delete(keys.customer_news(customer))
            await pipe.execute()
        return len(members)

    async def subscribed(self, customer: CustomerId) -> list[str]:
        """`B/V` of every venue whose news the customer receives."""
        return sorted(redis_text(m) for m in await self.redis.smembers(keys.customer_news(customer)))

    async def is_subscribed(self, customer: CustomerId, brand: str, venue: str) -> bool:
        return await self.redis.zscore(keys.news_subscribers(brand, venue), str(customer)) is not None

    async def subscribers(
        self, brand: str, venue: str, *, since: float | None = None, until: float | None = None
    ) -> list[CustomerId]:
        """The customers who opted in to the venue's news in [since, until), earliest first."""
        low = "-inf" if since is None else repr(since)
        high = "+inf" if until is None else f"({until!r}"
        found = await self.redis.zrangebyscore(keys.news_subscribers(brand, venue), low, high)
        return [CustomerId.from_key(redis_text(member)) for member in found]


# KEYS[1] the next free slot; ARGV[1] now, ARGV[2] seconds between two sends. Returns the caller's slot.
_TAKE_SLOT = """
local now = tonumber(ARGV[1])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
redis.call('SET', KEYS[1], string.format('%.6f', slot + tonumber(ARGV[2])), 'EX', 3600)
return string.format('%.6f', slot)
"""


class SendBudget:
    """At most `per_second` sends a second, evenly spaced, for every process together: each send takes
    the next free slot from Redis (one script call) and waits for it."""

    def __init__(
        self,
        redis: Redis,
        per_second: float = BROADCAST_PER_SECOND,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.per_second = per_second
        self.clock = clock
        self.sleep = sleep
        self._take = redis.register_script(_TAKE_SLOT)

    async def take(self) -> None:
        """Wait for this send's slot."""
        now = self.clock()
        slot = float(await self._take(keys=[keys.SEND_SLOT], args=[repr(now), repr(1.0 / self.per_second)]))
        if slot > now:
            await self.sleep(slot - now)


Progress = Callable[[BroadcastReport], Awaitable[None]]
#: Tells a broadcast's staff room how it goes (`job.room`, `job.report_message`), from whichever process sends it.
RoomReport = Callable[[NewsJob, BroadcastReport], Awaitable[None]]


@dataclass
class NewsSender:
    """Sends a brand's message to a venue's subscribers, each in their language, with an opt-out button.

    A broadcast is a job in Redis (`bot.customers.broadcasts`) sent by the process holding its lease, which it
    renews as it goes; a bot process stopped midway leaves the lease to expire, and any bot process resuming
    (`resume`, at start and every `RESUME_EVERY` seconds in `parole serve`) takes it over where it stopped."""

    store: Store
    news: NewsStore
    renderer: MessageRenderer
    channels: Channels
    budget: SendBudget
    jobs: NewsJobs = field(init=False)
    lease: float = NEWS_LEASE
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}")
    report_to_room: RoomReport | None = None
    report_every: float = NEWS_REPORT_EVERY
    clock: Callable[[], float] = time.monotonic
    running: dict[str, asyncio.Task[BroadcastReport | None]] = field(default_factory=dict)
    _sending: dict[str, NewsJob] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.jobs = NewsJobs(self.store.redis)

    async def prepare(
        self, brand: str, venue_code: str, text: str, *, since: float | None = None, until: float | None = None
    ) -> tuple[Venue, list[CustomerId]]:
        """Check a message and find its recipients; raises InvalidInput or NotFound, changing nothing."""
        venue = await self.store.get_venue(brand, venue_code)
        if not text.strip():
            raise InvalidInput(problem("news_empty", "the message is empty"))
        if len(text) > MAX_NEWS_LENGTH:
            raise InvalidInput(
                problem(
                    "news_too_long", "the message has {count} characters; at most {most}",
                    count=len(text), most=MAX_NEWS_LENGTH,
                )
            )  # fmt: skip
        if since is not None and until is not None and until <= since:
            raise InvalidInput(problem("news_period_order", "the end of the period must come after its start"))
        return venue, await self.news.subscribers(brand, venue.code, since=since, until=until)

    async def create(
        self, venue: Venue, chats: list[CustomerId], text: str, *, room: int | None = None, language: str = "fr"
    ) -> NewsJob:
        """Store a broadcast (not sent yet); `room` is the staff room told of its progress."""
        return await self.jobs.create(
            venue.brand, venue.code, text, chats, now=time.time(), room=room, language=language
        )

    async def send(
        self, venue: Venue, chats: list[CustomerId], text: str, *, progress: Progress | None = None, every: int = 10
    ) -> BroadcastReport:
        """Send to each chat in turn, here and now (as a stored job: a bot process finishes it if this one
        stops); `progress` is told every `every` chats and at the end."""
        job = await self.create(venue, chats, text)
        await self.jobs.take(job, self.name, self.lease)
        report = await self.run(job, progress=progress, every=every)
        if report is None:  # the lease was lost: another process finishes it
            return await self.jobs.report(job, venue.name)
        return report

    def start(self, job: NewsJob) -> bool:
        """Send a stored job in the background if its lease is free (an update's handler answers at once)."""
        return self._spawn(job, taken=False)

    async def resume(self) -> int:
        """Start every unfinished broadcast whose lease is free (its process stopped); how many were started."""
        started = 0
        for member in await self.jobs.unfinished():
            if member in self.running:
                continue
            job = await self.jobs.load(member)
            if job is not None and await self.jobs.take(job, self.name, self.lease):
                started += self._spawn(job, taken=True)
        return started

    def _spawn(self, job: NewsJob, *, taken: bool) -> bool:
        if job.member in self.running:
            return False
        task = asyncio.create_task(self._run_logged(job, taken=taken))
        self.running[job.member] = task
        self._sending[job.member] = job
        task.add_done_callback(lambda _: (self.running.pop(job.member, None), self._sending.pop(job.member, None)))
        return True

    async def keep_resuming(self, every: float = RESUME_EVERY) -> None:
        """Resume abandoned broadcasts now and every `every` seconds, until cancelled."""
        await resume_every(self.resume, every, what="news broadcast(s)")

    async def stop(self) -> None:
        """Stop sending (the process is stopping): each broadcast's lease is given back, so that another bot
        process goes on at its next look; a recipient whose send was under way is counted unsure."""
        jobs, tasks = list(self._sending.values()), list(self.running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for job in jobs:
            with contextlib.suppress(RedisError):
                await self.jobs.release(job, self.name)

    async def idle(self) -> None:
        """Wait for the messages going out in the background."""
        while self.running:
            await asyncio.gather(*self.running.values(), return_exceptions=True)

    async def _run_logged(self, job: NewsJob, *, taken: bool) -> BroadcastReport | None:
        if not taken and not await self.jobs.take(job, self.name, self.lease):
            return None
        try:
            return await self.run(job)
        except asyncio.CancelledError:
            raise
        except Exception:  # its lease expires: another process (or this one's next resume) goes on
            log.exception("news broadcast %s stopped", job.member)
            return None

    async def run(self, job: NewsJob, *, progress: Progress | None = None, every: int = 10) -> BroadcastReport | None:
        """Send a job whose lease this process holds, from where it stopped; its report, or None if the lease
        was lost (another process goes on). A recipient claimed but never settled (its process stopped
        mid-send) is counted unsure and not sent again."""
        jobs = self.jobs
        try:
            venue = await self.store.get_venue(job.brand, job.venue)
        except NotFound:  # the venue was removed meanwhile: nothing left to send it for
            log.warning("news broadcast %s dropped: its venue %s is gone", job.member, job.venue)
            await jobs.finish(job)
            return None
        brand_name = (await self.store.get_brand(venue.brand)).name
        renewed = shown = self.clock()
        index = max(0, await jobs.cursor(job) - 1)  # the last one claimed may be unsettled
        while chunk := await jobs.recipients(job, index):
            for customer in chunk:
                if self.clock() - renewed > self.lease / 3:
                    if not await jobs.renew(job, self.name, self.lease):
                        log.warning("news broadcast %s: lease lost, left to the process that took it", job.member)
                        return None
                    renewed = self.clock()
                await self._one(job, venue, brand_name, customer, index)
                index += 1
                if index % every == 0 and index < job.total:
                    report = await jobs.report(job, venue.name)
                    if progress is not None:
                        await progress(report)
                    if self.clock() - shown >= self.report_every:
                        shown = self.clock()
                        await self._tell_room(job, report)
        await jobs.finish(job)
        report = await jobs.report(job, venue.name)
        if progress is not None:
            await progress(report)
        await self._tell_room(job, report)
        await jobs.release(job, self.name)
        return report

    async def _one(self, job: NewsJob, venue: Venue, brand_name: str, customer: CustomerId, index: int) -> None:
        """Claim, send to and settle one recipient; one claimed before by a stopped process is settled unsure."""
        subscribed = await self.news.is_subscribed(customer, venue.brand, venue.code)
        if subscribed:
            await self.budget.take()  # before the claim: a process stopped while it waits leaves nobody unsure
        before = await self.jobs.claim(job, customer, index)
        if before is Fate.SENDING:
            await self.jobs.settle(job, customer, Fate.UNSURE)
            return
        if before is not None:
            return
        if not subscribed:
            await self.jobs.settle(job, customer, Fate.SKIPPED)
            return
        outcome = await self._send_one(customer, venue, brand_name, job.text)
        if outcome is Delivered.SENT:
            fate = Fate.SENT
        elif outcome is Delivered.BLOCKED:
            fate = Fate.BLOCKED
            await self.news.unsubscribe(customer, venue.brand, venue.code)
        else:
            fate = Fate.FAILED
        await self.jobs.settle(job, customer, fate)

    async def _tell_room(self, job: NewsJob, report: BroadcastReport) -> None:
        if self.report_to_room is not None and job.room is not None and job.report_message is not None:
            await self.report_to_room(job, report)

    async def _send_one(self, customer: CustomerId, venue: Venue, brand_name: str, text: str) -> Delivered:
        conversation = (await self.store.load_chat(customer)).conversation
        language = conversation.language if conversation is not None else venue.language
        variables = {"venue_name": venue.name, "brand_name": brand_name, "text": text}
        body = self.renderer.render(MessagePart("news_message", variables), language)
        label = self.renderer.render_label(MessagePart("button_news_stop", {"venue_name": venue.name}), language)
        message = OutgoingMessage(body, (((label, f"{NEWS_OUT}{venue.short_code}"),),))
        token = PRIORITY.set(Priority.BROADCAST)  # the bot's one budget, after the answers and the cards
        try:
            return await self.channels.send(customer, message, what="news to a customer")
        finally:
            PRIORITY.reset(token)
