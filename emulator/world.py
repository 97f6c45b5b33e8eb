"""Who and what exists in the emulated Telegram: users, chats, memberships, messages, callback queries,
and their Bot API JSON."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from emulator.errors import EmulatorError
from emulator.records import (
    ChatType,
    EmulatedChat,
    EmulatedUser,
    MemberStatus,
    MessageKind,
    RecordedMessage,
)

JsonDict = dict[str, Any]

FIRST_USER_ID = 1001
FIRST_GROUP_ID = -1001000000001
_PRESENT = (MemberStatus.CREATOR, MemberStatus.ADMINISTRATOR, MemberStatus.MEMBER)
_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": True,
    "can_edit_stories": True,
    "can_delete_stories": True,
    "can_pin_messages": True,
}


class World:
    """The emulated Telegram's state, in memory."""

    def __init__(
        self,
        *,
        bot_id: int,
        bot_username: str,
        bot_first_name: str = "Parole",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self._clock = clock
        self.users: dict[int, EmulatedUser] = {}
        self.chats: dict[int, EmulatedChat] = {}
        self.blocked: set[int] = set()
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        self._members: dict[int, dict[int, MemberStatus]] = {}
        self._messages: dict[int, list[RecordedMessage]] = {}
        self._callback_queries: dict[str, bool] = {}  # id → answered
        self._next_user_id = FIRST_USER_ID
        self._next_group_id = FIRST_GROUP_ID
        self._next_query = 1
        self._next_file = 1

    def now(self) -> int:
        return int(self._clock())

    # People and chats

    def add_user(
        self, first_name: str, *, last_name: str | None, username: str | None, language_code: str | None
    ) -> EmulatedUser:
        if not first_name:
            raise EmulatorError("a Telegram user needs a first name")
        user = EmulatedUser(self._next_user_id, first_name, last_name, username, language_code)
        self._next_user_id += 1
        self.users[user.id] = user
        return user

    def user(self, user_id: int) -> EmulatedUser:
        try:
            return self.users[user_id]
        except KeyError:
            raise EmulatorError(f"no user {user_id}: create it with add_user()") from None

    def add_group(
        self,
        title: str,
        *,
        members: Sequence[EmulatedUser],
        admins: Sequence[EmulatedUser],
        owner: EmulatedUser | None,
        supergroup: bool,
        forum: bool,
        bot_is_admin: bool,
    ) -> EmulatedChat:
        if forum and not supergroup:
            raise EmulatorError("only a supergroup can be a forum")
        chat_type = ChatType.SUPERGROUP if supergroup else ChatType.GROUP
        chat = EmulatedChat(self._next_group_id, chat_type, title, forum)
        self._next_group_id -= 1
        self.chats[chat.id] = chat
        self._messages[chat.id] = []
        statuses: dict[int, MemberStatus] = {}
        for user in members:
            statuses[self.user(user.id).id] = MemberStatus.MEMBER
        for user in admins:
            statuses[self.user(user.id).id] = MemberStatus.ADMINISTRATOR
        creator = owner or (admins[0] if admins else None)
        if creator is not None:
            statuses[self.user(creator.id).id] = MemberStatus.CREATOR
        statuses[self.bot_id] = MemberStatus.ADMINISTRATOR if bot_is_admin else MemberStatus.MEMBER
        self._members[chat.id] = statuses
        return chat

    def open_private_chat(self, user: EmulatedUser) -> EmulatedChat:
        """The user's chat with the bot, created when the user first writes to it."""
        chat = self.chats.get(user.id)
        if chat is None:
            chat = EmulatedChat(user.id, ChatType.PRIVATE, user=self.user(user.id))
            self.chats[chat.id] = chat
            self._messages[chat.id] = []
        return chat

    def chat(self, chat_id: int) -> EmulatedChat | None:
        return self.chats.get(chat_id)

    def status(self, chat_id: int, user_id: int) -> MemberStatus:
        chat = self.chats.get(chat_id)
        if chat is not None and chat.type is ChatType.PRIVATE:
            return MemberStatus.MEMBER if user_id in (chat.id, self.bot_id) else MemberStatus.LEFT
        return self._members.get(chat_id, {}).get(user_id, MemberStatus.LEFT)

    def is_present(self, chat_id: int, user_id: int) -> bool:
        return self.status(chat_id, user_id) in _PRESENT

    def set_status(self, chat_id: int, user_id: int, status: MemberStatus) -> None:
        self._members.setdefault(chat_id, {})[user_id] = status

    def administrators(self, chat_id: int) -> list[int]:
        """The owner first, then the administrators, in the order they were added."""
        statuses = self._members.get(chat_id, {})
        owners = [uid for uid, status in statuses.items() if status is MemberStatus.CREATOR]
        return owners + [uid for uid, status in statuses.items() if status is MemberStatus.ADMINISTRATOR]

    # Messages

    def record(
        self,
        chat_id: int,
        *,
        sender_id: int,
        kind: MessageKind,
        text: str = "",
        html: str | None = None,
        entities: list[JsonDict] | None = None,
        reply_markup: JsonDict | None = None,
        reply_to_message_id: int | None = None,
        payload: JsonDict | None = None,
    ) -> RecordedMessage:
        messages = self._messages.setdefault(chat_id, [])
        message = RecordedMessage(
            message_id=len(messages) + 1,
            chat_id=chat_id,
            from_bot=sender_id == self.bot_id,
            sender_id=sender_id,
            kind=kind,
            text=text,
            html=html,
            entities=list(entities or []),
            reply_markup=reply_markup,
            date=self.now(),
            reply_to_message_id=reply_to_message_id,
            payload=dict(payload or {}),
        )
        messages.append(message)
        return message

    def messages(self, chat_id: int) -> list[RecordedMessage]:
        return list(self._messages.get(chat_id, []))

    def message(self, chat_id: int, message_id: int) -> RecordedMessage | None:
        """The message, unless it does not exist or was deleted."""
        messages = self._messages.get(chat_id, [])
        if 1 <= message_id <= len(messages) and not messages[message_id - 1].deleted:
            return messages[message_id - 1]
        return None

    def photo_with(self, file_id: str) -> list[JsonDict] | None:
        """The sizes of the photo one of whose sizes has this file_id (a photo sent by anyone), else None."""
        for messages in self._messages.values():
            for message in messages:
                sizes = message.payload.get("photo")
                if isinstance(sizes, list) and any(size.get("file_id") == file_id for size in sizes):
                    return [dict(size) for size in sizes]
        return None

    def next_file_number(self) -> int:
        number = self._next_file
        self._next_file += 1
        return number

    # Callback queries

    def open_callback_query(self) -> str:
        query_id = str(4_000_000_000_000_000_000 + self._next_query)
        self._next_query += 1
        self._callback_queries[query_id] = False
        return query_id

    def answer_callback_query(self, query_id: str) -> bool:
        """Mark the query answered; False when it is unknown or was already answered."""
        if self._callback_queries.get(query_id) is not False:
            return False
        self._callback_queries[query_id] = True
        return True

    # Bot API JSON

    def bot_json(self, *, full: bool = False) -> JsonDict:
        data: JsonDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }
        if full:
            data.update(
                can_join_groups=True,
                can_read_all_group_messages=True,
                supports_inline_queries=False,
                can_connect_to_business=False,
                has_main_web_app=False,
            )
        return data

    def user_json(self, user_id: int) -> JsonDict | None:
        if user_id == self.bot_id:
            return self.bot_json()
        user = self.users.get(user_id)
        return user.to_json() if user is not None else None

    def message_json(self, message: RecordedMessage, *, nested: bool = False) -> JsonDict:
        """The message as a Bot API `Message`; a reply carries the message it answers (one level deep)."""
        sender = self.user_json(message.sender_id)
        data: JsonDict = {
            "message_id": message.message_id,
            "from": sender,
            "chat": self.chats[message.chat_id].to_json(),
            "date": message.date,
        }
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        if message.reply_to_message_id is not None and not nested:
            replied = self.message(message.chat_id, message.reply_to_message_id)
            if replied is not None:
                data["reply_to_message"] = self.message_json(replied, nested=True)
        data.update(message.payload)
        if message.kind is MessageKind.TEXT:
            data["text"] = message.text
            if message.entities:
                data["entities"] = message.entities
        elif message.text:
            data["caption"] = message.text
            if message.entities:
                data["caption_entities"] = message.entities
        if message.reply_markup is not None and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup
        return data

    def member_json(self, chat_id: int, user_id: int) -> JsonDict:
        """The user's `ChatMember` object in the chat, with the fields of its status."""
        user = self.user_json(user_id)
        status = self.status(chat_id, user_id)
        data: JsonDict = {"status": str(status), "user": user}
        if status is MemberStatus.CREATOR:
            data["is_anonymous"] = False
        elif status is MemberStatus.ADMINISTRATOR:
            data.update(_ADMIN_RIGHTS)
            if self.chats[chat_id].is_forum:
                data["can_manage_topics"] = True
        elif status is MemberStatus.KICKED:
            data["until_date"] = 0
        return data

    def chat_full_info(self, chat: EmulatedChat) -> JsonDict:
        return {
            **chat.to_json(),
            "accent_color_id": chat.id % 7 if chat.id > 0 else 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }
