"""Telegram's errors during a relay: 403 (blocked), 429 (waited out), 5xx, and updates delivered twice."""

from __future__ import annotations

import pytest

from bot.botapi.sending import ATTEMPTS
from bot.ops import RedisFigures
from bot.staff.cards import CARD_ATTEMPTS, RETRY_CARD_AFTER
from bot.staff.tickets import TicketStatus
from bot.storage import keys
from dialogs.markup import utf16_len
from tests.bot.staff_scene import Scene
from tests.support import Customer


async def test_a_customer_who_blocked_the_bot_makes_the_ticket_undeliverable(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    scene.emulator.block_bot(customer.user)
    said = await scene.staff_says(scene.julien, "/reply 1001 Bonjour, pouvez-vous nous en dire plus ?")
    assert [c.status for c in said.to(customer.user.id, "sendMessage")] == [403]
    assert "le client a bloqué le bot" in said.text(scene.room.id)
    ticket = await scene.bot.staff.tickets.get("quick", 1001)
    assert ticket is not None and ticket.undeliverable and ticket.first_response_at is None
    assert "Le client a bloqué le bot" in scene.card(1001).text  # the card says it too
    assert await scene.bot.store.redis.zscore(keys.DEADLINES, "quick/1001") is None  # no reminder to come
    # The next answer is not even tried.
    said = await scene.staff_says(scene.julien, "Toujours là ?", reply_to=scene.card(1001))
    assert said.to(customer.user.id, "sendMessage") == []
    assert "le client a bloqué le bot" in said.text(scene.room.id)
    [feedback] = [f async for f in scene.bot.store.iter_feedback()]
    assert feedback["replies"] == []  # nothing reached the customer, nothing is in the thread
    # They unblock the bot and write: they are reachable again.
    scene.emulator.unblock_bot(customer.user)
    mark = scene.mark()
    await customer.say("Désolé, j'avais bloqué le bot par erreur.")
    assert "j'avais bloqué le bot par erreur" in scene.since(mark).text(scene.room.id)
    assert "Le client a bloqué le bot" not in scene.card(1001).text
    said = await scene.staff_says(scene.julien, "/reply 1001 Pas de souci !")
    assert "Pas de souci !" in said.text(customer.user.id)


async def test_429_is_waited_out_and_the_answer_relayed_once(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    scene.emulator.fail_next("sendMessage", status=429, retry_after=1)
    said = await scene.staff_says(scene.julien, "/reply 1001 Nous revenons vers vous.")
    [limited, sent] = said.to(customer.user.id, "sendMessage")
    assert (limited.status, sent.status) == (429, 200) and sent.at - limited.at >= 0.9
    assert [m.text for m in scene.emulator.bot_messages(customer.user.id)].count(
        "Quick Massy vous répond :\n\nNous revenons vers vous."
    ) == 1
    assert "Envoyé au client" in said.text(scene.room.id)


async def test_a_staff_update_delivered_twice_is_relayed_once(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    delivery = await scene.emulator.send_text(scene.julien, "/reply 1001 Une seule fois.", chat=scene.room)
    mark = scene.mark()
    again = await scene.emulator.deliver_raw(delivery.update)  # Telegram delivers the same update again
    assert again.status == 200 and scene.since(mark).calls == []
    texts = [m.text for m in scene.emulator.bot_messages(customer.user.id)]
    assert sum("Une seule fois." in t for t in texts) == 1
    [feedback] = [f async for f in scene.bot.store.iter_feedback()]
    assert [r["text"] for r in feedback["replies"]] == ["Une seule fois."]


async def test_a_customer_update_delivered_twice_is_relayed_once(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    await scene.staff_says(scene.julien, "/reply 1001 Bonjour !")
    delivery = await scene.emulator.send_text(customer.user, "Bonjour à vous")
    mark = scene.mark()
    await scene.emulator.deliver_raw(delivery.update)
    assert scene.since(mark).calls == []
    room_texts = [m.text for m in scene.emulator.bot_messages(scene.room.id)]
    assert sum("Bonjour à vous" in t for t in room_texts) == 1


async def test_a_5xx_is_reported_and_the_same_message_can_go_later(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    scene.emulator.fail_next("sendMessage", status=500, times=ATTEMPTS)  # every attempt
    delivery = await scene.emulator.send_text(scene.julien, "/reply 1001 Bonjour", chat=scene.room)
    assert any("Telegram n'a pas pu transmettre" in str(c.params.get("text")) for c in delivery.calls)
    ticket = await scene.bot.staff.tickets.get("quick", 1001)
    assert ticket is not None and ticket.status is TicketStatus.OPEN and not ticket.undeliverable
    # Telegram redelivering that update (answered 200) does nothing; the staff sending it again does.
    mark = scene.mark()
    again = await scene.emulator.deliver_raw(delivery.update)
    assert again.status == 200 and scene.since(mark).calls == []
    await scene.emulator.send_text(scene.julien, "/reply 1001 Bonjour", chat=scene.room)
    assert "Quick Massy vous répond" in scene.since(mark).text(customer.user.id)


async def test_a_card_telegram_refused_is_posted_again_later(scene: Scene) -> None:
    await scene.feedback(Customer.new(scene.emulator), notify=False)
    scene.emulator.fail_next("sendMessage", status=500, times=ATTEMPTS)  # every attempt
    said = await scene.notify()
    assert [c.status for c in said.to(scene.room.id, "sendMessage")] == [500] * ATTEMPTS
    assert (await scene.notify()).calls == []  # not before 30 seconds
    scene.clock.advance(31)
    said = await scene.notify()
    assert "Ticket n° 1001" in said.text(scene.room.id)
    scene.clock.advance(31)
    assert (await scene.notify()).calls == []  # once


async def test_a_room_the_bot_was_removed_from_is_unlinked(scene: Scene) -> None:
    await scene.emulator.remove_bot(scene.room, by=scene.maria)
    assert await scene.bot.staff.rooms.get(scene.room.id) is None
    said = await scene.feedback(Customer.new(scene.emulator))
    assert said.calls == []  # no room: no card, but the ticket exists for a room linked later
    assert await scene.bot.staff.tickets.get("quick", 1001) is not None


async def test_a_card_of_a_very_long_feedback_is_cut_to_fit_and_posted(scene: Scene) -> None:
    # 2,000 emoji each: 4,000 UTF-16 units apiece, a card of over 8,000 as Telegram counts
    said = await scene.feedback(Customer.new(scene.emulator), reason="😀" * 2000, suggestion="🙏" * 2000)
    [posted] = said.to(scene.room.id, "sendMessage")
    assert posted.status == 200
    card = scene.card(1001)
    assert "…" in card.text and utf16_len(card.text) <= 4096
    [feedback] = [f async for f in scene.bot.store.iter_feedback()]
    assert feedback["reason"] == "😀" * 2000  # the whole text is kept for the export and the web


async def test_a_card_refused_every_time_is_given_up_after_a_bounded_number_of_tries(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    await scene.feedback(Customer.new(scene.emulator), notify=False)
    scene.emulator.fail_next("sendMessage", status=400, times=CARD_ATTEMPTS)  # the card is refused every time
    statuses: list[int] = []
    mark = scene.mark()
    for _ in range(CARD_ATTEMPTS + 3):
        statuses += [c.status for c in (await scene.notify()).to(scene.room.id, "sendMessage")]
        scene.clock.advance(RETRY_CARD_AFTER + 1)
    assert statuses == [400] * CARD_ATTEMPTS + [200]  # the card's tries, then the room is told, once
    assert "Telegram a refusé la fiche de ce retour 5 fois" in scene.since(mark).text(scene.room.id)
    assert await scene.bot.store.redis.zcard(keys.CARDS_DUE) == 0  # nothing left to retry, ever
    assert "card of ticket quick/1001: given up" in caplog.text
    figures = RedisFigures()
    await figures.refresh(scene.bot.store.redis)
    assert b"parole_cards_given_up_total 1.0" in figures.exposition()


async def test_a_long_customer_answer_reaches_the_room_cut_and_only_then_is_confirmed(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    await scene.staff_says(scene.julien, "/reply 1001 Pouvez-vous préciser ?")
    mark = scene.mark()
    await customer.say("😀" * 2048)  # 4,096 UTF-16 units: the room's message adds the template around it
    said = scene.since(mark)
    [relayed] = said.to(scene.room.id, "sendMessage")
    assert relayed.status == 200 and "…" in said.text(scene.room.id)
    assert "Transmis à l'équipe" in said.text(customer.user.id)
    [feedback] = [f async for f in scene.bot.store.iter_feedback()]
    assert feedback["replies"][-1]["author"] == "customer"


async def test_a_customer_answer_the_room_refused_is_not_confirmed(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    await scene.staff_says(scene.julien, "/reply 1001 Pouvez-vous préciser ?")
    scene.emulator.fail_next("sendMessage", status=400)  # the room's copy is refused
    mark = scene.mark()
    await customer.say("Le burger était froid.")
    said = scene.since(mark)
    assert [c.status for c in said.to(scene.room.id, "sendMessage")] == [400]
    assert "Transmis à l'équipe" not in said.text(customer.user.id)
    assert "n'a pas pu être transmis" in said.text(customer.user.id)


async def test_a_staff_answer_that_can_never_fit_says_so_not_try_again(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    said = await scene.staff_says(
        scene.julien, "/reply 1001 " + "😀" * 2040
    )  # Telegram took it; with the template: 4,107
    assert said.to(customer.user.id, "sendMessage") == []
    answer = said.text(scene.room.id)
    assert "trop long" in answer and "Réessayez" not in answer
    said = await scene.staff_says(scene.julien, "/reply 1001 Plus court.")
    assert "Plus court." in said.text(customer.user.id)


async def test_a_staff_answer_past_the_limit_is_refused_with_its_excess_never_cut(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    text = ("Nous sommes désolés. " * 200)[:4080].strip()  # Telegram took it (4,096); once signed it is over
    said = await scene.staff_says(scene.julien, f"/reply 1001 {text}")
    assert said.to(customer.user.id, "sendMessage") == []  # not sent cut short, not sent at all
    signature = utf16_len("Quick Massy vous répond :\n\n")
    over = len(text) + signature - 4096
    answer = said.text(scene.room.id)
    assert f"({over} caractères de trop, 4096 au plus)" in answer, answer
    [feedback] = [f async for f in scene.bot.store.iter_feedback()]
    assert feedback["replies"] == []
    # Just under the limit it goes out whole.
    fits = text[: 4096 - signature]
    said = await scene.staff_says(scene.julien, f"/reply 1001 {fits}")
    [sent] = said.to(customer.user.id, "sendMessage")
    assert sent.status == 200 and fits in said.text(customer.user.id)


async def test_a_web_answer_too_long_by_itself_is_refused_and_nothing_sent(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    ticket = await scene.bot.staff.tickets.get("quick", 1001)
    assert ticket is not None
    mark = scene.mark()
    outcome = await scene.bot.staff.relay.from_web(ticket, "é" * 200_000, nonce="n" * 16, by="admin")
    assert outcome == "staff_reply_too_long"
    assert scene.since(mark).to(customer.user.id, "sendMessage") == []
