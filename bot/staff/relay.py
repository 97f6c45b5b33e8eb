"""The relay between a staff room (or the web admin) and a customer's private chat, both ways, each message once;
and the ticket's closing and reopening, which update its card wherever they are done.

Staff → customer: the text goes to the customer's chat through the `staff_reply` template (signed by the
venue). Customer → staff: while their latest ticket is open and active within `window` seconds, a text
the customer sends outside a feedback conversation goes under the ticket's card, and so does a photo (one that
their channel must fetch first, in the background: `bot.staff.pictures`). Each relayed message is
marked (SET NX on its chat and message id) before it is sent, so a redelivered update is never relayed
twice; a send Telegram refused is unmarked so that the staff can send it again.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from telegram import Bot, InputFile, Message, ReplyParameters
from telegram.constants import ParseMode

from bot.botapi.outbound import Priority
from bot.botapi.sending import call_telegram
from bot.formats import DEFAULT_TIME_ZONE, Formats
from bot.ops import about_ticket
from bot.seam.commands import RESOLVED_NO, RESOLVED_YES
from bot.seam.outgoing import Channels, Delivered, OutgoingMessage
from bot.seam.pictures import MAX_PICTURE_MB, NotPassed, Picture
from bot.staff.cards import Cards
from bot.staff.hours import HoursStore, closed_notice
from bot.staff.pictures import PictureJob, PictureJobs
from bot.staff.rooms import RoomStore, StaffRoom
from bot.staff.tickets import Ticket, TicketStatus, TicketStore
from bot.storage import keys
from bot.storage.identity import KIOSK, CustomerId
from bot.storage.store import Store
from dialogs.answers import clean_text, parse_yes_no
from dialogs.markup import MAX_MESSAGE_UNITS, fit_html, utf16_len, visible_length
from dialogs.render import PART_SEPARATOR, MessageRenderer
from dialogs.types import MessagePart

log = logging.getLogger(__name__)

RELAY_WINDOW = 72 * 3600.0  # a customer's text is relayed if their ticket had activity within 72 hours
MAX_RELAY_TEXT = 3500  # characters of a customer's text relayed under the card (longer: cut with "…")
MAX_KEPT_TEXT = 4096  # characters of it the thread keeps (the export, /mydata, the web): a whole Telegram message
MAX_CAPTION_TEXT = 800  # characters of a relayed photo's caption: room for the template within Telegram's 1024


#: Tells the staff what became of an answer: a template and its variables; the id of the room message it sent.
Say = Callable[[str, Mapping[str, object]], Awaitable[int | None]]


@dataclass(frozen=True, slots=True)
class StaffAnswer:
    """A staff answer to relay: its text, its relay mark (`keys.relayed` of its room message, `keys.web_relayed`
    of its web form), the room it was written in and its messages there (none from the web), its author."""

    text: str
    mark: str
    room: int | None
    message_ids: tuple[int, ...] = ()
    by: str = ""  # the web admin's user, or the staff member's name in a room
    by_telegram: int = 0  # the staff member's Telegram user id in a room (0 from the web)


class Relay:
    """Moves messages between staff rooms and customers' chats, and keeps the ticket's thread."""

    def __init__(
        self,
        store: Store,
        rooms: RoomStore,
        tickets: TicketStore,
        cards: Cards,
        renderer: MessageRenderer,
        bot: Bot,
        channels: Channels,
        *,
        window: float = RELAY_WINDOW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.rooms = rooms
        self.tickets = tickets
        self.cards = cards
        self.renderer = renderer
        self.bot = bot  # the staff rooms'
        self.channels = channels  # the customers'
        self.window = window
        self.clock = clock
        self.hours = HoursStore(store.redis)  # a customer writing while the venue is closed is told when it opens
        self.pictures = PictureJobs(store.redis, self.pass_picture)  # fetched from the customer's channel first

    async def to_customer(self, room: StaffRoom, ticket: Ticket, message: Message, text: str) -> None:
        """Relay a staff message to the ticket's customer; tell the room what became of it."""
        say = functools.partial(self.cards.say, room, reply_to=message.message_id)

        async def told(template: str, variables: Mapping[str, object]) -> int | None:
            sent = await say(template, variables)
            return sent.message_id if sent is not None else None

        author = message.from_user if message.from_user is not None and not message.from_user.is_bot else None
        answer = StaffAnswer(
            text, keys.relayed(ticket.brand, room.chat_id, message.message_id), room.chat_id, (message.message_id,),
            by=author.full_name if author else "", by_telegram=author.id if author else 0,
        )  # fmt: skip
        with about_ticket(ticket.brand, ticket.number):
            await self.answer(ticket, answer, told)

    async def from_web(self, ticket: Ticket, text: str, *, nonce: str, by: str) -> str:
        """Relay an answer written in the web admin by `by` (its form's `nonce`: sent once however often it is
        posted); the name of the template that says what became of it (`staff_relayed` when it went out)."""
        outcome: list[str] = []

        async def told(template: str, variables: Mapping[str, object]) -> int | None:
            outcome.append(template)
            return None

        with about_ticket(ticket.brand, ticket.number):
            await self.answer(ticket, StaffAnswer(text, keys.web_relayed(ticket.brand, nonce), None, (), by), told)
        return outcome[0] if outcome else "staff_relayed"  # nothing said: this form was relayed already

    async def answer(self, ticket: Ticket, answer: StaffAnswer, say: Say) -> None:
        """Relay a staff answer, from a room or the web, to the ticket's customer: refused while the ticket is
        closed, the customer blocked the bot, forgot their data or used a kiosk; sent once per `answer.mark`;
        kept in the thread with who wrote it; the card shows it. `say` tells the staff what became of it."""
        variables = {"ticket": ticket.number}
        if not ticket.status.answerable:
            await say("staff_ticket_closed", variables)
            return
        if ticket.undeliverable:
            await say("staff_undeliverable", variables)
            return
        feedback = await self.store.get_feedback(ticket.brand, ticket.feedback)
        customer: CustomerId | None = feedback.get("customer")
        if customer is None:
            await say("staff_customer_gone", variables)
            return
        if customer.channel == KIOSK:  # a shared tablet: whoever reads it next is someone else
            await say("staff_kiosk_no_reply", variables)
            return
        cleaned, _ = clean_text(answer.text, max(1, len(answer.text)))  # never cut: too long is refused below
        if not cleaned:
            await say("staff_reply_usage", {})
            return
        renderer = await self.cards.renderer_for(ticket.brand, ticket.venue)  # the venue's own staff_reply
        rendered, length = _signed(renderer, ticket, cleaned)
        if rendered is None:  # Telegram would refuse it every time: not "try again", and never cut silently
            over = length - MAX_MESSAGE_UNITS
            await say("staff_reply_too_long", {**variables, "over": over, "limit": MAX_MESSAGE_UNITS})
            return
        if not await self.tickets.claim_mark(answer.mark):
            return  # this very message was relayed already (Telegram delivered the update again)
        what = f"staff reply on {ticket.member}"
        sent = await self.channels.send(customer, OutgoingMessage(rendered), what=what, from_staff=True)
        now = self.clock()
        if sent is Delivered.SENT:
            confirmation = await say("staff_relayed", variables)
            ids = [*answer.message_ids] + ([confirmation] if confirmation is not None else [])
            await self.tickets.staff_replied(
                ticket,
                cleaned,
                customer=customer,
                room=answer.room,
                message_ids=ids,
                now=now,
                by=answer.by,
                by_telegram=answer.by_telegram,
            )
            if ticket.status in (TicketStatus.OPEN, TicketStatus.NO_ANSWER):
                await self.cards.refresh(await self._reloaded(ticket))
        elif sent is Delivered.BLOCKED:
            await self.tickets.undeliverable(ticket, now)
            await say("staff_undeliverable", variables)
            await self.cards.refresh(await self._reloaded(ticket))
        elif sent is Delivered.OUTSIDE_WINDOW:
            await self.tickets.release_mark(answer.mark)
            await say("staff_outside_window", variables)
        else:
            await self.tickets.release_mark(answer.mark)
            await say("staff_relay_failed", variables)

    async def close(self, ticket: Ticket, status: TicketStatus) -> None:
        """Close a ticket (closed or spam) and show it on its card: the room's /close and buttons, and the web.

        A ticket closed after a staff answer asks its customer whether their problem is solved."""
        await self.tickets.close(ticket, status, self.clock())
        await self.cards.refresh(await self._reloaded(ticket))
        if status is TicketStatus.CLOSED and ticket.first_response_at is not None and not ticket.undeliverable:
            await self._ask_resolved(ticket)

    async def _ask_resolved(self, ticket: Ticket) -> None:
        feedback = await self.store.get_feedback(ticket.brand, ticket.feedback)
        customer: CustomerId | None = feedback.get("customer")
        if customer is None or customer.channel == KIOSK:
            return
        renderer = await self.cards.renderer_for(ticket.brand, ticket.venue)
        variables = {"venue_name": ticket.venue_name, "ticket": ticket.number}
        text = renderer.render(MessagePart("ask_resolved", variables), ticket.language)
        yes = renderer.render_label(MessagePart("button_resolved_yes"), ticket.language)
        no = renderer.render_label(MessagePart("button_resolved_no"), ticket.language)
        buttons = (((yes, f"{RESOLVED_YES}{ticket.member}"), (no, f"{RESOLVED_NO}{ticket.member}")),)
        what = f"resolution question on {ticket.member}"
        sent = await self.channels.send(customer, OutgoingMessage(text, buttons), what=what, from_staff=True)
        if sent is Delivered.SENT:
            await self.tickets.asked_resolution(ticket, customer, self.clock())

    async def resolution(self, customer: CustomerId, language: str, *, button: str = "", text: str = "") -> bool:
        """The customer's answer to "problem solved?" (a button's data, or a typed yes or no while the question
        waits): kept on the ticket and its card, a "no" opens the ticket again; the customer is thanked. False
        when it answers nothing (no question waiting, another ticket's button, a text that is not yes or no)."""
        ticket = await self.tickets.pending_resolution(customer)
        if button:
            solved = button.startswith(RESOLVED_YES)
            asked = button.removeprefix(RESOLVED_YES if solved else RESOLVED_NO)
            if ticket is None or asked != ticket.member:
                return False
        else:
            answer = parse_yes_no(text)
            if ticket is None or answer is None:
                return False
            solved = answer
        now = self.clock()
        await self.tickets.resolution(ticket, solved, customer, now, due=await self._reminder_due(ticket, now))
        await self.cards.refresh(await self._reloaded(ticket))
        renderer = await self.cards.renderer_for(ticket.brand, ticket.venue)
        template = "resolved_thanks" if solved else "resolved_reopened"
        rendered = renderer.render(MessagePart(template, {"venue_name": ticket.venue_name}), language)
        await self.channels.send(customer, OutgoingMessage(rendered), what=f"resolution of {ticket.member}")
        return True

    async def reopen(self, ticket: Ticket) -> None:
        """Open a closed ticket again (answered if the staff had answered, else open) and show it on its card."""
        now = self.clock()
        await self.tickets.reopen(ticket, now, due=await self._reminder_due(ticket, now))
        await self.cards.refresh(await self._reloaded(ticket))

    async def _reminder_due(self, ticket: Ticket, since: float) -> float:
        """When the first reminder of a ticket waiting for an answer since `since` is due (the brand's
        deadline, in the venue's open hours)."""
        hours = await self.store.deadline_hours(ticket.brand)
        return await self.hours.due(ticket.brand, ticket.venue, since, hours * 3600)

    async def _reloaded(self, ticket: Ticket) -> Ticket:
        return await self.tickets.get(ticket.brand, ticket.number) or ticket

    async def from_customer(
        self, message_id: int, customer: CustomerId, language: str, text: str, *, picture: bool = False,
        photo: str | None = None, media: str | None = None,
    ) -> bool:  # fmt: skip
        """Relay a customer's text under the card of their latest ticket, if it is open and recent; a `picture`
        (`text` its caption, or "") goes as the photo `photo`, or once fetched from the customer's channel
        (`media`: in the background, `pass_picture`), or the customer is told plainly why it cannot.

        Returns False when there is no such ticket (the customer gets the usual answer instead).
        """
        now = self.clock()
        latest = await self.tickets.latest_for_customer(customer)
        if latest is None:
            return False
        ticket, last_activity = latest
        recent = max(last_activity, ticket.closed_at or 0.0)
        closed = ticket.status is TicketStatus.CLOSED  # a ticket marked spam stays shut
        if now - recent > self.window or not (ticket.status.is_open or closed):
            return False
        room = await self.rooms.get(ticket.room) if ticket.room is not None else None
        cleaned, _ = clean_text(text, MAX_CAPTION_TEXT if picture else MAX_RELAY_TEXT)  # what the room is shown
        kept, _ = clean_text(text, MAX_KEPT_TEXT)  # what the thread keeps: the whole of it
        if picture and photo is None and media is None:  # the customer's channel cannot hand the photo over
            return await self._photo_not_passed(ticket, customer, language, "channel")
        if ticket.room is None and ticket.card_message is None and (cleaned or picture):
            # Opened before any staff room covered its venue: its card goes to one linked since, or the message
            # waits for one (posted when it is linked).
            room = await self.rooms.for_venue(ticket.brand, ticket.venue)
            if room is None and picture:  # a photo is not kept for a room to come: its file may not outlive the wait
                return await self._photo_not_passed(ticket, customer, language, "no_room")
            if room is None:
                if await self.tickets.claim_customer_relay(ticket, message_id):
                    await self._wait_for_room(ticket, customer, language, cleaned, kept, now)
                return True
            if await self.cards.post(ticket, now):
                ticket = await self._reloaded(ticket)
        if room is None or room.brand != ticket.brand or not room.covers(ticket.venue):
            return False
        if not cleaned and not picture:
            return False
        if not await self.tickets.claim_customer_relay(ticket, message_id):
            return True  # relayed already: a duplicate delivery of the update gets no second answer
        if closed:  # the thanks promised the team could answer here: the ticket opens again
            await self.tickets.reopen(ticket, now, due=await self._reminder_due(ticket, now))
            ticket = await self._reloaded(ticket)
            await self.cards.refresh(ticket)
        if ticket.undeliverable:  # they write to the bot, so they unblocked it: answers reach them again
            await self.tickets.reachable(ticket)
            ticket = await self._reloaded(ticket)
            await self.cards.refresh(ticket)
        if media is not None:  # fetched from the customer's channel off the webhook's answer, then posted
            job = PictureJob(ticket.brand, ticket.number, customer, language, media, cleaned, kept, closed, now)
            await self.pictures.add(job)
            return True
        renderer = await self.cards.renderer_for(ticket.brand, ticket.venue)
        room_message = await self._to_room(room, ticket, renderer, _shown(ticket, cleaned, closed), photo=photo)
        if photo is not None:  # the thread keeps that there was a photo (the export, /mydata, the web admin)
            kept = f"📷 {kept}" if kept else "📷"
        # Kept in the thread even if the room could not be reached: it is in the export and in /mydata.
        await self.tickets.customer_wrote(ticket, kept, customer=customer, room_message=room_message, now=now)
        ack = await self._acknowledgement(ticket, renderer, language, room_message, reopened=closed, now=now)
        await self.channels.send(customer, OutgoingMessage(ack), what="customer relay acknowledgement")
        return True

    async def pass_picture(self, job: PictureJob) -> None:
        """Fetch a customer's picture from their channel and post it under their ticket's card, captioned as a
        Telegram photo is; kept in the thread as one. One that cannot go (too large, not an image, not fetched)
        is said plainly to the customer, and its caption still goes, as a text."""
        ticket = await self.tickets.get(job.brand, job.ticket)
        if ticket is None:
            log.warning("customer picture %s dropped: its ticket is gone", job.member)
            return
        with about_ticket(ticket.brand, ticket.number):
            fetched = await self.channels.fetch_picture(job.customer, job.media)
            picture = fetched if isinstance(fetched, Picture) else None
            renderer = await self.cards.renderer_for(ticket.brand, ticket.venue)
            room = await self.rooms.get(ticket.room) if ticket.room is not None else None
            if room is not None and (room.brand != ticket.brand or not room.covers(ticket.venue)):
                room = None  # unlinked, or linked to something else, since the picture came
            room_message = None
            if room is not None and (picture is not None or job.text):
                shown = _shown(ticket, job.text, job.reopened)
                room_message = await self._to_room(room, ticket, renderer, shown, photo=picture)
            kept = (f"📷 {job.kept}" if job.kept else "📷") if picture is not None else job.kept
            if kept:
                await self.tickets.customer_wrote(
                    ticket, kept, customer=job.customer, room_message=room_message, now=job.at
                )
            parts = []
            if picture is not None or job.text:
                ack = await self._acknowledgement(
                    ticket, renderer, job.language, room_message, reopened=job.reopened, now=self.clock()
                )
                parts.append(ack)
            if isinstance(fetched, NotPassed):
                log.warning("customer picture %s not passed on: %s", job.member, fetched)
                parts.append(_photo_not_passed(renderer, ticket, job.language, fetched.value))
            told = PART_SEPARATOR.join(parts)
            await self.channels.send(job.customer, OutgoingMessage(told), what="customer picture acknowledgement")

    async def _acknowledgement(
        self, ticket: Ticket, renderer: MessageRenderer, language: str, room_message: int | None, *, reopened: bool,
        now: float,
    ) -> str:  # fmt: skip
        """What the customer is told of a message relayed (`room_message`, its id in the room): confirmed only
        when the room has it (a refusal is said as one, never as "passed on"), with the venue's hours if closed."""
        if room_message is None:
            return renderer.render(MessagePart("customer_relay_failed", {"venue_name": ticket.venue_name}), language)
        acknowledged = {"venue_name": ticket.venue_name, "reopened": reopened, "ticket": ticket.number}
        ack = renderer.render(MessagePart("customer_relayed", acknowledged), language)
        hours = await self.hours.recent(ticket.brand, ticket.venue, now)
        notice = closed_notice(hours, now, ticket.venue_name, language)
        return ack if notice is None else PART_SEPARATOR.join((ack, renderer.render(notice, language)))

    async def _wait_for_room(
        self, ticket: Ticket, customer: CustomerId, language: str, text: str, kept: str, now: float
    ) -> None:
        """Keep the message in the thread (`kept`, whole) and for the room to come (`text`, as the room is shown
        it); tell the customer what happens to it."""
        await self.tickets.customer_wrote(ticket, kept, customer=customer, room_message=None, now=now)
        await self.tickets.wait_for_room(ticket, text, now)
        renderer = await self.cards.renderer_for(ticket.brand, ticket.venue)
        told = renderer.render(MessagePart("customer_queued", {"venue_name": ticket.venue_name}), language)
        await self.channels.send(customer, OutgoingMessage(told), what="customer message kept for a room")

    async def post_waiting(self, room: StaffRoom) -> int:
        """A room was just linked: the tickets it covers whose customers wrote while there was none get their
        card, and under it what the customers wrote, in order, with when they wrote it. How many messages went."""
        posted_in_all = 0
        zone = HoursStore(self.store.redis)
        for number in await self.tickets.waiting_for_room(room.brand):
            ticket = await self.tickets.get(room.brand, number)
            if ticket is None or not room.covers(ticket.venue):
                continue
            if ticket.card_message is None and await self.cards.post(ticket, self.clock()):
                ticket = await self._reloaded(ticket)
            if ticket.room != room.chat_id:
                continue  # its card is in another room (the venue's own), whose link posts them
            queued = await self.tickets.queued_for_room(ticket)
            hours = await zone.get(ticket.brand, ticket.venue)
            formats = Formats(room.language, hours.time_zone if hours is not None else DEFAULT_TIME_ZONE)
            renderer = await self.cards.renderer_for(ticket.brand, ticket.venue)
            posted = 0
            for text, at in queued:
                variables = {
                    "ticket": ticket.number, "customer": ticket.customer, "venue_name": ticket.venue_name,
                    "text": text, "reopened": False, "written_at": formats.moment(at),
                }  # fmt: skip
                sent = await self._to_room(room, ticket, renderer, variables)
                if sent is None:
                    break
                await self.tickets.map_message(ticket, room.chat_id, sent)
                posted += 1
            await self.tickets.room_reached(ticket, posted, len(queued))
            posted_in_all += posted
        return posted_in_all

    async def _photo_not_passed(self, ticket: Ticket, customer: CustomerId, language: str, why: str) -> bool:
        """Tell the customer plainly that their photo does not reach the team, why, and what to do instead."""
        renderer = await self.cards.renderer_for(ticket.brand, ticket.venue)
        told = _photo_not_passed(renderer, ticket, language, why)
        await self.channels.send(customer, OutgoingMessage(told), what="photo not passed on")
        return True

    async def _to_room(
        self, room: StaffRoom, ticket: Ticket, renderer: MessageRenderer, variables: Mapping[str, object],
        *, photo: str | Picture | None = None,
    ) -> int | None:  # fmt: skip
        """A customer's message (or photo) under the ticket's card; its message id in the room (None: not sent)."""
        reply = ReplyParameters(ticket.card_message, allow_sending_without_reply=True) if ticket.card_message else None
        send: Callable[[], Awaitable[object]]
        if photo is not None:
            # The bot's own file_id of a Telegram customer's photo, sent again (never downloaded); or the bytes of
            # a picture another channel handed over, uploaded.
            caption = renderer.render(MessagePart("staff_customer_photo", variables), room.language)
            source = photo if isinstance(photo, str) else InputFile(photo.content, filename=photo.filename)
            send = functools.partial(
                self.bot.send_photo, room.chat_id, source, caption=caption, parse_mode=ParseMode.HTML,
                reply_parameters=reply,
            )  # fmt: skip
        else:
            # Cut to Telegram's limit (the whole text is kept in the thread: export, /mydata, the web admin).
            rendered = fit_html(renderer.render(MessagePart("staff_customer_message", variables), room.language))
            send = functools.partial(
                self.bot.send_message, room.chat_id, rendered, parse_mode=ParseMode.HTML, reply_parameters=reply
            )
        what = f"customer message on {ticket.member}"
        sent = await call_telegram(send, idempotent=False, what=what, priority=Priority.CARD)
        if sent.outcome is Delivered.BLOCKED:
            await self.rooms.unlink(room)
        return sent.result.message_id if sent.ok and isinstance(sent.result, Message) else None

    async def answer_status(self, customer: CustomerId, message: str, status: str, *, latest: bool) -> None:
        """The customer's channel reports what became of a staff answer (`message`, its id there): `sent`,
        `delivered`, `read` or `failed`. The latest answer's status goes on the ticket and its card; a
        failure, of any answer, is told to the room (the staff may send it again)."""
        found = await self.tickets.latest_for_customer(customer)
        if found is None:
            return
        ticket = found[0]
        with about_ticket(ticket.brand, ticket.number):
            changed = latest and await self.tickets.delivery(ticket, status, message, self.clock())
            if changed and status != "sent":  # the card said "answered" when it went: no edit for `sent`
                await self.cards.refresh(await self._reloaded(ticket))
            if status == "failed" and ticket.room is not None and (changed or not latest):
                await self.cards.say(ticket.room, "staff_delivery_failed", {"ticket": ticket.number})


