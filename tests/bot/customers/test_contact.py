""" "Contact me" under the thanks (`bot.customers.contact`) through the real bot on the Bot API emulator: a 5-star
feedback that needed no answer opens its ticket and its card says so, whether the notifier ran before or after;
pressed twice or delivered again, one effect; a forged, stale or foreign press refused in French, changing nothing;
a policy that does not open a ticket for it offers no button; `/forget` erases the request."""

from __future__ import annotations

import json

from bot.seam.commands import CONTACT_ME, FORGET_YES
from bot.staff.policy import PolicyStore
from bot.staff.tickets import Ticket, TicketStatus
from bot.storage import keys
from bot.storage.identity import CustomerId
from emulator import Delivery, RecordedMessage
from tests.bot.staff_scene import FIRST_TICKET, Scene, contact_events
from tests.support import BotTurn, Customer

ASKED = "C'est noté : l'équipe vous recontactera ici."
EXPIRED = "Ce bouton n'est plus actif."


def _thanks(scene: Scene, customer: Customer) -> RecordedMessage:
    return scene.emulator.bot_messages(customer.user.id)[-1]


def _contact_data(message: RecordedMessage) -> str:
    [data] = [d for row in message.buttons() for _, d in row if d.startswith(CONTACT_ME)]
    return data


async def _ticket(scene: Scene) -> Ticket:
    ticket = await scene.bot.staff.tickets.get("quick", FIRST_TICKET)
    assert ticket is not None
    return ticket


async def _feedback_hash(scene: Scene) -> dict[str, str]:
    ticket = await _ticket(scene)
    raw = await scene.bot.store.redis.hgetall(keys.feedback("quick", ticket.feedback))
    return {str(k): str(v) for k, v in raw.items()}


async def test_a_5_star_feedback_whose_customer_asks_to_be_contacted_opens_its_ticket(scene: Scene) -> None:
    ann = Customer.new(scene.emulator, "Ann")
    said = await scene.feedback(ann, rating=5, reason="Parfait, merci Julien")
    assert "💤 pas de réponse attendue" in said.text(scene.room.id)
    assert (await _ticket(scene)).status is TicketStatus.NO_ANSWER
    thanks = _thanks(scene, ann)
    assert [label for row in thanks.buttons() for label, _ in row] == [
        "💬 Me recontacter",
        "🔔 Recevoir les nouvelles de Quick Massy",
    ]
    pressed = await ann.tap(_contact_data(thanks), thanks)
    assert pressed.notices == [ASKED] and not pressed.said
    assert (await _feedback_hash(scene))["contact"] == "1"
    said = await scene.notify()
    ticket = await _ticket(scene)
    assert ticket.status is TicketStatus.OPEN and not ticket.policy_wait
    assert "🆕 à traiter" in said.text(scene.room.id) and scene.card(FIRST_TICKET).buttons()
    assert "Le client demande qu'on le recontacte ici." in scene.card(FIRST_TICKET).text
    assert await scene.bot.store.redis.zscore(keys.DEADLINES, ticket.member) is not None
    assert await scene.bot.store.redis.zscore(keys.open_tickets("quick"), str(FIRST_TICKET)) is not None


async def test_pressed_before_the_notifier_ran_the_ticket_opens_needing_an_answer(scene: Scene) -> None:
    ann = Customer.new(scene.emulator, "Ann")
    await scene.feedback(ann, rating=5, reason="Parfait", notify=False)
    thanks = _thanks(scene, ann)
    assert (await ann.tap(_contact_data(thanks), thanks)).notices == [ASKED]
    said = await scene.notify()
    assert (await _ticket(scene)).status is TicketStatus.OPEN
    assert "🆕 à traiter" in said.text(scene.room.id)


async def test_a_ticket_already_open_keeps_its_state_and_its_card_says_it(scene: Scene) -> None:
    ann = Customer.new(scene.emulator, "Ann")
    await scene.feedback(ann, rating=2)
    assert "recontacte" not in scene.card(FIRST_TICKET).text
    thanks = _thanks(scene, ann)
    assert (await ann.tap(_contact_data(thanks), thanks)).notices == [ASKED]
    said = await scene.notify()
    assert "Le client demande qu'on le recontacte ici." in said.text(scene.room.id)
    assert (await _ticket(scene)).status is TicketStatus.OPEN


