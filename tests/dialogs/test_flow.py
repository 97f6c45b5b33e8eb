"""Flow definitions: the default flow, and every kind of mistake named with its file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dialogs.catalog import CatalogEntry, TemplateCatalog
from dialogs.errors import FlowError
from dialogs.flow import AnswerField, Branch, Flow, InputKind, default_flow_path, load_flow, parse_flow


def flow_error(text: str, catalog: TemplateCatalog) -> FlowError:
    with pytest.raises(FlowError) as caught:
        parse_flow(textwrap.dedent(text).lstrip("\n"), source="test.yaml", catalog=catalog)
    return caught.value


def assert_error(error: FlowError, line: int | None, problem: str) -> None:
    assert (error.path, error.line, error.problem) == ("test.yaml", line, problem)
    assert str(error) == (f"test.yaml:{line}: {problem}" if line is not None else f"test.yaml: {problem}")


VALID = """
name: short
languages: [fr, en]
start: rating
steps:
  rating:
    ask: ask_rating
    input: rating
    next:
      - when: {rating: [1, 2, 3]}
        goto: reason
      - goto: thanks
  reason:
    ask: ask_reason_low
    input: text
    store: reason
    optional: true
    next: thanks
  thanks:
    say: thanks
    end: true
"""


def test_default_flow(flow: Flow) -> None:
    assert flow.name == "default"
    assert flow.languages == ("fr", "en")
    assert flow.start == "rating"
    assert [step.name for step in flow.steps] == [
        "rating",
        "reason_low",
        "reason_mid",
        "reason_high",
        "suggestion",
        "thanks",
    ]
    rating = flow.step("rating")
    assert rating.input is InputKind.RATING
    assert [rating.next_step(value) for value in range(1, 6)] == [
        "reason_low",
        "reason_low",
        "reason_mid",
        "reason_high",
        "reason_high",
    ]
    assert [flow.step(name).ask for name in ("reason_low", "reason_mid", "reason_high")] == [
        "ask_reason_low",
        "ask_reason_mid",
        "ask_reason_high",
    ]
    suggestion = flow.step("suggestion")
    assert (suggestion.ask, suggestion.store, suggestion.optional) == (
        "ask_suggestion",
        AnswerField.SUGGESTION,
        True,
    )
    thanks = flow.step("thanks")
    assert (thanks.say, thanks.end) == ("thanks", True)
    assert flow.templates == {
        "ask_rating",
        "ask_reason_low",
        "ask_reason_mid",
        "ask_reason_high",
        "ask_suggestion",
        "thanks",
    }


def test_default_flow_path_is_in_the_package() -> None:
    path = default_flow_path()
    assert path.is_file()
    assert path.parent.name == "flows"


def test_valid_flow_parses(catalog: TemplateCatalog) -> None:
    flow = parse_flow(textwrap.dedent(VALID), source="test.yaml", catalog=catalog)
    assert flow.step("rating").next == (Branch("reason", (1, 2, 3)), Branch("thanks", None))
    assert flow.step("reason").optional
    with pytest.raises(KeyError):
        flow.step("nope")


def test_flows_are_frozen(flow: Flow) -> None:
    with pytest.raises(AttributeError):
        flow.name = "other"  # type: ignore[misc]


def test_yaml_syntax_error(catalog: TemplateCatalog) -> None:
    error = flow_error(
        """
        name: short
        languages: [fr, en
        start: rating
        """,
        catalog,
    )
    assert error.line == 3
    assert error.problem.startswith("YAML syntax error: ")


def test_empty_file(catalog: TemplateCatalog) -> None:
    assert_error(flow_error("", catalog), 1, "the file is empty")


def test_unknown_top_level_key(catalog: TemplateCatalog) -> None:
    text = VALID.replace("start: rating", "start: rating\nstrat: rating")
    error = flow_error(text, catalog)
    assert error.line == 4
    assert error.problem.startswith("unknown key 'strat' in the flow (expected one of: ")


def test_missing_top_level_key(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("start: rating\n", ""), catalog)
    assert_error(error, 1, "missing key 'start' in the flow")


def test_unknown_step_key(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("    store: reason", "    stroe: reason"), catalog)
    assert error.line == 15
    assert error.problem.startswith("unknown key 'stroe' in step 'reason' (expected one of: ")


def test_unknown_step_in_goto(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("goto: reason", "goto: raeson"), catalog)
    assert_error(error, 10, "unknown step 'raeson' in goto")


def test_unknown_step_in_next(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("next: thanks", "next: thank"), catalog)
    assert_error(error, 17, "unknown step 'thank' in next")


def test_unknown_step_in_start(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("start: rating", "start: ratings"), catalog)
    assert_error(error, 3, "unknown step 'ratings' in start")


def test_unreachable_step(catalog: TemplateCatalog) -> None:
    text = VALID + "  orphan:\n    ask: ask_reason_mid\n    input: text\n    store: reason\n    next: thanks\n"
    error = flow_error(text, catalog)
    assert_error(error, 21, "step 'orphan' is unreachable from the start step 'rating'")


def test_duplicate_step_names(catalog: TemplateCatalog) -> None:
    text = VALID + "  reason:\n    say: thanks\n    end: true\n"
    error = flow_error(text, catalog)
    assert_error(error, 21, "duplicate key 'reason' in steps (first on line 12)")


def test_duplicate_top_level_key(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("name: short", "name: short\nname: long"), catalog)
    assert_error(error, 2, "duplicate key 'name' in the flow (first on line 1)")


def test_step_without_ask_or_say(catalog: TemplateCatalog) -> None:
    text = VALID.replace("    say: thanks\n    end: true", "    end: true")
    error = flow_error(text, catalog)
    assert_error(error, 18, "step 'thanks' has neither ask nor say")


def test_step_with_ask_and_say(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("    ask: ask_reason_low", "    ask: ask_reason_low\n    say: thanks"), catalog)
    assert_error(error, 14, "step 'reason' has both ask and say: a step either asks or ends the flow")


def test_say_without_end(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("    end: true", ""), catalog)
    assert_error(error, 18, "step 'thanks' says a template but does not end the flow (add end: true)")


def test_question_without_next(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("    next: thanks\n", ""), catalog)
    assert_error(error, 13, "step 'reason' has no next step (add next:, or make it an end step with say:)")


def test_bad_input(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("input: text", "input: photo"), catalog)
    assert_error(error, 14, "input of step 'reason' must be rating, text or nps, not 'photo'")


def test_text_step_without_store(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("    store: reason\n", ""), catalog)
    assert_error(error, 13, "step 'reason' asks for text but has no store (reason or suggestion)")


def test_bad_store(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("store: reason", "store: comment"), catalog)
    assert_error(error, 15, "store of step 'reason' must be reason or suggestion, not 'comment'")


def test_optional_must_be_a_boolean(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("optional: true", "optional: maybe"), catalog)
    assert_error(error, 16, "optional of step 'reason' must be true or false")


def test_missing_template(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("ask: ask_reason_low", "ask: ask_raison"), catalog)
    assert_error(error, 13, "unknown template 'ask_raison' (not in the template catalog)")


def test_template_missing_in_one_language(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("languages: [fr, en]", "languages: [fr, en, de]"), catalog)
    assert_error(error, 6, "template 'ask_rating' is missing in language 'de'")


def test_template_missing_in_english_only() -> None:
    small = TemplateCatalog.from_sources(
        [
            CatalogEntry("ask_rating", "rating"),
            CatalogEntry("ask_reason_low", "why"),
            CatalogEntry("thanks", "end"),
        ],
        {
            ("ask_rating", "fr"): "Une note ?",
            ("ask_rating", "en"): "A rating?",
            ("ask_reason_low", "fr"): "Pourquoi ?",
            ("thanks", "fr"): "Merci",
            ("thanks", "en"): "Thanks",
        },
    )
    assert_error(flow_error(VALID, small), 13, "template 'ask_reason_low' is missing in language 'en'")


def test_template_needing_variables_a_step_cannot_give(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("say: thanks", "say: already_rated"), catalog)
    assert error.line == 19
    assert error.problem.startswith("template 'already_rated' needs hours, which a step cannot give")


def test_branch_rating_out_of_range(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("[1, 2, 3]", "[1, 2, 6]"), catalog)
    assert_error(error, 9, "rating 6 is outside 1-5")


def test_branch_rating_zero(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("{rating: [1, 2, 3]}", "{rating: 0}"), catalog)
    assert_error(error, 9, "rating 0 is outside 1-5")


def test_branch_rating_not_a_number(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("[1, 2, 3]", "[1, two]"), catalog)
    assert_error(error, 9, "a rating must be an integer")


def test_rating_covered_by_two_branches(catalog: TemplateCatalog) -> None:
    text = VALID.replace("      - goto: thanks", "      - when: {rating: [3, 4, 5]}\n        goto: thanks")
    assert_error(flow_error(text, catalog), 11, "rating 3 is already covered by the branch on line 9")


def test_ratings_not_covered_without_default(catalog: TemplateCatalog) -> None:
    text = VALID.replace("      - goto: thanks", "      - when: {rating: 4}\n        goto: thanks")
    error = flow_error(text, catalog)
    assert_error(error, 9, "ratings 5 go nowhere: cover them or add a last branch without when")


def test_branch_after_the_default(catalog: TemplateCatalog) -> None:
    text = VALID.replace("      - goto: thanks", "      - goto: thanks\n      - goto: reason")
    error = flow_error(text, catalog)
    assert_error(error, 12, "this branch is never taken: the branch without when above takes every rating")


def test_branch_on_a_text_step(catalog: TemplateCatalog) -> None:
    text = VALID.replace(
        "    next: thanks", "    next:\n      - when: {rating: 1}\n        goto: thanks\n      - goto: thanks"
    )
    error = flow_error(text, catalog)
    assert_error(error, 18, "step 'reason' asks for text: it cannot branch on the rating (next: <step>)")


def test_branch_with_unknown_condition(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("{rating: [1, 2, 3]}", "{stars: [1, 2, 3]}"), catalog)
    assert_error(error, 9, "unknown key 'stars' in when (expected one of: rating)")


def test_no_end_step_reachable(catalog: TemplateCatalog) -> None:
    text = """
    name: loop
    languages: [fr]
    start: rating
    steps:
      rating:
        ask: ask_rating
        input: rating
        next: reason
      reason:
        ask: ask_reason_low
        input: text
        store: reason
        next: rating
    """
    error = flow_error(text, catalog)
    assert_error(error, 3, "no end step is reachable from the start (add a step with say: and end: true)")


def test_step_that_never_ends(catalog: TemplateCatalog) -> None:
    text = """
    name: loop
    languages: [fr]
    start: rating
    steps:
      rating:
        ask: ask_rating
        input: rating
        next:
          - when: {rating: [1, 2]}
            goto: first
          - goto: thanks
      first:
        ask: ask_reason_low
        input: text
        store: reason
        next: second
      second:
        ask: ask_suggestion
        input: text
        store: suggestion
        next: first
      thanks:
        say: thanks
        end: true
    """
    error = flow_error(text, catalog)
    assert_error(error, 12, "step 'first' never reaches an end step (its next steps loop)")


def test_start_must_ask_for_the_rating(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("start: rating", "start: reason"), catalog)
    assert_error(error, 3, "the start step 'reason' must ask for the rating (input: rating)")


def test_only_one_rating_step(catalog: TemplateCatalog) -> None:
    text = VALID.replace("    input: text", "    input: rating").replace("    store: reason\n    optional: true\n", "")
    error = flow_error(text, catalog)
    assert_error(error, 12, "only one step may ask for the rating ('rating' already does)")


def test_rating_step_cannot_be_optional(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("    input: rating", "    input: rating\n    optional: true"), catalog)
    assert_error(error, 8, "step 'rating' asks for the rating, which cannot be optional")


def test_reserved_step_name(catalog: TemplateCatalog) -> None:
    text = VALID.replace("goto: reason", "goto: venue_code").replace("  reason:", "  venue_code:")
    error = flow_error(text, catalog)
    assert_error(error, 12, "'venue_code' is reserved for the engine: rename the step")


def test_end_step_with_next(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("    end: true", "    end: true\n    next: rating"), catalog)
    assert_error(error, 21, "step 'thanks' says and ends the flow: it takes no next")


def test_steps_must_be_a_mapping(catalog: TemplateCatalog) -> None:
    text = "name: x\nlanguages: [fr]\nstart: rating\nsteps:\n  - rating\n"
    assert_error(flow_error(text, catalog), 5, "steps must be a mapping")


def test_languages_must_be_codes(catalog: TemplateCatalog) -> None:
    error = flow_error(VALID.replace("[fr, en]", "[fr, English]"), catalog)
    assert_error(error, 2, "language 'English' must be a lower-case code such as fr or en")


def test_load_flow_names_the_file(tmp_path: Path, catalog: TemplateCatalog) -> None:
    path = tmp_path / "brand.yaml"
    path.write_text(textwrap.dedent(VALID).replace("goto: reason", "goto: raeson").lstrip("\n"), encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        load_flow(path, catalog)
    assert str(caught.value) == f"{path}:10: unknown step 'raeson' in goto"


def test_load_flow_missing_file(tmp_path: Path, catalog: TemplateCatalog) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(FlowError) as caught:
        load_flow(path, catalog)
    assert caught.value.path == str(path)
    assert caught.value.line is None
    assert caught.value.problem.startswith("cannot be read: ")
