"""Tickets: one per feedback once it is complete or abandoned, numbered per brand, with the thread of
staff and customer messages, the deadline of the first answer, and the idempotency of the relay.

A ticket is `open` until the staff answer (`answered`), then `closed` (or `spam`); one the brand's policy expects
no answer for is `no_answer` (`bot.staff.policy`) unless the staff answer it. `undeliverable`
marks a customer who blocked the bot. Who the customer is (`CustomerId`) is not copied onto the ticket: it stays on
the feedback only, so `/forget` has one place to erase it from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from bot.storage import keys
from bot.storage.identity import CustomerId
from bot.storage.index import index_command, status_facet, words
from bot.storage.scripts import Lua, execute, queue
from bot.storage.store import redis_strings, redis_text

FIRST_TICKET = 1000  # ticket numbers are 1000 + a per-brand counter: short, and never look like a rating
RELAY_MARK_SECONDS = 7 * 24 * 3600  # how long a relayed message is remembered (duplicate updates come sooner)
CARD_CLAIM_SECONDS = 60.0  # a card being posted by another process for longer than this is posted again
RESOLUTION_SECONDS = 7 * 24 * 3600  # how long a customer's "problem solved?" waits for their answer

# KEYS[1] the feedback hash, KEYS[2] the brand's ticket counter; ARGV[1] the first ticket number.
# Returns {number, 1} when this call numbered the feedback, {number, 0} when it had a number, {-1, 0}
# when the feedback is gone.
_NUMBER = Lua("""
local existing = redis.call('HGET', KEYS[1], 'ticket')
if existing then return {tonumber(existing), 0} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0} end
local number = redis.call('INCR', KEYS[2]) + tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'ticket', number)
return {number, 1}
""")

# KEYS[1] the ticket hash; ARGV[1] now, ARGV[2] claim lifetime. 1 when the caller may post the card.
# What became of the staff's latest answer: statuses of one message only move forward (Meta may report them
# out of order); another message's replace them (the caller checks it is the latest answer).
_DELIVERY = """
local rank = {sent = 1, delivered = 2, read = 3, failed = 4}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local current = redis.call('HMGET', KEYS[1], 'delivery', 'delivery_message')
if current[2] == ARGV[2] and (rank[current[1]] or 0) >= rank[ARGV[1]] then return 0 end
redis.call('HSET', KEYS[1], 'delivery', ARGV[1], 'delivery_message', ARGV[2], 'delivery_at', ARGV[3])
return 1
"""

_CLAIM_CARD = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'card_message') then return 0 end
local claim = redis.call('HGET', KEYS[1], 'card_claim')
if claim and tonumber(ARGV[1]) - tonumber(claim) < tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'card_claim', ARGV[1])
return 1
"""


class TicketStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"
    SPAM = "spam"
    NO_ANSWER = "no_answer"  # the brand's policy expects no answer (`bot.staff.policy`): no reminders, not counted

    @property
    def is_open(self) -> bool:
        return self in (TicketStatus.OPEN, TicketStatus.ANSWERED)

    @property
    def answerable(self) -> bool:
        """The staff may still answer (an answer to a "no answer needed" feedback opens its ticket)."""
        return self.is_open or self is TicketStatus.NO_ANSWER


class Author(StrEnum):
    STAFF = "staff"
    CUSTOMER = "customer"


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """One message of a ticket's thread, as the export shows it."""

    author: Author
    text: str
    at: float
    by: str = ""  # who wrote a staff answer: the web admin's user, or the staff member's Telegram name
    by_telegram: int = 0  # that staff member's Telegram user id (0: written in the web admin, or not known)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"author": self.author.value, "text": self.text, "at": self.at}
        if self.by:
            data["by"] = self.by
        if self.by_telegram:
            data["by_telegram"] = self.by_telegram
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ThreadMessage:
        by, by_telegram = str(data.get("by") or ""), int(data.get("by_telegram") or 0)
        return cls(Author(data["author"]), str(data["text"]), float(data["at"]), by, by_telegram)


