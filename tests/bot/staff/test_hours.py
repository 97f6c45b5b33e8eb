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
from bot.staff.hours import HoursStore, OpeningHours, closed_notice, parse_weekly
from bot.storage import keys
from dialogs.catalog import TemplateCatalog
from dialogs.render import MessageRenderer
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


def test_response_times_count_open_seconds_only() -> None:
    # Friday 18:30 to Monday 09:45 across a weekend: Friday's last half hour, Saturday 10:00-18:00, Monday 45 min.
    assert SHOP.open_seconds(at("2026-12-04 18:30"), at("2026-12-07 09:45")) == (0.5 + 8 + 0.75) * HOUR
    # Over the lunch break, and before opening: nothing counts.
    assert SHOP.open_seconds(at("2026-12-08 11:00"), at("2026-12-08 15:00")) == 2 * HOUR
    assert SHOP.open_seconds(at("2026-12-08 06:00"), at("2026-12-08 08:59")) == 0.0
    # A holiday counts nothing; across a daylight saving change, an always-open venue counts real seconds (23 h).
    christmas = OpeningHours(weekly=SHOP.weekly, exceptions={"2026-12-25": ()})
    assert christmas.open_seconds(at("2026-12-24 18:00"), at("2026-12-26 11:00")) == 2 * HOUR
    night = OpeningHours(weekly=parse_weekly("mon-sun 00:00-24:00"))
    assert night.open_seconds(at("2027-03-28 00:00"), at("2027-03-29 00:00")) == 23 * HOUR
    # The inverse of a deadline: open seconds up to `due` are the seconds asked; none when the end comes first.
    start = at("2026-12-05 17:00")
    assert SHOP.open_seconds(start, SHOP.due(start, 2 * HOUR)) == 2 * HOUR
    assert SHOP.open_seconds(at("2026-12-08 12:00"), at("2026-12-08 10:00")) == 0.0
    assert OpeningHours().open_seconds(1000.0, 1600.0) == 600.0


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


def test_when_a_closed_venue_opens_next() -> None:
    christmas = OpeningHours(weekly=SHOP.weekly, exceptions={"2026-12-24": (("09:00", "13:00"),), "2026-12-25": ()})
    assert SHOP.next_opening(at("2026-12-04 15:00")) is None  # a Friday afternoon: open
    assert paris(SHOP.next_opening(at("2026-12-04 12:30")) or 0) == "Fri 2026-12-04 14:00"  # the lunch break
    assert paris(SHOP.next_opening(at("2026-12-05 18:00")) or 0) == "Mon 2026-12-07 09:00"  # the weekend
    assert paris(christmas.next_opening(at("2026-12-24 13:00")) or 0) == "Sat 2026-12-26 10:00"  # Christmas day
    # The night the clocks go forward: Monday's 09:00 is Paris time, one hour less after the change in UTC.
    monday = SHOP.next_opening(at("2027-03-27 19:00"))
    assert monday is not None and paris(monday) == "Mon 2027-03-29 09:00"
    assert dt.datetime.fromtimestamp(monday, dt.UTC).hour == 7
    night = OpeningHours(weekly=parse_weekly("sat 22:00-24:00; sun 00:00-02:00"))
    assert night.next_opening(at("2026-12-06 01:00")) is None  # still open after midnight
    assert OpeningHours().next_opening(at("2026-12-06 03:00")) is None  # no hours: always open
    assert OpeningHours(weekly={}, exceptions={"2026-12-25": ()}).next_opening(at("2026-12-25 03:00")) is None


def test_the_closed_venue_notice_in_french_and_english() -> None:
    renderer = MessageRenderer(TemplateCatalog())
    christmas = OpeningHours(weekly=SHOP.weekly, exceptions={"2026-12-25": ()})
    cases = {
        ("fr", "2026-12-05 19:30"): "elle lira votre message lundi 7 décembre à partir de 09:00.",
        ("fr", "2026-12-08 06:00"): "elle lira votre message aujourd'hui à partir de 09:00.",
        ("fr", "2026-12-24 21:00"): "elle lira votre message samedi 26 décembre à partir de 10:00.",
        ("fr", "2026-12-07 20:00"): "elle lira votre message demain à partir de 09:00.",
        ("en", "2026-12-05 19:30"): "they will read your message on Monday 7 December from 09:00.",
        ("en", "2026-12-07 20:00"): "they will read your message tomorrow from 09:00.",
    }
    for (language, moment), expected in cases.items():
        notice = closed_notice(christmas, at(moment), "Le Petit Zinc", language)
        assert notice is not None
        text = renderer.render(notice, language)
        assert text.endswith(expected), text
        assert text.startswith(
            "🌙 L'équipe du Petit Zinc n'est pas là" if language == "fr" else "🌙 The Le Petit Zinc team is away"
        )
    assert closed_notice(christmas, at("2026-12-07 10:00"), "Le Petit Zinc", "fr") is None
    assert closed_notice(None, at("2026-12-07 23:00"), "Le Petit Zinc", "fr") is None
    # A venue in another time zone: its own clock says when it opens.
    tokyo = OpeningHours(time_zone="Asia/Tokyo", weekly=parse_weekly("mon-fri 09:00-18:00"))
    notice = closed_notice(tokyo, at("2026-12-07 10:00"), "Le Petit Zinc", "fr")  # 18:00 in Tokyo, a Monday
    assert notice is not None and renderer.render(notice, "fr").endswith("demain à partir de 09:00.")


async def test_a_customer_who_writes_while_the_venue_is_closed_is_told_when_it_opens(scene: Scene) -> None:
    christmas = OpeningHours(weekly=SHOP.weekly, exceptions={"2026-12-25": ()})
    await HoursStore(scene.bot.store.redis).set("quick", scene.massy.code, christmas)
    scene.clock.advance(at("2026-12-24 20:00") - scene.clock())  # Christmas Eve, after closing
    camille = Customer.new(scene.emulator)
    await camille.say(f"/start {scene.massy.token}")
    await camille.say("2")
    await camille.say("On a attendu 40 minutes.")
    thanks = await camille.say("passer")
    assert thanks.said == [
        "Merci pour votre avis ! L'équipe de Quick Massy va le lire et pourra vous répondre ici même.\n\n"
        "🌙 L'équipe de Quick Massy n'est pas là en ce moment : elle lira votre message samedi 26 décembre "
        "à partir de 10:00."
    ]
    await scene.notify()
    scene.clock.advance(HOUR)  # still Christmas Eve: the customer writes again, to the team
    relayed = await camille.say("Et le parking était plein.")
    assert relayed.said[-1] == (  # after the message in the room
        "✉️ Transmis à l'équipe de Quick Massy.\n\n🌙 L'équipe de Quick Massy n'est pas là en ce moment : "
        "elle lira votre message samedi 26 décembre à partir de 10:00."
    )
    scene.clock.advance(at("2026-12-26 11:00") - scene.clock())  # open: no notice
    assert (await camille.say("Merci d'avance.")).said[-1] == "✉️ Transmis à l'équipe de Quick Massy."
    bea = Customer.new(scene.emulator, "Bea")
    await bea.say(f"/start {scene.massy.token}")
    await bea.say("5")
    await bea.say("Très bon accueil.")
    assert "n'est pas là" not in (await bea.say("passer")).text
