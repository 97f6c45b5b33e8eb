"""How the bot's Telegram updates are handled: each chat's in its own lane (`bot.channels.lanes`), so a chat
that floods the bot, or waits for Telegram's per-chat pace, holds no other chat; beyond the lane's bound an
update is refused and the chat told once to slow down.

python-telegram-bot hands every update of long polling to its `update_processor` (this class, with as many
updates at once as come); the webhook asks `admit` from the update's JSON before reading it further (a refusal
costs no more than that) and then `run`s it, so both paths are the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseUpdateProcessor, CallbackContext

from bot.channels.lanes import WAITING_PER_CHAT, Lanes
from bot.errors import UpdateClaimed
from bot.seam.inbound import Inbound

log = logging.getLogger(__name__)

#: python-telegram-bot's cap on updates handled at once; the lanes are what bound each chat.
MAX_AT_ONCE = 100_000

SlowDown = Callable[[int, str | None], Awaitable[None]]  # the chat's id and the sender's language


@dataclass(frozen=True, slots=True)
class Sender:
    """Whose lane an update goes in: its chat, when its message was sent (a new message's date, else None)
    and the sender's language (for the slow-down)."""

    chat_id: int
    sent_at: float | None = None
    language: str | None = None


def sender_of(update: object) -> Sender | None:
    """The chat an update belongs to (None: an update of no chat)."""
    if isinstance(update, Inbound):
        return Sender(update.customer.chat_id, None, update.language_code)
    if isinstance(update, Update) and update.effective_chat is not None:
        user, message = update.effective_user, update.message
        return Sender(
            update.effective_chat.id,
            message.date.timestamp() if message is not None else None,
            user.language_code if user is not None else None,
        )
    return None


def sender_of_json(data: Mapping[str, Any]) -> Sender | None:
    """`sender_of` read from an update's JSON, before anything else is read of it: the chat of its first part
    that has one (a message's, an edit's, a button's message's, a member change's...)."""
    for kind, part in data.items():
        if kind == "update_id" or not isinstance(part, Mapping):
            continue
        chat, message = part.get("chat"), part.get("message")
        if not isinstance(chat, Mapping) and isinstance(message, Mapping):
            chat = message.get("chat")
        chat_id = chat.get("id") if isinstance(chat, Mapping) else None
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            return None
        date, user = part.get("date"), part.get("from")
        language = user.get("language_code") if isinstance(user, Mapping) else None
        return Sender(
            chat_id,
            float(date) if kind == "message" and isinstance(date, int) and not isinstance(date, bool) else None,
            language if isinstance(language, str) else None,
        )
    return None


def park_claimed(updates: asyncio.Queue[object]) -> Callable[[object, CallbackContext], Coroutine[Any, Any, None]]:  # type: ignore[type-arg]
    """Long polling's error handler for an update another process has in hand (`UpdateClaimed`): none of its
    handlers runs now; it goes back in `updates` (python-telegram-bot's queue of updates) once the claim may
    have ended, so nothing waits for it meanwhile, its chat's lane least of all. (The webhook answers 503.)"""

    async def park(update: object, context: CallbackContext) -> None:  # type: ignore[type-arg]
        error = context.error
        if not isinstance(error, UpdateClaimed):
            return
        log.info("%s; parked", error)
        asyncio.get_running_loop().call_later(error.retry_after, updates.put_nowait, update)
        raise ApplicationHandlerStop

    return park


class ChatLanes(BaseUpdateProcessor):
    """python-telegram-bot's update processor that gives each chat its lane."""

    def __init__(self, waiting: int = WAITING_PER_CHAT, slow_down: SlowDown | None = None) -> None:
        super().__init__(MAX_AT_ONCE)
        self.lanes = Lanes(waiting)
        self.slow_down = slow_down  # set by the composition root once the bot and its templates are built
        self.refused = 0  # updates refused, for logs and tests
        self._telling: set[asyncio.Task[None]] = set()  # slow-downs under way (kept from the garbage collector)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await self.handle(update, coroutine)

    async def handle(self, update: object, coroutine: Awaitable[Any]) -> bool:
        """Run the update's handling in its chat's lane; False when the lane was full and it was refused."""
        sender = sender_of(update)
        if sender is not None and not self.admit(sender):
            if isinstance(coroutine, Coroutine):
                coroutine.close()
            return False
        await self.run(sender, coroutine)
        return True

    def admit(self, sender: Sender) -> bool:
        """Tell whether the sender's lane takes one more update; refused, it is counted and the chat told to slow
        down (once in a while, without waiting for that message to go). `run` it in the same step of the loop."""
        if self.lanes.admits(sender.chat_id, sender.sent_at):
            return True
        self.refused += 1
        if self.lanes.refuse(sender.chat_id):
            log.warning("chat %s sends faster than it is answered: its updates are refused for now", sender.chat_id)
            if self.slow_down is not None:
                task = asyncio.create_task(self._say_slow_down(sender.chat_id, sender.language))
                self._telling.add(task)
                task.add_done_callback(self._telling.discard)
        return False

    async def run(self, sender: Sender | None, coroutine: Awaitable[Any]) -> None:
        """Await the update's handling in its sender's lane (`admit`ted), or at once for an update of no chat."""
        if sender is None:
            await coroutine
        else:
            await self.lanes.run(sender.chat_id, coroutine)

    async def _say_slow_down(self, chat_id: int, language: str | None) -> None:
        assert self.slow_down is not None
        try:
            await self.slow_down(chat_id, language)
        except Exception:  # the refusal stands whether or not the chat could be told
            log.exception("could not tell chat %s to slow down", chat_id)

    async def initialize(self) -> None:
        """Nothing to open: lanes come and go with their chats' updates."""

    async def shutdown(self) -> None:
        """Drop the slow-downs still waiting for the chat's pace: the bot is closed by now (python-telegram-bot
        waits for the updates in flight itself)."""
        for task in self._telling:
            task.cancel()
        await asyncio.gather(*self._telling, return_exceptions=True)
