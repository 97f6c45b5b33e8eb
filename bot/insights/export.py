"""Exports of feedback as JSON lines or CSV, streamed from Redis in batches (bounded memory).

The record is the contract's (`id`, `brand`, `venue`, `language`, `rating`, `reason`, `suggestion`,
`created_at`, `status`, `kind`, `aspects`, `entities`, `replies`) plus the venue's name and the ticket:
`ticket`, `ticket_status`, `ticket_opened_at`, `first_response_at`, `closed_at`, `undeliverable`, so
that the response rate and time can be computed from an export. The CSV has one row per feedback, opens
in a spreadsheet (UTF-8 with a byte-order mark, every text quoted as needed, nothing that a spreadsheet
would run as a formula) and shows entities and replies as readable text. Times are ISO 8601 in the venue's
time zone (Europe/Paris), with their offset.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping
from typing import Any, Final, TextIO

from bot.formats import DEFAULT_TIME_ZONE, Formats
from bot.storage.store import Store

CSV_COLUMNS = (
    "id", "brand", "venue", "venue_name", "language", "rating", "reason", "suggestion", "created_at",
    "status", "kind", "aspects", "entities", "replies", "ticket", "ticket_status", "ticket_opened_at",
    "first_response_at", "closed_at", "undeliverable",
)  # fmt: skip
BOM = "\ufeff"
# A cell starting with one of these is a formula to a spreadsheet: a customer's "=HYPERLINK(…)" must stay text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# Times are the venue's (ISO 8601 with the offset, so a program reads them as well as a person).
_VENUE_TIME: Final = Formats(time_zone=DEFAULT_TIME_ZONE)


def _iso(timestamp: float) -> str:
    return _VENUE_TIME.iso(timestamp)


def _iso_field(data: Mapping[str, str], name: str) -> str | None:
    value = data.get(name)
    return _iso(float(value)) if value else None


def export_record(feedback: dict[str, Any]) -> dict[str, Any]:
    """The contract's export record; who the customer is is never exported (only their channel).

    `replies` is the ticket's thread, oldest first: each `author` (`staff` or `customer`), `text`, `at`.
    The ticket's fields are there when the feedback was read `with_tickets`.
    """
    ticket: Mapping[str, str] = feedback.get("ticket_hash") or {}
    return {
        "id": feedback["id"],
        "brand": feedback["brand"],
        "venue": feedback["venue"],
        "venue_name": feedback["venue_name"],
        "channel": feedback["channel"],
        "language": feedback["language"],
        "rating": feedback["rating"],
        "reason": feedback["reason"],
        "suggestion": feedback["suggestion"],
        "created_at": _iso(feedback["created_at"]),
        "status": feedback["status"],
        "kind": feedback.get("kind"),
        "aspects": feedback.get("aspects", []),
        "entities": feedback.get("entities", []),
        "replies": [
            {"author": reply["author"], "text": reply["text"], "at": _iso(float(reply["at"]))}
            for reply in feedback.get("replies", [])
        ],
        "ticket": feedback.get("ticket"),
        "ticket_status": ticket.get("status"),
        "ticket_opened_at": _iso_field(ticket, "created_at"),
        "first_response_at": _iso_field(ticket, "first_response_at"),
        "closed_at": _iso_field(ticket, "closed_at"),
        "undeliverable": ticket.get("undeliverable") == "1" if ticket else None,
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_row(record: dict[str, Any]) -> list[str]:
    """A record as a CSV row: entities as `text (LABEL, field)` separated by `; `, replies one a line."""
    entities = "; ".join(f"{e['text']} ({e['label']}, {e.get('field', 'reason')})" for e in record["entities"])
    replies = "\n".join(f"[{r['at']}] {r['author']}: {r['text']}" for r in record["replies"])
    values = {**record, "aspects": ", ".join(record["aspects"]), "entities": entities, "replies": replies}
    return [_cell(values[c]) for c in CSV_COLUMNS]


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
) -> int:
    """Write every matching feedback to `out` as it is read; return how many.

    The CSV starts with a byte-order mark, so that spreadsheets read it as UTF-8. `on_feedback` is told
    of each feedback written (a progress bar).
    """
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        out.write(BOM)
        writer.writerow(CSV_COLUMNS)
    count = 0
    async for feedback in store.iter_feedback(brand, venue, since=since, until=until, with_tickets=True):
        record = export_record(feedback)
        if writer is not None:
            writer.writerow(csv_row(record))
        else:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
        if on_feedback is not None:
            on_feedback(1)
    return count
