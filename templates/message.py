"""Compile a message once and render it per recipient: parts, derived text, tracking, headers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from jinja2 import Template, TemplateSyntaxError

from templates.environment import Environments, compile_part, make_environments
from templates.headers import list_unsubscribe_headers
from templates.links import LinkRewriter, RenderHooks, insert_open_pixel
from templates.problems import Part, Problem, TemplateError
from templates.source import MessageSource
from templates.text import html_to_text
from templates.validation import render_problem, validate


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """One recipient's message, ready for a channel; `html` is empty outside email."""

    subject: str
    html: str
    text: str
    headers: dict[str, str] = field(default_factory=dict)


class CompiledMessage:
    """A validated, compiled message: render it once per recipient, from any thread."""

    def __init__(self, source: MessageSource, environments: Environments) -> None:
        self.source = source
        self._subject = self._compile(environments, "subject")
        self._html = self._compile(environments, "html")
        self._text = self._compile(environments, "text")

    def _compile(self, environments: Environments, part: Part) -> Template | None:
        text = self.source.part(part)
        if not text.strip():
            return None
        try:
            return compile_part(environments.for_part(part), text, part)
        except TemplateSyntaxError as error:
            message = f"Template syntax error: {error.message}"
            raise TemplateError([Problem(part, message, error.lineno, "syntax")]) from error

    def render(
        self, context: Mapping[str, object], hooks: RenderHooks | None = None
    ) -> RenderedMessage:
        """Render for one recipient; raise TemplateError when the template fails on `context`.

        The HTML's links go through `hooks.rewrite_link` (never the unsubscribe link) before
        the text part is derived from it, so both parts carry the same tracked links.
        """
        hooks = hooks or RenderHooks()
        subject = " ".join(_render(self._subject, "subject", context).split())
        html = _render(self._html, "html", context)
        text = _render(self._text, "text", context) if self._text is not None else None
        rewriter = None
        if hooks.rewrite_link is not None:
            unsubscribe = context.get("unsubscribe_url")
            keep = (unsubscribe,) if isinstance(unsubscribe, str) else ()
            rewriter = LinkRewriter(hooks.rewrite_link, keep)
            html = rewriter.html(html)
        if text is None:
            text = html_to_text(html) if html else ""
        elif rewriter is not None:
            text = rewriter.text(text)
        if html and hooks.open_pixel_url:
            html = insert_open_pixel(html, hooks.open_pixel_url)
        headers: dict[str, str] = {}
        if self.source.is_marketing_email:
            headers = self._unsubscribe_headers(context, hooks)
        return RenderedMessage(subject, html, text, headers)

    def _unsubscribe_headers(
        self, context: Mapping[str, object], hooks: RenderHooks
    ) -> dict[str, str]:
        url = context.get("unsubscribe_url")
        if not isinstance(url, str) or not url:
            message = "A marketing email needs an unsubscribe_url in its context."
            raise TemplateError([Problem("html", message, None, "compliance")])
        mailbox = hooks.unsubscribe_mailto or context.get("unsubscribe_mailto")
        try:
            return list_unsubscribe_headers(url, mailbox if isinstance(mailbox, str) else None)
        except ValueError as error:
            raise TemplateError([Problem("html", str(error), None, "compliance")]) from error


def _render(template: Template | None, part: Part, context: Mapping[str, object]) -> str:
    if template is None:
        return ""
    try:
        return template.render(context)
    except Exception as error:  # a template failing on one contact is a TemplateError
        raise TemplateError([render_problem(error, part)]) from error


def compile_message(
    source: MessageSource, library: Mapping[str, str] | None = None, *, check: bool = True
) -> CompiledMessage:
    """Validate and compile `source` against the layouts and partials in `library`.

    Raise TemplateError with every problem when it is not valid. `check=False` skips
    validation (the sandbox still applies); it is for previews of work in progress and tests.
    """
    if check:
        problems = validate(source, library)
        if problems:
            raise TemplateError(problems)
    return CompiledMessage(source, make_environments(library))


def render(
    source: MessageSource,
    context: Mapping[str, object],
    library: Mapping[str, str] | None = None,
    hooks: RenderHooks | None = None,
) -> RenderedMessage:
    """Validate, compile and render `source` once; compile_message when rendering many."""
    return compile_message(source, library).render(context, hooks)
