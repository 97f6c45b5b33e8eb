"""Redis storage of brands, venues, conversations and feedback; the feedback stream.

Every method is one Redis round trip unless it says otherwise, so the per-update cost stays visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from bot.errors import InvalidInput, NotFound, problem
from bot.storage import keys
from bot.storage.cluster import is_cluster
from bot.storage.identity import TELEGRAM, CustomerId
from bot.storage.index import (
    RATINGS,
    STATUSES,
    Facet,
    index_command,
    status_facet,
    stored_facets,
    unindex_command,
    words,
)
from bot.storage.lane import Command, RedisLane
from bot.storage.scripts import Lua, execute, queue, run_commands
from bot.storage.venues import (
    Brand,
    Venue,
    check_brand_code,
    check_coordinates,
    check_language,
    check_name,
    new_short_code,
    new_token,
    slugify,
)
from dialogs.types import Conversation, FeedbackRecord, FeedbackStatus, VenueRef

FEEDBACK_FIELDS = (
    "id", "brand", "venue", "venue_name", "language", "rating", "reason", "suggestion",
    "status", "created_at", "updated_at", "flow", "chat_id", "channel", "ticket",
)  # fmt: skip
DEFAULT_DEADLINE_HOURS = 24.0
MAX_DEADLINE_HOURS = 24.0 * 30


# A chat's lock (see `load_chat`) lives this long unless released: a process killed while it holds one
# delays that chat's next update by at most this much.
log = logging.getLogger(__name__)

CHAT_LOCK_MS = 10_000
WRITE_SOON = 0.05  # seconds a deferred write waits for a round trip to go with (`Store.write_soon`)
# How many of a chat's last handled update ids are kept, to recognise an update Telegram delivers again.
HANDLED_KEPT = 8
# Deletes a chat's lock only if it is still the one this process took (not one taken after it expired).
_RELEASE = Lua("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0")


@dataclass(frozen=True, slots=True)
class Outbox:
    """The Bot API calls that answer one update, stored with the state they answer: if the process dies
    before making them, the update's redelivery makes them."""

    update_id: int
    calls: tuple[Any, ...]  # the channel's calls (`bot.seam.outgoing.CustomerChannel.answer`), as JSON

    def to_json(self) -> dict[str, Any]:
        return {"update": self.update_id, "calls": list(self.calls)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Outbox:
        return cls(int(data["update"]), tuple(data["calls"]))


@dataclass(frozen=True, slots=True)
class ChatSnapshot:
    """What one update needs before the engine runs: the conversation, a venue if a token was given, the
    overrides revision (which templates and flow are in force, `bot.editing.in_force`), the last update ids handled in
    the chat and the calls that answered the last one, and whether this process holds the chat's lock
    (when it asked for it)."""

    conversation: Conversation | None
    venue: VenueRef | None
    revision: int = 0
    handled: tuple[int, ...] = ()
    outbox: Outbox | None = None
    locked: bool = True


class Store:
    """parole's data in Redis (`decode_responses=True` client).

    With a `lane` (`bot.storage.lane`, the bot process gives one), the hot path's two round trips an update
    (`load_chat`, `save_turn`) go through it instead of a redis-py pipeline; the commands are the same.
    """

    def __init__(self, redis: Redis, *, lane: RedisLane | None = None) -> None:
        self.redis = redis
        self.lane = lane
        self._soon: list[Command] = []  # writes that go with the next round trip (`write_soon`)
        self._soon_timer: asyncio.TimerHandle | None = None
        self._soon_tasks: set[asyncio.Task[None]] = set()

    def write_soon(self, command: Command) -> None:
        """Send `command` with the process's next round trip, or alone within `WRITE_SOON` seconds: for a
        record that may be lost in a crash (it then costs a repeated answer, never a lost one) and should not
        cost a round trip of its own on the hot path."""
        self._soon.append(command)
        if self._soon_timer is None:
            self._soon_timer = asyncio.get_running_loop().call_later(WRITE_SOON, self._flush_soon)

    def _flush_soon(self) -> None:
        self._soon_timer = None
        if self._soon:
            task = asyncio.ensure_future(self._round_trip([]))
            self._soon_tasks.add(task)  # type: ignore[arg-type]
            task.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Future[Any]) -> None:
        self._soon_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("deferred Redis writes lost: %s", task.exception())

    async def flush_soon(self) -> None:
        """Send the deferred writes now (a process stopping)."""
        if self._soon_timer is not None:
            self._soon_timer.cancel()
            self._soon_timer = None
        if self._soon:
            await self._round_trip([])
        for task in list(self._soon_tasks):  # a flush under way: waited for, so no connection outlives the store
            with contextlib.suppress(Exception):
                await task

    async def round_trip(self, commands: Sequence[Command]) -> list[Any]:
        """Run the commands in one round trip, on the hot path's lane when there is one."""
        return await self._round_trip(list(commands))

    async def _round_trip(self, commands: list[Command]) -> list[Any]:
        """Run the commands in one round trip (the lane's, else a plain redis-py pipeline), after the deferred
        writes (`write_soon`) if any."""
        if self._soon:
            deferred, self._soon = self._soon, []
            return (await self._send([*deferred, *commands]))[len(deferred) :]
        return await self._send(commands)

    async def _send(self, commands: list[Command]) -> list[Any]:
        return await run_commands(self.redis, self.lane, commands)

    # --- brands and venues (administration: a few round trips are fine) -------------------------

    async def add_brand(self, code: str, name: str) -> Brand:
        check_brand_code(code)
        brand = Brand(code=code, name=check_name(name, "brand"), created_at=time.time())
        created = await self.redis.hsetnx(keys.brand(code), "code", code)
        if not created:
            raise InvalidInput(problem("brand_exists", "brand {code!r} already exists", code=code))
        await self.redis.hset(keys.brand(code), mapping={"name": brand.name, "created_at": brand.created_at})
        await self.redis.sadd(keys.BRANDS, code)
        return brand

    async def get_brand(self, code: str) -> Brand:
        data = _strings(await self.redis.hgetall(keys.brand(code)))
        if not data:
            raise NotFound("brand", code)
        archived = float(data["archived_at"]) if data.get("archived_at") else None
        return Brand(code=data["code"], name=data["name"], created_at=float(data["created_at"]), archived_at=archived)

    async def set_deadline(self, code: str, hours: float) -> float:
        """Set the hours the brand gives itself to answer a feedback first (reminder, then escalation)."""
        await self.get_brand(code)
        if not 0 < hours <= MAX_DEADLINE_HOURS:
            raise InvalidInput(
                problem(
                    "deadline_range",
                    "the deadline must be more than 0 and at most {most} hours",
                    most=round(MAX_DEADLINE_HOURS),
                )
            )
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
        language: str = "fr",
        force: bool = False,
    ) -> Venue:
        """Create a venue; a name the brand already has is refused unless `force` (a second venue, say a
        second counter under the same sign)."""
        brand = await self.get_brand(brand_code)
        name = check_name(name, "venue")
        city = check_name(city, "city") if city is not None else None
        lat, lon = check_coordinates(lat, lon)
        check_language(language)
        if not force:
            await self._check_new_name(brand.code, name)
        base = slugify(f"{name}-{city}" if city and slugify(city) not in slugify(name) else name)
        for attempt in range(1000):
            code = base if attempt == 0 else f"{base}-{attempt + 1}"
            if await self.redis.hsetnx(keys.venue(brand.code, code), "code", code):
                break
        else:
            raise InvalidInput(problem("venue_name_full", "too many venues named {name!r}", name=name))
        token = new_token()
        while not await self.redis.set(keys.token(token), "", nx=True):
            token = new_token()
        short = new_short_code()
        while not await self.redis.set(keys.short_code(short), "", nx=True):
            short = new_short_code()
        venue = Venue(
            brand=brand.code, code=code, name=name, token=token, short_code=short,
            created_at=time.time(), city=city, lat=lat, lon=lon, language=language,
        )  # fmt: skip
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(keys.venues(brand.code), {code: venue.created_at})
            _write_venue(pipe, venue, brand)
            await pipe.execute()
        return venue

    async def edit_venue(
        self,
        brand_code: str,
        code: str,
        *,
        name: str | None = None,
        city: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
        forget_location: bool = False,
        language: str | None = None,
        force: bool = False,
    ) -> Venue:
        """Change a venue's name, city, coordinates (or forget them) or language; its code, token and short
        code stay, so printed posters keep working. A name another venue of the brand has is refused unless
        `force`, as in `add_venue`."""
        venue = await self.get_venue(brand_code, code)
        brand = await self.get_brand(brand_code)
        name = check_name(name, "venue") if name is not None else None
        lat, lon = check_coordinates(lat, lon)
        if forget_location and lat is not None:
            raise InvalidInput(problem("location_or_none", "give --lat/--lon or --no-location, not both"))
        if name is not None and not force:
            await self._check_new_name(brand.code, name, but=venue.code)
        changed = replace(
            venue,
            name=name if name is not None else venue.name,
            city=check_name(city, "city") if city is not None else venue.city,
            lat=None if forget_location else lat if lat is not None else venue.lat,
            lon=None if forget_location else lon if lon is not None else venue.lon,
            language=check_language(language) if language is not None else venue.language,
        )
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hdel(keys.venue(brand_code, code), "lat", "lon")
            _write_venue(pipe, changed, brand)
            await pipe.execute()
        return changed

    async def _check_new_name(self, brand_code: str, name: str, *, but: str | None = None) -> None:
        """Refuse a venue name the brand already has (letter case and spaces aside)."""
        for venue in await self.list_venues(brand_code):
            if venue.code != but and venue.name.casefold() == name.casefold():
                text = (
                    "the brand {brand!r} already has a venue named {name!r} ({code}): choose another name, or --force"
                )
                raise InvalidInput(
                    problem("venue_name_taken", text, brand=brand_code, name=venue.name, code=venue.code)
                )

    async def archive_venue(self, brand_code: str, code: str, *, archived: bool = True) -> Venue:
        """Archive a venue (out of the location search, no new feedback on any channel; its data and its
        links stay) or bring it back."""
        venue = await self.get_venue(brand_code, code)
        brand = await self.get_brand(brand_code)
        changed = replace(venue, archived_at=time.time() if archived else None)
        if (venue.archived_at is None) == (changed.archived_at is None):
            return venue  # already so
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hdel(keys.venue(brand_code, code), "archived_at")
            _write_venue(pipe, changed, brand)
            await pipe.execute()
        return changed

    async def archive_brand(self, code: str, *, archived: bool = True) -> Brand:
        """Archive a brand (none of its venues takes new feedback; its data stays) or bring it back; each
        venue archived on its own stays so."""
        brand = await self.get_brand(code)
        changed = replace(brand, archived_at=time.time() if archived else None)
        venues = await self.list_venues(code)
        async with self.redis.pipeline(transaction=False) as pipe:
            if archived:
                pipe.hset(keys.brand(code), "archived_at", changed.archived_at or 0.0)
            else:
                pipe.hdel(keys.brand(code), "archived_at")
            for venue in venues:
                _write_venue(pipe, venue, changed)
            await pipe.execute()
        return changed

    async def nearby_venues(
        self, lat: float, lon: float, *, radius_m: float, count: int
    ) -> list[tuple[VenueRef, str, float]]:
        """The venues within `radius_m` metres of a point, nearest first: each (venue, short code, metres)."""
        check_coordinates(lat, lon)
        found: list[tuple[Any, float]] = await self.redis.geosearch(
            keys.GEO_VENUES, longitude=lon, latitude=lat, radius=radius_m, unit="m", sort="ASC", count=count,
            withdist=True,
        )  # type: ignore[assignment]  # fmt: skip  # with withdist: (member, metres) pairs
        async with self.redis.pipeline(transaction=False) as pipe:
            for member, _ in found:
                brand_code, _, venue_code = _text(member).partition("/")
                pipe.hmget(keys.venue(brand_code, venue_code), ["name", "short_code"])
                pipe.hget(keys.brand(brand_code), "name")
            rows = await pipe.execute()
        nearby: list[tuple[VenueRef, str, float]] = []
        for (member, distance), (name, short), brand_name in zip(found, rows[::2], rows[1::2], strict=True):
            brand_code, _, venue_code = _text(member).partition("/")
            if name and short:  # a venue removed since: skipped
                ref = VenueRef(brand_code, venue_code, _text(name), _text(brand_name or ""))
                nearby.append((ref, _text(short), float(distance)))
        return nearby

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

    async def venue_by_token(self, token: str) -> VenueRef | None:
        raw = await self.redis.get(keys.token(token))
        return VenueRef.from_json(json.loads(raw)) if raw else None

    async def venue_by_short_code(self, code: str) -> VenueRef | None:
        raw = await self.redis.get(keys.short_code(code))
        return VenueRef.from_json(json.loads(raw)) if raw else None

    # --- the hot path: one read and one write per update -----------------------------------------

    async def load_chat(
        self, customer: CustomerId, token: str | None = None, *, lock: str | None = None
    ) -> ChatSnapshot:
        """Read the chat, the overrides revision, and the venue of a deep-link token if one is given (one
        round trip).

        With `lock` (a random value), also try to take the chat's lock in the same round trip, so that
        two updates of one chat are never handled at once, whichever process gets them: `locked` tells
        whether it was taken; `save_turn` or `release` gives it back.
        """
        commands: list[Command] = [("GET", keys.chat(customer)), ("GET", keys.OVERRIDES_REVISION)]
        if token is not None:
            commands.append(("GET", keys.token(token)))
        if lock is not None:
            commands.append(("SET", keys.chat_lock(customer), lock, "NX", "PX", CHAT_LOCK_MS))
        results = await self._round_trip(commands)
        data = json.loads(results[0]) if results[0] else None
        revision = int(results[1] or 0)
        venue = VenueRef.from_json(json.loads(results[2])) if token is not None and results[2] else None
        locked = bool(results[-1]) if lock is not None else True
        if data is None:
            return ChatSnapshot(None, venue, revision, locked=locked)
        if "conversation" not in data:  # written before the chat kept its handled updates
            return ChatSnapshot(Conversation.from_json(data), venue, revision, locked=locked)
        outbox = data.get("outbox")
        return ChatSnapshot(
            Conversation.from_json(data["conversation"]),
            venue,
            revision,
            handled=tuple(int(u) for u in data.get("handled", ())),
            outbox=Outbox.from_json(outbox) if outbox else None,
            locked=locked,
        )

    async def release(self, customer: CustomerId, lock: str) -> None:
        """Give back the chat's lock taken by `load_chat` without saving a turn."""
        await self._round_trip([_RELEASE.call([keys.chat_lock(customer)], [lock])])

    async def recently_rated(self, venue: VenueRef, customer: CustomerId) -> bool:
        return bool(await self.redis.exists(keys.rated(venue.brand, venue.code, customer)))

    async def save_turn(
        self,
        customer: CustomerId,
        conversation: Conversation,
        feedback: Iterable[FeedbackRecord],
        *,
        duplicate_window: float,
        conversation_timeout: float,
        handled: Iterable[int] = (),
        outbox: Outbox | None = None,
        lock: str | None = None,
        discarded: Iterable[FeedbackRecord] = (),
    ) -> None:
        """Store the new conversation state and the feedback snapshots of one update (one round trip).

        The state is kept with the ids of the last updates handled (`handled`, the newest last) and the
        calls that answer the newest (`outbox`); the chat's `lock` is given back in the same round trip.

        A new feedback is indexed (for the brand, and for the customer's `/mydata` and `/forget`) and
        marks the customer as having rated the venue; one in progress is scheduled to count as abandoned
        after the timeout; a complete or abandoned one goes to the analysis stream. A `discarded` one (the
        customer took it back after /cancel, before it was complete or abandoned) is deleted with its indexes
        and its "already rated" mark: no ticket, no analysis, no wait before a new one.
        """
        chat: dict[str, Any] = {"conversation": conversation.to_json(), "handled": list(handled)[-HANDLED_KEPT:]}
        if outbox is not None:
            chat["outbox"] = outbox.to_json()
        commands: list[Command] = [("SET", keys.chat(customer), json.dumps(chat, ensure_ascii=False))]
        for record in feedback:
            key = keys.feedback(record.venue.brand, record.id)
            commands.append(("HSET", key, *_flat(_feedback_hash(record, customer))))
            member = keys.pending_member(record.venue.brand, record.id)
            # The indexes are written with the first snapshot (and again with the last, cheaply
            # idempotent), not with every answer in between: fewer commands on the hot path.
            if record.created_at == record.updated_at or record.status is not FeedbackStatus.IN_PROGRESS:
                rated = keys.rated(record.venue.brand, record.venue.code, customer)
                commands += [
                    ("SADD", keys.customer_feedbacks(customer), member),
                    ("SET", keys.customer_salt(customer), secrets.token_hex(8), "NX"),
                    ("ZADD", keys.feedbacks(record.venue.brand), "NX", record.created_at, record.id),
                    ("SET", rated, record.id, "EX", max(1, int(duplicate_window))),
                    _index_snapshot(record, customer),
                ]
            if record.status is FeedbackStatus.IN_PROGRESS:
                commands.append(("ZADD", keys.PENDING, record.updated_at + conversation_timeout, member))
            else:
                stream = ("brand", record.venue.brand, "feedback", record.id, "status", record.status.value)
                commands += [("ZREM", keys.PENDING, member), ("XADD", keys.FEEDBACK_STREAM, "*", *stream)]
        for record in discarded:
            commands += _discard_commands(record, customer)
        if lock is not None:
            commands.append(_RELEASE.call([keys.chat_lock(customer)], [lock]))
        if not is_cluster(self.redis):
            # All or nothing: a write cut short (a connection lost mid-batch, a process killed) must not store
            # the state without the stream entry that feeds the analysis. (A Redis Cluster spreads these keys
            # over slots, where MULTI cannot go: there the turn's write is a plain batch.)
            commands = [("MULTI",), *commands, ("EXEC",)]
        await self._round_trip(commands)

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
            status, reason, suggestion, created_at = await self.redis.hmget(
                key, ["status", "reason", "suggestion", "created_at"]
            )
            if status != FeedbackStatus.IN_PROGRESS.value:
                continue
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hset(key, mapping={"status": FeedbackStatus.ABANDONED.value, "updated_at": now})
                if reason or suggestion:  # what the customer wrote before leaving, for the inbox's search
                    text = f"{_text(reason or '')} {_text(suggestion or '')}"
                    queue(pipe, index_command(brand_code, feedback_id, float(created_at or now), (), words(text)))
                pipe.xadd(
                    keys.FEEDBACK_STREAM,
                    {"brand": brand_code, "feedback": feedback_id, "status": FeedbackStatus.ABANDONED.value},
                )
                await execute(pipe)
            handled.append(feedback_id)
        return handled

    # --- reading feedback back ------------------------------------------------------------------

    async def get_feedback(self, brand_code: str, feedback_id: str) -> dict[str, Any]:
        data = _strings(await self.redis.hgetall(keys.feedback(brand_code, feedback_id)))
        if not data:
            raise NotFound("feedback", f"{brand_code}/{feedback_id}")
        return _feedback_from_hash(data)

    async def count_feedback(
        self, brand_codes: Iterable[str], *, since: float | None = None, until: float | None = None
    ) -> int:
        """How many feedbacks the brands hold, created in [since, until) (for progress bars)."""
        low, high = _score_range(since, until)
        return sum([await self.redis.zcount(keys.feedbacks(code), low, high) for code in brand_codes])

    async def iter_feedback(
        self,
        brand_code: str | None = None,
        venue_code: str | None = None,
        *,
        since: float | None = None,
        until: float | None = None,
        with_tickets: bool = False,
        batch: int = 500,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every feedback created in [since, until) with its ticket's thread (`replies`), oldest first,
        read in batches (memory stays bounded whatever the number of feedbacks).

        `with_tickets` adds `ticket_hash`, the raw hash of the feedback's ticket ({} without one): one more
        round trip a batch.
        """
        if brand_code is not None:
            await self.get_brand(brand_code)
            brands = [brand_code]
        else:
            brands = [b.code for b in await self.list_brands()]
        for code in brands:
            # Paged by rank, not by score: ties of creation time never skip or repeat a feedback.
            start = await self.redis.zcount(keys.feedbacks(code), "-inf", f"({since!r}") if since is not None else 0
            while True:
                page: list[tuple[Any, float]] = await self.redis.zrange(
                    keys.feedbacks(code), start, start + batch - 1, withscores=True
                )  # type: ignore[assignment]  # with scores: (member, score) pairs
                ids = [_text(member) for member, score in page if until is None or score < until]
                if not ids:
                    break
                start += len(ids)
                async with self.redis.pipeline(transaction=False) as pipe:
                    for feedback_id in ids:
                        pipe.hgetall(keys.feedback(code, feedback_id))
                        pipe.lrange(keys.replies(code, feedback_id), 0, -1)
                    results = await pipe.execute()
                rows: list[dict[str, Any]] = []
                for row, thread in zip(results[::2], results[1::2], strict=True):
                    data = _strings(row)
                    if data and (venue_code is None or data.get("venue") == venue_code):
                        rows.append({**_feedback_from_hash(data), "replies": [json.loads(_text(m)) for m in thread]})
                if with_tickets:
                    async with self.redis.pipeline(transaction=False) as pipe:
                        for feedback in rows:
                            pipe.hgetall(keys.ticket(code, feedback["ticket"] or 0))
                        for feedback, ticket in zip(rows, await pipe.execute(), strict=True):
                            feedback["ticket_hash"] = _strings(ticket) if feedback["ticket"] else {}
                for feedback in rows:
                    yield feedback


def redis_text(value: object) -> str:
    """A Redis reply as text (the client decodes responses; this satisfies the typing and old data)."""
    return value.decode() if isinstance(value, bytes) else str(value)


async def feedback_brand(redis: Redis, customer: CustomerId, feedback_id: str) -> str | None:
    """The brand of one of the customer's feedbacks (a button's data names it by id); None if it is not theirs."""
    for member in map(redis_text, await redis.smembers(keys.customer_feedbacks(customer))):
        brand, _, mine = member.partition("/")
        if mine == feedback_id:
            return brand
    return None


def redis_strings(data: Mapping[Any, Any]) -> dict[str, str]:
    """A Redis hash reply as a dict of text."""
    return {redis_text(k): redis_text(v) for k, v in data.items()}


_text = redis_text
_strings = redis_strings


def _write_venue(pipe: Any, venue: Venue, brand: Brand) -> None:
    """Queue the writes of a venue: its hash, what its token and short code open, its place on the map (an
    archived venue, or one of an archived brand, has none: the location search leaves it out)."""
    archived = venue.archived_at is not None or brand.archived_at is not None
    ref = json.dumps(VenueRef(venue.brand, venue.code, venue.name, brand.name, archived=archived).to_json())
    fields: dict[FieldT, EncodableT] = {k: v for k, v in venue.to_json().items() if v is not None}
    pipe.hset(keys.venue(venue.brand, venue.code), mapping=fields)
    pipe.set(keys.token(venue.token), ref)
    pipe.set(keys.short_code(venue.short_code), ref)
    member = keys.venue_member(venue.brand, venue.code)
    if venue.lat is not None and venue.lon is not None and not archived:
        pipe.geoadd(keys.GEO_VENUES, (venue.lon, venue.lat, member))
    else:
        pipe.zrem(keys.GEO_VENUES, member)


def consumer_name() -> str:
    """This process's name in a stream's consumer group: its host and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


