"""The dashboard's field figures (CSAT, resolution, response rate, first response in open hours, within the
deadline, NPS) agree with figures worked out by hand and with `parole stats --json`, with their rules, the
previous period, the <30 warning, per venue and per staff member."""

from __future__ import annotations

import html
import re

import aiohttp
from redis.asyncio import Redis

from tests.bot.insights.test_figures import EXPECTED, PREVIOUS, STAFF, seed
from tests.bot.web.conftest import WebAdmin
from tests.bot.web.test_admin import client, login, stats_json

__all__ = ["client"]  # the session fixture, shared with the admin's tests


def _indicators(fragment: str) -> dict[str, float | None]:
    found = re.findall(r'data-indicator="(\w+)" data-value="([^"]*)"', fragment)
    return {name: float(value) if value else None for name, value in found}


def _table(page: str, table_id: str) -> str:
    return page.split(f'<table id="{table_id}">', 1)[1].split("</table>", 1)[0]


async def test_the_dashboard_shows_the_field_figures_of_stats_json(
    web_admin: WebAdmin, redis_client: Redis, redis_url: str, client: aiohttp.ClientSession
) -> None:
    codes = await seed(redis_client)
    await login(client, web_admin, "quick")
    query = {"since": "2026-09-14", "until": "2026-09-21"}
    async with client.get(f"{web_admin.url}/dashboard", params=query) as response:
        assert response.status == 200
        page = await response.text()
    row = await stats_json(redis_url, "--brand", "quick", "--since", "2026-09-14", "--until", "2026-09-21")
    shown = _indicators(_table(page, "field-figures"))
    assert shown == {name: value for name, (value, _) in EXPECTED[None].items()}
    assert shown == {name: figure["value"] for name, figure in row["figures"].items()}
    bases = dict(re.findall(r'data-indicator="(\w+)" data-value="[^"]*" data-base="(\d+)"', page))
    assert {name: int(base) for name, base in bases.items()} == {n: b for n, (_, b) in EXPECTED[None].items()}
    # Each venue's line, each staff member's.
    venues = _table(page, "field-venues")
    for name in ("massy", "orly"):
        line = venues.split(f'<tr data-venue="{codes[name]}">', 1)[1].split("</tr>", 1)[0]
        assert _indicators(line) == {n: v for n, (v, _) in EXPECTED[name].items()}, name
    staff = _table(page, "field-staff")
    for by, figures in STAFF.items():
        line = staff.split(f'<tr data-staff="{by}">', 1)[1].split("</tr>", 1)[0]
        assert {n: v for n, v in _indicators(line).items() if n in figures} == figures, by
    assert "<td>salle du personnel (sans nom)</td>" in staff
    # The rules on screen, the previous period, its values and the change, the warning, French numbers.
    text = html.unescape(re.sub(r"<[^>]+>", " ", _table(page, "field-figures")))
    assert "part des retours notés 4 ou 5 étoiles" in text and "promoteurs (9-10) moins détracteurs (0-6)" in text
    assert "42,9\u00a0%" in text and "50,0\u00a0%" in text and "-7,1 pts" in text and "33,3 pts" in text
    assert "+30,0 pts" in text and PREVIOUS["response_rate"] == 0.5  # 80 % now, 50 % the week before
    assert page.count('class="warning"') >= 7 and "moins de 30 réponses" in page
    assert "Avant : la période précédente, du 07/09/2026 au 14/09/2026 (exclu)" in html.unescape(page)
    # Without a start, nothing to compare with: the page says how to get a comparison.
    async with client.get(f"{web_admin.url}/dashboard") as response:
        page = html.unescape(await response.text())
    assert "Choisissez une date de début pour comparer" in page
