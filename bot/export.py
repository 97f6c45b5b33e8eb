"""Exports of feedback as JSON lines or CSV, streamed from Redis in batches."""

from __future__ import annotations

import csv
import datetime as dt
import json
from typing import Any, TextIO

from bot.store import Store

CSV_COLUMNS = (
    "id", "brand", "venue", "venue_name", "language", "rating", "reason", "suggestion", "created_at",
    "status", "kind", "aspects", "entities", "replies",
)  # fmt: skip


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def export_record(feedback: dict[str, Any]) -> dict[str, Any]:
    """The contract's export record; the customer's chat id is never exported.

    `replies` is the ticket's thread, oldest first: each `author` (`staff` or `customer`), `text`, `at`.
    """
    return {
        "id": feedback["id"],
        "brand": feedback["brand"],
        "venue": feedback["venue"],
        "venue_name": feedback["venue_name"],
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
    }


def _csv_row(record: dict[str, Any]) -> list[str]:
    entities = "; ".join(f"{e['text']} ({e['label']})" for e in record["entities"])
    replies = "\n".join(f"[{r['at']}] {r['author']}: {r['text']}" for r in record["replies"])
    values = {**record, "aspects": ", ".join(record["aspects"]), "entities": entities, "replies": replies}
    return ["" if values[c] is None else str(values[c]) for c in CSV_COLUMNS]


async def write_export(
    store: Store, out: TextIO, *, fmt: str, brand: str | None = None, venue: str | None = None
) -> int:
    """Write every matching feedback to `out`; return how many."""
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    count = 0
    async for feedback in store.iter_feedback(brand, venue):
        record = export_record(feedback)
        if writer is not None:
            writer.writerow(_csv_row(record))
        else:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count
