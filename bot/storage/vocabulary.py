"""A brand's vocabulary in Redis: the names the analysis should know (staff, products, places)."""

from __future__ import annotations

import json
import unicodedata

from redis.asyncio import Redis

from bot.errors import InvalidInput, NotFound, problem
from bot.storage import keys
from nlp.types import Label, Vocabulary, VocabularyEntry, vocabulary_id

MAX_TERM_LENGTH = 80
MAX_ENTRIES = 5000


def _field(label: Label, text: str) -> str:
    return f"{label.value}:{text.casefold()}"


def check_term(text: str) -> str:
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InvalidInput(problem("term_empty", "a vocabulary term must not be empty"))
    if len(cleaned) > MAX_TERM_LENGTH:
        raise InvalidInput(
            problem("term_too_long", "a vocabulary term must be at most {most} characters", most=MAX_TERM_LENGTH)
        )
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in cleaned):
        raise InvalidInput(problem("term_control", "a vocabulary term must not contain control characters"))
    if not vocabulary_id(cleaned):
        raise InvalidInput(problem("term_no_letter", "{term!r} has no letter or digit to recognise", term=cleaned))
    return cleaned


def check_label(label: str) -> Label:
    try:
        return Label(label.upper())
    except ValueError:
        labels = tuple(item.value for item in Label)
        text = "label {label!r} must be one of {labels:entity_labels}"
        raise InvalidInput(problem("vocab_label", text, label=label, labels=labels)) from None


class VocabularyStore:
    """Read and change brands' vocabularies; every change bumps the brand's vocabulary version."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def _require_brand(self, brand: str) -> None:
        if not await self.redis.exists(keys.brand(brand)):
            raise NotFound("brand", brand)

    async def add(self, brand: str, label: str, text: str, entry_id: str | None = None) -> VocabularyEntry:
        await self._require_brand(brand)
        checked_label = check_label(label)
        term = check_term(text)
        canonical = vocabulary_id(entry_id) if entry_id is not None else vocabulary_id(term)
        if not canonical:
            raise InvalidInput(problem("vocab_id", "id {id!r} has no letter or digit", id=entry_id))
        if await self.redis.hlen(keys.vocabulary(brand)) >= MAX_ENTRIES:
            raise InvalidInput(
                problem("vocab_full", "a brand's vocabulary holds at most {most} terms", most=MAX_ENTRIES)
            )
        entry = VocabularyEntry(label=checked_label, text=term, id=canonical)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.vocabulary(brand), _field(checked_label, term), json.dumps(entry.to_json()))
            pipe.incr(keys.vocabulary_version(brand))
            await pipe.execute()
        return entry

    async def remove(self, brand: str, text: str, label: str | None = None) -> list[VocabularyEntry]:
        """Remove a term (under every label, or under `label`); return what was removed."""
        await self._require_brand(brand)
        labels = [check_label(label)] if label else list(Label)
        term = " ".join(text.split())
        removed: list[VocabularyEntry] = []
        for item in labels:
            raw = await self.redis.hget(keys.vocabulary(brand), _field(item, term))
            if raw is not None:
                removed.append(VocabularyEntry.from_json(json.loads(raw)))
        if not removed:
            raise NotFound("vocabulary term", term)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.vocabulary(brand), *(_field(e.label, e.text) for e in removed))
            pipe.incr(keys.vocabulary_version(brand))
            await pipe.execute()
        return removed

    async def load(self, brand: str) -> Vocabulary:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.vocabulary(brand))
            pipe.get(keys.vocabulary_version(brand))
            raw, version = await pipe.execute()
        entries = sorted(
            (VocabularyEntry.from_json(json.loads(value)) for value in raw.values()),
            key=lambda e: (e.label.value, e.text.casefold()),
        )
        return Vocabulary(brand=brand, entries=tuple(entries), version=str(version or "0"))

    async def version(self, brand: str) -> str:
        return str(await self.redis.get(keys.vocabulary_version(brand)) or "0")
