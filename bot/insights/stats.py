"""`parole stats` and the dashboard's figures: volume, ratings, kinds, entities, aspects, weekly trend and
how well each venue closes the loop (response rate and time), for a brand or a venue and a period.

Response rate = tickets with a first staff answer / tickets (spam and "no answer needed" excluded: neither
counts in `tickets`). First-response time = from the ticket's opening (the feedback complete or abandoned) to
the first staff answer the customer received; the median is over the answered tickets. Unanswered = tickets
neither closed nor spam that have no staff answer yet. A period [since, until) selects feedback and tickets
by their creation time.

Kinds, entities and aspects count the analysed feedback only; an entity counts once per feedback. "Staff
most thanked" are the people (`PER`) named in praise; "products most criticised" the products named in
complaints and critiques.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bot.errors import InvalidInput, Problem, problem
from bot.insights.figures import FieldFigures, StaffFigures, field_figures
from bot.staff.tickets import TicketStatus, TicketStore
from bot.storage.store import Store

KINDS = ("complaint", "critique", "suggestion", "praise")
#: The channels every figure lists, in this order (a feedback of another channel is listed after them).
CHANNEL_ORDER = ("telegram", "whatsapp", "web", "kiosk")
# The first 25,000 feedbacks of a French platform that did this in 2011 (PRODUCT.md).
FIELD_REFERENCE: Mapping[str, float] = {"complaint": 0.08, "critique": 0.36, "suggestion": 0.12, "praise": 0.44}
CRITICAL_KINDS = frozenset({"complaint", "critique"})
TOP = 5
WEEK = 7 * 24 * 3600
#: The dates a period may name: parole keeps no feedback from before, and a year 1 or 9999 is a slip.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
#: The longest period figures are computed over (their weekly trend lists every week): ten years.
MAX_PERIOD_DAYS = 3653


@dataclass(frozen=True, slots=True)
class Ranked:
    """An entity or an aspect and how many feedbacks mention it."""

    text: str
    count: int

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "count": self.count}


@dataclass(frozen=True, slots=True)
class WeekFigures:
    """One week of the trend: its Monday (UTC), its feedbacks and their average rating."""

    week: str
    feedbacks: int
    average_rating: float | None

    def to_json(self) -> dict[str, Any]:
        return {"week": self.week, "feedbacks": self.feedbacks, "average_rating": self.average_rating}


@dataclass(frozen=True, slots=True)
class VenueStats:
    """The figures of one venue (`venue` None: every venue of the brand) over a period."""

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
    unanswered: int = 0
    no_answer: int = 0  # feedback the brand's policy expects no answer to (`bot.staff.policy`)
    since: float | None = None
    until: float | None = None
    distribution: Mapping[int, int] = field(default_factory=dict)  # rating 1-5 → feedbacks
    channels: Mapping[str, int] = field(default_factory=dict)  # every channel of CHANNEL_ORDER → feedbacks
    analysed: int = 0
    kinds: Mapping[str, int] = field(default_factory=dict)  # every kind of KINDS → analysed feedbacks
    top_entities: tuple[Ranked, ...] = ()
    staff_thanked: tuple[Ranked, ...] = ()
    products_criticised: tuple[Ranked, ...] = ()
    top_aspects: tuple[Ranked, ...] = ()
    weekly: tuple[WeekFigures, ...] = ()
    field: FieldFigures | None = None  # the field's figures (`bot.insights.figures`)
    field_previous: FieldFigures | None = None  # the same over the previous period of the same length
    previous_since: float | None = None
    previous_until: float | None = None
    staff: tuple[StaffFigures, ...] = ()  # per staff member (on the brand's row, or the one venue's asked for)

    @property
    def kind_shares(self) -> dict[str, float | None]:
        """Each kind's share of the analysed feedback (None when nothing is analysed)."""
        return {k: round(self.kinds.get(k, 0) / self.analysed, 3) if self.analysed else None for k in KINDS}

    def to_json(self) -> dict[str, Any]:
        return {
            "brand": self.brand,
            "venue": self.venue,
            "venue_name": self.venue_name,
            "since": _iso_date(self.since),
            "until": _iso_date(self.until),
            "feedbacks": self.feedbacks,
            "average_rating": self.average_rating,
            "distribution": {str(r): self.distribution.get(r, 0) for r in range(1, 6)},
            "channels": dict(self.channels),
            "analysed": self.analysed,
            "kinds": {k: self.kinds.get(k, 0) for k in KINDS},
            "kind_shares": self.kind_shares,
            "field_reference": dict(FIELD_REFERENCE),
            "top_entities": [r.to_json() for r in self.top_entities],
            "staff_thanked": [r.to_json() for r in self.staff_thanked],
            "products_criticised": [r.to_json() for r in self.products_criticised],
            "top_aspects": [r.to_json() for r in self.top_aspects],
            "weekly": [w.to_json() for w in self.weekly],
            "tickets": self.tickets,
            "answered": self.answered,
            "open": self.open,
            "closed": self.closed,
            "spam": self.spam,
            "undeliverable": self.undeliverable,
            "unanswered": self.unanswered,
            "no_answer": self.no_answer,
            "response_rate": self.response_rate,
            "median_first_response_seconds": self.median_first_response_seconds,
            "figures": self.field.to_json(self.field_previous) if self.field is not None else None,
            "previous_period": (
                {"since": _iso_date(self.previous_since), "until": _iso_date(self.previous_until)}
                if self.previous_since is not None
                else None
            ),
            "staff": [s.to_json() for s in self.staff],
        }


