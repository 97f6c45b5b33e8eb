"""A news broadcast as a job in Redis: its message, who it goes to, what became of each of them, its counts,
and the lease of the one process sending it (which any bot process takes over once it expires).

Each recipient is claimed (`sending`) before their message goes out and settled (`sent`, `blocked`, …) once
Telegram answered, so nobody gets it twice; a process stopped between the two leaves that one recipient
`unsure`: not sent again, counted apart (they may or may not have it).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from bot.storage import keys
from bot.storage.identity import CustomerId
from bot.storage.store import redis_text

KEEP_FINISHED = 7 * 24 * 3600  # seconds a finished broadcast's records stay (its report can still be read)
_CHUNK = 500  # recipients written or read in one command


class Fate(StrEnum):
    """What became of one recipient of a broadcast."""

    SENDING = "sending"  # claimed, Telegram's answer not recorded yet
    SENT = "sent"
    BLOCKED = "blocked"  # 403: unsubscribed
    FAILED = "failed"
    SKIPPED = "skipped"  # opted out while the message was going out
    UNSURE = "unsure"  # the process sending it stopped before Telegram's answer was recorded


#: The counts a broadcast's report shows, one per settled fate.
COUNTED = (Fate.SENT, Fate.BLOCKED, Fate.FAILED, Fate.SKIPPED, Fate.UNSURE)


@dataclass(frozen=True, slots=True)
class NewsJob:
    """One message to a venue's subscribers, as stored: where its report goes (a staff room's message)."""

    brand: str
    id: str
    venue: str
    text: str
    total: int
    room: int | None = None  # the staff room that sent it, told of the progress
    report_message: int | None = None  # the room's message that shows it, edited as it goes
    language: str = "fr"  # the room's

    @property
    def member(self) -> str:
        return f"{self.brand}/{self.id}"


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
    unsure: int = 0  # its process stopped mid-send: not sent again
    done: bool = False

    @property
    def handled(self) -> int:
        return self.sent + self.blocked + self.failed + self.skipped + self.unsure

    def to_json(self) -> dict[str, Any]:
        return {
            "brand": self.brand, "venue": self.venue, "venue_name": self.venue_name, "total": self.total,
            "sent": self.sent, "blocked": self.blocked, "failed": self.failed, "skipped": self.skipped,
            "unsure": self.unsure,
        }  # fmt: skip


# KEYS: fates, job. ARGV: customer, its index. Returns the recipient's fate if someone claimed them already,
# else claims them (`sending`) and moves the job's cursor past them.
_CLAIM = """
local fate = redis.call('HGET', KEYS[1], ARGV[1])
if fate then return fate end
redis.call('HSET', KEYS[1], ARGV[1], 'sending')
redis.call('HSET', KEYS[2], 'cursor', tonumber(ARGV[2]) + 1)
return false
"""

# KEYS: fates, job. ARGV: customer, fate. Settles a recipient still `sending`, counting it; 0 if not.
_SETTLE = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= 'sending' then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
return 1
"""

