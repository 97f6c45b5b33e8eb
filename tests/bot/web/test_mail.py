"""The web admin's e-mail page over HTTP: a brand's addresses listed, added (whole brand or some venues) and
removed through `parole mail`'s own store, who may do it, CSRF, refusals that say why in French and change
nothing, the same addresses seen from `parole mail`, and test e-mails through a real SMTP server (aiosmtpd),
one a minute per brand."""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import sys
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis

from bot.config import SmtpSettings
from bot.editing.logins import WebLogins
from bot.staff.mail import MAX_RECIPIENTS, Recipient, RecipientStore
from bot.storage import keys
from bot.storage.embedded import free_port
from bot.storage.store import redis_strings
from bot.web.admin import web_app
from tests.bot.staff.test_mail import Inbox, _body, smtp_server
from tests.bot.web.conftest import WebAdmin
from tests.bot.web.test_admin import client, login

__all__ = ["client", "smtp_server"]  # fixtures used here

MASSY = "quick-massy"


async def text_of(response: aiohttp.ClientResponse) -> str:
    """The page as a person reads it: entities (`&#39;`) in their characters."""
    return html.unescape(await response.text())


def problem_of(page: str) -> str:
    """The refusal the page shows, as a person reads it."""
    found = re.search(r'<p class="problem" id="problem">(.*?)</p>', page, re.S)
    assert found is not None, page
    return found.group(1)


def outcome_of(page: str) -> str:
    found = re.search(r'<p class="(?:notice|problem)" id="outcome">(.*?)</p>', page)
    assert found is not None, page
    return found.group(1)


async def stored(redis: Redis, brand: str = "quick") -> dict[str, str]:
    """The brand's addresses as Redis holds them."""
    return redis_strings(await redis.hgetall(keys.mail_recipients(brand)))


async def parole_mail(redis_url: str, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    """`parole mail …` run as a real process: its exit code, its JSON lines and its standard error."""
    env = {**os.environ, "PAROLE_REDIS_URL": redis_url}
    env.pop("PAROLE_SMTP_HOST", None)
    done = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "mail", *args, env=env, stdout=PIPE, stderr=PIPE
    )
    out, err = await done.communicate()
    return done.returncode or 0, [json.loads(line) for line in out.decode().splitlines()], err.decode()


