"""Compile and render: escaping, StrictUndefined, derived text, layouts, headers and hooks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from templates import (
    MessageSource,
    RenderHooks,
    TemplateError,
    build_context,
    compile_message,
    render,
    sample_context,
)

FOOTER = (
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a> '
    '<a href="{{ preferences_url }}">Preferences</a> {{ sender.postal_address }}</p>'
)
SENDER = {"name": "Shop", "email": "hi@shop.example", "postal_address": "1 Main St, Springfield"}
LINKS = {
    "unsubscribe_url": "https://t.example/u/tok",
    "preferences_url": "https://t.example/p/tok",
}


def context(**contact: object) -> dict[str, object]:
    return build_context(contact, sender=SENDER, links=LINKS)


def marketing(html: str, subject: str = "Hi {{ contact.first_name }}", text: str | None = None):
    return MessageSource("email", "marketing", subject, html + FOOTER, text)


def test_html_part_is_escaped_but_subject_and_text_are_not() -> None:
    name = "<script>alert('x')</script>"
    source = marketing(
        "<p>Hi {{ contact.first_name }}</p>",
        text="Hi {{ contact.first_name }} {{ unsubscribe_url }} {{ sender.postal_address }}",
    )
    message = render(source, context(first_name=name))
    assert "&lt;script&gt;" in message.html
    assert "<script>" not in message.html
    assert message.subject == f"Hi {name}"
    assert message.text.startswith(f"Hi {name} ")


def test_derived_text_unescapes_what_the_html_escaped() -> None:
    message = render(marketing("<p>Hi {{ contact.first_name }}</p>"), context(first_name="A&B <C>"))
    assert message.text.startswith("Hi A&B <C>\n")


def test_undocumented_name_fails_at_render_under_strict_undefined() -> None:
    source = MessageSource("sms", "transactional", text="{{ contact.nickname }}")
    compiled = compile_message(source, check=False)
    with pytest.raises(TemplateError, match="nickname"):
        compiled.render(context())


def test_missing_optional_values_print_as_nothing() -> None:
    source = MessageSource("sms", "transactional", text="[{{ contact.first_name }}]")
    assert render(source, context()).text == "[]"


def test_subject_is_one_line_whatever_the_template_does() -> None:
    source = marketing("<p>x</p>", subject="Hi\n{{ contact.first_name }}\r\nBcc: x@evil.example")
    assert render(source, context(first_name="Ada")).subject == "Hi Ada Bcc: x@evil.example"


@pytest.mark.parametrize(
    "expression", ["''.__class__", "contact.__class__.__mro__", "cycler.__init__.__globals__"]
)
def test_sandbox_escape_is_rejected_at_save_and_at_render(expression: str) -> None:
    source = marketing("<p>\n{{ " + expression + " }}</p>")
    with pytest.raises(TemplateError) as at_save:
        compile_message(source)
    assert any(problem.kind == "unsafe" for problem in at_save.value.problems)
    compiled = compile_message(source, check=False)
    with pytest.raises(TemplateError) as at_render:
        compiled.render(context())
    [problem] = at_render.value.problems
    assert (problem.part, problem.kind, problem.line) == ("html", "unsafe", 2)
    assert "unsafe" in str(at_render.value)


def test_template_error_lists_every_problem_readably() -> None:
    source = MessageSource("email", "marketing", "", "<p>{{ contact.frist_name }}</p>")
    with pytest.raises(TemplateError) as error:
        compile_message(source)
    text = str(error.value)
    assert text.startswith(f"{len(error.value.problems)} template problems:")
    assert "subject: An email needs a subject." in text
    assert "html, line 1: unknown field contact.frist_name" in text


def test_layouts_and_partials_render_with_blocks_and_includes() -> None:
    library = {
        "layout": "<html><body><h1>{% block title %}{% endblock %}</h1>"
        "{% block content %}{% endblock %}{% include 'footer' %}</body></html>",
        "footer": FOOTER,
    }
    source = MessageSource(
        "email",
        "marketing",
        "Hi",
        "{% extends 'layout' %}{% block title %}Hello {{ contact.first_name }}{% endblock %}"
        "{% block content %}<p>News</p>{% endblock %}",
    )
    message = render(source, context(first_name="<Ada>"), library)
    assert message.html.startswith("<html><body><h1>Hello &lt;Ada&gt;</h1><p>News</p>")
    assert "1 Main St, Springfield" in message.html
    assert message.text == (
        "Hello <Ada>\n\nNews\n\nUnsubscribe (https://t.example/u/tok) "
        "Preferences (https://t.example/p/tok) 1 Main St, Springfield\n"
    )


def test_explicit_text_part_is_used_as_written() -> None:
    text = "Plain {{ contact.first_name }}\n{{ unsubscribe_url }}\n{{ sender.postal_address }}"
    message = render(marketing("<p>Rich</p>", text=text), context(first_name="Ada"))
    assert message.text == "Plain Ada\nhttps://t.example/u/tok\n1 Main St, Springfield"


@pytest.mark.parametrize(
    ("mailbox", "expected"),
    [
        (None, "<https://t.example/u/tok>"),
        ("unsub@shop.example", "<mailto:unsub@shop.example>, <https://t.example/u/tok>"),
    ],
)
def test_marketing_email_carries_one_click_unsubscribe_headers(
    mailbox: str | None, expected: str
) -> None:
    message = render(
        marketing("<p>x</p>"), context(), hooks=RenderHooks(unsubscribe_mailto=mailbox)
    )
    assert message.headers == {
        "List-Unsubscribe": expected,
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_unsubscribe_mailbox_can_come_from_the_context() -> None:
    links = {**LINKS, "unsubscribe_mailto": "mailto:u@shop.example"}
    message = render(marketing("<p>x</p>"), build_context({}, sender=SENDER, links=links))
    assert message.headers["List-Unsubscribe"].startswith("<mailto:u@shop.example>, ")


def test_transactional_email_has_no_unsubscribe_headers() -> None:
    source = MessageSource("email", "transactional", "Receipt", "<p>Thanks</p>")
    assert render(source, context()).headers == {}


def test_marketing_email_without_an_unsubscribe_link_in_context_is_refused() -> None:
    compiled = compile_message(marketing("<p>x</p>"))
    with pytest.raises(TemplateError, match="unsubscribe_url"):
        compiled.render(build_context({}, sender=SENDER))


HTML_LINKS = (
    '<p><a href="https://shop.example/a?x=1&amp;y=2">A</a> '
    "<a class='b' href='http://shop.example/b'>B</a> "
    '<a href="mailto:help@shop.example">Mail</a> <a href="tel:+1555">Call</a> '
    '<a href="#top">Top</a> <a href="https://shop.example/a?x=1&amp;y=2">A again</a></p>'
)


def tracked(url: str) -> str:
    return f"https://t.example/c?u={url}"


def test_link_rewriting_tracks_web_links_but_not_unsubscribe_mailto_or_anchors() -> None:
    hooks = RenderHooks(rewrite_link=tracked)
    message = render(marketing(HTML_LINKS), context(), hooks=hooks)
    html = message.html
    assert html.count('href="https://t.example/c?u=https://shop.example/a?x=1&amp;y=2"') == 2
    assert 'href="https://t.example/c?u=http://shop.example/b"' in html
    assert 'href="mailto:help@shop.example"' in html
    assert 'href="tel:+1555"' in html
    assert 'href="#top"' in html
    assert 'href="https://t.example/u/tok"' in html
    assert 'href="https://t.example/c?u=https://t.example/p/tok"' in html
    assert "A (https://t.example/c?u=https://shop.example/a?x=1&y=2)" in message.text
    assert "Unsubscribe (https://t.example/u/tok)" in message.text


def test_link_rewriting_covers_an_explicit_text_part_consistently() -> None:
    calls: list[str] = []

    def rewrite(url: str) -> str:
        calls.append(url)
        return f"https://t.example/c/{len(calls)}"

    text = (
        "Shop: https://shop.example/a. Again (https://shop.example/a)\n"
        "Stop: {{ unsubscribe_url }} {{ sender.postal_address }}"
    )
    source = marketing('<a href="https://shop.example/a">A</a>', text=text)
    message = render(source, context(), hooks=RenderHooks(rewrite_link=rewrite))
    assert message.text.startswith("Shop: https://t.example/c/1. Again (https://t.example/c/1)\n")
    assert "Stop: https://t.example/u/tok " in message.text
    assert 'href="https://t.example/c/1"' in message.html
    assert calls == ["https://shop.example/a", "https://t.example/p/tok"]


@pytest.mark.parametrize(
    ("html", "expected_end"),
    [
        ("<html><body><p>x</p>" + FOOTER + "</body></html>", "</p>{pixel}</body></html>"),
        ("<p>x</p>" + FOOTER, "</p>{pixel}"),
    ],
)
def test_open_pixel_goes_just_before_the_body_ends(html: str, expected_end: str) -> None:
    source = MessageSource("email", "marketing", "Hi", html)
    message = render(
        source, context(), hooks=RenderHooks(open_pixel_url="https://t.example/o/1?a=1&b=2")
    )
    pixel = (
        '<img src="https://t.example/o/1?a=1&amp;b=2" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0" />'
    )
    assert message.html.endswith(expected_end.format(pixel=pixel))
    assert "t.example/o/1" not in message.text


def test_sms_renders_text_only_and_rewrites_its_links() -> None:
    source = MessageSource(
        "sms", "marketing", text="Sale: https://shop.example/s Reply STOP to opt out"
    )
    message = render(source, context(), hooks=RenderHooks(tracked, "https://t.example/o/1"))
    assert message == type(message)(
        "", "", f"Sale: {tracked('https://shop.example/s')} Reply STOP to opt out", {}
    )


COMPILED = compile_message(marketing("<p>Dear {{ contact.first_name | fallback('friend') }},</p>"))


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40))
def test_any_printable_first_name_renders_and_is_escaped_in_html(first_name: str) -> None:
    message = COMPILED.render(context(first_name=first_name))
    assert "<" not in message.html.split("Dear ", 1)[1].split(",</p>", 1)[0]
    assert message.subject == " ".join(f"Hi {first_name}".split())


def test_a_compiled_message_renders_each_contact_independently() -> None:
    first = COMPILED.render(context(first_name="Ada"))
    second = COMPILED.render(context(first_name=""))
    assert "Dear Ada," in first.html
    assert "Dear friend," in second.html


def test_sample_context_renders_every_documented_variable() -> None:
    source = MessageSource(
        "sms", "transactional", text="{{ contact.first_name }} {{ products | length }}"
    )
    assert render(source, sample_context()).text == "Ada 2"
