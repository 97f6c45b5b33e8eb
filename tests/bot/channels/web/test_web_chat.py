"""The web chat through the real `parole serve` (webhook mode, its pages on the same port), real Redis, and
the Telegram staff room on the emulator: the journey with JavaScript off (a form post a turn), staff
replies and answers back, the kiosk, and bad input on every endpoint."""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
from collections.abc import Callable

import aiohttp
import pytest

from bot.cli.serve import Listen, running_bot
from bot.config import Settings
from bot.storage import keys
from bot.storage.embedded import free_port
from bot.storage.identity import CustomerId
from tests.bot.channels.web.visitor import Visitor
from tests.bot.staff_scene import Scene
from tests.conftest import with_settings
from tests.support import Clock


async def journey(visitor: Visitor, scene: Scene, *, rating: str = "⭐⭐") -> None:
    page = await visitor.get(f"/c/{scene.massy.token}")
    assert page.status == 200
    assert "Bonjour et bienvenue chez Quick Massy" in page.bot_texts[0]
    assert [label for label, _ in page.last.buttons] == ["⭐", "⭐⭐", "⭐⭐⭐", "⭐⭐⭐⭐", "⭐⭐⭐⭐⭐"]
    page = await visitor.tap(rating)
    assert page.status == 200 and "Votre note : ⭐⭐" in page.bot_texts[0]  # the question replaced in place
    page = await visitor.say("Le <b>serveur</b> a été lent & froid <script>alert(1)</script>")
    assert page.messages[-2].author == "customer"
    assert page.messages[-2].text == "Le <b>serveur</b> a été lent & froid <script>alert(1)</script>"
    assert "<script>alert(1)</script>" not in page.html  # shown as text, never run
    assert "Passer" in [label for label, _ in page.last.buttons]
    page = await visitor.tap("Passer")
    assert "Merci pour votre avis" in page.bot_texts[-1]


async def test_landing_page_offers_every_channel_in_the_browsers_language(
    scene: Scene, visitors: Callable[..., Visitor]
) -> None:
    page = await visitors().get(f"/v/{scene.massy.token}")
    assert page.status == 200 and "Quick Massy" in page.html and "Donner mon avis ici" in page.html
    assert f'href="/c/{scene.massy.token}"' in page.html
    assert f"https://t.me/{scene.emulator.bot_username}?start={scene.massy.token}" in page.html
    english = await visitors("en-GB,en;q=0.8").get(f"/v/{scene.massy.short_code}")  # the short, typeable link
    assert english.status == 200 and "Give my feedback here" in english.html and 'lang="en"' in english.html
    german = await visitors("de-DE,de;q=0.9").get(f"/v/{scene.massy.short_code.lower()}")
    assert 'lang="fr"' in german.html
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]


async def test_an_unknown_or_forged_venue_gets_a_clear_page(scene: Scene, visitors: Callable[..., Visitor]) -> None:
    visitor = visitors()
    for path in ("/v/AAAAAAAAAAAAAAAAAAAAAA", "/v/ZZZZ99", "/c/forged-token", "/k/forged", "/v/%3Cscript%3E"):
        page = await visitor.get(path)
        assert page.status == 404, path
        assert "Ce lien ne correspond à aucun établissement" in page.html, path
    assert await scene.bot.store.redis.keys("parole:chat:web:*") == []


async def test_the_whole_journey_without_javascript_stores_a_web_feedback(
    scene: Scene, visitors: Callable[..., Visitor]
) -> None:
    await journey(visitors(), scene)
    [feedback] = [f async for f in scene.bot.store.iter_feedback()]
    assert feedback["channel"] == "web" and feedback["rating"] == 2 and feedback["status"] == "complete"
    assert feedback["reason"] == "Le <b>serveur</b> a été lent & froid <script>alert(1)</script>"
    card = (await scene.notify()).text(scene.room.id)
    assert "via le web" in card and "Ticket n° 1001" in card


