"""The Bot API methods the emulator implements, by their canonical names."""

from __future__ import annotations

from collections.abc import Mapping

from emulator.methods import callbacks, chats, commands, messages, polling
from emulator.methods.context import Described, Handler, MethodContext

HANDLERS: Mapping[str, Handler] = {
    "getUpdates": polling.get_updates,
    "setWebhook": polling.set_webhook,
    "deleteWebhook": polling.delete_webhook,
    "getWebhookInfo": polling.get_webhook_info,
    "getMe": commands.get_me,
    "setMyCommands": commands.set_my_commands,
    "getMyCommands": commands.get_my_commands,
    "deleteMyCommands": commands.delete_my_commands,
    "sendMessage": messages.send_message,
    "sendPhoto": messages.send_photo,
    "sendDocument": messages.send_document,
    "forwardMessage": messages.forward_message,
    "copyMessage": messages.copy_message,
    "editMessageText": messages.edit_message_text,
    "editMessageCaption": messages.edit_message_caption,
    "editMessageReplyMarkup": messages.edit_message_reply_markup,
    "deleteMessage": messages.delete_message,
    "answerCallbackQuery": callbacks.answer_callback_query,
    "getChat": chats.get_chat,
    "getChatMember": chats.get_chat_member,
    "getChatAdministrators": chats.get_chat_administrators,
}

__all__ = ["HANDLERS", "Described", "Handler", "MethodContext"]