class _Mentions:
    """Counts mentions by a key (vocabulary id or folded text), shown by their first spelling."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.names: dict[str, str] = {}

    def add(self, key: str, text: str) -> None:
        self.counts[key] += 1
        self.names.setdefault(key, text)

    def merge(self, other: _Mentions) -> None:
        self.counts.update(other.counts)
        for key, text in other.names.items():
            self.names.setdefault(key, text)

    def top(self, n: int) -> tuple[Ranked, ...]:
        ranked = sorted(self.counts.items(), key=lambda item: (-item[1], self.names[item[0]].casefold()))
        return tuple(Ranked(self.names[key], count) for key, count in ranked[:n])


@dataclass
class _Tally:
    name: str = ""
    ratings: list[int] = field(default_factory=list)
    tickets: int = 0
    spam: int = 0
    no_answer: int = 0
    open: int = 0
    closed: int = 0
    undeliverable: int = 0
    unanswered: int = 0
    delays: list[float] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    entities: _Mentions = field(default_factory=_Mentions)
    thanked: _Mentions = field(default_factory=_Mentions)
    criticised: _Mentions = field(default_factory=_Mentions)
    aspects: _Mentions = field(default_factory=_Mentions)
    weeks: defaultdict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    channels: Counter[str] = field(default_factory=Counter)

    def add_feedback(self, feedback: Mapping[str, Any]) -> None:
        rating = int(feedback["rating"])
        self.ratings.append(rating)
        self.channels[feedback.get("channel") or "telegram"] += 1
        self.weeks[week_of(float(feedback["created_at"]))].append(rating)
        kind = feedback.get("kind")
        if not kind:
            return
        self.kinds[kind] += 1
        seen: set[str] = set()
        for entity in feedback.get("entities", []):
            key = f"{entity['label']}:{entity.get('id') or str(entity['text']).casefold()}"
            if key in seen:
                continue
            seen.add(key)
            self.entities.add(key, entity["text"])
            if entity["label"] == "PER" and kind == "praise":
                self.thanked.add(key, entity["text"])
            elif entity["label"] == "PRODUCT" and kind in CRITICAL_KINDS:
                self.criticised.add(key, entity["text"])
        for aspect in dict.fromkeys(feedback.get("aspects", [])):
            self.aspects.add(aspect, aspect)

    def add(self, other: _Tally) -> None:
        self.ratings += other.ratings
        self.delays += other.delays
        self.tickets += other.tickets
        self.spam += other.spam
        self.no_answer += other.no_answer
        self.open += other.open
        self.closed += other.closed
        self.undeliverable += other.undeliverable
        self.unanswered += other.unanswered
        self.kinds.update(other.kinds)
        self.channels.update(other.channels)
        for mine, theirs in (
            (self.entities, other.entities),
            (self.thanked, other.thanked),
            (self.criticised, other.criticised),
            (self.aspects, other.aspects),
        ):
            mine.merge(theirs)
        for week, ratings in other.weeks.items():
            self.weeks[week] += ratings

    def figures(self, brand: str, venue: str | None, since: float | None, until: float | None, top: int) -> VenueStats:
        ratings, delays = self.ratings, self.delays
        counted = self.tickets - self.spam - self.no_answer
        return VenueStats(
            brand=brand,
            venue=venue,
            venue_name=self.name,
            feedbacks=len(ratings),
            average_rating=_average(ratings),
            tickets=counted,
            answered=len(delays),
            open=self.open,
            closed=self.closed,
            spam=self.spam,
            undeliverable=self.undeliverable,
            response_rate=round(len(delays) / counted, 3) if counted else None,
            median_first_response_seconds=round(statistics.median(delays), 1) if delays else None,
            unanswered=self.unanswered,
            no_answer=self.no_answer,
            since=since,
            until=until,
            distribution={r: ratings.count(r) for r in range(1, 6)},
            channels=channel_counts(self.channels),
            analysed=sum(self.kinds.values()),
            kinds={k: self.kinds.get(k, 0) for k in KINDS},
            top_entities=self.entities.top(top),
            staff_thanked=self.thanked.top(top),
            products_criticised=self.criticised.top(top),
            top_aspects=self.aspects.top(top),
            weekly=weekly_trend(self.weeks, since, until),
        )


def channel_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """Feedbacks per channel: every channel of CHANNEL_ORDER (0 when none), then any other seen, by name."""
    others = sorted(set(counts) - set(CHANNEL_ORDER))
    return {channel: counts.get(channel, 0) for channel in (*CHANNEL_ORDER, *others)}


def _average(ratings: list[int]) -> float | None:
    return round(statistics.fmean(ratings), 2) if ratings else None


def week_of(timestamp: float) -> str:
    """The Monday (UTC, ISO date) of the week a time falls in."""
    day = dt.datetime.fromtimestamp(timestamp, dt.UTC).date()
    return (day - dt.timedelta(days=day.weekday())).isoformat()


def weekly_trend(weeks: Mapping[str, list[int]], since: float | None, until: float | None) -> tuple[WeekFigures, ...]:
    """Every week from the period's first to its last (or the data's), empty weeks included."""
    if not weeks and (since is None or until is None):
        return ()
    bounds = list(weeks)
    if since is not None:
        bounds.append(week_of(since))
    if until is not None:
        bounds.append(week_of(until - 1e-3))
    first, last = min(bounds), max(bounds)
    day, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    trend: list[WeekFigures] = []
    while day <= end:
        ratings = weeks.get(day.isoformat(), [])
        trend.append(WeekFigures(day.isoformat(), len(ratings), _average(ratings)))
        day += dt.timedelta(days=7)
    return tuple(trend)


async def venue_stats(
    store: Store,
    brand: str | None = None,
    venue: str | None = None,
    *,
    since: float | None = None,
    until: float | None = None,
    top: int = TOP,
    now: float | None = None,
) -> list[VenueStats]:
    """Per brand: one row per venue (of `venue` only, if given), then the brand's total (venue None), each with
    the field's figures beside the previous period's (`bot.insights.figures`; `now` ends an open period)."""
    tickets = TicketStore(store.redis)
    brands = [(await store.get_brand(brand)).code] if brand else [b.code for b in await store.list_brands()]
    if venue is not None and brand is not None:
        await store.get_venue(brand, venue)
    rows: list[VenueStats] = []
    for code in brands:
        tallies: defaultdict[str, _Tally] = defaultdict(_Tally)
        for known in await store.list_venues(code):
            tallies[known.code].name = known.name
        async for feedback in store.iter_feedback(code, venue, since=since, until=until):
            tally = tallies[feedback["venue"]]
            tally.name = tally.name or feedback["venue_name"]
            tally.add_feedback(feedback)
        for ticket in await tickets.all_tickets(code):
            if (venue is not None and ticket.venue != venue) or not _within(ticket.created_at, since, until):
                continue
            tally = tallies[ticket.venue]
            tally.tickets += 1
            if ticket.status is TicketStatus.SPAM:
                tally.spam += 1
                continue
            if ticket.status is TicketStatus.NO_ANSWER:
                tally.no_answer += 1
                continue
            tally.open += int(ticket.status.is_open)
            tally.closed += int(ticket.status is TicketStatus.CLOSED)
            tally.undeliverable += int(ticket.undeliverable)
            if ticket.first_response_at is not None:
                tally.delays.append(max(0.0, ticket.first_response_at - ticket.created_at))
            elif ticket.status.is_open:
                tally.unanswered += 1
        total = _Tally()
        mine: list[VenueStats] = []
        for venue_code in sorted(tallies):
            if venue is not None and venue_code != venue:
                continue
            mine.append(tallies[venue_code].figures(code, venue_code, since, until, top))
            total.add(tallies[venue_code])
        if venue is None:
            mine.append(total.figures(code, None, since, until, top))
        rows += await _with_field_figures(store, code, venue, mine, since, until, now)
    return rows


async def _with_field_figures(
    store: Store,
    brand: str,
    venue: str | None,
    rows: list[VenueStats],
    since: float | None,
    until: float | None,
    now: float | None,
) -> list[VenueStats]:
    found = await field_figures(store, brand, venue, since=since, until=until, now=now)
    before = found.previous or (None, None)
    done = []
    for row in rows:
        current, previous = found.venues.get(row.venue, (None, None))
        if row.venue is None and venue is not None:
            current, previous = (None, None)
        staff = found.staff if row.venue == venue else ()
        done.append(replace(row, field=current, field_previous=previous, previous_since=before[0],
                            previous_until=before[1], staff=staff))  # fmt: skip
    return done


def _within(timestamp: float, since: float | None, until: float | None) -> bool:
    return (since is None or timestamp >= since) and (until is None or timestamp < until)


def _iso_date(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_period(
    since: str | None, until: str | None, names: tuple[str | Problem, str | Problem], *, longest_days: int | None = None
) -> tuple[float | None, float | None]:
    """A period [since, until) from two optional `parse_day` texts (named `names` in messages, which are in
    French: the dashboard's and `parole stats`' readers), checked;
    with `longest_days`, a period with both ends may last no longer (figures and their weekly trend)."""
    start = parse_day(since, names[0]) if since else None
    end = parse_day(until, names[1]) if until else None
    if start is not None and end is not None and end <= start:
        raise InvalidInput(problem("period_order", "{end} must come after {start}", start=names[0], end=names[1]))
    if longest_days is not None and start is not None and end is not None and end - start > longest_days * 86400:
        years = longest_days // 365
        raise InvalidInput(
            problem(
                "period_too_long", "the period from {start} to {end} lasts at most {years} years: choose a shorter one",
                start=names[0], end=names[1], years=years,
            )
        )  # fmt: skip
    return start, end


def parse_day(text: str, what: str | Problem) -> float:
    """A `--since`/`--until` date (YYYY-MM-DD, UTC midnight) or time (ISO 8601), from 2000 to 2100, as a Unix time."""
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        within = EARLIEST <= moment <= LATEST
    except (ValueError, OverflowError):
        raise InvalidInput(
            problem("bad_date", "{what} {text!r} is not a date: write YYYY-MM-DD", what=what, text=text)
        ) from None
    if not within:
        raise InvalidInput(
            problem(
                "date_out_of_range", "{what} {text!r} is out of range: a date between {earliest} and {latest}",
                what=what, text=text, earliest=EARLIEST.strftime("%d/%m/%Y"), latest=LATEST.strftime("%d/%m/%Y"),
            )
        )  # fmt: skip
    return moment.timestamp()
