"""Validate a message template on save: every problem at once, each in plain English.

Checks, per part: channel rules (which parts exist), Jinja syntax, unknown variables and fields
against the documented context, reaches into Python internals (names starting with `_`),
unknown layouts and partials, a render against the sample context and against a context with
every optional value missing, and the legal content of marketing messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from difflib import get_close_matches
from html import escape

from jinja2 import Template, TemplateNotFound, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError

from templates.context import CONTEXT, VARIABLES, Variable, sample_context, sparse_context
from templates.environment import (
    Environments,
    MessageEnvironment,
    compile_part,
    error_location,
    make_environments,
)
from templates.problems import Part, Problem, ProblemKind
from templates.recommendations import call_problems
from templates.source import MessageSource

OPT_OUT = re.compile(r"\b(STOP|UNSUBSCRIBE|OPT[ -]?OUT)\b", re.IGNORECASE)
_FILTER_NAME = re.compile(r"No filter named '([^']+)'")
_TEMPLATE_NODES = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)
PARTS: tuple[Part, ...] = ("subject", "html", "text")
PART_NAMES: dict[Part, str] = {"subject": "subject", "html": "HTML part", "text": "text part"}


def validate(source: MessageSource, library: Mapping[str, str] | None = None) -> list[Problem]:
    """Return every problem with `source`; an empty list means it may be saved and sent."""
    library = dict(library or {})
    envs = make_environments(library)
    problems = _channel_problems(source)
    rendered: dict[Part, str | None] = {}
    blocked: set[Part] = set()
    for part in PARTS:
        if not source.part(part).strip():
            continue
        found, rendered[part] = _check_part(envs, library, part, source.part(part))
        problems.extend(found)
        if any(problem.kind in ("syntax", "missing_template") for problem in found):
            blocked.add(part)  # what it contains is unknown until it compiles
    problems.extend(_compliance_problems(source, envs, library, rendered, blocked))
    return problems


def _channel_problems(source: MessageSource) -> list[Problem]:
    subject = (source.subject or "").strip()
    html = (source.html or "").strip()
    text = (source.text or "").strip()
    if source.channel == "email":
        problems = []
        if not subject:
            problems.append(Problem("subject", "An email needs a subject.", kind="channel"))
        if not html and not text:
            problems.append(
                Problem("html", "An email needs an HTML or a text part.", kind="channel")
            )
        return problems
    channel = "An SMS" if source.channel == "sms" else "A social post"
    problems = []
    if subject:
        problems.append(
            Problem("subject", f"{channel} has no subject; leave it empty.", kind="channel")
        )
    if html:
        problems.append(
            Problem("html", f"{channel} has no HTML part; leave it empty.", kind="channel")
        )
    if not text:
        problems.append(Problem("text", f"{channel} needs a text.", kind="channel"))
    return problems


def _check_part(
    envs: Environments, library: dict[str, str], part: Part, text: str
) -> tuple[list[Problem], str | None]:
    """Check one part; return its problems and its render on the sample context, if it rendered."""
    env = envs.for_part(part)
    try:
        tree = env.parse(text)
        template = compile_part(env, text, part)
    except TemplateSyntaxError as error:
        return [_syntax_problem(env, part, error)], None
    problems = _tree_problems(env, library, part, tree, prefix="")
    problems.extend(_library_problems(env, library, part, tree))
    rendered, render_problems = _render_checks(template, part)
    seen = {(problem.line, problem.kind) for problem in problems}
    quiet = {problem.kind for problem in problems} & {
        "unknown_variable",
        "missing_template",
        "argument",
    }
    for problem in render_problems:
        if (problem.line, problem.kind) in seen:
            continue
        if quiet and problem.kind == "render":
            continue  # the cause is reported already, with a better sentence
        problems.append(problem)
    return problems, rendered


def _syntax_problem(env: MessageEnvironment, part: Part, error: TemplateSyntaxError) -> Problem:
    message = error.message or "invalid template"
    unknown_filter = _FILTER_NAME.search(message)
    if unknown_filter:
        name = unknown_filter.group(1)
        message = f"unknown filter '{name}'" + _suggest(name, sorted(env.filters))
    return Problem(part, f"Template syntax error: {message}", error.lineno, "syntax")


def _suggest(name: str, candidates: list[str]) -> str:
    close = get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else "."


class _Findings:
    """Problems of one template, without repeats; a layout's lines go into the sentence."""

    def __init__(self, part: Part, prefix: str) -> None:
        self.part, self.prefix = part, prefix
        self.problems: list[Problem] = []

    def add(self, line: int | None, message: str, kind: ProblemKind) -> None:
        if self.prefix:
            message, line = f"{self.prefix} line {line}: {message}", None
        problem = Problem(self.part, message, line, kind)
        if problem not in self.problems:
            self.problems.append(problem)


