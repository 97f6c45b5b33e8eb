"""Every handler of the bot in Telegram, registered in one place, in the order python-telegram-bot tries them.

Group -1, the operators' chat (`AdminChat`): template and flow commands and the preview buttons, in an
operator's private chat or a staff room; an update it handled stops there (`ApplicationHandlerStop`).
Group 0, the customers' private chats (`PrivateChats`): the `Inbound` the webhook read itself, and the
`Update`s of long polling (and of what the webhook left to python-telegram-bot); it ignores groups.
Group 1, the staff rooms (`StaffRoomChat`): linking, staff commands, replies to cards, card buttons, in
groups only.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, TypeHandler

from bot.channels.telegram.admin_chat import AdminChat
from bot.channels.telegram.customer import PrivateChats
from bot.channels.telegram.staff_room import StaffRoomChat
from bot.seam.inbound import Inbound

OPERATORS, CUSTOMERS, STAFF_ROOMS = -1, 0, 1


def add_handlers(
    application: Application,  # type: ignore[type-arg]
    *,
    customers: PrivateChats,
    staff_rooms: StaffRoomChat,
    operators: AdminChat,
) -> None:
    """Register the bot's handlers on `application`."""
    application.add_handlers(
        {
            OPERATORS: [TypeHandler(Update, operators.handle_update)],
            CUSTOMERS: [TypeHandler(Inbound, customers.handle_inbound), TypeHandler(Update, customers.handle_update)],
            STAFF_ROOMS: [TypeHandler(Update, staff_rooms.handle_update)],
        }
    )
