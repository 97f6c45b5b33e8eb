""" "Contact me" on WhatsApp: the thanks offers it with the venue's news within the Cloud API's limits (reply
buttons: 3 at most, 20 characters a title; beyond, a list), the choice opens the 5-star feedback's ticket once, and
a forged reply id (a button's id is the customer's to send) is refused in French, changing nothing."""

from __future__ import annotations

import pytest

from bot.cli.serve import RunningBot
from bot.seam.commands import CONTACT_ME
from bot.staff.tickets import TicketStatus
from bot.storage import keys
from emulator import BotApiEmulator
from tests.bot.channels.whatsapp.chat import WhatsAppCustomer
from tests.bot.staff_scene import FIRST_TICKET, Scene, contact_events
from tests.support import Clock
from whatsapp_emulator import CloudApiEmulator, WhatsAppUser

pytestmark = pytest.mark.asyncio
ASKED = "C'est noté : l'équipe vous recontactera ici."
EXPIRED = "Ce bouton n'est plus actif."


@pytest.fixture
async def scene(wa_bot: RunningBot, emulator: BotApiEmulator, clock: Clock) -> Scene:
    return await Scene.build(wa_bot, emulator, clock)


async def _five_stars(scene: Scene, customer: WhatsAppCustomer) -> list[str]:
    await customer.say(f"Bonjour ! Je donne mon avis (code #{scene.massy.short_code})")
    await customer.choose("⭐⭐⭐⭐⭐")
    await customer.say("L'accueil de Julien")
    thanks = await customer.choose("Passer")
    assert "Merci pour votre avis" in thanks.text
    return thanks.choices


async def test_contact_me_on_whatsapp_opens_the_ticket_once(
    scene: Scene, cloud: CloudApiEmulator, camille: WhatsAppUser
) -> None:
    customer = WhatsAppCustomer(cloud, camille)
    choices = await _five_stars(scene, customer)
    assert choices == ["💬 Me recontacter", "🔔 Recevoir les…"]  # a list: the news' label is over 20 characters
    await scene.notify()
    turn = await customer.choose("💬 Me recontacter")
    assert turn.text == ASKED
    await scene.notify()
    ticket = await scene.bot.staff.tickets.get("quick", FIRST_TICKET)
    assert ticket is not None and ticket.status is TicketStatus.OPEN
    assert (await customer.choose("💬 Me recontacter")).text == ASKED  # again: told the same, nothing more
    assert await contact_events(scene) == 1


async def test_a_forged_reply_id_on_whatsapp_is_refused(
    scene: Scene, cloud: CloudApiEmulator, camille: WhatsAppUser
) -> None:
    customer = WhatsAppCustomer(cloud, camille)
    await _five_stars(scene, customer)
    thanks = cloud.messages_to(camille)[-1]
    [own] = [i for i in thanks.choices if i.startswith(CONTACT_ME)]
    other = cloud.add_user("Dominique", "33698765432")
    for forged in (own, f"{CONTACT_ME}ffffffffffffffff", CONTACT_ME, CONTACT_ME + "é" * 150):
        reply = {"type": "list_reply", "list_reply": {"id": forged, "title": "💬 Me recontacter"}}
        context = {"from": cloud.number, "id": thanks.id}
        first = len(cloud.sent)
        delivery = await cloud.deliver(cloud.value(other, cloud.message(other, "interactive", reply, context=context)))
        assert delivery.status == 200
        said = [m.text for m in cloud.sent[first:] if m.to == other.wa_id]
        assert said == [EXPIRED], (forged, said)
    assert await contact_events(scene) == 0
    assert await scene.bot.store.redis.hget(keys.feedback("quick", own.removeprefix(CONTACT_ME)), "contact") is None
