"""Which feedback needs an answer (`bot.staff.policy`): the rules, and through the real bot the tickets they
open or leave as "no answer needed" (no reminders, not in the response rate), a venue's rule over its brand's,
an analysis that opens a waiting ticket, and `parole policy`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.analysis.worker import AnalysisStore
from bot.errors import InvalidInput
from bot.insights.stats import venue_stats
from bot.staff.policy import Decision, PolicyStore, TicketPolicy
from bot.staff.tickets import Ticket, TicketStatus
from bot.storage import keys
from nlp.types import Analysis, Kind
from tests.bot.staff_scene import FIRST_TICKET, Scene
from tests.support import Customer

DEFAULT = TicketPolicy()
ANALYSED = {"analysed_at": "1"}


@pytest.mark.parametrize(
    ("feedback", "decision"),
    [
        ({"rating": "3", "reason": "Bof", "status": "complete"}, Decision.OPEN),
        ({"rating": "5", "reason": "Parfait", "status": "complete"}, Decision.WAIT),
        ({"rating": "5", "reason": "Parfait", "status": "complete", **ANALYSED, "kind": "praise"}, Decision.NO_ANSWER),
        ({"rating": "4", "reason": "Trop cher", "status": "complete", **ANALYSED, "kind": "critique"}, Decision.OPEN),
        ({"rating": "5", "reason": "Bien", "suggestion": "Du Wi-Fi", "status": "complete"}, Decision.OPEN),
        ({"rating": "5", "reason": "Bien", "contact": "1", "status": "complete"}, Decision.OPEN),
        ({"rating": "1", "reason": "", "suggestion": "", "status": "abandoned"}, Decision.NO_ANSWER),
        ({"rating": "1", "reason": "Froid", "status": "abandoned"}, Decision.OPEN),
    ],
)  # fmt: skip
def test_the_default_policy(feedback: dict[str, str], decision: Decision) -> None:
    assert DEFAULT.decide(feedback) is decision


def test_a_policy_refuses_what_does_not_exist() -> None:
    with pytest.raises(InvalidInput, match="max_rating"):
        TicketPolicy.from_json({"max_rating": 7})
    with pytest.raises(InvalidInput, match="unknown kind"):
        TicketPolicy.from_json({"kinds": ["anger"]})
    assert TicketPolicy(kinds=()).decide({"rating": "5", "reason": "x", "status": "complete"}) is Decision.NO_ANSWER


async def _ticket(scene: Scene, number: int = FIRST_TICKET) -> Ticket:
    ticket = await scene.bot.staff.tickets.get("quick", number)
    assert ticket is not None
    return ticket


async def test_praise_needs_no_answer_gets_no_reminder_and_is_not_in_the_response_rate(scene: Scene) -> None:
    said = await scene.feedback(Customer.new(scene.emulator), rating=5, reason="Parfait, merci Julien")
    assert "💤 pas de réponse attendue" in said.text(scene.room.id)  # the card still shows it to the staff
    assert scene.card(FIRST_TICKET).buttons() == []
    ticket = await _ticket(scene)
    assert ticket.status is TicketStatus.NO_ANSWER
    assert await scene.bot.store.redis.zscore(keys.open_tickets("quick"), str(FIRST_TICKET)) is None
    await scene.feedback(Customer.new(scene.emulator, "Léo"), rating=2)  # ticket 1002: needs an answer
    scene.clock.advance(25 * 3600)
    mark = scene.mark()
    await scene.bot.staff.notifier.sweep_deadlines(scene.clock())
    reminded = scene.since(mark).text(scene.room.id)
    assert "1002" in reminded and "1001" not in reminded
    [row] = [r for r in await venue_stats(scene.bot.store, "quick", scene.massy.code) if r.venue == scene.massy.code]
    assert (row.tickets, row.no_answer, row.answered, row.unanswered) == (1, 1, 0, 1)
    # The staff may still thank the customer: the ticket is then answered, as any other.
    said = await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET} Merci à vous !")
    assert (await _ticket(scene)).status is TicketStatus.ANSWERED


async def test_an_analysis_that_finds_a_complaint_opens_a_waiting_ticket(scene: Scene) -> None:
    await scene.feedback(Customer.new(scene.emulator), rating=4, reason="Le burger était froid")
    ticket = await _ticket(scene)
    assert ticket.status is TicketStatus.NO_ANSWER and ticket.policy_wait
    analysis = Analysis(language="fr", kind=Kind.COMPLAINT, aspects=("product_quality",), entities=())
    await AnalysisStore(scene.bot.store.redis).save("quick", ticket.feedback, analysis, marker="1-0")
    said = await scene.notify()
    ticket = await _ticket(scene)
    assert ticket.status is TicketStatus.OPEN and not ticket.policy_wait
    assert "🆕 à traiter" in said.text(scene.room.id) and scene.card(FIRST_TICKET).buttons()
    assert await scene.bot.store.redis.zscore(keys.DEADLINES, ticket.member) is not None


async def test_abandoned_rating_only_never_opens_and_a_suggestion_always_does(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await customer.say(f"/start {scene.massy.token}")
    await customer.say("1")
    scene.clock.advance(1801)
    assert await scene.bot.store.abandon_expired(scene.clock())
    await scene.notify()
    assert (await _ticket(scene)).status is TicketStatus.NO_ANSWER
    await scene.feedback(Customer.new(scene.emulator, "Léo"), rating=5, reason="Top", suggestion="Du Wi-Fi")
    assert (await _ticket(scene, FIRST_TICKET + 1)).status is TicketStatus.OPEN


async def test_a_venue_s_policy_wins_over_its_brand_s(scene: Scene) -> None:
    store, policies = scene.bot.store, PolicyStore(scene.bot.store.redis)
    await policies.set(store, "quick", None, {"max_rating": 1})
    await policies.set(store, "quick", scene.orly.code, {"max_rating": 5})
    await scene.feedback(Customer.new(scene.emulator), rating=2, reason="Moyen")  # Massy: the brand's rule
    await scene.feedback(Customer.new(scene.emulator, "Léo"), scene.orly, rating=5, reason="Top")  # Orly: its own
    assert (await _ticket(scene)).status is TicketStatus.NO_ANSWER
    assert (await _ticket(scene, FIRST_TICKET + 1)).status is TicketStatus.OPEN


def test_parole_policy_shows_sets_and_resets(redis_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "PAROLE_REDIS_URL": redis_url, "PAROLE_DATA_DIR": str(tmp_path)}
    env.pop("PAROLE_TELEGRAM_TOKEN", None)

    def parole(*args: str, ok: bool = True) -> dict[str, object]:
        done = subprocess.run([sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True)
        assert (done.returncode == 0) is ok, done.stderr
        return json.loads(done.stdout) if ok else {"error": done.stderr}

    parole("brand", "add", "quick", "--name", "Quick")
    venue = json.loads(
        subprocess.run(
            [sys.executable, "-m", "bot", "venue", "add", "--brand", "quick", "--name", "Quick Orly"],
            env={**env, "PAROLE_BOT_USERNAME": "parole_bot"}, capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    assert parole("policy", "show", "--brand", "quick") == {
        "brand": "quick", "venue": None, "from": "default", "max_rating": 3,
        "kinds": ["complaint", "critique", "suggestion"], "suggestion": True, "contact": True,
    }  # fmt: skip
    changed = parole("policy", "set", "--brand", "quick", "--max-rating", "2", "--kinds", "complaint")
    assert (changed["from"], changed["max_rating"], changed["kinds"]) == ("brand", 2, ["complaint"])
    orly = parole("policy", "set", "--brand", "quick", "--venue", venue["code"], "--suggestion", "no")
    assert (orly["from"], orly["max_rating"], orly["suggestion"]) == ("venue", 2, False)
    assert parole("policy", "reset", "--brand", "quick", "--venue", venue["code"])["from"] == "brand"
    assert "max_rating" in str(parole("policy", "set", "--brand", "quick", "--max-rating", "9", ok=False))
    assert "rien à changer" in str(parole("policy", "set", "--brand", "quick", ok=False))
    assert "nope" in str(parole("policy", "show", "--brand", "nope", ok=False))
