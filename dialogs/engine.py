"""The dialog state machine: one customer event and the stored conversation in, what to do out.

Pure: no clock, no randomness, no I/O. The adapter passes the time and a fresh feedback id, stores the
returned `Conversation` and `FeedbackRecord` snapshots, and sends the replies.

What the conversation's fields mean here: `step` is the flow step waiting for an answer, the engine's
own `venue_code` step while it waits for a short venue code, or None when no feedback is being
collected. `feedback_id` and `created_at` describe the feedback started by the last rating; they stay
after the end step (so a later relay can find it), while `rating`, `reason` and `suggestion` are
cleared once the feedback is complete, cancelled or abandoned.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, assert_never

from dialogs.answers import clean_text, is_skip, parse_discard, parse_nps, parse_rating
from dialogs.flow import DISCARD_STEP, VENUE_CODE_STEP, AnswerField, Flow, InputKind, Step
from dialogs.keyboards import (
    DISCARD,
    KEEP,
    SKIP,
    Keyboard,
    discard_keyboard,
    language_keyboard,
    nps_keyboard,
    parse_language,
    parse_nps_button,
    parse_rate,
    rating_keyboard,
    skip_keyboard,
)
from dialogs.messages import ENGINE_MESSAGES, MessageName, language_button
from dialogs.types import (
    Button,
    Command,
    Conversation,
    Event,
    FeedbackRecord,
    FeedbackStatus,
    MessagePart,
    NonText,
    Outcome,
    Reply,
    Start,
    Text,
    VenueCodeAnswer,
    VenueRef,
)

__all__ = ["DialogEngine"]

_Parts = tuple[MessagePart, ...]
_LANGUAGE_NAMES = {"français": "fr", "francais": "fr", "french": "fr", "english": "en", "anglais": "en"}
_LANGUAGE_COMMANDS = frozenset({"language", "langue", "lang"})


class DialogEngine:
    """Run a flow: turn each customer event into the next conversation state, replies and feedback."""

    def __init__(
        self,
        flow: Flow,
        *,
        max_text_length: int = 2000,
        conversation_timeout: float = 1800.0,
        duplicate_window_hours: float = 24.0,
    ) -> None:
        """Build an engine for a validated flow.

        Args:
            flow: the questions to ask.
            max_text_length: free text longer than this is cut (and the customer told).
            conversation_timeout: seconds of silence after which a conversation counts as idle.
            duplicate_window_hours: shown to a customer who already gave feedback for the venue.
        """
        if max_text_length < 1 or conversation_timeout <= 0 or duplicate_window_hours <= 0:
            raise ValueError("max_text_length, conversation_timeout and duplicate_window_hours must be positive")
        self._flow = flow
        self._max_text_length = max_text_length
        self._timeout = conversation_timeout
        self._window_hours = duplicate_window_hours
        self._default_language = "fr" if "fr" in flow.languages else flow.languages[0]

    @property
    def flow(self) -> Flow:
        """The flow the engine runs."""
        return self._flow

    def required_templates(self) -> frozenset[str]:
        """Every template the engine and its flow may emit, for checking a catalog at start-up."""
        buttons = {language_button(language) for language in self._flow.languages}
        return frozenset(ENGINE_MESSAGES) | self._flow.templates | buttons

    def keyboard_for(self, template: str) -> Keyboard:
        """The keyboard the engine shows under a template (a flow question, the language choice), for previews."""
        if template == MessageName.CHOOSE_LANGUAGE:
            return language_keyboard(self._flow.languages)
        for step in self._flow.steps:
            if step.ask == template:
                return _keyboard(step)
        return ()

    def language_for(self, telegram_language_code: str | None, venue_language: str | None = None) -> str:
        """The language to speak to a customer whose Telegram client uses this language code: theirs if the
        flow speaks it, else the venue's (a German at an English venue reads English), else the default."""
        if self.speaks(telegram_language_code):
            assert telegram_language_code is not None
            return _primary(telegram_language_code)
        if venue_language and venue_language in self._flow.languages:
            return venue_language
        return self._default_language

    def speaks(self, language_code: str | None) -> bool:
        """Whether the flow has texts in this language code's language (`de-AT` is German)."""
        return bool(language_code) and _primary(language_code or "") in self._flow.languages

    def expects_venue_code(self, state: Conversation, *, now: float) -> bool:
        """Tell whether the next text should be resolved as a short venue code (`VenueCodeAnswer`)."""
        return self._live(state, now).step == VENUE_CODE_STEP

    def handle(self, state: Conversation, event: Event, *, now: float, new_feedback_id: str) -> Outcome:
        """Decide what an event does to a conversation.

        Args:
            state: the stored conversation (a fresh `Conversation` for a new chat).
            event: what the customer did, resolved by the adapter.
            now: the current time, in seconds since the epoch.
            new_feedback_id: the id to give a feedback if this event starts one (otherwise unused).
        """
        outcome = self._decide(state, event, now, new_feedback_id)
        if outcome.replies and not outcome.feedback and self._is_under_way(outcome.state):
            # Any turn keeps the feedback alive: its snapshot's updated_at is what the adapter's
            # sweeper times out, so it moves with the conversation's.
            snapshot = self._snapshot(outcome.state, FeedbackStatus.IN_PROGRESS, now)
            outcome = replace(outcome, feedback=(snapshot,))
        return outcome

    def _decide(self, state: Conversation, event: Event, now: float, new_feedback_id: str) -> Outcome:
        current = self._live(state, now)
        if isinstance(event, Button):
            return self._on_button(state, current, event.data, now, new_feedback_id)
        if isinstance(event, Start):
            return self._on_start(current, event.payload, event.venue, event.already_rated, now)
        if isinstance(event, VenueCodeAnswer):
            if current.step == VENUE_CODE_STEP:
                return self._on_venue_code(current, event, now)
            return self._on_text(current, event.text, now, new_feedback_id)
        if isinstance(event, Text):
            return self._on_text(current, event.text, now, new_feedback_id)
        if isinstance(event, NonText):
            return self._on_non_text(current, now)
        if isinstance(event, Command):
            return self._on_command(current, event, now)
        assert_never(event)

    # --- events ------------------------------------------------------------------------------------

    def _on_start(
        self,
        current: Conversation,
        payload: str | None,
        venue: VenueRef | None,
        already_rated: bool,
        now: float,
    ) -> Outcome:
        if venue is not None and venue.archived:  # its data stays; it takes no new feedback
            part = MessagePart(MessageName.VENUE_ARCHIVED, {"venue_name": venue.name})
            return self._reply(self._restart(current, now, None, None), (part,), feedback=self._abandon(current, now))
        if venue is not None and self._is_rating(current, venue):
            # The customer scanned again while rating this venue: start over on the same feedback, so
            # the new answers replace the old ones and nothing is counted twice.
            state = replace(
                self._restart(current, now, self._flow.start, venue),
                feedback_id=current.feedback_id,
                created_at=current.created_at,
            )
            greeting = MessagePart(MessageName.GREETING, {"venue_name": venue.name, "brand_name": venue.brand_name})
            parts, buttons = self._question(state)
            return self._reply(state, (greeting, *parts), buttons)
        abandoned = self._abandon(current, now)
        if venue is not None and already_rated:
            hours = int(self._window_hours) if self._window_hours.is_integer() else self._window_hours
            part = MessagePart(MessageName.ALREADY_RATED, {"venue_name": venue.name, "hours": hours})
            return self._reply(self._restart(current, now, None, venue), (part,), feedback=abandoned)
        if venue is not None:
            state = self._restart(current, now, self._flow.start, venue)
            greeting = MessagePart(MessageName.GREETING, {"venue_name": venue.name, "brand_name": venue.brand_name})
            parts, buttons = self._question(state)
            return self._reply(state, (greeting, *parts), buttons, feedback=abandoned)
        state = self._restart(current, now, VENUE_CODE_STEP, None)
        ask = MessagePart(MessageName.ASK_VENUE_CODE)
        parts = (MessagePart(MessageName.UNKNOWN_VENUE), ask) if payload else (ask,)
        return self._reply(state, parts, feedback=abandoned)

    def _on_venue_code(self, current: Conversation, event: VenueCodeAnswer, now: float) -> Outcome:
        if event.venue is None:
            return self._reply(replace(current, updated_at=now), (MessagePart(MessageName.BAD_VENUE_CODE),))
        return self._on_start(current, None, event.venue, event.already_rated, now)

    def _on_button(
        self, stored: Conversation, current: Conversation, data: str, now: float, new_feedback_id: str
    ) -> Outcome:
        language = parse_language(data)
        if language is not None and language in self._flow.languages:
            return self._set_language(current, language, now, clicked=True)
        if current.step == DISCARD_STEP and data in (DISCARD, KEEP):
            return (
                self._discard(current, now, clicked=True) if data == DISCARD else self._keep(current, now, clicked=True)
            )
        step = self._step(current)
        if step is not None:
            rating = parse_rate(data)
            if rating is not None and step.input is InputKind.RATING:
                return self._rate(current, step, rating, now, new_feedback_id, clicked=True)
            score = parse_nps_button(data)
            if score is not None and step.input is InputKind.NPS:
                return self._score(current, step, score, now, clicked=True)
            if data == SKIP and step.optional:
                return self._skip(current, step, now, clicked=True)
        # A button from an older message: say so on screen, change nothing.
        return Outcome(stored, notice=MessagePart(MessageName.EXPIRED_BUTTON))

    def _on_text(self, current: Conversation, text: str, now: float, new_feedback_id: str) -> Outcome:
        touched = replace(current, updated_at=now)
        if current.step is None:
            return self._reply(touched, (MessagePart(MessageName.IDLE),))
        if current.step == VENUE_CODE_STEP:
            return self._reply(touched, (MessagePart(MessageName.BAD_VENUE_CODE),))
        if current.step == DISCARD_STEP:
            discard = parse_discard(text)
            if discard is None:  # neither answer: the question again, nothing changes
                return self._reply(touched, *self._question(touched))
            return self._discard(current, now, clicked=False) if discard else self._keep(current, now, clicked=False)
        step = self._flow.step(current.step)
        if step.input is InputKind.RATING:
            rating = parse_rating(text)
            if rating is None:
                return self._reply(touched, (MessagePart(MessageName.REPROMPT_RATING),), rating_keyboard())
            return self._rate(current, step, rating, now, new_feedback_id, clicked=False)
        if step.optional and is_skip(text):
            return self._skip(current, step, now, clicked=False)
        if step.input is InputKind.NPS:
            score = parse_nps(text)
            if score is None:
                return self._reply(touched, (MessagePart(MessageName.REPROMPT_NPS),), _keyboard(step))
            return self._score(current, step, score, now, clicked=False)
        cleaned, truncated = clean_text(text, self._max_text_length)
        if not cleaned:
            return self._reprompt_text(touched)
        answered = _store(touched, step.store, cleaned)
        notice: _Parts = ()
        if truncated:
            notice = (MessagePart(MessageName.TEXT_TRUNCATED, {"limit": self._max_text_length}),)
        return self._advance(answered, step, now, before=notice)

    def _on_non_text(self, current: Conversation, now: float) -> Outcome:
        touched = replace(current, updated_at=now)
        if current.step is None:
            return self._reply(touched, (MessagePart(MessageName.IDLE),))
        if current.step in (VENUE_CODE_STEP, DISCARD_STEP):
            return self._reply(touched, *self._question(touched))
        step = self._flow.step(current.step)
        if step.input is InputKind.RATING:
            return self._reply(touched, (MessagePart(MessageName.REPROMPT_RATING),), rating_keyboard())
        if step.input is InputKind.NPS:
            return self._reply(touched, (MessagePart(MessageName.REPROMPT_NPS),), _keyboard(step))
        return self._reprompt_text(touched)

    def _on_command(self, current: Conversation, command: Command, now: float) -> Outcome:
        touched = replace(current, updated_at=now)
        name = command.name.lower().lstrip("/")
        if name == "cancel":
            if current.step is None:
                return self._reply(touched, (MessagePart(MessageName.NOTHING_TO_CANCEL),))
            if self._is_under_way(current):  # a rating given: the customer chooses to delete it or keep it
                asking = replace(touched, step=DISCARD_STEP)
                return self._reply(asking, *self._question(asking))
            return self._keep(current, now, clicked=False)
        if name in _LANGUAGE_COMMANDS:
            choice = _language_choice(command.args, self._flow.languages)
            if choice is not None:
                return self._set_language(current, choice, now, clicked=False)
            keyboard = language_keyboard(self._flow.languages)
            return self._reply(touched, (MessagePart(MessageName.CHOOSE_LANGUAGE),), keyboard)
        # /help, and any command the bot does not know.
        parts, buttons = self._question(touched) if current.step is not None else ((), ())
        return self._reply(touched, (MessagePart(MessageName.HELP), *parts), buttons)

    # --- moves -------------------------------------------------------------------------------------

    def _rate(
        self, current: Conversation, step: Step, rating: int, now: float, feedback_id: str, *, clicked: bool
    ) -> Outcome:
        # A restart on the same venue keeps its feedback: the new rating replaces the old one.
        kept = current.feedback_id is not None and current.created_at > 0
        started = replace(
            current,
            feedback_id=current.feedback_id if kept else feedback_id,
            rating=rating,
            reason=None,
            suggestion=None,
            nps=None,
            created_at=current.created_at if kept else now,
            updated_at=now,
        )
        # A clicked star keyboard becomes the recap of the rating, followed by the next question.
        recap = (MessagePart(MessageName.RATING_RECAP, {"rating": rating}),) if clicked else ()
        return self._advance(started, step, now, before=recap, clicked=clicked)

    def _score(self, current: Conversation, step: Step, score: int, now: float, *, clicked: bool) -> Outcome:
        # A clicked 0-10 keyboard becomes the recap of the score, followed by the next question.
        recap = (MessagePart(MessageName.NPS_RECAP, {"score": score}),) if clicked else ()
        return self._advance(replace(current, nps=score, updated_at=now), step, now, before=recap, clicked=clicked)

    def _skip(self, current: Conversation, step: Step, now: float, *, clicked: bool) -> Outcome:
        # A clicked Skip keeps its question on screen, without the button, above what comes next.
        question = (MessagePart(step.template, self._flow_variables(current)),) if clicked else ()
        return self._advance(replace(current, updated_at=now), step, now, before=question, clicked=clicked)

    def _advance(
        self, answered: Conversation, step: Step, now: float, *, before: _Parts = (), clicked: bool = False
    ) -> Outcome:
        target = self._flow.step(step.next_step(answered.rating))
        if target.end:
            said = MessagePart(target.template, self._flow_variables(answered))
            record = self._snapshot(answered, FeedbackStatus.COMPLETE, now)
            done = replace(_cleared(answered), step=None, updated_at=now)
            return Outcome(done, (Reply((*before, said), (), clicked),), feedback=(record,))
        moved = replace(answered, step=target.name, updated_at=now)
        parts, buttons = self._question(moved)
        record = self._snapshot(moved, FeedbackStatus.IN_PROGRESS, now)
        return Outcome(moved, (Reply((*before, *parts), buttons, clicked),), feedback=(record,))

    def _set_language(self, current: Conversation, language: str, now: float, *, clicked: bool) -> Outcome:
        state = replace(current, language=language, language_chosen=True, updated_at=now)
        parts, buttons = self._question(state) if state.step is not None else ((), ())
        return self._reply(state, (MessagePart(MessageName.LANGUAGE_SET), *parts), buttons, clicked=clicked)

    def _keep(self, current: Conversation, now: float, *, clicked: bool) -> Outcome:
        """Stop the conversation; a rating given is kept (the team sees it and may answer): say so, and when a
        new one is possible."""
        abandoned = self._abandon(current, now)
        state = replace(_cleared(current), step=None, updated_at=now)
        told = {"kept": bool(abandoned), **self._cancel_variables(current)}
        return self._reply(state, (MessagePart(MessageName.CANCELLED, told),), clicked=clicked, feedback=abandoned)

    def _discard(self, current: Conversation, now: float, *, clicked: bool) -> Outcome:
        """Stop the conversation and delete the feedback under way, as if it had never been given."""
        taken_back = self._snapshot(current, FeedbackStatus.IN_PROGRESS, now)
        state = replace(_cleared(current), step=None, feedback_id=None, created_at=0.0, updated_at=now)
        said = MessagePart(MessageName.RATING_DISCARDED, self._flow_variables(current))
        return Outcome(state, (Reply((said,), (), clicked),), discarded=(taken_back,))

    def _cancel_variables(self, state: Conversation) -> dict[str, Any]:
        hours = int(self._window_hours) if self._window_hours.is_integer() else self._window_hours
        venue_name = state.venue.name if state.venue is not None else ""
        return {"rating": state.rating or 0, "hours": hours, "venue_name": venue_name}

    def _reprompt_text(self, touched: Conversation) -> Outcome:
        parts, buttons = self._question(touched)
        return self._reply(touched, (MessagePart(MessageName.REPROMPT_TEXT), *parts), buttons)

    # --- helpers -----------------------------------------------------------------------------------

    def _live(self, state: Conversation, now: float) -> Conversation:
        """The conversation as it stands now: one silent for too long, or lost by a flow edit, is idle.

        Its feedback was abandoned by the adapter's sweeper, so it is not emitted again.
        """
        if state.step is None:
            return state
        if state.step == VENUE_CODE_STEP:
            known = True
        elif state.step == DISCARD_STEP:
            known = state.venue is not None and state.rating is not None
        else:
            known = self._flow.has_step(state.step) and state.venue is not None
        if known and now - state.updated_at <= self._timeout:
            return state
        return replace(_cleared(state), step=None)

    def _step(self, state: Conversation) -> Step | None:
        """The flow step waiting for an answer (None when idle or on one of the engine's own steps)."""
        if state.step is None or state.step in (VENUE_CODE_STEP, DISCARD_STEP):
            return None
        return self._flow.step(state.step)

    def _question(self, state: Conversation) -> tuple[_Parts, Keyboard]:
        """The current question, with its keyboard, as asked (again)."""
        if state.step == DISCARD_STEP:
            return (MessagePart(MessageName.ASK_DISCARD_RATING, self._cancel_variables(state)),), discard_keyboard()
        step = self._step(state)
        if step is None:
            return (MessagePart(MessageName.ASK_VENUE_CODE),), ()
        return (MessagePart(step.template, self._flow_variables(state)),), _keyboard(step)

    def _flow_variables(self, state: Conversation) -> dict[str, Any]:
        venue = state.venue
        return {
            "venue_name": venue.name if venue else "",
            "brand_name": venue.brand_name if venue else "",
            "rating": state.rating,
        }

    def _restart(self, current: Conversation, now: float, step: str | None, venue: VenueRef | None) -> Conversation:
        return replace(
            _cleared(current),
            step=step,
            venue=venue,
            feedback_id=None,
            created_at=0.0,
            updated_at=now,
            flow=self._flow.name,
        )

    def _is_rating(self, current: Conversation, venue: VenueRef) -> bool:
        """Tell whether a feedback for this venue is under way (rating given, not complete)."""
        return (
            self._is_under_way(current)
            and current.venue is not None
            and (current.venue.brand, current.venue.code) == (venue.brand, venue.code)
        )

    def _is_under_way(self, state: Conversation) -> bool:
        """Tell whether a feedback has started (rating given) and is not complete yet."""
        asking = state.step == DISCARD_STEP or self._step(state) is not None
        return asking and state.rating is not None and state.feedback_id is not None

    def _abandon(self, current: Conversation, now: float) -> tuple[FeedbackRecord, ...]:
        """The abandoned snapshot of the feedback under way, if there is one."""
        if not self._is_under_way(current):
            return ()
        return (self._snapshot(current, FeedbackStatus.ABANDONED, now),)

    def _snapshot(self, state: Conversation, status: FeedbackStatus, now: float) -> FeedbackRecord:
        assert state.venue is not None and state.feedback_id is not None and state.rating is not None
        return FeedbackRecord(
            id=state.feedback_id,
            venue=state.venue,
            language=state.language,
            rating=state.rating,
            reason=state.reason,
            suggestion=state.suggestion,
            nps=state.nps,
            status=status,
            created_at=state.created_at,
            updated_at=now,
            flow=state.flow,
        )

    @staticmethod
    def _reply(
        state: Conversation,
        parts: _Parts,
        buttons: Keyboard = (),
        *,
        clicked: bool = False,
        feedback: tuple[FeedbackRecord, ...] = (),
    ) -> Outcome:
        return Outcome(state, (Reply(parts, buttons, clicked),), feedback=feedback)


def _cleared(state: Conversation) -> Conversation:
    """The conversation without the answers of a feedback."""
    return replace(state, rating=None, reason=None, suggestion=None, nps=None)


def _keyboard(step: Step) -> Keyboard:
    """The keyboard under a question: the stars, the 0-10 scores (with Skip when optional), or Skip alone."""
    if step.input is InputKind.RATING:
        return rating_keyboard()
    skip = skip_keyboard() if step.optional else ()
    return (*nps_keyboard(), *skip) if step.input is InputKind.NPS else skip


def _store(state: Conversation, field: AnswerField | None, text: str) -> Conversation:
    if field is AnswerField.REASON:
        return replace(state, reason=text)
    if field is AnswerField.SUGGESTION:
        return replace(state, suggestion=text)
    raise AssertionError(f"a text step stores into reason or suggestion, not {field!r}")


def _language_choice(args: str, languages: tuple[str, ...]) -> str | None:
    word = args.strip().casefold()
    choice = _LANGUAGE_NAMES.get(word, word)
    return choice if choice in languages else None


def _primary(language_code: str) -> str:
    return language_code.strip().lower().replace("_", "-").split("-")[0]
