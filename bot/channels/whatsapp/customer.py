"""The WhatsApp channel as the conversation core sees it: a customer's chat with the business number.

The core's messages become Cloud API messages: text in WhatsApp's formatting; buttons as up to three
reply buttons when their titles fit, else as an interactive list (the rating's five rows), else (more than a
list holds, for the 0-10 question) written out under the text for the customer to type one; every limit
checked before the call. WhatsApp cannot edit a message or acknowledge a tap, so a notice or a replaced
text is a new message. Outside the 24-hour window only the approved template reaches a customer. The images
(and documents) customers send are fetched for the staff on demand, within what the staff rooms take.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any, Final

from bot.botapi.outbound import PRIORITY, Priority
from bot.channels.whatsapp import limits
from bot.channels.whatsapp.cloud_api import CloudApi, Result
from bot.channels.whatsapp.deliveries import StaffAnswers
from bot.channels.whatsapp.formatting import chunks, cut, one_line, to_whatsapp
from bot.channels.whatsapp.updates import WHATSAPP
from bot.channels.whatsapp.window import ServiceWindow
from bot.seam.inbound import Inbound
from bot.seam.outgoing import Answer, Buttons, Delivered, OutgoingMessage
from bot.seam.pictures import MAX_PICTURE_BYTES, NotPassed, Picture, check_announced, check_bytes
from bot.storage.identity import CustomerId

log = logging.getLogger(__name__)
LIST_LABEL: Final = "☰"  # the button that opens a list: no words, so no language to choose
Payload = dict[str, Any]


class Template:
    """The approved template for messages outside the window: its name, language, one body parameter."""

    def __init__(self, name: str, language: str) -> None:
        self.name = name
        self.language = language

    def payload(self, to: str, text: str) -> Payload:
        parameter = {"type": "text", "text": one_line(text, limits.TEMPLATE_PARAMETER)}
        return {
            "messaging_product": "whatsapp", "to": to, "type": "template",
            "template": {
                "name": self.name, "language": {"code": self.language},
                "components": [{"type": "body", "parameters": [parameter]}],
            },
        }  # fmt: skip


class WhatsAppCustomers:
    """Says the core's messages on WhatsApp, within the Cloud API's shapes, limits and window."""

    name = WHATSAPP
    username = None  # no `/start@name` on WhatsApp

    def __init__(
        self,
        api: CloudApi,
        window: ServiceWindow,
        template: Template | None = None,
        *,
        answers: StaffAnswers | None = None,
    ) -> None:
        self.api = api
        self.window = window
        self.template = template
        self.answers = answers or StaffAnswers(window.redis)

    # --- answers to what a customer did (always within the window: they just wrote) ------------------
    def answer(self, inbound: Inbound, messages: Sequence[OutgoingMessage]) -> Answer:
        to = inbound.customer.id
        return tuple(payload for message in messages for payload in render(to, message))

    async def deliver(self, answer: Answer) -> None:
        for payload in answer:
            await self.api.post(payload, what="message to a customer")

    async def acknowledge(self, inbound: Inbound, notice: str | None) -> None:
        """WhatsApp has no tap to acknowledge: a notice, if any, is a message."""
        if notice:
            await self.deliver(tuple(render(inbound.customer.id, OutgoingMessage(notice))))

    async def edit_clicked(self, inbound: Inbound, *, text: str | None, buttons: Buttons) -> None:
        """WhatsApp cannot edit a message: a new text says it (buttons alone are dropped)."""
        if text is not None:
            await self.deliver(tuple(render(inbound.customer.id, OutgoingMessage(text, buttons))))

    # --- what customers send: their pictures, for the staff -----------------------------------------------
    async def fetch_picture(self, handle: str) -> Picture | NotPassed:
        """The image (or document) of media id `handle`, when it is a picture the staff rooms take: its type and
        size as Meta announces them are checked before anything is downloaded, its bytes after."""
        reply, info = await self.api.media(handle)
        if info is None:
            log.warning("WhatsApp media %s not fetched: %s (code %s)", handle, reply.result, reply.code)
            return NotPassed.FAILED
        refused = check_announced(info.mime_type, info.file_size)
        if refused is not None:
            log.info(
                "WhatsApp media %s not passed on: %s (%s, %s bytes)", handle, refused, info.mime_type, info.file_size
            )
            return refused
        reply, content = await self.api.download(info, limit=MAX_PICTURE_BYTES)
        if reply.result is Result.TOO_LARGE:
            return NotPassed.TOO_LARGE
        if content is None:
            log.warning("WhatsApp media %s not downloaded: %s (code %s)", handle, reply.result, reply.code)
            return NotPassed.FAILED
        checked = check_bytes(content, info.mime_type)
        if isinstance(checked, NotPassed):
            log.info("WhatsApp media %s not passed on: its bytes are not a %s", handle, info.mime_type)
        return checked

    # --- messages outside an answer: staff replies, news, the customer's data -------------------------
    async def send(
        self, customer: CustomerId, message: OutgoingMessage, *, what: str, from_staff: bool = False
    ) -> Delivered:
        # The staff's priority in the number's shared throughput, as in Telegram's; the others' as they are.
        token = PRIORITY.set(Priority.CARD) if from_staff else None
        try:
            return await self._send(customer, message, what=what, from_staff=from_staff)
        finally:
            if token is not None:
                PRIORITY.reset(token)

    async def _send(self, customer: CustomerId, message: OutgoingMessage, *, what: str, from_staff: bool) -> Delivered:
        if message.document is not None:  # a media upload is another API: the data goes as text
            content = message.document.content.decode("utf-8", "replace")
            message = OutgoingMessage(f"{message.text}\n\n{_pretty(content)}")
        if await self.window.is_open(customer):
            outcome, last = await self._post_all(render(customer.id, message), what=what)
            if outcome is not Delivered.OUTSIDE_WINDOW:
                return await self._sent(customer, outcome, last, from_staff=from_staff)
        if self.template is None:
            count = await self.window.refused()
            log.warning("WhatsApp %s not sent: outside the 24-hour window and no template (%d so far)", what, count)
            return Delivered.OUTSIDE_WINDOW
        payload = self.template.payload(customer.id, to_whatsapp(message.text))
        outcome, last = await self._post_all((payload,), what=what)
        return await self._sent(customer, outcome, last, from_staff=from_staff)

    async def _sent(self, customer: CustomerId, outcome: Delivered, last: str | None, *, from_staff: bool) -> Delivered:
        """Keep a staff answer's id: its delivery statuses go to the ticket (its last message's, if split)."""
        if from_staff and outcome is Delivered.SENT and last is not None:
            await self.answers.record(customer, last)
        return outcome

    async def _post_all(self, payloads: Sequence[Payload], *, what: str) -> tuple[Delivered, str | None]:
        """The outcome, and the id of the last message sent."""
        last = None
        for payload in payloads:
            reply = await self.api.post(payload, what=what)
            if reply.result is Result.OUTSIDE_WINDOW:
                return Delivered.OUTSIDE_WINDOW, last
            if reply.result is Result.UNDELIVERABLE:
                return Delivered.BLOCKED, last
            if not reply.ok:
                return Delivered.FAILED, last
            last = reply.message_id
        return Delivered.SENT, last


def render(to: str, message: OutgoingMessage) -> list[Payload]:
    """The Cloud API messages that say `message`, each within its limits."""
    text = to_whatsapp(message.text).strip() or "…"
    choices = [(label, data) for row in message.buttons for label, data in row]
    if not choices:
        return [_text(to, piece) for piece in chunks(text, limits.TEXT_BODY)]
    payloads: list[Payload] = []
    if len(text) > limits.INTERACTIVE_BODY:  # the whole text first, the choices under its last lines
        head, _, tail = text.rpartition("\n")
        payloads = [_text(to, piece) for piece in chunks(head, limits.TEXT_BODY)] if head else []
        text = cut(tail or text, limits.INTERACTIVE_BODY)
    if len(choices) > limits.LIST_ROWS and limits.typed_back(message.buttons):
        # The 0-10 question's eleven scores do not fit a list: written under the text, to be typed back.
        written = " · ".join(label.strip() for label, _ in choices)
        return [*payloads, *(_text(to, piece) for piece in chunks(f"{text}\n\n{written}", limits.TEXT_BODY))]
    if len(choices) > limits.LIST_ROWS:
        log.warning("WhatsApp: %d choices, only %d fit a list; the rest are left out", len(choices), limits.LIST_ROWS)
        choices = choices[: limits.LIST_ROWS]
    titles = [label.strip() or "…" for label, _ in choices]
    fits = all(len(t) <= limits.BUTTON_TITLE for t in titles) and len(set(titles)) == len(titles)
    if len(choices) <= limits.REPLY_BUTTONS and fits:
        buttons = [
            {"type": "reply", "reply": {"id": data[: limits.BUTTON_ID], "title": title}}
            for title, (_, data) in zip(titles, choices, strict=True)
        ]
        action: Payload = {"buttons": buttons}
        kind = "button"
    else:
        rows = []
        for title, (_, data) in zip(titles, choices, strict=True):
            row = {"id": data[: limits.ROW_ID], "title": cut(title, limits.ROW_TITLE)}
            if len(title) > limits.ROW_TITLE:
                row["description"] = cut(title, limits.ROW_DESCRIPTION)
            rows.append(row)
        action = {"button": LIST_LABEL, "sections": [{"rows": rows}]}
        kind = "list"
    interactive = {"type": kind, "body": {"text": text}, "action": action}
    payloads.append({"messaging_product": "whatsapp", "to": to, "type": "interactive", "interactive": interactive})
    return payloads


def _text(to: str, body: str) -> Payload:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body, "preview_url": False}}


def _pretty(content: str) -> str:
    try:
        return json.dumps(json.loads(content), ensure_ascii=False, indent=1)
    except ValueError:
        return content
