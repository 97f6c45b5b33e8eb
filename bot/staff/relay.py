"""The relay between a staff room and a customer's private chat, both ways, each message once.

Staff → customer: the text goes to the customer's chat through the `staff_reply` template (signed by the
venue). Customer → staff: while their latest ticket is open and active within `window` seconds, a text
the customer sends outside a feedback conversation goes under the ticket's card. Each relayed message is
marked (SET NX on its chat and message id) before it is sent, so a redelivered update is never relayed
twice; a send Telegram refused is unmarked so that the staff can send it again.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from telegram import Bot, Message, ReplyParameters
from telegram.constants import ParseMode

from bot.botapi.outbound import Priority
from bot.botapi.sending import call_telegram
from bot.ops import about_ticket
from bot.seam.outgoing import Channels, Delivered, OutgoingMessage
from bot.staff.cards import Cards
from bot.staff.rooms import RoomStore, StaffRoom
from bot.staff.tickets import Ticket, TicketStatus, TicketStore
from bot.storage.identity import KIOSK, CustomerId
from bot.storage.store import Store
from dialogs.answers import clean_text
from dialogs.render import MessageRenderer
from dialogs.types import MessagePart

RELAY_WINDOW = 72 * 3600.0  # a customer's text is relayed if their ticket had activity within 72 hours
MAX_RELAY_TEXT = 3500  # characters of a relayed text: room for the template within Telegram's 4096


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

    async def to_customer(self, room: StaffRoom, ticket: Ticket, message: Message, text: str) -> None:
        """Relay a staff message to the ticket's customer; tell the room what became of it."""
        with about_ticket(ticket.brand, ticket.number):
            await self._to_customer(room, ticket, message, text)

    async def _to_customer(self, room: StaffRoom, ticket: Ticket, message: Message, text: str) -> None:
        say = functools.partial(self.cards.say, room, reply_to=message.message_id)
        variables = {"ticket": ticket.number}
        if not ticket.status.is_open:
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
        cleaned, _ = clean_text(text, MAX_RELAY_TEXT)
        if not cleaned:
            await say("staff_reply_usage", {})
            return
        if not await self.tickets.claim_relay(ticket.brand, room.chat_id, message.message_id):
            return  # this very message was relayed already (Telegram delivered the update again)
        renderer = await self.cards.renderer_for(ticket.brand, ticket.venue)  # the venue's own staff_reply
        rendered = renderer.render(
            MessagePart("staff_reply", {"venue_name": ticket.venue_name, "text": cleaned}), ticket.language
        )
        what = f"staff reply on {ticket.member}"
        sent = await self.channels.send(customer, OutgoingMessage(rendered), what=what, from_staff=True)
        now = self.clock()
        if sent is Delivered.SENT:
            confirmation = await say("staff_relayed", variables)
            ids = [message.message_id] + ([confirmation.message_id] if confirmation is not None else [])
            await self.tickets.staff_replied(
                ticket, cleaned, customer=customer, room=room.chat_id, message_ids=ids, now=now
            )
            if ticket.status is TicketStatus.OPEN:
                await self.cards.refresh(await self._reloaded(ticket))
        elif sent is Delivered.BLOCKED:
            await self.tickets.undeliverable(ticket, now)
            await say("staff_undeliverable", variables)
            await self.cards.refresh(await self._reloaded(ticket))
        elif sent is Delivered.OUTSIDE_WINDOW:
            await self.tickets.release_relay(ticket.brand, room.chat_id, message.message_id)
            await say("staff_outside_window", variables)
        else:
            await self.tickets.release_relay(ticket.brand, room.chat_id, message.message_id)
            await say("staff_relay_failed", variables)

    async def _reloaded(self, ticket: Ticket) -> Ticket:
        return await self.tickets.get(ticket.brand, ticket.number) or ticket

    async def from_customer(self, message_id: int, customer: CustomerId, language: str, text: str) -> bool:
        """Relay a customer's text under the card of their latest ticket, if it is open and recent.

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
        if room is None or room.brand != ticket.brand or not room.covers(ticket.venue):
            return False
        cleaned, _ = clean_text(text, MAX_RELAY_TEXT)
        if not cleaned:
            return False
        if not await self.tickets.claim_customer_relay(ticket, message_id):
            return True  # relayed already: a duplicate delivery of the update gets no second answer
        if closed:  # the thanks promised the team could answer here: the ticket opens again
            await self.tickets.reopen(ticket, now)
            ticket = await self._reloaded(ticket)
            await self.cards.refresh(ticket)
        if ticket.undeliverable:  # they write to the bot, so they unblocked it: answers reach them again
            await self.tickets.reachable(ticket)
            ticket = await self._reloaded(ticket)
            await self.cards.refresh(ticket)
        variables = {
            "ticket": ticket.number, "customer": ticket.customer, "venue_name": ticket.venue_name, "text": cleaned,
            "reopened": closed,
        }  # fmt: skip
        renderer = await self.cards.renderer_for(ticket.brand, ticket.venue)
        rendered = renderer.render(MessagePart("staff_customer_message", variables), room.language)
        reply = ReplyParameters(ticket.card_message, allow_sending_without_reply=True) if ticket.card_message else None
        send = functools.partial(
            self.bot.send_message, room.chat_id, rendered, parse_mode=ParseMode.HTML, reply_parameters=reply
        )
        what = f"customer message on {ticket.member}"
        sent = await call_telegram(send, idempotent=False, what=what, priority=Priority.CARD)
        if sent.outcome is Delivered.BLOCKED:
            await self.rooms.unlink(room)
        room_message = sent.result.message_id if sent.ok and isinstance(sent.result, Message) else None
        # Kept in the thread even if the room could not be reached: it is in the export and in /mydata.
        await self.tickets.customer_wrote(ticket, cleaned, customer=customer, room_message=room_message, now=now)
        acknowledged = {"venue_name": ticket.venue_name, "reopened": closed, "ticket": ticket.number}
        ack = renderer.render(MessagePart("customer_relayed", acknowledged), language)
        await self.channels.send(customer, OutgoingMessage(ack), what="customer relay acknowledgement")
        return True
