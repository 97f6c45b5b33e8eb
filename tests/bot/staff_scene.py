"""Test tools for the staff side: a brand with venues and a linked staff room, customers who give feedback,
staff who answer, and relay transcripts as data (tests/transcripts/staff_*.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.cli.serve import RunningBot
from bot.storage import keys
from bot.storage.venues import Venue
from emulator import ApiCall, BotApiEmulator, Delivery, EmulatedChat, EmulatedUser, RecordedMessage
from tests.support import Clock, Customer

FIRST_TICKET = 1001


@dataclass
class Said:
    """What the bot said (sent or edited) in each chat since a point in the emulator's call log."""

    calls: list[ApiCall]

    def texts(self, chat_id: int) -> list[str]:
        texts: list[str] = []
        for call in self.calls:
            result = call.response.get("result")
            if not call.ok or not isinstance(result, dict) or result.get("chat", {}).get("id") != chat_id:
                continue
            if call.method in ("sendMessage", "editMessageText"):
                texts.append(str(result.get("text", "")))
            elif call.method == "sendDocument":
                texts.append(f"[document {result.get('document', {}).get('file_name')}]")
        return texts

    def text(self, chat_id: int) -> str:
        return "\n".join(self.texts(chat_id))

    def to(self, chat_id: int, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method and c.params.get("chat_id") == chat_id]


@dataclass
class Scene:
    """Brand "quick" with venues Quick Massy and Quick Orly, and its staff room "Quick — équipe"
    (Julien, a member; Maria, its Telegram administrator), linked as the brand room."""

    bot: RunningBot
    emulator: BotApiEmulator
    clock: Clock
    massy: Venue
    orly: Venue
    julien: EmulatedUser
    maria: EmulatedUser
    room: EmulatedChat
    variables: dict[str, Any] = field(default_factory=dict)

    @classmethod
    async def build(cls, bot: RunningBot, emulator: BotApiEmulator, clock: Clock) -> Scene:
        await bot.store.add_brand("quick", "Quick")
        massy = await bot.store.add_venue("quick", "Quick Massy")
        orly = await bot.store.add_venue("quick", "Quick Orly")
        julien = emulator.add_user("Julien", username="julien_q")
        maria = emulator.add_user("Maria")
        room = emulator.add_group("Quick — équipe", members=[julien], admins=[maria])
        scene = cls(bot, emulator, clock, massy, orly, julien, maria, room)
        said = await scene.link(room, maria)
        assert "salon de l'équipe de Quick" in said.text(room.id), said.text(room.id)
        return scene

    def mark(self) -> int:
        return len(self.emulator.calls)

    def since(self, mark: int) -> Said:
        return Said(self.emulator.calls[mark:])

    async def invite(self, brand: str = "quick", venue: str | None = None, hours: float = 24.0) -> str:
        return (await self.bot.staff.rooms.invite(brand, venue, hours=hours, now=self.clock())).code

    async def link(
        self, group: EmulatedChat, user: EmulatedUser, brand: str = "quick", venue: str | None = None
    ) -> Said:
        return await self.staff_says(user, f"/link {await self.invite(brand, venue)}", chat=group)

    async def staff_says(
        self,
        user: EmulatedUser,
        text: str,
        *,
        chat: EmulatedChat | None = None,
        reply_to: RecordedMessage | None = None,
    ) -> Said:
        mark = self.mark()
        await self.emulator.send_text(user, text, chat=chat or self.room, reply_to=reply_to)
        return self.since(mark)

    async def notify(self) -> Said:
        """One round of the staff notifier (the tests' bots run no notifier loop)."""
        mark = self.mark()
        await self.bot.staff.notifier.tick()
        return self.since(mark)

    async def feedback(
        self,
        customer: Customer,
        venue: Venue | None = None,
        *,
        rating: int = 2,
        reason: str = "On a attendu 40 minutes.",
        suggestion: str | None = None,
        notify: bool = True,
    ) -> Said:
        """The customer gives a whole feedback; the notifier runs a round (the card goes out)."""
        await customer.say(f"/start {(venue or self.massy).token}")
        await customer.say(str(rating))
        await customer.say(reason)
        await customer.say(suggestion or "passer")
        return await self.notify() if notify else Said([])

    def card(self, ticket: int, chat: EmulatedChat | None = None) -> RecordedMessage:
        for message in self.emulator.bot_messages((chat or self.room).id):
            if message.buttons() and any(data.endswith(f":{ticket}") for row in message.buttons() for _, data in row):
                return message
            if f"Ticket n° {ticket} ·" in message.text or f"Ticket #{ticket} ·" in message.text:
                return message
        raise AssertionError(f"no card of ticket {ticket} in {(chat or self.room).title}")

    def last_in_room(self, chat: EmulatedChat | None = None) -> RecordedMessage:
        return self.emulator.bot_messages((chat or self.room).id)[-1]


