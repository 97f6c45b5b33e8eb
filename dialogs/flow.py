"""Dialog flows: the questions the bot asks and their order, declared in YAML and validated at load.

A flow file (see `flows/default.yaml`)::

    name: default                  # stored with every feedback collected by this flow
    languages: [fr, en]            # every template the flow names must exist in each of these
    start: rating                  # the first step: it must ask for the rating
    steps:
      rating:                      # a question step
        ask: ask_rating            #   the template that asks
        input: rating              #   rating (1-5, with the star keyboard) | text | nps (0-10, see below)
        next:                      #   a step name, or (rating steps only) branches on the rating:
          - when: {rating: [1, 2]} #     ratings 1 and 2 go to reason_low (`rating: 3` also works)
            goto: reason_low
          - goto: reason_high      #     the last branch may omit `when`: every other rating
      reason_low:
        ask: ask_reason_low
        input: text
        store: reason              #   text steps store the answer: reason | suggestion
        optional: true             #   adds a Skip button (and accepts "passer", "skip"…)
        next: thanks
      thanks:                      # the end step: says a template, the feedback is complete
        say: thanks
        end: true

An optional NPS question ("would you recommend us?", 0 to 10) is a step with `input: nps`: a 0-10 keyboard
(typed "8" or "8/10" work too), its score stored as the feedback's `nps` (no `store`), `optional: true` for a
Skip button, one such step at most. `parole stats` reports it as NPS (promoters 9-10 minus detractors 0-6)::

      nps:
        ask: ask_nps
        input: nps
        optional: true
        next: suggestion

Validation refuses, naming the file and the line: YAML syntax errors, unknown or duplicate keys,
unknown steps in `start`, `next` or `goto`, unreachable steps, steps with neither `ask` nor `say`,
steps that never reach an end step, branches on ratings outside 1-5, on a rating covered twice, that
leave ratings uncovered without a default, or on a text step, and templates missing from the catalog
in one of the flow's languages (or using variables a flow step cannot give).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Final, NoReturn

import yaml

from dialogs.catalog import TemplateCatalog
from dialogs.errors import FlowError, Problem, problem
from dialogs.yamlnodes import NodeReader, line_of

__all__ = [
    "DISCARD_STEP",
    "FLOW_VARIABLES",
    "NPS_SCORES",
    "RATINGS",
    "VENUE_CODE_STEP",
    "AnswerField",
    "Branch",
    "Flow",
    "InputKind",
    "Step",
    "default_flow_path",
    "load_flow",
    "parse_flow",
]

#: The engine's own step while it waits for a short venue code; no flow step may take this name.
VENUE_CODE_STEP: Final = "venue_code"
# The engine's own step after /cancel with a rating given: discard the rating, or keep it.
DISCARD_STEP: Final = "discard_rating"
#: The variables the engine gives every template a flow step names.
FLOW_VARIABLES: Final = frozenset({"venue_name", "brand_name", "rating"})
RATINGS: Final = range(1, 6)
#: The scores of the NPS question ("how likely are you to recommend…", 0 to 10).
NPS_SCORES: Final = range(0, 11)

_TOP_KEYS: Final = ("name", "description", "languages", "start", "steps")
_STEP_KEYS: Final = ("ask", "input", "store", "optional", "next", "say", "end")
_LANGUAGE: Final = re.compile(r"[a-z]{2,3}")
_THE_FLOW: Final = problem("what_flow", "the flow")
_WHEN: Final = problem("what_top", "{key}", key="when")


def _step(name: str) -> Problem:
    return problem("what_step", "step '{step}'", step=name)


def _of(key: str, what: Problem) -> Problem:
    return problem("what_of", "{key} of {what}", key=key, what=what)


class InputKind(StrEnum):
    """What a question step expects."""

    RATING = "rating"
    TEXT = "text"
    NPS = "nps"  # a score from 0 to 10 (0-10 keyboard), stored as the feedback's `nps`


class AnswerField(StrEnum):
    """Where a text step stores its answer in the feedback."""

    REASON = "reason"
    SUGGESTION = "suggestion"


@dataclass(frozen=True, slots=True)
class Branch:
    """Where to go after a step: to `goto` when the rating is in `ratings` (None: any rating)."""

    goto: str
    ratings: tuple[int, ...] | None = None
    line: int = field(default=0, compare=False)

    def matches(self, rating: int | None) -> bool:
        """Tell whether this branch is taken for a rating."""
        return self.ratings is None or rating in self.ratings


@dataclass(frozen=True, slots=True)
class Step:
    """A question (`ask`, `input`, `store`, `optional`, `next`) or the end (`say`, `end`)."""

    name: str
    ask: str | None = None
    input: InputKind | None = None
    store: AnswerField | None = None
    optional: bool = False
    next: tuple[Branch, ...] = ()
    say: str | None = None
    end: bool = False
    line: int = field(default=0, compare=False)

    @property
    def template(self) -> str:
        """The template the step shows: its question or, for the end step, what it says."""
        template = self.ask if self.ask is not None else self.say
        assert template is not None, f"step {self.name!r} has neither ask nor say"
        return template

    def next_step(self, rating: int | None) -> str:
        """The name of the step that follows, for the feedback's rating."""
        for branch in self.next:
            if branch.matches(rating):
                return branch.goto
        raise LookupError(f"step {self.name!r} has no branch for rating {rating}")


