"""Redis storage of brands, venues, conversations and feedback; the feedback stream.

Every method is one Redis round trip unless it says otherwise, so the per-update cost stays visible.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from bot import keys
from bot.errors import InvalidInput, NotFound
from bot.venues import (
    Brand,
    Venue,
    check_brand_code,
    check_coordinates,
    check_name,
    new_short_code,
    new_token,
    slugify,
)
from dialogs.types import Conversation, FeedbackRecord, FeedbackStatus, VenueRef

FEEDBACK_FIELDS = (
    "id", "brand", "venue", "venue_name", "language", "rating", "reason", "suggestion",
    "status", "created_at", "updated_at", "flow", "chat_id", "ticket",
)  # fmt: skip
DEFAULT_DEADLINE_HOURS = 24.0
MAX_DEADLINE_HOURS = 24.0 * 30


@dataclass(frozen=True, slots=True)
class ChatSnapshot:
    """What one update needs before the engine runs: the conversation, a venue if a token was given, and the
    overrides revision (which templates and flow are in force, `bot.live`)."""

    conversation: Conversation | None
    venue: VenueRef | None
    revision: int = 0


class Store:
    """parole's data in Redis (`decode_responses=True` client)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    # --- brands and venues (administration: a few round trips are fine) -------------------------

    async def add_brand(self, code: str, name: str) -> Brand:
        check_brand_code(code)
        brand = Brand(code=code, name=check_name(name, "brand"), created_at=time.time())
        created = await self.redis.hsetnx(keys.brand(code), "code", code)
        if not created:
            raise InvalidInput(f"brand {code!r} already exists")
        await self.redis.hset(keys.brand(code), mapping={"name": brand.name, "created_at": brand.created_at})
        await self.redis.sadd(keys.BRANDS, code)
        return brand

    async def get_brand(self, code: str) -> Brand:
        data = _strings(await self.redis.hgetall(keys.brand(code)))
        if not data:
            raise NotFound("brand", code)
        return Brand(code=data["code"], name=data["name"], created_at=float(data["created_at"]))

    async def set_deadline(self, code: str, hours: float) -> float:
        """Set the hours the brand gives itself to answer a feedback first (reminder, then escalation)."""
        await self.get_brand(code)
        if not 0 < hours <= MAX_DEADLINE_HOURS:
            raise InvalidInput(f"the deadline must be more than 0 and at most {MAX_DEADLINE_HOURS:.0f} hours")
        await self.redis.hset(keys.brand(code), "deadline_hours", hours)
        return hours

    async def deadline_hours(self, code: str) -> float:
        raw = await self.redis.hget(keys.brand(code), "deadline_hours")
        return float(raw) if raw else DEFAULT_DEADLINE_HOURS

    async def list_brands(self) -> list[Brand]:
        codes = sorted(_text(c) for c in await self.redis.smembers(keys.BRANDS))
        return [await self.get_brand(code) for code in codes]

    async def add_venue(
        self,
        brand_code: str,
        name: str,
        *,
        city: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
    ) -> Venue:
        brand = await self.get_brand(brand_code)
        name = check_name(name, "venue")
        city = check_name(city, "city") if city is not None else None
        lat, lon = check_coordinates(lat, lon)
        base = slugify(f"{name}-{city}" if city and slugify(city) not in slugify(name) else name)
        for attempt in range(1000):
            code = base if attempt == 0 else f"{base}-{attempt + 1}"
            if await self.redis.hsetnx(keys.venue(brand.code, code), "code", code):
                break
        else:
            raise InvalidInput(f"too many venues named {name!r}")
        token = new_token()
        while not await self.redis.set(keys.token(token), "", nx=True):
            token = new_token()
        short = new_short_code()
        while not await self.redis.set(keys.short_code(short), "", nx=True):
            short = new_short_code()
        venue = Venue(
            brand=brand.code, code=code, name=name, token=token, short_code=short,
            created_at=time.time(), city=city, lat=lat, lon=lon,
        )  # fmt: skip
        ref = json.dumps(VenueRef(brand.code, code, name, brand.name).to_json())
        fields: dict[FieldT, EncodableT] = {k: v for k, v in venue.to_json().items() if v is not None}
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(keys.venue(brand.code, code), mapping=fields)
            pipe.zadd(keys.venues(brand.code), {code: venue.created_at})
            pipe.set(keys.token(token), ref)
            pipe.set(keys.short_code(short), ref)
            await pipe.execute()
        return venue

    async def get_venue(self, brand_code: str, code: str) -> Venue:
        data = _strings(await self.redis.hgetall(keys.venue(brand_code, code)))
        if "token" not in data:
            raise NotFound("venue", f"{brand_code}/{code}")
        return _venue_from_hash(data)

    async def list_venues(self, brand_code: str | None = None) -> list[Venue]:
        brands = [brand_code] if brand_code else [b.code for b in await self.list_brands()]
        result: list[Venue] = []
        for code in brands:
            await self.get_brand(code)
            for venue_code in await self.redis.zrange(keys.venues(code), 0, -1):
                result.append(await self.get_venue(code, _text(venue_code)))
        return result

    async def venue_by_short_code(self, code: str) -> VenueRef | None:
        raw = await self.redis.get(keys.short_code(code))
        return VenueRef.from_json(json.loads(raw)) if raw else None

    # --- the hot path: one read and one write per update -----------------------------------------

    async def load_chat(self, chat_id: int, token: str | None = None) -> ChatSnapshot:
        """Read the conversation, the overrides revision, and the venue of a deep-link token if one is given
        (one round trip)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(keys.chat(chat_id))
            pipe.get(keys.OVERRIDES_REVISION)
            if token is not None:
                pipe.get(keys.token(token))
            results = await pipe.execute()
        conversation = Conversation.from_json(json.loads(results[0])) if results[0] else None
        venue = VenueRef.from_json(json.loads(results[2])) if token is not None and results[2] else None
        return ChatSnapshot(conversation, venue, int(results[1] or 0))

    async def recently_rated(self, venue: VenueRef, customer_id: int) -> bool:
        return bool(await self.redis.exists(keys.rated(venue.brand, venue.code, customer_id)))

    async def save_turn(
        self,
        chat_id: int,
        conversation: Conversation,
        feedback: Iterable[FeedbackRecord],
        *,
        duplicate_window: float,
        conversation_timeout: float,
    ) -> None:
        """Store the new conversation state and the feedback snapshots of one update (one round trip).

        A new feedback is indexed (for the brand, and for the customer's `/mydata` and `/forget`) and
        marks the customer as having rated the venue; one in progress is scheduled to count as abandoned
        after the timeout; a complete or abandoned one goes to the analysis stream.
        """
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(keys.chat(chat_id), json.dumps(conversation.to_json(), ensure_ascii=False))
            for record in feedback:
                key = keys.feedback(record.venue.brand, record.id)
                pipe.hset(key, mapping=_feedback_hash(record, chat_id))
                member = keys.pending_member(record.venue.brand, record.id)
                # The indexes are written with the first snapshot (and again with the last, cheaply
                # idempotent), not with every answer in between: fewer commands on the hot path.
                if record.created_at == record.updated_at or record.status is not FeedbackStatus.IN_PROGRESS:
                    pipe.sadd(keys.customer_feedbacks(chat_id), member)
                    pipe.set(keys.customer_salt(chat_id), secrets.token_hex(8), nx=True)
                    pipe.zadd(keys.feedbacks(record.venue.brand), {record.id: record.created_at}, nx=True)
                    rated = keys.rated(record.venue.brand, record.venue.code, chat_id)
                    pipe.set(rated, record.id, ex=max(1, int(duplicate_window)))
                if record.status is FeedbackStatus.IN_PROGRESS:
                    pipe.zadd(keys.PENDING, {member: record.updated_at + conversation_timeout})
                else:
                    pipe.zrem(keys.PENDING, member)
                    pipe.xadd(
                        keys.FEEDBACK_STREAM,
                        {"brand": record.venue.brand, "feedback": record.id, "status": record.status.value},
                    )
            await pipe.execute()

    async def abandon_expired(self, now: float, *, limit: int = 100) -> list[str]:
        """Mark feedback whose conversation timed out as abandoned and stream it; return their ids.

        Safe with several processes: only the one whose ZREM removed the entry handles it.
        """
        members = await self.redis.zrangebyscore(keys.PENDING, "-inf", now, start=0, num=limit)
        handled: list[str] = []
        for member in map(_text, members):
            if not await self.redis.zrem(keys.PENDING, member):
                continue
            brand_code, _, feedback_id = member.partition("/")
            key = keys.feedback(brand_code, feedback_id)
            if await self.redis.hget(key, "status") != FeedbackStatus.IN_PROGRESS.value:
                continue
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hset(key, mapping={"status": FeedbackStatus.ABANDONED.value, "updated_at": now})
                pipe.xadd(
                    keys.FEEDBACK_STREAM,
                    {"brand": brand_code, "feedback": feedback_id, "status": FeedbackStatus.ABANDONED.value},
                )
                await pipe.execute()
            handled.append(feedback_id)
        return handled

    # --- reading feedback back ------------------------------------------------------------------

    async def get_feedback(self, brand_code: str, feedback_id: str) -> dict[str, Any]:
        data = _strings(await self.redis.hgetall(keys.feedback(brand_code, feedback_id)))
        if not data:
            raise NotFound("feedback", f"{brand_code}/{feedback_id}")
        return _feedback_from_hash(data)

    async def iter_feedback(
        self, brand_code: str | None = None, venue_code: str | None = None, *, batch: int = 500
    ) -> AsyncIterator[dict[str, Any]]:
        """Every feedback with its ticket's thread (`replies`), oldest first, read in batches."""
        if brand_code is not None:
            await self.get_brand(brand_code)
            brands = [brand_code]
        else:
            brands = [b.code for b in await self.list_brands()]
        for code in brands:
            start = 0
            while True:
                ids = await self.redis.zrange(keys.feedbacks(code), start, start + batch - 1)
                if not ids:
                    break
                start += len(ids)
                async with self.redis.pipeline(transaction=False) as pipe:
                    for feedback_id in ids:
                        pipe.hgetall(keys.feedback(code, _text(feedback_id)))
                        pipe.lrange(keys.replies(code, _text(feedback_id)), 0, -1)
                    results = await pipe.execute()
                for row, thread in zip(results[::2], results[1::2], strict=True):
                    data = _strings(row)
                    if data and (venue_code is None or data.get("venue") == venue_code):
                        yield {**_feedback_from_hash(data), "replies": [json.loads(_text(m)) for m in thread]}


def redis_text(value: object) -> str:
    """A Redis reply as text (the client decodes responses; this satisfies the typing and old data)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def redis_strings(data: Mapping[Any, Any]) -> dict[str, str]:
    """A Redis hash reply as a dict of text."""
    return {redis_text(k): redis_text(v) for k, v in data.items()}


_text = redis_text
_strings = redis_strings


def _feedback_hash(record: FeedbackRecord, chat_id: int) -> dict[FieldT, EncodableT]:
    return {
        "id": record.id,
        "brand": record.venue.brand,
        "venue": record.venue.code,
        "venue_name": record.venue.name,
        "language": record.language,
        "rating": record.rating,
        "reason": record.reason or "",
        "suggestion": record.suggestion or "",
        "status": record.status.value,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "flow": record.flow,
        "chat_id": chat_id,
    }


def _feedback_from_hash(data: dict[str, str]) -> dict[str, Any]:
    return {
        "id": data["id"],
        "brand": data["brand"],
        "venue": data["venue"],
        "venue_name": data.get("venue_name", ""),
        "language": data.get("language", "fr"),
        "rating": int(data["rating"]),
        "reason": data.get("reason") or None,
        "suggestion": data.get("suggestion") or None,
        "created_at": float(data["created_at"]),
        "updated_at": float(data.get("updated_at", data["created_at"])),
        "status": data["status"],
        "flow": data.get("flow", "default"),
        "chat_id": int(data["chat_id"]) if data.get("chat_id") else None,
        "kind": data.get("kind") or None,
        "aspects": json.loads(data.get("aspects") or "[]"),
        "entities": json.loads(data.get("entities") or "[]"),
        "analysed_at": float(data["analysed_at"]) if data.get("analysed_at") else None,
        "ticket": int(data["ticket"]) if data.get("ticket") else None,
    }


def _venue_from_hash(data: dict[str, str]) -> Venue:
    return Venue(
        brand=data["brand"],
        code=data["code"],
        name=data["name"],
        token=data["token"],
        short_code=data["short_code"],
        created_at=float(data["created_at"]),
        city=data.get("city"),
        lat=float(data["lat"]) if data.get("lat") else None,
        lon=float(data["lon"]) if data.get("lon") else None,
    )
