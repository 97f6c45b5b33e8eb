""" "You said, we did": the customers who opted in to a venue's news, and the brand's messages to them.

A customer opts in with the button under the thanks (`news:in:<feedback id>`), and out with the button
under any news (`news:out:<venue short code>`) or `/stopnews` (every venue); `/forget` drops it all. A
brand admin sends one message to the customers of a venue who opted in within a period: it goes out at
most `BROADCAST_PER_SECOND` messages a second for the whole bot, whatever the number of processes
sending (slots taken from Redis), one message per customer (so one a second per chat at most), and
a customer who blocked the bot (403) is unsubscribed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from bot.errors import InvalidInput
from bot.seam.commands import NEWS_OUT
from bot.seam.outgoing import Channels, Delivered, OutgoingMessage
from bot.storage import keys
from bot.storage.identity import CustomerId
from bot.storage.store import Store, redis_text
from bot.storage.venues import Venue
from dialogs.render import MessageRenderer
from dialogs.types import MessagePart

BROADCAST_PER_SECOND = 25  # under Telegram's ~30 a second for a bot: room left for answers to customers
MAX_NEWS_LENGTH = 3000  # Telegram takes 4096 characters; the template adds the venue's name around it


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
        for member in map(redis_text, await self.redis.smembers(keys.customer_feedbacks(customer))):
            brand, _, mine = member.partition("/")
            if mine == feedback_id:
                break
        else:
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


@dataclass
class BroadcastReport:
    """How a message to a venue's subscribers went, as it goes."""

    brand: str
    venue: str
    venue_name: str
    total: int
    sent: int = 0
    blocked: int = 0  # 403: unsubscribed
    failed: int = 0
    skipped: int = 0  # opted out while the message was going out
    done: bool = False

    @property
    def handled(self) -> int:
        return self.sent + self.blocked + self.failed + self.skipped

    def to_json(self) -> dict[str, Any]:
        return {
            "brand": self.brand, "venue": self.venue, "venue_name": self.venue_name, "total": self.total,
            "sent": self.sent, "blocked": self.blocked, "failed": self.failed, "skipped": self.skipped,
        }  # fmt: skip


Progress = Callable[[BroadcastReport], Awaitable[None]]


@dataclass
class NewsSender:
    """Sends a brand's message to a venue's subscribers, each in their language, with an opt-out button."""

    store: Store
    news: NewsStore
    renderer: MessageRenderer
    channels: Channels
    budget: SendBudget
    running: set[asyncio.Task[BroadcastReport]] = field(default_factory=set)

    async def prepare(
        self, brand: str, venue_code: str, text: str, *, since: float | None = None, until: float | None = None
    ) -> tuple[Venue, list[CustomerId]]:
        """Check a message and find its recipients; raises InvalidInput or NotFound, changing nothing."""
        venue = await self.store.get_venue(brand, venue_code)
        if not text.strip():
            raise InvalidInput("the message is empty")
        if len(text) > MAX_NEWS_LENGTH:
            raise InvalidInput(f"the message has {len(text)} characters; at most {MAX_NEWS_LENGTH}")
        if since is not None and until is not None and until <= since:
            raise InvalidInput("the end of the period must come after its start")
        return venue, await self.news.subscribers(brand, venue.code, since=since, until=until)

    async def send(
        self, venue: Venue, chats: list[CustomerId], text: str, *, progress: Progress | None = None, every: int = 10
    ) -> BroadcastReport:
        """Send to each chat in turn; `progress` is told every `every` chats and at the end."""
        brand_name = (await self.store.get_brand(venue.brand)).name
        report = BroadcastReport(venue.brand, venue.code, venue.name, len(chats))
        for customer in chats:
            if not await self.news.is_subscribed(customer, venue.brand, venue.code):
                report.skipped += 1
            else:
                await self.budget.take()
                outcome = await self._send_one(customer, venue, brand_name, text)
                if outcome is Delivered.SENT:
                    report.sent += 1
                elif outcome is Delivered.BLOCKED:
                    report.blocked += 1
                    await self.news.unsubscribe(customer, venue.brand, venue.code)
                else:
                    report.failed += 1
            if progress is not None and report.handled % every == 0 and report.handled < report.total:
                await progress(report)
        report.done = True
        if progress is not None:
            await progress(report)
        return report

    def start(self, venue: Venue, chats: list[CustomerId], text: str, *, progress: Progress | None = None) -> None:
        """Send in the background (an update's handler must answer Telegram quickly)."""
        task = asyncio.create_task(self.send(venue, chats, text, progress=progress))
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    async def idle(self) -> None:
        """Wait for the messages going out in the background."""
        while self.running:
            await asyncio.gather(*self.running, return_exceptions=True)

    async def _send_one(self, customer: CustomerId, venue: Venue, brand_name: str, text: str) -> Delivered:
        conversation = (await self.store.load_chat(customer)).conversation
        language = conversation.language if conversation is not None else venue.language
        variables = {"venue_name": venue.name, "brand_name": brand_name, "text": text}
        body = self.renderer.render(MessagePart("news_message", variables), language)
        label = self.renderer.render_label(MessagePart("button_news_stop", {"venue_name": venue.name}), language)
        message = OutgoingMessage(body, (((label, f"{NEWS_OUT}{venue.short_code}"),),))
        return await self.channels.send(customer, message, what="news to a customer")
