"""`BotApiEmulator`: the Bot API served over HTTP on 127.0.0.1, and the controls a test drives it with
(users who write and click, faults on demand, what the bot did)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from dialogs.telegram_html import utf16_len
from emulator.calls import ApiEndpoint
from emulator.entities import command_entity
from emulator.errors import EmulatorError
from emulator.faults import FaultPlan
from emulator.media import CAPTIONED, media_payload
from emulator.methods import MethodContext
from emulator.methods.context import MAX_TEXT_LENGTH
from emulator.records import (
    ApiCall,
    ChatType,
    Delivery,
    EmulatedChat,
    EmulatedUser,
    MemberStatus,
    MessageKind,
    RecordedMessage,
)
from emulator.spec import BotApiSpec
from emulator.updates import PendingUpdate, UpdateQueue, WebhookFailure, update_type
from emulator.webhook import post_update
from emulator.world import World

JsonDict = dict[str, Any]

DEFAULT_TOKEN = "123456:TEST-TOKEN-parole"
_TOKEN = re.compile(r"(\d+):[A-Za-z0-9_-]+")
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class BotApiEmulator:
    """A Telegram Bot API server for one bot, in memory, strict as Telegram.

    Point python-telegram-bot at it with `Bot(emulator.token, base_url=emulator.base_url)`.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "parole_test_bot",
        spec_path: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`clock` gives the Unix time of message dates (a test may move it, as it moves the bot's)."""
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise EmulatorError(f"a bot token looks like <digits>:<letters, digits, _ or ->, not {token!r}")
        self.token = token
        self.bot_username = bot_username
        self.bot_id = int(match.group(1))
        self.webhook_timeout = 30.0  # seconds a webhook delivery may take before it counts as failed
        self.spec = BotApiSpec.load(spec_path)
        self._world = World(bot_id=self.bot_id, bot_username=bot_username, clock=clock)
        self._updates = UpdateQueue()
        self._faults = FaultPlan()
        self._endpoint = ApiEndpoint(
            token=token,
            spec=self.spec,
            context=MethodContext(self._world, self._updates),
            faults=self._faults,
        )
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._address: tuple[str, int] | None = None

    # Lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve the Bot API on host:port (port 0: a free port)."""
        if self._runner is not None:
            raise EmulatorError("the emulator is already started")
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._endpoint.handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        address = runner.addresses[0]
        self._runner, self._address = runner, (host, int(address[1]))
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        """Stop serving; a waiting getUpdates returns at once."""
        self._updates.close()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Where the emulator listens: "http://127.0.0.1:PORT"."""
        if self._address is None:
            raise EmulatorError("the emulator is not started")
        return f"http://{self._address[0]}:{self._address[1]}"

    @property
    def base_url(self) -> str:
        """python-telegram-bot's `base_url` (it appends the token)."""
        return f"{self.url}/bot"

    @property
    def webhook_url(self) -> str | None:
        return self._updates.webhook.url if self._updates.webhook else None

    @property
    def webhook_secret(self) -> str | None:
        return self._updates.webhook.secret_token if self._updates.webhook else None

    @property
    def pending_update_count(self) -> int:
        return len(self._updates.pending)

    # The people and chats of the test

    def add_user(
        self,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "fr",
    ) -> EmulatedUser:
        """A new user (ids from 1001 up); the private chat opens when the user first writes to the bot."""
        return self._world.add_user(first_name, last_name=last_name, username=username, language_code=language_code)

    def add_group(
        self,
        title: str,
        *,
        members: Sequence[EmulatedUser] = (),
        admins: Sequence[EmulatedUser] = (),
        supergroup: bool = True,
        forum: bool = False,
        owner: EmulatedUser | None = None,
        bot_is_admin: bool = False,
    ) -> EmulatedChat:
        """A group the bot is a member of (ids from -1001000000001 down); its owner is `owner`, or else
        the first admin."""
        return self._world.add_group(
            title,
            members=members,
            admins=admins,
            owner=owner,
            supergroup=supergroup,
            forum=forum,
            bot_is_admin=bot_is_admin,
        )

    def open_private_chat(self, user: EmulatedUser) -> EmulatedChat:
        """The user's private chat with the bot, as after they started it (without an update to deliver)."""
        return self._world.open_private_chat(self._world.user(user.id))

    def block_bot(self, user: EmulatedUser) -> None:
        """The user blocks the bot: sending to them answers 403."""
        self._world.blocked.add(self._world.user(user.id).id)

    def unblock_bot(self, user: EmulatedUser) -> None:
        self._world.blocked.discard(user.id)

    async def remove_bot(self, chat: EmulatedChat, *, by: EmulatedUser) -> Delivery:
        """`by` removes the bot from the group: the bot gets its `my_chat_member` update."""
        if chat.type is ChatType.PRIVATE:
            raise EmulatorError("use block_bot() for a private chat")
        old = self._world.member_json(chat.id, self.bot_id)
        self._world.set_status(chat.id, self.bot_id, MemberStatus.LEFT)
        change = {
            "chat": chat.to_json(),
            "from": self._world.user(by.id).to_json(),
            "date": self._world.now(),
            "old_chat_member": old,
            "new_chat_member": self._world.member_json(chat.id, self.bot_id),
        }
        return await self._deliver({"my_chat_member": change})

    # What users do

    async def send_text(
        self,
        user: EmulatedUser,
        text: str,
        *,
        chat: EmulatedChat | None = None,
        reply_to: RecordedMessage | None = None,
    ) -> Delivery:
        """The user writes `text` (in their private chat with the bot unless `chat` is given).

        A text starting with a command gets its `bot_command` entity, as Telegram adds it.
        """
        return await self._deliver(self.write_text(user, text, chat=chat, reply_to=reply_to))

    def write_text(
        self,
        user: EmulatedUser,
        text: str,
        *,
        chat: EmulatedChat | None = None,
        reply_to: RecordedMessage | None = None,
    ) -> JsonDict:
        """`send_text`'s message, written now (dated and kept in the chat) but not delivered: its update, for
        `deliver_raw` to deliver later, as Telegram does with the updates that wait in its queue."""
        if not text.strip():
            raise EmulatorError("Telegram sends no empty message")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise EmulatorError("Telegram clients split messages longer than 4096 characters")
        target = self._chat_for(user, chat)
        command = command_entity(text)
        message = self._world.record(
            target.id,
            sender_id=user.id,
            kind=MessageKind.TEXT,
            text=text,
            entities=[command] if command else [],
            reply_to_message_id=self._reply_id(target, reply_to),
        )
        return {"message": self._world.message_json(message)}

    async def send_media(
        self, user: EmulatedUser, kind: str, *, chat: EmulatedChat | None = None, caption: str | None = None
    ) -> Delivery:
        """The user sends a message of `kind` (sticker, photo, voice, video, document, audio, animation,
        video_note, contact, location, venue, poll, dice) with a plausible payload."""
        payload = media_payload(kind, self._world.next_file_number())
        message_kind = MessageKind(kind)
        if message_kind is MessageKind.TEXT:
            raise EmulatorError("use send_text() for a text message")
        if caption and message_kind not in CAPTIONED:
            raise EmulatorError(f"a {kind} message has no caption")
        target = self._chat_for(user, chat)
        message = self._world.record(
            target.id, sender_id=user.id, kind=message_kind, text=caption or "", payload=payload
        )
        return await self._deliver({"message": self._world.message_json(message)})

    async def send_location(
        self, user: EmulatedUser, latitude: float, longitude: float, *, chat: EmulatedChat | None = None
    ) -> Delivery:
        """The user shares a location."""
        target = self._chat_for(user, chat)
        payload = media_payload("location", 0, latitude=latitude, longitude=longitude)
        message = self._world.record(target.id, sender_id=user.id, kind=MessageKind.LOCATION, payload=payload)
        return await self._deliver({"message": self._world.message_json(message)})

    async def click(self, user: EmulatedUser, message: RecordedMessage, data: str) -> Delivery:
        """The user presses the inline button carrying `data` in the message's current keyboard."""
        self._chat_for(user, self._world.chat(message.chat_id))
        current = self._world.message(message.chat_id, message.message_id)
        if current is None:
            raise EmulatorError(f"message {message.message_id} of chat {message.chat_id} was deleted")
        rows = (current.reply_markup or {}).get("inline_keyboard", [])
        if not any(button.get("callback_data") == data for row in rows for button in row):
            raise EmulatorError(
                f"message {current.message_id} of chat {current.chat_id} has no button with callback_data "
                f"{data!r} now; its buttons: {current.buttons()}"
            )
        query = {
            "id": self._world.open_callback_query(),
            "from": user.to_json(),
            "message": self._world.message_json(current),
            "chat_instance": str(7_000_000_000_000_000_000 + current.chat_id),
            "data": data,
        }
        return await self._deliver({"callback_query": query})

    async def deliver_raw(self, update: dict[str, Any]) -> Delivery:
        """Deliver any JSON object as an update (its `update_id` assigned if missing), unchecked."""
        return await self._deliver(dict(update), raw=True)

    async def redeliver_pending(self) -> list[Delivery]:
        """Retry the webhook deliveries that failed, in order, stopping at the first that fails again."""
        if self._updates.webhook is None:
            raise EmulatorError("no webhook is set: pending updates wait for getUpdates")
        deliveries: list[Delivery] = []
        for pending in self._updates.pending:
            delivery = await self._post(pending)
            deliveries.append(delivery)
            if any(p.update_id == pending.update_id for p in self._updates.pending):
                break
        return deliveries

    # What the bot did

    @property
    def calls(self) -> list[ApiCall]:
        """Every Bot API call, in the order they were answered."""
        return self._endpoint.calls

    def calls_to(self, method: str) -> list[ApiCall]:
        spec = self.spec.method(method)
        name = spec.name if spec else method
        return [call for call in self.calls if call.method == name]

    def chat_messages(self, chat_id: int) -> list[RecordedMessage]:
        """The chat's messages, users' and bot's, oldest first (deleted ones marked `deleted`)."""
        return self._world.messages(chat_id)

    def bot_messages(self, chat_id: int) -> list[RecordedMessage]:
        return [message for message in self._world.messages(chat_id) if message.from_bot]

    def user(self, user_id: int) -> EmulatedUser:
        return self._world.user(user_id)

    async def settle(self, *, quiet: float = 0.15, timeout: float = 10.0) -> None:
        """Wait until the bot has every update and made no call for `quiet` seconds (else TimeoutError)."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            idle = now - self._endpoint.last_activity
            if self._updates.handed_over() and self._endpoint.in_flight == 0 and idle >= quiet:
                return
            if now >= deadline:
                raise TimeoutError(
                    f"the bot did not settle within {timeout}s: {len(self._updates.pending)} update(s) "
                    f"pending, {self._endpoint.in_flight} call(s) in flight, last call {idle:.2f}s ago"
                )
            await asyncio.sleep(min(0.01, quiet))

    # Faults on demand

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        executed: bool = False,
    ) -> None:
        """The next `times` valid calls of `method` answer this error without being executed, or with
        `executed` after being executed (a gateway that lost Telegram's answer: 502, 504)."""
        if not 400 <= status <= 599:
            raise EmulatorError(f"an error status is 4xx or 5xx, not {status}")
        self._faults.fail_next(
            self._method_name(method),
            status=status,
            description=description,
            retry_after=retry_after,
            times=times,
            executed=executed,
        )

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """The next `times` calls of `method` wait `seconds` before being executed and answered."""
        self._faults.delay_next(self._method_name(method), seconds, times)

    # Internals

    def _method_name(self, method: str) -> str:
        spec = self.spec.method(method)
        if spec is None:
            raise EmulatorError(f"the Bot API has no method {method!r}")
        return spec.name

    def _chat_for(self, user: EmulatedUser, chat: EmulatedChat | None) -> EmulatedChat:
        """Where the user's action happens, checking they (and the bot) can be there."""
        self._world.user(user.id)
        if chat is None or (chat.type is ChatType.PRIVATE and chat.id == user.id):
            if user.id in self._world.blocked:
                raise EmulatorError(f"{user.first_name} blocked the bot: unblock_bot() first")
            return self._world.open_private_chat(user)
        known = self._world.chat(chat.id)
        if known is None or known.type is ChatType.PRIVATE:
            raise EmulatorError(f"{user.first_name} cannot act in chat {chat.id}")
        if not self._world.is_present(known.id, user.id):
            raise EmulatorError(f"{user.first_name} is not a member of {known.title!r}")
        if not self._world.is_present(known.id, self.bot_id):
            raise EmulatorError(f"the bot is not a member of {known.title!r}: it would get no update")
        return known

    def _reply_id(self, chat: EmulatedChat, reply_to: RecordedMessage | None) -> int | None:
        if reply_to is None:
            return None
        if reply_to.chat_id != chat.id or self._world.message(chat.id, reply_to.message_id) is None:
            raise EmulatorError(f"message {reply_to.message_id} is not in chat {chat.id}")
        return reply_to.message_id

    async def _deliver(self, update: JsonDict, *, raw: bool = False) -> Delivery:
        update_id, numbered = self._updates.number(update)
        self._endpoint.touch()
        if not raw and not self._updates.accepts(update_type(numbered)):
            return Delivery(update_id, numbered)  # not in allowed_updates: Telegram never creates it
        pending = self._updates.push(update_id, numbered)
        if self._updates.webhook is None:
            return Delivery(update_id, numbered)
        return await self._post(pending)

    async def _post(self, pending: PendingUpdate) -> Delivery:
        webhook = self._updates.webhook
        if webhook is None or self._session is None:
            raise EmulatorError("the emulator is not started")
        start, first = time.monotonic(), len(self.calls)
        self._endpoint.in_flight += 1
        try:
            reply = await post_update(
                self._session,
                webhook.url,
                pending.update,
                secret=webhook.secret_token,
                timeout=self.webhook_timeout,
            )
        finally:
            self._endpoint.in_flight -= 1
            self._endpoint.touch()
        if reply.error is None:
            self._updates.delivered(pending.update_id)
            if reply.body is not None and isinstance(reply.body.get("method"), str):
                params = {key: value for key, value in reply.body.items() if key != "method"}
                await self._endpoint.execute(reply.body["method"], params)
        else:
            self._updates.last_failure = WebhookFailure(self._world.now(), reply.error)
        calls = [call for call in self.calls[first:] if call.at >= start]
        return Delivery(pending.update_id, pending.update, reply.status, calls, reply.body)
