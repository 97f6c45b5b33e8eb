"""The Telegram channel as the conversation core sees it: a customer's private chat with the bot.

Answers are the Bot API's JSON, made with python-telegram-bot's raw `do_api_request`: the customer chat
never reads what Telegram sends back beyond success, so no python-telegram-bot object is built either way.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import Bot, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes
from telegram.warnings import PTBUserWarning

from bot.botapi.outbound import PRIORITY, Priority
from bot.botapi.sending import call_telegram
from bot.channels.telegram.updates import read_update
from bot.conversations.chat import CustomerChat
from bot.seam.inbound import Inbound
from bot.seam.outgoing import Answer, Buttons, Delivered, OutgoingMessage
from bot.storage.identity import TELEGRAM, CustomerId

# The raw `do_api_request` for the customer's messages is deliberate (see the module's docstring).
warnings.filterwarnings(
    "ignore", message=r"Please use 'Bot\.\w+' instead of 'Bot\.do_api_request", category=PTBUserWarning
)
MAX_NOTICE = 200  # characters of a button's notice (answerCallbackQuery)


class TelegramCustomers:
    """Says the core's messages in private chats, within the Bot API's shapes and limits."""

    name = TELEGRAM

    def __init__(self, bot: Bot, username: str | None) -> None:
        self.bot = bot
        self.username = username  # the bot's: `/start@username`

    def answer(self, inbound: Inbound, messages: Sequence[OutgoingMessage]) -> Answer:
        """One sendMessage per message, or an editMessageText of the clicked message where it replaces it."""
        chat_id = inbound.customer.chat_id
        calls: list[tuple[str, dict[str, Any]]] = []
        for message in messages:
            params: dict[str, Any] = {"chat_id": chat_id, "text": message.text, "parse_mode": "HTML"}
            if message.buttons:
                params["reply_markup"] = _keyboard(message.buttons)
            if message.replace_clicked and inbound.clicked_message_id is not None:
                calls.append(("editMessageText", {**params, "message_id": inbound.clicked_message_id}))
            else:
                calls.append(("sendMessage", params))
        return tuple(calls)

    async def deliver(self, answer: Answer) -> None:
        for method, params in answer:
            if method == "editMessageText":
                await call_telegram(self._raw(method, params), idempotent=True, what="edit in a customer chat")
            else:
                await call_telegram(self._raw(method, params), idempotent=False, what="message to a customer")

    async def acknowledge(self, inbound: Inbound, notice: str | None) -> None:
        """Answer the callback query (stops the button's spinner), with a short notice if any."""
        params: dict[str, Any] = {"callback_query_id": inbound.button_id}
        if notice:
            params["text"] = notice[:MAX_NOTICE]
        await call_telegram(self._raw("answerCallbackQuery", params), idempotent=True, what="callback answer")

    async def edit_clicked(self, inbound: Inbound, *, text: str | None, buttons: Buttons) -> None:
        if inbound.clicked_message_id is None:  # too old to be edited
            return
        params: dict[str, Any] = {"chat_id": inbound.customer.chat_id, "message_id": inbound.clicked_message_id}
        if buttons:  # without a keyboard, an edit takes the buttons away
            params["reply_markup"] = _keyboard(buttons)
        if text is None:
            await call_telegram(self._raw("editMessageReplyMarkup", params), idempotent=True, what="button edit")
        else:
            params.update(text=text, parse_mode="HTML")
            await call_telegram(self._raw("editMessageText", params), idempotent=True, what="edit in a customer chat")

    async def send(
        self, customer: CustomerId, message: OutgoingMessage, *, what: str, from_staff: bool = False
    ) -> Delivered:
        priority = Priority.CARD if from_staff else PRIORITY.get()  # ANSWER, unless news set BROADCAST around it
        if message.document is not None:
            document = message.document
            call = functools.partial(
                self.bot.send_document, customer.chat_id, document.content, filename=document.filename
            )
            return (await call_telegram(call, idempotent=False, what=what, priority=priority)).outcome
        params: dict[str, Any] = {"chat_id": customer.chat_id, "text": message.text, "parse_mode": "HTML"}
        if message.buttons:
            params["reply_markup"] = _keyboard(message.buttons)
        sent = await call_telegram(self._raw("sendMessage", params), idempotent=False, what=what, priority=priority)
        return sent.outcome

    def _raw(self, method: str, params: dict[str, Any]) -> Callable[[], Awaitable[object]]:
        """A Bot API call as the JSON Telegram documents."""
        return functools.partial(self.bot.do_api_request, method, api_kwargs=params)


class PrivateChats:
    """python-telegram-bot's handlers of customers' private chats: what the webhook read itself (`Inbound`)
    and what long polling hands over (`Update`), both to the conversation core."""

    def __init__(self, chat: CustomerChat) -> None:
        self.chat = chat

    async def handle_inbound(self, inbound: Inbound, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.chat.handle(inbound)

    async def handle_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE:
            return
        inbound = read_update(update)
        if inbound is not None:
            await self.chat.handle(inbound)


def _keyboard(buttons: Buttons) -> dict[str, object]:
    """An inline keyboard as the Bot API's JSON (the raw call needs no `InlineKeyboardMarkup` object)."""
    return {"inline_keyboard": [[{"text": label, "callback_data": data} for label, data in row] for row in buttons]}
