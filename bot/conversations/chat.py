"""The customer's private chat: Telegram updates in, dialog engine, Redis, Bot API calls out."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import secrets
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot, Update
from telegram.constants import ChatType
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram.warnings import PTBUserWarning

from bot.botapi.sending import call_telegram
from bot.channels.telegram.staff_room import STAFF_COMMANDS
from bot.channels.telegram.updates import Incoming
from bot.customers.news import NEWS_IN, NEWS_OUT, NewsStore
from bot.customers.privacy import FORGET_YES, CustomerData
from bot.editing.in_force import LiveDialogs, ScopeKit
from bot.errors import ChatBusy
from bot.staff.relay import Relay
from bot.storage.store import CHAT_LOCK_MS, ChatSnapshot, Outbox, Store
from dialogs.answers import normalise_venue_code
from dialogs.engine import DialogEngine
from dialogs.messages import MessageName
from dialogs.render import MessageRenderer, RenderedMessage
from dialogs.types import (
    Button,
    ButtonSpec,
    Command,
    Conversation,
    Event,
    FeedbackStatus,
    MessagePart,
    NonText,
    Outcome,
    Reply,
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

_PRIVACY_COMMANDS = frozenset({"forget", "mydata"})
# How long an update waits for its chat's lock before the webhook answers 503: longer than a lock lives.
LOCK_WAIT = CHAT_LOCK_MS / 1000 + 1.0
_FORGET_BUTTON = "forget:"
VENUE_BUTTON = "venue:"  # + a short code: a venue picked among those near the customer
NEARBY_RADIUS_M = 3000.0
NEARBY_COUNT = 5


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
        nearby_radius_m: float = NEARBY_RADIUS_M,
        nearby_count: int = NEARBY_COUNT,
        news: NewsStore | None = None,
        live: LiveDialogs | None = None,
    ) -> None:
        """`relay` passes the customer's texts to the staff room of an open ticket when no feedback is
        under way; `privacy` answers `/mydata` and `/forget`. Without them those commands get the help.
        A location shared while the bot waits for a venue code gets the `nearby_count` nearest venues
        within `nearby_radius_m` metres as buttons. With `news`, the thanks offers the venue's news, and
        `/stopnews` and the news buttons work. `live` gives each venue the templates and flow its admins
        saved (without it: `engine` and `renderer` for every venue)."""
        self.store = store
        self.engine = engine
        self.renderer = renderer
        self.bot_username = bot_username.lower()
        self.duplicate_window = duplicate_window
        self.conversation_timeout = conversation_timeout
        self.clock = clock
        self.relay = relay
        self.privacy = privacy
        self.nearby_radius_m = nearby_radius_m
        self.nearby_count = nearby_count
        self.news = news
        self.live = live
        self._fixed = ScopeKit(renderer, engine, "")
        self._bot: Bot | None = None

    def register(self, application: Application) -> None:  # type: ignore[type-arg]
        """The webhook hands customers' updates over as `Incoming` (`bot.channels.telegram.updates`); long polling, and
        the webhook for what it does not read itself, as python-telegram-bot's `Update`."""
        self._bot = application.bot
        application.add_handler(TypeHandler(Incoming, self.handle_incoming))
        application.add_handler(TypeHandler(Update, self.handle_update))

    async def handle_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE:
            return
        incoming = Incoming.from_update(update)
        if incoming is not None:
            await self.handle(incoming)

    async def handle_incoming(self, update: Incoming, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.handle(update)

    @property
    def bot(self) -> Bot:
        if self._bot is None:
            raise RuntimeError("CustomerChat.register was not called")
        return self._bot

    async def handle(self, update: Incoming) -> None:
        """One update of a customer's private chat."""
        if update.callback_id is not None:
            data = update.callback_data or ""
            if self.privacy is not None and data.startswith(_FORGET_BUTTON):
                await self._forget_button(update)
                return
            if self.news is not None and data.startswith((NEWS_IN, NEWS_OUT)):
                await self._news_button(update)
                return
            await self._step(update, Button(data), payload=None)
            return
        command = self._command(update.text)
        if command is not None and await self._side_command(update, command[0]):
            return
        if command is not None and command[0] == "start":
            await self._step(update, None, payload=command[1] or None, bare_start=not command[1])
        elif command is not None:
            await self._step(update, Command(command[0], command[1]), payload=None)
        elif update.text is not None:
            await self._step(update, Text(update.text), payload=None)
        elif update.location is not None and await self._nearby(update, *update.location):
            return
        else:
            await self._step(update, NonText(update.kind or "other"), payload=None)

    async def _nearby(self, update: Incoming, latitude: float, longitude: float) -> bool:
        """Offer the venues near a location shared where a venue code is expected; False elsewhere."""
        state = (await self.store.load_chat(update.chat_id)).conversation
        if state is None or not self.engine.expects_venue_code(state, now=self.clock()):
            return False
        nearby = await self.store.nearby_venues(
            latitude, longitude, radius_m=self.nearby_radius_m, count=self.nearby_count
        )
        if nearby:
            buttons = tuple(
                (ButtonSpec(MessagePart("button_venue", _venue_label(ref, metres)), f"{VENUE_BUTTON}{short}"),)
                for ref, short, metres in nearby
            )
            reply = Reply((MessagePart("nearby_venues", {"count": len(nearby)}),), buttons)
        else:
            radius = {"radius_m": round(self.nearby_radius_m)}
            reply = Reply((MessagePart("no_venue_nearby", radius), MessagePart(MessageName.ASK_VENUE_CODE)))
        outcome = Outcome(state, (reply,))  # nothing to store: a redelivered location gets the list again
        calls = self._calls(update, outcome, self.renderer)
        await self._answer(update, outcome, Outbox(update.update_id, calls), self.renderer)
        return True

    async def _language(self, update: Incoming) -> str:
        """The language to answer in outside the dialog: the one chosen with /language, else Telegram's."""
        conversation = (await self.store.load_chat(update.chat_id)).conversation
        if conversation is not None and conversation.language_chosen:
            return conversation.language
        return self.engine.language_for(update.language_code)

    async def _side_command(self, update: Incoming, name: str) -> bool:
        """Answer the commands that are not part of the dialog; False for the others."""
        chat_id = update.chat_id
        if name in STAFF_COMMANDS:
            await self._say(update, "staff_command_private", await self._language(update))
        elif name == "stopnews" and self.news is not None:
            count = await self.news.unsubscribe_all(chat_id)
            await self._say(update, "news_stopped", await self._language(update), {"count": count})
        elif name in _PRIVACY_COMMANDS and self.privacy is not None:
            if name == "forget":
                await self.privacy.ask_forget(chat_id, await self._language(update))
            else:
                await self.privacy.send_my_data(chat_id, await self._language(update))
        else:
            return False
        return True

    async def _forget_button(self, update: Incoming) -> None:
        assert self.privacy is not None
        language = await self._language(update)
        await self._answer_button(update, None)
        if update.callback_data == FORGET_YES:
            await self.privacy.forget(update.chat_id)
            template = "forgotten"
        else:
            template = "forget_cancelled"
        text = self.renderer.render(MessagePart(template), language)
        if update.clicked_message_id is not None:
            edit = {
                "chat_id": update.chat_id,
                "message_id": update.clicked_message_id,
                "text": text,
                "parse_mode": "HTML",
            }
            await call_telegram(self._raw("editMessageText", edit), idempotent=True, what="edit in a customer chat")

    async def _news_button(self, update: Incoming) -> None:
        """Opt in to a venue's news (the button under the thanks) or out of it (under a news message)."""
        assert self.news is not None
        language = await self._language(update)
        data = update.callback_data or ""
        markup: dict[str, object] | None = None
        if data.startswith(NEWS_IN):
            subscribed = await self.news.subscribe_after(update.chat_id, data.removeprefix(NEWS_IN), self.clock())
            if subscribed is None:
                notice = MessagePart(MessageName.EXPIRED_BUTTON)
            else:
                notice = MessagePart("news_subscribed_notice", {"venue_name": subscribed.venue_name})
                stop = MessagePart("button_news_stop", {"venue_name": subscribed.venue_name})
                label = self.renderer.render_label(stop, language)
                markup = {"inline_keyboard": [[{"text": label, "callback_data": f"{NEWS_OUT}{subscribed.short_code}"}]]}
        else:
            code = normalise_venue_code(data.removeprefix(NEWS_OUT))
            venue = await self.store.venue_by_short_code(code) if code else None
            if venue is None:
                notice = MessagePart(MessageName.EXPIRED_BUTTON)
            else:
                await self.news.unsubscribe(update.chat_id, venue.brand, venue.code)
                notice = MessagePart("news_unsubscribed_notice", {"venue_name": venue.name})
        await self._answer_button(update, self.renderer.render(notice, language))
        if update.clicked_message_id is not None:
            edit: dict[str, object] = {"chat_id": update.chat_id, "message_id": update.clicked_message_id}
            if markup is not None:  # without one, the keyboard goes
                edit["reply_markup"] = markup
            await call_telegram(self._raw("editMessageReplyMarkup", edit), idempotent=True, what="news button")

    async def _say(
        self, update: Incoming, template: str, language: str, variables: dict[str, object] | None = None
    ) -> None:
        text = self.renderer.render(MessagePart(template, variables or {}), language)
        send = {"chat_id": update.chat_id, "text": text, "parse_mode": "HTML"}
        await call_telegram(self._raw("sendMessage", send), idempotent=False, what=template)

    def _raw(self, method: str, params: dict[str, Any]) -> Callable[[], Awaitable[object]]:
        """A Bot API call as the JSON Telegram documents: the customer chat never reads what Telegram
        sends back beyond success, so no python-telegram-bot object is built either way."""
        return functools.partial(self.bot.do_api_request, method, api_kwargs=params)

    async def _answer_button(self, update: Incoming, notice: str | None) -> None:
        """Answer the callback query (stops the button's spinner), with a short notice if any."""
        params: dict[str, Any] = {"callback_query_id": update.callback_id}
        if notice:
            params["text"] = notice[:200]
        await call_telegram(self._raw("answerCallbackQuery", params), idempotent=True, what="callback answer")

    def _command(self, text: str | None) -> tuple[str, str] | None:
        text = text or ""
        if not text.startswith("/"):
            return None
        head, _, args = text[1:].partition(" ")
        name, _, target = head.partition("@")
        if target and target.lower() != self.bot_username:
            return None
        if not name:
            return None
        return name.lower(), args.strip()

    async def _step(
        self, update: Incoming, event: Event | None, *, payload: str | None, bare_start: bool = False
    ) -> None:
        chat_id = update.chat_id
        now = self.clock()
        token = payload if payload and _looks_like_token(payload) else None
        lock = secrets.token_hex(8)
        snapshot = await self._load_locked(chat_id, token, lock)
        if update.update_id in snapshot.handled:  # Telegram delivered it again: its effects are stored
            await self.store.release(chat_id, lock)
            await self._answer_again(update, snapshot.outbox)
            return
        try:
            state = snapshot.conversation or Conversation()
            kit = await self._kit(state.venue, snapshot.revision)
            if not state.language_chosen:
                state = dataclasses.replace(state, language=kit.engine.language_for(update.language_code))
            engine = kit.engine
            if event is None:  # /start, with or without a payload
                venue = snapshot.venue
                event = Start(payload=payload, venue=venue, already_rated=await self._rated(venue, chat_id))
            elif isinstance(event, Text) and kit.engine.expects_venue_code(state, now=now):
                event = await self._venue_code(event.text, chat_id)
            elif (
                isinstance(event, Button)
                and event.data.startswith(VENUE_BUTTON)
                and kit.engine.expects_venue_code(state, now=now)
            ):
                # A venue picked among the nearest: the same as typing its code. (Once a venue is chosen, an
                # old list's buttons are expired buttons, as any other.)
                event = await self._venue_code(event.data.removeprefix(VENUE_BUTTON), chat_id)
            if isinstance(event, Start | VenueCodeAnswer):
                kit = await self._kit(event.venue, snapshot.revision)  # a new feedback starts on the newest flow
                engine = kit.engine
            elif state.step is not None and self.live is not None and state.texts_ref != kit.texts_ref:
                # A feedback under way finishes on the templates and flow it started with.
                kit = await self.live.pinned_kit(state.venue, kit, state.texts_ref)
                engine = kit.engine
            outcome = self._offer_news(engine.handle(state, event, now=now, new_feedback_id=new_feedback_id(now)))
            if (outcome.state.flow_ref, outcome.state.texts_ref) != (kit.flow_ref, kit.texts_ref):
                pinned = dataclasses.replace(outcome.state, flow_ref=kit.flow_ref, texts_ref=kit.texts_ref)
                outcome = dataclasses.replace(outcome, state=pinned)
            # No feedback under way: a text may be the customer answering the staff of a recent ticket.
            if (
                self.relay is not None
                and isinstance(event, Text)
                and _is_idle_answer(outcome)
                and update.message_id is not None
                and await self.relay.from_customer(update.message_id, chat_id, state.language, event.text)
            ):
                await self.store.release(chat_id, lock)
                return
            outbox = Outbox(update.update_id, self._calls(update, outcome, kit.renderer))
            await self.store.save_turn(
                chat_id,
                outcome.state,
                outcome.feedback,
                duplicate_window=self.duplicate_window,
                conversation_timeout=self.conversation_timeout,
                handled=(*snapshot.handled, update.update_id),
                outbox=outbox,
                lock=lock,
            )
        except BaseException:
            with contextlib.suppress(Exception):  # Redis may be what failed: the lock then expires by itself
                await self.store.release(chat_id, lock)
            raise
        await self._answer(update, outcome, outbox, kit.renderer)

    async def _load_locked(self, chat_id: int, token: str | None, lock: str) -> ChatSnapshot:
        """The chat, with its lock: while another process handles one of the chat's updates, wait for it
        (an update's turn takes milliseconds; a lock left by a killed process expires)."""
        deadline = time.monotonic() + LOCK_WAIT
        pause = 0.002
        while True:
            snapshot = await self.store.load_chat(chat_id, token, lock=lock)
            if snapshot.locked:
                return snapshot
            if time.monotonic() > deadline:
                raise ChatBusy(chat_id)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.1)

    def _offer_news(self, outcome: Outcome) -> Outcome:
        """The thanks of a complete feedback, with the button that opts in to the venue's news."""
        complete = [r for r in outcome.feedback if r.status is FeedbackStatus.COMPLETE]
        if self.news is None or not complete or not outcome.replies:
            return outcome
        record, last = complete[-1], outcome.replies[-1]
        label = MessagePart("button_news_opt_in", {"venue_name": record.venue.name})
        offered = dataclasses.replace(last, buttons=(*last.buttons, (ButtonSpec(label, f"{NEWS_IN}{record.id}"),)))
        return dataclasses.replace(outcome, replies=(*outcome.replies[:-1], offered))

    async def _venue_code(self, typed: str, customer_id: int) -> VenueCodeAnswer:
        """A short venue code typed (or picked), resolved."""
        code = normalise_venue_code(typed)
        venue = await self.store.venue_by_short_code(code) if code else None
        return VenueCodeAnswer(typed, venue, already_rated=await self._rated(venue, customer_id))

    async def _kit(self, venue: VenueRef | None, revision: int) -> ScopeKit:
        return self._fixed if self.live is None else await self.live.kit(venue, revision)

    async def _rated(self, venue: VenueRef | None, customer_id: int) -> bool:
        return venue is not None and await self.store.recently_rated(venue, customer_id)

    def _calls(
        self, update: Incoming, outcome: Outcome, renderer: MessageRenderer
    ) -> tuple[tuple[str, dict[str, Any]], ...]:
        """The Bot API calls (method, parameters) that say the outcome's replies in the chat."""
        language = outcome.state.language
        calls: list[tuple[str, dict[str, Any]]] = []
        for reply in outcome.replies:
            rendered = renderer.render_reply(reply, language)
            params: dict[str, Any] = {"chat_id": update.chat_id, "text": rendered.text, "parse_mode": "HTML"}
            markup = _keyboard(rendered)
            if markup is not None:
                params["reply_markup"] = markup
            if reply.replace_clicked and update.clicked_message_id is not None:
                calls.append(("editMessageText", {**params, "message_id": update.clicked_message_id}))
            else:
                calls.append(("sendMessage", params))
        return tuple(calls)

    async def _answer(self, update: Incoming, outcome: Outcome, outbox: Outbox, renderer: MessageRenderer) -> None:
        if update.callback_id is not None:
            notice = renderer.render(outcome.notice, outcome.state.language) if outcome.notice else None
            await self._answer_button(update, notice)
        await self._make(outbox)

    async def _answer_again(self, update: Incoming, outbox: Outbox | None) -> None:
        """A redelivered update: if it was the chat's last, its answer may not have gone out before the
        process that handled it stopped, so it is sent again (the customer may see it twice, never not)."""
        if outbox is None or outbox.update_id != update.update_id:
            return
        log.info("update %s delivered again: its answer is sent again", update.update_id)
        await self._make(outbox)

    async def _make(self, outbox: Outbox) -> None:
        for method, params in outbox.calls:
            if method == "editMessageText":
                await call_telegram(self._raw(method, params), idempotent=True, what="edit in a customer chat")
            else:
                await call_telegram(self._raw(method, params), idempotent=False, what="message to a customer")


def _venue_label(venue: VenueRef, metres: float) -> dict[str, object]:
    return {"venue_name": venue.name, "brand_name": venue.brand_name, "distance_m": round(metres)}


def _is_idle_answer(outcome: Outcome) -> bool:
    """Tell whether the engine only answers that no feedback is under way (the `idle` message)."""
    return (
        not outcome.feedback
        and len(outcome.replies) == 1
        and [part.template for part in outcome.replies[0].parts] == [MessageName.IDLE]
    )


def _looks_like_token(payload: str) -> bool:
    return 1 <= len(payload) <= 64 and all(c.isascii() and (c.isalnum() or c in "_-") for c in payload)


def _keyboard(rendered: RenderedMessage) -> dict[str, object] | None:
    """The inline keyboard as the Bot API's JSON (the raw call needs no `InlineKeyboardMarkup` object)."""
    if not rendered.buttons:
        return None
    rows = [[{"text": label, "callback_data": data} for label, data in row] for row in rendered.buttons]
    return {"inline_keyboard": rows}