async def test_a_reload_shows_the_same_conversation_and_a_typed_rating_works(
    scene: Scene, visitors: Callable[..., Visitor]
) -> None:
    visitor = visitors()
    await visitor.get(f"/c/{scene.massy.token}")
    page = await visitor.say("4/5")
    assert "Qu'avez-vous le plus apprécié ?" in page.bot_texts[-1]  # typed as on Telegram: the next question
    again = await visitor.get(f"/c/{scene.massy.token}")
    assert [m.text for m in again.messages] == [m.text for m in page.messages]  # not greeted twice


async def test_cancel_after_a_rating_deletes_it_on_the_web(scene: Scene, visitors: Callable[..., Visitor]) -> None:
    """The conversation is the channels' one: /cancel on the page offers the same choice, and the deleted rating
    leaves no feedback and no wait before a new one."""
    visitor = visitors()
    await visitor.get(f"/c/{scene.massy.token}")
    await visitor.say("2")
    page = await visitor.say("/cancel")
    assert "Que faire de votre note (2/5) ?" in page.bot_texts[-1]
    assert [label for label, _ in page.last.buttons] == ["Supprimer ma note", "Garder"]
    page = await visitor.tap("Supprimer ma note")
    assert "Votre note est supprimée" in page.bot_texts[-1]
    assert [f async for f in scene.bot.store.iter_feedback()] == []
    page = await visitor.say("/start")
    assert "Quelle note" in page.bot_texts[-1]  # no "already rated": the rating was never given
    page = await visitor.say("5")
    assert "Qu'avez-vous le plus apprécié ?" in page.bot_texts[-1]


async def test_a_staff_reply_reaches_the_web_customer_who_answers_back(
    scene: Scene, visitors: Callable[..., Visitor]
) -> None:
    visitor = visitors()
    await journey(visitor, scene)
    await scene.notify()
    said = await scene.staff_says(scene.julien, "/reply 1001 Désolés, nous avons renforcé l'équipe.")
    assert "Envoyé au client (ticket n° 1001)" in said.text(scene.room.id)
    page = await visitor.get(f"/c/{scene.massy.token}")
    assert "Désolés, nous avons renforcé l'équipe." in page.bot_texts[-1]
    page = await visitor.say("Merci, je reviendrai !")
    assert "Merci, je reviendrai !" in scene.last_in_room().text  # under the card, in the staff room
    [feedback] = [f async for f in scene.bot.store.iter_feedback()]
    assert [(r["author"], r["text"]) for r in feedback["replies"]] == [
        ("staff", "Désolés, nous avons renforcé l'équipe."), ("customer", "Merci, je reviendrai !"),
    ]  # fmt: skip


async def test_the_live_connection_gets_the_staff_reply(
    scene: Scene, visitors: Callable[..., Visitor], web_url: str
) -> None:
    visitor = visitors()
    await journey(visitor, scene)
    await scene.notify()
    before = await visitor.get(f"/c/{scene.massy.token}")
    last = int(before.html.split('data-last="', 1)[1].split('"', 1)[0])
    async with visitor.session.get(f"{web_url}/live?after={last}", timeout=aiohttp.ClientTimeout(total=10)) as live:
        assert live.headers["Content-Type"].startswith("text/event-stream")
        reply = asyncio.create_task(scene.staff_says(scene.julien, "/reply 1001 On s'en occupe."))
        event = None
        while event is None:
            line = (await live.content.readline()).decode()
            if line.startswith("data: "):
                event = json.loads(line[6:])
        await reply
    assert event["from"] == "bot" and "On s'en occupe." in html.unescape(event["html"])
    # A browser reconnecting by itself keeps the URL and says what it got last: only what follows comes.
    await scene.staff_says(scene.julien, "/reply 1001 C'est réglé.")
    timeout = aiohttp.ClientTimeout(total=10)
    headers = {"Last-Event-ID": str(event["n"])}
    async with visitor.session.get(f"{web_url}/live?after={last}", headers=headers, timeout=timeout) as again:
        line = ""
        while not line.startswith("data: "):
            line = (await again.content.readline()).decode()
    assert "C'est réglé." in html.unescape(json.loads(line[6:])["html"])
    bad = {"Last-Event-ID": "x"}
    async with visitor.session.get(f"{web_url}/live", headers=bad, timeout=timeout) as refused:
        assert refused.status == 400