def _tree_problems(
    env: MessageEnvironment, library: dict[str, str], part: Part, tree: nodes.Template, prefix: str
) -> list[Problem]:
    """Return the static problems of one parsed template: names, fields, internals, includes."""
    found = _Findings(part, prefix)
    # meta over-reports names set inside an {% if %}; any name the template assigns is its own.
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    allowed = set(VARIABLES) | set(env.globals) | assigned
    for name in sorted(meta.find_undeclared_variables(tree) - allowed):
        message = f"unknown variable {name}{_suggest_path(name)}"
        found.add(_first_use(tree, name), message, "unknown_variable")
    for line, message in call_problems(tree):
        found.add(line, message, "argument")
    loops = _loop_bindings(tree)
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, nodes.Getattr | nodes.Getitem)
        key = _key(node)
        if isinstance(key, str) and key.startswith("_"):
            found.add(node.lineno, _unsafe_message(key), "unsafe")
            continue
        unknown = _unknown_field(node, loops)
        if unknown:
            found.add(node.lineno, unknown, "unknown_variable")
    for call in tree.find_all(nodes.Filter):
        name_arg = call.args[0] if call.name == "attr" and call.args else None
        if isinstance(name_arg, nodes.Const) and str(name_arg.value).startswith("_"):
            found.add(call.lineno, _unsafe_message(str(name_arg.value)), "unsafe")
    for used in tree.find_all(_TEMPLATE_NODES):
        target = getattr(used, "template", None)
        if not isinstance(target, nodes.Const) or not isinstance(target.value, str):
            message = 'name the layout or partial in quotes, e.g. "base_email".'
            found.add(used.lineno, message, "missing_template")
        elif target.value not in library:
            message = f"unknown layout or partial '{target.value}'"
            found.add(
                used.lineno, message + _suggest(target.value, sorted(library)), "missing_template"
            )
    return found.problems


def _library_problems(
    env: MessageEnvironment, library: dict[str, str], part: Part, tree: nodes.Template
) -> list[Problem]:
    """Check the layouts and partials `tree` uses, and theirs, once each."""
    problems: list[Problem] = []
    pending = [name for name in meta.find_referenced_templates(tree) if name in library]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            used = env.parse(library[name])
        except TemplateSyntaxError as error:
            message = f"in '{name}' line {error.lineno}: Template syntax error: {error.message}"
            problems.append(Problem(part, message, None, "syntax"))
            continue
        problems.extend(_tree_problems(env, library, part, used, prefix=f"in '{name}'"))
        pending.extend(n for n in meta.find_referenced_templates(used) if n in library)
    return problems


def _key(node: nodes.Node) -> object:
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return node.arg.value
    return None


def _unsafe_message(name: str) -> str:
    return (
        f"'{name}' reaches into Python internals, which templates may not use "
        "(names starting with an underscore are blocked)."
    )


def _first_use(tree: nodes.Template, name: str) -> int | None:
    for node in tree.find_all(nodes.Name):
        if node.name == name and node.ctx == "load":
            return node.lineno
    return None


def _suggest_path(name: str) -> str:
    """Suggest a documented name or field for an unknown top-level name."""
    close = get_close_matches(name, sorted(VARIABLES), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]}?"
    fields = {f"{v.name}.{f.name}": f.name for v in CONTEXT if v.kind == "object" for f in v.fields}
    for path, field in fields.items():
        if field == name:
            return f"; did you mean {path}?"
    close = get_close_matches(name, list(fields.values()), n=1, cutoff=0.75)
    if close:
        return f"; did you mean {next(p for p, f in fields.items() if f == close[0])}?"
    return "."


def _loop_bindings(tree: nodes.Template) -> dict[str, Variable]:
    """Return loop variables over documented lists, as the documented item they stand for."""
    bound: dict[str, Variable] = {}
    for loop in tree.find_all(nodes.For):
        if not isinstance(loop.target, nodes.Name):
            continue
        iterated = _resolve(loop.iter, bound)
        if iterated is not None and iterated.kind in ("list", "function"):
            bound[loop.target.name] = Variable(
                loop.target.name, "", kind="object", fields=iterated.fields
            )
    return bound


def _resolve(node: nodes.Node, loops: dict[str, Variable]) -> Variable | None:
    """Return the documented variable an expression names, or None when it is not one.

    A call of a documented function (`recommendations(...)`) names the function.
    """
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name):
        called = VARIABLES.get(node.node.name)
        return called if called is not None and called.kind == "function" else None
    chain: list[str] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        key = _key(node)
        if not isinstance(key, str):
            return None
        chain.append(key)
        node = node.node
    if not isinstance(node, nodes.Name):
        return None
    variable = loops.get(node.name) or VARIABLES.get(node.name)
    for key in reversed(chain):
        if variable is None or variable.kind != "object":
            return None
        variable = variable.field(key)
    return variable