@dataclass(frozen=True, slots=True)
class Flow:
    """A validated dialog flow."""

    name: str
    languages: tuple[str, ...]
    start: str
    steps: tuple[Step, ...]
    source: str = field(default="", compare=False)

    def step(self, name: str) -> Step:
        """The step with that name (KeyError when there is none)."""
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def has_step(self, name: str | None) -> bool:
        """Tell whether the flow has a step with that name."""
        return any(step.name == name for step in self.steps)

    @property
    def templates(self) -> frozenset[str]:
        """Every template the flow's steps name."""
        return frozenset(step.template for step in self.steps)


def default_flow_path() -> Path:
    """The default flow shipped with the package."""
    return Path(__file__).resolve().parent / "flows" / "default.yaml"


def load_flow(path: Path, catalog: TemplateCatalog) -> Flow:
    """Read and validate a flow file; errors name the file as given.

    Raises:
        FlowError: the file cannot be read or the flow is invalid.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowError(str(path), None, problem("unreadable", "cannot be read: {error}", error=str(exc))) from exc
    return parse_flow(text, source=str(path), catalog=catalog)


def parse_flow(text: str, *, source: str, catalog: TemplateCatalog) -> Flow:
    """Parse and validate a flow's YAML; `source` names it in errors.

    Raises:
        FlowError: the flow is invalid; its `line` points at the offending line.
    """
    return _FlowParser(source, catalog).parse(text)


@dataclass(slots=True)
class _Reference:
    """A step name used somewhere, remembered with its node until every step is known."""

    target: str
    node: yaml.Node
    where: str


class _FlowParser:
    def __init__(self, source: str, catalog: TemplateCatalog) -> None:
        self._reader = NodeReader(source, FlowError)
        self._catalog = catalog
        self._references: list[_Reference] = []
        self._templates: list[tuple[str, yaml.Node]] = []
        self._step_nodes: dict[str, yaml.Node] = {}

    def parse(self, text: str) -> Flow:
        reader = self._reader
        root = reader.compose(text)
        top = reader.check_keys(
            root,
            reader.mapping(root, _THE_FLOW),
            _THE_FLOW,
            allowed=_TOP_KEYS,
            required=("name", "languages", "start", "steps"),
        )
        name = reader.string(top["name"], problem("what_top", "{key}", key="name"))
        if "description" in top:
            reader.string(top["description"], problem("what_top", "{key}", key="description"))
        languages = self._languages(top["languages"])
        start = reader.string(top["start"], problem("what_top", "{key}", key="start"))
        self._references.append(_Reference(start, top["start"], "start"))
        steps = self._steps(top["steps"])
        flow = Flow(name, languages, start, steps, source=reader.source)
        self._check_references(flow)
        self._check_rating_step(flow, top["start"])
        self._check_templates(flow)
        self._check_reachable(flow)
        self._check_ends(flow, top["start"])
        return flow

    def _languages(self, node: yaml.Node) -> tuple[str, ...]:
        reader = self._reader
        languages: list[str] = []
        for item in reader.sequence(node, problem("what_top", "{key}", key="languages")):
            language = reader.string(item, problem("what_language", "a language"))
            if not _LANGUAGE.fullmatch(language):
                reader.fail(
                    item,
                    problem(
                        "flow_language_code",
                        "language '{language}' must be a lower-case code such as fr or en",
                        language=language,
                    ),
                )
            if language in languages:
                reader.fail(
                    item, problem("flow_language_twice", "language '{language}' is listed twice", language=language)
                )
            languages.append(language)
        if not languages:
            reader.fail(node, problem("flow_no_language", "languages must list at least one language"))
        return tuple(languages)

    def _steps(self, node: yaml.Node) -> tuple[Step, ...]:
        steps = []
        for name, key_node, step_node in self._reader.mapping(node, problem("what_top", "{key}", key="steps")):
            if name in (VENUE_CODE_STEP, DISCARD_STEP):
                self._reader.fail(
                    key_node,
                    problem(
                        "flow_reserved_step",
                        "'{step}' is reserved for the engine: rename the step",
                        step=name,
                    ),
                )
            self._step_nodes[name] = key_node
            steps.append(self._step(name, key_node, step_node))
        if not steps:
            self._reader.fail(node, problem("flow_no_step", "steps must declare at least one step"))
        return tuple(steps)

    def _step(self, name: str, key_node: yaml.Node, node: yaml.Node) -> Step:
        reader = self._reader
        what = _step(name)
        keys = reader.check_keys(node, reader.mapping(node, what), what, allowed=_STEP_KEYS)
        if "ask" in keys and "say" in keys:
            reader.fail(
                keys["say"],
                problem(
                    "flow_ask_and_say", "{what} has both ask and say: a step either asks or ends the flow", what=what
                ),
            )
        if "ask" in keys:
            return self._question(name, key_node, node, keys)
        if "say" in keys:
            return self._end(name, key_node, keys)
        reader.fail(key_node, problem("flow_no_ask_nor_say", "{what} has neither ask nor say", what=what))

    def _question(self, name: str, key_node: yaml.Node, node: yaml.Node, keys: dict[str, yaml.Node]) -> Step:
        reader = self._reader
        what = _step(name)
        if "end" in keys:
            reader.fail(
                keys["end"],
                problem(
                    "flow_question_ends",
                    "{what} asks a question: only a step that says (say:) can end the flow",
                    what=what,
                ),
            )
        ask = reader.string(keys["ask"], _of("ask", what))
        self._templates.append((ask, keys["ask"]))
        if "input" not in keys:
            reader.fail(node, problem("flow_no_input", "{what} asks but has no input (rating or text)", what=what))
        input_text = reader.string(keys["input"], _of("input", what))
        if input_text not in set(InputKind):
            reader.fail(
                keys["input"],
                problem(
                    "flow_bad_input",
                    "input of {what} must be rating, text or nps, not '{found}'",
                    what=what,
                    found=input_text,
                ),
            )
        input_kind = InputKind(input_text)
        optional = reader.boolean(keys["optional"], _of("optional", what)) if "optional" in keys else False
        if "next" not in keys:
            reader.fail(
                node,
                problem(
                    "flow_no_next", "{what} has no next step (add next:, or make it an end step with say:)", what=what
                ),
            )
        if input_kind is InputKind.RATING:
            if "store" in keys:
                reader.fail(
                    keys["store"],
                    problem(
                        "flow_rating_store",
                        "{what} asks for the rating, which is always stored: remove store",
                        what=what,
                    ),
                )
            if optional:
                reader.fail(
                    keys["optional"],
                    problem("flow_rating_optional", "{what} asks for the rating, which cannot be optional", what=what),
                )
            branches = self._next(name, keys["next"], branching=True)
            return Step(name, ask=ask, input=input_kind, next=branches, line=line_of(key_node))
        if input_kind is InputKind.NPS:
            if "store" in keys:
                reader.fail(keys["store"], f"{what} asks the 0-10 question, whose score is stored as nps: remove store")
            branches = self._next(name, keys["next"], branching=False, asks="a score from 0 to 10")
            return Step(name, ask=ask, input=input_kind, optional=optional, next=branches, line=line_of(key_node))
        if "store" not in keys:
            reader.fail(
                node,
                problem("flow_no_store", "{what} asks for text but has no store (reason or suggestion)", what=what),
            )
        store_text = reader.string(keys["store"], _of("store", what))
        if store_text not in set(AnswerField):
            reader.fail(
                keys["store"],
                problem(
                    "flow_bad_store",
                    "store of {what} must be reason or suggestion, not '{found}'",
                    what=what,
                    found=store_text,
                ),
            )
        branches = self._next(name, keys["next"], branching=False)
        return Step(
            name,
            ask=ask,
            input=input_kind,
            store=AnswerField(store_text),
            optional=optional,
            next=branches,
            line=line_of(key_node),
        )

    def _end(self, name: str, key_node: yaml.Node, keys: dict[str, yaml.Node]) -> Step:
        reader = self._reader
        what = _step(name)
        for key in ("input", "store", "optional", "next"):
            if key in keys:
                reader.fail(
                    keys[key],
                    problem(
                        "flow_end_takes_no", "{what} says and ends the flow: it takes no {key}", what=what, key=key
                    ),
                )
        if "end" not in keys or not reader.boolean(keys["end"], _of("end", what)):
            reader.fail(
                key_node,
                problem(
                    "flow_say_no_end", "{what} says a template but does not end the flow (add end: true)", what=what
                ),
            )
        say = reader.string(keys["say"], _of("say", what))
        self._templates.append((say, keys["say"]))
        return Step(name, say=say, end=True, line=line_of(key_node))

    def _next(self, name: str, node: yaml.Node, *, branching: bool, asks: str = "text") -> tuple[Branch, ...]:
        reader = self._reader
        if isinstance(node, yaml.ScalarNode):
            target = reader.string(node, _of("next", _step(name)))
            self._references.append(_Reference(target, node, "next"))
            return (Branch(target, None, line_of(node)),)
        if not branching:
            code = "flow_nps_branches" if asks != "text" else "flow_text_branches"
            reader.fail(
                node,
                problem(
                    code,
                    "{what} asks for " + asks + ": it cannot branch on the rating (next: <step>)",
                    what=_step(name),
                ),
            )
        branches: list[Branch] = []
        covered: dict[int, int] = {}
        for item in reader.sequence(node, _of("next", _step(name))):
            if branches and branches[-1].ratings is None:
                reader.fail(
                    item,
                    problem(
                        "flow_branch_never_taken",
                        "this branch is never taken: the branch without when above takes every rating",
                    ),
                )
            branches.append(self._branch(name, item, covered))
        if not branches:
            reader.fail(node, problem("flow_no_branch", "next of {what} lists no branch", what=_step(name)))
        if branches[-1].ratings is None:
            return tuple(branches)
        missing = [rating for rating in RATINGS if rating not in covered]
        if missing:
            reader.fail(
                node,
                problem(
                    "flow_ratings_nowhere",
                    "ratings {ratings} go nowhere: cover them or add a last branch without when",
                    ratings=tuple(missing),
                ),
            )
        return tuple(branches)

    def _branch(self, name: str, node: yaml.Node, covered: dict[int, int]) -> Branch:
        reader = self._reader
        what = problem("what_branch", "a branch of {step}", step=_step(name))
        keys = reader.check_keys(node, reader.mapping(node, what), what, allowed=("when", "goto"), required=("goto",))
        target = reader.string(keys["goto"], _of("goto", what))
        self._references.append(_Reference(target, keys["goto"], "goto"))
        if "when" not in keys:
            return Branch(target, None, line_of(keys["goto"]))
        when_node = keys["when"]
        when = reader.check_keys(
            when_node, reader.mapping(when_node, _WHEN), _WHEN, allowed=("rating",), required=("rating",)
        )
        ratings: list[int] = []
        for rating_node in self._rating_nodes(when["rating"]):
            rating = reader.integer(rating_node, problem("what_rating", "a rating"))
            if rating not in RATINGS:
                reader.fail(rating_node, problem("flow_rating_range", "rating {rating} is outside 1-5", rating=rating))
            if rating in covered:
                reader.fail(
                    rating_node,
                    problem(
                        "flow_rating_twice",
                        "rating {rating} is already covered by the branch on line {line}",
                        rating=rating,
                        line=covered[rating],
                    ),
                )
            covered[rating] = line_of(when_node)
            ratings.append(rating)
        return Branch(target, tuple(ratings), line_of(keys["goto"]))

    def _rating_nodes(self, node: yaml.Node) -> list[yaml.Node]:
        if isinstance(node, yaml.ScalarNode):
            return [node]
        items = self._reader.sequence(node, problem("what_when_rating", "when rating"))
        if not items:
            self._reader.fail(node, problem("flow_no_rating", "when rating lists no rating"))
        return items

    def _check_references(self, flow: Flow) -> None:
        for reference in self._references:
            if not flow.has_step(reference.target):
                self._reader.fail(
                    reference.node,
                    problem(
                        "flow_unknown_step",
                        "unknown step '{step}' in {where}",
                        step=reference.target,
                        where=reference.where,
                    ),
                )

    def _check_rating_step(self, flow: Flow, start_node: yaml.Node) -> None:
        # The feedback is created when the rating is given, so the rating comes first, and only once.
        if flow.step(flow.start).input is not InputKind.RATING:
            self._reader.fail(
                start_node,
                problem(
                    "flow_start_rating",
                    "the start step '{step}' must ask for the rating (input: rating)",
                    step=flow.start,
                ),
            )
        rating_steps = [step for step in flow.steps if step.input is InputKind.RATING]
        for step in rating_steps[1:]:
            first = rating_steps[0]
            self._fail_at_step(
                step,
                problem(
                    "flow_rating_once", "only one step may ask for the rating ('{step}' already does)", step=first.name
                ),
            )
        nps_steps = [step for step in flow.steps if step.input is InputKind.NPS]
        for step in nps_steps[1:]:
            self._fail_at_step(
                step,
                problem(
                    "flow_nps_once",
                    "only one step may ask the 0-10 question ('{step}' already does)",
                    step=nps_steps[0].name,
                ),
            )

    def _check_templates(self, flow: Flow) -> None:
        catalog = self._catalog
        for template, node in self._templates:
            if template not in catalog.names:
                self._reader.fail(
                    node,
                    problem(
                        "flow_unknown_template",
                        "unknown template '{template}' (not in the template catalog)",
                        template=template,
                    ),
                )
            for language in flow.languages:
                if not catalog.has(template, language):
                    self._reader.fail(
                        node,
                        problem(
                            "flow_template_language",
                            "template '{template}' is missing in language '{language}'",
                            template=template,
                            language=language,
                        ),
                    )
            extra = catalog.declared_variables(template) - FLOW_VARIABLES
            if extra:
                text = "template '{template}' needs {needed}, which a step cannot give ({given})"
                needed, given = tuple(sorted(extra)), tuple(sorted(FLOW_VARIABLES))
                self._reader.fail(
                    node, problem("flow_template_variables", text, template=template, needed=needed, given=given)
                )

    def _check_reachable(self, flow: Flow) -> None:
        reachable = set(_walk(flow, flow.start))
        for step in flow.steps:
            if step.name not in reachable:
                self._fail_at_step(
                    step,
                    problem(
                        "flow_unreachable",
                        "step '{step}' is unreachable from the start step '{start}'",
                        step=step.name,
                        start=flow.start,
                    ),
                )

    def _check_ends(self, flow: Flow, start_node: yaml.Node) -> None:
        # A step finishes when every branch leads to a step that finishes: loops never do.
        finishing = {step.name for step in flow.steps if step.end}
        changed = True
        while changed:
            changed = False
            for step in flow.steps:
                if step.name not in finishing and all(branch.goto in finishing for branch in step.next):
                    finishing.add(step.name)
                    changed = True
        if not any(flow.step(name).end for name in _walk(flow, flow.start)):
            self._reader.fail(
                start_node,
                problem("flow_no_end", "no end step is reachable from the start (add a step with say: and end: true)"),
            )
        stuck = [step for step in flow.steps if step.name not in finishing]
        # Point inside the loop rather than at a step that merely leads into it.
        looping = [step for step in stuck if not any(branch.goto in finishing for branch in step.next)]
        for step in looping or stuck:
            self._fail_at_step(
                step,
                problem("flow_loops", "step '{step}' never reaches an end step (its next steps loop)", step=step.name),
            )

    def _fail_at_step(self, step: Step, reason: Problem) -> NoReturn:
        self._reader.fail(self._step_nodes[step.name], reason)


def _walk(flow: Flow, start: str) -> Iterator[str]:
    """Every step reachable from `start`, start included, each once."""
    seen = {start}
    pending = [start]
    while pending:
        name = pending.pop()
        yield name
        for branch in flow.step(name).next:
            if branch.goto not in seen:
                seen.add(branch.goto)
                pending.append(branch.goto)
