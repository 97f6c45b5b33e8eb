"""Value types of the analysis: what goes in (texts, vocabulary) and what comes out (entities, kind, aspects)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# The canonical id of a vocabulary term, re-exported here for code that needs only the value types; one
# implementation, in `nlp.normalize` (pure strings, no spaCy).
from nlp.normalize import vocabulary_id as vocabulary_id


class Kind(StrEnum):
    """The four kinds of feedback used in the field."""

    COMPLAINT = "complaint"
    CRITIQUE = "critique"
    SUGGESTION = "suggestion"
    PRAISE = "praise"


class Label(StrEnum):
    """Entity labels: the model's four and the brand vocabulary's PRODUCT."""

    PER = "PER"
    ORG = "ORG"
    LOC = "LOC"
    PRODUCT = "PRODUCT"
    MISC = "MISC"


@dataclass(frozen=True, slots=True)
class VocabularyEntry:
    """One term the brand wants recognised: a staff first name, a product, a place, a name.

    `id` is the canonical identity ("julien"), so "Julien", "julien" and "le serveur Julien" count
    as one person.
    """

    label: Label
    text: str
    id: str

    def to_json(self) -> dict[str, str]:
        return {"label": self.label.value, "text": self.text, "id": self.id}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VocabularyEntry:
        return cls(label=Label(data["label"]), text=str(data["text"]), id=str(data["id"]))


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """A brand's vocabulary; `version` changes whenever an entry is added or removed."""

    brand: str
    entries: tuple[VocabularyEntry, ...] = ()
    version: str = "0"


@dataclass(frozen=True, slots=True)
class FeedbackText:
    """What the analysis reads of one feedback."""

    reason: str | None
    suggestion: str | None
    rating: int | None = None
    language_hint: str | None = None  # the customer's Telegram/chosen language, when known


@dataclass(frozen=True, slots=True)
class Entity:
    """A mention found in a text; `start`/`end` are character offsets in that field's text."""

    text: str
    label: Label
    start: int
    end: int
    field: str = "reason"  # "reason" or "suggestion"
    id: str | None = None  # the canonical id, when it matched the brand's vocabulary or the packaged companies

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "text": self.text,
            "label": self.label.value,
            "start": self.start,
            "end": self.end,
            "field": self.field,
        }
        if self.id is not None:
            data["id"] = self.id
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entity:
        return cls(
            text=str(data["text"]),
            label=Label(data["label"]),
            start=int(data["start"]),
            end=int(data["end"]),
            field=str(data.get("field", "reason")),
            id=data.get("id"),
        )


@dataclass(frozen=True, slots=True)
class Analysis:
    """The analysis of one feedback."""

    language: str
    kind: Kind
    aspects: tuple[str, ...]
    entities: tuple[Entity, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "kind": self.kind.value,
            "aspects": list(self.aspects),
            "entities": [e.to_json() for e in self.entities],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Analysis:
        return cls(
            language=str(data["language"]),
            kind=Kind(data["kind"]),
            aspects=tuple(data.get("aspects", ())),
            entities=tuple(Entity.from_json(e) for e in data.get("entities", ())),
        )
