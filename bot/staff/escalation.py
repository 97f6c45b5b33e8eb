"""Who hears of a ticket left unanswered, in turn: a brand's escalation chain.

A chain is a list of steps, each one or more audiences (`room`, the brand's staff room; `admins`, the room's
Telegram administrators; `operators`, `PAROLE_ADMIN_IDS`); each step gets `reminders` reminders, one a
deadline, before the next step takes over; after the last step's, nobody is told again. Stored as JSON in the
brand's hash (`escalation`). The default is the room once, then the admins and operators once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from bot.errors import InvalidInput, problem
from bot.storage import keys
from bot.storage.store import redis_text

FIELD = "escalation"
MAX_REMINDERS = 10  # reminders per step
MAX_STEPS = 5


class Audience(StrEnum):
    ROOM = "room"
    ADMINS = "admins"
    OPERATORS = "operators"


Step = tuple[Audience, ...]
_NAMES = ", ".join(a.value for a in Audience)


@dataclass(frozen=True, slots=True)
class EscalationChain:
    steps: tuple[Step, ...] = ((Audience.ROOM,), (Audience.ADMINS, Audience.OPERATORS))
    reminders: int = 1  # reminders to each step before the next one

    def step(self, sent: int) -> Step | None:
        """Who gets the reminder after `sent` reminders of the ticket: None once the chain is over."""
        index = sent // self.reminders
        return self.steps[index] if index < len(self.steps) else None

    def room_reminders(self, sent: int) -> int:
        """How many of the first `sent` reminders went to the staff room."""
        return sum(1 for n in range(sent) if Audience.ROOM in (self.step(n) or ()))

    def to_json(self) -> dict[str, Any]:
        return {"steps": [[a.value for a in step] for step in self.steps], "reminders": self.reminders}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EscalationChain:
        steps = tuple(tuple(Audience(a) for a in step) for step in data["steps"])
        return checked(cls(steps, int(data["reminders"])))

    def describe(self) -> str:
        """`room,admins+operators`, as `parole brand escalation --chain` takes it."""
        return ",".join("+".join(a.value for a in step) for step in self.steps)


def checked(chain: EscalationChain) -> EscalationChain:
    if not 1 <= chain.reminders <= MAX_REMINDERS:
        raise InvalidInput(
            problem("escalation_reminders", "reminders to each step go from 1 to {most}", most=MAX_REMINDERS)
        )
    if not 1 <= len(chain.steps) <= MAX_STEPS:
        raise InvalidInput(problem("escalation_steps", "an escalation chain has 1 to {most} steps", most=MAX_STEPS))
    seen: set[Audience] = set()
    for step in chain.steps:
        if not step:
            raise InvalidInput(problem("escalation_empty_step", "a step of the escalation chain is empty"))
        if seen & set(step):
            twice = (seen & set(step)).pop().value
            raise InvalidInput(
                problem("escalation_twice", "{audience!r} is twice in the escalation chain", audience=twice)
            )
        seen |= set(step)
    return chain


def parse_chain(text: str, reminders: int) -> EscalationChain:
    """`room,admins,operators` (steps in order, `+` joins audiences told together) as a chain."""
    steps: list[Step] = []
    for part in text.split(","):
        names = [n.strip().lower() for n in part.split("+")]
        step: list[Audience] = []
        for name in names:
            if not name:
                raise InvalidInput(
                    problem(
                        "escalation_chain_empty_step",
                        "{text!r}: a step is empty; write e.g. room,admins,operators",
                        text=text,
                    )
                )
            try:
                step.append(Audience(name))
            except ValueError:
                raise InvalidInput(
                    problem(
                        "escalation_audience", "{name!r} is not who reminders go to: {names}", name=name, names=_NAMES
                    )
                ) from None
        steps.append(tuple(step))
    return checked(EscalationChain(tuple(steps), reminders))


class EscalationStore:
    """Brands' escalation chains in their hashes."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def get(self, brand: str) -> EscalationChain:
        raw = await self.redis.hget(keys.brand(brand), FIELD)
        return EscalationChain.from_json(json.loads(redis_text(raw))) if raw else EscalationChain()

    async def set(self, brand: str, chain: EscalationChain | None) -> EscalationChain:
        """Save the brand's chain (None: back to the default) and return the one in force."""
        if chain is None:
            await self.redis.hdel(keys.brand(brand), FIELD)
            return EscalationChain()
        await self.redis.hset(keys.brand(brand), FIELD, json.dumps(checked(chain).to_json()))
        return chain
