"""Validation on save: syntax, unknown names and fields, sandbox escapes, layouts, legal content."""

from __future__ import annotations

import pytest

from templates import MessageSource, Problem, validate
from templates.source import Channel, Purpose

FOOTER = "<p><a href='{{ unsubscribe_url }}'>Unsubscribe</a> {{ sender.postal_address }}</p>"


def email(html: str, *, subject: str = "Hello", text: str | None = None) -> MessageSource:
    """Return a marketing email whose HTML part is `html` plus a compliant footer."""
    return MessageSource("email", "marketing", subject, html + FOOTER, text)


def messages(problems: list[Problem]) -> list[str]:
    return [problem.message for problem in problems]


def test_a_compliant_marketing_email_has_no_problems() -> None:
    assert validate(email("<p>Hi {{ contact.first_name | fallback('there') }}</p>")) == []


def test_syntax_error_reports_the_right_line() -> None:
    source = email("<p>line 1</p>\n<p>line 2</p>\n{% if contact.first_name %}\n<p>open</p>\n")
    [problem] = validate(source)
    assert (problem.part, problem.kind) == ("html", "syntax")
    assert problem.line == 5
    assert "endif" in problem.message


def test_syntax_error_in_the_subject_names_the_subject() -> None:
    [problem] = validate(email("<p>Hi</p>", subject="Hi {{ contact.first_name"))
    assert (problem.part, problem.line, problem.kind) == ("subject", 1, "syntax")


def test_unknown_filter_suggests_the_right_one() -> None:
    [problem] = validate(email("<p>{{ 5 | mony }}</p>"))
    assert "unknown filter 'mony'; did you mean money?" in problem.message


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (
            "contact.frist_name",
            "unknown field contact.frist_name; did you mean contact.first_name?",
        ),
        ("traits.rfm", "unknown field traits.rfm; did you mean traits.rfm_cell?"),
        ("sender['postal']", "unknown field sender.postal"),
        ("contcat.first_name", "unknown variable contcat; did you mean contact?"),
        ("first_name", "unknown variable first_name; did you mean contact.first_name?"),
        ("loyalty_points", "unknown variable loyalty_points."),
    ],
)
def test_unknown_variable_is_reported_with_a_suggestion(expression: str, expected: str) -> None:
    problems = validate(email("<p>line 1</p>\n<p>{{ " + expression + " }}</p>"))
    assert problems, expression
    assert problems[0].kind == "unknown_variable"
    assert problems[0].line == 2
    assert problems[0].message.startswith(expected)


@pytest.mark.parametrize(
    "html",
    [
        "{{ contact.attributes.favourite_colour | fallback('green') }}",
        "{% for product in products %}{{ loop.index }}. {{ product.name }}{% endfor %}",
        "{% set greeting = 'Hi' %}{{ greeting }}",
        "{% if offer %}{% set code = offer.code %}{{ code }}{% endif %}",
        "{{ contact.first_name.upper() if contact.first_name }}",
        "{% for i in range(3) %}{{ i }}{% endfor %}",
        "{{ products[0].name if products }}",
    ],
)
def test_documented_names_loop_and_set_variables_are_allowed(html: str) -> None:
    assert validate(email(html)) == []


def test_loop_variable_over_products_is_checked_against_product_fields() -> None:
    source = email("{% for product in products %}{{ product.nmae }}{% endfor %}")
    assert messages(validate(source)) == ["unknown field product.nmae; did you mean product.name?"]


@pytest.mark.parametrize(
    "expression",
    [
        "''.__class__",
        "contact.__globals__",
        "().__class__.__bases__",
        "cycler.__init__.__globals__",
        "contact['__class__']",
        "'' | attr('__class__')",
        "''.__class__.__mro__[1].__subclasses__()",
    ],
)
def test_sandbox_escape_is_rejected_at_save(expression: str) -> None:
    problems = validate(email("<p>{{ " + expression + " }}</p>"))
    assert any(problem.kind == "unsafe" for problem in problems), problems
    assert all(problem.line == 1 for problem in problems if problem.kind == "unsafe")


def test_sandbox_escape_built_at_runtime_is_caught_by_the_sample_render() -> None:
    source = email("{% set name = '__cla' ~ 'ss__' %}<p>{{ '' | attr(name) }}</p>")
    [problem] = validate(source)
    assert problem.kind == "unsafe"
    assert "unsafe" in problem.message


def test_huge_repetition_is_refused() -> None:
    [problem] = validate(email("<p>{{ 'x' * 100000000 }}</p>"))
    assert problem.kind == "unsafe"


