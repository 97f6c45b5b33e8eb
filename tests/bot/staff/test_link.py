"""Linking a Telegram group as a staff room with a one-time code, and unlinking it."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import InvalidInput, NotFound
from bot.staff.rooms import normalise_invite
from emulator import EmulatedUser
from tests.bot.staff_scene import Scene
from tests.support import Customer


async def test_bad_expired_and_reused_codes_change_nothing(scene: Scene) -> None:
    group = scene.emulator.add_group("Autre groupe", members=[scene.julien])
    code = await scene.invite()
    other = scene.emulator.add_group("Encore un", members=[scene.julien])
    assert "salon de l'équipe de Quick" in (await scene.staff_says(scene.julien, f"/link {code}", chat=other)).text(
        other.id
    )
    expired = await scene.invite(hours=0.0002)  # 0.72 s
    await asyncio.sleep(0.8)
    for text in (f"/link {code}", f"/link {expired}", "/link ABCD-EFGH-JKMN", "/link 1234", "/link " + "x" * 500):
        said = await scene.staff_says(scene.julien, text, chat=group)
        assert "Ce code n'est pas valable : il est inconnu, expiré ou déjà utilisé" in said.text(group.id), text
    assert await scene.bot.staff.rooms.get(group.id) is None
    said = await scene.staff_says(scene.julien, "/link", chat=group)
    assert "Envoyez /link suivi du code" in said.text(group.id)


def test_codes_are_typed_leniently() -> None:
    assert normalise_invite("abcd efgh jkmn") == "ABCD-EFGH-JKMN"
    assert normalise_invite(" ABCD-EFGH-JKMN ") == "ABCD-EFGH-JKMN"
    for bad in ("ABCD-EFGH-JKM", "ABCD-EFGH-JKMNP", "ABCD-EFGH-JKM0", "ABCD-EFGH-JKMI", "", "é" * 12):
        assert normalise_invite(bad) is None


async def test_a_room_of_another_brand_refuses_and_the_code_stays_usable(scene: Scene) -> None:
    await scene.bot.store.add_brand("sncf", "SNCF")
    code = await scene.invite("sncf")
    said = await scene.staff_says(scene.maria, f"/link {code}")
    assert "déjà le salon d'une autre marque" in said.text(scene.room.id)
    room = await scene.bot.staff.rooms.get(scene.room.id)
    assert room is not None and room.brand == "quick"
    rail = scene.emulator.add_group("SNCF", members=[scene.maria])
    assert "salon de l'équipe de SNCF" in (await scene.staff_says(scene.maria, f"/link {code}", chat=rail)).text(
        rail.id
    )


async def test_linking_a_scope_elsewhere_moves_it(scene: Scene) -> None:
    new_room = scene.emulator.add_group("Quick — nouvelle équipe", admins=[scene.maria])
    said = await scene.link(new_room, scene.maria)
    assert "salon de l'équipe de Quick" in said.text(new_room.id)
    assert "arrivent désormais dans un autre groupe (Quick — nouvelle équipe)" in said.text(scene.room.id)
    assert await scene.bot.staff.rooms.get(scene.room.id) is None
    card = await scene.feedback(Customer.new(scene.emulator))
    assert "Ticket n° 1001" in card.text(new_room.id) and card.texts(scene.room.id) == []


async def test_unlink_by_brand_admins_only(scene: Scene, operator: EmulatedUser) -> None:
    said = await scene.staff_says(scene.julien, "/unlink")  # a member, not an administrator
    assert "Seul un administrateur de la marque" in said.text(scene.room.id)
    assert await scene.bot.staff.rooms.get(scene.room.id) is not None
    said = await scene.staff_says(scene.maria, "/unlink")  # the group's Telegram administrator
    assert "n'est plus un salon de l'équipe" in said.text(scene.room.id)
    assert await scene.bot.staff.rooms.get(scene.room.id) is None
    said = await scene.staff_says(scene.maria, "/unlink")
    assert "Ce groupe n'est pas un salon de l'équipe" in said.text(scene.room.id)
    # An operator (PAROLE_ADMIN_IDS) may unlink a room where Telegram sees them as a plain member.
    room = scene.emulator.add_group("Quick — opérateurs", members=[operator], admins=[scene.maria])
    await scene.link(room, scene.maria)
    said = await scene.staff_says(operator, "/unlink", chat=room)
    assert "n'est plus un salon de l'équipe" in said.text(room.id)


async def test_english_speaking_staff_get_an_english_room(scene: Scene) -> None:
    ann = scene.emulator.add_user("Ann", language_code="en")
    room = scene.emulator.add_group("Quick Orly staff", admins=[ann])
    said = await scene.link(room, ann, venue=scene.orly.code)
    assert "This group is now the staff room of Quick for Quick Orly" in said.text(room.id)
    card = (await scene.feedback(Customer.new(scene.emulator), scene.orly)).text(room.id)
    assert "Ticket #1001 · Customer #" in card and "Answer the customer" in card


async def test_invites_refuse_bad_input(scene: Scene) -> None:
    rooms = scene.bot.staff.rooms
    with pytest.raises(NotFound):
        await rooms.invite("nobody")
    with pytest.raises(NotFound):
        await rooms.invite("quick", "nowhere")
    for hours in (0.0, -1.0, 24.0 * 8):
        with pytest.raises(InvalidInput):
            await rooms.invite("quick", hours=hours)


async def test_help_and_start_in_a_group_are_answered(scene: Scene) -> None:
    """The customers' commands in a group get the staff's help, not silence: how to link it, or what to do."""
    group = scene.emulator.add_group("Pas encore relié", members=[scene.julien])
    for command in ("/help", "/start"):
        told = (await scene.staff_says(scene.julien, command, chat=group)).text(group.id)
        assert "n'en est pas encore un" in told and "/link" in told and "parole staff" not in told, command
    told = (await scene.staff_says(scene.julien, "/help")).text(scene.room.id)
    assert "avis des clients de Quick" in told and "/reply NUMÉRO" in told and "/tickets" in told
    told = (await scene.staff_says(scene.julien, f"/start@{scene.emulator.bot_username}")).text(scene.room.id)
    assert "/close NUMÉRO" in told