async def contact_events(scene: Scene, brand: str = "quick") -> int:
    """How many times the brand's customers asked to be contacted (`contact` events in its stream)."""
    entries = await scene.bot.store.redis.xrange(keys.events(brand)) or []
    return len([entry for entry in entries if entry[1] and entry[1].get("type") == "contact"])


async def play_relay(scene: Scene, customer: Customer, steps: list[dict[str, Any]]) -> list[Said]:
    """Run a relay transcript. Each step does one thing:

    `customer: TEXT` (in their private chat), `staff: TEXT` (Julien in the room; `reply_to: card` makes it a
    Telegram reply to the ticket's card, `reply_to: last` to the bot's last message in the room),
    `tap: DATA` (Julien presses a card button), `notify: true` (a notifier round), `advance: SECONDS`.
    Then checks `room` and `customer_gets` (substrings of what the bot sent or edited there during the
    step), `room_silent` / `customer_silent`, and `buttons` (labels of the card's keyboard now)."""
    results: list[Said] = []
    variables = {"token": scene.massy.token, "ticket": FIRST_TICKET, **scene.variables}
    for number, step in enumerate(steps, start=1):
        where = f"step {number} {step}"
        mark = scene.mark()
        if "customer" in step:
            await customer.say(str(step["customer"]).format(**variables))
        elif "staff" in step:
            reply_to = step.get("reply_to")
            target = None
            if reply_to == "card":
                target = scene.card(int(variables["ticket"]))
            elif reply_to == "last":
                target = scene.last_in_room()
            await scene.emulator.send_text(
                scene.julien, str(step["staff"]).format(**variables), chat=scene.room, reply_to=target
            )
        elif "tap" in step:
            card = scene.card(int(variables["ticket"]))
            await scene.emulator.click(scene.julien, card, str(step["tap"]).format(**variables))
        elif step.get("notify"):
            await scene.bot.staff.notifier.tick()
        elif "advance" in step:
            scene.clock.advance(float(step["advance"]))
        else:
            raise AssertionError(f"{where}: nothing to do")
        said = scene.since(mark)
        room, private = said.text(scene.room.id), said.text(customer.user.id)
        for expected in step.get("room", []):
            assert expected.format(**variables) in room, f"{where}: the room got {room!r}"
        for expected in step.get("customer_gets", []):
            assert expected.format(**variables) in private, f"{where}: the customer got {private!r}"
        for unexpected in step.get("not", []):
            assert unexpected.format(**variables) not in room + private, f"{where}: {room!r} {private!r}"
        if step.get("room_silent"):
            assert not room, f"{where}: the room got {room!r}"
        if step.get("customer_silent"):
            assert not private, f"{where}: the customer got {private!r}"
        if "buttons" in step:
            labels = [label for row in scene.card(int(variables["ticket"])).buttons() for label, _ in row]
            assert labels == step["buttons"], f"{where}: card buttons {labels!r}"
        failed = [(c.method, c.response) for c in said.calls if not c.ok and not step.get("failures_expected")]
        assert not failed, f"{where}: Telegram refused {failed}"
        results.append(said)
    return results


def delivered(delivery: Delivery) -> list[str]:
    return [str(c.response.get("result", {}).get("text", "")) for c in delivery.calls if c.method == "sendMessage"]
