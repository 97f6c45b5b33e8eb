"""The staff side stays in Telegram: a WhatsApp customer's card in the staff room, `/reply` reaching them on
WhatsApp, their answers under the card; the 24-hour window with and without the approved template; the
Cloud API's errors by meaning."""

from __future__ import annotations

import aiohttp
import pytest

from bot.cli.serve import RunningBot
from emulator import BotApiEmulator
from tests.bot.channels.whatsapp.chat import WhatsAppCustomer
from tests.bot.staff_scene import FIRST_TICKET, Scene
from tests.support import Clock
from whatsapp_emulator import CloudApiEmulator, WhatsAppUser

pytestmark = pytest.mark.asyncio
DAY = 24 * 3600.0


async def feedback_on_whatsapp(scene: Scene, customer: WhatsAppCustomer) -> None:
    """A whole feedback through the prefilled `#CODE`, then the notifier's round: the card goes out."""
    await customer.say(f"Bonjour ! Je donne mon avis (code #{scene.massy.short_code})")
    await customer.choose("⭐⭐")
    await customer.say("On a attendu 40 minutes.")
    await customer.choose("Passer")
    await scene.notify()


@pytest.fixture
async def scene(wa_bot: RunningBot, emulator: BotApiEmulator, clock: Clock) -> Scene:
    return await Scene.build(wa_bot, emulator, clock)


async def test_relay_both_ways_with_the_telegram_staff_room(
    scene: Scene, cloud: CloudApiEmulator, camille: WhatsAppUser
) -> None:
    customer = WhatsAppCustomer(cloud, camille)
    await feedback_on_whatsapp(scene, customer)
    card = scene.card(FIRST_TICKET)
    assert "via WhatsApp" in card.text and camille.wa_id not in card.text and "Camille" not in card.text
    said = await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET} Toutes nos excuses, <b>Julien</b> & co.")
    assert "Envoyé au client" in said.text(scene.room.id)
    reply = cloud.messages_to(camille)[-1]
    assert (
        reply.type == "text" and "Toutes nos excuses, <b>Julien</b> & co." in reply.text
    )  # the staff's words as typed
    turn = await customer.say("Merci, c'est gentil")
    assert turn.messages, "the customer is told their answer went to the team"
    assert "Merci, c'est gentil" in scene.last_in_room().text
    # Replying to the card on Telegram reaches them too.
    await scene.staff_says(scene.julien, "Bonne journée !", reply_to=scene.card(FIRST_TICKET))
    assert "Bonne journée !" in cloud.messages_to(camille)[-1].text


async def test_outside_the_window_without_a_template_the_room_is_told(
    scene: Scene, cloud: CloudApiEmulator, camille: WhatsAppUser, clock: Clock, wa_bot: RunningBot
) -> None:
    customer = WhatsAppCustomer(cloud, camille)
    await feedback_on_whatsapp(scene, customer)
    sent_before = len(cloud.sent)
    clock.advance(DAY + 60)
    said = await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET} Nous avons ouvert une deuxième caisse.")
    room = said.text(scene.room.id)
    assert "non envoyé" in room and "24 heures" in room and "PAROLE_WHATSAPP_REPLY_TEMPLATE" in room
    assert len(cloud.sent) == sent_before and not [c for c in cloud.calls[-3:] if not c.ok]
    assert int(await wa_bot.store.redis.get("parole:whatsapp:refused:outside_window") or 0) == 1
    ticket = await scene.bot.staff.tickets.get("quick", FIRST_TICKET)
    assert ticket is not None and ticket.status.value == "open"  # not answered: the staff can send it again
    # Once the customer writes again, the same answer goes through.
    await customer.say("Vous m'avez répondu ?")
    said = await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET} Nous avons ouvert une deuxième caisse.")
    assert "deuxième caisse" in cloud.messages_to(camille)[-1].text


async def test_a_window_the_api_says_is_closed_counts_as_closed(
    scene: Scene, cloud: CloudApiEmulator, camille: WhatsAppUser
) -> None:
    """Our clock and Meta's may disagree: the API's 131047 is the window closing, told to the room."""
    await feedback_on_whatsapp(scene, WhatsAppCustomer(cloud, camille))
    cloud.fail_next(131047)
    said = await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET} Merci !")
    assert "non envoyé" in said.text(scene.room.id)


