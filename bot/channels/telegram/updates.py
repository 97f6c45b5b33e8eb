"""A customer's update in a private chat, read straight from the Bot API's JSON into the core's `Inbound`.

python-telegram-bot's `Update.de_json` builds a frozen object for every part of an update (the update,
its message, chat, user, keyboard...): 140 µs for a text and 290 µs for a button here, the largest single
cost of a customer's turn once Redis and the Bot API calls were lean. The conversation core reads seven
fields. So the webhook reads those into an `Inbound` and hands it to the `Application` like any update
(python-telegram-bot dispatches any object to a `TypeHandler` of its type, as its custom-webhook example
does); everything else (groups, the operators' commands, edited messages, malformed shapes) still becomes
an `Update`. Long polling hands over `Update`s, which `read_update` reads the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telegram import Update

from bot.seam.commands import command_name
from bot.seam.inbound import Inbound
from bot.staff.commands import ADMIN_COMMANDS, PREVIEW_BUTTON
from bot.storage.identity import CustomerId

MAX_LATITUDE = 85.05112878  # the furthest north and south Redis' geo index goes
# Message attributes that carry something other than text, in the order Telegram documents them.
MEDIA_KINDS = (
    "animation", "audio", "document", "photo", "sticker", "story", "video", "video_note", "voice",
    "contact", "dice", "game", "poll", "venue", "location", "invoice", "paid_media",
)  # fmt: skip


def read_json(data: Mapping[str, Any]) -> Inbound | None:
    """The update as an `Inbound`, or None when it is anything else: not a new message or a button in
    a private chat with a person, or a shape Telegram never sends (a missing or non-integer id, a text
    that is not a string...)."""
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None
    if "message" in data:
        return _message(update_id, data["message"])
    if "callback_query" in data:
        return _button(update_id, data["callback_query"])
    return None


def read_update(update: Update) -> Inbound | None:
    """The same reading of an update python-telegram-bot already built (long polling)."""
    return read_json(update.to_dict())


def for_operators(inbound: Inbound) -> bool:
    """An operator's command or button in their private chat, which `bot.channels.telegram.admin_chat`
    answers first (a command for any bot: the admin chat tells whether it is for this one)."""
    if inbound.button_data == PREVIEW_BUTTON:
        return True
    return command_name(inbound.text) in ADMIN_COMMANDS


def customer_update(data: Mapping[str, Any]) -> Inbound | None:
    """The webhook's reading of an update: an `Inbound` for the conversation core, or None for one that goes
    through python-telegram-bot's `Update` (groups, operators' commands, other kinds, odd shapes)."""
    inbound = read_json(data)
    return None if inbound is None or for_operators(inbound) else inbound


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _person(user: object) -> Mapping[str, Any] | None:
    """A user who is a person, with an integer id and a string language code if any; else None."""
    if not isinstance(user, Mapping) or not _is_int(user.get("id")) or user.get("is_bot") is not False:
        return None
    language = user.get("language_code")
    return user if language is None or isinstance(language, str) else None


def _private_chat(message: object) -> int | None:
    """The id of the message's chat when it is a private one, else None."""
    if not isinstance(message, Mapping):
        return None
    chat = message.get("chat")
    if not isinstance(chat, Mapping) or chat.get("type") != "private" or not _is_int(chat.get("id")):
        return None
    return int(chat["id"])


def _message(update_id: int, message: object) -> Inbound | None:
    chat_id = _private_chat(message)
    if chat_id is None or not isinstance(message, Mapping) or not _is_int(message.get("message_id")):
        return None
    user = _person(message.get("from"))
    if user is None:
        return None
    text = message.get("text")
    if text is not None and not isinstance(text, str):
        return None
    caption = message.get("caption")
    if text is None and isinstance(caption, str) and caption.strip():
        text = caption  # a photo with a few words: the words are the answer (after the journey, the photo goes too)
    location = None
    kind = None
    if text is None:
        kind = next((k for k in MEDIA_KINDS if message.get(k)), "other")
        where = message.get("location")  # a location shared, or the place of a venue
        if isinstance(where, Mapping):
            latitude, longitude = where.get("latitude"), where.get("longitude")
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (latitude, longitude)):
                return None
            location = (float(latitude), float(longitude))  # type: ignore[arg-type]  # checked just above
            if not (abs(location[0]) <= MAX_LATITUDE and abs(location[1]) <= 180.0):
                location = None  # no place on the map (Redis' geo search refuses it): a location like any other kind
    return Inbound(
        update_id,
        CustomerId.telegram(chat_id),
        user.get("language_code"),
        message_id=int(message["message_id"]),
        text=text,
        kind=kind,
        location=location,
        photo=_largest_photo(message.get("photo")),
    )


def _largest_photo(sizes: object) -> str | None:
    """The file_id of a photo's largest size (Telegram lists them smallest first), or None."""
    if not isinstance(sizes, list) or not sizes or not isinstance(sizes[-1], Mapping):
        return None
    file_id = sizes[-1].get("file_id")
    return file_id if isinstance(file_id, str) and 0 < len(file_id) <= 256 else None


def _button(update_id: int, query: object) -> Inbound | None:
    if not isinstance(query, Mapping):
        return None
    user = _person(query.get("from"))
    callback_id, data = query.get("id"), query.get("data", "")
    if user is None or not isinstance(callback_id, str) or not isinstance(data, str):
        return None
    message = query.get("message")
    chat_id = _private_chat(message)
    if chat_id is None or not isinstance(message, Mapping) or not _is_int(message.get("message_id")):
        return None
    # A message too old for the bot to see is sent with date 0 (Telegram's InaccessibleMessage): it cannot be edited.
    clicked = int(message["message_id"]) if message.get("date") != 0 else None
    return Inbound(
        update_id,
        CustomerId.telegram(chat_id),
        user.get("language_code"),
        button_data=data,
        button_id=callback_id,
        clicked_message_id=clicked,
    )
