"""The web admin over HTTP: login links, the session cookie, CSRF, brand boundaries, saves and refusals; the
dashboard's figures against `parole stats --json`."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import json
import os
import re
import sys
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis

from bot.config import load_settings
from bot.editing.editor import Admin
from bot.editing.logins import WebLogins
from bot.editing.overrides import Document, Scope, template_document
from bot.errors import ConfigError
from bot.storage.embedded import free_port
from bot.web.admin import web_app
from tests.bot.web.conftest import WebAdmin

GREETING = {"scope": "quick", "doc": "template:greeting:fr"}


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def login(client: aiohttp.ClientSession, web_admin: WebAdmin, brand: str | None = "quick") -> str:
    """Log in with a one-time link (its page, then its button); the CSRF token of the first page."""
    link = await web_admin.login_link(brand)
    async with client.get(link) as page:
        text = await page.text()
        assert page.status == 200 and f'action="{link.removeprefix(web_admin.url)}"' in text
    async with client.post(link, data={"nonce": nonce_of(text)}) as response:
        assert response.status == 200 and str(response.url).endswith("/")
        return csrf_of(await response.text())


def nonce_of(html: str) -> str:
    found = re.search(r'name="nonce" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def test_a_login_link_works_once_and_sets_a_safe_cookie(web_admin: WebAdmin) -> None:
    link = await web_admin.login_link("quick")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        for _ in range(2):  # a GET (a link preview, a prefetch) does not use the link up
            async with client.get(link, allow_redirects=False) as page:
                assert page.status == 200 and "parole_session" not in page.headers.get("Set-Cookie", "")
                nonce = nonce_of(await page.text())
        async with client.post(link, data={"nonce": nonce}, allow_redirects=False) as response:
            assert response.status == 303
            cookie = response.cookies["parole_session"]
            assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
            assert not cookie["secure"]  # plain http, and the admin's URL is http
        for method in (client.get, client.post):
            async with method(link, allow_redirects=False) as again:
                assert again.status == 403 and "déjà utilisé" in await again.text()
    async with aiohttp.ClientSession() as stranger:
        async with stranger.get(f"{web_admin.url}/") as response:
            assert response.status == 401 and "/weblogin" in await response.text()
        for method in (stranger.get, stranger.post):
            async with method(f"{web_admin.url}/login/not-a-token") as response:
                assert response.status == 403


async def test_a_login_post_that_did_not_come_from_the_links_page_is_refused_and_uses_nothing(
    web_admin: WebAdmin,
) -> None:
    """Login CSRF: an attacker's page posting their own link in a victim's browser logs nobody in."""
    link = await web_admin.login_link("quick", user="mallory")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as victim:
        async with victim.post(link, data={"nonce": "guessed"}, allow_redirects=False) as forged:  # no page seen
            assert forged.status == 403 and "CSRF" in await forged.text()
        async with victim.get(link) as page:
            nonce = nonce_of(await page.text())
        cross_site = [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}]
        for headers in cross_site:  # even with the nonce: a browser says where the form came from
            async with victim.post(link, data={"nonce": nonce}, headers=headers, allow_redirects=False) as forged:
                assert forged.status == 403
        async with victim.post(link, data={"nonce": "other"}, allow_redirects=False) as forged:
            assert forged.status == 403
        assert "parole_session" not in {cookie.key for cookie in victim.cookie_jar}
        assert await web_admin.logins.is_valid(link.rsplit("/", 1)[1])  # the link was not used up
        async with victim.post(link, data={"nonce": nonce}, allow_redirects=False) as own:  # its own page's button
            assert own.status == 303 and "parole_session" in own.cookies


async def test_cookies_are_secure_when_the_admin_url_is_https(web_admin: WebAdmin, redis_client: Redis) -> None:
    port = free_port()
    logins = WebLogins(redis_client, f"http://127.0.0.1:{port}")
    runner = web.AppRunner(web_app(web_admin.editor, logins, secure_cookies=True))  # TLS ends at a proxy
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        link = await logins.link(Admin("olga"))
        async with aiohttp.ClientSession() as client:
            async with client.get(link) as page:
                assert page.cookies["parole_login"]["secure"]
                nonce = nonce_of(await page.text())
            headers = {"Cookie": f"parole_login={page.cookies['parole_login'].value}"}
            async with client.post(link, data={"nonce": nonce}, headers=headers, allow_redirects=False) as response:
                assert response.status == 303 and response.cookies["parole_session"]["secure"]
    finally:
        await runner.cleanup()
    secure = load_settings({"PAROLE_WEB_URL": "https://admin.example"}, dotenv=None)
    assert secure.web_secure_cookies
    assert not load_settings({"PAROLE_WEB_URL": "http://127.0.0.1:8081"}, dotenv=None).web_secure_cookies
    settable = {"PAROLE_WEB_URL": "http://10.0.0.5:8081", "PAROLE_WEB_SECURE_COOKIES": "true"}
    assert load_settings(settable, dotenv=None).web_secure_cookies
    with pytest.raises(ConfigError, match="PAROLE_WEB_SECURE_COOKIES"):
        load_settings({"PAROLE_WEB_SECURE_COOKIES": "maybe"}, dotenv=None)


async def test_pages_run_no_inline_script_and_the_policy_says_so(
    web_admin: WebAdmin, client: aiohttp.ClientSession
) -> None:
    await login(client, web_admin)
    for path in ("/", "/edit?scope=quick&doc=template:greeting:fr", "/edit?scope=quick&doc=flow", "/dashboard"):
        async with client.get(f"{web_admin.url}{path}") as response:
            assert response.status == 200, path
            policy = response.headers["Content-Security-Policy"]
            page = await response.text()
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == [], path  # no inline script
        assert "<style" not in page and " style=" not in page and " onclick=" not in page, path
    async with client.get(f"{web_admin.url}/static/edit.js") as script:
        assert script.status == 200 and script.content_type == "text/javascript"
        assert 'fetch("/preview"' in await script.text()
    for missing in ("/static/nothing.js", "/static/..%2Fbase.html", "/static/base.html"):
        async with client.get(f"{web_admin.url}{missing}") as response:
            assert response.status == 404, missing


async def test_forms_without_the_csrf_token_change_nothing(web_admin: WebAdmin, client: aiohttp.ClientSession) -> None:
    await login(client, web_admin)
    form = {**GREETING, "text": "Salut {{ venue_name }}", "expected": "0"}
    for csrf in (None, "forged"):
        data = form if csrf is None else {**form, "csrf": csrf}
        async with client.post(f"{web_admin.url}/edit", data=data) as response:
            assert response.status == 403 and "CSRF" in await response.text()
    assert await web_admin.editor.overrides.revision() == 0


async def test_a_brand_admin_sees_only_their_brand(web_admin: WebAdmin, client: aiohttp.ClientSession) -> None:
    csrf = await login(client, web_admin, "quick")
    async with client.get(f"{web_admin.url}/") as response:
        page = await response.text()
        assert "quick/quick-massy" in page and "sncf" not in page and ">global<" not in page
    for path in ("/?scope=sncf", "/?scope=global", "/edit?scope=sncf&doc=flow", "/history?scope=global&doc=flow"):
        async with client.get(f"{web_admin.url}{path}") as response:
            assert response.status == 403 and "ne peut modifier que la marque « quick »" in await response.text(), path
    data = {"scope": "sncf", "doc": "template:greeting:fr", "text": "Hi {{ venue_name }}", "expected": "0"}
    async with client.post(f"{web_admin.url}/edit", data={**data, "csrf": csrf}) as response:
        assert response.status == 403
    assert await web_admin.editor.overrides.revision() == 0


async def test_save_refuse_conflict_history_and_rollback(web_admin: WebAdmin, client: aiohttp.ClientSession) -> None:
    csrf = await login(client, web_admin)
    url = web_admin.url
    form = {**GREETING, "csrf": csrf, "expected": "0"}
    async with client.post(f"{url}/edit", data={**form, "text": "Salut\n{{ venue_name }"}) as response:
        page = await response.text()
        assert response.status == 422 and "Refusé (ligne 2) : erreur de syntaxe" in page
        assert 'class="bad" id="bad-line">  2  {{ venue_name }' in page  # the line is marked
    async with client.post(f"{url}/edit", data={**form, "text": "Salut <b>{{ venue_name }}</b>\r\n"}) as response:
        assert response.status == 200 and "Enregistré (version 1)" in await response.text()
    async with client.post(f"{url}/edit", data={**form, "text": "Bonjour {{ venue_name }}"}) as response:
        page = await response.text()
        assert response.status == 409 and "Modifié entre-temps par olga (version 1" in page
        assert "Salut &lt;b&gt;{{ venue_name }}&lt;/b&gt;" in page  # the newer text, escaped
        assert 'name="expected" value="1"' in page  # saving again goes on top of it
    async with client.get(f"{url}/history", params=GREETING) as response:
        page = await response.text()
        removed = r'<tr class="removed"><td class="number">1</td><td class="number"></td><td>.*Bonjour et bienvenue'
        assert re.search(removed, page)  # line 1 of the default text, gone
        assert re.search(r'<tr class="added">.*</span>Salut &lt;b&gt;\{\{ venue_name }}&lt;/b&gt;</td>', page)
    [saved] = await web_admin.editor.overrides.history(Document(Scope("quick"), template_document("greeting", "fr")))
    paris = dt.datetime.fromtimestamp(saved.at, ZoneInfo("Europe/Paris")).strftime("%d/%m/%Y %H:%M")
    assert paris in page and "UTC" not in page  # the time in France, as the French write it
    document = Document(Scope("quick"), template_document("greeting", "fr"))
    # The history's button asks first: the page shows what would change, and nothing changes until confirmed.
    back = {**GREETING, "to": "0", "expected": "1"}
    async with client.get(f"{url}/rollback", params=back) as asked:
        page = await asked.text()
        assert asked.status == 200 and "Revenir au texte par défaut de greeting · fr ?" in page
        assert re.search(r'<tr class="removed">.*Salut &lt;b&gt;', page) and 'name="confirmed" value="yes"' in page
    async with client.post(f"{url}/rollback", data={**back, "csrf": csrf}) as unconfirmed:
        assert unconfirmed.status == 200 and 'id="confirm"' in await unconfirmed.text()
    assert len(await web_admin.editor.overrides.history(document)) == 1
    async with client.post(f"{url}/rollback", data={**back, "csrf": csrf, "confirmed": "yes"}) as done:
        assert done.status == 200 and "texte par défaut" in await done.text()
    assert [v.content for v in await web_admin.editor.overrides.history(document)] == [
        "Salut <b>{{ venue_name }}</b>\n",
        None,
    ]
    for bad in ({"to": "x", "expected": "2"}, {"to": "9", "expected": "2"}, {"to": "1", "expected": "0"}):
        for confirmed in ("yes", ""):
            data = {**GREETING, "csrf": csrf, "confirmed": confirmed, **bad}
            async with client.post(f"{url}/rollback", data=data) as response:
                assert response.status in (403, 409) or (bad["to"] == "1" and not confirmed), (bad, confirmed)
    async with client.get(f"{url}/rollback", params={**GREETING, "to": "9", "expected": "2"}) as response:
        assert response.status == 403 and "les versions vont de 0 à 2" in await response.text()
    async with client.get(f"{url}/history", params={**GREETING, "to": "7"}) as response:
        assert response.status == 403 and "les versions vont de 0 à 2" in await response.text()
    assert len(await web_admin.editor.overrides.history(document)) == 2


async def test_preview_answers_the_message_and_its_buttons_or_the_reason(
    web_admin: WebAdmin, client: aiohttp.ClientSession
) -> None:
    csrf = await login(client, web_admin)
    data = {"scope": "quick", "doc": "template:ask_rating:en", "csrf": csrf, "text": "Your <i>rating</i>?"}
    async with client.post(f"{web_admin.url}/preview", data=data) as response:
        result = await response.json()
    assert result == {
        "ok": True,
        "html": "Your <i>rating</i>?",
        "buttons": [["⭐", "⭐⭐", "⭐⭐⭐", "⭐⭐⭐⭐", "⭐⭐⭐⭐⭐"]],
    }
    async with client.post(f"{web_admin.url}/preview", data={**data, "text": "{{ cycler.__init__ }}"}) as response:
        result = await response.json()
    assert result["ok"] is False and "« cycler », que le catalogue ne déclare pas" in result["problem"]
    for bad in ({"doc": "template:nothing:fr"}, {"doc": "bogus"}, {"doc": "template:greeting:xx"}, {"scope": "Bad!"}):
        async with client.post(f"{web_admin.url}/preview", data={**data, **bad}) as response:
            assert response.status == 403, bad
    assert await web_admin.editor.overrides.revision() == 0


# --- the dashboard ------------------------------------------------------------------------------------


async def stats_json(redis_url: str, *args: str) -> dict[str, Any]:
    """The last line (the one asked for: a venue, or the brand's total) of `parole stats --json`, run as a
    real process."""
    done = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "stats", "--json", *args,
        env={**os.environ, "PAROLE_REDIS_URL": redis_url}, stdout=PIPE, stderr=PIPE,
    )  # fmt: skip
    out, err = await done.communicate()
    assert done.returncode == 0, err.decode()
    row: dict[str, Any] = json.loads(out.decode().splitlines()[-1])
    return row


def figures_of(page: str) -> dict[str, Any]:
    """The figures of a dashboard page, read from its HTML as `stats --json` names them."""
    figures: dict[str, Any] = {
        name: float(value) if value else None
        for name, value in re.findall(r'data-figure="(\w+)" data-value="([^"]*)"', page)
    }
    ratings = svg_of(page, "ratings")
    figures["distribution"] = {str(len(stars)): int(n) for stars, n in re.findall(r"<title>(★+): (\d+) \(", ratings)}
    figures["kinds"] = {k: int(n) for k, n in re.findall(r'<tr data-kind="(\w+)"><td>\w+</td><td>(\d+)</td>', page)}
    by_channel = re.findall(r'<tr data-channel="(\w+)"><td>[^<]+</td><td>(\d+)</td>', page)
    figures["channels"] = {c: int(n) for c, n in by_channel}
    for table in ("staff_thanked", "products_criticised", "top_aspects", "top_entities"):
        body = page.split(f'<table id="{table}">', 1)[1].split("</table>", 1)[0]
        figures[table] = [
            {"text": html.unescape(t), "count": int(n)}
            for t, n in re.findall(r'<tr data-text="([^"]+)"><td>[^<]+</td><td>(\d+)</td>', body)
        ]
    figures["weekly"] = [
        (w, int(n)) for w, n in re.findall(r"<title>(\d\d-\d\d): (\d+)</title>", svg_of(page, "trend"))
    ]
    return figures


def svg_of(page: str, chart_id: str) -> str:
    start = page.index(f'id="{chart_id}">')
    return page[start : page.index("</svg>", start)]


def expected_of(row: dict[str, Any]) -> dict[str, Any]:
    """The same figures from a line of `stats --json`."""
    numbers = ("feedbacks", "average_rating", "response_rate", "median_first_response_seconds", "unanswered", "tickets")
    expected: dict[str, Any] = {name: float(row[name]) if row[name] is not None else None for name in numbers}
    expected["weekly"] = [(w["week"][5:], w["feedbacks"]) for w in row["weekly"]]
    tops = ("distribution", "channels", "kinds", "staff_thanked", "products_criticised", "top_aspects", "top_entities")
    return {**expected, **{name: row[name] for name in tops}}


async def test_the_dashboard_shows_the_figures_of_stats_json(
    web_admin: WebAdmin, seeded: list[str], redis_url: str, client: aiohttp.ClientSession
) -> None:
    await login(client, web_admin, "quick")
    for query, args in [
        ({}, ("--brand", "quick")),
        (
            {"since": "2026-09-14", "until": "2026-09-21"},
            ("--brand", "quick", "--since", "2026-09-14", "--until", "2026-09-21"),
        ),
        (
            {"venue": seeded[1], "since": "2026-09-10"},
            ("--brand", "quick", "--venue", seeded[1], "--since", "2026-09-10"),
        ),
    ]:
        async with client.get(f"{web_admin.url}/dashboard", params=query) as response:
            assert response.status == 200, query
            page = await response.text()
        row = await stats_json(redis_url, *args)
        assert row["feedbacks"] > 0 and row["answered"] > 0 and row["staff_thanked"], args  # figures worth comparing
        assert figures_of(page) == expected_of(row), query
        # French numbers (Babel): a decimal comma, a no-break space before "%".
        average, rate = f"{row['average_rating']:.2f}", f"{row['response_rate'] * 100:.1f}"
        assert f"{average.replace('.', ',')} ★" in page and f"{rate.replace('.', ',')}\u00a0%" in page
        shown = re.findall(r">([^<]*)<", page.split('id="figures"', 1)[1].split("</dl>", 1)[0])
        assert not any(re.search(r"\d\.\d", text) for text in shown), shown
        references = (("complaint", "8"), ("critique", "36"), ("suggestion", "12"), ("praise", "44"))
        for kind, percent in references:
            reference = f"{percent}\u00a0%"
            assert re.search(rf'<tr data-kind="{kind}">.*?<td>{reference}</td></tr>', page), kind
    whole = figures_of(page)
    assert sum(whole["distribution"].values()) == whole["feedbacks"] == sum(whole["channels"].values())
    assert list(whole["channels"]) == ["telegram", "whatsapp", "web", "kiosk"] and all(whole["channels"].values())
    assert "<td>Borne sur place</td>" in page and "<caption>Retours par canal</caption>" in page
    # Words, not codes: the kinds and aspects by the staff card's words, the brand by its name.
    visible = " ".join(re.findall(r">([^<]*)<", page))
    for code in ("praise", "complaint", "welcome_staff", "waiting_time", "opening_hours"):
        assert not re.search(rf"\b{code}\b", visible), code
    assert "<td>Félicitations</td>" in page and "<td>Réclamation</td>" in page
    assert re.search(r'<tr data-text="\w+"><td>(accueil|attente|prix|propreté|qualité des produits)</td>', page)
    assert "<h1>Tableau de bord de Quick" in page and "<title>Félicitations:" in svg_of(page, "kinds")


async def test_the_dashboard_refuses_bad_choices_with_a_clear_message(
    web_admin: WebAdmin, client: aiohttp.ClientSession
) -> None:
    await login(client, web_admin, "quick")
    for query, status, message in [
        ({"brand": "sncf"}, 403, "olga ne peut voir que la marque « quick », pas « sncf »"),
        ({"brand": "nope"}, 403, "ne peut voir que la marque"),
        ({"venue": "nowhere"}, 404, "le lieu « quick/nowhere » n&#39;existe pas"),
        ({"since": "yesterday"}, 400, "« depuis le » « yesterday » n&#39;est pas une date : écrivez AAAA-MM-JJ"),
        ({"until": "2026-13-01"}, 400, "« jusqu&#39;au » « 2026-13-01 » n&#39;est pas une date"),
        ({"since": "2026-09-14", "until": "2026-09-01"}, 400, "« jusqu&#39;au » doit venir après « depuis le »"),
        ({"since": "0001-01-01", "until": "9999-12-31"}, 400, "« depuis le » « 0001-01-01 » est hors limites"),
        ({"until": "9999-12-31"}, 400, "une date entre le 01/01/2000 et le 01/01/2100"),
        ({"since": "0001-01-01T00:00:00+01:00"}, 400, "est hors limites"),
        ({"since": "2000-01-01", "until": "2100-01-01"}, 400, "dure au plus 10 ans : choisissez-en une plus courte"),
    ]:
        async with client.get(f"{web_admin.url}/dashboard", params=query) as response:
            page = await response.text()
            assert response.status == status and message in page, (query, page)
            assert 'id="figures"' not in page and 'action="/dashboard"' in page  # the form, to choose again
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as operator:
        await login(operator, web_admin, None)
        async with operator.get(f"{web_admin.url}/dashboard", params={"brand": "nope"}) as response:
            assert response.status == 404 and "la marque « nope » n&#39;existe pas" in await response.text()
        async with operator.get(f"{web_admin.url}/dashboard", params={"brand": "sncf"}) as response:
            page = await response.text()
            assert response.status == 200 and 'data-figure="feedbacks" data-value="0"' in page
    async with aiohttp.ClientSession() as stranger, stranger.get(f"{web_admin.url}/dashboard") as response:
        assert response.status == 401


async def test_a_preview_the_browser_cancels_logs_no_error(
    web_admin: WebAdmin, client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    csrf = await login(client, web_admin)
    cookie = "; ".join(f"{c.key}={c.value}" for c in client.cookie_jar)
    encoded = "&".join(f"{k}={v}" for k, v in {**GREETING, "csrf": csrf}.items()) + "&text=" + "Bonjour%20" * 50
    host, port = web_admin.url.removeprefix("http://").split(":")
    for sent in (encoded[: len(encoded) // 2], encoded):  # cut while the form is read, then before the answer
        _reader, writer = await asyncio.open_connection(host, int(port))
        head = (
            f"POST /preview HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(encoded)}\r\n\r\n"
        )
        writer.write(head.encode() + sent.encode())
        await writer.drain()
        writer.transport.abort()
        await asyncio.sleep(0.3)
    # The page still works, and nothing was logged as an error.
    async with client.post(f"{web_admin.url}/preview", data={**GREETING, "csrf": csrf, "text": "Bonjour"}) as answer:
        assert answer.status == 200 and (await answer.json())["ok"] is True
    errors = [record for record in caplog.records if record.levelname in ("ERROR", "CRITICAL")]
    assert errors == [], [record.getMessage() for record in errors]
