"""Every handler of the bot in Telegram, registered in one place, in the order python-telegram-bot tries them.

Group -1, the operators' chat (`AdminChat`): template and flow commands and the preview buttons, in an
operator's private chat or a staff room; an update it handled stops there (`ApplicationHandlerStop`).
Group 0, the customers' private chats (`PrivateChats`): the `Inbound` the webhook read itself, and the
`Update`s of long polling (and of what the webhook left to python-telegram-bot); it ignores groups.
Group 1, the staff rooms (`StaffRoomChat`): linking, staff commands, replies to cards, card buttons, in
groups only.

Around them, each `Update` is handled once (`bot.storage.handled`): group -2 claims it (a redelivery of an
update handled and answered stops there: `/template set`, `/vocab add`, `/mydata`, `/tickets`, `/help`,
`/link` act and answer once), and it is recorded as handled after the last group, or when a handler stops
it; a handler's error gives it back, so that Telegram's redelivery handles it again. The customers'
`Inbound`s are the conversation core's to record (`bot.conversations.chat`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, TypeHandler

from bot.channels.telegram.admin_chat import AdminChat
from bot.channels.telegram.customer import PrivateChats
from bot.channels.telegram.staff_room import StaffRoomChat
from bot.seam.inbound import Inbound
from bot.storage.handled import HandledUpdates, telegram_update

log = logging.getLogger(__name__)

CLAIM, OPERATORS, CUSTOMERS, STAFF_ROOMS, RECORD = -2, -1, 0, 1, 2
Callback = Callable[[Any, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


class OnceEach:
    """Claims each `Update` before the handlers, records it after them; gives it back when one failed."""

    def __init__(self, handled: HandledUpdates) -> None:
        self.handled = handled
        self._failed: set[int] = set()  # updates a handler failed on, while their later groups run

    async def claim(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await self.handled.claim(telegram_update(update.update_id)):
            log.info("update %s delivered again: handled and answered already", update.update_id)
            raise ApplicationHandlerStop

    async def record(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.update_id in self._failed:
            self._failed.discard(update.update_id)
            return
        await self.handled.done(telegram_update(update.update_id))

    def around(self, callback: Callback) -> Callback:
        """`callback`, recording the update when it stops it, giving it back when it fails."""

        async def handle(update: Any, context: ContextTypes.DEFAULT_TYPE) -> None:
            try:
                await callback(update, context)
            except ApplicationHandlerStop:
                await self.record(update, context)
                raise
            except BaseException:
                if isinstance(update, Update):
                    self._failed.add(update.update_id)
                    if len(self._failed) > 10_000:  # a record lost now and then costs one more answer, no more
                        self._failed.clear()
                    with contextlib.suppress(Exception):
                        await self.handled.release(telegram_update(update.update_id))
                raise

        return handle


def add_handlers(
    application: Application,  # type: ignore[type-arg]
    *,
    customers: PrivateChats,
    staff_rooms: StaffRoomChat,
    operators: AdminChat,
    handled: HandledUpdates,
) -> None:
    """Register the bot's handlers on `application`."""
    once = OnceEach(handled)
    application.add_handlers(
        {
            CLAIM: [TypeHandler(Update, once.claim)],
            OPERATORS: [TypeHandler(Update, once.around(operators.handle_update))],
            CUSTOMERS: [
                TypeHandler(Inbound, customers.handle_inbound),
                TypeHandler(Update, once.around(customers.handle_update)),
            ],
            STAFF_ROOMS: [TypeHandler(Update, once.around(staff_rooms.handle_update))],
            RECORD: [TypeHandler(Update, once.record)],
        }
    )
