"""`parole stats`: volume, ratings and how well each venue closes the loop (response rate and time).

Response rate = tickets with a first staff answer / tickets (spam excluded). First-response time = from the
ticket's opening (the feedback complete or abandoned) to the first staff answer the customer received;
the median is over the answered tickets.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from bot.store import Store
from bot.tickets import TicketStatus, TicketStore


@dataclass(frozen=True, slots=True)
class VenueStats:
    """The figures of one venue (`venue` None: every venue of the brand)."""

    brand: str
    venue: str | None
    venue_name: str
    feedbacks: int
    average_rating: float | None
    tickets: int
    answered: int
    open: int
    closed: int
    spam: int
    undeliverable: int
    response_rate: float | None
    median_first_response_seconds: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "brand": self.brand,
            "venue": self.venue,
            "venue_name": self.venue_name,
            "feedbacks": self.feedbacks,
            "average_rating": self.average_rating,
            "tickets": self.tickets,
            "answered": self.answered,
            "open": self.open,
            "closed": self.closed,
            "spam": self.spam,
            "undeliverable": self.undeliverable,
            "response_rate": self.response_rate,
            "median_first_response_seconds": self.median_first_response_seconds,
        }


@dataclass
class _Tally:
    name: str = ""
    ratings: list[int] = field(default_factory=list)
    tickets: int = 0
    spam: int = 0
    open: int = 0
    closed: int = 0
    undeliverable: int = 0
    delays: list[float] = field(default_factory=list)

    def add(self, other: _Tally) -> None:
        self.ratings += other.ratings
        self.delays += other.delays
        self.tickets += other.tickets
        self.spam += other.spam
        self.open += other.open
        self.closed += other.closed
        self.undeliverable += other.undeliverable

    def figures(self, brand: str, venue: str | None) -> VenueStats:
        ratings, delays = self.ratings, self.delays
        counted = self.tickets - self.spam
        return VenueStats(
            brand=brand,
            venue=venue,
            venue_name=self.name,
            feedbacks=len(ratings),
            average_rating=round(statistics.fmean(ratings), 2) if ratings else None,
            tickets=counted,
            answered=len(delays),
            open=self.open,
            closed=self.closed,
            spam=self.spam,
            undeliverable=self.undeliverable,
            response_rate=round(len(delays) / counted, 3) if counted else None,
            median_first_response_seconds=round(statistics.median(delays), 1) if delays else None,
        )


async def venue_stats(store: Store, brand: str | None = None, venue: str | None = None) -> list[VenueStats]:
    """Per brand: one row per venue (of `venue` only, if given), then the brand's total (venue None)."""
    tickets = TicketStore(store.redis)
    brands = [(await store.get_brand(brand)).code] if brand else [b.code for b in await store.list_brands()]
    if venue is not None and brand is not None:
        await store.get_venue(brand, venue)
    rows: list[VenueStats] = []
    for code in brands:
        tallies: defaultdict[str, _Tally] = defaultdict(_Tally)
        for known in await store.list_venues(code):
            tallies[known.code].name = known.name
        async for feedback in store.iter_feedback(code, venue):
            tally = tallies[feedback["venue"]]
            tally.name = tally.name or feedback["venue_name"]
            tally.ratings.append(int(feedback["rating"]))
        for ticket in await tickets.all_tickets(code):
            if venue is not None and ticket.venue != venue:
                continue
            tally = tallies[ticket.venue]
            tally.tickets += 1
            if ticket.status is TicketStatus.SPAM:
                tally.spam += 1
                continue
            tally.open += int(ticket.status.is_open)
            tally.closed += int(ticket.status is TicketStatus.CLOSED)
            tally.undeliverable += int(ticket.undeliverable)
            if ticket.first_response_at is not None:
                tally.delays.append(max(0.0, ticket.first_response_at - ticket.created_at))
        total = _Tally()
        for venue_code in sorted(tallies):
            if venue is not None and venue_code != venue:
                continue
            rows.append(tallies[venue_code].figures(code, venue_code))
            total.add(tallies[venue_code])
        if venue is None:
            rows.append(total.figures(code, None))
    return rows


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def format_table(rows: list[VenueStats]) -> str:
    """The figures as a plain-text table for the terminal."""
    header = ("brand", "venue", "feedbacks", "avg ★", "tickets", "answered", "rate", "median 1st answer", "open")
    lines = [header]
    for row in rows:
        lines.append(
            (
                row.brand,
                row.venue_name if row.venue is not None else "(all venues)",
                str(row.feedbacks),
                f"{row.average_rating:.2f}" if row.average_rating is not None else "—",
                str(row.tickets),
                str(row.answered),
                f"{row.response_rate:.0%}" if row.response_rate is not None else "—",
                _duration(row.median_first_response_seconds),
                str(row.open),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
                     for line in lines)  # fmt: skip