async def test_a_brand_admin_lists_adds_and_removes_addresses(
    web_admin: WebAdmin, client: aiohttp.ClientSession, redis_client: Redis
) -> None:
    await web_admin.editor.store.add_venue("quick", "Quick Orly")
    csrf = await login(client, web_admin, "quick")
    url = web_admin.url
    async with client.get(f"{url}/") as response:
        assert 'href="/mail" id="nav-mail">E-mails</a>' in await text_of(response)  # in the header's navigation
    async with client.get(f"{url}/mail") as response:
        page = await text_of(response)
    assert response.status == 200 and "<h1>E-mails de Quick</h1>" in page
    assert 'data-smtp="off"' in page and "aucun e-mail ne partira tant qu'il ne l'est pas" in page
    assert 'id="none"' in page and 'value="quick-orly"' in page and 'name="brand" value="quick"' in page
    form = {"csrf": csrf, "brand": "quick", "email": " Olga@Quick.fr ", "name": "Olga  Lefèvre", "alerts": "yes"}
    async with client.post(f"{url}/mail/add", data={**form, "venue": MASSY}, allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"] == "/mail?brand=quick&done=added&address=Olga@Quick.fr"
    data = {"csrf": csrf, "brand": "quick", "email": "paul@quick.fr", "alerts": "yes", "digest": "yes"}
    async with client.post(f"{url}/mail/add", data=data) as response:
        page = await text_of(response)
    assert response.status == 200 and outcome_of(page) == "Adresse paul@quick.fr ajoutée."
    assert await RecipientStore(redis_client).list("quick") == [
        Recipient("olga@quick.fr", "Olga Lefèvre", alerts=True, digest=False, venues=(MASSY,)),
        Recipient("paul@quick.fr", "", alerts=True, digest=True),
    ]
    rows = re.findall(r'<tr data-address="([^"]+)"><td>.*?</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>', page, re.S)
    assert rows == [("olga@quick.fr", "alertes", "Quick Massy"), ("paul@quick.fr", "alertes, résumé du jour", "tous")]
    assert "Adresses qui reçoivent les e-mails (2 sur 200 au plus)" in page
    assert "Essai" not in page  # no SMTP server: no test e-mail
    removal = {"csrf": csrf, "brand": "quick", "email": "OLGA@quick.fr"}
    async with client.post(f"{url}/mail/remove", data=removal) as response:
        page = await text_of(response)
    assert outcome_of(page) == "Adresse OLGA@quick.fr retirée : elle ne reçoit plus rien."
    assert [r.address for r in await RecipientStore(redis_client).list("quick")] == ["paul@quick.fr"]
    async with client.post(f"{url}/mail/remove", data=removal) as response:  # twice: nothing there any more
        assert response.status == 404
        assert problem_of(await text_of(response)) == (
            "Refusé : l'adresse e-mail « OLGA@quick.fr » n'est pas enregistrée. Rien n'a changé."
        )


async def test_who_may_manage_which_brand(
    web_admin: WebAdmin, client: aiohttp.ClientSession, redis_client: Redis
) -> None:
    await RecipientStore(redis_client).add("sncf", Recipient("chef@sncf.fr"))
    before = await stored(redis_client, "sncf")
    async with aiohttp.ClientSession() as stranger:  # not logged in: the page that says how to log in
        async with stranger.get(f"{web_admin.url}/mail?brand=sncf") as response:
            page = await text_of(response)
            assert response.status == 401 and "/weblogin" in page and "chef@sncf.fr" not in page
        data = {"brand": "sncf", "email": "chef@sncf.fr", "csrf": "x"}
        async with stranger.post(f"{web_admin.url}/mail/remove", data=data) as response:
            assert response.status == 401
    csrf = await login(client, web_admin, "quick")
    async with client.get(f"{web_admin.url}/mail?brand=sncf") as response:
        page = await text_of(response)
        assert response.status == 403 and "chef@sncf.fr" not in page
        assert "olga ne peut modifier que la marque « quick », pas « sncf »" in page
    for action, data in (("add", {"email": "evil@example.fr", "alerts": "yes"}), ("remove", {"email": "chef@sncf.fr"}),
                         ("test", {"email": "chef@sncf.fr"})):  # fmt: skip
        async with client.post(
            f"{web_admin.url}/mail/{action}", data={**data, "brand": "sncf", "csrf": csrf}
        ) as response:
            assert response.status == 403 and "ne peut modifier que la marque « quick »" in await text_of(response)
    assert await stored(redis_client, "sncf") == before and await stored(redis_client) == {}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as operator:
        csrf = await login(operator, web_admin, None)  # an operator manages every brand
        async with operator.get(f"{web_admin.url}/mail?brand=sncf") as response:
            page = await text_of(response)
            assert response.status == 200 and "<h1>E-mails de SNCF</h1>" in page and "chef@sncf.fr" in page
            assert re.findall(r'<option value="(\w+)"', page) == ["quick", "sncf"]
        data = {"brand": "sncf", "email": "chef@sncf.fr", "csrf": csrf}
        async with operator.post(f"{web_admin.url}/mail/remove", data=data) as response:
            assert response.status == 200
        async with operator.get(f"{web_admin.url}/mail?brand=nowhere") as response:
            assert response.status == 404 and "la marque « nowhere » n'existe pas" in await text_of(response)
    assert await stored(redis_client, "sncf") == {}


async def test_forms_without_the_csrf_token_change_nothing(
    web_admin: WebAdmin, client: aiohttp.ClientSession, redis_client: Redis
) -> None:
    await RecipientStore(redis_client).add("quick", Recipient("olga@quick.fr"))
    before = await stored(redis_client)
    await login(client, web_admin, "quick")
    forms = {"add": {"email": "paul@quick.fr", "alerts": "yes"}, "remove": {"email": "olga@quick.fr"}}
    for action, data in forms.items():
        for csrf in (None, "forged"):
            sent = {**data, "brand": "quick"} | ({} if csrf is None else {"csrf": csrf})
            async with client.post(f"{web_admin.url}/mail/{action}", data=sent) as response:
                assert response.status == 403 and "jeton CSRF absent ou faux" in await text_of(response)
    assert await stored(redis_client) == before


@pytest.mark.parametrize(
    ("change", "status", "said"),
    [
        ({"email": "olga@"}, 400, "« olga@ » n'est pas une adresse e-mail (écrivez par exemple prenom@exemple.fr)"),
        ({"email": ""}, 400, "n'est pas une adresse e-mail"),
        ({"email": "a@b.fr\r\nBcc: x@evil.fr"}, 400, "n'est pas une adresse e-mail"),
        ({"email": "x" * 250 + "@b.fr"}, 400, "n'est pas une adresse e-mail"),
        ({"name": "N" * 81}, 400, "un nom compte au plus 80 caractères"),
        ({"name": "Olga\x07"}, 400, "un nom ne peut pas contenir de caractères de contrôle"),
        ({"alerts": None, "digest": None}, 400, "choisissez au moins les alertes ou le résumé du jour"),
        ({"venue": "nowhere"}, 404, "le lieu « quick/nowhere » n'existe pas"),
        ({"email": "OLGA@quick.fr"}, 400, "l'adresse OLGA@quick.fr est déjà dans la liste : retirez-la d'abord"),
        ({"brand": None}, 403, "il manque brand au formulaire"),
    ],
)
async def test_a_bad_address_is_refused_in_french_and_changes_nothing(
    web_admin: WebAdmin,
    client: aiohttp.ClientSession,
    redis_client: Redis,
    change: dict[str, str | None],
    status: int,
    said: str,
) -> None:
    await RecipientStore(redis_client).add("quick", Recipient("olga@quick.fr", "Olga", digest=False))
    before = await stored(redis_client)
    csrf = await login(client, web_admin, "quick")
    form = {"csrf": csrf, "brand": "quick", "email": "paul@quick.fr", "name": "Paul", "alerts": "yes", "digest": "yes"}
    sent = {k: v for k, v in {**form, **change}.items() if v is not None}
    async with client.post(f"{web_admin.url}/mail/add", data=sent) as response:
        page = await text_of(response)
    assert response.status == status and said in page, page
    assert await stored(redis_client) == before  # nothing changed: Olga kept as she was, nobody added
    if status != 403:
        assert problem_of(page).startswith("Refusé : ") and problem_of(page).endswith(". Rien n'a changé.")
        name = sent.get("name", "")
        assert f'id="name" value="{name}"' in page or "\x07" in name  # the form as sent, to fix
        assert ('name="digest" value="yes" checked' in page) is ("digest" in sent)


async def test_a_brand_has_at_most_so_many_addresses(
    web_admin: WebAdmin, client: aiohttp.ClientSession, redis_client: Redis, redis_url: str
) -> None:
    kept = json.dumps({"name": "", "alerts": True, "digest": True})
    filler = {f"admin{n:03}@quick.fr": kept for n in range(200)}
    async with redis_client.pipeline(transaction=False) as pipe:
        for address, record in filler.items():
            pipe.hset(keys.mail_recipients("quick"), address, record)
        await pipe.execute()
    assert len(filler) == MAX_RECIPIENTS
    csrf = await login(client, web_admin, "quick")
    data = {"csrf": csrf, "brand": "quick", "email": "one-more@quick.fr", "alerts": "yes"}
    async with client.post(f"{web_admin.url}/mail/add", data=data) as response:
        page = await text_of(response)
    assert response.status == 400
    assert problem_of(page) == (
        "Refusé : une marque a au plus 200 adresses e-mail : retirez-en une d'abord. Rien n'a changé."
    )
    assert await stored(redis_client) == filler
    # The terminal may still change what a listed address gets (add again), not add a 201st.
    code, [changed], _ = await parole_mail(
        redis_url, "add", "--brand", "quick", "--email", "admin000@quick.fr", "--no-digest"
    )
    assert code == 0 and changed["digest"] is False
    code, _, err = await parole_mail(redis_url, "add", "--brand", "quick", "--email", "x@quick.fr")
    assert code == 1 and "une marque a au plus 200 adresses e-mail" in err
    assert len(await stored(redis_client)) == MAX_RECIPIENTS


async def test_the_terminal_and_the_page_share_the_addresses(
    web_admin: WebAdmin, client: aiohttp.ClientSession, redis_url: str
) -> None:
    code, [added], warning = await parole_mail(
        redis_url, "add", "--brand", "quick", "--email", "paul@quick.fr", "--name", "Paul", "--no-alerts",
        "--venue", MASSY,
    )  # fmt: skip
    assert code == 0 and added["venues"] == [MASSY] and "aucun e-mail ne part" in warning
    csrf = await login(client, web_admin, "quick")
    async with client.get(f"{web_admin.url}/mail") as response:
        page = await text_of(response)
    assert '<tr data-address="paul@quick.fr"><td>paul@quick.fr<br><span class="muted">Paul</span>' in page
    assert "<td>résumé du jour</td>\n    <td>Quick Massy</td>" in page
    data = {"csrf": csrf, "brand": "quick", "email": "olga@quick.fr", "name": "Olga", "alerts": "yes"}
    async with client.post(f"{web_admin.url}/mail/add", data=data) as response:
        assert response.status == 200
    code, listed, _ = await parole_mail(redis_url, "list", "--brand", "quick")
    assert listed == [
        {"brand": "quick", "address": "olga@quick.fr", "name": "Olga", "alerts": True, "digest": False, "venues": []},
        {"brand": "quick", "address": "paul@quick.fr", "name": "Paul", "alerts": False, "digest": True,
         "venues": [MASSY]},
    ]  # fmt: skip
    code, _, _ = await parole_mail(redis_url, "remove", "--brand", "quick", "--email", "olga@quick.fr")
    async with client.get(f"{web_admin.url}/mail") as response:
        page = await text_of(response)
    assert code == 0 and "olga@quick.fr" not in page and "paul@quick.fr" in page
    code, _, err = await parole_mail(redis_url, "add", "--brand", "quick", "--email", "a@quick.fr", "--venue", "nope")
    assert code == 1 and "le lieu « quick/nope » n'existe pas" in err


# --- test e-mails --------------------------------------------------------------------------------------


@pytest.fixture
async def smtp_admin(web_admin: WebAdmin, redis_client: Redis, smtp_server: tuple[Inbox, int]) -> AsyncIterator[str]:
    """The web admin with `PAROLE_SMTP_*` set to the test's SMTP server; its URL."""
    settings = SmtpSettings(host="127.0.0.1", port=smtp_server[1], sender="alertes@parole.example", security="none")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    runner = web.AppRunner(web_app(web_admin.editor, WebLogins(redis_client, url), smtp=settings))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield url
    finally:
        await runner.cleanup()


async def test_a_test_email_goes_through_smtp_once_a_minute(
    web_admin: WebAdmin, smtp_admin: str, smtp_server: tuple[Inbox, int], redis_client: Redis
) -> None:
    inbox, _ = smtp_server
    await RecipientStore(redis_client).add("quick", Recipient("olga@quick.fr", "Olga", digest=False, venues=(MASSY,)))
    await RecipientStore(redis_client).add("sncf", Recipient("chef@sncf.fr"))
    on_smtp = WebAdmin(smtp_admin, web_admin.editor, WebLogins(redis_client, smtp_admin))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        csrf = await login(client, on_smtp, "quick")
        async with client.get(f"{smtp_admin}/mail") as response:
            page = await text_of(response)
        assert 'data-smtp="on"' in page and "de l'adresse alertes@parole.example" in page
        assert """aria-label="Envoyer un e-mail d'essai à olga@quick.fr">Essai</button>""" in page
        trial = {"csrf": csrf, "brand": "quick", "email": "olga@quick.fr"}
        async with client.post(f"{smtp_admin}/mail/test", data={**trial, "email": "nobody@quick.fr"}) as response:
            assert response.status == 404 and "« nobody@quick.fr » n'est pas enregistrée" in await text_of(response)
        async with client.post(f"{smtp_admin}/mail/test", data={**trial, "brand": "sncf"}) as response:
            assert response.status == 403  # another brand's address
        async with client.post(f"{smtp_admin}/mail/test", data=trial) as response:
            page = await text_of(response)
        assert outcome_of(page).startswith("E-mail d'essai envoyé à olga@quick.fr : le serveur SMTP l'a accepté.")
        [(to, message)] = inbox.messages
        assert to == ["olga@quick.fr"] and message["To"] == "Olga <olga@quick.fr>"
        assert message["Subject"] == "E-mail d'essai pour Quick (parole)"
        assert _body(message) == (
            "Bonjour Olga,\n\nCet e-mail d'essai vient de l'administration web de parole, à la demande de olga. "
            "Il est bien arrivé : les e-mails de Quick arriveront aussi.\n\nCette adresse reçoit les alertes "
            "(avis de 1 ou 2 étoiles, réclamations) du lieu Quick Massy.\n\n— parole\n"
        )
        async with client.post(f"{smtp_admin}/mail/test", data=trial) as response:  # again within the minute
            page = await text_of(response)
            assert response.status == 429 and 0 < int(response.headers["Retry-After"]) <= 60
        assert re.search(r"Refusé : un e-mail d'essai de cette marque est parti il y a moins d'une minute : "
                         r"réessayez dans \d+ secondes?\. Rien n'a changé\.", problem_of(page))  # fmt: skip
        assert len(inbox.messages) == 1
        # The SMTP server refuses, or is gone: the page says so plainly.
        inbox.refuse = True
        await redis_client.delete(keys.mail_test("quick"))
        async with client.post(f"{smtp_admin}/mail/test", data=trial) as response:
            assert outcome_of(await text_of(response)) == (
                "E-mail d'essai non envoyé : le serveur SMTP a refusé l'e-mail ou l'adresse olga@quick.fr."
            )
    assert len(inbox.messages) == 1 and await redis_client.get(keys.MAIL_FAILED) == "1"


async def test_a_test_email_says_when_the_smtp_server_is_gone_or_not_set(
    web_admin: WebAdmin, client: aiohttp.ClientSession, redis_client: Redis
) -> None:
    await RecipientStore(redis_client).add("quick", Recipient("olga@quick.fr"))
    gone = SmtpSettings(host="127.0.0.1", port=free_port(), sender="alertes@parole.example", security="none")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    logins = WebLogins(redis_client, url)
    runner = web.AppRunner(web_app(web_admin.editor, logins, smtp=gone))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            csrf = await login(session, WebAdmin(url, web_admin.editor, logins), "quick")
            data = {"csrf": csrf, "brand": "quick", "email": "olga@quick.fr"}
            async with session.post(f"{url}/mail/test", data=data) as response:
                assert outcome_of(await text_of(response)) == (
                    "E-mail d'essai non envoyé : le serveur SMTP ne répond pas (PAROLE_SMTP_HOST, PAROLE_SMTP_PORT)."
                )
    finally:
        await runner.cleanup()
    await redis_client.delete(keys.mail_test("quick"))
    csrf = await login(client, web_admin, "quick")  # no PAROLE_SMTP_HOST at all
    async with client.post(
        f"{web_admin.url}/mail/test", data={"csrf": csrf, "brand": "quick", "email": "olga@quick.fr"}
    ) as response:
        page = await text_of(response)
    assert response.status == 503
    assert "PAROLE_SMTP_HOST n'est pas défini : aucun e-mail ne part tant qu'il ne l'est pas" in problem_of(page)
    assert await redis_client.get(keys.mail_test("quick")) is None