@dataclass(frozen=True, slots=True)
class Ticket:
    """A feedback as the staff handle it."""

    brand: str
    number: int
    feedback: str
    venue: str
    venue_name: str
    language: str  # the customer's, for the answers they get
    status: TicketStatus
    created_at: float
    customer: str  # the pseudonym, "" once the customer is forgotten
    room: int | None = None  # the staff room that holds its card (or answered it first)
    card_message: int | None = None
    card_analysed: bool = False
    first_response_at: float | None = None
    closed_at: float | None = None
    undeliverable: bool = False
    delivery: str = ""  # what became of the staff's latest answer, where the channel reports it (WhatsApp)
    reminders: int = 0  # reminders sent since the ticket opened (or opened again), along the brand's chain
    last_activity: float = 0.0
    policy_wait: bool = False  # no_answer until the analysis says whether the policy wants an answer
    resolved: str = ""  # "yes" or "no": the customer's answer to "problem solved?" after the ticket closed
    reopened_at: float | None = None
    last_response_at: float | None = None  # the staff's latest answer

    @property
    def member(self) -> str:
        return keys.ticket_member(self.brand, self.number)

    @property
    def waiting_since(self) -> float | None:
        """Since when the ticket waits for a staff answer (its opening, or its reopening after an answer); None
        when the staff answered it since."""
        if self.first_response_at is None:
            return self.created_at
        if self.reopened_at is not None and self.reopened_at > (self.last_response_at or self.first_response_at):
            return self.reopened_at
        return None


def _optional_float(value: str | None) -> float | None:
    return float(value) if value else None


def _optional_int(value: str | None) -> int | None:
    return int(value) if value else None


def ticket_from_hash(brand: str, data: Mapping[str, str]) -> Ticket:
    return Ticket(
        brand=brand,
        number=int(data["number"]),
        feedback=data["feedback"],
        venue=data.get("venue", ""),
        venue_name=data.get("venue_name", ""),
        language=data.get("language") or "fr",
        status=TicketStatus(data.get("status") or "open"),
        created_at=float(data.get("created_at") or 0),
        customer=data.get("customer", ""),
        room=_optional_int(data.get("room")),
        card_message=_optional_int(data.get("card_message")),
        card_analysed=data.get("card_analysed") == "1",
        first_response_at=_optional_float(data.get("first_response_at")),
        closed_at=_optional_float(data.get("closed_at")),
        undeliverable=data.get("undeliverable") == "1",
        delivery=data.get("delivery", ""),
        reminders=int(data.get("reminders") or 0),
        last_activity=float(data.get("last_activity") or data.get("created_at") or 0),
        policy_wait=data.get("policy_wait") == "1",
        resolved=data.get("resolved", ""),
        reopened_at=_optional_float(data.get("reopened_at")),
        last_response_at=_optional_float(data.get("last_response_at")),
    )


def split_member(member: str) -> tuple[str, int] | None:
    brand, _, number = member.partition("/")
    return (brand, int(number)) if brand and number.isdigit() else None


@dataclass(frozen=True, slots=True)
class NewTicket:
    """What a feedback needs to become a ticket (read from the feedback hash by the notifier)."""

    brand: str
    feedback: str
    venue: str
    venue_name: str
    language: str
    created_at: float
    customer: str
    who: CustomerId | None  # None once the customer is forgotten
    needs_answer: bool = True  # else `no_answer` (the brand's policy)
    policy_wait: bool = False  # no_answer until the analysis is known


