"""What parole keeps about a customer: `/mydata` sends it to them, `/forget` unlinks it from them.

`/forget` (after a confirmation button) erases every link between the person and their feedback: the
customer on each feedback (their channel stays, for the statistics), the pseudonym salt (so the pseudonyms
staff saw lead nowhere, and a next feedback gets an unrelated one), the pseudonym on their tickets, the
indexes of their feedback and tickets, the "already rated" marks and the conversation. The feedback
itself, its analysis and its thread stay, anonymous, for the brand's statistics and exports.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

from bot.customers.contact import FIELD as CONTACT_FIELD
from bot.customers.news import NewsStore
from bot.errors import NotFound
from bot.formats import Formats
from bot.seam.commands import FORGET_NO, FORGET_YES
from bot.seam.outgoing import Channels, Document, OutgoingMessage
from bot.staff.tickets import TicketStore, split_member
from bot.storage import keys
from bot.storage.cluster import multi_slot_writes
from bot.storage.identity import CustomerId
from bot.storage.store import Store
from dialogs.render import MessageRenderer
from dialogs.types import MessagePart

MY_DATA_LISTED = 5  # feedbacks shown in the message; the attached JSON file has them all


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _timestamp(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class CustomerData:
    """The customer's `/mydata` and `/forget`."""

    def __init__(
        self,
        store: Store,
        tickets: TicketStore,
        renderer: MessageRenderer,
        channels: Channels,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.redis = store.redis
        self.tickets = tickets
        self.renderer = renderer
        self.channels = channels
        self.clock = clock

    async def collect(self, customer: CustomerId) -> dict[str, Any]:
        """Everything stored about the customer, as JSON: conversation, feedbacks, tickets and threads."""
        conversation = (await self.store.load_chat(customer)).conversation
        members = sorted(str(m) for m in await self.redis.smembers(keys.customer_feedbacks(customer)))
        feedbacks: list[dict[str, Any]] = []
        for member in members:
            brand, _, feedback_id = member.partition("/")
            try:
                feedback = await self.store.get_feedback(brand, feedback_id)
            except NotFound:  # deleted meanwhile
                continue
            ticket = await self.tickets.get(brand, feedback["ticket"]) if feedback.get("ticket") else None
            thread = await self.tickets.thread(brand, feedback_id)
            feedbacks.append(
                {
                    "id": feedback["id"],
                    "brand": brand,
                    "venue": feedback["venue_name"],
                    "language": feedback["language"],
                    "rating": feedback["rating"],
                    "reason": feedback["reason"],
                    "suggestion": feedback["suggestion"],
                    "status": feedback["status"],
                    "created_at": _iso(feedback["created_at"]),
                    "kind": feedback["kind"],
                    "aspects": feedback["aspects"],
                    "entities": feedback["entities"],
                    "contact": feedback["contact"],  # asked to be contacted
                    "ticket": None
                    if ticket is None
                    else {"number": ticket.number, "status": ticket.status.value, "pseudonym": ticket.customer},
                    "replies": [{"author": m.author.value, "text": m.text, "at": _iso(m.at)} for m in thread],
                }
            )
        feedbacks.sort(key=lambda f: str(f["created_at"]))
        return {
            "customer": {"channel": customer.channel, "id": customer.id},
            "conversation": conversation.to_json() if conversation else None,
            "feedbacks": feedbacks,
            "news_from": await NewsStore(self.redis).subscribed(customer),
        }

    async def send_my_data(self, customer: CustomerId, language: str) -> None:
        """Send the customer a summary of their data, and all of it as a JSON file."""
        data = await self.collect(customer)
        feedbacks = data["feedbacks"]
        if not feedbacks and data["conversation"] is None:
            await self._send(customer, "my_data_empty", {}, language)
            return
        formats = Formats(language)
        listed = [
            {
                "venue_name": f["venue"], "date": formats.day(_timestamp(f["created_at"])), "rating": f["rating"],
                "reason": f["reason"] or "", "suggestion": f["suggestion"] or "",
                "ticket": f["ticket"]["number"] if f["ticket"] else "", "replies": len(f["replies"]),
            }
            for f in feedbacks[-MY_DATA_LISTED:]
        ]  # fmt: skip
        variables = {"count": len(feedbacks), "feedbacks": listed, "more": max(0, len(feedbacks) - MY_DATA_LISTED)}
        await self._send(customer, "my_data", variables, language)
        document = Document("parole-my-data.json", json.dumps(data, ensure_ascii=False, indent=2).encode())
        await self.channels.send(customer, OutgoingMessage("", document=document), what="my data file")

    async def ask_forget(self, customer: CustomerId, language: str) -> None:
        yes = self.renderer.render_label(MessagePart("button_forget_confirm"), language)
        no = self.renderer.render_label(MessagePart("button_forget_cancel"), language)
        buttons = (((yes, FORGET_YES), (no, FORGET_NO)),)
        await self._send(customer, "forget_confirm", {}, language, buttons=buttons)

    async def forget(self, customer: CustomerId) -> int:
        """Unlink everything stored from the customer; return how many feedbacks were unlinked."""
        members = [str(m) for m in await self.redis.smembers(keys.customer_feedbacks(customer))]
        tickets = [str(m) for m in await self.redis.zrange(keys.customer_tickets(customer), 0, -1)]
        await NewsStore(self.redis).unsubscribe_all(customer)
        async with self.redis.pipeline(transaction=False) as pipe:
            for member in members:
                brand, _, feedback_id = member.partition("/")
                pipe.hget(keys.feedback(brand, feedback_id), "venue")
            venues = await pipe.execute()
        # The customer's indexes go last, on their own: if the erasure is cut short (or, on a Redis
        # Cluster, where it cannot be one transaction, partly fails), they still list what is left, and
        # `/forget` again finishes it.
        async with multi_slot_writes(self.redis) as pipe:
            for member, venue in zip(members, venues, strict=True):
                brand, _, feedback_id = member.partition("/")
                pipe.hdel(keys.feedback(brand, feedback_id), "chat_id", CONTACT_FIELD)  # nobody left to contact
                if venue:
                    pipe.delete(keys.rated(brand, str(venue), customer))
            for member in tickets:
                where = split_member(member)
                if where is not None:
                    pipe.hdel(keys.ticket(*where), "customer")
            pipe.delete(keys.customer_salt(customer))
            pipe.delete(keys.chat(customer))
            await pipe.execute()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.delete(keys.customer_feedbacks(customer))  # one key a command: they lie in different slots
            pipe.delete(keys.customer_tickets(customer))
            pipe.delete(keys.customer_resolution(customer))
            pipe.delete(keys.outbound_chat(str(customer)))  # the pace of staff replies to them (Telegram's)
            await pipe.execute()
        return len(members)

    async def _send(
        self, customer: CustomerId, template: str, variables: dict[str, Any], language: str,
        *, buttons: tuple[tuple[tuple[str, str], ...], ...] = (),
    ) -> None:  # fmt: skip
        text = self.renderer.render(MessagePart(template, variables), language)
        await self.channels.send(customer, OutgoingMessage(text, buttons), what=template)
