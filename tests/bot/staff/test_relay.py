"""The relay through the real bot: cards in the staff room, staff answers to the customer's chat, the
customer's answers under the card, the thread kept and exported."""

from __future__ import annotations

import asyncio

import pytest

from bot.analysis.worker import AnalysisStore
from bot.cli.serve import Listen, RunningBot, running_bot
from bot.config import Settings
from bot.formats import Formats
from bot.insights.export import export_record
from bot.staff.tickets import TicketStatus
from bot.storage import keys
from emulator import BotApiEmulator
from nlp.types import Analysis, Entity, Kind, Label
from tests.bot.staff_scene import FIRST_TICKET, Said, Scene, play_relay
from tests.support import Clock, Customer, load_transcript


async def test_the_whole_relay_both_ways(scene: Scene) -> None:
    customer = Customer.new(scene.emulator, "Camille")
    await play_relay(scene, customer, load_transcript("staff_relay"))
    ticket = await scene.bot.staff.tickets.get("quick", FIRST_TICKET)
    assert ticket is not None and ticket.status is TicketStatus.CLOSED and ticket.first_response_at is not None
    [feedback] = [f async for f in scene.bot.store.iter_feedback()]
    record = export_record(feedback)
    assert [(r["author"], r["text"]) for r in record["replies"]] == [
        ("staff", "Bonjour, toutes nos excuses : nous ouvrons une deuxième caisse le midi."),
        ("customer", "Merci, c'est gentil de répondre !"),
        ("staff", "Avec plaisir, à bientôt !"),
        ("staff", "Et un café offert à votre prochaine visite."),
        ("customer", "Encore merci"),  # after the close: the ticket opened again
        ("staff", "Un dernier mot"),
    ]
    assert all(r["at"][-6:] in ("+01:00", "+02:00") and r["at"] >= record["created_at"] for r in record["replies"])


