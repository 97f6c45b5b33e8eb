"""Closing the loop: a ticket unanswered past the brand's deadline is reminded in the staff room, then
the brand admins hear of it; the clock is the test's."""

from __future__ import annotations

from emulator import EmulatedUser
from tests.bot.staff_scene import Scene
from tests.support import Customer

HOUR = 3600.0


async def test_a_reminder_then_the_brand_admins(scene: Scene, operator: EmulatedUser) -> None:
    for person in (operator, scene.maria, scene.julien):  # who started the bot (Telegram lets it write to them)
        await scene.emulator.send_text(person, "/start")
    await scene.feedback(Customer.new(scene.emulator))
    scene.clock.advance(24 * HOUR - 60)
    assert (await scene.notify()).calls == []
    scene.clock.advance(120)
    said = await scene.notify()
    assert said.texts(scene.room.id) == ["⏰ Le ticket n° 1001 (Quick Massy) attend une première réponse depuis 24 h."]
    [reminder] = said.to(scene.room.id, "sendMessage")
    assert reminder.params["reply_parameters"]["message_id"] == scene.card(1001).message_id
    scene.clock.advance(23 * HOUR)
    assert (await scene.notify()).calls == []
    scene.clock.advance(HOUR)
    said = await scene.notify()
    escalation = "⚠️ Quick : le ticket n° 1001 (Quick Massy) n'a reçu aucune réponse depuis 48 h"
    assert escalation in said.text(operator.id) and escalation in said.text(scene.maria.id)
    assert "malgré un rappel dans « Quick — équipe »" in said.text(operator.id)
    assert said.texts(scene.julien.id) == [] and said.texts(scene.room.id) == []  # Julien is staff, not an admin
    scene.clock.advance(100 * HOUR)
    assert (await scene.notify()).calls == []  # told once


async def test_an_answered_or_closed_ticket_gets_no_reminder(scene: Scene) -> None:
    await scene.feedback(Customer.new(scene.emulator, "Ann"))
    await scene.feedback(Customer.new(scene.emulator, "Bea"))
    await scene.staff_says(scene.julien, "/reply 1001 Merci pour votre retour.")
    await scene.staff_says(scene.julien, "/close 1002")
    scene.clock.advance(100 * HOUR)
    assert (await scene.notify()).calls == []


async def test_the_brands_own_deadline(scene: Scene) -> None:
    await scene.bot.store.set_deadline("quick", 2)
    await scene.feedback(Customer.new(scene.emulator))
    scene.clock.advance(2 * HOUR + 1)
    said = await scene.notify()
    assert "attend une première réponse depuis 2 h" in said.text(scene.room.id)


async def test_an_admin_who_never_started_the_bot_is_not_written_to(scene: Scene, operator: EmulatedUser) -> None:
    await scene.feedback(Customer.new(scene.emulator))
    scene.clock.advance(48 * HOUR + 1)
    await scene.notify()  # the reminder (late: the escalation is due right after it)
    scene.clock.advance(2)
    said = await scene.notify()  # the escalation: none of the admins started the bot
    assert said.to(operator.id, "sendMessage") == [] and said.to(scene.maria.id, "sendMessage") == []
    assert [c.method for c in said.calls] == ["getChatAdministrators"]
