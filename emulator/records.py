"""Value types shared by the emulator: users, chats, recorded messages, API calls and deliveries."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

JsonDict = dict[str, Any]


class ChatType(StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    SUPERGROUP = "supergroup"


class MemberStatus(StrEnum):
    CREATOR = "creator"
    ADMINISTRATOR = "administrator"
    MEMBER = "member"
    LEFT = "left"
    KICKED = "kicked"


class MessageKind(StrEnum):
    TEXT = "text"
    STICKER = "sticker"
    PHOTO = "photo"
    VOICE = "voice"
    VIDEO = "video"
    DOCUMENT = "document"
    AUDIO = "audio"
    ANIMATION = "animation"
    VIDEO_NOTE = "video_note"
    CONTACT = "contact"
    LOCATION = "location"
    VENUE = "venue"
    POLL = "poll"
    DICE = "dice"


@dataclass(frozen=True, slots=True)
class EmulatedUser:
    """A Telegram user the test controls."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    def to_json(self) -> JsonDict:
        """The user as a Bot API `User` object."""
        data: JsonDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name is not None:
            data["last_name"] = self.last_name
        if self.username is not None:
            data["username"] = self.username
        if self.language_code is not None:
            data["language_code"] = self.language_code
        return data


@dataclass(frozen=True, slots=True)
class EmulatedChat:
    """A private chat (its id is the user's), a group or a supergroup (negative ids)."""

    id: int
    type: ChatType
    title: str | None = None
    is_forum: bool = False
    user: EmulatedUser | None = None  # the other party of a private chat

    def to_json(self) -> JsonDict:
        """The chat as a Bot API `Chat` object."""
        data: JsonDict = {"id": self.id, "type": str(self.type)}
        if self.user is not None:
            user = self.user.to_json()
            data.update({key: user[key] for key in ("first_name", "last_name", "username") if key in user})
        if self.title is not None:
            data["title"] = self.title
        if self.is_forum:
            data["is_forum"] = True
        return data


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of a multipart Bot API call (only its description is kept: its SHA-256, and for an image
    its format and dimensions as Pillow reads them from its header)."""

    filename: str | None
    content_type: str | None
    size: int
    sha256: str = ""
    image: tuple[str, int, int] | None = None  # (format, width, height)


@dataclass(slots=True)
class RecordedMessage:
    """A message in a chat as it is now: edits update it, deletion marks it.

    `text` is the plain text (or the caption of a media message; "" when there is none), `html` the text
    exactly as the bot sent it (None for the users' messages), `payload` the kind-specific fields of the
    Bot API `Message` (`photo`, `sticker`, `forward_origin`...).
    """

    message_id: int
    chat_id: int
    from_bot: bool
    sender_id: int
    kind: MessageKind
    text: str
    html: str | None
    entities: list[JsonDict]
    reply_markup: JsonDict | None
    date: int
    edit_date: int | None = None
    reply_to_message_id: int | None = None
    deleted: bool = False
    payload: JsonDict = field(default_factory=dict)

    def buttons(self) -> list[list[tuple[str, str]]]:
        """The rows of the current keyboard as (text, callback_data or url) pairs.

        Buttons of a reply keyboard, and inline buttons with neither, carry "".
        """
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [
            [
                (str(button.get("text", "")), str(button.get("callback_data") or button.get("url") or ""))
                if isinstance(button, dict)
                else (str(button), "")
                for button in row
            ]
            for row in rows
        ]


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One Bot API call as the emulator answered it; `at` is `time.monotonic()` at its arrival."""

    method: str
    params: JsonDict
    status: int
    response: JsonDict
    at: float

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def result(self) -> Any:
        """The `result` of a successful call (None for an error)."""
        return self.response.get("result")


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one update: in webhook mode the HTTP status of the bot's answer, its JSON body and
    the Bot API calls made while the request was in flight; in polling mode only the update."""

    update_id: int
    update: JsonDict
    status: int | None = None
    calls: list[ApiCall] = field(default_factory=list)
    body: JsonDict | None = None