async def test_a_long_message_is_cut_for_the_room_and_kept_whole_in_the_thread(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    long = "Le service était lent. " * 180  # 4,140 characters: Telegram takes 4,096 in a message
    await customer.say(long[:4096])
    [shown] = [m.text for m in scene.emulator.bot_messages(scene.room.id) if "Le service était lent." in m.text]
    assert "…" in shown and len(shown) < 4096  # cut with a visible mark, within the card's limit
    [feedback] = [f async for f in scene.bot.store.iter_feedback()]
    [kept] = [r["text"] for r in export_record(feedback)["replies"] if r["author"] == "customer"]
    assert kept == long[:4096].strip() and "…" not in kept  # the export (and the web) have it whole


async def test_the_card_never_shows_the_customers_telegram_identity(scene: Scene) -> None:
    customer = Customer(scene.emulator, scene.emulator.add_user("Zoé", last_name="Martin", username="zoe_m"))
    said = await scene.feedback(customer, reason="Zoé Martin attend toujours.")
    card = said.text(scene.room.id)
    pseudonym = card.split("Client #")[1][:6]
    assert len(pseudonym) == 6 and all(c in "0123456789ABCDEF" for c in pseudonym)
    for identity in ("zoe_m", str(customer.user.id), "Martin\n"):
        assert identity not in card
    # Stable for the same customer and brand; another venue of the brand, another ticket, same pseudonym.
    said = await scene.feedback(customer, scene.orly)
    assert f"Ticket n° {FIRST_TICKET + 1} · Client #{pseudonym}" in said.text(scene.room.id)
    # Another customer, another pseudonym.
    said = await scene.feedback(Customer.new(scene.emulator, "Léo"))
    assert f"Client #{pseudonym}" not in said.text(scene.room.id)


async def test_pseudonyms_differ_between_brands(scene: Scene) -> None:
    await scene.bot.store.add_brand("sncf", "SNCF")
    gare = await scene.bot.store.add_venue("sncf", "Gare de Massy")
    rail_room = scene.emulator.add_group("SNCF — agents", admins=[scene.maria])
    await scene.link(rail_room, scene.maria, "sncf")
    customer = Customer.new(scene.emulator)
    quick_card = (await scene.feedback(customer)).text(scene.room.id)
    rail_card = (await scene.feedback(customer, gare)).text(rail_room.id)
    assert "Ticket n° 1001" in quick_card and "Ticket n° 1001" in rail_card  # numbered per brand
    assert quick_card.split("Client #")[1][:6] != rail_card.split("Client #")[1][:6]


async def test_a_late_analysis_edits_the_card_and_an_early_one_is_on_it(
    staff_bot: RunningBot, emulator: BotApiEmulator, clock: Clock, scene: Scene
) -> None:
    staff_bot.staff.notifier.analysis_wait = 5.0
    customer = Customer.new(emulator)
    said = await scene.feedback(customer, reason="Julien nous a servi des frites froides.")
    assert said.texts(scene.room.id) == []  # the card waits for the analysis…
    clock.advance(6)
    card = (await scene.notify()).text(scene.room.id)  # …then goes out without it
    assert "Ticket n° 1001" in card and "Type :" not in card
    analysis = Analysis(
        language="fr",
        kind=Kind.COMPLAINT,
        aspects=("product_quality",),
        entities=(Entity("Julien", Label.PER, 0, 6, "reason", "julien"),),
    )
    await AnalysisStore(staff_bot.store.redis).save("quick", await _feedback_id(scene, 1001), analysis, marker="1-0")
    said = await scene.notify()
    assert [c.method for c in said.calls] == ["editMessageText"]
    edited = scene.card(1001)
    assert "Type : Réclamation" in edited.text and "Sujets : qualité des produits" in edited.text
    assert "Mentions : Julien (personne)" in edited.text and "<b>Julien</b> nous a servi" in str(edited.html)
    assert edited.buttons()  # still open: Close and Spam stay
    assert (await scene.notify()).calls == []  # edited once
    # Analysed before the card's wait is over: the card goes out with it, at once.
    await scene.feedback(Customer.new(emulator, "Léo"), scene.orly, notify=False)
    await scene.notify()
    await AnalysisStore(staff_bot.store.redis).save("quick", await _feedback_id(scene, 1002), analysis, marker="2-0")
    said = await scene.notify()
    assert [c.method for c in said.calls] == ["sendMessage"] and "Type : Réclamation" in said.text(scene.room.id)
    clock.advance(6)
    assert (await scene.notify()).calls == []  # and not a second time when its wait is over


async def _feedback_id(scene: Scene, number: int) -> str:
    ticket = await scene.bot.staff.tickets.get("quick", number)
    assert ticket is not None
    return ticket.feedback


async def test_an_abandoned_feedback_gets_a_card_too(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await customer.say(f"/start {scene.massy.token}")
    await customer.say("1")
    scene.clock.advance(1801)
    assert await scene.bot.store.abandon_expired(scene.clock())
    card = (await scene.notify()).text(scene.room.id)
    assert "Ticket n° 1001" in card and "Avis interrompu avant la fin" in card and "⭐ (1/5)" in card


async def test_venue_rooms_get_their_venue_and_the_brand_room_the_rest(scene: Scene) -> None:
    orly_room = scene.emulator.add_group("Quick Orly", admins=[scene.julien])
    said = await scene.link(orly_room, scene.julien, venue=scene.orly.code)
    assert "salon de l'équipe de Quick pour Quick Orly" in said.text(orly_room.id)
    massy = await scene.feedback(Customer.new(scene.emulator, "Ann"))
    orly = await scene.feedback(Customer.new(scene.emulator, "Bea"), scene.orly)
    assert "Quick Massy" in massy.text(scene.room.id) and massy.texts(orly_room.id) == []
    assert "Quick Orly" in orly.text(orly_room.id) and orly.texts(scene.room.id) == []
    # The venue room lists and acts on its venue's tickets only.
    listed = (await scene.staff_says(scene.julien, "/tickets", chat=orly_room)).text(orly_room.id)
    assert "n° 1002 · Quick Orly" in listed and "1001" not in listed
    said = await scene.staff_says(scene.julien, "/reply 1001 Bonjour", chat=orly_room)
    assert "Aucun ticket n° 1001 dans ce salon" in said.text(orly_room.id)


async def test_with_several_open_tickets_the_customer_answers_the_latest_active(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)  # ticket 1001, Quick Massy
    scene.clock.advance(60)
    await scene.feedback(customer, scene.orly)  # ticket 1002, Quick Orly: the latest created
    scene.clock.advance(60)
    await scene.staff_says(scene.julien, "/reply 1001 Pouvez-vous préciser l'heure ?")  # 1001: the latest active
    said = await _customer_says(scene, customer, "Vers midi.")
    assert "ticket n° 1001 (Quick Massy)" in said.text(scene.room.id)
    assert "Transmis à l'équipe de Quick Massy" in said.text(customer.user.id)


async def _customer_says(scene: Scene, customer: Customer, text: str) -> Said:
    mark = scene.mark()
    await customer.say(text)
    return scene.since(mark)


async def test_the_customer_relay_window(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    await scene.staff_says(scene.julien, "/reply 1001 Merci !")
    scene.clock.advance(71 * 3600)
    mark = scene.mark()
    await customer.say("Je vous en prie")
    assert "Transmis" in scene.since(mark).text(customer.user.id)
    scene.clock.advance(72 * 3600 + 1)  # 72 hours after the last message of the thread
    mark = scene.mark()
    await customer.say("Vous êtes là ?")
    said = scene.since(mark)
    assert "scannez le QR code" in said.text(customer.user.id) and said.texts(scene.room.id) == []


async def test_a_customer_writing_after_the_ticket_was_closed_reopens_it(scene: Scene) -> None:
    """The thanks promised the team could answer here: after /close the customer's message still reaches the
    team, the ticket opens again, and both sides are told; a ticket marked spam stays shut."""
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    await scene.staff_says(scene.julien, "/reply 1001 Désolés, nous regardons.")
    await scene.staff_says(scene.julien, "/close 1001")
    scene.clock.advance(3600)
    said = await _customer_says(scene, customer, "En fait, c'est encore arrivé ce midi.")
    told = said.text(customer.user.id)
    assert "ticket n° 1001 était fermé : il est rouvert" in told and "l'équipe de Quick Massy" in told
    room = said.text(scene.room.id)
    assert "ticket n° 1001 (Quick Massy) · 🔄 ticket rouvert" in room and "c'est encore arrivé ce midi" in room
    ticket = await scene.bot.staff.tickets.get("quick", 1001)
    assert ticket is not None and ticket.status is TicketStatus.ANSWERED and ticket.closed_at is None
    assert "💬 répondu" in scene.card(1001).text
    assert await scene.bot.store.redis.zscore(keys.open_tickets("quick"), "1001") is not None
    # Open again, the staff can answer it as any open ticket; a next message is relayed as usual.
    said = await scene.staff_says(scene.julien, "/reply 1001 Merci, nous rappelons le responsable.")
    assert "Merci, nous rappelons le responsable." in said.text(customer.user.id)
    said = await _customer_says(scene, customer, "Merci.")
    assert "Transmis à l'équipe de Quick Massy" in said.text(customer.user.id) and "rouvert" not in said.text(
        scene.room.id
    )
    # Spam stays spam: the customer gets the usual answer, nothing reaches the room.
    other = Customer.new(scene.emulator, "Bea")
    await scene.feedback(other)
    await scene.emulator.click(scene.julien, scene.card(1002), "ticket:spam:1002")
    said = await _customer_says(scene, other, "Pourquoi ?")
    assert said.texts(scene.room.id) == [] and "rouvert" not in said.text(other.user.id)


async def test_a_feedback_under_way_is_not_relayed(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    await customer.say(f"/start {scene.orly.token}")
    await customer.say("4")
    mark = scene.mark()
    await customer.say("Très bon accueil")
    said = scene.since(mark)
    assert "Une idée ou une suggestion" in said.text(customer.user.id) and said.texts(scene.room.id) == []


async def test_staff_commands_bad_input(scene: Scene) -> None:
    await scene.feedback(Customer.new(scene.emulator))
    for command, answer in [
        ("/reply", "Pour répondre : /reply NUMÉRO votre texte"),
        ("/reply 1001", "Pour répondre : /reply NUMÉRO votre texte"),
        ("/reply abc def", "Pour répondre : /reply NUMÉRO votre texte"),
        ("/reply 99999 Bonjour", "Aucun ticket n° 99999 dans ce salon"),
        ("/reply 1001 \u200b\u200b", "Pour répondre : /reply NUMÉRO votre texte"),
        ("/close", "Pour fermer un ticket : /close NUMÉRO"),
        ("/close abc", "Pour fermer un ticket : /close NUMÉRO"),
        ("/close 1001 maintenant", "Pour fermer un ticket : /close NUMÉRO"),
        ("/close 4242", "Aucun ticket n° 4242 dans ce salon"),
        ("/link", "Envoyez /link suivi du code"),
        (f"/reply@{scene.emulator.bot_username} 1001", "Pour répondre"),
    ]:
        said = await scene.staff_says(scene.julien, command)
        assert answer in said.text(scene.room.id), (command, said.text(scene.room.id))
    # Commands for another bot, and messages that are not commands, are left alone.
    for text in ("/reply@other_bot 1001 Bonjour", "/start@other_bot", "Bonjour l'équipe"):
        assert (await scene.staff_says(scene.julien, text)).calls == []
    assert "/tickets" in (await scene.staff_says(scene.julien, "/start")).text(scene.room.id)  # the room's help
    ticket = await scene.bot.staff.tickets.get("quick", 1001)
    assert ticket is not None and ticket.status is TicketStatus.OPEN and ticket.first_response_at is None


async def test_close_list_and_spam(scene: Scene) -> None:
    for name in ("Ann", "Bea", "Cid"):
        await scene.feedback(Customer.new(scene.emulator, name))
    listed = (await scene.staff_says(scene.julien, "/tickets")).text(scene.room.id)
    assert "3 tickets ouverts" in listed and all(f"n° {n} · Quick Massy" in listed for n in (1001, 1002, 1003))
    said = await scene.staff_says(scene.julien, "/close 1001")
    assert "Ticket n° 1001 fermé" in said.text(scene.room.id)
    assert "✅ fermé" in scene.card(1001).text and scene.card(1001).buttons() == []
    said = await scene.staff_says(scene.julien, "/close 1001")
    assert "Le ticket n° 1001 est fermé" in said.text(scene.room.id)
    said = await scene.staff_says(scene.julien, "/close", reply_to=scene.card(1002))  # /close as a reply to a card
    assert "Ticket n° 1002 fermé" in said.text(scene.room.id)
    delivery = await scene.emulator.click(scene.julien, scene.card(1003), "ticket:spam:1003")
    assert delivery.calls[-1].method == "answerCallbackQuery"
    assert "classé comme spam" in str(delivery.calls[-1].params.get("text"))
    assert "🚫 spam" in scene.card(1003).text
    assert "Aucun ticket ouvert" in (await scene.staff_says(scene.julien, "/tickets")).text(scene.room.id)
    assert await scene.bot.store.redis.zcard(keys.open_tickets("quick")) == 0


async def test_a_non_text_reply_to_a_card_is_not_relayed(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    mark = scene.mark()
    await scene.emulator.send_media(scene.julien, "sticker", chat=scene.room)  # not a reply: ignored
    assert scene.since(mark).calls == []
    update = {
        "message": {
            "message_id": 500, "from": scene.julien.to_json(), "chat": {"id": scene.room.id, "type": "supergroup",
            "title": scene.room.title}, "date": int(scene.clock()), "photo": [{"file_id": "p", "file_unique_id": "p",
            "width": 1, "height": 1}], "reply_to_message": {"message_id": scene.card(1001).message_id,
            "chat": {"id": scene.room.id, "type": "supergroup"}, "date": int(scene.clock())},
        }
    }  # fmt: skip
    mark = scene.mark()
    await scene.emulator.deliver_raw(update)
    said = scene.since(mark)
    assert "Seul du texte peut être transmis" in said.text(scene.room.id) and said.texts(customer.user.id) == []


async def test_the_notifier_loop_posts_cards_by_itself(settings: Settings, emulator: BotApiEmulator) -> None:
    assert settings.webhook_url is not None
    port = int(settings.webhook_url.split(":")[2].split("/")[0])
    clock = Clock()
    async with running_bot(settings, listen=Listen("127.0.0.1", port), clock=clock, notify_every=0.05,
                           analysis_wait=0.1) as bot:  # fmt: skip
        scene = await Scene.build(bot, emulator, clock)
        await scene.feedback(Customer.new(emulator), notify=False)
        for _ in range(100):
            if any("Ticket n° 1001" in m.text for m in emulator.bot_messages(scene.room.id)):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("no card within 5 s")


async def test_a_staff_answer_from_telegram_records_who_wrote_it(scene: Scene) -> None:
    from bot.web.tickets import ticket_context

    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    said = await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET} Nous avons ouvert une deuxième caisse.")
    got = said.text(customer.user.id)
    assert "deuxième caisse" in got and "Julien" not in got  # the customer reads the venue, not who wrote
    await scene.emulator.send_text(scene.maria, "Merci de votre patience.", chat=scene.room,
                                   reply_to=scene.card(FIRST_TICKET))  # fmt: skip
    tickets = scene.bot.staff.tickets
    ticket = await tickets.get("quick", FIRST_TICKET)
    assert ticket is not None
    thread = await tickets.thread("quick", ticket.feedback)
    assert [(m.by, m.by_telegram) for m in thread] == [("Julien", scene.julien.id), ("Maria", scene.maria.id)]
    page = await ticket_context(scene.bot.store, tickets, ticket)
    labels = [item["label"] for item in page["thread"] if item["who"] == "staff"]
    assert labels == ["Équipe (Julien, Telegram)", "Équipe (Maria, Telegram)"]


async def test_messages_written_before_any_room_wait_for_it(
    staff_bot: RunningBot, emulator: BotApiEmulator, clock: Clock
) -> None:
    """A ticket opened while the brand had no staff room: what its customer writes is kept (they are told so), and
    posted in the room once one is linked: the card, then the messages in order with when they were written."""
    await staff_bot.store.add_brand("zinc", "Le Petit Zinc")
    venue = await staff_bot.store.add_venue("zinc", "Le Petit Zinc")
    customer = Customer.new(emulator)
    await customer.say(f"/start {venue.token}")
    await customer.say("2")
    await customer.say("Le plat est arrivé froid.")
    await customer.say("passer")
    await staff_bot.staff.notifier.tick()  # the ticket opens; no room: no card
    [ticket] = await staff_bot.staff.tickets.open_tickets("zinc")
    assert ticket.card_message is None and ticket.room is None
    written = [clock()]
    first = await customer.say("Vous avez eu mon message ?")
    assert "Votre message est gardé pour l'équipe du Petit Zinc" in first.text and "scannez" not in first.text
    clock.advance(20 * 60)
    written.append(clock())
    await customer.say("Le serveur s'appelait Hugo.")
    await customer.say("\u200b")  # nothing to pass on: not queued
    clock.advance(3600)
    marie = emulator.add_user("Marie")
    room = emulator.add_group("Zinc — équipe", admins=[marie])
    code = (await staff_bot.staff.rooms.invite("zinc", None, hours=1, now=clock())).code
    mark = len(emulator.calls)
    await emulator.send_text(marie, f"/link {code}", chat=room)
    posted = [
        t for c in emulator.calls[mark:] if c.method == "sendMessage" and c.params.get("chat_id") == room.id
        for t in [str(c.response["result"]["text"])]
    ]  # fmt: skip
    assert "salon de l'équipe du Petit Zinc" in posted[0]
    assert "Ticket n° 1001" in posted[1] and "Le plat est arrivé froid." in posted[1]  # the card
    assert len(posted) == 4 and "Vous avez eu mon message ?" in posted[2] and "Hugo" in posted[3]
    for text, at in zip(posted[2:], written, strict=True):  # each with when it was written (Paris time)
        moments = {Formats("fr").moment(at), Formats("fr").moment(at + 1)}  # (a minute may turn meanwhile)
        assert any(f"écrit le {moment}, avant que ce salon soit relié" in text for moment in moments), text
    linked = await staff_bot.staff.tickets.get("zinc", 1001)
    assert linked is not None and linked.room == room.id
    assert await staff_bot.staff.tickets.waiting_for_room("zinc") == []
    # The staff answer a message that waited by replying to it; the customer's next one is relayed as usual.
    queued = emulator.bot_messages(room.id)[2]
    mark = len(emulator.calls)
    await emulator.send_text(marie, "Oui, désolés : nous offrons le dessert.", chat=room, reply_to=queued)
    relayed = [
        c for c in emulator.calls[mark:] if c.method == "sendMessage" and c.params["chat_id"] == customer.user.id
    ]
    assert relayed and "nous offrons le dessert" in str(relayed[0].params["text"])
    after = await customer.say("Merci !")
    assert "Transmis à l'équipe du Petit Zinc" in after.text


async def test_a_photo_after_the_journey_goes_to_the_room(scene: Scene) -> None:
    """After the journey a photo reaches the ticket's room under its card (sendPhoto with the bot's own file_id, the
    caption kept), and the thread keeps it; with no ticket the customer is told plainly it reaches nobody."""
    stranger = Customer.new(scene.emulator, "Bea")
    told = await stranger.send("photo")
    assert "Je ne peux transmettre cette photo à personne" in told.text and told.calls[-1].method == "sendMessage"
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    mark = scene.mark()
    sent = await customer.send("photo", caption="La porte des toilettes, cassée depuis un mois.")
    assert "Transmis à l'équipe de Quick Massy" in sent.text
    [photo] = scene.since(mark).to(scene.room.id, "sendPhoto")
    original = scene.emulator.chat_messages(customer.user.id)[-2]  # the customer's photo, before the answer
    assert photo.params["photo"] == original.payload["photo"][-1]["file_id"]  # its largest size, sent again
    assert photo.params["reply_parameters"]["message_id"] == scene.card(1001).message_id
    in_room = scene.last_in_room()
    assert in_room.kind.value == "photo" and in_room.text.startswith("📷 Client #")
    assert "ticket n° 1001 (Quick Massy)" in in_room.text and "cassée depuis un mois" in in_room.text
    plain = await customer.send("photo")  # without a caption
    assert "Transmis" in plain.text and scene.last_in_room().text.endswith("(Quick Massy)")
    thread = await scene.bot.staff.tickets.thread("quick", (await _ticket_feedback(scene, 1001)))
    assert [m.text for m in thread][-2:] == ["📷 La porte des toilettes, cassée depuis un mois.", "📷"]
    # The staff answer a photo by replying to it, as to any message of the thread.
    said = await scene.staff_says(scene.julien, "Merci, le plombier passe demain.", reply_to=scene.last_in_room())
    assert "le plombier passe demain" in said.text(customer.user.id)


async def _ticket_feedback(scene: Scene, number: int) -> str:
    ticket = await scene.bot.staff.tickets.get("quick", number)
    assert ticket is not None
    return ticket.feedback


async def test_a_room_linked_after_the_ticket_gets_its_card_at_the_next_message(
    staff_bot: RunningBot, emulator: BotApiEmulator, clock: Clock
) -> None:
    """Linked after the ticket opened (nothing was waiting for it): the customer's next message brings the card
    to the room, and goes under it."""
    await staff_bot.store.add_brand("zinc", "Le Petit Zinc")
    venue = await staff_bot.store.add_venue("zinc", "Le Petit Zinc")
    customer = Customer.new(emulator)
    for said in (f"/start {venue.token}", "2", "Le plat est arrivé froid.", "passer"):
        await customer.say(said)
    await staff_bot.staff.notifier.tick()
    marie = emulator.add_user("Marie")
    room = emulator.add_group("Zinc — équipe", admins=[marie])
    code = (await staff_bot.staff.rooms.invite("zinc", None, hours=1, now=clock())).code
    await emulator.send_text(marie, f"/link {code}", chat=room)
    assert len(emulator.bot_messages(room.id)) == 1  # "linked": nothing waited
    told = await customer.say("Vous avez eu mon message ?")
    assert "Transmis à l'équipe du Petit Zinc" in told.text
    card, message = emulator.bot_messages(room.id)[1:]
    assert "Ticket n° 1001" in card.text and "Vous avez eu mon message ?" in message.text
    assert message.reply_to_message_id == card.message_id
