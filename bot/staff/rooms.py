"""Staff rooms: the Telegram groups linked to a brand (or to one of its venues) with a one-time code.

A brand has at most one room per scope: one brand room (cards of venues without their own room) and one
room per venue. Linking another group for a scope moves the scope there. A group belongs to one brand.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from bot.errors import InvalidInput, NotFound, ParoleError, problem
from bot.storage import keys
from bot.storage.cluster import multi_slot_writes
from bot.storage.store import redis_strings, redis_text
from dialogs.answers import SHORT_CODE_ALPHABET

INVITE_LENGTH = 12  # 31^12 ≈ 8e17 codes: unguessable within the hours a code lives
DEFAULT_INVITE_HOURS = 24.0
MAX_INVITE_HOURS = 24.0 * 7


class LinkProblem(StrEnum):
    """Why `/link` changed nothing."""

    BAD_CODE = "bad_code"  # malformed, unknown, expired or already used: the same answer for all
    OTHER_BRAND = "other_brand"  # the group is already the staff room of another brand
    GONE = "gone"  # the brand or venue of the code was deleted meanwhile


class LinkRefused(ParoleError):
    """`/link` was refused; nothing changed."""

    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(f"link refused: {problem.value}")
        self.problem = problem


@dataclass(frozen=True, slots=True)
class StaffRoom:
    """A Telegram group linked to a brand; `venue` is None for the brand room (every venue without a room)."""

    chat_id: int
    brand: str
    venue: str | None
    language: str
    title: str
    linked_at: float

    def covers(self, venue_code: str) -> bool:
        """Tell whether this room may see and act on the tickets of a venue."""
        return self.venue is None or self.venue == venue_code

    def to_json(self) -> dict[str, Any]:
        return {
            "chat_id": self.chat_id,
            "brand": self.brand,
            "venue": self.venue,
            "language": self.language,
            "title": self.title,
            "linked_at": self.linked_at,
        }


@dataclass(frozen=True, slots=True)
class Invite:
    """A one-time code that links a group to a brand or a venue, until `expires_at`."""

    code: str
    brand: str
    venue: str | None
    expires_at: float

    @property
    def command(self) -> str:
        return f"/link {self.code}"


@dataclass(frozen=True, slots=True)
class Linked:
    """What `/link` did: the new room, and the group that held its scope before (it is unlinked)."""

    room: StaffRoom
    replaced: int | None


def format_invite(raw: str) -> str:
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def normalise_invite(text: str) -> str | None:
    """The invite code in canonical form (upper case, dashes every 4), or None when it cannot be one."""
    raw = "".join(ch for ch in text.upper() if ch not in " -")
    if len(raw) != INVITE_LENGTH or any(ch not in SHORT_CODE_ALPHABET for ch in raw):
        return None
    return format_invite(raw)


def _room_from_hash(chat_id: int, data: Mapping[str, str]) -> StaffRoom:
    return StaffRoom(
        chat_id=chat_id,
        brand=data["brand"],
        venue=data.get("venue") or None,
        language=data.get("language") or "fr",
        title=data.get("title", ""),
        linked_at=float(data.get("linked_at") or 0),
    )


class RoomStore:
    """Invites and staff rooms in Redis."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def invite(
        self, brand: str, venue: str | None = None, *, hours: float = DEFAULT_INVITE_HOURS, now: float | None = None
    ) -> Invite:
        """A new one-time code for the brand's room (or the venue's), valid `hours`."""
        if not 0 < hours <= MAX_INVITE_HOURS:
            raise InvalidInput(
                problem("invite_hours", "--hours must be more than 0 and at most {most}", most=round(MAX_INVITE_HOURS))
            )
        if not await self.redis.exists(keys.brand(brand)):
            raise NotFound("brand", brand)
        if venue is not None and not await self.redis.exists(keys.venue(brand, venue)):
            raise NotFound("venue", f"{brand}/{venue}")
        now = time.time() if now is None else now
        payload = json.dumps({"brand": brand, "venue": venue or ""})
        while True:
            code = format_invite("".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(INVITE_LENGTH)))
            if await self.redis.set(keys.invite(code), payload, nx=True, px=int(hours * 3_600_000)):
                return Invite(code, brand, venue, now + hours * 3600)

    async def get(self, chat_id: int) -> StaffRoom | None:
        data = redis_strings(await self.redis.hgetall(keys.room(chat_id)))
        return _room_from_hash(chat_id, data) if data else None

    async def link(self, text: str, *, chat_id: int, title: str, language: str, user_id: int, now: float) -> Linked:
        """Make the group a staff room with the code in `text`; the code is used up.

        Raises:
            LinkRefused: the code is bad (malformed, unknown, expired, used), or the group belongs to
                another brand, or the code's brand or venue no longer exists. Nothing changed then.
        """
        code = normalise_invite(text)
        if code is None:
            raise LinkRefused(LinkProblem.BAD_CODE)
        current = await self.get(chat_id)
        raw = await self.redis.get(keys.invite(code))
        if raw is None:
            raise LinkRefused(LinkProblem.BAD_CODE)
        target = json.loads(redis_text(raw))
        brand, venue = str(target["brand"]), str(target["venue"])
        if current is not None and current.brand != brand:
            raise LinkRefused(LinkProblem.OTHER_BRAND)  # the code is kept: it may be used elsewhere
        if not await self.redis.getdel(keys.invite(code)):
            raise LinkRefused(LinkProblem.BAD_CODE)  # used by someone else a moment ago
        if not await self.redis.exists(keys.brand(brand)) or (
            venue and not await self.redis.exists(keys.venue(brand, venue))
        ):
            raise LinkRefused(LinkProblem.GONE)
        replaced: int | None = None
        for other, scope in redis_strings(await self.redis.hgetall(keys.rooms(brand))).items():
            if scope == venue and int(other) != chat_id:
                replaced = int(other)
        async with multi_slot_writes(self.redis) as pipe:
            if replaced is not None:
                pipe.delete(keys.room(replaced))
                pipe.hdel(keys.rooms(brand), str(replaced))
            pipe.delete(keys.room(chat_id))
            pipe.hset(
                keys.room(chat_id),
                mapping={
                    "brand": brand, "venue": venue, "language": language, "title": title,
                    "linked_at": now, "linked_by": user_id,
                },
            )  # fmt: skip
            pipe.hset(keys.rooms(brand), str(chat_id), venue)
            await pipe.execute()
        room = StaffRoom(chat_id, brand, venue or None, language, title, now)
        return Linked(room, replaced)

    async def unlink(self, room: StaffRoom) -> None:
        async with multi_slot_writes(self.redis) as pipe:
            pipe.delete(keys.room(room.chat_id))
            pipe.hdel(keys.rooms(room.brand), str(room.chat_id))
            await pipe.execute()

    async def for_venue(self, brand: str, venue: str) -> StaffRoom | None:
        """The room where a venue's cards go: the venue's own, else the brand room, else None."""
        scopes = redis_strings(await self.redis.hgetall(keys.rooms(brand)))
        chosen = next((int(c) for c, scope in scopes.items() if scope == venue), None)
        if chosen is None:
            chosen = next((int(c) for c, scope in scopes.items() if scope == ""), None)
        return await self.get(chosen) if chosen is not None else None

    async def has_rooms(self, brand: str) -> bool:
        return bool(await self.redis.hlen(keys.rooms(brand)))

    async def list(self, brand: str | None = None) -> list[StaffRoom]:
        brands = [brand] if brand else sorted(redis_text(b) for b in await self.redis.smembers(keys.BRANDS))
        found: list[StaffRoom] = []
        for code in brands:
            for chat in sorted(redis_strings(await self.redis.hgetall(keys.rooms(code)))):
                room = await self.get(int(chat))
                if room is not None:
                    found.append(room)
        return found