async def test_mydata_and_forget_on_the_page(scene: Scene, visitors: Callable[..., Visitor], web_url: str) -> None:
    visitor = visitors()
    await journey(visitor, scene)
    page = await visitor.say("/mydata")
    assert "Ce que je garde à votre sujet" in page.bot_texts[-2]
    assert page.last.file is not None
    async with visitor.session.get(web_url + page.last.file) as response:
        data = json.loads(await response.text())
    assert data["customer"]["channel"] == "web" and data["feedbacks"][0]["rating"] == 2
    async with visitors().session.get(web_url + page.last.file) as stranger:  # someone else: not theirs
        assert stranger.status == 404
    page = await visitor.say("/forget")
    page = await visitor.tap("Oui, oubliez-moi")
    assert "plus rien ne relie vos avis à vous" in "\n".join(page.bot_texts)
    [feedback] = [f async for f in scene.bot.store.iter_feedback()]
    assert feedback["customer"] is None and feedback["channel"] == "web"


async def test_bad_forms_are_refused_and_change_nothing(scene: Scene, visitors: Callable[..., Visitor]) -> None:
    visitor = visitors()
    page = await visitor.get(f"/c/{scene.massy.token}")
    action, form = page.action, dict(page.fields)
    refused = {
        "no csrf": ({**form, "csrf": "", "text": "3"}, 403),
        "wrong csrf": ({**form, "csrf": "0" * 32, "text": "3"}, 403),
        "bad turn": ({**form, "turn": "not-a-number", "text": "3"}, 400),
        "empty": ({**form, "text": "   "}, 400),
    }
    for name, (data, status) in refused.items():
        answer = await visitor.post(action, data)
        assert answer.status == status, name
    stranger = visitors()  # no cookie at all
    assert (await stranger.post(action, {**form, "text": "3"})).status == 403
    async with visitor.session.post(visitor.base_url + action, data={**form, "text": "x" * 20_000}) as big:
        assert big.status == 413
    page = await visitor.get(f"/c/{scene.massy.token}")
    assert len(page.messages) == 1  # still only the greeting
    assert [f async for f in scene.bot.store.iter_feedback()] == []


async def test_a_form_posted_twice_counts_once(scene: Scene, visitors: Callable[..., Visitor]) -> None:
    visitor = visitors()
    page = await visitor.get(f"/c/{scene.massy.token}")
    form = {**page.fields, "text": "2"}
    await visitor.post(page.action, form)
    page = await visitor.post(page.action, form)  # the same form (same turn) again: a double click
    assert [m.text for m in page.messages if m.author == "customer"] == ["2"]
    assert sum("Que s'est-il passé ?" in t for t in page.bot_texts) == 1


async def test_one_flooding_customer_is_slowed_with_a_clear_message(
    scene: Scene, visitors: Callable[..., Visitor]
) -> None:
    visitor = visitors()
    page = await visitor.get(f"/c/{scene.massy.token}")
    statuses = []
    for n in range(30):
        answer = await visitor.post(page.action, {**page.fields, "turn": str(n + 1), "text": f"message {n}"})
        statuses.append(answer.status)
    assert statuses.count(429) >= 5 and "Trop de messages" in visitor.page.html  # type: ignore[union-attr]
    other = visitors()  # someone else is not slowed down
    assert (await other.get(f"/c/{scene.massy.token}")).status == 200
    assert (await other.say("5")).status == 200


