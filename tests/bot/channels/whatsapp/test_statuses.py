"""Delivery statuses of staff answers on WhatsApp: `sent`, `delivered`, `read` go on the ticket, its card and
`/tickets`, in order whatever order Meta reports them in; `failed` tells the staff room; statuses of other
messages, unknown ids and unknown statuses change nothing."""

from __future__ import annotations

import pytest

from bot.cli.serve import RunningBot
from emulator import BotApiEmulator
from tests.bot.channels.whatsapp.chat import WhatsAppCustomer
from tests.bot.channels.whatsapp.test_relay import feedback_on_whatsapp
from tests.bot.staff_scene import FIRST_TICKET, Scene
from tests.support import Clock
from whatsapp_emulator import CloudApiEmulator, SentMessage, WhatsAppUser

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def scene(wa_bot: RunningBot, emulator: BotApiEmulator, clock: Clock) -> Scene:
    return await Scene.build(wa_bot, emulator, clock)


async def answered(scene: Scene, cloud: CloudApiEmulator, camille: WhatsAppUser, text: str = "Merci !") -> SentMessage:
    await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET} {text}")
    answer = cloud.messages_to(camille)[-1]
    assert text in answer.text
    return answer


async def delivery(scene: Scene) -> str:
    ticket = await scene.bot.staff.tickets.get("quick", FIRST_TICKET)
    assert ticket is not None
    return ticket.delivery


async def test_delivered_then_read_reach_the_ticket_the_card_and_tickets(
    scene: Scene, cloud: CloudApiEmulator, camille: WhatsAppUser
) -> None:
    await feedback_on_whatsapp(scene, WhatsAppCustomer(cloud, camille))
    answer = await answered(scene, cloud, camille)
    assert await delivery(scene) == ""
    for status in ("sent", "delivered"):
        assert (await cloud.deliver(cloud.status_value(answer, status))).status == 200
    assert await delivery(scene) == "delivered"
    assert "Réponse remise au client" in scene.card(FIRST_TICKET).text
    await cloud.deliver(cloud.status_value(answer, "read"))
    assert await delivery(scene) == "read" and "Réponse lue par le client" in scene.card(FIRST_TICKET).text
    said = await scene.staff_says(scene.julien, "/tickets")
    assert f"n° {FIRST_TICKET}" in said.text(scene.room.id) and "👁 lue" in said.text(scene.room.id)


async def test_statuses_out_of_order_and_redelivered_never_go_back(
    scene: Scene, cloud: CloudApiEmulator, camille: WhatsAppUser
) -> None:
    await feedback_on_whatsapp(scene, WhatsAppCustomer(cloud, camille))
    answer = await answered(scene, cloud, camille)
    await cloud.deliver(cloud.status_value(answer, "read"), cloud.status_value(answer, "delivered"))
    await cloud.deliver(cloud.status_value(answer, "sent"))
    assert await delivery(scene) == "read"


async def test_a_failed_answer_tells_the_room_and_marks_the_ticket(
    scene: Scene, cloud: CloudApiEmulator, camille: WhatsAppUser
) -> None:
    await feedback_on_whatsapp(scene, WhatsAppCustomer(cloud, camille))
    answer = await answered(scene, cloud, camille)
    mark = scene.mark()
    await cloud.deliver(cloud.status_value(answer, "failed", error=131026))
    room = scene.since(mark).text(scene.room.id)
    assert "WhatsApp n'a pas pu remettre la réponse" in room and f"n° {FIRST_TICKET}" in room
    assert await delivery(scene) == "failed" and "Réponse non remise" in scene.card(FIRST_TICKET).text
    mark = scene.mark()
    await cloud.deliver(cloud.status_value(answer, "failed", error=131026))  # Meta delivers it again
    assert "remettre" not in scene.since(mark).text(scene.room.id)


async def test_a_newer_answer_replaces_the_state_and_an_older_ones_failure_is_still_told(
    scene: Scene, cloud: CloudApiEmulator, camille: WhatsAppUser
) -> None:
    await feedback_on_whatsapp(scene, WhatsAppCustomer(cloud, camille))
    first = await answered(scene, cloud, camille, "Première réponse.")
    await cloud.deliver(cloud.status_value(first, "read"))
    second = await answered(scene, cloud, camille, "Seconde réponse.")
    await cloud.deliver(cloud.status_value(second, "delivered"))
    assert await delivery(scene) == "delivered"
    mark = scene.mark()
    await cloud.deliver(cloud.status_value(first, "failed", error=131026))
    assert "remettre" in scene.since(mark).text(scene.room.id)
    assert await delivery(scene) == "delivered"  # the latest answer's state stays on the ticket


async def test_statuses_of_other_messages_unknown_ids_and_unknown_statuses_change_nothing(
    scene: Scene, cloud: CloudApiEmulator, camille: WhatsAppUser
) -> None:
    await feedback_on_whatsapp(scene, WhatsAppCustomer(cloud, camille))
    question = cloud.messages_to(camille)[0]  # the bot's own greeting, not a staff answer
    answer = await answered(scene, cloud, camille)
    mark = scene.mark()
    stranger = SentMessage("wamid.UNKNOWN0000", camille.wa_id, "text", {}, "")
    weird = cloud.status_value(answer, "read")
    weird["statuses"][0]["status"] = "exploded"
    missing = cloud.status_value(answer, "read")
    del missing["statuses"][0]["id"]
    values = [
        cloud.status_value(question, "failed", error=131026),
        cloud.status_value(stranger, "read"),
        weird,
        missing,
    ]
    for value in values:
        assert (await cloud.deliver(value)).status == 200
    assert await delivery(scene) == "" and not scene.since(mark).text(scene.room.id)
    unsigned = await cloud.post(b'{"entry": []}', signature="sha256=00")
    assert unsigned.status == 403
