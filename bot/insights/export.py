"""Exports of feedback as JSON lines or CSV, streamed from Redis in batches (bounded memory).

The record is the contract's (`id`, `brand`, `venue`, `language`, `rating`, `reason`, `suggestion`, `created_at`,
`status`, `kind`, `aspects`, `entities`, `replies`) plus the venue's name, the optional NPS answer and the ticket:
`ticket`, `ticket_status`, `ticket_opened_at`, `first_response_at`, `first_response_by`,
`first_response_open_seconds`, `within_deadline`, `resolved`, `closed_at`, `undeliverable`, so that every figure of
`parole stats` can be computed from an export, and `contact_asked` (the customer asked to be contacted). JSON lines
keep the codes and ISO 8601 times in the venue's time zone with their offset, for programs. The CSV is for people:
one row per feedback, French headings and the staff card's words, dates as the French write them in the venue's time
zone, ";" between cells so that a French spreadsheet opens it by double-click (UTF-8 with a byte-order mark, every
text quoted as needed, nothing that a spreadsheet would run as a formula).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TextIO

from babel import Locale
from babel.numbers import format_decimal

from bot.formats import DEFAULT_TIME_ZONE, Formats
from bot.insights.figures import ticket_facts
from bot.insights.tables import staff_name
from bot.labels import labels_for
from bot.staff.hours import HoursStore, OpeningHours
from bot.storage.store import DEFAULT_DEADLINE_HOURS, Store

#: The CSV's columns: the record's field and the heading a French reader sees (the JSON lines keep the codes).
CSV_COLUMNS: Final = (
    ("id", "Identifiant"), ("brand", "Marque"), ("venue", "Code du lieu"), ("venue_name", "Lieu"),
    ("channel", "Canal"), ("language", "Langue"), ("rating", "Note"), ("nps", "NPS (0-10)"), ("reason", "Raison"),
    ("suggestion", "Suggestion"), ("created_at", "Reçu le"), ("status", "État du retour"), ("kind", "Type"),
    ("aspects", "Aspects"), ("entities", "Entités"), ("replies", "Échanges"), ("ticket", "Ticket"),
    ("ticket_status", "État du ticket"), ("ticket_opened_at", "Ticket ouvert le"),
    ("first_response_at", "1re réponse le"), ("first_response_by", "Répondu par"),
    ("first_response_open_seconds", "1re réponse (heures d'ouverture, min)"), ("within_deadline", "Dans le délai"),
    ("resolved", "Problème résolu"), ("closed_at", "Fermé le"), ("undeliverable", "Client injoignable"),
    ("contact_asked", "Recontact demandé"),
)  # fmt: skip
#: The CSV's separator by default: a French spreadsheet's (its list separator is ";", the comma being decimal).
FRENCH_SEPARATOR: Final = ";"
BOM = "\ufeff"
# A cell starting with one of these is a formula to a spreadsheet: a customer's "=HYPERLINK(…)" must stay text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_TIME_FIELDS: Final = frozenset({"created_at", "ticket_opened_at", "first_response_at", "closed_at"})
_LABELS: Final = labels_for("fr")
_AUTHORS: Final = {"staff": "Équipe", "customer": "Client"}
_ENTITY_FIELDS: Final = {"reason": "raison", "suggestion": "suggestion"}


@dataclass(frozen=True, slots=True)
class VenueClock:
    """What a record's times and figures need of its venue and brand: opening hours (None: always open, in
    Europe/Paris), the brand's deadline for a first answer, and now (an unanswered ticket is late after it)."""

    hours: OpeningHours | None = None
    deadline_seconds: float = DEFAULT_DEADLINE_HOURS * 3600
    now: float | None = None

    @property
    def formats(self) -> Formats:
        return Formats(time_zone=self.hours.time_zone if self.hours is not None else DEFAULT_TIME_ZONE)


def _iso_field(data: Mapping[str, str], name: str, formats: Formats) -> str | None:
    value = data.get(name)
    return formats.iso(float(value)) if value else None


