"""The Jinja2 sandbox that message templates are compiled and rendered in.

Templates are edited by brand admins, so they run in Jinja2's immutable sandbox with `StrictUndefined`,
a short list of filters, no macros, includes, imports or autoescape blocks, and limits on the operators
and loops that could make a tiny template produce a huge message. What a template may do is decided
before it is compiled (`dialogs.bounds`); the checks here are the second line, while rendering, with an
output budget counted as it goes. Every failure becomes a `TemplateError` that names the template, the
language and, when Jinja2 knows it, the line.
"""

from __future__ import annotations

import operator
import traceback
from collections.abc import Iterator, Mapping
from typing import Any, Final

import jinja2
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from dialogs import french
from dialogs.errors import Problem, TemplateError, problem

__all__ = ["compile_template", "make_environment", "parse_template", "render_template", "template_variables"]

#: The longest string or list a template may build with `*`.
MAX_PRODUCT_LENGTH: Final = 10_000
#: The largest exponent `**` accepts.
MAX_EXPONENT: Final = 64
#: The longest `range()` a template may loop over: messages list a handful of things, not thousands.
MAX_RANGE: Final = 100
#: How deep `{% for %}` loops may nest.
MAX_LOOP_DEPTH: Final = 2
#: The longest template source an admin may save: a message is at most 4,096 characters.
MAX_SOURCE_LENGTH: Final = 20_000
#: How deep the template's tree may be (expressions in expressions, blocks in blocks).
MAX_TREE_DEPTH: Final = 60
#: Rendering stops past this many characters: far above any Telegram limit, far below harming the process.
MAX_OUTPUT: Final = 100_000

_ALLOWED_FILTERS: Final = frozenset(
    {
        "abs", "capitalize", "count", "d", "default", "e", "escape", "first", "float", "int", "join",
        "last", "length", "list", "lower", "max", "min", "replace", "round", "sort", "string",
        "striptags", "sum", "title", "trim", "truncate", "unique", "upper",
    }
)  # fmt: skip
#: Parole's own filters: French prepositions before a name ("du Petit Zinc", "d'Ibis"), see `dialogs.french`.
_PAROLE_FILTERS: Final = french.FILTERS
_FORBIDDEN_NODES: Final[tuple[tuple[type[nodes.Node], Problem], ...]] = (
    (nodes.Macro, problem("construct_macros", "macros")),
    (nodes.CallBlock, problem("construct_call_blocks", "call blocks")),
    (nodes.Include, problem("construct_includes", "includes")),
    (nodes.Extends, problem("construct_template_inheritance", "template inheritance")),
    (nodes.Import, problem("construct_imports", "imports")),
    (nodes.FromImport, problem("construct_imports", "imports")),
    (nodes.EvalContextModifier, problem("construct_autoescape_blocks", "autoescape blocks")),
    (nodes.Block, problem("construct_blocks", "blocks")),
    (nodes.AssignBlock, problem("construct_set_endset_blocks", "{{% set %}}…{{% endset %}} blocks")),
    (nodes.FilterBlock, problem("construct_filter_blocks", "filter blocks")),
    (nodes.With, problem("construct_with_blocks", "with blocks")),
)
_TEMPLATE_FRAME: Final = "<template>"


def _short_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise SecurityError(f"range() is limited to {MAX_RANGE} numbers in message templates")
    return numbers


class _MessageSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with `*` and `**` checked so they cannot exhaust memory or time."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Context, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "%":
            if isinstance(left, str):
                raise SecurityError("'%' formatting is not allowed in message templates")
            return operator.mod(left, right)
        if operator_ == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"exponents are limited to {MAX_EXPONENT} in message templates")
            return operator.pow(left, right)
        for sized, times in ((left, right), (right, left)):
            sequence = isinstance(sized, str | list | tuple) and isinstance(times, int)
            if sequence and len(sized) * times > MAX_PRODUCT_LENGTH:
                raise SecurityError(f"'*' may not build more than {MAX_PRODUCT_LENGTH} items")
        return operator.mul(left, right)


def make_environment(*, html: bool) -> jinja2.Environment:
    """A fresh sandbox: `html=True` escapes variables for Telegram's HTML mode, False renders plain text."""
    env = _MessageSandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    env.filters = {name: env.filters[name] for name in _ALLOWED_FILTERS} | dict(_PAROLE_FILTERS)
    env.tests = dict(env.tests)
    env.globals = {"range": _short_range}
    return env


def compile_template(env: jinja2.Environment, source: str, *, name: str, language: str) -> jinja2.Template:
    """Compile a template's source, refusing syntax errors and the constructs the sandbox forbids."""
    tree = parse_template(env, source, name=name, language=language)
    try:
        return env.from_string(tree)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            name, language, exc.lineno, problem("syntax_error", "syntax error: {error}", error=exc.message or "")
        ) from exc
    except (RecursionError, MemoryError, SyntaxError) as exc:
        raise TemplateError(
            name, language, None, problem("too_deep_compile", "is nested too deeply to compile")
        ) from exc


