"""The staff notifier: tickets and cards for new feedback, card edits when the analysis arrives, and the
reminders of unanswered tickets.

It reads the feedback stream (`parole:stream:feedback`) and the brands' event streams
(`parole:{B}:events`, `analysed` entries) through its own consumer group, `notify`, so any number of
processes share the work and each entry is handled once. A complete or abandoned feedback gets its
ticket at once; its card waits up to `analysis_wait` seconds for the analysis, then goes out without it
and is edited when the analysis arrives. It runs inside `parole serve`: it needs the Telegram bot and
the templates, not spaCy.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError
from telegram import Bot
from telegram.constants import ParseMode

from bot.botapi.outbound import Priority
from bot.botapi.sending import call_telegram
from bot.ops import about_ticket
from bot.staff.cards import Cards
from bot.staff.escalation import Audience, EscalationStore
from bot.staff.hours import HoursStore
from bot.staff.mail import MailAlerts
from bot.staff.policy import CONTACT_EVENT, Decision, PolicyStore
from bot.staff.pseudonyms import Pseudonyms
from bot.staff.rooms import RoomStore
from bot.staff.tickets import NewTicket, Ticket, TicketStatus, TicketStore
from bot.storage import keys
from bot.storage.cluster import REDIS_UNAVAILABLE, raise_if_cancelled
from bot.storage.identity import CustomerId
from bot.storage.store import Store, consumer_name, redis_strings
from dialogs.render import MessageRenderer
from dialogs.types import MessagePart

log = logging.getLogger(__name__)

ANALYSIS_WAIT = 5.0  # seconds a card waits for the analysis before it goes out without it
CLAIM_IDLE = 60.0  # seconds after which a stream entry another notifier left unacknowledged is taken over
CARD_HORIZON = 24 * 3600.0  # feedback older than this when the notifier first sees it gets no card


@dataclass(frozen=True, slots=True)
class Entry:
    entry_id: str
    brand: str
    feedback: str


class StaffNotifier:
    """One consumer of the `notify` group; `tick()` does one round of everything it watches."""

    def __init__(
        self,
        store: Store,
        rooms: RoomStore,
        tickets: TicketStore,
        cards: Cards,
        renderer: MessageRenderer,
        bot: Bot,
        *,
        admin_ids: Collection[int] = (),
        analysis_wait: float = ANALYSIS_WAIT,
        batch: int = 100,
        name: str | None = None,
        clock: Callable[[], float] = time.time,
        mail: MailAlerts | None = None,
    ) -> None:
        """`mail` e-mails the brands' admins who asked for it (alerts, digests), when an SMTP server is set."""
        self.store = store
        self.redis: Redis = store.redis
        self.rooms = rooms
        self.tickets = tickets
        self.policies = PolicyStore(store.redis)
        self.hours = HoursStore(store.redis)  # deadlines count the venue's open hours
        self.escalations = EscalationStore(store.redis)
        self.mail = mail
        self.cards = cards
        self.renderer = renderer
        self.bot = bot
        self.admin_ids = frozenset(admin_ids)
        self.analysis_wait = analysis_wait
        self.batch = batch
        self.name = name or f"notify-{consumer_name()}"
        self.clock = clock
        self.pseudonyms = Pseudonyms(self.redis)
        self._groups: set[str] = set()
        self._last_claim = 0.0

    # --- the loop --------------------------------------------------------------------------------

    async def run(self, every: float) -> None:
        """Forever: a tick, then a pause of `every` seconds when it found nothing; Redis outages are waited out.

        The stream is read without blocking: a Redis read blocked server-side does not stop cleanly when
        the task is cancelled, a sleep does.
        """
        while True:
            try:
                handled = await self.tick()
            except REDIS_UNAVAILABLE as exc:
                log.warning("staff notifier: Redis unavailable (%s); retrying", exc)
                self._groups.clear()
                handled = 0
            except Exception:
                log.exception("staff notifier: a round failed")
                handled = 0
            raise_if_cancelled()  # on every round, not only where it is raised
            if not handled:
                await asyncio.sleep(every)

    async def tick(self, *, block: float | None = None) -> int:
        """One round: new feedback, analyses, cards due, deadlines due. Returns how many things it handled."""
        done = await self.handle_feedback(await self._read_feedback(block))
        done += await self.handle_analyses()
        now = self.clock()
        done += await self.post_due_cards(now)
        done += await self.sweep_deadlines(now)
        if self.mail is not None:
            done += await self.mail.digests(now)
        return done

    async def _group(self, stream: str) -> bool:
        """Make sure the `notify` group reads `stream`; False while the stream does not exist yet (an idle
        notifier creates no key)."""
        if stream in self._groups:
            return True
        if not await self.redis.exists(stream):
            return False
        try:
            await self.redis.xgroup_create(stream, keys.NOTIFY_GROUP, id="0")
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add(stream)
        return True

    # --- new feedback ----------------------------------------------------------------------------

    async def _read_feedback(self, block: float | None) -> list[Entry]:
        if not await self._group(keys.FEEDBACK_STREAM):
            return []
        now = time.monotonic()
        if now - self._last_claim >= CLAIM_IDLE / 2:
            self._last_claim = now
            reply = await self.redis.xautoclaim(
                keys.FEEDBACK_STREAM, keys.NOTIFY_GROUP, self.name,
                min_idle_time=int(CLAIM_IDLE * 1000), start_id="0-0", count=self.batch,
            )  # fmt: skip
            claimed = _entries(reply[1])
            if claimed:
                return claimed
        read = await self.redis.xreadgroup(
            keys.NOTIFY_GROUP,
            self.name,
            {keys.FEEDBACK_STREAM: ">"},
            count=self.batch,
            block=max(1, int(block * 1000)) if block else None,
        )
        if not read:
            return []
        if isinstance(read, dict):  # RESP3
            return _entries(next(iter(read.values())))
        return _entries(read[0][1])

    async def handle_feedback(self, entries: Sequence[Entry]) -> int:
        """Open the tickets of complete or abandoned feedback; post or schedule their cards; acknowledge."""
        if not entries:
            return 0
        now = self.clock()
        unique = list({(e.brand, e.feedback): e for e in entries}.values())
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry in unique:
                pipe.hgetall(keys.feedback(entry.brand, entry.feedback))
            rows = [redis_strings(row) for row in await pipe.execute()]
        present = [(entry, row) for entry, row in zip(unique, rows, strict=True) if row]
        customers = [CustomerId.from_key(row["chat_id"]) if row.get("chat_id") else None for _, row in present]
        brands = sorted({entry.brand for entry, _ in present})
        async with self.redis.pipeline(transaction=False) as pipe:
            for customer in customers:
                if customer is not None:
                    pipe.get(keys.customer_salt(customer))
            for brand in brands:
                pipe.hlen(keys.rooms(brand))
            replies = iter(await pipe.execute())
        salts = [next(replies) if customer is not None else None for customer in customers]
        with_rooms = {brand for brand in brands if next(replies)}
        policies = {
            where: await self.policies.in_force(*where)
            for where in {(e.brand, row.get("venue", "")) for e, row in present}
        }
        decisions = [policies[(entry.brand, row.get("venue", ""))].decide(row) for entry, row in present]
        items = [
            NewTicket(
                brand=entry.brand,
                feedback=entry.feedback,
                venue=row.get("venue", ""),
                venue_name=row.get("venue_name", ""),
                language=row.get("language") or "fr",
                created_at=float(row.get("created_at") or now),
                customer=await self.pseudonyms.of(entry.brand, salt),
                who=customer,
                needs_answer=decision is Decision.OPEN,
                policy_wait=decision is Decision.WAIT,
            )
            for (entry, row), salt, customer, decision in zip(present, salts, customers, decisions, strict=True)
        ]
        tickets = await self.tickets.open_many(items, now)
        for (entry, row), ticket in zip(present, tickets, strict=True):
            if ticket is not None and self.mail is not None:
                await self.mail.feedback(ticket, row, analysed=False)
            if ticket is None or entry.brand not in with_rooms:
                continue
            if now - float(row.get("updated_at") or now) > CARD_HORIZON:
                continue  # a backlog (first start on old data, long outage): tickets, but no flood of cards
            with about_ticket(ticket.brand, ticket.number):
                if ticket.card_message is not None:
                    await self.cards.refresh(ticket)
                elif row.get("analysed_at"):
                    await self.cards.post(ticket, now)
                else:
                    await self.tickets.schedule_card(entry.brand, entry.feedback, now + self.analysis_wait)
        await self.redis.xack(keys.FEEDBACK_STREAM, keys.NOTIFY_GROUP, *(e.entry_id for e in entries))
        return len(entries)

    # --- analyses --------------------------------------------------------------------------------

    async def handle_analyses(self) -> int:
        """Post the cards that waited for their analysis, and edit those that went out without it."""
        brands = sorted(str(b) for b in await self.redis.smembers(keys.BRANDS))
        unknown = [b for b in brands if keys.events(b) not in self._groups]
        if unknown:  # one round trip for every brand whose events stream was never seen
            async with self.redis.pipeline(transaction=False) as pipe:
                for brand in unknown:
                    pipe.exists(keys.events(brand))
                present = await pipe.execute()
            for brand, exists in zip(unknown, present, strict=True):
                if exists:
                    await self._group(keys.events(brand))
        brands = [b for b in brands if keys.events(b) in self._groups]
        if not brands:
            return 0
        async with self.redis.pipeline(transaction=False) as pipe:
            for brand in brands:
                pipe.xreadgroup(keys.NOTIFY_GROUP, self.name, {keys.events(brand): ">"}, count=self.batch)
            replies = await pipe.execute(raise_on_error=False)
        handled = 0
        for brand, reply in zip(brands, replies, strict=True):
            if isinstance(reply, ResponseError):  # the stream was deleted meanwhile: create the group again
                self._groups.discard(keys.events(brand))
                continue
            raw = next(iter(reply.values())) if isinstance(reply, dict) else (reply[0][1] if reply else [])
            entry_ids: list[str] = []
            for entry_id, fields in raw or []:
                entry_ids.append(str(entry_id))
                if fields and fields.get("type") == "analysed" and fields.get("feedback"):
                    handled += await self._analysed(brand, str(fields["feedback"]))
                elif fields and fields.get("type") == CONTACT_EVENT and fields.get("feedback"):
                    handled += await self._contact_asked(brand, str(fields["feedback"]))
            if entry_ids:
                await self.redis.xack(keys.events(brand), keys.NOTIFY_GROUP, *entry_ids)
        return handled

    async def _ticket_of(self, brand: str, feedback_id: str) -> Ticket | None:
        number = await self.redis.hget(keys.feedback(brand, feedback_id), "ticket")
        return await self.tickets.get(brand, int(number)) if number else None

    async def _analysed(self, brand: str, feedback_id: str) -> int:
        ticket = await self._ticket_of(brand, feedback_id)
        if ticket is None:
            return 0  # not complete yet, or its stream entry is still to come: the card will carry it
        if self.mail is not None:
            row = redis_strings(await self.redis.hgetall(keys.feedback(brand, feedback_id)))
            await self.mail.feedback(ticket, row, analysed=True)
        if ticket.policy_wait:
            ticket = await self._decide_again(ticket)
        if ticket.card_message is not None:
            if not ticket.card_analysed:
                await self.cards.refresh(ticket)
            return 1
        await self.tickets.unschedule_card(brand, feedback_id)
        return int(await self.cards.post(ticket, self.clock()))

    async def _decide_again(self, ticket: Ticket) -> Ticket:
        """Ask the policy again about a ticket that needs no answer yet, now that its feedback says more (its
        analysis, its customer asking to be contacted); the ticket as it is then."""
        policy = await self.policies.in_force(ticket.brand, ticket.venue)
        feedback = redis_strings(await self.redis.hgetall(keys.feedback(ticket.brand, ticket.feedback)))
        hours = await self.store.deadline_hours(ticket.brand)
        needs = policy.decide(feedback) is Decision.OPEN
        due = await self.hours.due(ticket.brand, ticket.venue, ticket.created_at, hours * 3600)
        await self.tickets.policy_decided(ticket, needs, due=due)
        return await self.tickets.get(ticket.brand, ticket.number) or ticket

    async def _contact_asked(self, brand: str, feedback_id: str) -> int:
        """The customer asked to be contacted (`bot.customers.contact`): a ticket that needed no answer opens, and
        its card says so (once: the event comes once). A feedback without its ticket yet gets one that reads the
        mark."""
        ticket = await self._ticket_of(brand, feedback_id)
        if ticket is None:
            return 0
        if ticket.status is TicketStatus.NO_ANSWER:
            ticket = await self._decide_again(ticket)
        if ticket.card_message is not None:
            await self.cards.refresh(ticket)
        return 1

    async def post_due_cards(self, now: float) -> int:
        """Cards that waited long enough for their analysis go out without it."""
        posted = 0
        for brand, feedback_id in await self.tickets.due_cards(now):
            ticket = await self._ticket_of(brand, feedback_id)
            if ticket is not None and ticket.card_message is None:
                posted += int(await self.cards.post(ticket, now))
        return posted

    # --- deadlines -------------------------------------------------------------------------------

    async def sweep_deadlines(self, now: float) -> int:
        """Remind who the brand's escalation chain names of tickets unanswered past each deadline: the room
        first (by default), then the brand admins and operators."""
        handled = 0
        for brand, number in await self.tickets.due_deadlines(now):
            ticket = await self.tickets.get(brand, number)
            since = ticket.waiting_since if ticket is not None else None
            if ticket is None or since is None or not ticket.status.is_open or ticket.undeliverable:
                continue
            chain = await self.escalations.get(brand)
            step = chain.step(ticket.reminders)
            if step is None or ticket.room is None:
                continue
            deadline = await self.store.deadline_hours(brand)
            room = await self.rooms.get(ticket.room)
            sent = ticket.reminders + 1
            variables = {
                "ticket": number, "venue_name": ticket.venue_name, "hours": _hours(sent * deadline),
                "reopened": since != ticket.created_at,
            }  # fmt: skip
            if Audience.ROOM in step and room is not None:
                await self.cards.say(
                    room, "staff_reminder", variables, reply_to=ticket.card_message, priority=Priority.BROADCAST
                )
            people = set(self.admin_ids) if Audience.OPERATORS in step else set()
            if Audience.ADMINS in step:
                people |= await self._room_admins(ticket.room)
            if people:
                reminded = chain.room_reminders(ticket.reminders)
                late = {**variables, "room_title": room.title if room and reminded else "", "reminders": reminded}
                await self._escalate(ticket, room.language if room else "fr", late, people)
            next_due = None
            if chain.step(sent) is not None:
                due = await self.hours.due(brand, ticket.venue, since, (sent + 1) * deadline * 3600)
                next_due = max(due, now + 1)
            await self.tickets.reminded(ticket, sent, next_due)
            handled += 1
        return handled

    async def _room_admins(self, room_id: int) -> set[int]:
        """The Telegram administrators of a staff room (bots aside)."""
        admins = await call_telegram(
            lambda: self.bot.get_chat_administrators(room_id), idempotent=True, what="room administrators"
        )
        return {member.user.id for member in admins.result or () if not member.user.is_bot}

    async def _started(self, people: Collection[int]) -> list[int]:
        """Those who started the bot (Telegram lets a bot write only to them)."""
        ordered = sorted(people)
        async with self.redis.pipeline(transaction=False) as pipe:
            for user_id in ordered:
                pipe.exists(keys.chat(CustomerId.telegram(user_id)))  # they started the bot: a private chat
            started = await pipe.execute()
        return [user_id for user_id, yes in zip(ordered, started, strict=True) if yes]

    async def _escalate(self, ticket: Ticket, language: str, variables: dict[str, Any], people: set[int]) -> None:
        brand = await self.store.get_brand(ticket.brand)
        text = self.renderer.render(MessagePart("admin_escalation", {**variables, "brand_name": brand.name}), language)
        for user_id in await self._started(people):
            send = functools.partial(self.bot.send_message, user_id, text, parse_mode=ParseMode.HTML)
            what = f"escalation of {ticket.member} to {user_id}"
            await call_telegram(send, idempotent=False, what=what, priority=Priority.BROADCAST)


def _hours(hours: float) -> int | float:
    return int(hours) if float(hours).is_integer() else round(hours, 1)


def _entries(raw: Any) -> list[Entry]:
    entries: list[Entry] = []
    for entry_id, fields in raw or []:
        if fields:  # None when the entry was deleted from the stream meanwhile
            entries.append(Entry(str(entry_id), str(fields.get("brand", "")), str(fields.get("feedback", ""))))
    return entries
