"""How the bot's Telegram updates are handled: each chat's in its own lane (`bot.channels.lanes`), so a chat
that floods the bot, or waits for Telegram's per-chat pace, holds no other chat; beyond the lane's bound an
update is refused and the chat told once to slow down.

python-telegram-bot hands every update of long polling to its `update_processor` (this class, with as many
updates at once as come); the webhook calls `handle` itself, so both paths are the same.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.channels.lanes import WAITING_PER_CHAT, Lanes
from bot.seam.inbound import Inbound

log = logging.getLogger(__name__)

#: python-telegram-bot's cap on updates handled at once; the lanes are what bound each chat.
MAX_AT_ONCE = 100_000

SlowDown = Callable[[int, str | None], Awaitable[None]]  # the chat's id and the sender's language


def chat_of(update: object) -> tuple[int | None, str | None]:
    """The chat an update belongs to and its sender's language (None, None: an update of no chat)."""
    if isinstance(update, Inbound):
        return update.customer.chat_id, update.language_code
    if isinstance(update, Update):
        chat, user = update.effective_chat, update.effective_user
        return (chat.id if chat is not None else None), (user.language_code if user is not None else None)
    return None, None


class ChatLanes(BaseUpdateProcessor):
    """python-telegram-bot's update processor that gives each chat its lane."""

    def __init__(self, waiting: int = WAITING_PER_CHAT, slow_down: SlowDown | None = None) -> None:
        super().__init__(MAX_AT_ONCE)
        self.lanes = Lanes(waiting)
        self.slow_down = slow_down  # set by the composition root once the bot and its templates are built
        self.refused = 0  # updates refused, for logs and tests

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await self.handle(update, coroutine)

    async def handle(self, update: object, coroutine: Awaitable[Any]) -> bool:
        """Run the update's handling in its chat's lane; False when the lane was full and it was refused."""
        chat_id, language = chat_of(update)
        if chat_id is None:
            await coroutine
            return True
        if not self.lanes.admits(chat_id):
            if isinstance(coroutine, Coroutine):
                coroutine.close()
            self.refused += 1
            if self.lanes.refuse(chat_id):
                log.warning("chat %s sends faster than it is answered: its updates are refused for now", chat_id)
                if self.slow_down is not None:
                    await self._say_slow_down(chat_id, language)
            return False
        await self.lanes.run(chat_id, coroutine)
        return True

    async def _say_slow_down(self, chat_id: int, language: str | None) -> None:
        assert self.slow_down is not None
        try:
            await self.slow_down(chat_id, language)
        except Exception:  # the refusal stands whether or not the chat could be told
            log.exception("could not tell chat %s to slow down", chat_id)

    async def initialize(self) -> None:
        """Nothing to open: lanes come and go with their chats' updates."""

    async def shutdown(self) -> None:
        """Nothing to close: python-telegram-bot waits for the updates in flight itself."""
