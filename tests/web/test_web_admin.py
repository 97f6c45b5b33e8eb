"""The web admin over HTTP: login links, the session cookie, CSRF, brand boundaries, saves and refusals."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.overrides import Document, Scope, template_document
from tests.web.conftest import WebAdmin

GREETING = {"scope": "quick", "doc": "template:greeting:fr"}


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def login(client: aiohttp.ClientSession, web_admin: WebAdmin, brand: str | None = "quick") -> str:
    """Log in with a one-time link (its page, then its button); the CSRF token of the first page."""
    link = await web_admin.login_link(brand)
    async with client.get(link) as page:
        assert page.status == 200 and f'action="{link.removeprefix(web_admin.url)}"' in await page.text()
    async with client.post(link) as response:
        assert response.status == 200 and str(response.url).endswith("/")
        return csrf_of(await response.text())


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def test_a_login_link_works_once_and_sets_a_safe_cookie(web_admin: WebAdmin) -> None:
    link = await web_admin.login_link("quick")
    async with aiohttp.ClientSession() as client:
        for _ in range(2):  # a GET (a link preview, a prefetch) does not use the link up
            async with client.get(link, allow_redirects=False) as page:
                assert page.status == 200 and "Set-Cookie" not in page.headers
        async with client.post(link, allow_redirects=False) as response:
            assert response.status == 303
            cookie = response.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
        for method in (client.get, client.post):
            async with method(link, allow_redirects=False) as again:
                assert again.status == 403 and "déjà utilisé" in await again.text()
    async with aiohttp.ClientSession() as stranger:
        async with stranger.get(f"{web_admin.url}/") as response:
            assert response.status == 401 and "/weblogin" in await response.text()
        for method in (stranger.get, stranger.post):
            async with method(f"{web_admin.url}/login/not-a-token") as response:
                assert response.status == 403


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
            assert response.status == 403 and "may edit only the brand &#39;quick&#39;" in await response.text(), path
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
        assert response.status == 422 and "Refusé (ligne 2) : syntax error" in page
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
        assert "-Bonjour et bienvenue" in page and "+Salut &lt;b&gt;{{ venue_name }}&lt;/b&gt;" in page
    async with client.post(f"{url}/rollback", data={**GREETING, "csrf": csrf, "to": "0", "expected": "1"}) as done:
        assert done.status == 200 and "texte par défaut" in await done.text()
    document = Document(Scope("quick"), template_document("greeting", "fr"))
    assert [v.content for v in await web_admin.editor.overrides.history(document)] == [
        "Salut <b>{{ venue_name }}</b>\n",
        None,
    ]
    for bad in ({"to": "x", "expected": "2"}, {"to": "9", "expected": "2"}, {"to": "1", "expected": "0"}):
        async with client.post(f"{url}/rollback", data={**GREETING, "csrf": csrf, **bad}) as response:
            assert response.status in (403, 409), bad
    async with client.get(f"{url}/history", params={**GREETING, "to": "7"}) as response:
        assert response.status == 403 and "versions go from 0 to 2" in await response.text()
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
    assert result["ok"] is False and "'cycler' that the catalog does not declare" in result["problem"]
    for bad in ({"doc": "template:nothing:fr"}, {"doc": "bogus"}, {"doc": "template:greeting:xx"}, {"scope": "Bad!"}):
        async with client.post(f"{web_admin.url}/preview", data={**data, **bad}) as response:
            assert response.status == 403, bad
    assert await web_admin.editor.overrides.revision() == 0
