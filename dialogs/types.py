"""Value types of the dialog engine: what goes in (events), what comes out (outcomes), what is kept (state).

Everything here is a frozen dataclass or plain JSON; `bot/` turns Telegram updates into events and
outcomes into Bot API calls, and stores `Conversation` as JSON in Redis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias


class FeedbackStatus(StrEnum):
    """Where a feedback is in its life: started at the rating, then complete or abandoned."""

    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    ABANDONED = "abandoned"


@dataclass(frozen=True, slots=True)
class VenueRef:
    """The venue a conversation is about, as the engine needs it (resolved by `bot/`)."""

    brand: str
    code: str
    name: str
    brand_name: str = ""
    archived: bool = False  # the venue (or its brand) takes no new feedback

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "brand": self.brand,
            "code": self.code,
            "name": self.name,
            "brand_name": self.brand_name,
        }
        if self.archived:
            data["archived"] = True
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VenueRef:
        return cls(
            brand=str(data["brand"]),
            code=str(data["code"]),
            name=str(data["name"]),
            brand_name=str(data.get("brand_name", "")),
            archived=data.get("archived") is True,
        )


# --- events: what the customer did, already resolved by the adapter ------------------------------


@dataclass(frozen=True, slots=True)
class Start:
    """`/start` with or without a payload.

    `payload` is the deep-link parameter (None for a bare `/start`); `venue` is what it resolved to
    (None when unknown or forged); `already_rated` is True when this customer gave feedback for this
    venue within the duplicate window.
    """

    payload: str | None = None
    venue: VenueRef | None = None
    already_rated: bool = False


@dataclass(frozen=True, slots=True)
class VenueCodeAnswer:
    """Text typed while the engine waits for a short venue code, with what it resolved to."""

    text: str
    venue: VenueRef | None = None
    already_rated: bool = False


@dataclass(frozen=True, slots=True)
class Text:
    """A plain text message (commands excluded)."""

    text: str


@dataclass(frozen=True, slots=True)
class Button:
    """A click on an inline button, with the button's callback data."""

    data: str


@dataclass(frozen=True, slots=True)
class Command:
    """A command other than /start: `help`, `cancel`, `language` (name without the slash, lower case)."""

    name: str
    args: str = ""


@dataclass(frozen=True, slots=True)
class NonText:
    """Anything that is not text where the customer may type: sticker, photo, voice, location, …"""

    kind: str


Event: TypeAlias = Start | VenueCodeAnswer | Text | Button | Command | NonText


# --- outcomes: what to say and what to store ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessagePart:
    """One template rendered into a message; several parts are joined by a blank line."""

    template: str
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ButtonSpec:
    """An inline button: its label is a template (rendered in the customer's language)."""

    label: MessagePart
    data: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to the customer.

    `replace_clicked` asks the adapter to edit the message whose button was clicked (when the event was
    a `Button`) instead of sending a new one: fewer Bot API calls and no stale keyboard.
    """

    parts: tuple[MessagePart, ...]
    buttons: tuple[tuple[ButtonSpec, ...], ...] = ()
    replace_clicked: bool = False


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """A full snapshot of one feedback, written as a whole each time it changes (idempotent)."""

    id: str
    venue: VenueRef
    language: str
    rating: int
    reason: str | None
    suggestion: str | None
    status: FeedbackStatus
    created_at: float
    updated_at: float
    flow: str
    nps: int | None = None  # the answer to a flow's optional 0-10 question (`input: nps`), if it asks it


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the engine decided: the new state, the messages, the feedback to store.

    `notice` is the short text shown on the customer's screen when the event was a button click
    (Telegram's callback answer); the adapter always answers a click, with or without it.
    `feedback` holds the snapshots to store, in order (a restart may abandon one and start none);
    `discarded` the feedback the customer took back after /cancel, to delete with every trace of it.
    """

    state: Conversation
    replies: tuple[Reply, ...] = ()
    notice: MessagePart | None = None
    feedback: tuple[FeedbackRecord, ...] = ()
    discarded: tuple[FeedbackRecord, ...] = ()


# --- state -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Conversation:
    """Everything the engine knows about one customer's chat; stored as JSON between updates.

    `step` is None when no feedback is being collected. `language` is the customer's language,
    `language_chosen` is True once they picked it with /language (then it wins over Telegram's).
    """

    language: str = "fr"
    language_chosen: bool = False
    step: str | None = None
    venue: VenueRef | None = None
    feedback_id: str | None = None
    rating: int | None = None
    reason: str | None = None
    suggestion: str | None = None
    nps: int | None = None  # the answer to the flow's optional 0-10 question, if it asks it
    created_at: float = 0.0
    updated_at: float = 0.0
    flow: str = "default"
    flow_ref: str = ""  # which saved version of the flow the adapter runs this chat on ("": the default file)
    texts_ref: str = ""  # which saved versions of the templates and flow it started on ("": the files)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": 1,
            "language": self.language,
            "language_chosen": self.language_chosen,
            "step": self.step,
            "venue": self.venue.to_json() if self.venue else None,
            "feedback_id": self.feedback_id,
            "rating": self.rating,
            "reason": self.reason,
            "suggestion": self.suggestion,
            "nps": self.nps,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "flow": self.flow,
            "flow_ref": self.flow_ref,
            "texts_ref": self.texts_ref,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Conversation:
        venue = data.get("venue")
        rating, nps = data.get("rating"), data.get("nps")
        return cls(
            language=str(data.get("language", "fr")),
            language_chosen=bool(data.get("language_chosen", False)),
            step=data.get("step"),
            venue=VenueRef.from_json(venue) if venue else None,
            feedback_id=data.get("feedback_id"),
            rating=int(rating) if rating is not None else None,
            reason=data.get("reason"),
            suggestion=data.get("suggestion"),
            nps=int(nps) if nps is not None else None,
            created_at=float(data.get("created_at", 0.0)),
            updated_at=float(data.get("updated_at", 0.0)),
            flow=str(data.get("flow", "default")),
            flow_ref=str(data.get("flow_ref", "")),
            texts_ref=str(data.get("texts_ref", "")),
        )
