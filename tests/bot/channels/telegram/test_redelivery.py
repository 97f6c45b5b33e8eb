"""A redelivered update (Telegram did not get our 200, or a second process got it too) acts and answers once.

Each update here was answered 200 the first time; Telegram delivering it again must change nothing and
send nothing: not a second template version, not a second answer to /vocab, /tickets, /link, /help or
/mydata, not the journey's answer again.
"""

from __future__ import annotations

from bot.editing.overrides import Document, OverrideStore, Scope, template_document
from emulator import EmulatedUser
from tests.bot.staff_scene import Scene
from tests.support import Customer


async def _again(scene: Scene, user: EmulatedUser, text: str, *, private: bool = False) -> list[str]:
    """Say `text`, then have Telegram deliver that same update again; the methods of what the redelivery
    made the bot call."""
    first = await scene.emulator.send_text(user, text, chat=None if private else scene.room)
    assert first.status == 200 and first.calls, f"{text!r} was not answered the first time"
    mark = scene.mark()
    again = await scene.emulator.deliver_raw(first.update)
    assert again.status == 200
    return [call.method for call in scene.since(mark).calls]


async def test_a_template_saved_again_on_redelivery_keeps_one_version(scene: Scene, operator: EmulatedUser) -> None:
    assert await _again(scene, operator, "/template set help fr 0\nAide : répondez aux questions.", private=True) == []
    history = await OverrideStore(scene.bot.store.redis).history(Document(Scope(), template_document("help", "fr")))
    assert [version.number for version in history] == [1]


async def test_staff_commands_answer_once(scene: Scene) -> None:
    await Customer.new(scene.emulator).say(f"/start {scene.massy.token}")
    assert await _again(scene, scene.maria, "/vocab add PER Julien") == []
    assert await _again(scene, scene.julien, "/vocab list") == []
    assert await _again(scene, scene.julien, "/tickets") == []
    group = scene.emulator.add_group("Quick Orly — équipe", members=[scene.julien], admins=[scene.maria])
    first = await scene.emulator.send_text(
        scene.maria, f"/link {await scene.invite('quick', scene.orly.code)}", chat=group
    )
    again = await scene.emulator.deliver_raw(first.update)
    assert again.status == 200 and again.calls == []


async def test_customer_commands_answer_once(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    assert await _again(scene, customer.user, "/mydata", private=True) == []  # the file is not sent twice
    assert await _again(scene, customer.user, "/help", private=True) == []
    assert await _again(scene, customer.user, "/stopnews", private=True) == []


async def test_a_journey_answer_is_not_sent_again_after_a_200(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await customer.say(f"/start {scene.massy.token}")
    assert await _again(scene, customer.user, "Bonjour", private=True) == []
