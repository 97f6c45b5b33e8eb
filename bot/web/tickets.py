"""The web admin's ticket page: a ticket's whole thread in its venue's time, its feedback's analysis, and what
the staff may do (answer, close, reopen, spam) through the staff side's own code (`bot.staff.relay.Relay`). It
builds the page's context and checks who may see a ticket; `bot.web.admin` serves it."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.editing.editor import Admin
from bot.errors import NotAllowed, NotFound, problem
from bot.staff.hours import DEFAULT_TIME_ZONE, HoursStore
from bot.staff.tickets import Author, Ticket, TicketStore
from bot.storage.store import Store
from bot.web.dashboard import CHANNEL_NAMES
from bot.web.inbox import KIND_NAMES, STATUS_NAMES, highlighted

#: What became of an answer or an action, as the page says it (the staff room's template of the same name).
OUTCOMES = {
    "staff_relayed": "Réponse envoyée au client.",
    "staff_ticket_closed": "Ce ticket est fermé : rouvrez-le pour répondre.",
    "staff_undeliverable": "Le client a bloqué le bot : la réponse ne lui parvient pas.",
    "staff_customer_gone": "Le client a effacé ses données : il ne peut plus être joint.",
    "staff_kiosk_no_reply": "Retour laissé sur une borne : pas de réponse possible.",
    "staff_outside_window": "Hors de la fenêtre de 24 heures de WhatsApp : réessayez quand le client écrira.",
    "staff_relay_failed": "L'envoi a échoué : réessayez.",
    "staff_reply_usage": "La réponse est vide.",
    "staff_reply_too_long": "Réponse trop longue une fois signée : elle n'a pas été envoyée, raccourcissez-la.",
    "closed": "Ticket fermé.",
    "spam": "Ticket marqué comme spam.",
    "reopened": "Ticket rouvert.",
    "already": "Rien à faire : le ticket est déjà dans cet état.",
}


async def visible_ticket(store: Store, tickets: TicketStore, admin: Admin, brand: str, number: str) -> Ticket:
    """The ticket, if this admin may see it: NotAllowed for another brand's (a brand admin), NotFound for a
    ticket or brand that does not exist."""
    if admin.brand is not None and brand != admin.brand:
        text = "{admin} may see only the tickets of {mine!r}"
        raise NotAllowed(problem("only_brand_tickets", text, admin=admin.name, mine=admin.brand))
    if not number.isdigit() or len(number) > 9:
        raise NotFound("ticket", f"{brand}/{number}")
    ticket = await tickets.get(brand, int(number))
    if ticket is None:
        raise NotFound("ticket", f"{brand}/{number}")
    return ticket


async def ticket_context(store: Store, tickets: TicketStore, ticket: Ticket) -> dict[str, Any]:
    """The page's thread (feedback, opening, messages, closing; oldest first, in the venue's time zone) and
    analysis."""
    feedback = await store.get_feedback(ticket.brand, ticket.feedback)
    hours = await HoursStore(store.redis).get(ticket.brand, ticket.venue)
    zone = _zone(hours.time_zone if hours is not None else DEFAULT_TIME_ZONE)
    entities = feedback["entities"]
    thread: list[dict[str, Any]] = [
        {"who": "customer", "label": "Client", "at": feedback["created_at"], "rating": feedback["rating"],
         "text": highlighted(feedback["reason"] or "", [e for e in entities if e.get("field") == "reason"], 10_000),
         "suggestion": highlighted(
             feedback["suggestion"] or "", [e for e in entities if e.get("field") == "suggestion"], 10_000
         )},
        {"who": "notice", "label": "Ticket ouvert", "at": ticket.created_at},
    ]  # fmt: skip
    for message in await tickets.thread(ticket.brand, ticket.feedback):
        staff = message.author is Author.STAFF
        where = "Telegram" if message.by_telegram else "web"
        label = ("Équipe" + (f" ({message.by}, {where})" if message.by else "")) if staff else "Client"
        thread.append({"who": message.author.value, "label": label, "at": message.at, "text": message.text})
    if ticket.closed_at is not None and not ticket.status.is_open:
        thread.append({"who": "notice", "label": STATUS_NAMES.get(ticket.status.value, ""), "at": ticket.closed_at})
    thread.sort(key=lambda item: item["at"])
    for item in thread:
        item["time"] = dt.datetime.fromtimestamp(item["at"], zone).strftime("%d/%m/%Y %H:%M")
    return {
        "ticket": ticket,
        "status_name": STATUS_NAMES.get(ticket.status.value, ticket.status.value),
        "is_open": ticket.status.is_open,
        "resolved": ticket.resolved,
        "thread": thread,
        "time_zone": str(zone),
        "analysis": {
            "kind": KIND_NAMES.get(feedback["kind"] or "", "—"),
            "aspects": feedback["aspects"],
            "entities": [(e.get("text", ""), e.get("label", "")) for e in entities],
            "language": feedback["language"],
            "analysed": feedback["analysed_at"] is not None,
        },
        "channel": CHANNEL_NAMES.get(feedback["channel"], feedback["channel"]),
        "rating": feedback["rating"],
    }


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)