def _shown(ticket: Ticket, text: str, reopened: bool) -> dict[str, object]:
    """The variables of a customer's message (or photo) under the card: `staff_customer_message`'s."""
    return {
        "ticket": ticket.number, "customer": ticket.customer, "venue_name": ticket.venue_name, "text": text,
        "reopened": reopened, "written_at": "",
    }  # fmt: skip


def _photo_not_passed(renderer: MessageRenderer, ticket: Ticket, language: str, why: str) -> str:
    variables = {"venue_name": ticket.venue_name, "why": why, "max_mb": MAX_PICTURE_MB}
    return renderer.render(MessagePart("photo_not_passed", variables), language)


def _signed(renderer: MessageRenderer, ticket: Ticket, text: str) -> tuple[str | None, int]:
    """A staff answer as the customer reads it (the venue's `staff_reply`) and its length as Telegram counts
    it; None instead of the message when it is longer than Telegram takes. A text too long by itself is not
    rendered (the renderer's output budget): its length is the signature's plus its own."""

    def render(body: str) -> str:
        variables = {"venue_name": ticket.venue_name, "text": body}
        return renderer.render(MessagePart("staff_reply", variables), ticket.language)

    if utf16_len(text) > MAX_MESSAGE_UNITS:
        return None, visible_length(render("")) + utf16_len(text)
    rendered = render(text)
    length = visible_length(rendered)
    return (rendered if length <= MAX_MESSAGE_UNITS else None), length
