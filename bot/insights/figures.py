"""The figures the field uses to tell how a venue closes the loop, per venue and per staff member, each beside
the previous period of the same length and flagged when it rests on fewer than 30 answers.

The rules (the README and every screen state them):
- CSAT: the share of rated feedback given 4 or 5 stars.
- Resolution rate: of the customers who answered "problem solved?" after their ticket closed, the share who
  said yes.
- Response rate: of the tickets that need an answer (spam and "no answer needed" excluded), the share the staff
  answered.
- First response (median, 90th percentile): from the ticket's opening to the first staff answer, counting the
  venue's open hours only (`bot.staff.hours`; every hour for a venue without hours).
- Within the deadline: of the tickets that need an answer and are answered or past the brand's deadline, the
  share answered within it (open hours).
- NPS: of the answers to the optional 0-10 question, the share of promoters (9-10) minus that of detractors
  (0-6), in points from -100 to 100.
A period selects the feedback created in it and their tickets. Who answered is the web admin's user who wrote
the first staff answer, or "" when it came from the staff room without a name.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from bot.staff.hours import HoursStore, OpeningHours
from bot.staff.tickets import TicketStatus
from bot.storage.store import Store

__all__ = ["SMALL_BASE", "FieldFigures", "Figure", "StaffFigures", "field_figures", "previous_period"]

#: A figure resting on fewer answers than this is flagged: it may change a lot with the next few.
SMALL_BASE: Final = 30
#: The names of the figures, in the order every screen shows them.
NAMES: Final = (
    "csat", "resolution_rate", "response_rate", "first_response_median", "first_response_p90",
    "within_deadline", "nps",
)  # fmt: skip
#: What each figure rests on, as `base` counts it.
BASES: Final = {
    "csat": "rated_feedbacks",
    "resolution_rate": "resolution_answers",
    "response_rate": "tickets_needing_answer",
    "first_response_median": "answered_tickets",
    "first_response_p90": "answered_tickets",
    "within_deadline": "tickets_due",
    "nps": "nps_answers",
}


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure (None when there is nothing to compute it from) and how many answers it rests on."""

    value: float | None
    base: int

    @property
    def low_base(self) -> bool:
        return self.base < SMALL_BASE


@dataclass(frozen=True, slots=True)
class FieldFigures:
    """The field's figures of a venue, a brand or a staff member over one period."""

    figures: Mapping[str, Figure]

    def __getitem__(self, name: str) -> Figure:
        return self.figures[name]

    def change(self, name: str, previous: FieldFigures | None) -> float | None:
        """A figure minus the previous period's (None when either is missing)."""
        now, before = self.figures[name].value, previous.figures[name].value if previous is not None else None
        return round(now - before, 3) if now is not None and before is not None else None

    def to_json(self, previous: FieldFigures | None) -> dict[str, Any]:
        """Each figure: `value`, `base`, `low_base`, and the previous period's `previous`, `previous_base`,
        `change` (value minus previous; None when either is missing)."""
        out: dict[str, Any] = {}
        for name in NAMES:
            now, before = self.figures[name], previous.figures[name] if previous is not None else None
            change = self.change(name, previous)
            out[name] = {
                "value": now.value, "base": now.base, "base_counts": BASES[name], "low_base": now.low_base,
                "previous": before.value if before else None, "previous_base": before.base if before else None,
                "change": change,
            }  # fmt: skip
        return out


@dataclass(frozen=True, slots=True)
class StaffFigures:
    """A staff member's figures over the tickets they answered first (`by` "": unnamed staff-room answers)."""

    by: str
    figures: FieldFigures
    previous: FieldFigures | None = None

    def to_json(self) -> dict[str, Any]:
        return {"by": self.by, "figures": self.figures.to_json(self.previous)}


@dataclass
class _Tally:
    ratings: list[int] = field(default_factory=list)
    nps: list[int] = field(default_factory=list)
    resolved: list[bool] = field(default_factory=list)
    tickets: int = 0  # needing an answer
    answered: int = 0
    delays: list[float] = field(default_factory=list)  # open seconds to the first answer
    due: int = 0
    in_time: int = 0

    def figures(self, *, per_staff: bool = False) -> FieldFigures:
        ratings, delays = self.ratings, sorted(self.delays)
        satisfied = sum(1 for r in ratings if r >= 4)
        promoters = sum(1 for n in self.nps if n >= 9)
        detractors = sum(1 for n in self.nps if n <= 6)
        return FieldFigures(
            {
                "csat": Figure(_share(satisfied, len(ratings)), len(ratings)),
                "resolution_rate": Figure(_share(sum(self.resolved), len(self.resolved)), len(self.resolved)),
                # A staff member's tickets are those they answered: a response rate means nothing there.
                "response_rate": Figure(None if per_staff else _share(self.answered, self.tickets), self.tickets),
                "first_response_median": Figure(round(statistics.median(delays), 1) if delays else None, len(delays)),
                "first_response_p90": Figure(percentile(delays, 0.9), len(delays)),
                "within_deadline": Figure(_share(self.in_time, self.due), self.due),
                "nps": Figure(
                    round(100 * (promoters - detractors) / len(self.nps), 1) if self.nps else None, len(self.nps)
                ),
            }
        )  # fmt: skip


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile of sorted `values`: the smallest value at or above `share` of them."""
    if not values:
        return None
    return round(values[max(0, math.ceil(share * len(values)) - 1)], 1)


def previous_period(since: float | None, until: float | None, now: float) -> tuple[float, float] | None:
    """The period of the same length just before [since, until) (until: now when open); None without a start."""
    if since is None:
        return None
    end = until if until is not None else now
    return since - (end - since), since


def first_staff_answer(replies: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The first staff message of a ticket's thread."""
    return next((r for r in replies if r.get("author") == "staff"), None)


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What the figures need of a feedback's ticket, read from the feedback as `iter_feedback` gives it."""

    needs_answer: bool
    answered: bool
    open_delay: float | None  # open seconds from the opening to the first staff answer
    in_time: bool | None  # None: not answered and not yet due
    resolved: bool | None
    by: str | None  # who answered first (None: nobody yet)


