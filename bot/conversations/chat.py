"""The customer's conversation, whatever the channel: an `Inbound` in, one engine step, stored, then answered.

Each turn takes the chat's lock and loads it (one round trip), runs the dialog engine on the venue's
templates and flow in force (a feedback under way finishes on the versions it started with), stores the
new state, the feedback and the answer together (one round trip), and only then has the customer's
channel say the answer. An update delivered again finds its id among the handled ones: nothing changes,
and its stored answer is said again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from bot.customers.contact import ContactRequests
from bot.customers.news import NewsStore
from bot.customers.privacy import CustomerData
from bot.editing.in_force import LiveDialogs, ScopeKit
from bot.errors import ChatBusy, NotFound
from bot.seam.commands import (
    CONTACT_ME,
    FORGET_BUTTON,
    FORGET_YES,
    NEWS_IN,
    NEWS_OUT,
    PRIVACY_COMMANDS,
    RESOLVED_BUTTON,
    START,
    STOP_NEWS,
    VENUE_BUTTON,
    parse_command,
)
from bot.seam.inbound import Inbound
from bot.seam.outgoing import Buttons, Channels, CustomerChannel, OutgoingMessage
from bot.staff.commands import STAFF_COMMANDS
from bot.staff.hours import HoursStore, closed_notice
from bot.staff.policy import PolicyStore
from bot.staff.relay import Relay
from bot.storage import keys
from bot.storage.handled import HandledUpdates
from bot.storage.identity import KIOSK, CustomerId
from bot.storage.store import CHAT_LOCK_MS, ChatSnapshot, Outbox, Store
from dialogs.answers import normalise_venue_code
from dialogs.engine import DialogEngine
from dialogs.messages import MessageName
from dialogs.render import MessageRenderer
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

# How long an update waits for its chat's lock before the webhook answers 503: longer than a lock lives.
LOCK_WAIT = CHAT_LOCK_MS / 1000 + 1.0
NEARBY_RADIUS_M = 3000.0
NEARBY_COUNT = 5
PHOTO = "photo"  # `Inbound.kind` of a picture without a Telegram file_id (a WhatsApp image, fetched by its media id)
THANKS = "thanks"  # the default flow's last words: the team will read the feedback and may answer in the chat
KIOSK_THANKS = "thanks_kiosk"  # said instead on a kiosk, whose next customer is someone else: no answer promised
CANCELLED = "cancelled"  # /cancel's answer: a kept rating is read by the team, who may answer in the chat
KIOSK_CANCELLED = "cancelled_kiosk"  # said instead on a kiosk, for the same reason
_KIOSK_PARTS = {THANKS: KIOSK_THANKS, CANCELLED: KIOSK_CANCELLED}


def new_feedback_id(now: float) -> str:
    """A feedback id that sorts by time and cannot collide: milliseconds in hex + 16 random bits."""
    return f"{int(now * 1000):011x}{secrets.token_hex(2)}"


class CustomerChat:
    """Turns each thing a customer does into one engine step, stored, then answered on their channel."""

    def __init__(
        self,
        store: Store,
        engine: DialogEngine,
        renderer: MessageRenderer,
        *,
        channels: Channels,
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
        self.channels = channels
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
        self.handled = HandledUpdates(store.round_trip)
        self.hours = HoursStore(store.redis)
        self.policies = PolicyStore(store.redis)
        self.contact = ContactRequests(store.redis, self.policies)

    async def handle(self, inbound: Inbound) -> None:
        """One thing a customer did."""
        channel = self.channels.of(inbound.customer)
        if inbound.button_data is not None:
            data = inbound.button_data
            if self.privacy is not None and data.startswith(FORGET_BUTTON):
                await self._once(inbound, functools.partial(self._forget_button, channel, inbound))
                return
            if self.news is not None and data.startswith((NEWS_IN, NEWS_OUT)):
                await self._once(inbound, functools.partial(self._news_button, channel, inbound))
                return
            if data.startswith(CONTACT_ME):
                await self._once(inbound, functools.partial(self._contact_button, channel, inbound))
                return
            if self.relay is not None and data.startswith(RESOLVED_BUTTON):
                await self._resolved_button(channel, inbound)
                return
            await self._step(channel, inbound, Button(data), payload=None)
            return
        command = parse_command(inbound.text, channel.username) if inbound.text else None
        side = self._side_command(channel, inbound, command[0]) if command is not None else None
        if side is not None:
            await self._once(inbound, side)
            return
        if command is not None and command[0] == START:
            await self._step(channel, inbound, None, payload=command[1] or None)
        elif command is not None:
            await self._step(channel, inbound, Command(command[0], command[1]), payload=None)
        elif inbound.text is not None:
            await self._step(channel, inbound, Text(inbound.text), payload=None)
        elif inbound.location is not None and await self._nearby(channel, inbound, *inbound.location):
            return
        else:
            await self._step(channel, inbound, NonText(inbound.kind or "other"), payload=None)

    @staticmethod
    def _handled_key(inbound: Inbound) -> str:
        # Each channel's ids are unique to it (Telegram's the bot's, the web's and WhatsApp's random or hashed
        # 53-63 bits): the key names no customer, so `/forget` has nothing to erase there.
        return keys.handled_update(f"{inbound.customer.channel}-chat", inbound.update_id)

    async def _once(self, inbound: Inbound, action: Callable[[], Awaitable[None]]) -> None:
        """Do what an update asks that keeps no conversation state (its effects and answers), once: a
        redelivery of it, after it was answered, does nothing."""
        key = self._handled_key(inbound)
        if not await self.handled.claim(key):
            log.info("update %s delivered again: handled and answered already", inbound.update_id)
            return
        try:
            await action()
        except BaseException:
            with contextlib.suppress(Exception):  # Redis may be what failed: the claim then expires by itself
                await self.handled.release(key)
            raise
        await self.handled.done(key)

    async def _nearby(self, channel: CustomerChannel, inbound: Inbound, latitude: float, longitude: float) -> bool:
        """Offer the venues near a location shared where a venue code is expected; False elsewhere."""
        if await self.handled.is_done(self._handled_key(inbound)):
            return True  # answered already
        state = (await self.store.load_chat(inbound.customer)).conversation
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
        answer = channel.answer(inbound, self._messages(outcome, self.renderer))
        await self._answer(channel, inbound, outcome, Outbox(inbound.update_id, answer), self.renderer)
        await self.handled.done(self._handled_key(inbound))
        return True

    async def _language(self, inbound: Inbound) -> str:
        """The language to answer in outside the dialog: the one chosen with /language, else the customer's
        app's or browser's."""
        conversation = (await self.store.load_chat(inbound.customer)).conversation
        if conversation is not None and conversation.language_chosen:
            return conversation.language
        venue = conversation.venue if conversation is not None else None
        venue_language = await self._venue_language(self.engine, inbound, venue)
        return self.engine.language_for(inbound.language_code, venue_language)

    async def _venue_language(self, engine: DialogEngine, inbound: Inbound, venue: VenueRef | None) -> str | None:
        """The venue's language, when the customer's is one the bot does not speak (else not looked up)."""
        if venue is None or engine.speaks(inbound.language_code):
            return None
        try:
            return (await self.store.get_venue(venue.brand, venue.code)).language
        except NotFound:
            return None

    def _side_command(
        self, channel: CustomerChannel, inbound: Inbound, name: str
    ) -> Callable[[], Awaitable[None]] | None:
        """What answers a command that is not part of the dialog; None for the others."""
        customer = inbound.customer
        news, privacy = self.news, self.privacy
        if name in STAFF_COMMANDS:

            async def answer() -> None:
                await self._say(channel, customer, "staff_command_private", await self._language(inbound))

        elif name == STOP_NEWS and news is not None:

            async def answer() -> None:
                count = await news.unsubscribe_all(customer)
                await self._say(channel, customer, "news_stopped", await self._language(inbound), {"count": count})

        elif name in PRIVACY_COMMANDS and privacy is not None:

            async def answer() -> None:
                if name == "forget":
                    await privacy.ask_forget(customer, await self._language(inbound))
                else:
                    await privacy.send_my_data(customer, await self._language(inbound))

        else:
            return None
        return answer

    async def _forget_button(self, channel: CustomerChannel, inbound: Inbound) -> None:
        assert self.privacy is not None
        language = await self._language(inbound)
        await channel.acknowledge(inbound, None)
        if inbound.button_data == FORGET_YES:
            # Holding the chat as a turn does: a turn under way finishes first (its state is erased too), and
            # none writes the chat's state back after the erasure.
            lock = secrets.token_hex(8)
            await self._load_locked(inbound.customer, None, lock)
            try:
                await self.privacy.forget(inbound.customer)
            finally:
                with contextlib.suppress(Exception):  # Redis may be what failed: the lock then expires by itself
                    await self.store.release(inbound.customer, lock)
            template = "forgotten"
        else:
            template = "forget_cancelled"
        text = self.renderer.render(MessagePart(template), language)
        await channel.edit_clicked(inbound, text=text, buttons=())

    async def _news_button(self, channel: CustomerChannel, inbound: Inbound) -> None:
        """Opt in to a venue's news (the button under the thanks) or out of it (under a news message)."""
        assert self.news is not None
        language = await self._language(inbound)
        data = inbound.button_data or ""
        buttons: Buttons = ()  # without any, the buttons go
        if data.startswith(NEWS_IN):
            subscribed = await self.news.subscribe_after(inbound.customer, data.removeprefix(NEWS_IN), self.clock())
            if subscribed is None:
                notice = MessagePart(MessageName.EXPIRED_BUTTON)
            else:
                notice = MessagePart("news_subscribed_notice", {"venue_name": subscribed.venue_name})
                stop = MessagePart("button_news_stop", {"venue_name": subscribed.venue_name})
                buttons = (((self.renderer.render_label(stop, language), f"{NEWS_OUT}{subscribed.short_code}"),),)
        else:
            code = normalise_venue_code(data.removeprefix(NEWS_OUT))
            venue = await self.store.venue_by_short_code(code) if code else None
            if venue is None:
                notice = MessagePart(MessageName.EXPIRED_BUTTON)
            else:
                await self.news.unsubscribe(inbound.customer, venue.brand, venue.code)
                notice = MessagePart("news_unsubscribed_notice", {"venue_name": venue.name})
        await channel.acknowledge(inbound, self.renderer.render(notice, language))
        await channel.edit_clicked(inbound, text=None, buttons=buttons)

    async def _contact_button(self, channel: CustomerChannel, inbound: Inbound) -> None:
        """The "contact me" button under the thanks: the feedback marked once, or the press refused."""
        language = await self._language(inbound)
        feedback_id = (inbound.button_data or "").removeprefix(CONTACT_ME)
        kiosk = inbound.customer.channel == KIOSK  # nobody to get back to: the button is never offered there
        venue_name = None if kiosk else await self.contact.ask(inbound.customer, feedback_id)
        if venue_name is None:
            notice = MessagePart(MessageName.EXPIRED_BUTTON)
        else:
            notice = MessagePart("contact_asked_notice", {"venue_name": venue_name})
        await channel.acknowledge(inbound, self.renderer.render(notice, language))

    async def _resolved_button(self, channel: CustomerChannel, inbound: Inbound) -> None:
        """Yes or No under "problem solved?": kept, or an expired button (answered already, another ticket's)."""
        assert self.relay is not None
        language = await self._language(inbound)
        done = await self.relay.resolution(inbound.customer, language, button=inbound.button_data or "")
        notice = None if done else self.renderer.render(MessagePart(MessageName.EXPIRED_BUTTON), language)
        await channel.acknowledge(inbound, notice)
        await channel.edit_clicked(inbound, text=None, buttons=())

    async def _say(
        self,
        channel: CustomerChannel,
        customer: CustomerId,
        template: str,
        language: str,
        variables: dict[str, object] | None = None,
    ) -> None:
        text = self.renderer.render(MessagePart(template, variables or {}), language)
        await channel.send(customer, OutgoingMessage(text), what=template)

    async def _step(
        self, channel: CustomerChannel, inbound: Inbound, event: Event | None, *, payload: str | None
    ) -> None:
        customer = inbound.customer
        now = self.clock()
        token = payload if payload and _looks_like_token(payload) else None
        lock = secrets.token_hex(8)
        snapshot = await self._load_locked(customer, token, lock)
        if inbound.update_id in snapshot.handled:  # delivered again: its effects are stored
            await self.store.release(customer, lock)
            if not await self.handled.is_done(self._handled_key(inbound)):  # its answer may not have gone out
                await self._answer_again(channel, inbound, snapshot.outbox)
            return
        try:
            state = snapshot.conversation or Conversation()
            kit = await self._kit(state.venue, snapshot.revision)
            if not state.language_chosen:
                venue_language = await self._venue_language(kit.engine, inbound, snapshot.venue or state.venue)
                language = kit.engine.language_for(inbound.language_code, venue_language)
                state = dataclasses.replace(state, language=language)
            engine = kit.engine
            if event is None:  # /start, with or without a payload
                venue = snapshot.venue
                event = Start(payload=payload, venue=venue, already_rated=await self._rated(venue, customer))
            elif isinstance(event, Text) and kit.engine.expects_venue_code(state, now=now):
                event = await self._venue_code(event.text, customer)
            elif (
                isinstance(event, Button)
                and event.data.startswith(VENUE_BUTTON)
                and kit.engine.expects_venue_code(state, now=now)
            ):
                # A venue picked among the nearest: the same as typing its code. (Once a venue is chosen, an
                # old list's buttons are expired buttons, as any other.)
                event = await self._venue_code(event.data.removeprefix(VENUE_BUTTON), customer)
            if isinstance(event, Start | VenueCodeAnswer):
                kit = await self._kit(event.venue, snapshot.revision)  # a new feedback starts on the newest flow
                engine = kit.engine
            elif state.step is not None and self.live is not None and state.texts_ref != kit.texts_ref:
                # A feedback under way finishes on the templates and flow it started with.
                kit = await self.live.pinned_kit(state.venue, kit, state.texts_ref)
                engine = kit.engine
            outcome = await self._offer_buttons(
                engine.handle(state, event, now=now, new_feedback_id=new_feedback_id(now)), customer, now
            )
            if customer.channel == KIOSK:
                outcome = _kiosk_parts(outcome)
            outcome = await self._closed_notice(outcome, now)
            if (outcome.state.flow_ref, outcome.state.texts_ref) != (kit.flow_ref, kit.texts_ref):
                pinned = dataclasses.replace(outcome.state, flow_ref=kit.flow_ref, texts_ref=kit.texts_ref)
                outcome = dataclasses.replace(outcome, state=pinned)
            # No feedback under way: a text may answer "problem solved?", or the staff of a recent ticket; a photo
            # goes to them too (or a file that may be one, its type checked once fetched), or the customer is told
            # plainly that it reaches nobody.
            picture = inbound.photo is not None or inbound.kind == PHOTO
            relayed = picture or inbound.media is not None
            if self.relay is not None and _is_idle_answer(outcome) and inbound.message_id is not None:
                said = event.text if isinstance(event, Text) else ""
                if (
                    isinstance(event, Text)
                    and not relayed
                    and await self.relay.resolution(customer, state.language, text=said)
                ) or (
                    (isinstance(event, Text) or relayed)
                    and await self.relay.from_customer(
                        inbound.message_id,
                        customer,
                        state.language,
                        said,
                        picture=relayed,
                        photo=inbound.photo,
                        media=inbound.media,
                    )
                ):
                    await self.store.release(customer, lock)
                    return
            if picture and _is_idle_answer(outcome):
                reply = Reply((MessagePart("photo_not_passed", {"venue_name": "", "why": "no_ticket"}),))
                outcome = dataclasses.replace(outcome, replies=(reply,))
            outbox = Outbox(inbound.update_id, channel.answer(inbound, self._messages(outcome, kit.renderer)))
            await self.store.save_turn(
                customer,
                outcome.state,
                outcome.feedback,
                duplicate_window=self.duplicate_window,
                conversation_timeout=self.conversation_timeout,
                handled=(*snapshot.handled, inbound.update_id),
                outbox=outbox,
                lock=lock,
                discarded=outcome.discarded,
            )
        except BaseException:
            with contextlib.suppress(Exception):  # Redis may be what failed: the lock then expires by itself
                await self.store.release(customer, lock)
            raise
        await self._answer(channel, inbound, outcome, outbox, kit.renderer)
        # Answered: a redelivery now sends nothing. Recorded with the process's next round trip rather than in
        # one of its own on every turn; lost in a crash, the redelivery answers again (twice at worst).
        self.handled.done_soon(self._handled_key(inbound), self.store)

    async def _load_locked(self, customer: CustomerId, token: str | None, lock: str) -> ChatSnapshot:
        """The chat, with its lock: while another process handles one of the chat's updates, wait for it
        (an update's turn takes milliseconds; a lock left by a killed process expires)."""
        deadline = time.monotonic() + LOCK_WAIT
        pause = 0.002
        while True:
            snapshot = await self.store.load_chat(customer, token, lock=lock)
            if snapshot.locked:
                return snapshot
            if time.monotonic() > deadline:
                raise ChatBusy(customer.key)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.1)

    async def _offer_buttons(self, outcome: Outcome, customer: CustomerId, now: float) -> Outcome:
        """The thanks of a complete feedback, with the button that asks to be contacted (where the venue's ticket
        policy opens a ticket for it, and not on a kiosk, whose next customer is someone else) and the one that
        opts in to the venue's news."""
        complete = [r for r in outcome.feedback if r.status is FeedbackStatus.COMPLETE]
        if not complete or not outcome.replies:
            return outcome
        record, last = complete[-1], outcome.replies[-1]
        rows = []
        if (
            customer.channel != KIOSK
            and (await self.policies.recent(record.venue.brand, record.venue.code, now)).contact
        ):
            label = MessagePart("button_contact_me", {"venue_name": record.venue.name})
            rows.append((ButtonSpec(label, f"{CONTACT_ME}{record.id}"),))
        if self.news is not None:
            label = MessagePart("button_news_opt_in", {"venue_name": record.venue.name})
            rows.append((ButtonSpec(label, f"{NEWS_IN}{record.id}"),))
        offered = dataclasses.replace(last, buttons=(*last.buttons, *rows))
        return dataclasses.replace(outcome, replies=(*outcome.replies[:-1], offered))

    async def _closed_notice(self, outcome: Outcome, now: float) -> Outcome:
        """The thanks of a feedback given while its venue is closed also says when the team will read it."""
        complete = [r for r in outcome.feedback if r.status is FeedbackStatus.COMPLETE]
        if not complete or not outcome.replies:
            return outcome
        venue = complete[-1].venue
        hours = await self.hours.recent(venue.brand, venue.code, now)
        notice = closed_notice(hours, now, venue.name, outcome.state.language)
        if notice is None:
            return outcome
        last = outcome.replies[-1]
        told = dataclasses.replace(last, parts=(*last.parts, notice))
        return dataclasses.replace(outcome, replies=(*outcome.replies[:-1], told))

    async def _venue_code(self, typed: str, customer: CustomerId) -> VenueCodeAnswer:
        """A short venue code typed (or picked), resolved."""
        code = normalise_venue_code(typed)
        venue = await self.store.venue_by_short_code(code) if code else None
        return VenueCodeAnswer(typed, venue, already_rated=await self._rated(venue, customer))

    async def _kit(self, venue: VenueRef | None, revision: int) -> ScopeKit:
        return self._fixed if self.live is None else await self.live.kit(venue, revision)

    async def _rated(self, venue: VenueRef | None, customer: CustomerId) -> bool:
        return venue is not None and await self.store.recently_rated(venue, customer)

    @staticmethod
    def _messages(outcome: Outcome, renderer: MessageRenderer) -> list[OutgoingMessage]:
        """The outcome's replies, rendered in the conversation's language."""
        language = outcome.state.language
        messages = []
        for reply in outcome.replies:
            rendered = renderer.render_reply(reply, language)
            messages.append(OutgoingMessage(rendered.text, rendered.buttons, reply.replace_clicked))
        return messages

    async def _answer(
        self, channel: CustomerChannel, inbound: Inbound, outcome: Outcome, outbox: Outbox, renderer: MessageRenderer
    ) -> None:
        if inbound.is_button:
            notice = renderer.render(outcome.notice, outcome.state.language) if outcome.notice else None
            await channel.acknowledge(inbound, notice)
        await channel.deliver(outbox.calls)

    async def _answer_again(self, channel: CustomerChannel, inbound: Inbound, outbox: Outbox | None) -> None:
        """A redelivered update: if it was the chat's last, its answer may not have gone out before the
        process that handled it stopped, so it is said again (the customer may see it twice, never not)."""
        if outbox is None or outbox.update_id != inbound.update_id:
            return
        log.info("update %s delivered again: its answer is sent again", inbound.update_id)
        await channel.deliver(outbox.calls)


def _venue_label(venue: VenueRef, metres: float) -> dict[str, object]:
    return {"venue_name": venue.name, "brand_name": venue.brand_name, "distance_m": round(metres)}


def _kiosk_parts(outcome: Outcome) -> Outcome:
    """The outcome with the kiosk's thanks and cancel in place of `thanks` and `cancelled`, which say the team
    may answer in the chat."""
    replies = tuple(
        dataclasses.replace(
            reply,
            parts=tuple(
                dataclasses.replace(part, template=_KIOSK_PARTS.get(part.template, part.template))
                for part in reply.parts
            ),
        )
        for reply in outcome.replies
    )
    return dataclasses.replace(outcome, replies=replies)


def _is_idle_answer(outcome: Outcome) -> bool:
    """Tell whether the engine only answers that no feedback is under way (the `idle` message)."""
    return (
        not outcome.feedback
        and len(outcome.replies) == 1
        and [part.template for part in outcome.replies[0].parts] == [MessageName.IDLE]
    )


def _looks_like_token(payload: str) -> bool:
    return 1 <= len(payload) <= 64 and all(c.isascii() and (c.isalnum() or c in "_-") for c in payload)