def _score_range(since: float | None, until: float | None) -> tuple[str, str]:
    """ZCOUNT bounds of [since, until)."""
    return ("-inf" if since is None else repr(since), "+inf" if until is None else f"({until!r}")


def _flat(mapping: Mapping[str, str | int | float]) -> list[str | int | float]:
    """A hash's fields and values as HSET's arguments."""
    return [item for pair in mapping.items() for item in pair]


def _index_snapshot(record: FeedbackRecord, customer: CustomerId) -> Command:
    """The inbox index's EVAL for a feedback's first snapshot (stored: no ticket yet) or its last (the texts)."""
    venue = record.venue
    facets = stored_facets(venue.code, customer.channel, record.rating, record.suggestion)
    if record.status is FeedbackStatus.IN_PROGRESS or record.created_at == record.updated_at:
        facets.append(status_facet("none"))
    text = (
        words(f"{record.reason or ''} {record.suggestion or ''}")
        if record.status is not FeedbackStatus.IN_PROGRESS
        else []
    )
    return index_command(venue.brand, record.id, record.created_at, facets, text)


def _discard_commands(record: FeedbackRecord, customer: CustomerId) -> list[Command]:
    """Delete a feedback still in progress and every trace of it (it never reached the stream: no ticket, no
    analysis)."""
    brand, venue = record.venue.brand, record.venue.code
    member = keys.pending_member(brand, record.id)
    facets = [
        Facet("venue", (venue,)), Facet("channel", (customer.channel,)), Facet("rating", (), RATINGS),
        Facet("suggestion", ("1",)), Facet("status", (), STATUSES),
    ]  # fmt: skip
    return [
        unindex_command(brand, record.id, facets),
        ("DEL", keys.feedback(brand, record.id)),
        ("ZREM", keys.feedbacks(brand), record.id),
        ("ZREM", keys.PENDING, member),
        ("SREM", keys.customer_feedbacks(customer), member),
        ("DEL", keys.rated(brand, venue, customer)),
    ]


def _feedback_hash(record: FeedbackRecord, customer: CustomerId) -> dict[str, str | int | float]:
    nps: dict[str, str | int | float] = {"nps": record.nps} if record.nps is not None else {}
    return {
        **nps,
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
        "chat_id": customer.key,  # the customer (the field's name is from when it was a Telegram chat id)
        "channel": customer.channel,  # kept after /forget, for the export
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
        "customer": CustomerId.from_key(data["chat_id"]) if data.get("chat_id") else None,
        "channel": data.get("channel") or TELEGRAM,
        "kind": data.get("kind") or None,
        "aspects": json.loads(data.get("aspects") or "[]"),
        "entities": json.loads(data.get("entities") or "[]"),
        "analysed_at": float(data["analysed_at"]) if data.get("analysed_at") else None,
        "ticket": int(data["ticket"]) if data.get("ticket") else None,
        "nps": int(data["nps"]) if data.get("nps") else None,  # the optional 0-10 question of a flow
        "contact": data.get("contact") == "1",  # the customer asked to be contacted (`bot.customers.contact`)
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
        language=data.get("language") or "fr",
        archived_at=float(data["archived_at"]) if data.get("archived_at") else None,
    )
