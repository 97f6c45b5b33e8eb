""" "You said, we did": customers opt in at the end of the journey and out at any time; a brand admin sends one
message to the opted-in customers of a venue and period, from the staff room or the command line, within
Telegram's limits, honouring opt-outs and customers who blocked the bot."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from pathlib import Path

from redis.asyncio import Redis

from bot.cli.serve import RunningBot
from bot.config import Settings
from bot.customers.news import NewsSender, NewsStore, SendBudget
from bot.seam.commands import NEWS_IN, NEWS_OUT
from bot.storage import keys
from bot.storage.identity import CustomerId
from emulator import RecordedMessage
from tests.bot.staff_scene import Scene
from tests.support import BotTurn, Customer

DAY = 24 * 3600.0


def _thanks(scene: Scene, customer: Customer) -> RecordedMessage:
    return scene.emulator.bot_messages(customer.user.id)[-1]


def _datas(message: RecordedMessage) -> list[str]:
    return [data for row in message.buttons() for _, data in row]


async def _opt_in(scene: Scene, customer: Customer) -> BotTurn:
    thanks = _thanks(scene, customer)
    [data] = [d for d in _datas(thanks) if d.startswith(NEWS_IN)]
    return await customer.tap(data, thanks)


def _news_to(scene: Scene, mark: int, customer: Customer) -> list[str]:
    return [t for t in scene.since(mark).texts(customer.user.id) if t.startswith("📣")]


async def _customers(scene: Scene, *names: str) -> dict[str, Customer]:
    customers = {name: Customer.new(scene.emulator, name) for name in names}
    for customer in customers.values():
        await scene.feedback(customer, rating=3, reason="Trop d'attente à la caisse.", notify=False)
    return customers


async def test_opt_in_news_and_opt_out(scene: Scene, staff_bot: RunningBot) -> None:
    people = await _customers(scene, "Ann", "Bea", "Cid", "Dan")
    eve = Customer.new(scene.emulator, "Eve")
    await scene.feedback(eve, scene.orly, rating=5, reason="Parfait", notify=False)
    thanks = _thanks(scene, people["Ann"])
    assert "Merci pour votre avis" in thanks.text
    assert [label for row in thanks.buttons() for label, _ in row] == ["🔔 Recevoir les nouvelles de Quick Massy"]
    opted = await _opt_in(scene, people["Ann"])
    assert opted.notices == ["C'est noté : vous recevrez les nouvelles de Quick Massy. /stopnews pour arrêter."]
    assert [label for row in _thanks(scene, people["Ann"]).buttons() for label, _ in row] == [
        "🔕 Ne plus recevoir les nouvelles de Quick Massy"
    ]
    for name in ("Bea", "Cid"):
        await _opt_in(scene, people[name])
    await _opt_in(scene, eve)  # Quick Orly's news, not Massy's
    news = NewsStore(staff_bot.store.redis)
    # Someone else's feedback (a forged button) opts in to nothing.
    assert (
        await news.subscribe_after(
            CustomerId.telegram(people["Dan"].user.id), await _feedback_id(scene, people["Ann"]), 0.0
        )
        is None
    )
    assert await news.subscribers("quick", scene.massy.code) == [
        CustomerId.telegram(people[n].user.id) for n in ("Ann", "Bea", "Cid")
    ]
    # Bea opts out of everything; Cid blocks the bot.
    stopped = await people["Bea"].say("/stopnews")
    assert "vous ne recevrez plus de nouvelles de l'établissement que vous suiviez" in stopped.text
    again = await people["Bea"].say("/stopnews")
    assert "Vous ne receviez les nouvelles d'aucun établissement." in again.text
    scene.emulator.block_bot(people["Cid"].user)
    # Julien is staff, not a brand admin: refused. Maria, the room's administrator, sends it.
    refused = await scene.staff_says(scene.julien, f"/news {scene.massy.code} Merci !")
    assert "Seul un administrateur de la marque" in refused.text(scene.room.id)
    await staff_bot.staff.news.idle()
    assert not _news_to(scene, 0, people["Ann"])
    mark = scene.mark()
    text = "Vous l'aviez demandé : une 2e caisse <b>ouvre</b> !"
    said = await scene.staff_says(scene.maria, f"/news {scene.massy.code} {text}")
    assert "envoi en cours, 0 envoyée sur 2" in said.text(scene.room.id)
    await staff_bot.staff.news.idle()
    [sent] = _news_to(scene, mark, people["Ann"])
    assert (
        sent == "📣 Quick Massy — vous nous l'avez dit, voici ce que nous avons fait :\n\n"
        "Vous l'aviez demandé : une 2e caisse <b>ouvre</b> !"
    )  # the admin's text, as text
    for name in ("Bea", "Cid", "Dan"):
        assert not _news_to(scene, mark, people[name]), name
    assert not _news_to(scene, mark, eve)
    report = scene.last_in_room()
    assert "terminé, 1 envoyée sur 2, un client a bloqué le bot (désinscrit)" in report.text
    assert await news.subscribers("quick", scene.massy.code) == [
        CustomerId.telegram(people["Ann"].user.id)
    ]  # Cid is out
    # Ann opts out with the button under the news: the next message reaches nobody.
    message = scene.emulator.bot_messages(people["Ann"].user.id)[-1]
    out = await people["Ann"].tap(f"{NEWS_OUT}{scene.massy.short_code}", message)
    assert out.notices == ["Vous ne recevrez plus les nouvelles de Quick Massy."]
    assert not scene.emulator.bot_messages(people["Ann"].user.id)[-1].buttons()
    nobody = await scene.staff_says(scene.maria, f"/news {scene.massy.code} Encore du nouveau")
    assert "Aucun client de Quick Massy n'a demandé les nouvelles" in nobody.text(scene.room.id)
    assert await news.subscribers("quick", scene.orly.code) == [CustomerId.telegram(eve.user.id)]


async def _feedback_id(scene: Scene, customer: Customer) -> str:
    [member] = await scene.bot.store.redis.smembers(keys.customer_feedbacks(CustomerId.telegram(customer.user.id)))
    return str(member).partition("/")[2]


async def test_a_period_and_bad_requests_send_nothing(scene: Scene, staff_bot: RunningBot) -> None:
    people = await _customers(scene, "Ann", "Bea")
    await _opt_in(scene, people["Ann"])
    scene.clock.advance(3 * DAY)
    await _opt_in(scene, people["Bea"])
    today = dt.datetime.fromtimestamp(scene.clock(), dt.UTC).date()
    earlier = (today - dt.timedelta(days=2)).isoformat()
    mark = scene.mark()
    await scene.staff_says(scene.maria, f"/news {scene.massy.code} ..{earlier} Pour les premiers inscrits")
    await staff_bot.staff.news.idle()
    assert _news_to(scene, mark, people["Ann"]) and not _news_to(scene, mark, people["Bea"])
    mark = scene.mark()
    await scene.staff_says(scene.maria, f"/news {scene.massy.code} {today.isoformat()}.. Pour les derniers")
    await staff_bot.staff.news.idle()
    assert not _news_to(scene, mark, people["Ann"]) and _news_to(scene, mark, people["Bea"])
    orly_room = scene.emulator.add_group("Quick Orly — équipe", admins=[scene.maria])
    await scene.link(orly_room, scene.maria, venue=scene.orly.code)
    mark = scene.mark()
    for chat, text, answer in [
        (scene.room, "/news", "/news CODE-ÉTABLISSEMENT TEXTE"),
        (scene.room, f"/news {scene.massy.code}", "/news CODE-ÉTABLISSEMENT TEXTE"),
        (scene.room, f"/news {scene.massy.code} .. Rien", "/news CODE-ÉTABLISSEMENT TEXTE"),
        (scene.room, "/news nowhere Bonjour", "Rien n'est parti : no venue 'quick/nowhere'"),
        (scene.room, f"/news {scene.massy.code} 2026-13-01.. Bonjour", "Rien n'est parti : the period's start"),
        (scene.room, f"/news {scene.massy.code} " + "x" * 3001, "Rien n'est parti : the message has 3001 characters"),
        (orly_room, f"/news {scene.massy.code} Bonjour", "Rien n'est parti : this room is for the feedback of"),
    ]:
        said = await scene.staff_says(scene.maria, text, chat=chat)
        assert answer in said.text(chat.id), (text, said.text(chat.id))
    await staff_bot.staff.news.idle()
    for customer in people.values():
        assert not _news_to(scene, mark, customer)


async def test_the_same_update_twice_sends_once(scene: Scene, staff_bot: RunningBot) -> None:
    people = await _customers(scene, "Ann")
    await _opt_in(scene, people["Ann"])
    mark = scene.mark()
    delivery = await scene.emulator.send_text(scene.maria, f"/news {scene.massy.code} Une fois", chat=scene.room)
    await scene.emulator.deliver_raw(delivery.update)  # Telegram delivers it again
    await staff_bot.staff.news.idle()
    assert len(_news_to(scene, mark, people["Ann"])) == 1


async def test_the_budget_spaces_sends_across_senders(redis_client: Redis) -> None:
    """Two senders (two processes) share one budget of 5 a second: their sends, on a clock that moves only
    when they wait, never exceed 5 in a second."""
    now = [1_000_000.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    budgets = [SendBudget(redis_client, 5, clock=lambda: now[0], sleep=sleep) for _ in range(2)]
    times: list[float] = []
    for turn in range(24):
        await budgets[turn % 2].take()
        times.append(now[0])
    assert times == sorted(times) and times[-1] - times[0] >= 23 / 5 - 1e-6
    assert max(sum(1 for t in times if start <= t < start + 1) for start in times) == 5


async def test_skipped_when_opting_out_during_the_broadcast(scene: Scene, staff_bot: RunningBot) -> None:
    people = await _customers(scene, "Ann", "Bea")
    for customer in people.values():
        await _opt_in(scene, customer)
    sender: NewsSender = staff_bot.staff.news
    venue, chats = await sender.prepare("quick", scene.massy.code, "Nouveau")
    await sender.news.unsubscribe(CustomerId.telegram(people["Bea"].user.id), "quick", scene.massy.code)
    report = await sender.send(venue, chats, "Nouveau")
    assert (report.total, report.sent, report.skipped, report.blocked) == (2, 1, 1, 0)


async def test_parole_news_from_the_command_line(
    scene: Scene, staff_bot: RunningBot, settings: Settings, tmp_path: Path
) -> None:
    people = await _customers(scene, "Ann", "Bea")
    for customer in people.values():
        await _opt_in(scene, customer)
    scene.emulator.block_bot(people["Bea"].user)
    env = {
        **os.environ, "PAROLE_REDIS_URL": settings.redis_url or "", "PAROLE_DATA_DIR": str(tmp_path),
        "PAROLE_TELEGRAM_TOKEN": scene.emulator.token, "PAROLE_TELEGRAM_API_URL": settings.telegram_api_url,
        "PAROLE_BOT_USERNAME": scene.emulator.bot_username,
    }  # fmt: skip

    async def parole(*args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 120)
        return process.returncode or 0, out.decode(), err.decode()

    code, out, err = await parole("news", "count", "--brand", "quick", "--venue", scene.massy.code)
    assert code == 0 and json.loads(out) == {"brand": "quick", "venue": scene.massy.code, "customers": 2}, err
    mark = scene.mark()
    venue = ("--brand", "quick", "--venue", scene.massy.code)
    code, out, err = await parole("news", "send", *venue, "--text", "Merci à vous")
    assert code == 0, err
    assert json.loads(out) == {
        "brand": "quick", "venue": scene.massy.code, "venue_name": "Quick Massy", "total": 2, "sent": 1,
        "blocked": 1, "failed": 0, "skipped": 0,
    }  # fmt: skip
    assert "2/2 customer" in err
    assert _news_to(scene, mark, people["Ann"]) and not _news_to(scene, mark, people["Bea"])
    for args, message in [
        (("news", "send", "--brand", "quick", "--venue", scene.massy.code), "donnez le message avec --text ou --file"),
        (
            ("news", "send", "--brand", "quick", "--venue", "nowhere", "--text", "x"),
            "le lieu « quick/nowhere » n'existe pas",
        ),
        (("news", "send", "--brand", "quick", "--venue", scene.massy.code, "--text", " "), "the message is empty"),
        (("news", "count", "--brand", "quick", "--venue", scene.massy.code, "--since", "hier"), "--since 'hier'"),
    ]:
        mark = scene.mark()
        code, out, err = await parole(*args)
        assert code == 1 and message in err and out == "", (args, err)
        assert not _news_to(scene, mark, people["Ann"])


async def test_mydata_shows_and_forget_drops_the_subscriptions(scene: Scene, staff_bot: RunningBot) -> None:
    people = await _customers(scene, "Ann")
    await _opt_in(scene, people["Ann"])
    chat = people["Ann"].user.id
    assert (await staff_bot.staff.privacy.collect(CustomerId.telegram(chat)))["news_from"] == [
        f"quick/{scene.massy.code}"
    ]
    await staff_bot.staff.privacy.forget(CustomerId.telegram(chat))
    assert await staff_bot.staff.news.news.subscribers("quick", scene.massy.code) == []
    assert (await staff_bot.staff.privacy.collect(CustomerId.telegram(chat)))["news_from"] == []
