"""Closing the loop: a ticket closed after a staff answer asks its customer whether the problem is solved (Yes /
No buttons, or a typed answer); the answer is kept on the ticket, shown on the card and in the inbox index, and a
"no" opens the ticket again."""

from __future__ import annotations

import pytest

from bot.staff.tickets import Ticket, TicketStatus
from bot.storage import keys
from bot.storage.identity import CustomerId
from bot.storage.index import FeedbackIndex, InboxQuery
from dialogs.answers import parse_yes_no
from tests.bot.staff_scene import FIRST_TICKET, Scene
from tests.support import Customer


async def _ticket(scene: Scene) -> Ticket:
    ticket = await scene.bot.staff.tickets.get("quick", FIRST_TICKET)
    assert ticket is not None
    return ticket


async def _answered_and_closed(scene: Scene, customer: Customer) -> str:
    """Feedback, a staff answer, /close: what the customer got when it closed."""
    await scene.feedback(customer)
    await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET} Nous avons ouvert une deuxième caisse.")
    said = await scene.staff_says(scene.julien, f"/close {FIRST_TICKET}")
    return said.text(customer.user.id)


async def test_no_reopens_the_ticket_and_the_card_says_so(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    asked = await _answered_and_closed(scene, customer)
    assert "a clos votre demande (ticket n° 1001)" in asked and "Problème résolu ?" in asked
    question = customer.last_keyboard_message(f"solved:no:quick/{FIRST_TICKET}")
    assert [label for row in question.buttons() for label, _ in row] == ["👍 Oui, résolu", "👎 Non"]
    mark = scene.mark()
    await customer.tap(f"solved:no:quick/{FIRST_TICKET}", question)
    said = scene.since(mark)
    assert "votre demande est rouverte" in said.text(customer.user.id)
    assert "Problème résolu selon le client : non" in said.text(scene.room.id)  # the card, edited
    ticket = await _ticket(scene)
    assert (ticket.status, ticket.resolved) == (TicketStatus.ANSWERED, "no")
    assert await scene.bot.store.redis.zscore(keys.open_tickets("quick"), str(FIRST_TICKET)) is not None
    page = await FeedbackIndex(scene.bot.store.redis).query(InboxQuery("quick", {"status": ["answered"]}))
    assert page.feedback_ids == [ticket.feedback]
    # Reopened, the customer's texts go to the staff again; the old button does nothing more.
    said = await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET} Que s'est-il passé ?")
    assert "Que s'est-il passé ?" in said.text(customer.user.id)
    again = f"solved:yes:quick/{FIRST_TICKET}"  # the buttons went; a late copy of one answers nothing
    assert not await scene.bot.staff.relay.resolution(CustomerId.telegram(customer.user.id), "fr", button=again)
    assert (await _ticket(scene)).resolved == "no"


async def test_a_typed_yes_is_kept_and_the_ticket_stays_closed(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await _answered_and_closed(scene, customer)
    mark = scene.mark()
    await customer.say("Oui !")
    said = scene.since(mark)
    assert "Merci ! Nous le disons à l'équipe de Quick Massy." in said.text(customer.user.id)
    assert "Problème résolu selon le client : oui" in said.text(scene.room.id)
    ticket = await _ticket(scene)
    assert (ticket.status, ticket.resolved) == (TicketStatus.CLOSED, "yes")
    mark = scene.mark()
    await customer.say("non")  # answered already: an ordinary text now
    assert (await _ticket(scene)).resolved == "yes"
    assert "rouverte" not in scene.since(mark).text(customer.user.id)


async def test_no_question_without_a_staff_answer_for_spam_or_for_another_customer(scene: Scene) -> None:
    customer, other = Customer.new(scene.emulator), Customer.new(scene.emulator, "Léo")
    await scene.feedback(customer)
    said = await scene.staff_says(scene.julien, f"/close {FIRST_TICKET}")
    assert "Problème résolu" not in said.text(customer.user.id)
    await scene.feedback(other)  # 1002
    await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET + 1} Merci")
    card = scene.card(FIRST_TICKET + 1)
    mark = scene.mark()
    await scene.emulator.click(scene.julien, card, f"ticket:spam:{FIRST_TICKET + 1}")
    assert "Problème résolu" not in scene.since(mark).text(other.user.id)
    # A forged button for someone else's ticket answers nothing.
    forged = f"solved:no:quick/{FIRST_TICKET + 1}"
    assert not await scene.bot.staff.relay.resolution(CustomerId.telegram(customer.user.id), "fr", button=forged)
    spam = await scene.bot.staff.tickets.get("quick", FIRST_TICKET + 1)
    assert spam is not None and spam.status is TicketStatus.SPAM


@pytest.mark.parametrize(
    ("text", "answer"),
    [("oui", True), ("Oui !", True), ("👍", True), ("yes", True), ("Non.", False), ("pas résolu", False),
     ("no", False), ("peut-être", None), ("non merci pour rien", None), ("", None)],
)  # fmt: skip
def test_typed_answers(text: str, answer: bool | None) -> None:
    assert parse_yes_no(text) is answer