async def test_the_kiosk_starts_again_for_the_next_person_and_keeps_its_gap(
    scene: Scene, visitors: Callable[..., Visitor]
) -> None:
    tablet = visitors()
    page = await tablet.get(f"/k/{scene.massy.token}")
    assert "Bonjour et bienvenue chez Quick Massy" in page.bot_texts[0]
    await tablet.tap("⭐⭐⭐⭐⭐")
    await tablet.say("Très bon accueil")
    page = await tablet.tap("Passer")
    assert "l'équipe ne peut pas vous répondre ici" in html.unescape(page.html) and 'data-next="/k/' in page.html
    wait = await tablet.get(f"/k/{scene.massy.token}?next=1")  # the next person, within the gap
    assert "La borne sera prête" in wait.html
    await asyncio.sleep(1.2)
    fresh = await tablet.get(f"/k/{scene.massy.token}?next=1")
    assert [m.author for m in fresh.messages] == ["bot"]  # a new conversation, nothing of the last person's
    feedbacks = [f async for f in scene.bot.store.iter_feedback()]
    assert [f["channel"] for f in feedbacks] == ["kiosk"]
    card = (await scene.notify()).text(scene.room.id)
    assert "via la borne" in card
    refused = await scene.staff_says(scene.julien, "/reply 1001 Merci beaucoup !")
    assert "vient d'une borne" in refused.text(scene.room.id)


@pytest.mark.parametrize(
    ("language", "skip", "thanks", "promise"),
    [
        ("fr-FR,fr;q=0.9", "Passer", "Merci pour votre avis ! L'équipe de Quick Massy va le lire.", "vous répondre"),
        ("en-GB,en;q=0.8", "Skip", "Thank you for your feedback! The team at Quick Massy will read it.", "answer you"),
    ],
)
async def test_the_kiosk_thanks_promise_no_answer_on_the_tablet(
    scene: Scene, visitors: Callable[..., Visitor], language: str, skip: str, thanks: str, promise: str
) -> None:
    tablet = visitors(language)
    await tablet.get(f"/k/{scene.massy.token}")
    await tablet.tap("⭐⭐⭐⭐⭐")
    await tablet.say("Très bon accueil")
    page = await tablet.tap(skip)
    said = html.unescape(page.bot_texts[-1])
    assert said.endswith(thanks) and promise not in said, said  # the next person at the tablet is someone else
    phone = visitors(language)  # on a phone the team may answer in the chat: the thanks says so
    await phone.get(f"/c/{scene.massy.token}")
    await phone.tap("⭐⭐⭐⭐⭐")
    await phone.say("Très bon accueil")
    page = await phone.tap(skip)
    assert promise in html.unescape(page.bot_texts[-1])


async def test_a_cancel_on_the_kiosk_promises_no_answer_on_the_tablet(
    scene: Scene, visitors: Callable[..., Visitor]
) -> None:
    tablet = visitors()
    await tablet.get(f"/k/{scene.massy.token}")
    await tablet.tap("⭐⭐")
    await tablet.say("/cancel")
    page = await tablet.tap("Garder")
    said = html.unescape(page.bot_texts[-1])
    assert said == (
        "C'est arrêté. Votre note (2/5) et ce que vous avez déjà écrit sont gardés : l'équipe de Quick Massy les lira."
    )
    phone = visitors()  # on a phone the team may answer in the chat, and a new feedback waits its window
    await phone.get(f"/c/{scene.massy.token}")
    await phone.tap("⭐⭐")
    await phone.say("/cancel")
    page = await phone.tap("Garder")
    assert "pourra vous répondre ici" in html.unescape(page.bot_texts[-1])


