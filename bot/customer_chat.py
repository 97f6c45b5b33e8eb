"""The customer's private chat: Telegram updates in, dialog engine, Redis, Bot API calls out."""

from __future__ import annotations

import dataclasses
import functools
import logging
import secrets
import time
import warnings
from collections.abc import Callable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram.warnings import PTBUserWarning

from bot.live import LiveDialogs, ScopeKit
from bot.privacy import FORGET_YES, CustomerData
from bot.relay import Relay
from bot.sending import call_telegram
from bot.staff_room import STAFF_COMMANDS
from bot.store import Store
from dialogs.answers import normalise_venue_code
from dialogs.engine import DialogEngine
from dialogs.messages import MessageName
from dialogs.render import MessageRenderer, RenderedMessage
from dialogs.types import (
    Button,
    Command,
    Conversation,
    Event,
    MessagePart,
    NonText,
    Outcome,
    Start,
    Text,
    VenueCodeAnswer,
    VenueRef,
)

log = logging.getLogger(__name__)
# The raw `do_api_request` for sendMessage/editMessageText is deliberate (see `_answer`): no warning for it.
warnings.filterwarnings(
    "ignore", message=r"Please use 'Bot\.\w+' instead of 'Bot\.do_api_request", category=PTBUserWarning
)

# Message attributes that carry something other than text, in the order Telegram documents them.
_MEDIA_KINDS = (
    "animation", "audio", "document", "photo", "sticker", "story", "video", "video_note", "voice",
    "contact", "dice", "game", "poll", "venue", "location", "invoice", "paid_media",
)  # fmt: skip
_PRIVACY_COMMANDS = frozenset({"forget", "mydata"})
_FORGET_BUTTON = "forget:"


def new_feedback_id(now: float) -> str:
    """A feedback id that sorts by time and cannot collide: milliseconds in hex + 16 random bits."""
    return f"{int(now * 1000):011x}{secrets.token_hex(2)}"