async def test_pressed_twice_or_delivered_again_one_effect(scene: Scene) -> None:
    ann = Customer.new(scene.emulator, "Ann")
    await scene.feedback(ann, rating=5, reason="Parfait")
    thanks = _thanks(scene, ann)
    first = await ann.tap(_contact_data(thanks), thanks)
    again = await scene.emulator.deliver_raw(first.delivery.update)  # Telegram did not get our 200
    assert not [c for c in again.calls if c.method in ("sendMessage", "answerCallbackQuery", "editMessageText")]
    second = await ann.tap(_contact_data(thanks), thanks)  # a second press: told the same, nothing more
    assert second.notices == [ASKED]
    assert await contact_events(scene) == 1
    await scene.notify()
    mark = scene.mark()
    await ann.tap(_contact_data(thanks), thanks)
    assert not (await scene.notify()).texts(scene.room.id)  # the card is not edited again
    assert scene.since(mark).to(scene.room.id, "sendMessage") == []
    assert (await _ticket(scene)).status is TicketStatus.OPEN


async def _forged(scene: Scene, shape: Delivery, data: str) -> list[str]:
    """Deliver a press like `shape` (a real one) with other data, as a modified client could; the notices."""
    forged = json.loads(json.dumps(shape.update))
    forged.pop("update_id")
    forged["callback_query"]["data"] = data
    delivery = await scene.emulator.deliver_raw(forged)
    assert not [c for c in delivery.calls if c.method == "sendMessage"]
    return [str(c.params.get("text")) for c in delivery.calls if c.method == "answerCallbackQuery"]


async def test_a_forged_stale_or_foreign_press_is_refused_and_changes_nothing(scene: Scene) -> None:
    ann, bea = Customer.new(scene.emulator, "Ann"), Customer.new(scene.emulator, "Bea")
    await scene.feedback(ann, rating=5, reason="Parfait")
    data = _contact_data(_thanks(scene, ann))
    await bea.say(f"/start {scene.orly.token}")
    shape = (await bea.tap("rate:5")).delivery  # a real press of Bea's: its shape to forge
    for forged in (data, f"{CONTACT_ME}0123456789abcd", CONTACT_ME, f"{CONTACT_ME}{'x' * 60}"):
        assert await _forged(scene, shape, forged) == [EXPIRED], forged  # Ann's feedback, or none at all
    assert "contact" not in await _feedback_hash(scene)
    assert await contact_events(scene) == 0
    # Bea's own feedback, under way: no thanks yet, so its id pressed early is refused too.
    [member] = await scene.bot.store.redis.smembers(keys.customer_feedbacks(CustomerId.telegram(bea.user.id)))
    assert await _forged(scene, shape, f"{CONTACT_ME}{str(member).partition('/')[2]}") == [EXPIRED]
    assert await contact_events(scene) == 0


async def test_a_policy_that_opens_no_ticket_for_it_offers_no_button_and_refuses_an_old_one(scene: Scene) -> None:
    ann = Customer.new(scene.emulator, "Ann")
    await scene.feedback(ann, rating=5, reason="Parfait")
    old_thanks = _thanks(scene, ann)
    policies = PolicyStore(scene.bot.store.redis)
    await policies.set(scene.bot.store, "quick", scene.orly.code, {"contact": False})
    bea = Customer.new(scene.emulator, "Bea")
    await scene.feedback(bea, scene.orly, rating=5, reason="Parfait")
    labels = [label for row in _thanks(scene, bea).buttons() for label, _ in row]
    assert labels == ["🔔 Recevoir les nouvelles de Quick Orly"]  # nothing would answer the request there
    await policies.set(scene.bot.store, "quick", None, {"contact": False})
    turn = await ann.tap(_contact_data(old_thanks), old_thanks)  # offered before the brand changed its mind
    assert turn.notices == [EXPIRED]
    assert "contact" not in await _feedback_hash(scene)


async def test_forget_erases_the_request(scene: Scene) -> None:
    ann = Customer.new(scene.emulator, "Ann")
    await scene.feedback(ann, rating=5, reason="Parfait")
    thanks = _thanks(scene, ann)
    await ann.tap(_contact_data(thanks), thanks)
    assert (await _feedback_hash(scene))["contact"] == "1"
    await ann.say("/forget")
    confirmed: BotTurn = await ann.tap(FORGET_YES)
    assert "effacé" in confirmed.text or confirmed.edited
    feedback = await _feedback_hash(scene)
    assert "contact" not in feedback and "chat_id" not in feedback
    assert (await ann.tap(_contact_data(thanks), thanks)).notices == [EXPIRED]  # no longer theirs
    assert "contact" not in await _feedback_hash(scene)
