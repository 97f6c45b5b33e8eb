"""Numbers, shares, times and durations by locale (Babel), times in the venue's time zone."""

from __future__ import annotations

import datetime as dt

from bot.formats import Formats

WINTER = dt.datetime(2025, 3, 14, 10, 2, tzinfo=dt.UTC).timestamp()
SUMMER = dt.datetime(2026, 9, 7, 7, 0, tzinfo=dt.UTC).timestamp()


def test_french_numbers() -> None:
    french = Formats("fr")
    assert french.percent(0.3) == "30,0\u00a0%" and french.percent(0.44, 0) == "44\u00a0%"
    assert french.decimal(3.5) == "3,50" and french.number(12345) == "12\u202f345"
    assert french.percent(None) == french.decimal(None) == "—"


def test_english_numbers() -> None:
    english = Formats("en")
    assert (english.percent(0.3), english.decimal(3.5), english.number(12345)) == ("30.0%", "3.50", "12,345")


def test_times_are_in_the_venues_time_zone() -> None:
    french = Formats("fr")
    assert french.moment(WINTER) == "14/03/2025 11:02" and french.moment(SUMMER) == "07/09/2026 09:00"
    assert french.iso(WINTER) == "2025-03-14T11:02:00+01:00" and french.iso(SUMMER) == "2026-09-07T09:00:00+02:00"
    assert Formats("fr", "America/Martinique").moment(WINTER) == "14/03/2025 06:02"


def test_durations() -> None:
    assert [Formats("fr").duration(s) for s in (0, 45 * 60, 9000, None)] == ["0 min", "45 min", "2,5 h", "—"]
    assert Formats("en").duration(9000) == "2.5 h"
