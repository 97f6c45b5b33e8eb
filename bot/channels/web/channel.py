"""The web channel as the conversation core sees it: answers and messages written to the customer's
transcript (`bot.channels.web.transcript`), which the page shows and live connections receive."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis

from bot.channels.web.html import web_html
from bot.channels.web.transcript import Transcript, event
from bot.seam.inbound import Inbound
from bot.seam.outgoing import Answer, Buttons, Delivered, OutgoingMessage
from bot.storage import keys
from bot.storage.identity import CustomerId

DOCUMENT_SECONDS = 3600  # a file to download (the customer's data) is kept an hour


class WebCustomers:
    """Says the core's messages on the web (`name="web"`) or on a kiosk (`name="kiosk"`)."""

    def __init__(self, redis: Redis, transcript: Transcript, *, name: str = "web") -> None:
        self.redis = redis
        self.transcript = transcript
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def username(self) -> str | None:
        return None  # `/start@name` names a Telegram bot: on the web it is for no one here

    def answer(self, inbound: Inbound, messages: Sequence[OutgoingMessage]) -> Answer:
        """The events that show the messages: `[customer key, update, event...]`."""
        events: list[str] = []
        for message in messages:
            html = web_html(message.text)
            if message.replace_clicked and inbound.clicked_message_id is not None:
                events.append(event("replace", "bot", html, message.buttons, target=inbound.clicked_message_id))
            else:
                events.append(event("add", "bot", html, message.buttons))
        return (inbound.customer.key, inbound.update_id, *events)

    async def deliver(self, answer: Answer) -> None:
        if len(answer) < 3:
            return
        customer = CustomerId.from_key(str(answer[0]))
        await self.transcript.append(customer, [str(e) for e in answer[2:]], mark=f"answer:{answer[1]}")

    async def acknowledge(self, inbound: Inbound, notice: str | None) -> None:
        if notice:  # a notice is a message of its own on a page (there is no pop-up to show it in)
            await self.transcript.append(inbound.customer, [event("add", "bot", web_html(notice))])

    async def edit_clicked(self, inbound: Inbound, *, text: str | None, buttons: Buttons) -> None:
        if inbound.clicked_message_id is None:
            return
        html = web_html(text) if text is not None else None
        replace = json.dumps(
            {"op": "replace", "from": "bot", "html": html, "buttons": [list(map(list, row)) for row in buttons],
             "target": inbound.clicked_message_id, "file": None},
            ensure_ascii=False,
        )  # fmt: skip
        await self.transcript.append(inbound.customer, [replace])

    async def send(
        self, customer: CustomerId, message: OutgoingMessage, *, what: str, from_staff: bool = False
    ) -> Delivered:
        file: dict[str, Any] | None = None
        if message.document is not None:
            token = secrets.token_urlsafe(18)
            stored = {"customer": customer.key, "filename": message.document.filename,
                      "content": message.document.content.decode()}  # fmt: skip
            await self.redis.set(keys.web_document(token), json.dumps(stored, ensure_ascii=False), ex=DOCUMENT_SECONDS)
            file = {"token": token, "filename": message.document.filename}
        await self.transcript.append(
            customer, [event("add", "bot", web_html(message.text), message.buttons, file=file)]
        )
        return Delivered.SENT
