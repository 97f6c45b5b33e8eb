"""Numbers, shares, dates and durations as a reader of a language expects them, through Babel.

"30,0 %", "3,50", "14/03/2025 11:02" in French; "30.0%", "3.50", "3/14/25, 11:02 AM" in English. Times
are shown in the venue's time zone, Europe/Paris unless told otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal, format_percent

__all__ = ["DEFAULT_TIME_ZONE", "Formats", "page_filters"]

#: The time zone of a venue that names none.
DEFAULT_TIME_ZONE: Final = "Europe/Paris"
_LOCALES: Final = {"fr": "fr_FR", "en": "en_GB"}


@dataclass(frozen=True, slots=True)
class Formats:
    """How one reader sees numbers and times: a language (`fr`, `en`) and a time zone."""

    language: str = "fr"
    time_zone: str = DEFAULT_TIME_ZONE

    @property
    def locale(self) -> Locale:
        """Babel's locale for the language (French for a language it does not know)."""
        return Locale.parse(_LOCALES.get(self.language, _LOCALES["fr"]))

    def percent(self, share: float | None, digits: int = 1) -> str:
        """A share from 0 to 1 as a percentage with `digits` decimals: "30,0 %" ("—" for none)."""
        if share is None:
            return "—"
        pattern = str(self.locale.percent_formats[None].pattern)
        if digits:
            pattern = pattern.replace("0", "0." + "0" * digits, 1)
        return format_percent(share, format=pattern, locale=self.locale)

    def decimal(self, value: float | None, digits: int = 2) -> str:
        """A number with exactly `digits` decimals: "3,50" ("—" for none)."""
        if value is None:
            return "—"
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def number(self, value: int) -> str:
        """A whole number with the language's grouping: "12 345"."""
        return format_decimal(value, locale=self.locale)

    def count(self, value: int, one: str, other: str) -> str:
        """A number and its noun in the form the language's plural rules ask for: "1 retour", "0 retour",
        "2 retours" in French (CLDR's rules, through Babel)."""
        return f"{self.number(value)} {one if self.locale.plural_form(value) == 'one' else other}"

    def moment(self, timestamp: float | None) -> str:
        """A Unix time as a short date and time in the time zone: "14/03/2025 11:02" ("—" for none)."""
        if timestamp is None:
            return "—"
        when = dt.datetime.fromtimestamp(timestamp, dt.UTC)
        return format_datetime(when, "short", tzinfo=ZoneInfo(self.time_zone), locale=self.locale)

    def day(self, timestamp: float) -> str:
        """A Unix time as a short date in the time zone: "14/03/2025"."""
        when = dt.datetime.fromtimestamp(timestamp, ZoneInfo(self.time_zone)).date()
        return format_date(when, "short", locale=self.locale)

    def day_of(self, iso_date: str) -> str:
        """A calendar date written YYYY-MM-DD as a short date: "07/09/2026"."""
        return format_date(dt.date.fromisoformat(iso_date), "short", locale=self.locale)

    def long_day(self, timestamp: float) -> str:
        """A Unix time as the day people say, in the time zone: "lundi 7 décembre", "Monday 7 December"."""
        when = dt.datetime.fromtimestamp(timestamp, ZoneInfo(self.time_zone)).date()
        return format_date(when, "EEEE d MMMM", locale=self.locale)

    def clock(self, timestamp: float) -> str:
        """A Unix time as a time of day in the time zone: "09:00"."""
        when = dt.datetime.fromtimestamp(timestamp, dt.UTC)
        return format_time(when, "short", tzinfo=ZoneInfo(self.time_zone), locale=self.locale)

    def days_from(self, start: float, timestamp: float) -> int:
        """How many calendar days in the time zone from `start` to `timestamp` (0 the same day, 1 the next)."""
        zone = ZoneInfo(self.time_zone)
        first, last = (dt.datetime.fromtimestamp(t, zone).date() for t in (start, timestamp))
        return (last - first).days

    def iso(self, timestamp: float) -> str:
        """A Unix time as ISO 8601 in the time zone, with its offset: "2025-03-14T11:02:00+01:00"."""
        return dt.datetime.fromtimestamp(timestamp, ZoneInfo(self.time_zone)).isoformat(timespec="seconds")

    def duration(self, seconds: float | None) -> str:
        """A duration as people read it: minutes under an hour, else hours: "45 min", "2,5 h" ("—" for none)."""
        if seconds is None:
            return "—"
        if seconds < 3600:
            return f"{self.decimal(seconds / 60, 0)} min"
        return f"{self.decimal(seconds / 3600, 1)} h"


def page_filters(formats: Formats) -> dict[str, Callable[..., Any]]:
    """The filters a page template formats with: `percent`, `decimal`, `number`, `moment`, `duration`."""
    return {
        "percent": formats.percent,
        "decimal": formats.decimal,
        "number": formats.number,
        "moment": formats.moment,
        "duration": formats.duration,
    }