# KEYS: lease. ARGV: owner, milliseconds. Extends the lease if the owner still holds it; 0 if not.
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS: lease. ARGV: owner. Gives the lease back if the owner still holds it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class NewsJobs:
    """The broadcasts stored in Redis, and their leases."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._claim = redis.register_script(_CLAIM)
        self._settle = redis.register_script(_SETTLE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def create(
        self,
        brand: str,
        venue: str,
        text: str,
        chats: list[CustomerId],
        *,
        now: float,
        room: int | None = None,
        language: str = "fr",
    ) -> NewsJob:
        """Store a new broadcast with its recipients, in order; it is unfinished until `finish`."""
        job = NewsJob(brand, secrets.token_hex(6), venue, text, len(chats), room, None, language)
        record: dict[FieldT, EncodableT] = {
            "venue": venue, "text": text, "total": len(chats), "language": language, "created_at": repr(now),
            "cursor": 0, "room": "" if room is None else room, "report_message": "",
        }  # fmt: skip
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.news_job(brand, job.id), mapping=record)
            for start in range(0, len(chats), _CHUNK):
                pipe.rpush(keys.news_job_to(brand, job.id), *(str(c) for c in chats[start : start + _CHUNK]))
            await pipe.execute()
        await self.redis.sadd(keys.NEWS_JOBS, job.member)  # another slot on a cluster: after the job exists
        return job

    async def reported_in(self, job: NewsJob, message_id: int) -> NewsJob:
        """Record the room message that shows the job's progress."""
        await self.redis.hset(keys.news_job(job.brand, job.id), "report_message", message_id)
        return NewsJob(job.brand, job.id, job.venue, job.text, job.total, job.room, message_id, job.language)

    async def unfinished(self) -> list[str]:
        """`B/ID` of every broadcast not finished yet (being sent, or abandoned by a stopped process)."""
        return sorted(redis_text(m) for m in await self.redis.smembers(keys.NEWS_JOBS))

    async def load(self, member: str) -> NewsJob | None:
        """A stored broadcast (`B/ID`); None if it is gone (and then it is no longer listed as unfinished)."""
        brand, _, job_id = member.partition("/")
        stored = await self.redis.hgetall(keys.news_job(brand, job_id))
        found = {redis_text(k): redis_text(v) for k, v in stored.items()}
        if "venue" not in found:
            await self.redis.srem(keys.NEWS_JOBS, member)
            return None
        room, message = found.get("room", ""), found.get("report_message", "")
        return NewsJob(
            brand, job_id, found["venue"], found["text"], int(found["total"]),
            int(room) if room else None, int(message) if message else None, found.get("language", "fr"),
        )  # fmt: skip

    async def take(self, job: NewsJob, owner: str, seconds: float) -> bool:
        """Take the job's lease for `seconds` if nobody holds it."""
        lease = keys.news_job_lease(job.brand, job.id)
        return bool(await self.redis.set(lease, owner, nx=True, px=max(1, int(seconds * 1000))))

    async def renew(self, job: NewsJob, owner: str, seconds: float) -> bool:
        """Extend the lease `owner` holds; False if it expired and someone else (or nobody) holds it."""
        lease = keys.news_job_lease(job.brand, job.id)
        return bool(await self._renew(keys=[lease], args=[owner, max(1, int(seconds * 1000))]))

    async def release(self, job: NewsJob, owner: str) -> None:
        await self._release(keys=[keys.news_job_lease(job.brand, job.id)], args=[owner])

    async def cursor(self, job: NewsJob) -> int:
        """The index of the first recipient never claimed."""
        return int(await self.redis.hget(keys.news_job(job.brand, job.id), "cursor") or 0)

    async def recipients(self, job: NewsJob, start: int) -> list[CustomerId]:
        """A chunk of the recipients from index `start`, in order."""
        found = await self.redis.lrange(keys.news_job_to(job.brand, job.id), start, start + _CHUNK - 1)
        return [CustomerId.from_key(redis_text(member)) for member in found]

    async def claim(self, job: NewsJob, customer: CustomerId, index: int) -> Fate | None:
        """Claim a recipient before sending to them; their fate instead if they were claimed already."""
        fate = await self._claim(
            keys=[keys.news_job_fates(job.brand, job.id), keys.news_job(job.brand, job.id)], args=[str(customer), index]
        )
        return Fate(redis_text(fate)) if fate else None

    async def settle(self, job: NewsJob, customer: CustomerId, fate: Fate) -> bool:
        """Record what became of a claimed recipient, once; False if they were settled already."""
        job_keys = [keys.news_job_fates(job.brand, job.id), keys.news_job(job.brand, job.id)]
        return bool(await self._settle(keys=job_keys, args=[str(customer), fate.value]))

    async def report(self, job: NewsJob, venue_name: str) -> BroadcastReport:
        """The job's counts as stored."""
        fields = [fate.value for fate in COUNTED] + ["done"]
        values = await self.redis.hmget(keys.news_job(job.brand, job.id), fields)
        counts = {name: int(value or 0) for name, value in zip(fields, values, strict=True)}
        return BroadcastReport(
            job.brand, job.venue, venue_name, job.total, sent=counts["sent"], blocked=counts["blocked"],
            failed=counts["failed"], skipped=counts["skipped"], unsure=counts["unsure"], done=bool(counts["done"]),
        )  # fmt: skip

    async def finish(self, job: NewsJob) -> None:
        """Mark the job done: no longer resumed; its records expire after `KEEP_FINISHED`."""
        job_keys = [keys.news_job(job.brand, job.id), keys.news_job_to(job.brand, job.id)]
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(job_keys[0], "done", 1)
            for key in (*job_keys, keys.news_job_fates(job.brand, job.id)):
                pipe.expire(key, KEEP_FINISHED)
            await pipe.execute()
        await self.redis.srem(keys.NEWS_JOBS, job.member)