def _unknown_field(node: nodes.Getattr | nodes.Getitem, loops: dict[str, Variable]) -> str | None:
    """Return a problem sentence when `node` reads an undocumented field of a documented object."""
    key = _key(node)
    if not isinstance(key, str):
        return None
    parent = _resolve(node.node, loops)
    if parent is None or parent.kind != "object" or parent.field(key) is not None:
        return None
    path = _path(node)
    known = [field.name for field in parent.fields]
    close = get_close_matches(key, known, n=1, cutoff=0.6) or [
        f for f in known if f.startswith(key)
    ]
    hint = f"; did you mean {path.rsplit('.', 1)[0]}.{close[0]}?" if close else ""
    return f"unknown field {path}{hint or '.'}"


def _path(node: nodes.Node) -> str:
    keys: list[str] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        keys.append(str(_key(node)))
        node = node.node
    root = node.name if isinstance(node, nodes.Name) else "…"
    return ".".join([root, *reversed(keys)])


def _render_checks(template: Template, part: Part) -> tuple[str | None, list[Problem]]:
    """Render on the full sample and on an all-optional-missing context; return the problems."""
    problems: list[Problem] = []
    rendered: str | None = None
    for name, context in (("sample", sample_context()), ("sparse", sparse_context())):
        try:
            output = template.render(context)
        except Exception as error:  # anything a template does wrong is the marketer's problem
            problem = render_problem(error, part, sparse=name == "sparse")
            if problem not in problems:
                problems.append(problem)
            if name == "sample":
                break
            continue
        if name == "sample":
            rendered = output
    return rendered, problems


def render_problem(error: BaseException, part: Part, *, sparse: bool = False) -> Problem:
    """Turn an exception raised while rendering `part` into a problem a marketer can act on."""
    line, inner = error_location(error, part)
    lead = f"{inner}: " if inner else ""
    if isinstance(error, SecurityError):
        return Problem(part, f"{lead}blocked unsafe template code: {error}", line, "unsafe")
    if isinstance(error, TemplateNotFound):
        return Problem(
            part, f"{lead}unknown layout or partial '{error.name}'.", line, "missing_template"
        )
    if isinstance(error, UndefinedError) and sparse:
        message = (
            f"{lead}fails for a contact without this data ({error}); "
            "wrap it in {% if ... %} or use the fallback filter."
        )
        return Problem(part, message, line, "render")
    return Problem(part, f"{lead}cannot render: {error}", line, "render")


def _compliance_problems(
    source: MessageSource,
    envs: Environments,
    library: dict[str, str],
    rendered: Mapping[Part, str | None],
    blocked: set[Part],
) -> list[Problem]:
    """Return what a marketing message lacks: unsubscribe link, postal address, opt-out.

    Parts in `blocked` are skipped: until they compile, what they contain is unknown.
    """
    problems: list[Problem] = []
    marketing_sms = source.channel == "sms" and source.purpose == "marketing"
    sms_text = rendered.get("text") or source.part("text")
    if (
        marketing_sms
        and "text" not in blocked
        and sms_text.strip()
        and not OPT_OUT.search(sms_text)
    ):
        message = 'A marketing SMS must say how to opt out, e.g. "Reply STOP to opt out".'
        problems.append(Problem("text", message, None, "compliance"))
    if not source.is_marketing_email:
        return problems
    sample = sample_context()
    sender = sample["sender"]
    assert isinstance(sender, dict)
    required = (
        (
            "unsubscribe_url",
            str(sample["unsubscribe_url"]),
            "the unsubscribe link {{ unsubscribe_url }}",
        ),
        (
            "sender.postal_address",
            str(sender["postal_address"]),
            "the sender's postal address {{ sender.postal_address }}",
        ),
    )
    html_text: tuple[Part, ...] = ("html", "text")
    for part in html_text:
        text = source.part(part)
        if not text.strip() or part in blocked:
            continue
        output = rendered.get(part)
        for path, value, label in required:
            if output is not None:
                present = value in output or escape(value) in output
            else:
                present = _references(envs.for_part(part), library, text, path)
            if not present:
                message = (
                    f"A marketing email must include {label} in its {PART_NAMES[part]}, "
                    "directly or through its layout."
                )
                problems.append(Problem(part, message, None, "compliance"))
    return problems


def _references(env: MessageEnvironment, library: dict[str, str], text: str, path: str) -> bool:
    """Say whether `text` or a layout or partial it uses mentions the dotted `path`."""
    pending, seen = [text], set()
    while pending:
        current = pending.pop()
        try:
            tree = env.parse(current)
        except TemplateSyntaxError:
            continue
        if any(_path(node) == path for node in tree.find_all((nodes.Getattr, nodes.Name))):
            return True
        for name in meta.find_referenced_templates(tree):
            if name in library and name not in seen:
                seen.add(name)
                pending.append(library[name])
    return False
