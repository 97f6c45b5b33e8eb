"""Response rate and first-response time per venue, and the staff side's commands of `parole`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.insights.stats import venue_stats
from bot.insights.tables import format_table
from tests.bot.staff_scene import Scene
from tests.support import Customer


async def test_response_rate_and_median_first_response_per_venue(scene: Scene) -> None:
    for name in ("Ann", "Bea", "Cid"):
        await scene.feedback(Customer.new(scene.emulator, name))  # tickets 1001-1003 at Quick Massy
    # 1004 needs an answer (a praise would need none: `bot.staff.policy`), and is spam.
    await scene.feedback(Customer.new(scene.emulator, "Dan"), scene.orly, rating=3, reason="Bof")
    scene.clock.advance(600)
    await scene.staff_says(scene.julien, "/reply 1001 Merci !")
    scene.clock.advance(1200)
    await scene.staff_says(scene.julien, "/reply 1002 Merci !")
    await scene.staff_says(scene.julien, "/reply 1002 Encore merci !")  # only the first answer counts
    await scene.emulator.click(scene.julien, scene.card(1004), "ticket:spam:1004")
    rows = {row.venue: row for row in await venue_stats(scene.bot.store, "quick")}
    massy, orly, total = rows[scene.massy.code], rows[scene.orly.code], rows[None]
    assert (massy.feedbacks, massy.average_rating, massy.tickets, massy.answered, massy.open) == (3, 2.0, 3, 2, 3)
    assert massy.response_rate == pytest.approx(0.667)
    assert massy.median_first_response_seconds == pytest.approx(1200, abs=2)  # 600 s and 1800 s
    assert (orly.feedbacks, orly.tickets, orly.spam, orly.response_rate, orly.median_first_response_seconds) == (
        1, 0, 1, None, None,
    )  # fmt: skip
    assert (total.feedbacks, total.tickets, total.answered, total.average_rating) == (4, 3, 2, 2.25)
    [only] = await venue_stats(scene.bot.store, "quick", scene.orly.code)
    assert only.venue == scene.orly.code
    table = format_table(await venue_stats(scene.bot.store), {"quick": "Quick"})
    assert "Quick Massy" in table and "66,7\u00a0%" in table and "20 min" in table and "(tous les lieux)" in table


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_staff_commands_of_parole(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAROLE_REDIS_URL", redis_url)
    monkeypatch.setenv("PAROLE_BOT_USERNAME", "parole_bot")
    monkeypatch.setenv("PAROLE_DATA_DIR", str(tmp_path))
    assert _run(capsys, "brand", "add", "quick", "--name", "Quick")[0] == 0
    code, out, _ = _run(capsys, "venue", "add", "--brand", "quick", "--name", "Quick Massy")
    venue = json.loads(out)["code"]
    code, out, err = _run(capsys, "staff", "invite", "--brand", "quick", "--hours", "2")
    assert code == 0, err
    invite = json.loads(out)
    assert invite["command"] == f"/link {invite['code']}" and invite["venue"] is None
    assert len(invite["code"]) == 14 and invite["expires_at"].endswith("Z")
    expires = time.mktime(time.strptime(invite["expires_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert abs(expires - (time.time() + 7200)) < 60
    code, out, _ = _run(capsys, "staff", "invite", "--brand", "quick", "--venue", venue)
    assert code == 0 and json.loads(out)["venue"] == venue
    code, out, _ = _run(capsys, "brand", "set-deadline", "quick", "--hours", "4")
    assert code == 0 and json.loads(out) == {"brand": "quick", "deadline_hours": 4.0}
    code, out, _ = _run(capsys, "stats", "--brand", "quick", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["venue"] for r in rows] == [venue, None] and rows[0]["response_rate"] is None
    code, out, _ = _run(capsys, "stats")
    assert code == 0 and "(tous les lieux)" in out
    code, out, _ = _run(capsys, "staff", "rooms", "--brand", "quick")
    assert code == 0 and out == ""
    for args, message in [
        (("staff", "invite", "--brand", "nobody"), "la marque « nobody » n'existe pas"),
        (("staff", "invite", "--brand", "quick", "--venue", "nowhere"), "le lieu « quick/nowhere » n'existe pas"),
        (("staff", "invite", "--brand", "quick", "--hours", "0"), "--hours doit dépasser 0"),
        (("staff", "rooms", "--brand", "nobody"), "la marque « nobody » n'existe pas"),
        (("brand", "set-deadline", "quick", "--hours", "0"), "le délai doit dépasser 0"),
        (("brand", "set-deadline", "nobody", "--hours", "3"), "la marque « nobody » n'existe pas"),
        (("stats", "--venue", venue), "--venue a besoin de --brand"),
        (("stats", "--brand", "nobody"), "la marque « nobody » n'existe pas"),
        (("stats", "--brand", "quick", "--venue", "nowhere"), "le lieu « quick/nowhere » n'existe pas"),
    ]:
        code, out, err = _run(capsys, *args)
        assert code == 1 and message in err and out == "", (args, err)
    code, out, _ = _run(capsys, "stats", "--brand", "quick", "--json")
    assert json.loads(out.splitlines()[0])["tickets"] == 0  # nothing changed
