"""What a message template may do, decided from its text for every value its variables can take.

A template is read as a tree before it is ever rendered: only whitelisted constructs pass (variables and
their fields, the allowed filters and tests, comparisons, loops over lists the catalog declares, small
arithmetic, `TABLE.get(key, default)` on a table the template sets, `range()` of written numbers), and
for the longest value of every variable (`limits.yaml`) the walk bounds the text the template can produce
(in Telegram's UTF-16 units) and follows the HTML tags along every path. So a template that validates
cannot allocate much, run long, leave a tag open behind a condition, or outgrow Telegram's limit for a
real venue that its sample values do not show.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NoReturn

from jinja2 import nodes

from dialogs import french
from dialogs.errors import Problem, TemplateError, problem
from dialogs.markup import plain_problem, scan_html, utf16_len

__all__ = ["DEFAULT_LIMIT", "Bound", "Limit", "check_bounds", "shape_of"]

#: The most text any template may produce, every variable and list at its longest: a guard for the process
#: (rendering also stops at `dialogs.sandbox.MAX_OUTPUT` characters, as it goes).
MAX_OUTPUT_UNITS: Final = 4_000_000
#: The longest text one expression may build (a variable, a joined list, a repeated or replaced text).
MAX_TEXT_UNITS: Final = 100_000
#: Numbers a template computes stay within this (no big integers: nothing a message needs).
MAX_NUMBER: Final = 10**15
#: The most nested an expression may be (parentheses, filters, operators).
MAX_EXPRESSION_DEPTH: Final = 40
#: The longest `range()` a template may loop over.
MAX_RANGE: Final = 100
#: Ways the tags <b> and <i> may be left open at one point, across the template's conditions.
_MAX_TAG_STATES: Final = 64
#: What str() of a float takes at most ("-1.2345678901234567e+300").
_FLOAT_WIDTH: Final = 24

_ALLOWED_TESTS: Final = frozenset(
    {
        "boolean", "defined", "divisibleby", "eq", "equalto", "escaped", "even", "false", "float", "ge",
        "greaterthan", "gt", "in", "integer", "iterable", "le", "lessthan", "lower", "lt", "mapping", "ne",
        "none", "number", "odd", "sameas", "sequence", "string", "true", "undefined", "upper",
    }
)  # fmt: skip
_LOOP_FIELDS: Final = frozenset({"index", "index0", "revindex", "revindex0", "first", "last", "length"})
_CASE_FILTERS: Final = frozenset({"capitalize", "lower", "upper", "title"})  # a character may become 3
_SAME_SIZE_FILTERS: Final = frozenset({"trim", "striptags", "e", "escape"})
#: `de`, `à` and `chez` put at most "chez " before the name (an article they merge makes it shorter).
_PREPOSITION_FILTERS: Final = frozenset(french.FILTERS)


@dataclass(frozen=True, slots=True)
class Limit:
    """The most a variable (or a field of a list's items) can hold, from `limits.yaml`.

    `most` is UTF-16 units for a text, items for a list, the largest value for a number when `least` (the
    smallest) is given too: a number without `least` may be any count. `cut` marks text written by people
    and long lists: the 4,096 check counts them empty (the sender bounds them), the size bound still counts
    them whole.
    """

    most: int
    least: int | None = None
    cut: bool = False
    item: Limit | None = None


#: What a variable holds when `limits.yaml` does not say: 100 units of text, any count, 100 items.
DEFAULT_LIMIT: Final = Limit(100)
_DEFAULT_NUMBER: Final = 10**9


@dataclass(frozen=True, slots=True)
class Bound:
    """The most a text holds, in UTF-16 units: every variable at its longest, and with `cut` ones empty."""

    whole: int
    fit: int

    def __add__(self, other: Bound) -> Bound:
        return Bound(self.whole + other.whole, self.fit + other.fit)

    def times(self, count: Bound) -> Bound:
        return Bound(self.whole * count.whole, self.fit * count.fit)

    def scaled(self, factor: int) -> Bound:
        return Bound(self.whole * factor, self.fit * factor)

    def most(self, other: Bound) -> Bound:
        return Bound(max(self.whole, other.whole), max(self.fit, other.fit))

    def least(self, other: Bound) -> Bound:
        return Bound(min(self.whole, other.whole), min(self.fit, other.fit))


_NOTHING: Final = Bound(0, 0)
_PREPOSITION: Final = Bound(5, 5)


@dataclass(frozen=True, slots=True)
class _Text:
    size: Bound


@dataclass(frozen=True, slots=True)
class _Number:
    low: float
    high: float
    integral: bool = True


@dataclass(frozen=True, slots=True)
class _Truth:
    pass


@dataclass(frozen=True, slots=True)
class _Nothing:
    pass


@dataclass(frozen=True, slots=True)
class _Items:
    count: Bound
    item: _Value


@dataclass(frozen=True, slots=True)
class _Record:
    fields: Mapping[str, _Value]


@dataclass(frozen=True, slots=True)
class _Table:
    """A dict the template writes itself (`{% set names = {...} %}`): read with `.get(key, default)`."""

    values: _Value


@dataclass(frozen=True, slots=True)
class _Loop:
    count: Bound


@dataclass(frozen=True, slots=True)
class _OneOf:
    options: tuple[_Value, ...]


_Value = _Text | _Number | _Truth | _Nothing | _Items | _Record | _Table | _Loop | _OneOf
_Stacks = frozenset[tuple[str, ...]]


def shape_of(sample: Any, name: str, limits: Mapping[str, Limit], limit: Limit | None = None) -> _Value:
    """What a variable can hold, from its sample value's type and its limit (by name)."""
    limit = limit or limits.get(name, DEFAULT_LIMIT)
    if isinstance(sample, bool):
        return _Truth()
    if isinstance(sample, int | float):
        if limit.least is None:
            return _Number(-_DEFAULT_NUMBER, _DEFAULT_NUMBER, isinstance(sample, int))
        return _Number(limit.least, limit.most, isinstance(sample, int))
    if isinstance(sample, str):
        units = limit.most
        return _Text(Bound(units, 0 if limit.cut else units))
    if isinstance(sample, list):
        count = Bound(limit.most, 0 if limit.cut else limit.most)
        item_limit = limit.item or DEFAULT_LIMIT
        items = [shape_of(item, name, limits, item_limit) for item in sample]
        return _Items(count, _join(items) if items else _Nothing())
    if isinstance(sample, dict):
        return _Record({key: shape_of(value, str(key), limits) for key, value in sample.items()})
    return _Nothing()


def check_bounds(
    tree: nodes.Template,
    variables: Mapping[str, _Value],
    *,
    name: str,
    language: str,
    html: bool,
    limit: int | None,
) -> Bound:
    """Check a parsed template for every value of its variables; the most text it can produce.

    `limit` is Telegram's for the template's kind (4,096 for a message, 200 for a notice; None: none).

    Raises:
        TemplateError: a construct that is not allowed, a text or number that could grow too big, a tag
            left open or closed wrongly on some path, or a text that could outgrow `limit`.
    """
    walker = _Walker(name, language, html)
    size, stacks = walker.body(tree.body, dict(variables), frozenset({()}), nested=0)
    for stack in sorted(stacks):
        if stack:
            walker.fail(
                None,
                problem(
                    "tag_never_closed",
                    "<{stack}> is never closed on some path through the template's conditions",
                    stack=stack[-1],
                ),
            )
    if size.whole > MAX_OUTPUT_UNITS:
        text = "may produce up to {most} characters; a message template stays under {limit}"
        walker.fail(None, problem("output_bound", text, most=size.whole, limit=MAX_OUTPUT_UNITS))
    if limit is not None and size.fit > limit:
        text = (
            "may be {most} characters long (in Telegram's UTF-16 units, every variable at its longest), "
            "more than Telegram's {limit}"
        )
        walker.fail(None, problem("telegram_bound", text, most=size.fit, limit=limit))
    return size


def _join(values: Iterable[_Value]) -> _Value:
    """A value that may be any of these."""
    flat: list[_Value] = []
    for value in values:
        flat.extend(value.options if isinstance(value, _OneOf) else (value,))
    merged: dict[type, _Value] = {}
    for value in flat:
        known = merged.get(type(value))
        merged[type(value)] = value if known is None else _merge(known, value)
    found = tuple(merged.values())
    return found[0] if len(found) == 1 else _OneOf(found)


def _merge(a: _Value, b: _Value) -> _Value:
    if isinstance(a, _Text) and isinstance(b, _Text):
        return _Text(a.size.most(b.size))
    if isinstance(a, _Number) and isinstance(b, _Number):
        return _Number(min(a.low, b.low), max(a.high, b.high), a.integral and b.integral)
    if isinstance(a, _Items) and isinstance(b, _Items):
        return _Items(a.count.most(b.count), _join((a.item, b.item)))
    if isinstance(a, _Record) and isinstance(b, _Record):
        keys = {**a.fields, **b.fields}
        both = {key: _join(v for v in (a.fields.get(key), b.fields.get(key)) if v is not None) for key in keys}
        return _Record(both)
    if isinstance(a, _Table) and isinstance(b, _Table):
        return _Table(_join((a.values, b.values)))
    if isinstance(a, _Loop) and isinstance(b, _Loop):
        return _Loop(a.count.most(b.count))
    return a  # _Truth, _Nothing: nothing to merge


_DESCRIPTIONS: Final = {
    _Text: problem("value_text", "a text"),
    _Number: problem("value_number", "a number"),
    _Truth: problem("value_truth", "a yes/no value"),
    _Nothing: problem("value_none", "none"),
    _Items: problem("value_list", "a list"),
    _Record: problem("value_item", "an item of a list"),
    _Table: problem("value_table", "a table"),
    _Loop: problem("value_loop", "'loop'"),
    _OneOf: problem("value_any", "a value"),
}


def _describe(value: _Value) -> Problem:
    return _DESCRIPTIONS[type(value)]


class _Walker:
    def __init__(self, name: str, language: str, html: bool) -> None:
        self.name = name
        self.language = language
        self.html = html
        self.line = 1

    def fail(self, node: nodes.Node | None, reason: Problem) -> NoReturn:
        line = getattr(node, "lineno", None) if node is not None else None
        raise TemplateError(self.name, self.language, line, reason)

    # --- statements -----------------------------------------------------------------------------------

    def body(
        self, statements: Sequence[nodes.Node], scope: dict[str, _Value], stacks: _Stacks, *, nested: int
    ) -> tuple[Bound, _Stacks]:
        total = _NOTHING
        for statement in statements:
            size, stacks = self.statement(statement, scope, stacks, nested=nested)
            total = total + size
        return total, stacks

    def statement(
        self, node: nodes.Node, scope: dict[str, _Value], stacks: _Stacks, *, nested: int
    ) -> tuple[Bound, _Stacks]:
        if isinstance(node, nodes.Output):
            total = _NOTHING
            for child in node.nodes:
                if isinstance(child, nodes.TemplateData):
                    size, stacks = self.data(child, stacks)
                else:
                    size = self.printed(self.expr(child, scope, 0), child)
                total = total + size
            return total, stacks
        if isinstance(node, nodes.If):
            return self.condition(node, scope, stacks, nested=nested)
        if isinstance(node, nodes.For):
            return self.loop(node, scope, stacks, nested=nested)
        if isinstance(node, nodes.Assign):
            if nested:
                self.fail(
                    node,
                    problem(
                        "set_nested", "{{% set %}} is allowed only outside conditions and loops in message templates"
                    ),
                )
            if not isinstance(node.target, nodes.Name):
                self.fail(node, problem("set_one_name", "{{% set %}} names one variable in message templates"))
            scope[node.target.name] = self.expr(node.node, scope, 0)
            return _NOTHING, stacks
        what = type(node).__name__.lower()
        self.fail(node, problem("block_forbidden", "'{what}' blocks are not allowed in message templates", what=what))

    def condition(
        self, node: nodes.If, scope: dict[str, _Value], stacks: _Stacks, *, nested: int
    ) -> tuple[Bound, _Stacks]:
        branches: list[tuple[nodes.Node | None, list[nodes.Node]]] = [(node.test, node.body)]
        branches += [(branch.test, branch.body) for branch in node.elif_]
        branches.append((None, node.else_))
        size, found = _NOTHING, set[tuple[str, ...]]()
        for test, body in branches:
            if test is not None:
                self.expr(test, scope, 0)
            branch_scope = dict(scope)
            branch_size, branch_stacks = self.body(body, branch_scope, stacks, nested=nested + 1)
            size = size.most(branch_size)
            found |= branch_stacks
        return size, self.limited(node, frozenset(found))

    def loop(self, node: nodes.For, scope: dict[str, _Value], stacks: _Stacks, *, nested: int) -> tuple[Bound, _Stacks]:
        if node.recursive:
            self.fail(node, problem("recursive_loop", "recursive loops are not allowed in message templates"))
        if not isinstance(node.target, nodes.Name):
            self.fail(node, problem("loop_one_name", "a loop takes one name for its items in message templates"))
        items = self.expr(node.iter, scope, 0)
        count, item = self.iterated(items, node)
        inner = {**scope, node.target.name: item, "loop": _Loop(count)}
        if node.test is not None:
            self.expr(node.test, inner, 0)
        body, body_stacks = self.body(node.body, inner, frozenset({()}), nested=nested + 1)
        if body_stacks != frozenset({()}):
            self.fail(
                node, problem("loop_tags", "a loop's body must close every tag it opens (<b>…</b> inside the loop)")
            )
        otherwise, else_stacks = self.body(node.else_, dict(scope), stacks, nested=nested + 1)
        return body.times(count).most(otherwise), stacks | else_stacks

    def iterated(self, items: _Value, node: nodes.Node) -> tuple[Bound, _Value]:
        if isinstance(items, _Items):
            return items.count, items.item
        if isinstance(items, _OneOf) and all(isinstance(option, _Items) for option in items.options):
            lists = [option for option in items.options if isinstance(option, _Items)]
            merged = _join(lists)
            assert isinstance(merged, _Items)
            return merged.count, merged.item
        self.fail(
            node,
            problem(
                "loop_over", "a loop goes over a list the catalog declares, not over {what}", what=_describe(items)
            ),
        )

    def data(self, node: nodes.TemplateData, stacks: _Stacks) -> tuple[Bound, _Stacks]:
        text = node.data
        if "tg://" in text.lower():
            self.fail(
                node,
                problem("tg_links", "links to Telegram users or chats (tg://) are not allowed in message templates"),
            )
        if not self.html:
            found = plain_problem(text)
            if found is not None:
                self.fail(node, found)
            units = utf16_len(text)
            return Bound(units, units), stacks
        scan = scan_html(text)
        if scan.problem is not None:
            self.fail(node, scan.problem)
        after = set()
        for stack in stacks:
            current = list(stack)
            for closing, tag in scan.tags:
                if not closing:
                    current.append(tag)
                elif not current or current.pop() != tag:
                    self.fail(
                        node,
                        problem(
                            "tag_not_open",
                            "</{tag}> closes a tag that is not open (on some path through the template)",
                            tag=tag,
                        ),
                    )
            after.add(tuple(current))
        return Bound(scan.visible, scan.visible), self.limited(node, frozenset(after))

    def limited(self, node: nodes.Node, stacks: _Stacks) -> _Stacks:
        if len(stacks) > _MAX_TAG_STATES:
            self.fail(
                node, problem("tag_paths", "too many ways to leave <b> and <i> open: close tags inside each condition")
            )
        return stacks

    # --- expressions ------------------------------------------------------------------------------------

    def expr(self, node: nodes.Node, scope: Mapping[str, _Value], depth: int) -> _Value:
        if depth > MAX_EXPRESSION_DEPTH:
            self.fail(
                node,
                problem(
                    "expression_depth",
                    "expressions may nest at most {max_expression_depth} deep in message templates",
                    max_expression_depth=MAX_EXPRESSION_DEPTH,
                ),
            )
        value = self.evaluate(node, scope, depth + 1)
        if isinstance(value, _Text) and value.size.whole > MAX_TEXT_UNITS:
            self.fail(
                node,
                problem(
                    "text_too_big",
                    "builds a text of up to {most} characters; at most {max_text_units}",
                    most=value.size.whole,
                    max_text_units=MAX_TEXT_UNITS,
                ),
            )
        if isinstance(value, _Items) and value.count.whole > MAX_TEXT_UNITS:
            self.fail(
                node,
                problem(
                    "list_too_big",
                    "builds a list of up to {most} items; at most {max_text_units}",
                    most=value.count.whole,
                    max_text_units=MAX_TEXT_UNITS,
                ),
            )
        return value

    def evaluate(self, node: nodes.Node, scope: Mapping[str, _Value], depth: int) -> _Value:
        if isinstance(node, nodes.Const):
            return self.constant(node)
        if isinstance(node, nodes.Name):
            if node.name not in scope:
                self.fail(
                    node, problem("not_a_variable", "'{name}' is not a variable of this template", name=node.name)
                )
            return scope[node.name]
        if isinstance(node, nodes.Getattr):
            return self.field(self.expr(node.node, scope, depth), node.attr, node)
        if isinstance(node, nodes.Getitem):
            return self.item(node, scope, depth)
        if isinstance(node, nodes.Call):
            return self.call(node, scope, depth)
        if isinstance(node, nodes.Filter):
            return self.filtered(node, scope, depth)
        if isinstance(node, nodes.Test):
            if node.name not in _ALLOWED_TESTS:
                self.fail(node, problem("test_forbidden", "the test '{name}' is not allowed", name=node.name))
            self.arguments(node, scope, depth)
            self.expr(node.node, scope, depth)
            return _Truth()
        if isinstance(node, nodes.Compare):
            self.expr(node.expr, scope, depth)
            for operand in node.ops:
                self.expr(operand.expr, scope, depth)
            return _Truth()
        if isinstance(node, nodes.Not):
            self.expr(node.node, scope, depth)
            return _Truth()
        if isinstance(node, nodes.And | nodes.Or):
            return _join((self.expr(node.left, scope, depth), self.expr(node.right, scope, depth)))
        if isinstance(node, nodes.CondExpr):
            self.expr(node.test, scope, depth)
            otherwise = self.expr(node.expr2, scope, depth) if node.expr2 is not None else _Nothing()
            return _join((self.expr(node.expr1, scope, depth), otherwise))
        if isinstance(node, nodes.Concat):
            total = _NOTHING
            for part in node.nodes:
                total = total + self.printed(self.expr(part, scope, depth), part)
            return _Text(total)
        if isinstance(node, nodes.BinExpr):
            return self.arithmetic(node, self.expr(node.left, scope, depth), self.expr(node.right, scope, depth))
        if isinstance(node, nodes.Neg | nodes.Pos):
            number = self.number(self.expr(node.node, scope, depth), node)
            return _Number(-number.high, -number.low, number.integral) if isinstance(node, nodes.Neg) else number
        if isinstance(node, nodes.List | nodes.Tuple):
            values = [self.expr(item, scope, depth) for item in node.items]
            count = Bound(len(values), len(values))
            return _Items(count, _join(values) if values else _Nothing())
        if isinstance(node, nodes.Dict):
            for pair in node.items:
                if not isinstance(pair.key, nodes.Const):
                    self.fail(pair, problem("table_keys", "a table's keys are written in the template"))
            values = [self.expr(pair.value, scope, depth) for pair in node.items]
            return _Table(_join(values) if values else _Nothing())
        self.fail(
            node,
            problem(
                "node_forbidden", "'{construct}' is not allowed in message templates", construct=type(node).__name__
            ),
        )

    def constant(self, node: nodes.Const) -> _Value:
        value = node.value
        if isinstance(value, bool):
            return _Truth()
        if isinstance(value, int | float):
            if abs(value) > MAX_NUMBER:
                self.fail(
                    node,
                    problem(
                        "constant_too_big",
                        "numbers in message templates stay within ±{max_number:.0e}",
                        max_number=MAX_NUMBER,
                    ),
                )
            return _Number(value, value, isinstance(value, int))
        if isinstance(value, str):
            units = utf16_len(value)
            return _Text(Bound(units, units))
        if value is None:
            return _Nothing()
        self.fail(
            node,
            problem("constant_forbidden", "the constant {value!r} is not allowed in message templates", value=value),
        )

    def field(self, value: _Value, name: str, node: nodes.Node) -> _Value:
        if isinstance(value, _OneOf):
            return _join(self.field(option, name, node) for option in value.options)
        if isinstance(value, _Record) and name in value.fields:
            return value.fields[name]
        if isinstance(value, _Record):
            known = ", ".join(sorted(value.fields))
            self.fail(
                node,
                problem("no_such_field", "the items have no field '{name}' (fields: {known})", name=name, known=known),
            )
        if isinstance(value, _Loop) and name in _LOOP_FIELDS:
            if name in ("first", "last"):
                return _Truth()
            return _Number(0, value.count.whole)
        what = _describe(value)
        self.fail(
            node,
            problem(
                "attribute_forbidden",
                "refused by the sandbox: access to attribute '{name}' of {what} is not allowed",
                name=name,
                what=what,
            ),
        )

    def item(self, node: nodes.Getitem, scope: Mapping[str, _Value], depth: int) -> _Value:
        value = self.expr(node.node, scope, depth)
        if isinstance(node.arg, nodes.Slice):
            for part in (node.arg.start, node.arg.stop, node.arg.step):
                if part is not None:
                    self.number(self.expr(part, scope, depth), part)
            if isinstance(value, _Items | _Text):
                return value
            self.fail(
                node,
                problem("slice_of", "slices take a part of a list or a text, not of {what}", what=_describe(value)),
            )
        key = self.expr(node.arg, scope, depth)
        if isinstance(value, _Record) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            return self.field(value, node.arg.value, node)
        if isinstance(value, _Items) and isinstance(key, _Number):
            return value.item
        if isinstance(value, _Text) and isinstance(key, _Number):
            return _Text(Bound(2, 2))
        if isinstance(value, _Table):
            return value.values
        self.fail(node, problem("subscript_forbidden", "'[…]' does not apply to {what} here", what=_describe(value)))

    def call(self, node: nodes.Call, scope: Mapping[str, _Value], depth: int) -> _Value:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            self.fail(node, problem("star_arguments", "'*args' and '**kwargs' are not allowed in message templates"))
        callee = node.node
        if isinstance(callee, nodes.Name) and callee.name == "range" and "range" not in scope:
            if node.kwargs or not 1 <= len(node.args) <= 3:
                self.fail(node, problem("range_arguments", "range() takes one to three numbers"))
            bounds = []
            for argument in node.args:
                self.expr(argument, scope, depth)
                if not (isinstance(argument, nodes.Const) and type(argument.value) is int):
                    self.fail(node, problem("range_written", "range() takes whole numbers written in the template"))
                bounds.append(argument.value)
            if bounds[-1] == 0 and len(bounds) == 3:
                self.fail(node, problem("range_step", "range() cannot step by 0"))
            length = len(range(*bounds))
            if length > MAX_RANGE:
                self.fail(
                    node,
                    problem(
                        "range_too_long",
                        "range() is limited to {max_range} numbers in message templates",
                        max_range=MAX_RANGE,
                    ),
                )
            return _Items(Bound(length, length), _Number(min(bounds, default=0), max(bounds, default=0)))
        if isinstance(callee, nodes.Getattr) and callee.attr == "get" and not node.kwargs and 1 <= len(node.args) <= 2:
            table = self.expr(callee.node, scope, depth)
            if isinstance(table, _Table):
                found = [self.expr(argument, scope, depth) for argument in node.args]
                return _join((table.values, found[1] if len(found) == 2 else _Nothing()))
        text = (
            "refused by the sandbox: calling {what} is not allowed in message templates "
            "(no method calls: only TABLE.get(key, default) on a table the template sets, and range())"
        )
        if isinstance(callee, nodes.Getattr):
            self.fail(node, problem("call_forbidden", text, what=f"'{callee.attr}'"))
        self.fail(node, problem("call_forbidden", text, what=problem("what_functions", "functions")))

    def arguments(self, node: nodes.Filter | nodes.Test, scope: Mapping[str, _Value], depth: int) -> list[_Value]:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            self.fail(node, problem("star_arguments", "'*args' and '**kwargs' are not allowed in message templates"))
        for keyword in node.kwargs:
            self.expr(keyword.value, scope, depth)
        return [self.expr(argument, scope, depth) for argument in node.args]

    def filtered(self, node: nodes.Filter, scope: Mapping[str, _Value], depth: int) -> _Value:
        if node.node is None:
            self.fail(
                node, problem("construct_filter_blocks_forbidden", "filter blocks are not allowed in message templates")
            )
        value = self.expr(node.node, scope, depth)
        self.arguments(node, scope, depth)
        return self.apply(node, value, scope, depth)

    def apply(self, node: nodes.Filter, value: _Value, scope: Mapping[str, _Value], depth: int) -> _Value:
        if isinstance(value, _OneOf):
            return _join(self.apply(node, option, scope, depth) for option in value.options)
        name = node.name
        given = _Arguments(node)
        if name in ("d", "default"):
            fallback = given.get(0, "default_value")
            return _join((value, self.expr(fallback, scope, depth) if fallback is not None else _Text(_NOTHING)))
        if name in ("length", "count"):
            if isinstance(value, _Items):
                return _Number(0, value.count.whole)
            if isinstance(value, _Text):
                return _Number(0, value.size.whole)
            self.fail(
                node,
                problem("counts_of", "'{name}' counts a list or a text, not {what}", name=name, what=_describe(value)),
            )
        if name in ("abs", "round"):
            number = self.number(value, node)
            if name == "abs":
                return _Number(0, max(abs(number.low), abs(number.high)), number.integral)
            return _Number(number.low - 1, number.high + 1, integral=False)
        if name in ("int", "float"):
            if isinstance(value, _Text):
                if value.size.whole > 15:
                    self.fail(
                        node,
                        problem(
                            "number_from_text",
                            "'{name}' reads a number from a text of at most 15 characters",
                            name=name,
                        ),
                    )
                return _Number(-MAX_NUMBER, MAX_NUMBER, name == "int")
            number = self.number(value, node)
            return _Number(number.low - 1, number.high + 1, name == "int")
        if name in _PREPOSITION_FILTERS:
            return _Text(self.printed(value, node) + _PREPOSITION)
        if name in _CASE_FILTERS or name in _SAME_SIZE_FILTERS or name == "string":
            size = self.printed(value, node)
            return _Text(size.scaled(3) if name in _CASE_FILTERS else size)
        if name in ("first", "last", "max", "min"):
            if isinstance(value, _Items):
                return value.item
            if isinstance(value, _Text):
                return _Text(Bound(2, 2))
            self.fail(
                node,
                problem(
                    "takes_from",
                    "'{name}' takes from a list or a text, not from {what}",
                    name=name,
                    what=_describe(value),
                ),
            )
        if name in ("list", "sort", "unique"):
            if isinstance(value, _Items):
                return value
            if isinstance(value, _Text):
                return _Items(value.size, _Text(Bound(2, 2)))
            self.fail(
                node,
                problem(
                    "works_on", "'{name}' works on a list or a text, not on {what}", name=name, what=_describe(value)
                ),
            )
        if name == "sum":
            if isinstance(value, _Items):
                each = self.number(value.item, node)
                count = value.count.whole
                return _Number(min(0, each.low * count), max(0, each.high * count), each.integral)
            self.fail(node, problem("sum_of", "'sum' adds the numbers of a list, not {what}", what=_describe(value)))
        if name == "join":
            if not isinstance(value, _Items):
                self.fail(node, problem("join_of", "'join' joins a list, not {what}", what=_describe(value)))
            separator = given.get(0, "d")
            attribute = given.get(1, "attribute")
            item = value.item
            if attribute is not None:
                if not (isinstance(attribute, nodes.Const) and isinstance(attribute.value, str)):
                    self.fail(node, problem("join_field", "'join' takes the name of a field written in the template"))
                item = self.field(item, attribute.value, node)
            between = self.printed(self.expr(separator, scope, depth), node) if separator is not None else _NOTHING
            return _Text((self.printed(item, node) + between).times(value.count))
        if name == "replace":
            return self.replaced(node, value, given, scope, depth)
        if name == "truncate":
            length = given.get(0, "length")
            end = given.get(2, "end")
            if length is None:
                most = 255
            elif isinstance(length, nodes.Const) and type(length.value) is int:
                most = length.value
            else:
                self.fail(node, problem("truncate_length", "'truncate' takes a length written in the template"))
            end_units = self.printed(self.expr(end, scope, depth), node).whole if end is not None else 3
            cap = 2 * (max(most, 0) + 5) + end_units
            return _Text(self.printed(value, node).least(Bound(cap, cap)))
        self.fail(node, problem("filter_not_allowed", "the filter '{name}' is not allowed", name=name))

    def replaced(
        self, node: nodes.Filter, value: _Value, given: _Arguments, scope: Mapping[str, _Value], depth: int
    ) -> _Value:
        old, new = given.get(0, "old"), given.get(1, "new")
        if old is None or new is None:
            self.fail(
                node, problem("replace_arguments", "'replace' takes the text to find and the text to put instead")
            )
        size = self.printed(value, node)
        added = self.printed(self.expr(new, scope, depth), node)
        found = len(old.value) if isinstance(old, nodes.Const) and isinstance(old.value, str) else 0
        if found == 0:  # '' matches between every two characters
            return _Text(size + added.times(size + Bound(1, 1)))
        return _Text(size + added.times(Bound(-(-size.whole // found), -(-size.fit // found))))

    def arithmetic(self, node: nodes.BinExpr, left: _Value, right: _Value) -> _Value:
        operator = node.operator
        if operator == "**":
            self.fail(node, problem("power_forbidden", "'**' is not allowed in message templates (no big numbers)"))
        if operator == "*":
            for text, times in ((left, right), (right, left)):
                if isinstance(text, _Text | _Items) and not isinstance(times, _Text | _Items):
                    count = max(0, math.ceil(self.number(times, node).high))
                    if isinstance(text, _Text):
                        return _Text(text.size.scaled(count))
                    return _Items(text.count.scaled(count), text.item)
        if operator == "+" and isinstance(left, _Text) and isinstance(right, _Text):
            return _Text(left.size + right.size)
        if operator == "+" and isinstance(left, _Items) and isinstance(right, _Items):
            return _Items(left.count + right.count, _join((left.item, right.item)))
        if isinstance(left, _Text) and operator == "%":
            self.fail(
                node,
                problem(
                    "percent_format",
                    "'%' formatting is not allowed in message templates: write the variables in the text",
                ),
            )
        a, b = self.number(left, node), self.number(right, node)
        if operator in ("+", "-", "*"):
            pairs = [(x, y) for x in (a.low, a.high) for y in (b.low, b.high)]
            if operator == "+":
                corners = [x + y for x, y in pairs]
            elif operator == "-":
                corners = [x - y for x, y in pairs]
            else:
                corners = [x * y for x, y in pairs]
            result = _Number(min(corners), max(corners), a.integral and b.integral)
        elif operator == "%":
            most = max(abs(b.low), abs(b.high))
            result = _Number(-most, most, a.integral and b.integral)
        else:  # "/" and "//": as big as the dividend over the smallest divisor that is not 0
            smallest = 1.0 if b.integral else min((abs(x) for x in (b.low, b.high) if x != 0), default=1.0)
            if (not b.integral and b.low < 0 < b.high) or smallest < 1:
                self.fail(
                    node,
                    problem(
                        "divide_near_zero",
                        "dividing by a number that may be close to 0 is not allowed in message templates",
                    ),
                )
            most = max(abs(a.low), abs(a.high)) / smallest
            result = _Number(-most, most, operator == "//" and a.integral and b.integral)
        if max(abs(result.low), abs(result.high)) > MAX_NUMBER:
            self.fail(
                node,
                problem(
                    "number_too_big",
                    "may compute numbers beyond ±{max_number:.0e}: no big numbers in message templates",
                    max_number=MAX_NUMBER,
                ),
            )
        return result

    def number(self, value: _Value, node: nodes.Node) -> _Number:
        if isinstance(value, _Number):
            return value
        if isinstance(value, _Truth):
            return _Number(0, 1)
        if isinstance(value, _OneOf) and all(isinstance(option, _Number | _Truth) for option in value.options):
            numbers = [self.number(option, node) for option in value.options]
            merged = _join(numbers)
            assert isinstance(merged, _Number)
            return merged
        self.fail(node, problem("expects_number", "expects a number, not {what}", what=_describe(value)))

    def printed(self, value: _Value, node: nodes.Node) -> Bound:
        """The most text a value shows once printed."""
        if isinstance(value, _Text):
            return value.size
        if isinstance(value, _Number):
            if not value.integral:
                return Bound(_FLOAT_WIDTH, _FLOAT_WIDTH)
            width = len(str(int(max(abs(value.low), abs(value.high))))) + (1 if value.low < 0 else 0)
            return Bound(width, width)
        if isinstance(value, _Truth):
            return Bound(5, 5)
        if isinstance(value, _Nothing):
            return Bound(4, 4)
        if isinstance(value, _OneOf):
            size = _NOTHING
            for option in value.options:
                size = size.most(self.printed(option, node))
            return size
        self.fail(
            node,
            problem(
                "prints_raw",
                "prints {what} as Python would: loop over it, or use one of its fields",
                what=_describe(value),
            ),
        )


@dataclass(slots=True)
class _Arguments:
    """A filter's arguments by position or keyword, as the nodes the template wrote."""

    node: nodes.Filter
    keywords: dict[str, nodes.Node] = field(init=False)

    def __post_init__(self) -> None:
        self.keywords = {str(keyword.key): keyword.value for keyword in self.node.kwargs}

    def get(self, position: int, keyword: str) -> nodes.Node | None:
        if position < len(self.node.args):
            return self.node.args[position]
        return self.keywords.get(keyword)