def parse_template(env: jinja2.Environment, source: str, *, name: str, language: str) -> nodes.Template:
    """Parse a template's source, refusing syntax errors, a huge source and the forbidden constructs."""
    if len(source) > MAX_SOURCE_LENGTH:
        text = "the source is {length} characters long: at most {most}"
        raise TemplateError(
            name, language, None, problem("source_too_long", text, length=len(source), most=MAX_SOURCE_LENGTH)
        )
    tree = _parse(env, source, name=name, language=language)
    _check_constructs(tree, name=name, language=language)
    return tree


def template_variables(env: jinja2.Environment, source: str, *, name: str, language: str) -> dict[str, int]:
    """The variables a template reads from its context, each with the first line that reads it."""
    tree = _parse(env, source, name=name, language=language)
    undeclared = meta.find_undeclared_variables(tree) - set(env.globals)
    lines: dict[str, int] = {}
    for node in tree.find_all(nodes.Name):
        if node.name in undeclared and node.ctx == "load":
            lines[node.name] = min(lines.get(node.name, node.lineno), node.lineno)
    return {variable: lines.get(variable, 1) for variable in sorted(undeclared)}


def render_template(template: jinja2.Template, variables: Mapping[str, Any], *, name: str, language: str) -> str:
    """Render a compiled template; any failure (missing variable, sandbox refusal…) is a `TemplateError`."""
    try:
        chunks: list[str] = []
        size = 0
        for chunk in template.generate(dict(variables)):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateError(
                    name,
                    language,
                    None,
                    problem("output_too_long", "produces more than {most} characters", most=MAX_OUTPUT),
                )
        return "".join(chunks).strip()
    except TemplateError:
        raise
    except jinja2.UndefinedError as exc:
        raise TemplateError(
            name,
            language,
            _failing_line(exc),
            problem("undefined_variable", "undefined variable: {error}", error=exc.message or ""),
        ) from exc
    except SecurityError as exc:
        raise TemplateError(
            name,
            language,
            _failing_line(exc),
            problem("sandbox_refused", "refused by the sandbox: {error}", error=str(exc)),
        ) from exc
    except Exception as exc:  # a template is data: whatever it does wrong is the template's error
        text = "cannot be rendered: {error}"
        raise TemplateError(
            name, language, _failing_line(exc), problem("render_failed", text, error=f"{type(exc).__name__}: {exc}")
        ) from exc


def _parse(env: jinja2.Environment, source: str, *, name: str, language: str) -> nodes.Template:
    try:
        return env.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            name, language, exc.lineno, problem("syntax_error", "syntax error: {error}", error=exc.message or "")
        ) from exc
    except RecursionError as exc:
        raise TemplateError(
            name, language, None, problem("too_deep", "is nested more than {most} deep", most=MAX_TREE_DEPTH)
        ) from exc


def _check_constructs(tree: nodes.Template, *, name: str, language: str) -> None:
    deepest = _deepest(tree)
    if deepest is not None:
        text = "is nested more than {most} deep (expressions in expressions, blocks in blocks)"
        raise TemplateError(name, language, deepest.lineno, problem("too_deep", text, most=MAX_TREE_DEPTH))
    for node_type, what in _FORBIDDEN_NODES:
        found = tree.find(node_type)
        if found is not None:
            raise TemplateError(
                name,
                language,
                found.lineno,
                problem("construct_forbidden", "{what} are not allowed in message templates", what=what),
            )
    for loop, depth in _loops(tree, 0):
        if depth > MAX_LOOP_DEPTH:
            text = "loops may not nest more than {most} deep in message templates"
            raise TemplateError(name, language, loop.lineno, problem("loops_too_deep", text, most=MAX_LOOP_DEPTH))
    for variable in tree.find_all(nodes.Name):
        if variable.name == "self":
            text = "'self' (the template's own internals) is not available in message templates"
            raise TemplateError(name, language, variable.lineno, problem("no_self", text))
    for call in tree.find_all(nodes.Filter):
        if call.name not in _ALLOWED_FILTERS and call.name not in _PAROLE_FILTERS:
            raise TemplateError(
                name,
                language,
                call.lineno,
                problem("filter_forbidden", "the filter '{filter}' is not allowed", filter=call.name),
            )


def _deepest(tree: nodes.Node) -> nodes.Node | None:
    """A node deeper than `MAX_TREE_DEPTH`, found without recursion (the tree may be very deep)."""
    pending: list[tuple[nodes.Node, int]] = [(tree, 0)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_TREE_DEPTH:
            return node
        pending.extend((child, depth + 1) for child in node.iter_child_nodes())
    return None


def _loops(node: nodes.Node, depth: int) -> Iterator[tuple[nodes.For, int]]:
    for child in node.iter_child_nodes():
        if isinstance(child, nodes.For):
            yield child, depth + 1
            yield from _loops(child, depth + 1)
        else:
            yield from _loops(child, depth)


def _failing_line(exc: BaseException) -> int | None:
    """The template line Jinja2 put in the traceback (it rewrites frames to point at the template)."""
    lines = [frame.lineno for frame in traceback.extract_tb(exc.__traceback__) if frame.filename == _TEMPLATE_FRAME]
    return lines[-1] if lines else None