def export_record(feedback: dict[str, Any], clock: VenueClock | None = None) -> dict[str, Any]:
    """The contract's export record; who the customer is is never exported (only their channel).

    `replies` is the ticket's thread, oldest first: each `author` (`staff` or `customer`), `text`, `at`.
    The ticket's fields are there when the feedback was read `with_tickets`, with what the figures are computed
    from (`bot.insights.figures`): `first_response_by`, `first_response_open_seconds`, `within_deadline`,
    `resolved`. Times are ISO 8601 in the venue's time zone.
    """
    clock = clock or VenueClock()
    formats = clock.formats
    ticket: Mapping[str, str] = feedback.get("ticket_hash") or {}
    facts = ticket_facts(feedback, clock.hours, clock.deadline_seconds, clock.now or time.time())
    return {
        "id": feedback["id"],
        "brand": feedback["brand"],
        "venue": feedback["venue"],
        "venue_name": feedback["venue_name"],
        "channel": feedback["channel"],
        "language": feedback["language"],
        "rating": feedback["rating"],
        "nps": feedback.get("nps"),
        "reason": feedback["reason"],
        "suggestion": feedback["suggestion"],
        "created_at": formats.iso(feedback["created_at"]),
        "status": feedback["status"],
        "kind": feedback.get("kind"),
        "aspects": feedback.get("aspects", []),
        "entities": feedback.get("entities", []),
        "replies": [
            {"author": reply["author"], "text": reply["text"], "at": formats.iso(float(reply["at"]))}
            for reply in feedback.get("replies", [])
        ],
        "ticket": feedback.get("ticket"),
        "ticket_status": ticket.get("status"),
        "ticket_opened_at": _iso_field(ticket, "created_at", formats),
        "first_response_at": _iso_field(ticket, "first_response_at", formats),
        "first_response_by": facts.by if ticket.get("first_response_at") else None,
        "first_response_open_seconds": round(facts.open_delay, 1) if facts.open_delay is not None else None,
        "within_deadline": facts.in_time if facts.needs_answer else None,
        "resolved": ticket.get("resolved") or None,
        "closed_at": _iso_field(ticket, "closed_at", formats),
        "undeliverable": ticket.get("undeliverable") == "1" if ticket else None,
        "contact_asked": bool(feedback.get("contact")),  # "💬 Me recontacter" pressed (`bot.customers.contact`)
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _moment(value: str | None, formats: Formats) -> str:
    # As a French spreadsheet reads a date ("18/09/2026 17:00"), in the venue's time zone.
    return formats.moment(dt.datetime.fromisoformat(value).timestamp()) if value else ""


def csv_row(record: dict[str, Any], formats: Formats | None = None) -> list[str]:
    """A record as a French CSV row: the staff card's words for codes, dates as the French write them (in the
    venue's time zone), decimal commas; entities as `text (label, field)` separated by `; `, replies one a line."""
    formats = formats or Formats()
    entities = "; ".join(
        f"{e['text']} ({_LABELS.name('entity_labels', e['label'])}, {_ENTITY_FIELDS.get(e.get('field', 'reason'))})"
        for e in record["entities"]
    )
    replies = "\n".join(
        f"[{_moment(r['at'], formats)}] {_AUTHORS.get(r['author'], r['author'])} : {r['text']}"
        for r in record["replies"]
    )
    minutes = record["first_response_open_seconds"]
    values = {
        **record,
        **{name: _moment(record[name], formats) for name in _TIME_FIELDS},
        "channel": _LABELS.name("channels", record["channel"]),
        "language": Locale.parse(record["language"]).get_display_name(formats.locale) or record["language"],
        "status": _LABELS.name("feedback_states", record["status"]),
        "kind": _LABELS.name("kinds", record["kind"]) if record["kind"] else None,
        "aspects": ", ".join(_LABELS.name("aspects", a) for a in record["aspects"]),
        "ticket_status": _LABELS.name("ticket_states", record["ticket_status"]) if record["ticket_status"] else None,
        "first_response_by": staff_name(record["first_response_by"])
        if record["first_response_by"] is not None
        else None,
        "first_response_open_seconds": (
            format_decimal(minutes / 60, format="0.#", locale=formats.locale) if minutes is not None else None
        ),
        "resolved": {"yes": True, "no": False}.get(record["resolved"] or ""),
        "entities": entities,
        "replies": replies,
    }
    return [_cell(values[c]) for c, _ in CSV_COLUMNS]


async def write_export(
    store: Store,
    out: TextIO,
    *,
    fmt: str,
    brand: str | None = None,
    venue: str | None = None,
    since: float | None = None,
    until: float | None = None,
    on_feedback: Callable[[int], None] | None = None,
    separator: str = FRENCH_SEPARATOR,
) -> int:
    """Write every matching feedback to `out` as it is read; return how many.

    The CSV starts with a byte-order mark, so that spreadsheets read it as UTF-8, and separates its cells with
    `separator` (";" by default, as a French spreadsheet expects; "," for one set to English). `on_feedback` is told
    of each feedback written (a progress bar).
    """
    writer = csv.writer(out, delimiter=separator) if fmt == "csv" else None
    if writer is not None:
        out.write(BOM)
        writer.writerow(heading for _, heading in CSV_COLUMNS)
    count = 0
    clocks = _Clocks(store, time.time())
    async for feedback in store.iter_feedback(brand, venue, since=since, until=until, with_tickets=True):
        clock = await clocks.of(feedback["brand"], feedback["venue"])
        record = export_record(feedback, clock)
        if writer is not None:
            writer.writerow(csv_row(record, clock.formats))
        else:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
        if on_feedback is not None:
            on_feedback(1)
    return count


class _Clocks:
    """Each venue's `VenueClock`, read once per export."""

    def __init__(self, store: Store, now: float) -> None:
        self.store, self.now = store, now
        self.hours = HoursStore(store.redis)
        self.known: dict[tuple[str, str], VenueClock] = {}
        self.deadlines: dict[str, float] = {}

    async def of(self, brand: str, venue: str) -> VenueClock:
        if (brand, venue) not in self.known:
            if brand not in self.deadlines:
                self.deadlines[brand] = await self.store.deadline_hours(brand) * 3600
            hours = await self.hours.get(brand, venue)
            self.known[brand, venue] = VenueClock(hours, self.deadlines[brand], self.now)
        return self.known[brand, venue]
