"""Seeded feedback for the figures' tests and the export benchmark, written through parole's own write paths:
`Store.save_turn` (the feedback), `AnalysisStore.save_many` (the worker's script, with analyses given here
instead of computed by spaCy) and `TicketStore` (tickets and staff answers)."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.analysis.worker import AnalysisStore
from bot.staff.tickets import NewTicket, Ticket, TicketStore
from bot.storage.identity import CustomerId
from bot.storage.store import Store
from bot.storage.venues import Venue
from dialogs.types import Conversation, FeedbackRecord, FeedbackStatus, VenueRef
from nlp.types import Analysis, Entity, Kind, Label


@dataclass(frozen=True, slots=True)
class Sample:
    rating: int
    reason: str
    kind: Kind
    aspects: tuple[str, ...] = ()
    entities: tuple[tuple[str, Label], ...] = ()  # (text, label), found in the reason
    suggestion: str | None = None


SAMPLES = (
    Sample(5, "Julien a été adorable, merci !", Kind.PRAISE, ("welcome",), (("Julien", Label.PER),)),
    Sample(
        4,
        "Merci à Sarah pour le sourire, le Big Tasty était bon",
        Kind.PRAISE,
        ("welcome", "product"),
        (("Sarah", Label.PER), ("Big Tasty", Label.PRODUCT)),
    ),
    Sample(1, "Le Big Tasty était froid, inadmissible", Kind.COMPLAINT, ("product",), (("Big Tasty", Label.PRODUCT),)),
    Sample(
        2, "Frites molles et 40 minutes d'attente", Kind.CRITIQUE, ("waiting", "product"), (("frites", Label.PRODUCT),)
    ),
    Sample(3, "Correct, mais un peu cher", Kind.CRITIQUE, ("price",)),
    Sample(
        4,
        'Bien; "ouvrez plus tôt", svp',
        Kind.SUGGESTION,
        ("opening_hours",),
        (),
        "Ouvrir à 7h, avec des croissants; et le Wi-Fi\nsvp",
    ),
    Sample(5, "Très propre, bravo Julien", Kind.PRAISE, ("cleanliness",), (("Julien", Label.PER),)),
)


def analysis_of(sample: Sample) -> Analysis:
    entities = []
    for text, label in sample.entities:
        start = sample.reason.find(text)
        entities.append(Entity(text, label, start, start + len(text), "reason"))
    return Analysis(language="fr", kind=sample.kind, aspects=sample.aspects, entities=tuple(entities))


async def seed_feedback(
    redis: Redis,
    venues: Sequence[Venue],
    count: int,
    *,
    start: float,
    spacing: float,
    rng: random.Random,
    answered_share: float = 0.5,
    analysed_share: float = 0.9,
    in_order: bool = False,
    tickets_by_batch: bool = False,
    batch: int = 500,
    on_batch: Callable[[int], None] | None = None,
    channels: Sequence[str] = ("telegram",),
) -> None:
    """`count` complete feedbacks, one every `spacing` seconds from `start`, at venues picked at random;
    most analysed, each with a ticket, some answered by the staff (some of those answered twice).
    `in_order` takes the venues and the samples in turn instead, for figures a test can count by hand.
    Each ticket opens a second after its feedback, as the notifier would; `tickets_by_batch` opens a batch's
    tickets together (at its first feedback's time), much faster, for large benchmarks.
    `channels` are taken in turn: feedback n comes from a customer of `channels[n % len(channels)]`."""
    store, tickets, analyses = Store(redis), TicketStore(redis), AnalysisStore(redis)
    for first in range(0, count, batch):
        records: list[tuple[FeedbackRecord, Sample]] = []
        for index in range(first, min(count, first + batch)):
            if in_order:
                venue, sample = venues[index % len(venues)], SAMPLES[index % len(SAMPLES)]
            else:
                venue, sample = rng.choice(venues), rng.choice(SAMPLES)
            created = start + index * spacing
            ref = VenueRef(venue.brand, venue.code, venue.name)
            record = FeedbackRecord(
                id=f"{int(created * 1000):011x}{index % 65536:04x}", venue=ref, language="fr", rating=sample.rating,
                reason=sample.reason, suggestion=sample.suggestion, status=FeedbackStatus.COMPLETE,
                created_at=created, updated_at=created, flow="default",
            )  # fmt: skip
            records.append((record, sample))
        customer = CustomerId.telegram(10_000 + first // batch)
        # Stored in the order they were given (runs of one channel together), as the bot would: the inbox
        # lists feedback in the order it was stored.
        runs = itertools.groupby(enumerate(records, start=first), key=lambda item: channels[item[0] % len(channels)])
        for channel, run in runs:
            who = customer if channel == "telegram" else CustomerId.of(channel, f"seeded{first // batch}")
            sent = [record for _, (record, _) in run]
            await store.save_turn(who, Conversation(), sent, duplicate_window=1, conversation_timeout=1800)
        for brand in {r.venue.brand for r, _ in records}:
            mine = [(r, s) for r, s in records if r.venue.brand == brand]
            chosen = [(r.id, analysis_of(s), "") for r, s in mine if rng.random() < analysed_share]
            await analyses.save_many(brand, chosen)
            plans = [
                (r, rng.choice((300, 900, 3600, 7200)) if rng.random() < answered_share else 0, rng.choice((1, 1, 2)))
                for r, _ in mine
            ]
            opened: list[Ticket | None] = [None] * len(plans)
            if tickets_by_batch:
                opened = await tickets.open_many([_new_ticket(r) for r, _, _ in plans], now=plans[0][0].created_at + 1)
            for at in range(0, len(plans), 50):  # 50 at a time: as many connections
                chunk = zip(opened[at : at + 50], plans[at : at + 50], strict=True)
                await asyncio.gather(*(_ticket(tickets, ticket, *plan, customer) for ticket, plan in chunk))
        if on_batch is not None:
            on_batch(len(records))


def _new_ticket(record: FeedbackRecord) -> NewTicket:
    ref = record.venue
    return NewTicket(ref.brand, record.id, ref.code, ref.name, "fr", record.created_at, "", None)


async def _ticket(
    tickets: TicketStore,
    ticket: Ticket | None,
    record: FeedbackRecord,
    answer_after: int,
    answers: int,
    customer: CustomerId,
) -> None:
    if ticket is None:
        [ticket] = await tickets.open_many([_new_ticket(record)], now=record.created_at + 1)
    if ticket is None or not answer_after:
        return
    for extra in range(answers):
        await tickets.staff_replied(
            ticket, f"Merci ; réponse n°{extra + 1}", customer=customer, room=-100, message_ids=(),
            now=ticket.created_at + answer_after + extra * 60,
        )  # fmt: skip
