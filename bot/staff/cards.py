"""Feedback cards in the staff rooms: what they show, posting one per ticket, editing it as it changes."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ParseMode

from bot.botapi.outbound import Priority
from bot.botapi.sending import call_telegram
from bot.seam.outgoing import Delivered
from bot.staff.commands import CLOSE_PREFIX, SPAM_PREFIX
from bot.staff.hours import HoursStore
from bot.staff.rooms import RoomStore, StaffRoom
from bot.staff.tickets import Ticket, TicketStatus, TicketStore
from bot.storage.store import Store
from dialogs.markup import fit_html
from dialogs.render import MessageRenderer
from dialogs.types import MessagePart

log = logging.getLogger(__name__)

RETRY_CARD_AFTER = 30.0  # seconds before a card Telegram refused is tried again
CARD_ATTEMPTS = 5  # posts of a card Telegram refused or failed before it is given up (counted and logged)


def highlighted(text: str | None, entities: Sequence[Mapping[str, Any]], field: str) -> list[dict[str, str]]:
    """The text cut into parts, each entity of this field its own part with its label (others '')."""
    if not text:
        return []
    parts: list[dict[str, str]] = []
    position = 0
    spans = sorted(
        (int(e["start"]), int(e["end"]), str(e["label"]))
        for e in entities
        if e.get("field", "reason") == field and 0 <= int(e["start"]) < int(e["end"]) <= len(text)
    )
    for start, end, label in spans:
        if start < position:
            continue  # overlapping spans: the first one wins
        if start > position:
            parts.append({"text": text[position:start], "label": ""})
        parts.append({"text": text[start:end], "label": label})
        position = end
    if position < len(text):
        parts.append({"text": text[position:], "label": ""})
    return parts


def card_variables(ticket: Ticket, feedback: Mapping[str, Any]) -> dict[str, Any]:
    """The variables of the `staff_card` template."""
    entities: Sequence[Mapping[str, Any]] = feedback.get("entities") or []
    mentioned: list[dict[str, str]] = []
    for entity in entities:
        item = {"text": str(entity["text"]), "label": str(entity["label"])}
        if item not in mentioned:
            mentioned.append(item)
    analysed = feedback.get("analysed_at") is not None
    return {
        "venue_name": ticket.venue_name or feedback.get("venue_name", ""),
        "rating": int(feedback["rating"]),
        "reason": feedback.get("reason") or "",
        "suggestion": feedback.get("suggestion") or "",
        "reason_parts": highlighted(feedback.get("reason"), entities, "reason"),
        "suggestion_parts": highlighted(feedback.get("suggestion"), entities, "suggestion"),
        "ticket": ticket.number,
        "customer": ticket.customer,
        "channel": feedback.get("channel") or "telegram",
        "abandoned": feedback.get("status") == "abandoned",
        "analysed": analysed,
        "kind": feedback.get("kind") or "",
        "aspects": list(feedback.get("aspects") or []),
        "entities": mentioned,
        "status": ticket.status.value,
        "undeliverable": ticket.undeliverable,
        "delivery": ticket.delivery,
        "resolved": ticket.resolved,
        "contact": bool(feedback.get("contact")),
    }


class VenueRenderers(Protocol):
    """Where the texts of a brand's venue come from (`bot.editing.in_force.LiveDialogs`: its admins' edits)."""

    async def renderer_for(self, brand: str, venue: str | None) -> MessageRenderer: ...


class Cards:
    """Posts and edits the cards of tickets in their staff room."""

    def __init__(
        self,
        store: Store,
        rooms: RoomStore,
        tickets: TicketStore,
        renderer: MessageRenderer,
        bot: Bot,
        *,
        renderers: VenueRenderers | None = None,
    ) -> None:
        """`renderers` gives each venue the templates its admins saved (without it: `renderer` for all)."""
        self.store = store
        self.rooms = rooms
        self.tickets = tickets
        self.renderer = renderer
        self.bot = bot
        self.renderers = renderers

    async def renderer_for(self, brand: str, venue: str | None) -> MessageRenderer:
        """The renderer of a venue's texts: its admins' edits when live edits are on."""
        return self.renderer if self.renderers is None else await self.renderers.renderer_for(brand, venue)

    async def render(
        self, ticket: Ticket, feedback: Mapping[str, Any], language: str
    ) -> tuple[str, InlineKeyboardMarkup | None]:
        renderer = await self.renderer_for(ticket.brand, ticket.venue)
        text = renderer.render(MessagePart("staff_card", card_variables(ticket, feedback)), language)
        # The customer's texts make the card as long as they were: cut to Telegram's limit, with a visible
        # "…" (the whole text stays in the export and the web admin).
        return fit_html(text), self.keyboard(ticket, language, renderer)

    def keyboard(
        self, ticket: Ticket, language: str, renderer: MessageRenderer | None = None
    ) -> InlineKeyboardMarkup | None:
        """Close and Spam while the ticket is open; none once it is closed (an edit without one removes it)."""
        if not ticket.status.is_open:
            return None
        renderer = renderer or self.renderer
        close = renderer.render_label(MessagePart("button_close"), language)
        spam = renderer.render_label(MessagePart("button_spam"), language)
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(close, callback_data=f"{CLOSE_PREFIX}{ticket.number}"),
                    InlineKeyboardButton(spam, callback_data=f"{SPAM_PREFIX}{ticket.number}"),
                ]
            ]
        )

    async def post(self, ticket: Ticket, now: float) -> bool:
        """Post the ticket's card in the room of its venue (once); True when it was posted now."""
        room = await self.rooms.for_venue(ticket.brand, ticket.venue)
        if room is None or not ticket.status.answerable or not await self.tickets.claim_card(ticket, now):
            return False
        feedback = await self.store.get_feedback(ticket.brand, ticket.feedback)
        text, markup = await self.render(ticket, feedback, room.language)
        send = functools.partial(
            self.bot.send_message, room.chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
        )
        what = f"card of ticket {ticket.brand}/{ticket.number}"
        sent = await call_telegram(send, idempotent=False, what=what, priority=Priority.CARD)
        if sent.ok and isinstance(sent.result, Message):
            hours = await self.store.deadline_hours(ticket.brand)
            analysed = feedback.get("analysed_at") is not None
            due = await HoursStore(self.store.redis).due(ticket.brand, ticket.venue, ticket.created_at, hours * 3600)
            await self.tickets.card_posted(ticket, room.chat_id, sent.result.message_id, analysed=analysed, due=due)
            return True
        await self.tickets.release_card(ticket)
        if sent.outcome is Delivered.BLOCKED:
            log.warning("the bot is not in staff room %s any more: unlinked", room.chat_id)
            await self.rooms.unlink(room)
            return False
        tries = await self.tickets.card_failed(ticket)
        if tries < CARD_ATTEMPTS:
            await self.tickets.schedule_card(ticket.brand, ticket.feedback, now + RETRY_CARD_AFTER)
            return False
        # Never retried forever: the ticket stays open (reminders, /tickets, the export), without a card.
        log.error("%s: given up after %d tries; the ticket is open without a card", what, tries)
        await self.tickets.card_given_up(ticket)
        await self.say(room, "staff_card_given_up", {"ticket": ticket.number, "tries": tries})
        return False

    async def refresh(self, ticket: Ticket) -> None:
        """Edit the card to show the ticket and its feedback as they are now (analysis, status)."""
        if ticket.card_message is None or ticket.room is None:
            return
        room = await self.rooms.get(ticket.room)
        language = room.language if room is not None else "fr"
        feedback = await self.store.get_feedback(ticket.brand, ticket.feedback)
        text, markup = await self.render(ticket, feedback, language)
        edit = functools.partial(
            self.bot.edit_message_text,
            text,
            chat_id=ticket.room,
            message_id=ticket.card_message,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
        )
        what = f"card edit of ticket {ticket.brand}/{ticket.number}"
        sent = await call_telegram(edit, idempotent=True, what=what, priority=Priority.CARD)
        if sent.ok and feedback.get("analysed_at") is not None and not ticket.card_analysed:
            await self.tickets.card_analysed(ticket)

    async def say(
        self,
        room: StaffRoom | int,
        template: str,
        variables: Mapping[str, Any],
        *,
        language: str = "fr",
        reply_to: int | None = None,
        priority: Priority = Priority.CARD,
    ) -> Message | None:
        """Send a message from a template to a room (in its language) or to a chat (in `language`);
        the message, or None when it could not be sent."""
        chat_id = room.chat_id if isinstance(room, StaffRoom) else room
        renderer = self.renderer
        if isinstance(room, StaffRoom):
            language = room.language
            renderer = await self.renderer_for(room.brand, room.venue)
        text = fit_html(renderer.render(MessagePart(template, variables), language))  # lists of customers' texts
        send = functools.partial(
            self.bot.send_message, chat_id, text, parse_mode=ParseMode.HTML, reply_parameters=_reply(reply_to)
        )
        sent = await call_telegram(send, idempotent=False, what=f"{template} in {chat_id}", priority=priority)
        return sent.result if sent.ok and isinstance(sent.result, Message) else None


def _reply(message_id: int | None) -> ReplyParameters | None:
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


def closed_status(data: str) -> tuple[TicketStatus, int] | None:
    """The status a card button asks for and its ticket number, or None for other callback data."""
    for prefix, status in ((CLOSE_PREFIX, TicketStatus.CLOSED), (SPAM_PREFIX, TicketStatus.SPAM)):
        if data.startswith(prefix) and data[len(prefix) :].isdigit():
            return status, int(data[len(prefix) :])
    return None
