"""A venue's opening hours, and deadlines that count open hours only.

Weekly hours (ranges per weekday), exceptions per date (a holiday: closed; a special day: its own ranges) and a
time zone (Europe/Paris by default), stored as JSON in the venue's hash (`opening_hours`). A venue without
hours is always open: deadlines count every hour, as before. Times are local: a daylight saving change moves
the ranges with the clocks, so a day of the change has an hour more or less.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from redis.asyncio import Redis

from bot.errors import InvalidInput, problem
from bot.formats import Formats
from bot.storage import keys
from bot.storage.kept import KeptPerVenue
from bot.storage.store import redis_text
from dialogs.types import MessagePart

DEFAULT_TIME_ZONE = "Europe/Paris"
FIELD = "opening_hours"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEARCH_DAYS = 400  # a deadline further than this in open hours falls back to wall-clock hours
CACHE_SECONDS = 60.0  # how long the customers' side keeps a venue's hours before reading them again
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
Ranges = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class OpeningHours:
    time_zone: str = DEFAULT_TIME_ZONE
    weekly: Mapping[str, Ranges] = field(default_factory=dict)  # "mon" … "sun" → (("09:00", "19:00"), …)
    exceptions: Mapping[str, Ranges] = field(default_factory=dict)  # "YYYY-MM-DD" → ranges, () closed

    def to_json(self) -> dict[str, Any]:
        return {
            "time_zone": self.time_zone,
            "weekly": {d: [list(r) for r in self.weekly[d]] for d in DAYS if d in self.weekly},
            "exceptions": {day: [list(r) for r in ranges] for day, ranges in sorted(self.exceptions.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OpeningHours:
        return checked(
            cls(
                time_zone=str(data.get("time_zone") or DEFAULT_TIME_ZONE),
                weekly={d: tuple((str(a), str(b)) for a, b in r) for d, r in (data.get("weekly") or {}).items()},
                exceptions={
                    str(day): tuple((str(a), str(b)) for a, b in r) for day, r in (data.get("exceptions") or {}).items()
                },
            )
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def ranges_on(self, day: dt.date) -> Ranges:
        exception = self.exceptions.get(day.isoformat())
        return exception if exception is not None else self.weekly.get(DAYS[day.weekday()], ())

    def due(self, start: float, seconds: float) -> float:
        """The moment `seconds` of open time have passed since `start` (a Unix time)."""
        if not self.weekly and not any(self.exceptions.values()):
            return start + seconds  # no hours given: always open
        zone, left = self.zone, seconds
        day = dt.datetime.fromtimestamp(start, zone).date()
        for _ in range(SEARCH_DAYS):
            for opens, closes in self.ranges_on(day):
                begin = max(start, _moment(day, opens, zone))
                end = (
                    _moment(day + dt.timedelta(days=1), "00:00", zone)
                    if closes == "24:00"
                    else _moment(day, closes, zone)
                )
                if end <= begin:
                    continue
                if end - begin >= left:
                    return begin + left
                left -= end - begin
            day = _next(day)
        return start + seconds

    def open_seconds(self, start: float, end: float) -> float:
        """How many seconds of open time lie between `start` and `end` (Unix times; 0 when end comes first)."""
        if end <= start:
            return 0.0
        if self.always_open:
            return end - start
        total = 0.0
        day = dt.datetime.fromtimestamp(start, self.zone).date()
        last = dt.datetime.fromtimestamp(end, self.zone).date()
        while day <= last:
            for begin, close in self._spans(day):
                total += max(0.0, min(end, close) - max(start, begin))
            day = _next(day)
        return total

    @property
    def always_open(self) -> bool:
        """No hours given: the venue counts as open at every hour."""
        return not self.weekly and not any(self.exceptions.values())

    def _spans(self, day: dt.date) -> list[tuple[float, float]]:
        """The day's open spans as Unix times (a range ending at 24:00 ends at the next day's midnight)."""
        zone = self.zone
        spans = []
        for opens, closes in self.ranges_on(day):
            end = _moment(_next(day), "00:00", zone) if closes == "24:00" else _moment(day, closes, zone)
            spans.append((_moment(day, opens, zone), end))
        return spans

    def next_opening(self, now: float) -> float | None:
        """When the venue opens next if it is closed at `now`: None when it is open (or has no hours), or
        opens no more within `SEARCH_DAYS`."""
        if self.always_open:
            return None
        day = dt.datetime.fromtimestamp(now, self.zone).date() - dt.timedelta(days=1)  # a range past midnight
        for _ in range(SEARCH_DAYS):
            for begin, end in self._spans(day):
                if begin <= now < end:
                    return None
                if begin > now:
                    return begin
            day = _next(day)
        return None


def closed_notice(hours: OpeningHours | None, now: float, venue_name: str, language: str) -> MessagePart | None:
    """What a customer who writes at `now` is told when the venue is closed (`venue_closed`): when its team
    will read them, in the venue's time zone; None while it is open."""
    opens = hours.next_opening(now) if hours is not None else None
    if hours is None or opens is None:
        return None
    formats = Formats(language, hours.time_zone)
    variables = {
        "venue_name": venue_name, "opens_in_days": formats.days_from(now, opens),
        "opens_day": formats.long_day(opens), "opens_time": formats.clock(opens),
    }  # fmt: skip
    return MessagePart("venue_closed", variables)


