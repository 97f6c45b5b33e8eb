"""Opening hours (`bot.staff.hours`): deadlines across a weekend, a holiday and a daylight saving change, the
first reminder of a ticket at its venue's open hours, and `parole venue hours`."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.errors import InvalidInput
from bot.staff.hours import HoursStore, OpeningHours, parse_weekly
from bot.storage import keys
from tests.bot.staff_scene import FIRST_TICKET, Scene
from tests.support import Customer

PARIS = ZoneInfo("Europe/Paris")
SHOP = OpeningHours(weekly=parse_weekly("mon-fri 09:00-12:00,14:00-19:00; sat 10:00-18:00"))
HOUR = 3600.0


def at(text: str) -> float:
    """A Paris time, as a Unix time."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=PARIS).timestamp()


def paris(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, PARIS).strftime("%a %Y-%m-%d %H:%M")


def test_a_deadline_counts_open_hours_only() -> None:
    # Friday 18:00 + 3 open hours: Friday's last hour, then Saturday 10:00-12:00.
    assert paris(SHOP.due(at("2026-12-04 18:00"), 3 * HOUR)) == "Sat 2026-12-05 12:00"
    # Saturday 17:00 + 2 hours: Saturday's last hour, Sunday closed, Monday 09:00-10:00.
    assert paris(SHOP.due(at("2026-12-05 17:00"), 2 * HOUR)) == "Mon 2026-12-07 10:00"
    # Written at night, read in the morning; the lunch break does not count.
    assert paris(SHOP.due(at("2026-12-08 23:30"), 4 * HOUR)) == "Wed 2026-12-09 15:00"
    # 24 open hours: three working days of 8 hours.
    assert paris(SHOP.due(at("2026-12-07 09:00"), 24 * HOUR)) == "Wed 2026-12-09 19:00"


def test_a_holiday_is_closed_and_a_special_day_has_its_own_hours() -> None:
    christmas = OpeningHours(weekly=SHOP.weekly, exceptions={"2026-12-24": (("09:00", "13:00"),), "2026-12-25": ()})
    assert paris(christmas.due(at("2026-12-24 12:00"), 2 * HOUR)) == "Sat 2026-12-26 11:00"
    assert paris(SHOP.due(at("2026-12-24 12:00"), 2 * HOUR)) == "Thu 2026-12-24 16:00"


def test_the_hours_follow_the_clocks_across_a_daylight_saving_change() -> None:
    night = OpeningHours(weekly=parse_weekly("mon-sun 00:00-24:00"))
    # 28 March 2027, 02:00 in Paris does not exist: 24 open hours from Saturday noon end Sunday 13:00 local.
    assert paris(night.due(at("2027-03-27 12:00"), 24 * HOUR)) == "Sun 2027-03-28 13:00"
    # 31 October 2027 has 25 hours: 24 open hours from Saturday noon end Sunday 11:00 local.
    assert paris(night.due(at("2027-10-30 12:00"), 24 * HOUR)) == "Sun 2027-10-31 11:00"
    # A shop's day keeps its local hours: Monday after the change opens at 09:00 Paris time.
    assert paris(SHOP.due(at("2027-03-27 17:30"), 1 * HOUR)) == "Mon 2027-03-29 09:30"


def test_no_hours_means_always_open_and_bad_hours_are_refused() -> None:
    assert OpeningHours().due(1000.0, 60.0) == 1060.0
    for bad in ("mon 19:00-09:00", "lun 09:00-19:00", "mon 9h-19h", "mon-fri", "mon 09:00-25:00"):
        with pytest.raises(InvalidInput):
            parse_weekly(bad)
    with pytest.raises(InvalidInput, match="time zone"):
        OpeningHours.from_json({"time_zone": "Mars/Olympus"})
    assert parse_weekly("fri-mon 10:00-11:00").keys() == {"fri", "sat", "sun", "mon"}


async def test_a_ticket_s_first_reminder_is_due_after_open_hours(scene: Scene) -> None:
    await HoursStore(scene.bot.store.redis).set("quick", scene.massy.code, SHOP)
    scene.clock.advance(at("2026-12-04 18:00") - scene.clock())  # a Friday evening
    await scene.feedback(Customer.new(scene.emulator))
    ticket = await scene.bot.staff.tickets.get("quick", FIRST_TICKET)
    assert ticket is not None
    due = await scene.bot.store.redis.zscore(keys.DEADLINES, ticket.member)
    # 24 open hours from Friday 18:00: 1 h Friday, 8 h Saturday, 8 h Monday, 7 h Tuesday (after lunch).
    assert due is not None and paris(due) == "Tue 2026-12-08 18:00"


def test_parole_venue_hours(redis_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PAROLE_REDIS_URL": redis_url,
        "PAROLE_DATA_DIR": str(tmp_path),
        "PAROLE_BOT_USERNAME": "parole_bot",
    }

    def parole(*args: str, ok: bool = True) -> dict[str, object]:
        done = subprocess.run([sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True)
        assert (done.returncode == 0) is ok, done.stderr
        return json.loads(done.stdout) if ok else {"error": done.stderr}

    parole("brand", "add", "quick", "--name", "Quick")
    code = str(parole("venue", "add", "--brand", "quick", "--name", "Quick Massy")["code"])
    assert parole("venue", "hours", code, "--brand", "quick")["hours"] is None
    shown = parole("venue", "hours", code, "--brand", "quick", "--weekly", "mon-fri 09:00-19:00", "--closed",
                   "2026-12-25", "--day", "2026-12-24=09:00-13:00")  # fmt: skip
    assert shown["hours"] == {
        "time_zone": "Europe/Paris", "weekly": {d: [["09:00", "19:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        "exceptions": {"2026-12-24": [["09:00", "13:00"]], "2026-12-25": []},
    }  # fmt: skip
    assert "n'est pas une plage horaire" in str(
        parole("venue", "hours", code, "--brand", "quick", "--weekly", "mon 9-7", ok=False)
    )
    assert parole("venue", "hours", code, "--brand", "quick", "--clear")["hours"] is None
