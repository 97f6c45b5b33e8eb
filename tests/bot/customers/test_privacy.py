"""The customer's /mydata and /forget: what is kept is sent to them; what links it to them is erased."""

from __future__ import annotations

import asyncio
import json
import re

from bot.storage import keys
from bot.storage.identity import CustomerId
from tests.bot.staff_scene import Scene
from tests.support import Customer


async def test_mydata_sends_the_summary_and_the_whole_file(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer, reason="Frites froides.", suggestion="Plus de sel.")
    await scene.staff_says(scene.julien, "/reply 1001 Désolés, nous allons vérifier la friteuse.")
    await customer.say("Merci !")
    mark = scene.mark()
    await customer.say("/mydata")
    said = scene.since(mark)
    summary = said.text(customer.user.id)
    assert "Ce que je garde à votre sujet : 1 avis." in summary
    assert "Quick Massy · ⭐⭐ · ticket n° 1001 · 2 messages échangés" in summary and "Frites froides." in summary
    assert re.search(r"• \d\d/\d\d/20\d\d · Quick Massy", summary), summary  # a date as the French write it
    [document] = said.to(customer.user.id, "sendDocument")
    assert document.result["document"]["file_name"] == "parole-my-data.json"
    # The file's content is what `collect` gathers: check it directly.
    data = await scene.bot.staff.privacy.collect(CustomerId.telegram(customer.user.id))
    [feedback] = data["feedbacks"]
    assert (feedback["reason"], feedback["suggestion"], feedback["ticket"]["number"]) == (
        "Frites froides.", "Plus de sel.", 1001,
    )  # fmt: skip
    assert [(r["author"], r["text"]) for r in feedback["replies"]] == [
        ("staff", "Désolés, nous allons vérifier la friteuse."),
        ("customer", "Merci !"),
    ]
    json.dumps(data)  # plain JSON


async def test_mydata_for_someone_unknown(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    mark = scene.mark()
    await customer.say("/mydata")
    assert scene.since(mark).texts(customer.user.id) == ["Je ne garde rien à votre sujet."]


async def test_forget_unlinks_the_person_and_keeps_the_feedback(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    card = (await scene.feedback(customer)).text(scene.room.id)
    pseudonym = card.split("Client #")[1][:6]
    await scene.staff_says(scene.julien, "/reply 1001 Pouvez-vous préciser ?")
    await customer.say("C'était samedi midi.")
    turn = await customer.say("/forget")
    assert "oublie qui vous êtes" in turn.text and turn.buttons == ["Oui, oubliez-moi", "Non"]
    turn = await customer.tap("forget:yes")
    assert "plus rien ne relie vos avis à vous" in turn.text and turn.buttons == []
    redis = scene.bot.store.redis
    [feedback] = [f async for f in scene.bot.store.iter_feedback()]
    assert feedback["customer"] is None and feedback["reason"] == "On a attendu 40 minutes."  # kept, anonymous
    user_id = customer.user.id
    who = CustomerId.telegram(user_id)
    for key in (keys.chat(who), keys.customer_salt(who), keys.customer_feedbacks(who),
                keys.customer_tickets(who), keys.rated("quick", scene.massy.code, who)):  # fmt: skip
        assert not await redis.exists(key), key
    ticket = await scene.bot.staff.tickets.get("quick", 1001)
    assert ticket is not None and ticket.customer == ""
    # Nothing in Redis holds the chat id any more.
    async for key in redis.scan_iter(match="*"):
        assert str(user_id) not in key, key
        if await redis.type(key) == "hash":
            assert str(user_id) not in json.dumps(await redis.hgetall(key)), key
    # The staff can no longer reach them; the customer starts afresh, under a new pseudonym.
    said = await scene.staff_says(scene.julien, "/reply 1001 Bonjour ?")
    assert "le client a effacé ses données" in said.text(scene.room.id) and said.texts(user_id) == []
    [feedback] = [f async for f in scene.bot.store.iter_feedback()]
    assert [r["author"] for r in feedback["replies"]] == ["staff", "customer"]  # the thread stays, anonymous
    card = (await scene.feedback(customer)).text(scene.room.id)  # no "already rated" mark either
    assert "Ticket n° 1002" in card and f"Client #{pseudonym}" not in card


async def test_forget_cancelled_erases_nothing(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    await customer.say("/forget")
    turn = await customer.tap("forget:no")
    assert "rien n'a été effacé" in turn.text
    [feedback] = [f async for f in scene.bot.store.iter_feedback()]
    assert feedback["customer"] == CustomerId.telegram(customer.user.id)
    assert await scene.bot.store.redis.exists(keys.customer_salt(CustomerId.telegram(customer.user.id)))


async def test_help_names_the_privacy_commands(scene: Scene) -> None:
    turn = await Customer.new(scene.emulator).say("/help")
    assert "/mydata" in turn.text and "/forget" in turn.text


async def test_forget_waits_for_a_turn_under_way_and_leaves_no_chat_state(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    who = CustomerId.telegram(customer.user.id)
    redis = scene.bot.store.redis
    await customer.say(f"/start {scene.massy.token}")
    await customer.say("/forget")
    # A turn of the same chat is under way in another process: it holds the chat and will write its state.
    await redis.set(keys.chat_lock(who), "another-process", px=30_000)
    tap = asyncio.create_task(customer.tap("forget:yes"))
    await asyncio.sleep(0.5)
    assert not tap.done(), "the erasure went ahead while a turn of the chat was under way"
    await redis.set(keys.chat(who), '{"conversation": {}}')  # the turn saves its state, then lets go
    await redis.delete(keys.chat_lock(who))
    turn = await asyncio.wait_for(tap, 10)
    assert "plus rien ne relie vos avis à vous" in turn.text
    assert await redis.exists(keys.chat(who)) == 0  # erased after the turn, not before it