LIBRARY = {
    "layout": "<html><body>{% block content %}{% endblock %}" + FOOTER + "</body></html>",
    "footer": FOOTER,
    "broken": "{{ contact.frist_name }}",
}


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("{% extends 'layout' %}{% block content %}Hi{% endblock %}", []),
        ("<p>Hi</p>{% include 'footer' %}", []),
        ("{% extends 'layuot' %}", ["unknown layout or partial 'layuot'; did you mean layout?"]),
        ("<p>Hi</p>{% include 'header' %}" + FOOTER, ["unknown layout or partial 'header'."]),
        ("{% include contact.city %}" + FOOTER, ["name the layout or partial in quotes"]),
        (
            "{% include 'broken' %}" + FOOTER,
            [
                "in 'broken' line 1: unknown field contact.frist_name; "
                "did you mean contact.first_name?"
            ],
        ),
    ],
)
def test_layouts_and_partials_come_from_the_library(html: str, expected: list[str]) -> None:
    source = MessageSource("email", "marketing", "Hi", html)
    found = messages(validate(source, LIBRARY))
    assert len(found) == len(expected), found
    for message, start in zip(found, expected, strict=True):
        assert message.startswith(start)


@pytest.mark.parametrize(
    ("html", "text", "missing"),
    [
        ("<p>Hi</p>", None, {("html", "unsubscribe"), ("html", "postal address")}),
        ("<p>Hi <a href='{{ unsubscribe_url }}'>stop</a></p>", None, {("html", "postal address")}),
        ("<p>{{ sender.postal_address }}</p>", None, {("html", "unsubscribe")}),
        (FOOTER, "Hi", {("text", "unsubscribe"), ("text", "postal address")}),
        (FOOTER, "Stop: {{ unsubscribe_url }} {{ sender.postal_address }}", set()),
        (FOOTER, None, set()),  # the derived text part carries the footer
    ],
)
def test_marketing_email_needs_unsubscribe_link_and_postal_address(
    html: str, text: str | None, missing: set[tuple[str, str]]
) -> None:
    problems = validate(MessageSource("email", "marketing", "Hi", html, text))
    assert all(problem.kind == "compliance" for problem in problems)
    found = {
        (problem.part, "unsubscribe" if "unsubscribe" in problem.message else "postal address")
        for problem in problems
    }
    assert found == missing


def test_transactional_email_needs_neither_unsubscribe_link_nor_address() -> None:
    source = MessageSource("email", "transactional", "Your receipt", "<p>Thanks!</p>")
    assert validate(source) == []


def test_unsubscribe_link_hidden_behind_an_unknown_variable_still_counts_in_the_source() -> None:
    html = "<p>{{ contact.nope }}</p>" + FOOTER
    problems = validate(MessageSource("email", "marketing", "Hi", html))
    assert [problem.kind for problem in problems] == ["unknown_variable"]


@pytest.mark.parametrize(
    ("channel", "purpose", "subject", "html", "text", "expected"),
    [
        ("sms", "marketing", None, None, "Sale on! Reply STOP to opt out", []),
        ("sms", "marketing", None, None, "Sale on!", ["A marketing SMS must say how to opt out"]),
        ("sms", "transactional", None, None, "Your code is 1234", []),
        (
            "sms",
            "transactional",
            "Hi",
            "<p>x</p>",
            "code",
            ["An SMS has no subject", "An SMS has no HTML"],
        ),
        ("sms", "transactional", None, None, "", ["An SMS needs a text"]),
        ("social", "marketing", None, None, "New in!", []),
        ("social", "marketing", "Hi", None, "New in!", ["A social post has no subject"]),
        ("email", "transactional", "", "<p>x</p>", None, ["An email needs a subject"]),
        ("email", "transactional", "Hi", "", "", ["An email needs an HTML or a text part"]),
        ("email", "transactional", "Hi", None, "Plain only", []),
    ],
)
def test_channel_rules_decide_which_parts_exist(
    channel: Channel,
    purpose: Purpose,
    subject: str | None,
    html: str | None,
    text: str | None,
    expected: list[str],
) -> None:
    found = messages(validate(MessageSource(channel, purpose, subject, html, text)))
    assert len(found) == len(expected), found
    for message, start in zip(found, expected, strict=True):
        assert message.startswith(start)


def test_every_problem_is_reported_at_once() -> None:
    source = MessageSource(
        "email",
        "marketing",
        "Hi {{ contact.frist_name }}",
        "<p>{{ ''.__class__ }}</p>\n{% include 'nowhere' %}",
        "{% for %}",
    )
    kinds = {(problem.part, problem.kind) for problem in validate(source)}
    assert kinds >= {
        ("subject", "unknown_variable"),
        ("html", "unsafe"),
        ("html", "missing_template"),
        ("text", "syntax"),
    }


def test_missing_optional_data_must_be_guarded() -> None:
    [problem] = validate(email("<p>Code: {{ offer.code }}</p>"))
    assert problem.kind == "render"
    assert "{% if" in problem.message
    assert validate(email("{% if offer %}<p>Code: {{ offer.code }}</p>{% endif %}")) == []


def test_runtime_failure_on_the_sample_is_a_problem() -> None:
    [problem] = validate(email("<p>\n{{ contact.first_name | money }}</p>"))
    assert (problem.kind, problem.line) == ("render", 2)
    assert "not an amount" in problem.message
