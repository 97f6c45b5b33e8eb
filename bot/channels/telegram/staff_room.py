"""The staff room adapter: Telegram groups in, commands and card buttons, authorization, answers out.

Commands in a group: `/link CODE` (any group the bot is in), and in a linked room `/reply N TEXT`,
`/close [N]`, `/tickets`, `/unlink` and `/news VENUE [FROM..TO] TEXT` (brand admins). A Telegram reply
to a card, or to any message of a ticket's thread, is relayed to the customer. Only members of a room
linked to the ticket's brand act on a ticket, and a venue's room only on that venue's tickets: ticket
numbers are read in the room's brand, so a number guessed from another brand names nothing. Other
messages in groups are staff talking among themselves: ignored.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Callable, Mapping

from telegram import (
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.ext import ContextTypes

from bot.botapi.outbound import Priority
from bot.botapi.sending import call_telegram
from bot.customers.broadcasts import BroadcastReport, NewsJob
from bot.customers.news import NewsSender
from bot.errors import InvalidInput, NotFound, problem
from bot.insights.stats import parse_day
from bot.refusals import refusal_text
from bot.seam.commands import parse_command
from bot.staff.auth import StaffAuth
from bot.staff.cards import Cards, closed_status
from bot.staff.commands import NEWS_DROP_PREFIX, NEWS_SEND_PREFIX, STAFF_COMMANDS, STAFF_HELP_COMMANDS
from bot.staff.relay import Relay
from bot.staff.rooms import LinkProblem, LinkRefused, RoomStore, StaffRoom
from bot.staff.tickets import Ticket, TicketStatus, TicketStore
from bot.storage import keys
from bot.storage.identity import CustomerId
from bot.storage.venues import Venue
from bot.storage.vocabulary import VocabularyStore
from dialogs.markup import fit_html
from dialogs.render import MessageRenderer
from dialogs.types import MessagePart

log = logging.getLogger(__name__)

_TICKET_FIRST = re.compile(r"^#?(\d{1,9})(?:\s+(.*))?$", re.DOTALL)
_LINK_PROBLEMS = {
    LinkProblem.BAD_CODE: "staff_link_bad_code",
    LinkProblem.OTHER_BRAND: "staff_link_other_brand",
    LinkProblem.GONE: "staff_link_bad_code",
}
MAX_LISTED = 30
_PERIOD = re.compile(r"^(\d{4}-\d{2}-\d{2})?\.\.(\d{4}-\d{2}-\d{2})?$")
NEWS_DRAFT_SECONDS = 3600  # a /news preview's buttons work this long


def _period(found: re.Match[str] | None) -> tuple[float | None, float | None]:
    """`FROM..TO` (days, UTC, both included) as [since, until) Unix times."""
    if found is None:
        return None, None
    start, end = found.groups()
    since = parse_day(start, problem("period_start", "the period's start")) if start else None
    until = parse_day(end, problem("period_end", "the period's end")) + 24 * 3600 if end else None
    return since, until


def _report(report: BroadcastReport) -> dict[str, object]:
    return {**report.to_json(), "done": report.done}


class StaffRoomChat:
    """Handles the updates of groups: linking, commands, replies to cards, card buttons."""

    def __init__(
        self,
        rooms: RoomStore,
        tickets: TicketStore,
        cards: Cards,
        relay: Relay,
        auth: StaffAuth,
        renderer: MessageRenderer,
        *,
        bot_username: str,
        language_for: Callable[[str | None], str],
        clock: Callable[[], float] = time.time,
        news: NewsSender | None = None,
    ) -> None:
        self.rooms = rooms
        self.tickets = tickets
        self.cards = cards
        self.relay = relay
        self.auth = auth
        self.renderer = renderer
        self.bot_username = bot_username
        self.language_for = language_for
        self.clock = clock
        self.vocabulary = VocabularyStore(rooms.redis)
        self.news = news

    async def handle_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None or chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
            return
        if update.my_chat_member is not None:
            await self._membership(update.my_chat_member)
        elif update.callback_query is not None:
            await self._button(update.callback_query)
        elif update.message is not None:
            await self._message(update.message)

    # --- messages --------------------------------------------------------------------------------

    async def _message(self, message: Message) -> None:
        user = message.from_user
        if user is None or user.is_bot or message.sender_chat is not None:
            return  # channels and anonymous admins cannot be told apart from outsiders: ignored
        command = parse_command(message.text, self.bot_username)
        if command is not None and command[0] in STAFF_COMMANDS:
            name, args = command
            if name == "link":
                await self._link(message, args)
                return
            room = await self._room_for_command(message)
            if room is None:
                return
            if name == "unlink":
                await self._unlink(room, message)
            elif name == "reply":
                await self._reply_command(room, message, args)
            elif name == "close":
                await self._close_command(room, message, args)
            elif name == "vocab":
                await self._vocab(room, message, args)
            elif name == "news" and self.news is not None:
                await self._news(room, message, args)
            else:
                await self._list(room, message)
        elif command is not None and command[0] in STAFF_HELP_COMMANDS:
            await self._help(message)
        elif command is None and message.reply_to_message is not None:
            await self._thread_reply(message)

    async def _help(self, message: Message) -> None:
        """/help or /start in a group: what the bot does in a staff room, or how this group becomes one."""
        room = await self.rooms.get(message.chat_id)
        if room is None:
            variables: dict[str, object] = {"linked": False, "brand_name": ""}
            await self._say(message.chat_id, "staff_help", variables, self._language(message), message.message_id)
            return
        brand = await self.cards.store.get_brand(room.brand)
        variables = {"linked": True, "brand_name": brand.name}
        await self.cards.say(room, "staff_help", variables, reply_to=message.message_id)

    async def _say(
        self, chat_id: int, template: str, variables: dict[str, object], language: str, reply_to: int
    ) -> None:
        await self.cards.say(chat_id, template, variables, language=language, reply_to=reply_to)

    def _language(self, message: Message) -> str:
        return self.language_for(message.from_user.language_code if message.from_user else None)

    async def _room_for_command(self, message: Message) -> StaffRoom | None:
        """The linked room a staff command was sent in, if its sender may act there; else say why."""
        assert message.from_user is not None
        room = await self.rooms.get(message.chat_id)
        if room is None:
            await self._say(message.chat_id, "staff_not_linked", {}, self._language(message), message.message_id)
            return None
        if not await self.auth.is_staff(room.chat_id, message.from_user.id):
            await self.cards.say(room, "staff_not_allowed", {}, reply_to=message.message_id)
            return None
        return room

    async def _ticket(self, room: StaffRoom, number: int) -> Ticket | None:
        """The ticket with this number in the room's brand, if the room covers its venue."""
        ticket = await self.tickets.get(room.brand, number)
        return ticket if ticket is not None and room.covers(ticket.venue) else None

    async def _replied_ticket(self, room: StaffRoom, message: Message) -> Ticket | None:
        replied = message.reply_to_message
        if replied is None:
            return None
        number = await self.tickets.for_message(room.brand, room.chat_id, replied.message_id)
        return await self._ticket(room, number) if number is not None else None

    async def _link(self, message: Message, args: str) -> None:
        assert message.from_user is not None
        language = self._language(message)
        if not args:
            await self._say(message.chat_id, "staff_link_usage", {}, language, message.message_id)
            return
        try:
            linked = await self.rooms.link(
                args,
                chat_id=message.chat_id,
                title=message.chat.title or "",
                language=language,
                user_id=message.from_user.id,
                now=self.clock(),
            )
        except LinkRefused as refused:
            await self._say(message.chat_id, _LINK_PROBLEMS[refused.problem], {}, language, message.message_id)
            return
        venue_name = ""
        if linked.room.venue is not None:
            venue_name = (await self.cards.store.get_venue(linked.room.brand, linked.room.venue)).name
        brand = await self.cards.store.get_brand(linked.room.brand)
        variables = {"brand_name": brand.name, "venue_name": venue_name}
        await self.cards.say(linked.room, "staff_linked", variables, reply_to=message.message_id)
        if linked.replaced is not None:
            await self.cards.say(linked.replaced, "staff_moved", {**variables, "title": linked.room.title})
        await self.relay.post_waiting(linked.room)  # what customers wrote while no room covered their tickets

    async def _unlink(self, room: StaffRoom, message: Message) -> None:
        assert message.from_user is not None
        if not await self.auth.is_admin(room.chat_id, message.from_user.id):
            await self.cards.say(room, "staff_unlink_refused", {}, reply_to=message.message_id)
            return
        await self.rooms.unlink(room)
        await self.cards.say(room, "staff_unlinked", {}, reply_to=message.message_id)

    async def _vocab(self, room: StaffRoom, message: Message, args: str) -> None:
        """`/vocab list`, `/vocab add LABEL TERM`, `/vocab remove TERM`: the brand's vocabulary, for its admins."""
        assert message.from_user is not None
        reply = message.message_id
        action, _, rest = args.strip().partition(" ")
        action = action.lower()
        if action not in ("list", "add", "remove", "") or (action in ("add", "remove") and not rest.strip()):
            await self.cards.say(room, "staff_vocab_usage", {}, reply_to=reply)
            return
        if action in ("list", ""):
            vocabulary = await self.vocabulary.load(room.brand)
            entries = [e.to_json() for e in vocabulary.entries]
            await self.cards.say(room, "staff_vocab_list", {"count": len(entries), "entries": entries}, reply_to=reply)
            return
        if not await self.auth.is_admin(room.chat_id, message.from_user.id):
            await self.cards.say(room, "staff_admin_only", {}, reply_to=reply)
            return
        try:
            if room.venue is not None and not self.auth.is_operator(message.from_user.id):
                # The vocabulary is the brand's, for every venue: a venue room's admins act on their venue only.
                raise InvalidInput(
                    problem(
                        "vocab_brand_room", "the brand's vocabulary is changed from the brand's room, not a venue's"
                    )
                )
            if action == "add":
                label, _, term = rest.strip().partition(" ")
                if not term.strip():
                    await self.cards.say(room, "staff_vocab_usage", {}, reply_to=reply)
                    return
                entry = await self.vocabulary.add(room.brand, label, term)
                await self.cards.say(room, "staff_vocab_added", entry.to_json(), reply_to=reply)
            else:
                removed = await self.vocabulary.remove(room.brand, rest)
                await self.cards.say(room, "staff_vocab_removed", {"text": removed[0].text}, reply_to=reply)
        except (InvalidInput, NotFound) as refused:
            await self.cards.say(room, "staff_vocab_refused", {"problem": refusal_text(refused)}, reply_to=reply)

    async def _news(self, room: StaffRoom, message: Message, args: str) -> None:
        """`/news [VENUE] [FROM..TO] TEXT`: a message to the venue's customers who opted in (in that period), shown
        first as they will read it with their number and Envoyer / Annuler; nothing goes out before Envoyer. In a
        venue's room, VENUE is that venue's and may be left out."""
        assert message.from_user is not None and self.news is not None
        reply = message.message_id
        if not await self.auth.is_admin(room.chat_id, message.from_user.id):
            await self.cards.say(room, "staff_admin_only", {}, reply_to=reply)
            return
        venue_code, rest = await self._news_venue(room, args.strip())
        first, _, after = rest.partition(" ")
        period = _PERIOD.match(first)
        text = after.strip() if period else rest
        if not venue_code or not text or (period and not any(period.groups())):
            await self.cards.say(room, "staff_news_usage", {"venue_room": room.venue is not None}, reply_to=reply)
            return
        since, until = None, None
        try:
            since, until = _period(period)
            if not room.covers(venue_code):
                raise InvalidInput(
                    problem("room_venue_only", "this room is for the feedback of {venue!r} only", venue=room.venue)
                )
            venue, chats = await self.news.prepare(room.brand, venue_code, text, since=since, until=until)
        except (InvalidInput, NotFound) as refused:
            await self.cards.say(room, "staff_news_refused", {"problem": refusal_text(refused)}, reply_to=reply)
            return
        if not chats:
            await self.cards.say(room, "staff_news_nobody", {"venue_name": venue.name}, reply_to=reply)
            return
        draft = {"venue": venue.code, "text": text, "since": since, "until": until, "by": message.from_user.id}
        await self._news_preview(room, message.message_id, venue, len(chats), draft)

    async def _news_venue(self, room: StaffRoom, args: str) -> tuple[str, str]:
        """The venue a /news names and the rest of it: a venue's room's own venue when its first word names no
        venue of the brand (another venue's code stays, to be refused)."""
        first, _, rest = args.partition(" ")
        if room.venue is None or first == room.venue:
            return first, rest.strip()
        try:
            await self.cards.store.get_venue(room.brand, first)
        except NotFound:
            return room.venue, args
        return first, rest.strip()

    async def _news_preview(
        self, room: StaffRoom, command: int, venue: Venue, count: int, draft: Mapping[str, object]
    ) -> None:
        """The message as customers will read it, between what it is and "send to N customers?", with the buttons;
        the draft waits for them an hour."""
        assert self.news is not None
        renderer = await self.cards.renderer_for(room.brand, room.venue)
        brand_name = (await self.cards.store.get_brand(room.brand)).name
        sample = {"venue_name": venue.name, "brand_name": brand_name, "text": draft["text"]}
        parts = [
            MessagePart("staff_news_preview", {"venue_name": venue.name}),
            MessagePart("news_message", sample),
            MessagePart("staff_news_confirm", {"count": count}),
        ]
        shown = fit_html("\n\n".join(renderer.render(part, room.language) for part in parts))
        send = renderer.render_label(MessagePart("button_news_send"), room.language)
        cancel = renderer.render_label(MessagePart("button_news_cancel"), room.language)
        buttons = InlineKeyboardMarkup(
            [[
                InlineKeyboardButton(send, callback_data=f"{NEWS_SEND_PREFIX}{command}"),
                InlineKeyboardButton(cancel, callback_data=f"{NEWS_DROP_PREFIX}{command}"),
            ]]
        )  # fmt: skip
        key = keys.news_draft(room.brand, room.chat_id, command)
        await self.rooms.redis.set(key, json.dumps(draft, ensure_ascii=False), ex=NEWS_DRAFT_SECONDS)
        say = functools.partial(
            self.cards.bot.send_message, room.chat_id, shown, parse_mode=ParseMode.HTML, reply_markup=buttons,
            reply_parameters=ReplyParameters(command, allow_sending_without_reply=True),
        )  # fmt: skip
        await call_telegram(say, idempotent=False, what="news preview")

    async def _news_button(self, query: CallbackQuery, room: StaffRoom | None) -> str | None:
        """Envoyer or Annuler under a /news preview, by its author, once; the notice to show (None: done)."""
        data = query.data or ""
        sending = data.startswith(NEWS_SEND_PREFIX)
        command = data.removeprefix(NEWS_SEND_PREFIX if sending else NEWS_DROP_PREFIX)
        language = room.language if room is not None else "fr"
        if room is None or self.news is None or not command.isdigit() or query.message is None:
            return self._notice("expired_button", {}, language)
        key = keys.news_draft(room.brand, room.chat_id, int(command))
        raw = await self.rooms.redis.get(key)  # another room's button names no draft of this one
        if raw is None:
            return self._notice("expired_button", {}, language)  # sent, cancelled, or older than an hour
        draft = json.loads(raw)
        if query.from_user.id != draft["by"] or not await self.auth.is_admin(room.chat_id, query.from_user.id):
            return self._notice("staff_news_not_yours", {}, language)
        if not await self.rooms.redis.getdel(key):
            return self._notice("expired_button", {}, language)  # pressed twice at once: the other press won
        preview = query.message.message_id
        if not sending:
            cancelled = self.renderer.render(MessagePart("staff_news_cancelled"), language)
            edit = functools.partial(
                self.cards.bot.edit_message_text, cancelled, chat_id=room.chat_id, message_id=preview,
                parse_mode=ParseMode.HTML,
            )  # fmt: skip
            await call_telegram(edit, idempotent=True, what="news preview cancelled")
            return None
        unbutton = functools.partial(
            self.cards.bot.edit_message_reply_markup, chat_id=room.chat_id, message_id=preview, reply_markup=None
        )
        await call_telegram(unbutton, idempotent=True, what="news preview sent")
        text = str(draft["text"])
        try:  # the subscribers of now: some may have left since the preview
            since, until = draft["since"], draft["until"]
            venue, chats = await self.news.prepare(room.brand, str(draft["venue"]), text, since=since, until=until)
        except (InvalidInput, NotFound) as refused:
            await self.cards.say(room, "staff_news_refused", {"problem": str(refused)}, reply_to=preview)
            return None
        if not chats:
            await self.cards.say(room, "staff_news_nobody", {"venue_name": venue.name}, reply_to=preview)
            return None
        await self._broadcast(room, venue, chats, text, reply_to=preview)
        return None

    async def _broadcast(
        self, room: StaffRoom, venue: Venue, chats: list[CustomerId], text: str, *, reply_to: int
    ) -> None:
        """Start a confirmed /news as a job in Redis (whichever bot process holds its lease sends it, and another
        finishes it if that one stops); its report in the room, edited as it goes."""
        assert self.news is not None
        job = await self.news.create(venue, chats, text, room=room.chat_id, language=room.language)
        nothing_yet = BroadcastReport(venue.brand, venue.code, venue.name, len(chats))
        started = await self.cards.say(room, "staff_news_progress", _report(nothing_yet), reply_to=reply_to)
        if started is not None:
            job = await self.news.jobs.reported_in(job, started.message_id)
        self.news.start(job)

    async def news_report(self, job: NewsJob, report: BroadcastReport) -> None:
        """Show how a broadcast goes in the room message that announced it (whichever process sends it)."""
        if job.room is None or job.report_message is None:
            return
        text = self.renderer.render(MessagePart("staff_news_progress", _report(report)), job.language)
        edit = functools.partial(
            self.cards.bot.edit_message_text, text, chat_id=job.room, message_id=job.report_message,
            parse_mode=ParseMode.HTML,
        )  # fmt: skip
        await call_telegram(edit, idempotent=True, what="news report", priority=Priority.CARD)

    async def _reply_command(self, room: StaffRoom, message: Message, args: str) -> None:
        found = _TICKET_FIRST.match(args)
        ticket: Ticket | None
        if found is not None and found.group(2):
            number, text = int(found.group(1)), found.group(2)
            ticket = await self._ticket(room, number)
        elif found is None and args and message.reply_to_message is not None:
            text = args  # "/reply TEXT" sent as a reply to a card
            ticket = await self._replied_ticket(room, message)
            number = ticket.number if ticket is not None else 0
        else:
            await self.cards.say(room, "staff_reply_usage", {}, reply_to=message.message_id)
            return
        if ticket is None:
            await self.cards.say(room, "staff_ticket_unknown", {"ticket": number}, reply_to=message.message_id)
            return
        await self.relay.to_customer(room, ticket, message, text)

    async def _thread_reply(self, message: Message) -> None:
        assert message.from_user is not None
        room = await self.rooms.get(message.chat_id)
        if room is None:
            return
        ticket = await self._replied_ticket(room, message)
        if ticket is None or not await self.auth.is_staff(room.chat_id, message.from_user.id):
            return  # a reply to something else: staff talking among themselves
        if not message.text:
            await self.cards.say(room, "staff_only_text", {"ticket": ticket.number}, reply_to=message.message_id)
            return
        await self.relay.to_customer(room, ticket, message, message.text)

    async def _close_command(self, room: StaffRoom, message: Message, args: str) -> None:
        if args:
            found = _TICKET_FIRST.match(args)
            if found is None or found.group(2):
                await self.cards.say(room, "staff_close_usage", {}, reply_to=message.message_id)
                return
            number = int(found.group(1))
            ticket = await self._ticket(room, number)
        else:
            ticket = await self._replied_ticket(room, message)
            if ticket is None:
                await self.cards.say(room, "staff_close_usage", {}, reply_to=message.message_id)
                return
            number = ticket.number
        if ticket is None:
            await self.cards.say(room, "staff_ticket_unknown", {"ticket": number}, reply_to=message.message_id)
            return
        if not ticket.status.is_open:
            await self.cards.say(room, "staff_ticket_closed", {"ticket": number}, reply_to=message.message_id)
            return
        await self._close(ticket, TicketStatus.CLOSED)
        await self.cards.say(room, "staff_closed", {"ticket": number}, reply_to=message.message_id)

    async def _close(self, ticket: Ticket, status: TicketStatus) -> None:
        await self.relay.close(ticket, status)

    async def _list(self, room: StaffRoom, message: Message) -> None:
        now = self.clock()
        tickets = [t for t in await self.tickets.open_tickets(room.brand) if room.covers(t.venue)]
        if not tickets:
            await self.cards.say(room, "staff_no_tickets", {}, reply_to=message.message_id)
            return
        listed = [
            {
                "number": t.number,
                "venue_name": t.venue_name,
                "status": t.status.value,
                "hours": int(max(0.0, now - t.created_at) // 3600),
                "undeliverable": t.undeliverable,
                "delivery": t.delivery,
            }
            for t in tickets[-MAX_LISTED:]
        ]
        variables = {"tickets": listed, "count": len(tickets), "more": max(0, len(tickets) - MAX_LISTED)}
        await self.cards.say(room, "staff_tickets", variables, reply_to=message.message_id)

    # --- card buttons ----------------------------------------------------------------------------

    async def _button(self, query: CallbackQuery) -> None:
        notice: str | None = None
        wanted = closed_status(query.data or "")
        room = await self.rooms.get(query.message.chat.id) if query.message is not None else None
        if (query.data or "").startswith((NEWS_SEND_PREFIX, NEWS_DROP_PREFIX)):
            notice = await self._news_button(query, room)
        elif wanted is not None and room is not None:
            status, number = wanted
            if not await self.auth.is_staff(room.chat_id, query.from_user.id):
                notice = self._notice("staff_not_allowed_notice", {}, room.language)
            else:
                ticket = await self._ticket(room, number)
                if ticket is None or not ticket.status.is_open:
                    notice = self._notice("expired_button", {}, room.language)
                else:
                    await self._close(ticket, status)
                    name = "ticket_spam_notice" if status is TicketStatus.SPAM else "ticket_closed_notice"
                    notice = self._notice(name, {"ticket": number}, room.language)
        await call_telegram(functools.partial(query.answer, text=notice), idempotent=True, what="card button")

    def _notice(self, template: str, variables: dict[str, object], language: str) -> str:
        return self.renderer.render(MessagePart(template, variables), language)[:200]

    # --- the bot's own membership ----------------------------------------------------------------

    async def _membership(self, change: ChatMemberUpdated) -> None:
        """The bot was removed from a group: a staff room it was stops being one."""
        if change.new_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
            room = await self.rooms.get(change.chat.id)
            if room is not None:
                log.info("the bot left staff room %s of %s: unlinked", room.chat_id, room.brand)
                await self.rooms.unlink(room)
