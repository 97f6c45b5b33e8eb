"""Who may act on a ticket: only members of a staff room of the ticket's brand (and of its venue's room)."""

from __future__ import annotations

from typing import Any

from bot.staff.tickets import TicketStatus
from emulator import EmulatedChat, EmulatedUser
from tests.bot.staff_scene import Scene
from tests.support import Customer


def _raw_message(user: EmulatedUser, chat: EmulatedChat, text: str, at: float) -> dict[str, Any]:
    """A message Telegram would never deliver (its sender is not in the group): a forged update."""
    command = text.split()[0]
    return {
        "message": {
            "message_id": 900,
            "from": user.to_json(),
            "chat": chat.to_json(),
            "date": int(at),
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        }
    }


async def _ticket_status(scene: Scene, brand: str = "quick", number: int = 1001) -> TicketStatus:
    ticket = await scene.bot.staff.tickets.get(brand, number)
    assert ticket is not None
    return ticket.status


async def test_another_brands_room_cannot_answer_even_by_guessing_the_number(scene: Scene) -> None:
    customer = Customer.new(scene.emulator, "Camille")
    await scene.feedback(customer)
    await scene.bot.store.add_brand("sncf", "SNCF")
    rail_room = scene.emulator.add_group("SNCF — agents", members=[scene.julien], admins=[scene.maria])
    await scene.link(rail_room, scene.maria, "sncf")
    for command in ("/reply 1001 Bonjour de la SNCF", "/close 1001"):
        said = await scene.staff_says(scene.julien, command, chat=rail_room)
        assert "Aucun ticket n° 1001 dans ce salon" in said.text(rail_room.id)
        assert said.texts(customer.user.id) == [] and said.texts(scene.room.id) == []
    listed = (await scene.staff_says(scene.julien, "/tickets", chat=rail_room)).text(rail_room.id)
    assert "Aucun ticket ouvert" in listed
    # Pressing a button of brand A's card from brand B's room cannot happen (the card is not there); a
    # forged callback naming ticket 1001 in B's room finds no ticket of B.
    assert await _ticket_status(scene) is TicketStatus.OPEN
    # When brand B has its own ticket 1001, the number names B's ticket in B's room, never A's.
    gare = await scene.bot.store.add_venue("sncf", "Gare de Massy")
    other = Customer.new(scene.emulator, "Léo")
    await scene.feedback(other, gare)
    said = await scene.staff_says(scene.julien, "/reply 1001 Bonjour de la SNCF", chat=rail_room)
    assert "Gare de Massy vous répond" in said.text(other.user.id) and said.texts(customer.user.id) == []


async def test_reply_in_a_private_chat_is_refused(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    for command in ("/reply 1001 Bonjour", "/close 1001", "/tickets", "/unlink", "/link ABCD-EFGH-JKMN"):
        mark = scene.mark()
        await scene.emulator.send_text(scene.julien, command)  # Julien, in his private chat with the bot
        said = scene.since(mark)
        assert "réservée au salon de l'équipe" in said.text(scene.julien.id), command
        assert said.texts(customer.user.id) == [] and said.texts(scene.room.id) == []
    assert await _ticket_status(scene) is TicketStatus.OPEN


async def test_an_unlinked_group_is_refused(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    elsewhere = scene.emulator.add_group("Amis de Julien", members=[scene.julien])
    for command in ("/reply 1001 Bonjour", "/close 1001", "/tickets", "/unlink"):
        said = await scene.staff_says(scene.julien, command, chat=elsewhere)
        assert "Ce groupe n'est pas un salon de l'équipe" in said.text(elsewhere.id), command
        assert said.texts(customer.user.id) == []
    # A reply to some message there is only chat: nothing happens.
    await scene.emulator.send_text(scene.julien, "Salut", chat=elsewhere)
    said = await scene.staff_says(
        scene.julien, "1001", chat=elsewhere, reply_to=scene.emulator.chat_messages(elsewhere.id)[-1]
    )
    assert said.calls == []
    assert await _ticket_status(scene) is TicketStatus.OPEN


async def test_someone_who_is_not_a_member_of_the_room_is_refused(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    outsider = scene.emulator.add_user("Intrus")
    for command in ("/reply 1001 Je ne suis pas de l'équipe", "/close 1001", "/tickets"):
        mark = scene.mark()
        await scene.emulator.deliver_raw(_raw_message(outsider, scene.room, command, scene.clock()))
        said = scene.since(mark)
        assert "Seuls les membres de ce salon" in said.text(scene.room.id), command
        assert said.texts(customer.user.id) == []
    # A forged click on the card's Close button.
    card = scene.card(1001)
    query = {
        "callback_query": {
            "id": "forged-1",
            "from": outsider.to_json(),
            "message": {"message_id": card.message_id, "chat": scene.room.to_json(), "date": card.date},
            "chat_instance": "1",
            "data": "ticket:close:1001",
        }
    }
    delivery = await scene.emulator.deliver_raw(query)
    assert delivery.status == 200
    assert await _ticket_status(scene) is TicketStatus.OPEN and scene.card(1001).buttons()


async def test_a_venue_room_cannot_act_on_another_venues_ticket(scene: Scene) -> None:
    orly_room = scene.emulator.add_group("Quick Orly", members=[scene.julien], admins=[scene.maria])
    await scene.link(orly_room, scene.maria, venue=scene.orly.code)
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)  # Quick Massy: its card goes to the brand room
    for command in ("/reply 1001 Bonjour d'Orly", "/close 1001"):
        said = await scene.staff_says(scene.julien, command, chat=orly_room)
        assert "Aucun ticket n° 1001 dans ce salon" in said.text(orly_room.id)
    assert await _ticket_status(scene) is TicketStatus.OPEN


async def test_membership_is_asked_once_and_cached(scene: Scene) -> None:
    await scene.feedback(Customer.new(scene.emulator))
    first = await scene.staff_says(scene.julien, "/tickets")
    second = await scene.staff_says(scene.julien, "/tickets")
    assert [c.method for c in first.calls].count("getChatMember") == 1
    assert [c.method for c in second.calls].count("getChatMember") == 0
