"""The optional NPS question (`input: nps`): a brand adds it to its flow, the customer answers 0-10 by a button
or typed, a bad answer is asked again and changes nothing, Skip skips it, the score is stored with the feedback;
the flow's validation refuses a wrong NPS step, naming the line."""

from __future__ import annotations

import textwrap

import pytest

from dialogs.catalog import TemplateCatalog
from dialogs.engine import DialogEngine
from dialogs.errors import FlowError
from dialogs.flow import Flow, InputKind, default_flow_path, parse_flow
from dialogs.render import MessageRenderer
from dialogs.types import Button, FeedbackStatus, NonText, Start, Text
from tests.dialogs.test_engine import STARS, VENUE, play

SCORES = "[nps:0 nps:1 nps:2 nps:3 nps:4 nps:5] | [nps:6 nps:7 nps:8 nps:9 nps:10]"
NPS_STEP = """
  nps:
    ask: ask_nps
    input: nps
    optional: true
    next: suggestion
"""


def with_nps(step: str = NPS_STEP) -> str:
    """The default flow with the NPS question between the reason and the suggestion."""
    text = default_flow_path().read_text(encoding="utf-8")
    text = text.replace("    store: reason\n    next: suggestion", "    store: reason\n    next: nps")
    return text.replace("\n  suggestion:\n", textwrap.indent(textwrap.dedent(step), "  ") + "\n  suggestion:\n", 1)


@pytest.fixture(scope="module")
def nps_flow(catalog: TemplateCatalog) -> Flow:
    return parse_flow(with_nps(), source="brand.yaml", catalog=catalog)


@pytest.fixture(scope="module")
def nps_engine(nps_flow: Flow) -> DialogEngine:
    return DialogEngine(nps_flow, max_text_length=200, conversation_timeout=1800.0, duplicate_window_hours=24.0)


def test_the_flow_accepts_an_nps_step(nps_flow: Flow) -> None:
    step = nps_flow.step("nps")
    assert (step.input, step.optional, step.store, step.next_step(3)) == (InputKind.NPS, True, None, "suggestion")


def test_a_journey_with_the_nps_question(nps_engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(
        nps_engine,
        renderer,
        [
            (Start("tok", VENUE), [f"greeting + ask_rating {STARS}"]),
            (Button("rate:4"), ["edit: rating_recap + ask_reason_high"]),
            (Text("Accueil souriant"), [f"ask_nps {SCORES} | [skip]"]),
            (Text("onze"), [f"reprompt_nps {SCORES} | [skip]"]),  # bad answers change nothing
            (Text("11"), [f"reprompt_nps {SCORES} | [skip]"]),
            (Text("7.5"), [f"reprompt_nps {SCORES} | [skip]"]),
            (NonText("sticker"), [f"reprompt_nps {SCORES} | [skip]"]),
            (Button("nps:11"), ["notice: expired_button"]),
            (Button("nps:9"), ["edit: nps_recap + ask_suggestion [skip]"]),
            (Button("skip"), ["edit: ask_suggestion + thanks"]),
        ],
    )
    assert [r.nps for r in played.feedback if r.status is FeedbackStatus.IN_PROGRESS][-1] == 9
    [complete] = [r for r in played.feedback if r.status is FeedbackStatus.COMPLETE]
    assert (complete.rating, complete.nps, complete.reason) == (4, 9, "Accueil souriant")
    assert any("de 0 à 10" in text and "Quick Massy" in text for text in played.rendered)
    assert any(text.startswith("Votre réponse : 9/10") for text in played.rendered)
    assert played.state.nps is None  # cleared with the rest once the feedback is complete


@pytest.mark.parametrize(("typed", "score"), [("8", 8), ("8/10", 8), ("0", 0), ("10 sur 10", 10), ("10.", 10)])
def test_typed_scores(nps_engine: DialogEngine, renderer: MessageRenderer, typed: str, score: int) -> None:
    played = play(
        nps_engine,
        renderer,
        [
            (Start("tok", VENUE), [f"greeting + ask_rating {STARS}"]),
            (Text("2"), ["ask_reason_low"]),
            (Text("Trop d'attente"), [f"ask_nps {SCORES} | [skip]"]),
            (Text(typed), ["ask_suggestion [skip]"]),
            (Text("Plus de caisses"), ["thanks"]),
        ],
    )
    assert played.feedback[-1].nps == score and played.feedback[-1].suggestion == "Plus de caisses"


def test_skipping_the_nps_question_stores_no_score(nps_engine: DialogEngine, renderer: MessageRenderer) -> None:
    played = play(
        nps_engine,
        renderer,
        [
            (Start("tok", VENUE), [f"greeting + ask_rating {STARS}"]),
            (Text("5"), ["ask_reason_high"]),
            (Text("Parfait"), [f"ask_nps {SCORES} | [skip]"]),
            (Text("passer"), ["ask_suggestion [skip]"]),
            (Text("non"), ["thanks"]),
        ],
    )
    assert played.feedback[-1].nps is None and played.feedback[-1].status is FeedbackStatus.COMPLETE


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        (NPS_STEP.replace("optional: true", "store: suggestion"), "whose score is stored as nps: remove store"),
        (NPS_STEP.replace("input: nps", "input: score"), "must be rating, text or nps, not 'score'"),
        (
            NPS_STEP.replace("next: suggestion", "next:\n      - when: {rating: 5}\n        goto: suggestion"),
            "asks for a score from 0 to 10: it cannot branch on the rating",
        ),
        (NPS_STEP + NPS_STEP.replace("nps:\n", "nps_again:\n", 1), "only one step may ask the 0-10 question"),
    ],
)
def test_a_wrong_nps_step_is_refused_with_its_line(catalog: TemplateCatalog, step: str, problem: str) -> None:
    with pytest.raises(FlowError) as refused:
        parse_flow(with_nps(step), source="brand.yaml", catalog=catalog)
    assert problem in str(refused.value) and refused.value.line is not None, str(refused.value)