class CustomerChat:
    """Turns each update of a private chat into one engine step, stored, then answered."""

    def __init__(
        self,
        store: Store,
        engine: DialogEngine,
        renderer: MessageRenderer,
        *,
        bot_username: str,
        duplicate_window: float,
        conversation_timeout: float,
        clock: Callable[[], float] = time.time,
        relay: Relay | None = None,
        privacy: CustomerData | None = None,
        live: LiveDialogs | None = None,
    ) -> None:
        """`relay` passes the customer's texts to the staff room of an open ticket when no feedback is
        under way; `privacy` answers `/mydata` and `/forget`. Without them those commands get the help.
        `live` gives each venue the templates and flow its admins saved (without it: `engine` and
        `renderer` for every venue)."""
        self.store = store
        self.engine = engine
        self.renderer = renderer
        self.bot_username = bot_username.lower()
        self.duplicate_window = duplicate_window
        self.conversation_timeout = conversation_timeout
        self.clock = clock
        self.relay = relay
        self.privacy = privacy
        self.live = live
        self._fixed = ScopeKit(renderer, engine, "")

    def register(self, application: Application) -> None:  # type: ignore[type-arg]
        application.add_handler(TypeHandler(Update, self.handle_update))

    async def handle_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        message = update.message
        chat = update.effective_chat
        user = update.effective_user
        if chat is None or chat.type != ChatType.PRIVATE or user is None or user.is_bot:
            return
        if query is not None:
            if self.privacy is not None and (query.data or "").startswith(_FORGET_BUTTON):
                await self._forget_button(update)
                return
            await self._step(update, Button(query.data or ""), payload=None)
        elif message is not None:
            command = self._command(message)
            if command is not None and await self._side_command(update, command[0]):
                return
            if command is not None and command[0] == "start":
                await self._step(update, None, payload=command[1] or None, bare_start=not command[1])
            elif command is not None:
                await self._step(update, Command(command[0], command[1]), payload=None)
            elif message.text is not None:
                await self._step(update, Text(message.text), payload=None)
            else:
                await self._step(update, NonText(self._kind(message)), payload=None)

    async def _language(self, update: Update) -> str:
        """The language to answer in outside the dialog: the one chosen with /language, else Telegram's."""
        chat, user = update.effective_chat, update.effective_user
        assert chat is not None and user is not None
        conversation = (await self.store.load_chat(chat.id)).conversation
        if conversation is not None and conversation.language_chosen:
            return conversation.language
        return self.engine.language_for(user.language_code)

    async def _side_command(self, update: Update, name: str) -> bool:
        """Answer the commands that are not part of the dialog; False for the others."""
        chat = update.effective_chat
        assert chat is not None
        if name in STAFF_COMMANDS:
            await self._say(update, "staff_command_private", await self._language(update))
        elif name in _PRIVACY_COMMANDS and self.privacy is not None:
            if name == "forget":
                await self.privacy.ask_forget(chat.id, await self._language(update))
            else:
                await self.privacy.send_my_data(chat.id, await self._language(update))
        else:
            return False
        return True

    async def _forget_button(self, update: Update) -> None:
        query, chat = update.callback_query, update.effective_chat
        assert query is not None and chat is not None and self.privacy is not None
        language = await self._language(update)
        await call_telegram(query.answer, idempotent=True, what="callback answer")
        if query.data == FORGET_YES:
            await self.privacy.forget(chat.id)
            template = "forgotten"
        else:
            template = "forget_cancelled"
        text = self.renderer.render(MessagePart(template), language)
        if isinstance(query.message, Message):
            edit = functools.partial(query.message.edit_text, text, parse_mode=ParseMode.HTML)
            await call_telegram(edit, idempotent=True, what="edit in a customer chat")

    async def _say(self, update: Update, template: str, language: str) -> None:
        chat = update.effective_chat
        assert chat is not None
        text = self.renderer.render(MessagePart(template), language)
        send = functools.partial(update.get_bot().send_message, chat.id, text, parse_mode=ParseMode.HTML)
        await call_telegram(send, idempotent=False, what=template)

    def _command(self, message: Message) -> tuple[str, str] | None:
        text = message.text or ""
        if not text.startswith("/"):
            return None
        head, _, args = text[1:].partition(" ")
        name, _, target = head.partition("@")
        if target and target.lower() != self.bot_username:
            return None
        if not name:
            return None
        return name.lower(), args.strip()

    @staticmethod
    def _kind(message: Message) -> str:
        for kind in _MEDIA_KINDS:
            if getattr(message, kind, None):
                return kind
        return "other"

    async def _step(
        self, update: Update, event: Event | None, *, payload: str | None, bare_start: bool = False
    ) -> None:
        chat = update.effective_chat
        user = update.effective_user
        assert chat is not None and user is not None
        now = self.clock()
        token = payload if payload and _looks_like_token(payload) else None
        snapshot = await self.store.load_chat(chat.id, token)
        state = snapshot.conversation or Conversation()
        kit = await self._kit(state.venue, snapshot.revision)
        if not state.language_chosen:
            state = dataclasses.replace(state, language=kit.engine.language_for(user.language_code))
        engine = kit.engine
        if event is None:  # /start, with or without a payload
            venue = snapshot.venue
            event = Start(payload=payload, venue=venue, already_rated=await self._rated(venue, chat.id))
        elif isinstance(event, Text) and kit.engine.expects_venue_code(state, now=now):
            code = normalise_venue_code(event.text)
            venue = await self.store.venue_by_short_code(code) if code else None
            event = VenueCodeAnswer(event.text, venue, already_rated=await self._rated(venue, chat.id))
        if isinstance(event, Start | VenueCodeAnswer):
            kit = await self._kit(event.venue, snapshot.revision)  # a new feedback starts on the newest flow
            engine = kit.engine
        elif state.step is not None and state.flow_ref != kit.flow_ref and self.live is not None:
            engine = await self.live.pinned(kit, state.flow_ref)  # finishes on the flow it started with
        outcome = engine.handle(state, event, now=now, new_feedback_id=new_feedback_id(now))
        flow_ref = kit.flow_ref if engine is kit.engine else state.flow_ref
        if outcome.state.flow_ref != flow_ref:
            outcome = dataclasses.replace(outcome, state=dataclasses.replace(outcome.state, flow_ref=flow_ref))
        if self.relay is not None and isinstance(event, Text) and _is_idle_answer(outcome):
            # No feedback under way: a text may be the customer answering the staff of a recent ticket.
            message = update.message
            if message is not None and await self.relay.from_customer(message, chat.id, state.language, event.text):
                return
        if outcome.feedback or outcome.state != state or snapshot.conversation is None:
            await self.store.save_turn(
                chat.id,
                outcome.state,
                outcome.feedback,
                duplicate_window=self.duplicate_window,
                conversation_timeout=self.conversation_timeout,
            )
        await self._answer(update, outcome, kit.renderer)

    async def _kit(self, venue: VenueRef | None, revision: int) -> ScopeKit:
        return self._fixed if self.live is None else await self.live.kit(venue, revision)

    async def _rated(self, venue: VenueRef | None, customer_id: int) -> bool:
        return venue is not None and await self.store.recently_rated(venue, customer_id)

    async def _answer(self, update: Update, outcome: Outcome, renderer: MessageRenderer) -> None:
        language = outcome.state.language
        query = update.callback_query
        if query is not None:
            notice = renderer.render(outcome.notice, language) if outcome.notice else None
            answer = functools.partial(query.answer, text=notice[:200] if notice else None)
            await call_telegram(answer, idempotent=True, what="callback answer")
        chat = update.effective_chat
        assert chat is not None
        clicked = query.message if query is not None and isinstance(query.message, Message) else None
        bot = update.get_bot()
        for reply in outcome.replies:
            rendered = renderer.render_reply(reply, language)
            params: dict[str, object] = {"chat_id": chat.id, "text": rendered.text, "parse_mode": ParseMode.HTML}
            markup = _keyboard(rendered)
            if markup is not None:
                params["reply_markup"] = markup
            # The raw call: the bot never reads the Message Telegram sends back, so it is not parsed.
            if reply.replace_clicked and clicked is not None:
                params["message_id"] = clicked.message_id
                edit = functools.partial(bot.do_api_request, "editMessageText", api_kwargs=params)
                await call_telegram(edit, idempotent=True, what="edit in a customer chat")
            else:
                send = functools.partial(bot.do_api_request, "sendMessage", api_kwargs=params)
                await call_telegram(send, idempotent=False, what="message to a customer")


def _is_idle_answer(outcome: Outcome) -> bool:
    """Tell whether the engine only answers that no feedback is under way (the `idle` message)."""
    return (
        not outcome.feedback
        and len(outcome.replies) == 1
        and [part.template for part in outcome.replies[0].parts] == [MessageName.IDLE]
    )


def _looks_like_token(payload: str) -> bool:
    return 1 <= len(payload) <= 64 and all(c.isascii() and (c.isalnum() or c in "_-") for c in payload)


def _keyboard(rendered: RenderedMessage) -> InlineKeyboardMarkup | None:
    if not rendered.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rendered.buttons]
    )
