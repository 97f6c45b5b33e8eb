""" "Contact me" on the web chat, JavaScript off (a form button a press): the 5-star feedback's ticket opens, a
second press changes nothing, a forged press is refused in French; the kiosk, whose next customer is someone
else, offers no such button and refuses a forged one."""

from __future__ import annotations

import html
from collections.abc import Callable

from bot.seam.commands import CONTACT_ME
from bot.staff.tickets import TicketStatus
from tests.bot.channels.web.visitor import Page, Visitor
from tests.bot.staff_scene import FIRST_TICKET, Scene, contact_events

ASKED = "C'est noté : l'équipe vous recontactera ici."
EXPIRED = "Ce bouton n'est plus actif."


async def _five_stars(visitor: Visitor, path: str) -> Page:
    await visitor.get(path)
    await visitor.tap("⭐⭐⭐⭐⭐")
    await visitor.say("L'accueil de Julien")
    page = await visitor.tap("Passer")
    assert "Merci pour votre avis" in page.bot_texts[-1]
    return page


async def _press(visitor: Visitor, page: Page, data: str) -> Page:
    """Post a button's form as the browser would, with any data (a modified page could)."""
    form = {**page.fields, "button": data, "message": str(page.messages[-1].id)}
    return await visitor.post(page.action, form)


async def test_contact_me_on_the_web_opens_the_ticket_once(scene: Scene, visitors: Callable[..., Visitor]) -> None:
    visitor = visitors()
    page = await _five_stars(visitor, f"/c/{scene.massy.token}")
    assert [label for label, _ in page.last.buttons] == [
        "💬 Me recontacter",
        "🔔 Recevoir les nouvelles de Quick Massy",
    ]
    said = await scene.notify()
    assert "💤 pas de réponse attendue" in said.text(scene.room.id)
    page = await visitor.tap("💬 Me recontacter")
    assert page.status == 200 and html.unescape(page.bot_texts[-1]) == ASKED
    await scene.notify()
    ticket = await scene.bot.staff.tickets.get("quick", FIRST_TICKET)
    assert ticket is not None and ticket.status is TicketStatus.OPEN
    page = await visitor.tap("💬 Me recontacter")  # pressed again: told the same, nothing more
    assert html.unescape(page.bot_texts[-1]) == ASKED
    assert await contact_events(scene) == 1


async def test_a_forged_press_on_the_web_is_refused(scene: Scene, visitors: Callable[..., Visitor]) -> None:
    page = await _five_stars(visitors(), f"/c/{scene.massy.token}")
    [data] = [d for _, d in page.last.buttons if d.startswith(CONTACT_ME)]
    other = visitors()  # someone else's browser posts the first customer's button
    page = await _five_stars(other, f"/c/{scene.orly.token}")
    for forged in (data, f"{CONTACT_ME}ffffffffffffffff", CONTACT_ME):
        page = await _press(other, page, forged)
        assert page.status == 200 and html.unescape(page.bot_texts[-1]) == EXPIRED, forged
    assert await contact_events(scene) == 0


async def test_the_kiosk_offers_no_contact_and_refuses_a_forged_press(
    scene: Scene, visitors: Callable[..., Visitor]
) -> None:
    tablet = visitors()
    await tablet.get(f"/k/{scene.massy.token}")
    await tablet.tap("⭐⭐⭐⭐⭐")
    asked = await tablet.say("L'accueil de Julien")  # the suggestion's question: the last form the kiosk shows
    page = await tablet.tap("Passer")
    assert "Merci pour votre avis" in page.bot_texts[-1]
    assert not any(d.startswith(CONTACT_ME) for m in page.messages for _, d in m.buttons)
    [feedback] = [f async for f in scene.bot.store.iter_feedback()]
    data, message, turn = (
        f"{CONTACT_ME}{feedback['id']}",
        str(asked.messages[-1].id),
        str(int(asked.fields["turn"]) + 1),
    )
    forged = {**asked.fields, "button": data, "message": message, "turn": turn}
    page = await tablet.post(asked.action, forged)  # its own feedback's id, posted as the next turn of the last form
    assert page.status == 200 and html.unescape(page.bot_texts[-1]) == EXPIRED
    assert await contact_events(scene) == 0