def ticket_facts(feedback: Mapping[str, Any], hours: OpeningHours | None, deadline: float, now: float) -> TicketFacts:
    """The figures' facts of one feedback read `with_tickets` (no ticket: needs no answer)."""
    ticket: Mapping[str, str] = feedback.get("ticket_hash") or {}
    status = ticket.get("status", "")
    needs = bool(ticket) and status not in (TicketStatus.SPAM, TicketStatus.NO_ANSWER)
    resolved = {"yes": True, "no": False}.get(ticket.get("resolved", ""))
    if not needs:
        return TicketFacts(False, False, None, None, resolved, None)
    opened = float(ticket.get("created_at") or 0)
    first = float(ticket["first_response_at"]) if ticket.get("first_response_at") else None
    staff = first_staff_answer(feedback.get("replies", []))
    by = str(staff.get("by") or "") if staff is not None else ("" if first is not None else None)
    if first is None:
        # Past the deadline when its open time ran out before now (`due` walks the days of the deadline only,
        # where counting every open second up to now would walk every day since the ticket opened).
        late = (hours.due(opened, deadline) if hours is not None else opened + deadline) < now
        return TicketFacts(needs, False, None, False if late else None, resolved, by)
    delay = open_seconds(hours, opened, first)
    return TicketFacts(needs, True, delay, delay <= deadline, resolved, by)


def open_seconds(hours: OpeningHours | None, start: float, end: float) -> float:
    """Open seconds between two times at a venue (wall-clock seconds for a venue without hours)."""
    return hours.open_seconds(start, end) if hours is not None else max(0.0, end - start)


class _Tallies:
    """One period's tallies: per venue, the brand's total, per staff member."""

    def __init__(self) -> None:
        self.venues: dict[str, _Tally] = {}
        self.total = _Tally()
        self.staff: dict[str, _Tally] = {}

    def add(self, feedback: Mapping[str, Any], facts: TicketFacts) -> None:
        tallies = [self.venues.setdefault(feedback["venue"], _Tally()), self.total]
        for tally in tallies:
            _count(tally, feedback, facts)
        if facts.by is not None and facts.needs_answer:
            _count(self.staff.setdefault(facts.by, _Tally()), feedback, facts)


def _count(tally: _Tally, feedback: Mapping[str, Any], facts: TicketFacts) -> None:
    tally.ratings.append(int(feedback["rating"]))
    if feedback.get("nps") is not None:
        tally.nps.append(int(feedback["nps"]))
    if facts.resolved is not None:
        tally.resolved.append(facts.resolved)
    if not facts.needs_answer:
        return
    tally.tickets += 1
    if facts.answered and facts.open_delay is not None:
        tally.answered += 1
        tally.delays.append(facts.open_delay)
    if facts.in_time is not None:
        tally.due += 1
        tally.in_time += int(facts.in_time)


@dataclass(frozen=True, slots=True)
class BrandFigures:
    """A brand's field figures over a period and the one before: per venue, in total (venue None), per staff."""

    venues: Mapping[str | None, tuple[FieldFigures, FieldFigures | None]]
    staff: tuple[StaffFigures, ...]
    previous: tuple[float, float] | None


async def field_figures(
    store: Store,
    brand: str,
    venue: str | None = None,
    *,
    since: float | None = None,
    until: float | None = None,
    now: float | None = None,
) -> BrandFigures:
    """The field's figures of a brand (or one venue of it) over [since, until), and of the period before."""
    now = time.time() if now is None else now
    hours_store = HoursStore(store.redis)
    venues = await store.list_venues(brand)
    hours = {v.code: await hours_store.get(brand, v.code) for v in venues}
    deadline = await store.deadline_hours(brand) * 3600
    before = previous_period(since, until, now)

    async def tally(start: float | None, end: float | None) -> _Tallies:
        tallies = _Tallies()
        async for feedback in store.iter_feedback(brand, venue, since=start, until=end, with_tickets=True):
            tallies.add(feedback, ticket_facts(feedback, hours.get(feedback["venue"]), deadline, now))
        return tallies

    current = await tally(since, until)
    previous = await tally(*before) if before is not None else None
    codes = [v.code for v in venues if venue is None or v.code == venue]
    rows: dict[str | None, tuple[FieldFigures, FieldFigures | None]] = {}
    for code in [*codes, None]:
        mine = current.venues.get(code, _Tally()) if code is not None else current.total
        theirs = None
        if previous is not None:
            theirs = previous.venues.get(code, _Tally()) if code is not None else previous.total
        rows[code] = (mine.figures(), theirs.figures() if theirs is not None else None)
    staff = tuple(
        StaffFigures(
            by,
            current.staff[by].figures(per_staff=True),
            previous.staff[by].figures(per_staff=True) if previous is not None and by in previous.staff else None,
        )
        for by in sorted(current.staff, key=lambda name: (name == "", name.casefold()))
    )
    return BrandFigures(rows, staff, before)
