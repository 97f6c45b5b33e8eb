"""The escalation chain (`bot.staff.escalation`): who is reminded of an unanswered ticket, in turn, per brand;
`parole brand escalation` and its refusals; reopening a ticket starts its reminders again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.errors import InvalidInput
from bot.refusals import refusal_text
from bot.staff.escalation import Audience, EscalationChain, EscalationStore, parse_chain
from bot.storage import keys
from emulator import EmulatedUser
from tests.bot.staff_scene import FIRST_TICKET, Scene
from tests.support import Customer

HOUR = 3600.0


def test_a_chain_is_read_and_bad_chains_are_refused_in_french() -> None:
    chain = parse_chain("room, admins+operators", 2)
    assert chain.steps == ((Audience.ROOM,), (Audience.ADMINS, Audience.OPERATORS))
    assert [chain.step(n) for n in range(5)] == [chain.steps[0]] * 2 + [chain.steps[1]] * 2 + [None]
    assert chain.room_reminders(4) == 2 and chain.describe() == "room,admins+operators"
    assert EscalationChain.from_json(json.loads(json.dumps(chain.to_json()))) == chain
    assert EscalationChain().step(0) == (Audience.ROOM,) and EscalationChain().step(2) is None
    refusals = {
        ("room,chefs", 1): "« chefs » n'est pas un destinataire de rappel : room, admins, operators",
        ("room,,admins", 1): "une étape est vide",
        ("room,admins+room", 1): "« room » figure deux fois dans la chaîne d'escalade",
        ("room", 0): "le nombre de rappels par étape doit aller de 1 à 10",
        ("room", 11): "le nombre de rappels par étape doit aller de 1 à 10",
    }
    for (text, reminders), message in refusals.items():
        with pytest.raises(InvalidInput) as caught:
            parse_chain(text, reminders)
        assert message in refusal_text(caught.value), (text, refusal_text(caught.value))


async def _started(scene: Scene, *people: EmulatedUser) -> None:
    for person in people:  # Telegram lets the bot write only to those who started it
        await scene.emulator.send_text(person, "/start")


async def test_the_room_twice_then_the_admins_then_the_operators(scene: Scene, operator: EmulatedUser) -> None:
    await _started(scene, operator, scene.maria)
    await EscalationStore(scene.bot.store.redis).set("quick", parse_chain("room,admins,operators", 2))
    await scene.bot.store.set_deadline("quick", 2)
    await scene.feedback(Customer.new(scene.emulator))
    told = []
    chats = {"room": scene.room.id, "maria": scene.maria.id, "operator": operator.id}
    for _ in range(7):
        scene.clock.advance(2 * HOUR + 1)
        said = await scene.notify()
        told.append([who for who, chat in chats.items() if said.texts(chat)])
        if len(told) == 3:  # the third deadline: the admins' turn
            escalation = said.text(scene.maria.id)
            assert "depuis 6 h, malgré 2 rappels dans « Quick — équipe »" in escalation, escalation
    assert told == [["room"], ["room"], ["maria"], ["maria"], ["operator"], ["operator"], []]


async def test_reopening_a_ticket_starts_its_reminders_again(scene: Scene, operator: EmulatedUser) -> None:
    await _started(scene, operator, scene.maria)
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    scene.clock.advance(48 * HOUR + 1)
    await scene.notify()
    scene.clock.advance(2)
    await scene.notify()  # the room, then the admins: the chain is over
    await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET} Nous avons ouvert une deuxième caisse.")
    await scene.staff_says(scene.julien, f"/close {FIRST_TICKET}")
    scene.clock.advance(HOUR)
    await customer.say("Toujours pas de deuxième caisse ce midi.")  # the ticket opens again
    ticket = await scene.bot.staff.tickets.get("quick", FIRST_TICKET)
    assert ticket is not None and ticket.reminders == 0 and ticket.waiting_since == ticket.reopened_at
    scene.clock.advance(24 * HOUR - 60)
    assert (await scene.notify()).calls == []
    scene.clock.advance(120)
    said = await scene.notify()
    assert said.texts(scene.room.id) == [
        "⏰ Le ticket n° 1001 (Quick Massy) a été rouvert et attend une réponse depuis 24 h."
    ]
    scene.clock.advance(24 * HOUR)
    said = await scene.notify()
    assert "a été rouvert et n'a reçu aucune nouvelle réponse depuis 48 h" in said.text(scene.maria.id)
    # Answered again: no more reminders, even when it is reopened by the staff and left so.
    await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET} Elle ouvre demain.")
    assert await scene.bot.store.redis.zscore(keys.DEADLINES, f"quick/{FIRST_TICKET}") is None
    scene.clock.advance(100 * HOUR)
    assert (await scene.notify()).calls == []


def test_parole_brand_escalation(redis_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "PAROLE_REDIS_URL": redis_url, "PAROLE_DATA_DIR": str(tmp_path)}

    def parole(*args: str, ok: bool = True) -> dict[str, object]:
        done = subprocess.run([sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True)
        assert (done.returncode == 0) is ok, done.stderr
        return json.loads(done.stdout) if ok else {"error": done.stderr}

    default = {"steps": [["room"], ["admins", "operators"]], "reminders": 1}
    parole("brand", "add", "quick", "--name", "Quick")
    assert parole("brand", "escalation", "quick")["escalation"] == default
    chain = parole("brand", "escalation", "quick", "--chain", "room,admins,operators", "--reminders", "2")
    assert chain["escalation"] == {"steps": [["room"], ["admins"], ["operators"]], "reminders": 2}
    three = parole("brand", "escalation", "quick", "--reminders", "3")["escalation"]
    assert three == {"steps": [["room"], ["admins"], ["operators"]], "reminders": 3}
    refused = parole("brand", "escalation", "quick", "--chain", "room,patron", ok=False)["error"]
    assert refused == "parole : erreur : « patron » n'est pas un destinataire de rappel : room, admins, operators\n"
    assert "de 1 à 10" in str(parole("brand", "escalation", "quick", "--reminders", "0", ok=False)["error"])
    assert parole("brand", "escalation", "quick")["escalation"]["reminders"] == 3  # type: ignore[index]  # unchanged
    assert parole("brand", "escalation", "quick", "--reset")["escalation"] == default
    assert "la marque « nope » n'existe pas" in str(parole("brand", "escalation", "nope", ok=False)["error"])