async def test_undeliverable_marks_the_ticket_as_for_a_blocked_customer(
    scene: Scene, cloud: CloudApiEmulator, camille: WhatsAppUser
) -> None:
    await feedback_on_whatsapp(scene, WhatsAppCustomer(cloud, camille))
    camille.blocked = True
    said = await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET} Merci !")
    assert "bloqué" in said.text(scene.room.id), said.text(scene.room.id)
    ticket = await scene.bot.staff.tickets.get("quick", FIRST_TICKET)
    assert ticket is not None and ticket.undeliverable


async def test_rate_limits_and_an_unavailable_service_are_retried(
    scene: Scene, cloud: CloudApiEmulator, camille: WhatsAppUser
) -> None:
    await feedback_on_whatsapp(scene, WhatsAppCustomer(cloud, camille))
    cloud.fail_next(130429)
    cloud.fail_next(131056)
    cloud.fail_next(131016)
    await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET} Merci pour votre patience.")
    assert "patience" in cloud.messages_to(camille)[-1].text
    assert [c.response["error"]["code"] for c in cloud.calls[-4:-1]] == [130429, 131056, 131016]


async def test_a_server_error_is_not_retried_and_the_room_may_send_again(
    scene: Scene, cloud: CloudApiEmulator, camille: WhatsAppUser
) -> None:
    await feedback_on_whatsapp(scene, WhatsAppCustomer(cloud, camille))
    sent = len(cloud.sent)
    cloud.fail_next(131000)
    said = await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET} Merci !")
    assert "Réessayez" in said.text(scene.room.id) and len(cloud.sent) == sent
    await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET} Merci !")
    assert len(cloud.sent) == sent + 1


async def test_an_expired_token_fails_healthz_until_a_send_succeeds(
    scene: Scene, cloud: CloudApiEmulator, camille: WhatsAppUser, wa_bot: RunningBot
) -> None:
    await feedback_on_whatsapp(scene, WhatsAppCustomer(cloud, camille))
    cloud.fail_next(190)
    await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET} Merci !")
    assert wa_bot.whatsapp is not None and wa_bot.whatsapp.api.token_expired
    assert cloud.webhook_url is not None
    healthz = cloud.webhook_url.replace("/whatsapp", "/healthz")
    async with aiohttp.ClientSession() as session:
        async with session.get(healthz) as response:
            assert response.status == 503 and "token" in (await response.json())["whatsapp"]
        await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET} Merci !")
        async with session.get(healthz) as response:
            assert response.status == 200


async def test_outside_the_window_the_approved_template_carries_the_reply(
    wa_bot_with_template: RunningBot, emulator: BotApiEmulator, clock: Clock, cloud: CloudApiEmulator,
    camille: WhatsAppUser,
) -> None:  # fmt: skip
    scene = await Scene.build(wa_bot_with_template, emulator, clock)
    await feedback_on_whatsapp(scene, WhatsAppCustomer(cloud, camille))
    clock.advance(DAY + 60)
    said = await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET} Première ligne.\nDeuxième     ligne.")
    sent = cloud.messages_to(camille)[-1]
    assert sent.type == "template" and sent.template == "parole_reply"
    assert "Première ligne." in sent.text and "Deuxième ligne." in sent.text and "\n" not in sent.text
    assert "non envoyé" not in said.text(scene.room.id)


async def test_an_image_s_caption_answers_and_with_no_ticket_it_reaches_nobody(
    scene: Scene, cloud: CloudApiEmulator, camille: WhatsAppUser, wa_bot: RunningBot
) -> None:
    """An image's caption is text, as on Telegram (the reason here); an image with no ticket reaches nobody, and
    the customer is told so plainly (after the journey, tests/bot/channels/whatsapp/test_pictures.py)."""
    customer = WhatsAppCustomer(cloud, camille)
    await customer.say(f"Bonjour ! Je donne mon avis (code #{scene.massy.short_code})")
    await customer.choose("⭐⭐")
    turn = await customer.send("image", caption="Le sol était collant.")
    assert "Une idée ou une suggestion" in turn.text  # the caption answered the question
    await customer.choose("Passer")
    [feedback] = [f async for f in wa_bot.store.iter_feedback("quick")]
    assert feedback["reason"] == "Le sol était collant."
    other = WhatsAppCustomer(cloud, cloud.add_user("Bea", "33698765432"))
    nobody = await other.send("image")
    assert "Je ne peux transmettre cette photo à personne" in nobody.text
    assert not [call for call in cloud.calls if call.path.rsplit("/", 1)[-1] in cloud.media]  # nor looked up
