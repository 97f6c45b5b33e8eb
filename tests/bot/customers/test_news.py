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

import pytest
from redis.asyncio import Redis

from bot.botapi.outbound import PRIORITY, Outbound, Priority
from bot.cli.serve import RunningBot
from bot.config import Settings
from bot.customers.news import NewsSender, NewsStore, SendBudget
from bot.seam.commands import NEWS_IN, NEWS_OUT
from bot.staff.commands import NEWS_DROP_PREFIX, NEWS_SEND_PREFIX
from bot.storage import keys
from bot.storage.identity import CustomerId
from emulator import EmulatedChat, RecordedMessage
from tests.bot.staff_scene import Said, Scene
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


async def _confirm(scene: Scene, chat: EmulatedChat | None = None) -> Said:
    """Press Envoyer under the room's last /news preview (as Maria, its author, by default)."""
    preview = _preview(scene, chat)
    [data] = [d for d in _datas(preview) if d.startswith(NEWS_SEND_PREFIX)]
    mark = scene.mark()
    await scene.emulator.click(scene.maria, preview, data)
    return scene.since(mark)


def _preview(scene: Scene, chat: EmulatedChat | None = None) -> RecordedMessage:
    """The room's last /news preview whose buttons are still there."""
    messages = reversed(scene.emulator.bot_messages((chat or scene.room).id))
    return next(m for m in messages if any(d.startswith(NEWS_SEND_PREFIX) for d in _datas(m)))


def _buttons_of(scene: Scene, message: RecordedMessage) -> list[str]:
    current = scene.emulator.chat_messages(message.chat_id)
    return [label for m in current if m.message_id == message.message_id for row in m.buttons() for label, _ in row]