class TicketStore:
    """Tickets, threads, deadlines and relay marks in Redis."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._claim_card = redis.register_script(_CLAIM_CARD)
        self._delivery = redis.register_script(_DELIVERY)

    # --- creation --------------------------------------------------------------------------------

    async def open_many(self, items: Sequence[NewTicket], now: float) -> list[Ticket | None]:
        """Give each feedback its ticket (idempotent: a numbered feedback keeps its ticket); 2 round trips.

        None for a feedback that no longer exists.
        """
        if not items:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for item in items:
                numbering = [keys.feedback(item.brand, item.feedback), keys.ticket_sequence(item.brand)]
                queue(pipe, _NUMBER.call(numbering, [FIRST_TICKET]))
            numbered = await execute(pipe)
        async with self.redis.pipeline(transaction=False) as pipe:
            for item, (number, created) in zip(items, numbered, strict=True):
                if int(number) < 0:
                    continue
                ticket_key = keys.ticket(item.brand, int(number))
                status = TicketStatus.OPEN if item.needs_answer else TicketStatus.NO_ANSWER
                fields: dict[str, EncodableT] = {
                    "number": int(number), "brand": item.brand, "feedback": item.feedback, "venue": item.venue,
                    "venue_name": item.venue_name, "language": item.language,
                    "status": status.value, "created_at": now, "last_activity": now,
                    "customer": item.customer,
                }  # fmt: skip
                if item.policy_wait:
                    fields["policy_wait"] = 1
                # Field by field, only where missing: an existing ticket keeps its state, and one whose
                # creation was cut short after it was numbered is completed.
                for name, value in fields.items():
                    pipe.hsetnx(ticket_key, name, value)
                pipe.zadd(keys.tickets(item.brand), {str(number): now}, nx=True)
                if int(created):
                    if item.needs_answer:
                        pipe.zadd(keys.open_tickets(item.brand), {str(number): now}, nx=True)
                    queue(pipe, index_command(item.brand, item.feedback, item.created_at, [status_facet(status.value)]))
                    if item.who is not None:
                        member = keys.ticket_member(item.brand, int(number))
                        pipe.zadd(keys.customer_tickets(item.who), {member: now}, nx=True)
                pipe.hgetall(ticket_key)
            results = await execute(pipe)
        # Each ticket's HGETALL is the last reply of its group: read them back in order.
        rows = iter(redis_strings(row) for row in results if isinstance(row, dict))
        found: list[Ticket | None] = []
        for item, (number, _) in zip(items, numbered, strict=True):
            row = next(rows) if int(number) >= 0 else None
            found.append(ticket_from_hash(item.brand, row) if row else None)
        return found

    # --- reading ---------------------------------------------------------------------------------

    async def get(self, brand: str, number: int) -> Ticket | None:
        data = redis_strings(await self.redis.hgetall(keys.ticket(brand, number)))
        return ticket_from_hash(brand, data) if data else None

    async def for_message(self, brand: str, chat_id: int, message_id: int) -> int | None:
        """The ticket a staff-room message belongs to (its card, a relayed or a staff message)."""
        value = await self.redis.hget(keys.room_messages(brand, chat_id), str(message_id))
        return int(value) if value else None

    async def open_tickets(self, brand: str, *, limit: int = 500) -> list[Ticket]:
        numbers = await self.redis.zrange(keys.open_tickets(brand), 0, limit - 1)
        async with self.redis.pipeline(transaction=False) as pipe:
            for number in numbers:
                pipe.hgetall(keys.ticket(brand, int(redis_text(number))))
            rows = await execute(pipe)
        return [ticket_from_hash(brand, redis_strings(row)) for row in rows if row]

    async def all_tickets(self, brand: str, *, batch: int = 500) -> list[Ticket]:
        found: list[Ticket] = []
        start = 0
        while True:
            numbers = await self.redis.zrange(keys.tickets(brand), start, start + batch - 1)
            if not numbers:
                return found
            start += len(numbers)
            async with self.redis.pipeline(transaction=False) as pipe:
                for number in numbers:
                    pipe.hgetall(keys.ticket(brand, int(redis_text(number))))
                found.extend(ticket_from_hash(brand, redis_strings(row)) for row in await execute(pipe) if row)

    async def thread(self, brand: str, feedback_id: str) -> list[ThreadMessage]:
        rows = await self.redis.lrange(keys.replies(brand, feedback_id), 0, -1)
        return [ThreadMessage.from_json(json.loads(row)) for row in rows]

    async def latest_for_customer(self, customer: CustomerId) -> tuple[Ticket, float] | None:
        """The customer's ticket with the latest activity, and that time."""
        latest = await self.redis.zrevrange(keys.customer_tickets(customer), 0, 0, withscores=True)
        if not latest:
            return None
        member, score = latest[0]  # type: ignore[str-unpack]  # with scores: (member, score) pairs
        where = split_member(redis_text(member))
        ticket = await self.get(*where) if where else None
        return (ticket, float(score)) if ticket else None

    # --- cards -----------------------------------------------------------------------------------

    async def claim_card(self, ticket: Ticket, now: float) -> bool:
        """Tell whether this process should post the ticket's card (no card yet, nobody posting it)."""
        claimed = await self._claim_card(
            keys=[keys.ticket(ticket.brand, ticket.number)], args=[now, CARD_CLAIM_SECONDS]
        )
        return bool(claimed)

    async def release_card(self, ticket: Ticket) -> None:
        await self.redis.hdel(keys.ticket(ticket.brand, ticket.number), "card_claim")

    async def card_posted(self, ticket: Ticket, room: int, message_id: int, *, analysed: bool, due: float) -> None:
        """Record the card, map its message to the ticket, and start the first-answer deadline at `due`."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(
                keys.ticket(ticket.brand, ticket.number),
                mapping={"room": room, "card_message": message_id, "card_analysed": int(analysed)},
            )
            pipe.hset(keys.room_messages(ticket.brand, room), str(message_id), ticket.number)
            if ticket.first_response_at is None and ticket.status.is_open:
                pipe.zadd(keys.DEADLINES, {ticket.member: due}, nx=True)
            await execute(pipe)

    async def card_failed(self, ticket: Ticket) -> int:
        """Count one more post of the ticket's card that failed; the count so far."""
        return int(await self.redis.hincrby(keys.ticket(ticket.brand, ticket.number), "card_failures", 1))

    async def card_given_up(self, ticket: Ticket) -> None:
        """Count a card given up, for every process's `/metrics` (`parole_cards_given_up`)."""
        await self.redis.incr(keys.CARDS_GIVEN_UP)

    async def card_analysed(self, ticket: Ticket) -> None:
        await self.redis.hset(keys.ticket(ticket.brand, ticket.number), "card_analysed", 1)

    async def schedule_card(self, brand: str, feedback_id: str, at: float) -> None:
        await self.redis.zadd(keys.CARDS_DUE, {keys.pending_member(brand, feedback_id): at}, nx=True)

    async def unschedule_card(self, brand: str, feedback_id: str) -> None:
        await self.redis.zrem(keys.CARDS_DUE, keys.pending_member(brand, feedback_id))

    async def due_cards(self, now: float, *, limit: int = 100) -> list[tuple[str, str]]:
        """Cards whose wait for the analysis is over, each taken by one process only."""
        return [(b, f) for b, _, f in (m.partition("/") for m in await self._take_due(keys.CARDS_DUE, now, limit))]

    async def _take_due(self, key: str, now: float, limit: int) -> list[str]:
        members = [str(m) for m in await self.redis.zrangebyscore(key, "-inf", now, start=0, num=limit)]
        if not members:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for member in members:
                pipe.zrem(key, member)
            removed = await execute(pipe)
        return [member for member, done in zip(members, removed, strict=True) if done]

    async def map_message(self, ticket: Ticket, chat_id: int, message_id: int) -> None:
        await self.redis.hset(keys.room_messages(ticket.brand, chat_id), str(message_id), ticket.number)

    # --- the thread ------------------------------------------------------------------------------

    async def claim_mark(self, mark: str) -> bool:
        """Tell whether a relay mark (`keys.relayed`, `keys.web_relayed`) is new (then it is set)."""
        return bool(await self.redis.set(mark, 1, nx=True, ex=RELAY_MARK_SECONDS))

    async def release_mark(self, mark: str) -> None:
        await self.redis.delete(mark)

    async def claim_customer_relay(self, ticket: Ticket, message_id: int) -> bool:
        """Tell whether this customer message is relayed for the first time (then it is marked relayed)."""
        key = keys.customer_relayed(ticket.brand, ticket.number, message_id)
        return bool(await self.redis.set(key, 1, nx=True, ex=RELAY_MARK_SECONDS))

    async def staff_replied(
        self,
        ticket: Ticket,
        text: str,
        *,
        customer: CustomerId,
        room: int | None,
        message_ids: Sequence[int],
        now: float,
        by: str = "",
        by_telegram: int = 0,
    ) -> None:
        """Keep a staff answer the customer received: thread (with who wrote it: `by`, and their Telegram id
        from a room), first answer, status, deadline, activity; `room`, the staff room it was written in (None:
        the web admin)."""
        key = keys.ticket(ticket.brand, ticket.number)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.rpush(
                keys.replies(ticket.brand, ticket.feedback), _thread_json(Author.STAFF, text, now, by, by_telegram)
            )
            pipe.hsetnx(key, "first_response_at", now)
            if room is not None:
                pipe.hsetnx(key, "room", room)
            fields: dict[FieldT, EncodableT] = {"last_activity": now, "last_response_at": now}
            facets = []
            if ticket.status in (TicketStatus.OPEN, TicketStatus.NO_ANSWER):
                fields["status"] = TicketStatus.ANSWERED.value
                facets.append(status_facet(TicketStatus.ANSWERED.value))
                pipe.zadd(keys.open_tickets(ticket.brand), {str(ticket.number): ticket.created_at})
                pipe.hdel(key, "policy_wait")
            pipe.hset(key, mapping=fields)
            queue(pipe, index_command(ticket.brand, ticket.feedback, ticket.created_at, facets, words(text)))
            pipe.zrem(keys.DEADLINES, ticket.member)
            pipe.zadd(keys.customer_tickets(customer), {ticket.member: now}, xx=True)
            if room is not None:
                for message_id in message_ids:
                    pipe.hset(keys.room_messages(ticket.brand, room), str(message_id), ticket.number)
            await execute(pipe)

    async def customer_wrote(
        self, ticket: Ticket, text: str, *, customer: CustomerId, room_message: int | None, now: float
    ) -> None:
        """Keep a customer's answer: thread, activity, and the room message that shows it."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.rpush(keys.replies(ticket.brand, ticket.feedback), _thread_json(Author.CUSTOMER, text, now))
            pipe.hset(keys.ticket(ticket.brand, ticket.number), "last_activity", now)
            queue(pipe, index_command(ticket.brand, ticket.feedback, ticket.created_at, (), words(text)))
            pipe.zadd(keys.customer_tickets(customer), {ticket.member: now}, xx=True)
            if room_message is not None and ticket.room is not None:
                pipe.hset(keys.room_messages(ticket.brand, ticket.room), str(room_message), ticket.number)
            await execute(pipe)

    async def wait_for_room(self, ticket: Ticket, text: str, now: float) -> None:
        """Keep a customer's message for the staff room the ticket's venue does not have yet (in order)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(keys.room_queue(ticket.brand, ticket.number), json.dumps({"text": text, "at": now}))
            pipe.sadd(keys.room_waiting(ticket.brand), ticket.number)
            await pipe.execute()

    async def waiting_for_room(self, brand: str) -> list[int]:
        """The tickets of the brand whose customer messages wait for a staff room, oldest first."""
        return sorted(int(n) for n in await self.redis.smembers(keys.room_waiting(brand)))

    async def queued_for_room(self, ticket: Ticket) -> list[tuple[str, float]]:
        """What the customer wrote while no room covered the ticket: (text, time), in order."""
        entries = [json.loads(e) for e in await self.redis.lrange(keys.room_queue(ticket.brand, ticket.number), 0, -1)]
        return [(str(e["text"]), float(e["at"])) for e in entries]

    async def room_reached(self, ticket: Ticket, posted: int, queued: int) -> None:
        """The first `posted` of the `queued` messages waiting for a room are in one now; the rest wait on."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.ltrim(keys.room_queue(ticket.brand, ticket.number), posted, -1)
            if posted >= queued:
                pipe.srem(keys.room_waiting(ticket.brand), ticket.number)
            await pipe.execute()

    # --- status ----------------------------------------------------------------------------------

    async def close(self, ticket: Ticket, status: TicketStatus, now: float) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(keys.ticket(ticket.brand, ticket.number), mapping={"status": status.value, "closed_at": now})
            pipe.zrem(keys.open_tickets(ticket.brand), ticket.number)
            pipe.zrem(keys.DEADLINES, ticket.member)
            queue(pipe, index_command(ticket.brand, ticket.feedback, ticket.created_at, [status_facet(status)]))
            await execute(pipe)

    async def reopen(self, ticket: Ticket, now: float, *, due: float) -> None:
        """Open a closed or spam ticket again (the staff, or its customer writing again): answered if the staff
        had answered, else open; its thread and first answer are kept. Its reminders start again, the first at
        `due`."""
        status = TicketStatus.ANSWERED if ticket.first_response_at is not None else TicketStatus.OPEN
        async with self.redis.pipeline(transaction=False) as pipe:
            key = keys.ticket(ticket.brand, ticket.number)
            pipe.hset(key, mapping={"status": status.value, "reopened_at": now, "last_activity": now, "reminders": 0})
            pipe.hdel(key, "closed_at")
            pipe.zadd(keys.open_tickets(ticket.brand), {str(ticket.number): ticket.created_at})
            if ticket.card_message is not None:
                pipe.zadd(keys.DEADLINES, {ticket.member: due})
            queue(pipe, index_command(ticket.brand, ticket.feedback, ticket.created_at, [status_facet(status)]))
            await execute(pipe)

    async def policy_decided(self, ticket: Ticket, needs_answer: bool, *, due: float | None) -> None:
        """The analysis told whether a waiting `no_answer` ticket needs an answer: open it (reminders from `due`,
        when its card is out) or leave it as it is."""
        async with self.redis.pipeline(transaction=False) as pipe:
            key = keys.ticket(ticket.brand, ticket.number)
            pipe.hdel(key, "policy_wait")
            if needs_answer and ticket.status is TicketStatus.NO_ANSWER:
                pipe.hset(key, "status", TicketStatus.OPEN.value)
                pipe.zadd(keys.open_tickets(ticket.brand), {str(ticket.number): ticket.created_at})
                if due is not None and ticket.card_message is not None and ticket.first_response_at is None:
                    pipe.zadd(keys.DEADLINES, {ticket.member: due}, nx=True)
                facets = [status_facet(TicketStatus.OPEN.value)]
                queue(pipe, index_command(ticket.brand, ticket.feedback, ticket.created_at, facets))
            await execute(pipe)

    async def asked_resolution(self, ticket: Ticket, customer: CustomerId, now: float) -> None:
        """The customer was asked whether their problem is solved: their next yes or no answers it."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(keys.ticket(ticket.brand, ticket.number), "resolution_asked_at", now)
            pipe.set(keys.customer_resolution(customer), ticket.member, ex=RESOLUTION_SECONDS)
            await execute(pipe)

    async def pending_resolution(self, customer: CustomerId) -> Ticket | None:
        """The closed ticket whose customer was asked "problem solved?" and has not answered (recently)."""
        member = await self.redis.get(keys.customer_resolution(customer))
        where = split_member(redis_text(member)) if member else None
        return await self.get(*where) if where else None

    async def resolution(self, ticket: Ticket, solved: bool, customer: CustomerId, now: float, *, due: float) -> None:
        """Keep the customer's answer; a "no" opens the ticket again (answered: the staff had answered) and
        starts its reminders again, the first at `due`."""
        key = keys.ticket(ticket.brand, ticket.number)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, mapping={"resolved": "yes" if solved else "no", "resolved_at": now})
            pipe.delete(keys.customer_resolution(customer))
            if not solved and not ticket.status.is_open:
                reopened: dict[FieldT, EncodableT] = {
                    "status": TicketStatus.ANSWERED.value, "last_activity": now, "reopened_at": now, "reminders": 0
                }  # fmt: skip
                pipe.hset(key, mapping=reopened)
                pipe.hdel(key, "closed_at")
                if ticket.card_message is not None:
                    pipe.zadd(keys.DEADLINES, {ticket.member: due})
                pipe.zadd(keys.open_tickets(ticket.brand), {str(ticket.number): ticket.created_at})
                pipe.zadd(keys.customer_tickets(customer), {ticket.member: now}, xx=True)
                facets = [status_facet(TicketStatus.ANSWERED.value)]
                queue(pipe, index_command(ticket.brand, ticket.feedback, ticket.created_at, facets))
            await execute(pipe)

    async def undeliverable(self, ticket: Ticket, now: float) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(keys.ticket(ticket.brand, ticket.number), mapping={"undeliverable": 1, "undeliverable_at": now})
            pipe.zrem(keys.DEADLINES, ticket.member)
            await execute(pipe)

    async def delivery(self, ticket: Ticket, status: str, message: str, now: float) -> bool:
        """Record a delivery status (sent, delivered, read, failed) of the staff's answer `message`; whether
        it changed the ticket (a status older than the one recorded does not)."""
        changed = await self._delivery(keys=[keys.ticket(ticket.brand, ticket.number)], args=[status, message, now])
        return bool(changed)

    async def reachable(self, ticket: Ticket) -> None:
        """The customer of an undeliverable ticket wrote to the bot again: answers can reach them."""
        await self.redis.hdel(keys.ticket(ticket.brand, ticket.number), "undeliverable", "undeliverable_at")

    # --- deadlines -------------------------------------------------------------------------------

    async def due_deadlines(self, now: float, *, limit: int = 100) -> list[tuple[str, int]]:
        """Unanswered tickets whose next reminder is due, each taken by one process only."""
        return [where for member in await self._take_due(keys.DEADLINES, now, limit) if (where := split_member(member))]

    async def reminded(self, ticket: Ticket, stage: int, next_due: float | None) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(keys.ticket(ticket.brand, ticket.number), "reminders", stage)
            if next_due is not None:
                pipe.zadd(keys.DEADLINES, {ticket.member: next_due})
            await execute(pipe)


def _thread_json(author: Author, text: str, now: float, by: str = "", by_telegram: int = 0) -> str:
    return json.dumps(ThreadMessage(author, text, now, by, by_telegram).to_json(), ensure_ascii=False)
