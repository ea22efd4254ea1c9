"""The sandboxed Jinja2 environments messages compile in, and where a template error happened.

Marketers' templates are untrusted: they run in an immutable sandbox with StrictUndefined, and
repetition operators are capped so a template cannot build a gigabyte string. The HTML part
and its layouts and partials compile with autoescape; the subject and text parts without.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import BaseLoader, Environment, StrictUndefined, Template, TemplateNotFound
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from templates.filters import FILTERS
from templates.problems import Part

MAX_REPEAT = 10_000
MAX_POWER = 100


def _blank_none(value: object) -> object:
    """Print None as nothing: optional context values are None, not missing."""
    return "" if value is None else value


class LibraryLoader(BaseLoader):
    """Load layouts and partials by name from the mapping of sources passed in."""

    def __init__(self, library: Mapping[str, str]) -> None:
        self.library = dict(library)

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source = self.library.get(template)
        if source is None:
            raise TemplateNotFound(template)
        return source, f"<{template}>", lambda: True

    def list_templates(self) -> list[str]:
        return sorted(self.library)


class MessageEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with `*` and `**` capped."""

    intercepted_binops = frozenset({"*", "**"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        # The context is plain dicts: read their keys first, which skips the AttributeError
        # the sandbox would raise and catch on every `contact.first_name`. Keys only, never
        # attributes, so this grants nothing the sandbox's own item fallback does not.
        if isinstance(obj, dict) and attribute[:1] != "_":
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_POWER:
            raise SecurityError(f"the power {right} is too large")
        if operator == "*":
            for value, count in ((left, right), (right, left)):
                too_long = isinstance(value, str | list | tuple) and isinstance(count, int)
                if too_long and len(value) * count > MAX_REPEAT:
                    raise SecurityError(f"repeating a value {count} times is too much")
        return super().call_binop(context, operator, left, right)


@dataclass(frozen=True, slots=True)
class Environments:
    """One environment for HTML (autoescaped) and one for subject and text, sharing a library."""

    html: MessageEnvironment
    plain: MessageEnvironment

    def for_part(self, part: Part) -> MessageEnvironment:
        """Return the environment the `part` compiles in."""
        return self.html if part == "html" else self.plain


def make_environments(library: Mapping[str, str] | None = None) -> Environments:
    """Return the HTML and plain environments over the layouts and partials in `library`."""
    loader = LibraryLoader(library or {})
    return Environments(_environment(loader, autoescape=True), _environment(loader, False))


def _environment(loader: LibraryLoader, autoescape: bool) -> MessageEnvironment:
    env = MessageEnvironment(
        loader=loader,
        undefined=StrictUndefined,
        autoescape=autoescape,
        finalize=_blank_none,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(FILTERS)
    return env


def part_filename(part: Part) -> str:
    """Return the file name a part compiles under, as tracebacks show it."""
    return f"<{part}>"


def compile_part(env: MessageEnvironment, source: str, part: Part) -> Template:
    """Compile one part; raise jinja2's TemplateSyntaxError on bad syntax or unknown filters."""
    code = env.compile(source, name=part, filename=part_filename(part))
    return env.template_class.from_code(env, code, env.make_globals(None), None)


def error_location(error: BaseException, part: Part) -> tuple[int | None, str | None]:
    """Return the part's line an error happened on, and the layout or partial it was in.

    Jinja rewrites tracebacks so template frames carry template file names and lines.
    """
    line: int | None = None
    inner: tuple[str, int] | None = None
    own = part_filename(part)
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == own:
            line, inner = frame.lineno, None
        elif frame.filename.startswith("<") and frame.filename.endswith(">") and frame.lineno:
            inner = (frame.filename[1:-1], frame.lineno)
    if inner is None or inner[0] in ("template", "string"):
        return line, None
    return line, f"in '{inner[0]}' line {inner[1]}"
