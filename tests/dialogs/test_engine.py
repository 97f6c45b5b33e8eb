"""The dialog engine, conversation by conversation, written as transcripts: the customer does, the bot says.

Each turn is an event and what the bot answers, one string per message:
"greeting + ask_rating [rate:1 rate:2 rate:3 rate:4 rate:5]" is one message made of two templates with a
row of five buttons (by callback data); "edit: …" replaces the message whose button was clicked;
"notice: …" is the toast answering a click. The conversation goes through JSON between turns, as it
does through Redis, and every reply is rendered with the shipped templates.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field

import pytest

from dialogs.catalog import TemplateCatalog
from dialogs.engine import DialogEngine
from dialogs.flow import Flow, parse_flow
from dialogs.render import MessageRenderer
from dialogs.types import (
    Button,
    Command,
    Conversation,
    Event,
    FeedbackRecord,
    FeedbackStatus,
    NonText,
    Outcome,
    Start,
    Text,
    VenueCodeAnswer,
    VenueRef,
)

VENUE = VenueRef(brand="quick", code="massy", name="Quick Massy", brand_name="Quick")
OTHER_VENUE = VenueRef(brand="quick", code="evry", name="Quick Évry", brand_name="Quick")
T0 = 1_700_000_000.0
TURN_SECONDS = 30.0
STARS = "[rate:1 rate:2 rate:3 rate:4 rate:5]"
SKIP = "[skip]"


@dataclass(frozen=True, slots=True)
class Later:
    """Not an event: the customer stays silent this many seconds."""

    seconds: float


Turn = tuple[Event | Later, list[str]]


@dataclass(slots=True)
class Played:
    """What a transcript left behind."""

    state: Conversation
    outcomes: list[Outcome] = field(default_factory=list)
    feedback: list[FeedbackRecord] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)


def said(outcome: Outcome) -> list[str]:
    """One line per message: its templates, its buttons, whether it edits the clicked message."""
    lines = []
    for reply in outcome.replies:
        line = " + ".join(part.template for part in reply.parts)
        if reply.buttons:
            line += " " + " | ".join("[" + " ".join(b.data for b in row) + "]" for row in reply.buttons)
        lines.append(f"edit: {line}" if reply.replace_clicked else line)
    if outcome.notice is not None:
        lines.append(f"notice: {outcome.notice.template}")
    return lines


def play(
    engine: DialogEngine,
    renderer: MessageRenderer,
    turns: list[Turn],
    *,
    state: Conversation | None = None,
    start: float = T0,
) -> Played:
    """Run a transcript through the engine, storing the state as JSON between turns."""
    played = Played(state=state if state is not None else Conversation())
    now = start
    for index, (event, expected) in enumerate(turns):
        if isinstance(event, Later):
            now += event.seconds
            continue
        now += TURN_SECONDS
        stored = json.dumps(played.state.to_json())
        loaded = Conversation.from_json(json.loads(stored))
        assert loaded == played.state, "the conversation does not survive JSON"
        outcome = engine.handle(loaded, event, now=now, new_feedback_id=f"fb-{index}")
        assert said(outcome) == expected, f"turn {index}: {event!r}"
        if outcome.replies:
            assert outcome.state.updated_at == now
        else:
            assert outcome.state == loaded, "a stale click changes nothing"
            assert not outcome.feedback
        for record in outcome.feedback:
            assert (record.updated_at, record.flow) == (now, "default")
        language = outcome.state.language
        for reply in outcome.replies:
            message = renderer.render_reply(reply, language)
            assert message.text and all(label for row in message.buttons for label, _ in row)
            played.rendered.append(message.text)
        if outcome.notice is not None:
            played.rendered.append(renderer.render(outcome.notice, language))
        played.outcomes.append(outcome)
        played.feedback.extend(outcome.feedback)
        played.state = outcome.state
    return played


def at_step(engine: DialogEngine, renderer: MessageRenderer, rating: int) -> Played:
    """A conversation that scanned VENUE and gave a rating by a click."""
    reasons = {
        1: "ask_reason_low",
        2: "ask_reason_low",
        3: "ask_reason_mid",
        4: "ask_reason_high",
        5: "ask_reason_high",
    }
    return play(
        engine,
        renderer,
        [
            (Start("tok", VENUE), [f"greeting + ask_rating {STARS}"]),
            (Button(f"rate:{rating}"), [f"edit: rating_recap + {reasons[rating]}"]),
        ],
    )


# --- the whole journey --------------------------------------------------------------------------


def test_journey_with_buttons(engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(
        engine,
        renderer,
        [
            (Start("tok", VENUE), [f"greeting + ask_rating {STARS}"]),
            (Button("rate:2"), ["edit: rating_recap + ask_reason_low"]),
            (Text("Trente minutes d'attente."), [f"ask_suggestion {SKIP}"]),
            (Button("skip"), ["edit: ask_suggestion + thanks"]),
            (Button("rate:4"), ["notice: expired_button"]),
            (Text("merci"), ["idle"]),
        ],
    )
    rating_time = T0 + 2 * TURN_SECONDS
    assert [(r.status, r.rating, r.reason, r.suggestion) for r in played.feedback] == [
        (FeedbackStatus.IN_PROGRESS, 2, None, None),
        (FeedbackStatus.IN_PROGRESS, 2, "Trente minutes d'attente.", None),
        (FeedbackStatus.COMPLETE, 2, "Trente minutes d'attente.", None),
    ]
    for record in played.feedback:
        assert (record.id, record.venue, record.language, record.created_at) == (
            "fb-1",
            VENUE,
            "fr",
            rating_time,
        )
    final = played.state
    assert (final.step, final.venue, final.feedback_id, final.rating, final.reason) == (
        None,
        VENUE,
        "fb-1",
        None,
        None,
    )
    assert "Quick Massy" in played.rendered[0]
    assert played.rendered[1].startswith("Votre note : ⭐⭐\n\n")
    assert "pourra vous répondre ici" in played.rendered[3]


def test_journey_typed_with_a_suggestion(engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(
        engine,
        renderer,
        [
            (Start("tok", VENUE), [f"greeting + ask_rating {STARS}"]),
            (Text("quatre"), ["ask_reason_high"]),
            (Text("  Le sourire de Léa  "), [f"ask_suggestion {SKIP}"]),
            (Text("Plus de sauce"), ["thanks"]),
        ],
    )
    assert played.feedback[-1].status is FeedbackStatus.COMPLETE
    assert (played.feedback[-1].reason, played.feedback[-1].suggestion) == (
        "Le sourire de Léa",
        "Plus de sauce",
    )
    assert played.feedback[-1].rating == 4


@pytest.mark.parametrize(
    ("rating", "question"),
    [
        (1, "ask_reason_low"),
        (2, "ask_reason_low"),
        (3, "ask_reason_mid"),
        (4, "ask_reason_high"),
        (5, "ask_reason_high"),
    ],
)
def test_the_reason_question_depends_on_the_rating(
    engine: DialogEngine, renderer: MessageRenderer, rating: int, question: str
) -> None:
    played = play(
        engine,
        renderer,
        [
            (Start("tok", VENUE), [f"greeting + ask_rating {STARS}"]),
            (Button(f"rate:{rating}"), [f"edit: rating_recap + {question}"]),
        ],
    )
    assert played.outcomes[-1].replies[0].parts[0].variables == {"rating": rating}
    assert played.feedback == [
        FeedbackRecord(
            id="fb-1",
            venue=VENUE,
            language="fr",
            rating=rating,
            reason=None,
            suggestion=None,
            status=FeedbackStatus.IN_PROGRESS,
            created_at=T0 + 2 * TURN_SECONDS,
            updated_at=T0 + 2 * TURN_SECONDS,
            flow="default",
        )
    ]


@pytest.mark.parametrize("typed", ["4", "4/5", "⭐⭐⭐⭐", "four", "4 étoiles"])
def test_typed_ratings(engine: DialogEngine, renderer: MessageRenderer, typed: str) -> None:
    played = play(
        engine,
        renderer,
        [(Start("tok", VENUE), [f"greeting + ask_rating {STARS}"]), (Text(typed), ["ask_reason_high"])],
    )
    assert played.feedback[0].rating == 4


# --- answers that cannot be used ------------------------------------------------------------------


def test_unreadable_rating_asks_again(engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(
        engine,
        renderer,
        [
            (Start("tok", VENUE), [f"greeting + ask_rating {STARS}"]),
            (Text("c'était super"), [f"reprompt_rating {STARS}"]),
            (Text("3.5"), [f"reprompt_rating {STARS}"]),
            (NonText("sticker"), [f"reprompt_rating {STARS}"]),
            (Text("passer"), [f"reprompt_rating {STARS}"]),
            (Text("3"), ["ask_reason_mid"]),
        ],
    )
    assert [record.id for record in played.feedback] == ["fb-5"]


def test_text_where_words_are_expected(engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(
        engine,
        renderer,
        [
            (NonText("photo"), ["reprompt_text + ask_reason_high"]),
            (NonText("voice"), ["reprompt_text + ask_reason_high"]),
            (Text(" \u200b\x00 "), ["reprompt_text + ask_reason_high"]),
            (Text("😀😀"), [f"ask_suggestion {SKIP}"]),
            (NonText("location"), [f"reprompt_text + ask_suggestion {SKIP}"]),
            (Text(""), [f"reprompt_text + ask_suggestion {SKIP}"]),
            (Text("Rien\x07 à\u200b dire"), ["thanks"]),
        ],
        state=at_step(engine, renderer, 5).state,
        start=T0 + 100,
    )
    # Every turn refreshes the feedback's snapshot, answered or not.
    assert [(r.reason, r.suggestion, r.status) for r in played.feedback] == [
        *[(None, None, FeedbackStatus.IN_PROGRESS)] * 3,
        *[("😀😀", None, FeedbackStatus.IN_PROGRESS)] * 3,
        ("😀😀", "Rien à dire", FeedbackStatus.COMPLETE),
    ]


def test_long_text_is_cut_and_the_customer_told(engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(
        engine,
        renderer,
        [(Text("trop " * 2000), [f"text_truncated + ask_suggestion {SKIP}"])],
        state=at_step(engine, renderer, 1).state,
        start=T0 + 100,
    )
    reason = played.feedback[0].reason
    assert reason is not None and len(reason) <= 200 and reason.endswith("trop…")
    assert played.outcomes[0].replies[0].parts[0].variables == {"limit": 200}
    assert "200" in played.rendered[0]


@pytest.mark.parametrize("typed", ["Passer", "skip", "-", "non", "Rien", "no."])
def test_typed_skip_words_skip_the_optional_question(
    engine: DialogEngine, renderer: MessageRenderer, typed: str
) -> None:
    played = play(
        engine,
        renderer,
        [(Text("Froid"), [f"ask_suggestion {SKIP}"]), (Text(typed), ["thanks"])],
        state=at_step(engine, renderer, 2).state,
        start=T0 + 100,
    )
    assert (played.feedback[-1].suggestion, played.feedback[-1].status) == (None, FeedbackStatus.COMPLETE)


def test_skip_words_answer_a_question_that_is_not_optional(engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(
        engine,
        renderer,
        [(Button("skip"), ["notice: expired_button"]), (Text("non"), [f"ask_suggestion {SKIP}"])],
        state=at_step(engine, renderer, 2).state,
        start=T0 + 100,
    )
    assert played.feedback[-1].reason == "non"


# --- buttons --------------------------------------------------------------------------------------


def test_stale_buttons_change_nothing(engine: DialogEngine, renderer: MessageRenderer) -> None:
    before = at_step(engine, renderer, 3).state
    played = play(
        engine,
        renderer,
        [
            (Button("rate:3"), ["notice: expired_button"]),
            (Button("rate:9"), ["notice: expired_button"]),
            (Button("skip"), ["notice: expired_button"]),
            (Button("lang:de"), ["notice: expired_button"]),
            (Button("something else"), ["notice: expired_button"]),
            (Button(""), ["notice: expired_button"]),
        ],
        state=before,
        start=T0 + 100,
    )
    assert played.state == before
    assert played.feedback == []


def test_rating_buttons_when_idle_are_stale(engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(engine, renderer, [(Button("rate:5"), ["notice: expired_button"])])
    assert played.state == Conversation()


def test_language_buttons_work_in_any_step(engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(
        engine,
        renderer,
        [
            (Button("lang:en"), ["edit: language_set"]),
            (Start("tok", VENUE), [f"greeting + ask_rating {STARS}"]),
            (Button("lang:fr"), [f"edit: language_set + ask_rating {STARS}"]),
            (Button("rate:1"), ["edit: rating_recap + ask_reason_low"]),
            (Button("lang:en"), ["edit: language_set + ask_reason_low"]),
            (Text("Cold fries"), [f"ask_suggestion {SKIP}"]),
        ],
    )
    assert played.rendered[0] == "Got it, I'll speak English with you."
    assert played.rendered[1].startswith("Hello and welcome to <b>Quick Massy</b>!")
    assert played.rendered[2].startswith("C'est noté, je vous parlerai en français.")
    assert played.rendered[4].startswith("Got it, I'll speak English with you.\n\nWe're sorry")
    assert (played.state.language, played.state.language_chosen) == ("en", True)
    assert [record.language for record in played.feedback] == ["fr", "en", "en"]


# --- scanning -------------------------------------------------------------------------------------


def test_scanning_again_abandons_the_feedback_in_progress(engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(
        engine,
        renderer,
        [
            (Text("Trop d'attente"), [f"ask_suggestion {SKIP}"]),
            (Start("tok2", OTHER_VENUE), [f"greeting + ask_rating {STARS}"]),
        ],
        state=at_step(engine, renderer, 2).state,
        start=T0 + 100,
    )
    abandoned = played.outcomes[-1].feedback
    assert [(r.id, r.status, r.rating, r.reason, r.venue) for r in abandoned] == [
        ("fb-1", FeedbackStatus.ABANDONED, 2, "Trop d'attente", VENUE)
    ]
    state = played.state
    assert (state.step, state.venue, state.feedback_id, state.rating, state.reason) == (
        "rating",
        OTHER_VENUE,
        None,
        None,
        None,
    )


def test_scanning_again_before_the_rating_abandons_nothing(engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(
        engine,
        renderer,
        [
            (Start("tok", VENUE), [f"greeting + ask_rating {STARS}"]),
            (Start("tok", VENUE), [f"greeting + ask_rating {STARS}"]),
        ],
    )
    assert played.feedback == []


def test_already_rated(engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(engine, renderer, [(Start("tok", VENUE, already_rated=True), ["already_rated"])])
    assert played.outcomes[0].replies[0].parts[0].variables == {"venue_name": "Quick Massy", "hours": 24}
    assert "ces 24 dernières heures" in played.rendered[0]
    assert (played.state.step, played.feedback) == (None, [])


def test_scanning_the_venue_being_rated_starts_over_on_the_same_feedback(
    engine: DialogEngine, renderer: MessageRenderer
) -> None:
    before = at_step(engine, renderer, 4).state
    played = play(
        engine,
        renderer,
        [
            (Start("tok", VENUE, already_rated=True), [f"greeting + ask_rating {STARS}"]),
            (Button("rate:2"), ["edit: rating_recap + ask_reason_low"]),
            (Text("Trop lent"), [f"ask_suggestion {SKIP}"]),
        ],
        state=before,
        start=T0 + 100,
    )
    # The restart emits nothing; the new rating replaces the old one on the same feedback.
    assert [(r.id, r.rating, r.status) for r in played.feedback] == [("fb-1", 2, FeedbackStatus.IN_PROGRESS)] * 2
    assert played.feedback[0].created_at == before.created_at


def test_forged_link_then_a_short_code(engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(
        engine,
        renderer,
        [
            (Start("forged-token", None), ["unknown_venue + ask_venue_code"]),
            (VenueCodeAnswer("ZZZZZZ", None), ["bad_venue_code"]),
            (Text("bonjour"), ["bad_venue_code"]),
            (NonText("sticker"), ["ask_venue_code"]),
            (VenueCodeAnswer("k7p 2qx", VENUE), [f"greeting + ask_rating {STARS}"]),
            (Button("rate:5"), ["edit: rating_recap + ask_reason_high"]),
        ],
    )
    assert played.outcomes[0].state.step == "venue_code"
    assert played.feedback[0].venue == VENUE


def test_bare_start_asks_for_the_code(engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(
        engine,
        renderer,
        [
            (Start(), ["ask_venue_code"]),
            (VenueCodeAnswer("K7P2QX", VENUE, already_rated=True), ["already_rated"]),
        ],
    )
    assert played.state.step is None
    assert "6 caractères" in played.rendered[0]


def test_expects_venue_code(engine: DialogEngine, renderer: MessageRenderer) -> None:
    waiting = play(engine, renderer, [(Start(), ["ask_venue_code"])]).state
    assert engine.expects_venue_code(waiting, now=T0 + 60)
    assert not engine.expects_venue_code(waiting, now=T0 + 30 + 1801)
    assert not engine.expects_venue_code(Conversation(), now=T0)
    assert not engine.expects_venue_code(at_step(engine, renderer, 3).state, now=T0 + 100)


def test_a_venue_code_answer_outside_the_code_step_is_text(engine: DialogEngine, renderer: MessageRenderer) -> None:
    play(
        engine,
        renderer,
        [
            (Start("tok", VENUE), [f"greeting + ask_rating {STARS}"]),
            (VenueCodeAnswer("4", None), ["ask_reason_high"]),
        ],
    )


# --- commands -------------------------------------------------------------------------------------


def test_help(engine: DialogEngine, renderer: MessageRenderer) -> None:
    play(
        engine,
        renderer,
        [
            (Command("help"), ["help"]),
            (Command("whatever"), ["help"]),
            (Start(), ["ask_venue_code"]),
            (Command("help"), ["help + ask_venue_code"]),
            (VenueCodeAnswer("K7P2QX", VENUE), [f"greeting + ask_rating {STARS}"]),
            (Command("help"), [f"help + ask_rating {STARS}"]),
            (Button("rate:3"), ["edit: rating_recap + ask_reason_mid"]),
            (Command("help"), ["help + ask_reason_mid"]),
        ],
    )


ASK_DISCARD = "ask_discard_rating [rating:discard rating:keep]"


def test_cancel_with_a_rating_asks_whether_to_delete_it(engine: DialogEngine, renderer: MessageRenderer) -> None:
    """/cancel after a rating: the customer chooses; other answers get the question again and change nothing."""
    played = play(
        engine,
        renderer,
        [
            (Command("cancel"), [ASK_DISCARD]),
            (Text("hein ?"), [ASK_DISCARD]),
            (NonText("sticker"), [ASK_DISCARD]),
            (Command("cancel"), [ASK_DISCARD]),
            (Button("rate:4"), ["notice: expired_button"]),
            (Command("help"), [f"help + {ASK_DISCARD}"]),
        ],
        state=at_step(engine, renderer, 3).state,
        start=T0 + 100,
    )
    # The feedback stays in progress (each turn keeps it alive), neither kept nor deleted yet.
    assert {(r.id, r.status, r.rating) for r in played.feedback} == {("fb-1", FeedbackStatus.IN_PROGRESS, 3)}
    assert not any(o.discarded for o in played.outcomes)
    assert (played.state.step, played.state.rating) == ("discard_rating", 3)


@pytest.mark.parametrize("answer", [Button("rating:keep"), Text("Garder"), Text("garder !"), Text("keep")], ids=repr)
def test_cancel_then_keep_abandons_the_feedback(engine: DialogEngine, renderer: MessageRenderer, answer: Event) -> None:
    clicked = isinstance(answer, Button)
    played = play(
        engine,
        renderer,
        [
            (Command("cancel"), [ASK_DISCARD]),
            (answer, ["edit: cancelled" if clicked else "cancelled"]),
            (Command("cancel"), ["nothing_to_cancel"]),
            (Text("4"), ["idle"]),
            (Button("rating:discard"), ["notice: expired_button"]),  # the old question's other button
        ],
        state=at_step(engine, renderer, 3).state,
        start=T0 + 100,
    )
    assert [(r.id, r.status, r.rating) for r in played.feedback][-1] == ("fb-1", FeedbackStatus.ABANDONED, 3)
    assert not any(o.discarded for o in played.outcomes)
    assert (played.state.step, played.state.rating, played.state.feedback_id) == (None, None, "fb-1")


@pytest.mark.parametrize(
    "answer", [Button("rating:discard"), Text("Supprimer ma note"), Text("supprimer"), Text("Delete")], ids=repr
)
def test_cancel_then_delete_takes_the_feedback_back(
    engine: DialogEngine, renderer: MessageRenderer, answer: Event
) -> None:
    clicked = isinstance(answer, Button)
    played = play(
        engine,
        renderer,
        [
            (Command("cancel"), [ASK_DISCARD]),
            (answer, ["edit: rating_discarded" if clicked else "rating_discarded"]),
            (Command("cancel"), ["nothing_to_cancel"]),
            (Button("rating:keep"), ["notice: expired_button"]),
        ],
        state=at_step(engine, renderer, 3).state,
        start=T0 + 100,
    )
    assert all(r.status is FeedbackStatus.IN_PROGRESS for r in played.feedback)  # never abandoned nor complete
    [taken_back] = [record for outcome in played.outcomes for record in outcome.discarded]
    assert (taken_back.id, taken_back.rating, taken_back.venue) == ("fb-1", 3, VENUE)
    state = played.state
    assert (state.step, state.rating, state.feedback_id, state.created_at) == (None, None, None, 0.0)


def test_discard_question_times_out_as_the_feedback_does(engine: DialogEngine, renderer: MessageRenderer) -> None:
    """Left unanswered, the question ends with the conversation: the sweeper counts the feedback as abandoned
    (kept), and a late answer is an idle message."""
    played = play(
        engine,
        renderer,
        [(Command("cancel"), [ASK_DISCARD]), (Later(3600), []), (Text("supprimer"), ["idle"])],
        state=at_step(engine, renderer, 2).state,
        start=T0 + 100,
    )
    assert not any(o.discarded for o in played.outcomes)


@pytest.mark.parametrize(
    ("language", "told"),
    [
        ("fr", "Vous arrêtez là. Que faire de votre note (3/5) ?"),
        ("en", "Stopping here. What should happen to your rating (3/5)?"),
    ],
)
def test_cancel_after_a_rating_says_what_each_choice_does(
    engine: DialogEngine, renderer: MessageRenderer, language: str, told: str
) -> None:
    """/cancel does not silently keep the rating: the customer reads what deleting and keeping do."""
    state = at_step(engine, renderer, 3).state
    asked = engine.handle(state, Command("cancel"), now=T0 + 100, new_feedback_id="fb-2")
    [reply] = asked.replies
    rendered = renderer.render_reply(reply, language)
    assert rendered.text.startswith(told) and ("dans 24 h" in rendered.text or "in 24 h" in rendered.text)
    assert [label for row in rendered.buttons for label, _ in row] == (
        ["Supprimer ma note", "Garder"] if language == "fr" else ["Delete my rating", "Keep it"]
    )
    kept = engine.handle(asked.state, Button("rating:keep"), now=T0 + 110, new_feedback_id="fb-2")
    text = renderer.render_reply(kept.replies[0], language).text
    assert text.startswith("C'est arrêté. Votre note (3/5)" if language == "fr" else "Stopped. Your rating (3/5)")
    deleted = engine.handle(asked.state, Button("rating:discard"), now=T0 + 110, new_feedback_id="fb-2")
    text = renderer.render_reply(deleted.replies[0], language).text
    assert text.startswith("Votre note est supprimée" if language == "fr" else "Your rating is deleted")


def test_cancel_without_a_rating(engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(
        engine,
        renderer,
        [
            (Command("cancel"), ["nothing_to_cancel"]),
            (Start("tok", VENUE), [f"greeting + ask_rating {STARS}"]),
            (Command("cancel"), ["cancelled"]),
            (Start(), ["ask_venue_code"]),
            (Command("cancel"), ["cancelled"]),
            (Text("K7P2QX"), ["idle"]),
        ],
    )
    assert played.feedback == []


def test_language_command(engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(
        engine,
        renderer,
        [
            (Command("language"), ["choose_language [lang:fr lang:en]"]),
            (Command("language", "de"), ["choose_language [lang:fr lang:en]"]),
            (Command("language", "en"), ["language_set"]),
            (Start("tok", VENUE), [f"greeting + ask_rating {STARS}"]),
            (Command("language", " Français "), [f"language_set + ask_rating {STARS}"]),
        ],
    )
    assert played.rendered[2] == "Got it, I'll speak English with you."
    assert played.rendered[3].startswith("Hello and welcome")
    assert played.rendered[4].startswith("C'est noté")
    assert (played.state.language, played.state.language_chosen) == ("fr", True)


def test_idle_conversation(engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(engine, renderer, [(Text("Bonjour"), ["idle"]), (NonText("photo"), ["idle"])])
    assert played.feedback == []


# --- time -----------------------------------------------------------------------------------------


def test_a_silent_conversation_becomes_idle(engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(
        engine,
        renderer,
        [
            (Later(1801), []),
            (Button("rate:4"), ["notice: expired_button"]),
            (Text("Froid"), ["idle"]),
            (Start("tok", VENUE), [f"greeting + ask_rating {STARS}"]),
        ],
        state=at_step(engine, renderer, 2).state,
        start=T0 + 60,
    )
    # The sweeper abandoned it: the engine does not emit it again.
    assert played.feedback == []


def test_within_the_timeout_the_conversation_goes_on(engine: DialogEngine, renderer: MessageRenderer) -> None:
    play(
        engine,
        renderer,
        [(Later(1700), []), (Text("Froid"), [f"ask_suggestion {SKIP}"])],
        state=at_step(engine, renderer, 2).state,
        start=T0 + 60,
    )


def test_a_step_the_flow_no_longer_has_is_idle(engine: DialogEngine, renderer: MessageRenderer) -> None:
    state = Conversation(step="removed_step", venue=VENUE, feedback_id="fb-0", rating=3, updated_at=T0)
    played = play(engine, renderer, [(Text("hello"), ["idle"])], state=state)
    assert played.feedback == []


def test_every_turn_keeps_the_feedback_alive(engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(
        engine,
        renderer,
        [
            (Later(1500), []),
            (NonText("sticker"), ["reprompt_text + ask_reason_low"]),
            (Later(1500), []),
            (Command("help"), ["help + ask_reason_low"]),
            (Later(1500), []),
            (Text("Froid"), [f"ask_suggestion {SKIP}"]),
        ],
        state=at_step(engine, renderer, 2).state,
        start=T0 + 60,
    )
    # The adapter's sweeper times a feedback out from its snapshot: each turn moves it on.
    assert [record.updated_at for record in played.feedback] == [
        T0 + 60 + 1530,
        T0 + 60 + 3060,
        T0 + 60 + 4590,
    ]


def test_new_feedback_ids_are_used_only_when_a_feedback_starts(engine: DialogEngine) -> None:
    state = Conversation()
    outcome = engine.handle(state, Start("tok", VENUE), now=T0, new_feedback_id="unused")
    assert outcome.state.feedback_id is None
    outcome = engine.handle(outcome.state, Button("rate:5"), now=T0 + 1, new_feedback_id="fb-new")
    assert outcome.state.feedback_id == "fb-new"
    outcome = engine.handle(outcome.state, Text("Super"), now=T0 + 2, new_feedback_id="ignored")
    assert outcome.feedback[0].id == "fb-new"


# --- flows and settings ---------------------------------------------------------------------------


def test_a_flow_that_ends_at_the_rating(catalog: TemplateCatalog, renderer: MessageRenderer) -> None:
    text = """
    name: default
    languages: [fr, en]
    start: rating
    steps:
      rating:
        ask: ask_rating
        input: rating
        next: thanks
      thanks:
        say: thanks
        end: true
    """
    flow = parse_flow(textwrap.dedent(text), source="rating-only.yaml", catalog=catalog)
    played = play(
        DialogEngine(flow),
        renderer,
        [
            (Start("tok", VENUE), [f"greeting + ask_rating {STARS}"]),
            (Button("rate:5"), ["edit: rating_recap + thanks"]),
        ],
    )
    assert [(r.status, r.rating) for r in played.feedback] == [(FeedbackStatus.COMPLETE, 5)]


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("fr", "fr"),
        ("fr-FR", "fr"),
        ("en", "en"),
        ("en-GB", "en"),
        ("EN_us", "en"),
        ("de", "fr"),
        (None, "fr"),
        ("", "fr"),
    ],
)
def test_language_for(engine: DialogEngine, code: str | None, language: str) -> None:
    assert engine.language_for(code) == language


@pytest.mark.parametrize(
    ("code", "venue_language", "language"),
    [
        ("de", "en", "en"),  # a German at an English venue reads the venue's language
        ("es-ES", "en", "en"),
        ("de", "fr", "fr"),
        ("de", "xx", "fr"),  # a venue language the flow lacks: French
        ("de", None, "fr"),
        ("fr", "en", "fr"),  # the customer's own language first, when the flow speaks it
        (None, "en", "en"),
    ],
)
def test_language_for_falls_back_to_the_venues_then_french(
    engine: DialogEngine, code: str | None, venue_language: str | None, language: str
) -> None:
    assert engine.language_for(code, venue_language) == language


def test_engine_settings_must_be_positive(flow: Flow) -> None:
    with pytest.raises(ValueError, match="positive"):
        DialogEngine(flow, max_text_length=0)
    with pytest.raises(ValueError, match="positive"):
        DialogEngine(flow, conversation_timeout=0)


def test_duplicate_window_is_shown_in_hours(flow: Flow) -> None:
    engine = DialogEngine(flow, duplicate_window_hours=1.5)
    outcome = engine.handle(Conversation(), Start("tok", VENUE, already_rated=True), now=T0, new_feedback_id="x")
    assert outcome.replies[0].parts[0].variables["hours"] == 1.5
