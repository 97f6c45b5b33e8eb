"""What every Bot API method implementation receives, and the checks several of them share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from dialogs.telegram_html import FormattedText, HtmlParseError, parse_html, trim
from emulator.entities import clip_entities
from emulator.errors import bad_request, forbidden
from emulator.records import ChatType, EmulatedChat, MemberStatus
from emulator.updates import UpdateQueue
from emulator.world import World

JsonDict = dict[str, Any]
Params = dict[str, Any]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024


@dataclass(slots=True)
class MethodContext:
    world: World
    updates: UpdateQueue


@dataclass(frozen=True, slots=True)
class Described:
    """A result with the `description` Telegram adds to some answers ("Webhook was set")."""

    result: object
    description: str


Handler = Callable[[MethodContext, Params], Awaitable[object]]


def _find_chat(world: World, chat_id: int | str, *, sending: bool) -> EmulatedChat:
    chat = world.chat(chat_id) if isinstance(chat_id, int) else None
    if chat is None:
        if sending and chat_id in world.users:
            raise forbidden("bot can't initiate conversation with a user")
        raise bad_request("chat not found")
    if chat.type is not ChatType.PRIVATE and not world.is_present(chat.id, world.bot_id):
        kicked = world.status(chat.id, world.bot_id) is MemberStatus.KICKED
        raise forbidden(f"bot {'was kicked from' if kicked else 'is not a member of'} the {chat.type} chat")
    return chat


def chat_for_sending(world: World, chat_id: int | str) -> EmulatedChat:
    """The chat the bot writes to, or the 400/403 error Telegram answers (unknown, blocked, not a member)."""
    chat = _find_chat(world, chat_id, sending=True)
    if chat.type is ChatType.PRIVATE and chat.id in world.blocked:
        raise forbidden("bot was blocked by the user")
    return chat


def chat_for_reading(world: World, chat_id: int | str) -> EmulatedChat:
    """The chat the bot looks at (getChat...), or Telegram's error."""
    return _find_chat(world, chat_id, sending=False)


def check_thread(chat: EmulatedChat, params: Params) -> None:
    if params.get("message_thread_id") is not None and not chat.is_forum:
        raise bad_request("message thread not found")


def formatted_text(
    world: World, text: str, parse_mode: str | None, entities: list[JsonDict] | None, *, caption: bool = False
) -> FormattedText:
    """The text as Telegram stores it after parsing `parse_mode`, with its limits and errors."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        try:
            formatted = parse_html(text, world.user_json)
        except HtmlParseError as error:
            raise bad_request(f"can't parse entities: {error}") from None
    elif mode in ("markdown", "markdownv2"):
        raise bad_request(f"parse_mode {parse_mode} is not supported by the emulator, use HTML")
    elif mode:
        raise bad_request("unsupported parse_mode")
    else:
        formatted = trim(FormattedText(text, clip_entities(text, entities or [])))
    if not caption and not formatted.text:
        raise bad_request("message text is empty")
    if formatted.length > (MAX_CAPTION_LENGTH if caption else MAX_TEXT_LENGTH):
        raise bad_request("message caption is too long" if caption else "message is too long")
    return formatted


def reply_target(world: World, chat: EmulatedChat, params: Params) -> int | None:
    """The id of the message `reply_parameters` points at, in the same chat."""
    reply = params.get("reply_parameters")
    if reply is None:
        return None
    if reply.get("chat_id") not in (None, chat.id):
        raise bad_request("replies to another chat are not supported by the emulator")
    replied = world.message(chat.id, reply["message_id"])
    if replied is None:
        if reply.get("allow_sending_without_reply"):
            return None
        raise bad_request("message to be replied not found")
    return replied.message_id