async def test_web_customers_are_stored_under_a_hash_of_their_cookie(
    scene: Scene, visitors: Callable[..., Visitor]
) -> None:
    visitor = visitors()
    await visitor.get(f"/c/{scene.massy.token}")
    [cookie] = [c for c in visitor.session.cookie_jar if c.key == "parole_customer"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    keys_found = [str(k) for k in await scene.bot.store.redis.keys("parole:chat:web:*")]
    assert len(keys_found) == 1 and cookie.value not in keys_found[0]
    customer = CustomerId.from_key(keys_found[0].removeprefix("parole:chat:"))
    assert await scene.bot.store.redis.exists(keys.web_log(customer))


async def test_the_logs_name_a_web_customer_by_a_pseudonym_only(
    scene: Scene, visitors: Callable[..., Visitor], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.channels.web.pages")
    visitor = visitors()
    await visitor.get(f"/c/{scene.massy.token}")
    page = await visitor.say("4/5")
    assert (await visitor.post(page.action, dict(page.fields, text="5", csrf="forged"))).status == 403
    [cookie] = [c.value for c in visitor.session.cookie_jar if c.key == "parole_customer"]
    [stored] = [str(k).removeprefix("parole:chat:web:") for k in await scene.bot.store.redis.keys("parole:chat:web:*")]
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.channels.web.pages"]
    names = {re.search(r"customer (W[0-9A-F]{8})", line).group(1) for line in lines}  # type: ignore[union-attr]
    assert len(lines) == 3 and len(names) == 1, lines  # the start, the answer, the forged form: one pseudonym
    assert "refused (csrf, 403)" in lines[2] and scene.massy.code in lines[0]
    assert all(cookie not in line and stored not in line for line in lines)


async def test_a_stopping_process_ends_its_live_connections_at_once(
    settings: Settings, clock: Clock, scene: Scene, visitors: Callable[..., Visitor]
) -> None:
    # A second process with its own port: the page's live connection is held by it, then it stops.
    port = free_port()
    other = with_settings(settings, public_url=f"http://127.0.0.1:{port}")
    async with running_bot(other, listen=Listen("127.0.0.1", port), clock=clock):
        visitor = visitors()
        visitor.base_url = f"http://127.0.0.1:{port}"
        await visitor.get(f"/c/{scene.massy.token}")
        live = await visitor.session.get(f"{visitor.base_url}/live", timeout=aiohttp.ClientTimeout(total=30))
        assert live.status == 200
        first = (await live.content.readline()).decode()
        assert first.startswith("id: ")  # the greeting, replayed
    rest = (await live.content.read()).decode()  # the process stopped: the stream ended
    live.release()
    assert ": still here" not in rest  # ended by the shutdown, not found dead at the next keep-alive


async def test_an_answer_and_a_close_from_the_web_admin_reach_the_web_customer(
    scene: Scene, visitors: Callable[..., Visitor]
) -> None:
    """The manager's desk answers and closes a web-chat customer's ticket: the same relay as the staff room's,
    the customer reads the answer once, then the "solved?" question the close asks."""
    from tests.bot.web.test_admin import csrf_of
    from tests.bot.web.test_tickets import _serve, logged_in, page_of, post

    visitor = visitors()
    await journey(visitor, scene)
    await scene.notify()
    async for desk in _serve(scene, with_relay=True):
        ticket_url = f"{desk.url}/ticket/quick/1001"
        async with await logged_in(desk) as olga:
            page = await page_of(olga, ticket_url)
            form = {"csrf": csrf_of(page), "nonce": re.findall(r'name="nonce" value="([^"]+)"', page)[0]}
            answer = {**form, "text": "Nous avons renforcé l'équipe du midi."}
            assert "Réponse envoyée au client." in await post(olga, f"{ticket_url}/reply", answer)
            await post(olga, f"{ticket_url}/reply", answer)  # posted twice: relayed once
            chat = await visitor.get(f"/c/{scene.massy.token}")
            assert sum("Nous avons renforcé l'équipe du midi." in t for t in chat.bot_texts) == 1
            assert "Ticket fermé." in await post(olga, f"{ticket_url}/close", {"csrf": form["csrf"]})
        chat = await visitor.get(f"/c/{scene.massy.token}")
        assert "résolu" in chat.bot_texts[-1]  # the close asks whether the problem was solved
        assert [label for label, _ in chat.last.buttons] == ["👍 Oui, résolu", "👎 Non"]
    [feedback] = [f async for f in scene.bot.store.iter_feedback()]
    assert [(r["author"], r["text"]) for r in feedback["replies"]] == [
        ("staff", "Nous avons renforcé l'équipe du midi.")
    ]