async def _news(scene: Scene, text: str, chat: EmulatedChat | None = None) -> Said:
    """Maria sends /news and confirms it."""
    await scene.staff_says(scene.maria, text, chat=chat)
    return await _confirm(scene, chat)


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
    assert [label for row in thanks.buttons() for label, _ in row] == [
        "💬 Me recontacter",
        "🔔 Recevoir les nouvelles de Quick Massy",
    ]
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
    assert said.text(scene.room.id) == (  # a preview: the message as customers will read it, and their number
        "Aperçu : les clients abonnés aux nouvelles de Quick Massy recevront ce message :\n\n"
        "📣 Quick Massy — vous nous l'avez dit, voici ce que nous avons fait :\n\n"
        "Vous l'aviez demandé : une 2e caisse <b>ouvre</b> !\n\nEnvoyer à 2 clients ?"
    )
    preview = _preview(scene)
    assert _buttons_of(scene, preview) == ["Envoyer", "Annuler"]
    await staff_bot.staff.news.idle()
    assert not _news_to(scene, mark, people["Ann"])  # nothing goes before Envoyer
    said = await _confirm(scene)
    assert "envoi en cours, 0 envoyée sur 2" in said.text(scene.room.id)
    assert _buttons_of(scene, preview) == []  # pressed: its buttons are gone
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
    await _news(scene, f"/news {scene.massy.code} ..{earlier} Pour les premiers inscrits")
    await staff_bot.staff.news.idle()
    assert _news_to(scene, mark, people["Ann"]) and not _news_to(scene, mark, people["Bea"])
    mark = scene.mark()
    await _news(scene, f"/news {scene.massy.code} {today.isoformat()}.. Pour les derniers")
    await staff_bot.staff.news.idle()
    assert not _news_to(scene, mark, people["Ann"]) and _news_to(scene, mark, people["Bea"])
    orly_room = scene.emulator.add_group("Quick Orly — équipe", admins=[scene.maria])
    await scene.link(orly_room, scene.maria, venue=scene.orly.code)
    mark = scene.mark()
    for chat, text, answer in [
        (scene.room, "/news", "/news CODE-ÉTABLISSEMENT TEXTE"),
        (scene.room, f"/news {scene.massy.code}", "/news CODE-ÉTABLISSEMENT TEXTE"),
        (scene.room, f"/news {scene.massy.code} .. Rien", "/news CODE-ÉTABLISSEMENT TEXTE"),
        (scene.room, "/news nowhere Bonjour", "Rien n'est parti : le lieu « quick/nowhere » n'existe pas"),
        (
            scene.room,
            f"/news {scene.massy.code} 2026-13-01.. Bonjour",
            "Rien n'est parti : le début de la période « 2026-13-01 » n'est pas une date",
        ),
        (
            scene.room,
            f"/news {scene.massy.code} " + "x" * 3001,
            "Rien n'est parti : le message compte 3001 caractères ; 3000 au plus",
        ),
        (orly_room, f"/news {scene.massy.code} Bonjour", "Rien n'est parti : ce salon est réservé aux retours de « "),
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
    assert len([m for m in scene.emulator.bot_messages(scene.room.id) if m.buttons()]) == 1  # one preview
    command = delivery.update["message"]["message_id"]
    click = await scene.emulator.click(scene.maria, _preview(scene), f"{NEWS_SEND_PREFIX}{command}")
    await scene.emulator.deliver_raw(click.update)  # the press delivered again
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
        "blocked": 1, "failed": 0, "skipped": 0, "unsure": 0,
    }  # fmt: skip
    assert "2/2 clients" in err
    assert _news_to(scene, mark, people["Ann"]) and not _news_to(scene, mark, people["Bea"])
    for args, message in [
        (("news", "send", "--brand", "quick", "--venue", scene.massy.code), "donnez le message avec --text ou --file"),
        (
            ("news", "send", "--brand", "quick", "--venue", "nowhere", "--text", "x"),
            "le lieu « quick/nowhere » n'existe pas",
        ),
        (("news", "send", "--brand", "quick", "--venue", scene.massy.code, "--text", " "), "le message est vide"),
        (
            ("news", "count", "--brand", "quick", "--venue", scene.massy.code, "--since", "hier"),
            "--since « hier » n'est pas une date",
        ),
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


class _StoppingBudget(SendBudget):
    """The real budget, which stops before the send after the first `sends` until `go` is set: the test stops
    the process there, as a crash or a deploy would."""

    def __init__(self, redis: Redis, sends: int) -> None:
        super().__init__(redis, 1000)
        self.sends = sends
        self.reached = asyncio.Event()
        self.go = asyncio.Event()

    async def take(self) -> None:
        if self.sends == 0:
            self.reached.set()
            await self.go.wait()
        self.sends -= 1
        await super().take()


async def _broadcast_stopped_after(
    scene: Scene, staff_bot: RunningBot, sends: int
) -> tuple[dict[str, Customer], int, NewsSender, _StoppingBudget]:
    """Six customers opted in; Maria's /news goes out through a process (this bot's sender) that stops
    after `sends` messages; the sender of another process, not started yet."""
    people = await _customers(scene, "Ann", "Bea", "Cid", "Dan", "Eve", "Fay")
    for customer in people.values():
        await _opt_in(scene, customer)
    first: NewsSender = staff_bot.staff.news
    first.budget = budget = _StoppingBudget(staff_bot.store.redis, sends)
    first.lease = 0.5
    mark = scene.mark()
    await scene.staff_says(scene.maria, f"/news {scene.massy.code} Une 2e caisse ouvre !")
    said = await _confirm(scene)
    assert "envoi en cours, 0 envoyée sur 6" in said.text(scene.room.id)
    await asyncio.wait_for(budget.reached.wait(), 10)
    other = NewsSender(
        staff_bot.store, first.news, first.renderer, first.channels, SendBudget(staff_bot.store.redis, 1000),
        lease=0.5, name="another process", report_to_room=first.report_to_room,
    )  # fmt: skip
    return people, mark, other, budget


def _report_in_room(scene: Scene) -> str:
    return [m.text for m in scene.emulator.bot_messages(scene.room.id) if m.text.startswith("📣 Nouvelles")][-1]


async def test_a_broadcast_stopped_midway_is_finished_by_another_process_once_each(
    scene: Scene, staff_bot: RunningBot
) -> None:
    people, mark, other, _ = await _broadcast_stopped_after(scene, staff_bot, 2)
    [task] = staff_bot.staff.news.running.values()
    task.cancel()  # the process stops: nothing gives its lease back
    await asyncio.gather(task, return_exceptions=True)
    assert sum(len(_news_to(scene, mark, c)) for c in people.values()) == 2
    assert await other.resume() == 0  # its lease still holds: nobody takes it over yet
    await asyncio.sleep(0.6)
    assert await other.resume() == 1
    await other.idle()
    for name, customer in people.items():
        assert len(_news_to(scene, mark, customer)) == 1, name  # nobody twice, nobody missed
    assert "terminé, 6 envoyées sur 6." in _report_in_room(scene)  # the room's report, finished by the other
    assert await other.jobs.unfinished() == []
    assert await other.resume() == 0


async def test_a_send_cut_short_is_counted_unsure_and_not_made_again(scene: Scene, staff_bot: RunningBot) -> None:
    people, mark, other, budget = await _broadcast_stopped_after(scene, staff_bot, 1)
    scene.emulator.delay_next("sendMessage", 1.0)  # the third customer's message is under way when it stops
    budget.go.set()
    await asyncio.sleep(0.3)
    [task] = staff_bot.staff.news.running.values()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(1.0)  # the lease expires; Telegram executes the call that was under way
    assert await other.resume() == 1
    await other.idle()
    got = {name: len(_news_to(scene, mark, customer)) for name, customer in people.items()}
    assert got == dict.fromkeys(people, 1)  # the one under way reached its customer once, and only once
    assert "terminé, 5 envoyées sur 6, 1 à l'issue incertaine (envoi interrompu, pas de second envoi)." in (
        _report_in_room(scene)
    )


async def test_a_broadcast_given_back_when_its_process_stops_goes_on_at_once(
    scene: Scene, staff_bot: RunningBot
) -> None:
    people, mark, other, _ = await _broadcast_stopped_after(scene, staff_bot, 3)
    await staff_bot.staff.news.stop()  # `parole serve` stopping: the lease is given back
    assert await other.resume() == 1
    await other.idle()
    assert all(len(_news_to(scene, mark, customer)) == 1 for customer in people.values())


async def test_news_take_the_bots_one_budget_after_answers_and_cards(
    scene: Scene, staff_bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each news message asks the bot's outbound limits at the broadcast priority (it goes only while no answer
    or card waits for a slot), the room's report at the cards' priority."""
    people = await _customers(scene, "Ann", "Bea")
    for customer in people.values():
        await _opt_in(scene, customer)
    outbound = staff_bot.application.bot.request._outbound
    assert isinstance(outbound, Outbound)
    asked: list[tuple[Priority, str | None]] = []
    pace = outbound.pace

    async def spied(kind: str, chat_id: str | None) -> float:
        asked.append((PRIORITY.get(), chat_id))
        return await pace(kind, chat_id)

    monkeypatch.setattr(outbound, "pace", spied)
    await scene.staff_says(scene.maria, f"/news {scene.massy.code} Une 2e caisse ouvre !")
    await _confirm(scene)
    await staff_bot.staff.news.idle()
    to_customers = [p for p, chat in asked if chat in {str(c.user.id) for c in people.values()}]
    assert to_customers == [Priority.BROADCAST, Priority.BROADCAST]
    # The preview and its buttons' removal answer Maria's own command and press; the broadcast's report is a card.
    in_room = [p for p, chat in asked if chat == str(scene.room.id)]
    assert Priority.CARD in in_room and set(in_room) == {Priority.ANSWER, Priority.CARD}
    assert in_room.count(Priority.ANSWER) == 2  # the preview, then its buttons removed


async def test_news_in_a_venue_room_previews_and_waits_for_its_author(scene: Scene, staff_bot: RunningBot) -> None:
    """In a venue's room /news needs no code; the preview counts the subscribers; Annuler sends nothing; only its
    author presses its buttons, once, within the hour."""
    people = await _customers(scene, "Ann", "Bea")
    for customer in people.values():
        await scene.feedback(customer, scene.orly, rating=4, reason="Bien", notify=False)
        await _opt_in(scene, customer)
    orly_room = scene.emulator.add_group("Quick Orly — équipe", members=[scene.julien], admins=[scene.maria])
    await scene.link(orly_room, scene.maria, venue=scene.orly.code)
    usage = await scene.staff_says(scene.maria, "/news", chat=orly_room)
    assert "/news TEXTE : à tous ceux de cet établissement" in usage.text(orly_room.id)
    mark = scene.mark()
    said = await scene.staff_says(scene.maria, "/news Nouveau : le drive ouvre à 7 h.", chat=orly_room)
    shown = said.text(orly_room.id)
    assert "nouvelles de Quick Orly recevront ce message" in shown
    assert "Nouveau : le drive ouvre à 7 h." in shown and shown.endswith("Envoyer à 2 clients ?")
    preview = _preview(scene, orly_room)
    [send, drop] = _datas(preview)
    assert send.startswith(NEWS_SEND_PREFIX) and drop.startswith(NEWS_DROP_PREFIX)
    # Julien (staff, not the author) presses: refused, nothing changes.
    foreign = await scene.emulator.click(scene.julien, preview, send)
    assert any("Seule la personne qui a écrit ce /news" in str(c.params.get("text")) for c in foreign.calls)
    assert _buttons_of(scene, preview) == ["Envoyer", "Annuler"]
    # Maria cancels: the preview says so, its buttons go; nothing reached the customers.
    cancelled = await scene.emulator.click(scene.maria, preview, drop)
    assert [c.method for c in cancelled.calls if c.method.startswith("edit")] == ["editMessageText"]
    assert _buttons_of(scene, preview) == []
    assert "Annulé : ce message n'est parti chez personne." in scene.since(mark).text(orly_room.id)
    # A preview left over an hour: its Envoyer is refused as a stale button.
    await scene.staff_says(scene.maria, "/news Deuxième essai", chat=orly_room)
    late = _preview(scene, orly_room)
    for key in [k async for k in staff_bot.store.redis.scan_iter(match="parole:{quick}:news-draft:*")]:
        await staff_bot.store.redis.delete(key)  # what its expiry (an hour) does
    stale = await _confirm(scene, orly_room)
    assert any("n'est plus actif" in str(c.params.get("text")) for c in stale.calls)
    assert "envoi en cours" not in stale.text(orly_room.id) and _buttons_of(scene, late) == ["Envoyer", "Annuler"]
    await staff_bot.staff.news.idle()
    for customer in people.values():
        assert not _news_to(scene, mark, customer)
    # Confirmed by its author: sent, once.
    await scene.staff_says(scene.maria, "/news Troisième essai", chat=orly_room)
    sent = await _confirm(scene, orly_room)
    assert "envoi en cours, 0 envoyée sur 2" in sent.text(orly_room.id)
    await staff_bot.staff.news.idle()
    for customer in people.values():
        assert [t.endswith("Troisième essai") for t in _news_to(scene, mark, customer)] == [True]


async def test_forged_news_buttons_send_nothing(scene: Scene, staff_bot: RunningBot) -> None:
    """Callback data no preview carries (another number, not a number, a room's other message) change nothing."""
    people = await _customers(scene, "Ann")
    await _opt_in(scene, people["Ann"])
    await scene.staff_says(scene.maria, f"/news {scene.massy.code} Bientôt du nouveau")
    preview = _preview(scene)
    [send, _] = _datas(preview)
    julien = await scene.emulator.click(scene.julien, preview, send)  # a real press, refused: its shape to forge
    mark = scene.mark()
    for data in (
        f"{send}0",
        f"{NEWS_SEND_PREFIX}abc",
        f"{NEWS_DROP_PREFIX}",
        f"{NEWS_SEND_PREFIX}{preview.message_id}",
    ):
        forged = json.loads(json.dumps(julien.update))
        forged.pop("update_id")
        forged["callback_query"].update(data=data, **{"from": scene.maria.to_json()})
        await scene.emulator.deliver_raw(forged)
    await staff_bot.staff.news.idle()
    assert not _news_to(scene, mark, people["Ann"]) and scene.since(mark).texts(scene.room.id) == []
    assert _buttons_of(scene, preview) == ["Envoyer", "Annuler"]  # still waiting for its author's press
    await _confirm(scene)
    await staff_bot.staff.news.idle()
    assert len(_news_to(scene, mark, people["Ann"])) == 1
