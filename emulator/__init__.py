"""A Telegram Bot API emulator for the tests and the demo: an aiohttp server on 127.0.0.1 that checks every
call against the Bot API specification and keeps users, chats, messages and updates in memory.

The specification, `botapi.json`, comes from PaulSonOfLars/telegram-bot-api-spec under the MIT licence,
kept beside it in `LICENSE-botapi-spec`.
"""

from emulator.errors import BotApiError, EmulatorError
from emulator.records import (
    ApiCall,
    ChatType,
    Delivery,
    EmulatedChat,
    EmulatedUser,
    MemberStatus,
    MessageKind,
    RecordedMessage,
    UploadedFile,
)
from emulator.server import DEFAULT_TOKEN, BotApiEmulator
from emulator.spec import BotApiSpec, SpecMismatch

__all__ = [
    "DEFAULT_TOKEN",
    "ApiCall",
    "BotApiEmulator",
    "BotApiError",
    "BotApiSpec",
    "ChatType",
    "Delivery",
    "EmulatedChat",
    "EmulatedUser",
    "EmulatorError",
    "MemberStatus",
    "MessageKind",
    "RecordedMessage",
    "SpecMismatch",
    "UploadedFile",
]