def _next(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=1)


def _moment(day: dt.date, clock: str, zone: ZoneInfo) -> float:
    hour, minute = (int(part) for part in clock.split(":"))
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).timestamp()


def checked(hours: OpeningHours) -> OpeningHours:
    try:
        ZoneInfo(hours.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            problem("time_zone", "unknown time zone {zone!r} (write e.g. Europe/Paris)", zone=hours.time_zone)
        ) from None
    for day in hours.weekly:
        if day not in DAYS:
            raise InvalidInput(problem("unknown_day", "unknown day {day!r}: {days}", day=day, days=DAYS))
    for date in hours.exceptions:
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            raise InvalidInput(
                problem("hours_bad_date", "{date!r} is not a date: write YYYY-MM-DD", date=date)
            ) from None
    for ranges in (*hours.weekly.values(), *hours.exceptions.values()):
        for opens, closes in ranges:
            _check_range(opens, closes)
    return hours


def _check_range(opens: str, closes: str) -> None:
    found = _RANGE.match(f"{opens}-{closes}")
    if found is None:
        raise InvalidInput(
            problem(
                "hours_range", "{opens}-{closes} is not a range of hours: write 09:00-19:00", opens=opens, closes=closes
            )
        )
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    if not (h1 < 24 and m1 < 60 and m2 < 60 and (h2 < 24 or (h2, m2) == (24, 0)) and (h1, m1) < (h2, m2)):
        raise InvalidInput(
            problem(
                "hours_within_day", "{opens}-{closes} is not a range of hours within a day", opens=opens, closes=closes
            )
        )


def parse_weekly(text: str) -> dict[str, Ranges]:
    """`mon-fri 09:00-12:00,14:00-19:00; sat 10:00-18:00` as weekly hours (days not named: closed)."""
    weekly: dict[str, Ranges] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        days_text, _, ranges_text = part.partition(" ")
        ranges = tuple(tuple(r.strip().split("-", 1)) for r in ranges_text.split(",") if r.strip())
        if not ranges or any(len(r) != 2 for r in ranges):
            raise InvalidInput(
                problem(
                    "hours_format",
                    "{part!r}: write DAYS HH:MM-HH:MM[,HH:MM-HH:MM], e.g. mon-fri 09:00-19:00",
                    part=part,
                )
            )
        for opens, closes in ranges:
            _check_range(opens, closes)
        for day in _days(days_text):
            weekly[day] = tuple((a, b) for a, b in ranges)
    return weekly


def _days(text: str) -> Sequence[str]:
    found: list[str] = []
    for item in text.lower().split(","):
        first, _, last = item.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise InvalidInput(
                problem("hours_days", "{item!r} is not a day or days: {days} (mon-fri, sat,sun)", item=item, days=DAYS)
            )
        start, end = DAYS.index(first), DAYS.index(last or first)
        found += [DAYS[i % 7] for i in range(start, end + 1 if end >= start else end + 8)]
    return found


class HoursStore:
    """Venues' opening hours in their hashes, and the deadlines they make."""

    def __init__(self, redis: Redis, *, keep: float = CACHE_SECONDS) -> None:
        self.redis = redis
        self._kept: KeptPerVenue[OpeningHours | None] = KeptPerVenue(keep)

    async def get(self, brand: str, venue: str) -> OpeningHours | None:
        raw = await self.redis.hget(keys.venue(brand, venue), FIELD)
        return OpeningHours.from_json(json.loads(redis_text(raw))) if raw else None

    async def recent(self, brand: str, venue: str, now: float) -> OpeningHours | None:
        """The venue's hours as read at most `keep` seconds ago: a customer's turn costs no round trip for them."""
        return await self._kept.get(brand, venue, now, lambda: self.get(brand, venue))

    async def set(self, brand: str, venue: str, hours: OpeningHours | None) -> None:
        if hours is None:
            await self.redis.hdel(keys.venue(brand, venue), FIELD)
        else:
            await self.redis.hset(keys.venue(brand, venue), FIELD, json.dumps(checked(hours).to_json()))

    async def due(self, brand: str, venue: str, start: float, seconds: float) -> float:
        """`seconds` of the venue's open time after `start` (wall-clock time for a venue without hours)."""
        hours = await self.get(brand, venue)
        return hours.due(start, seconds) if hours is not None else start + seconds
