"""The `recommendations(kind, k)` template helper: arguments, validation, rendering, starters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from templates import (
    MessageSource,
    TemplateError,
    build_context,
    compile_message,
    sample_context,
    sparse_context,
    starter_library,
    starter_templates,
    validate,
)
from templates.recommendations import ITEM_FIELDS, KINDS, MAX_K, Recommendations

FOOTER = "<p><a href='{{ unsubscribe_url }}'>Unsubscribe</a> {{ sender.postal_address }}</p>"
SENDER = {"name": "Shop", "postal_address": "1 High St"}
LINKS = {"unsubscribe_url": "https://t.example/u/1"}


def email(html: str) -> MessageSource:
    return MessageSource("email", "marketing", "Hello", html + FOOTER, None)


def sms(text: str) -> MessageSource:
    return MessageSource("sms", "transactional", None, None, text)


class Source:
    """A fake per-recipient source: `n` products of each kind, and what it was asked."""

    def __init__(self, n: int = 5) -> None:
        self.n = n
        self.asked: list[tuple[str, int]] = []

    def __call__(self, kind: str, k: int) -> Sequence[Mapping[str, object]]:
        self.asked.append((kind, k))
        return [
            {"name": f"{kind} {i}", "sku": f"S{i}", "price": 10.0 + i, "kind": kind, "cost": 3}
            for i in range(self.n)
        ]


def test_valid_calls_have_no_problems() -> None:
    for call in (
        "recommendations()",
        'recommendations("up_sell")',
        'recommendations("category_gap", 2)',
        'recommendations(kind="all", k=10)',
        "recommendations(k=1)",
        "recommendations(campaign.type)",  # computed: checked when rendering
    ):
        html = "{% for p in " + call + " %}<p>{{ p.name }} {{ p.price | money }}</p>{% endfor %}"
        assert validate(email(html)) == [], call


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ('recommendations("cross_sel")', "unknown kind 'cross_sel'; use one of cross_sell,"),
        ('recommendations("cross_sel")', "did you mean cross_sell?"),
        ('recommendations(kind="upsell")', "did you mean up_sell?"),
        ("recommendations(k=0)", "k must be a whole number from 1 to 10, not 0."),
        ('recommendations("up_sell", 11)', "k must be a whole number from 1 to 10, not 11."),
        ('recommendations(k="3")', "not '3'"),
        ("recommendations(n=3)", "has no argument 'n'; it takes kind and k"),
        ('recommendations("up_sell", kind="up_sell")', "got kind twice"),
        ('recommendations("up_sell", 2, 3)', "takes at most two arguments"),
    ],
)
def test_bad_constant_arguments_are_one_problem_on_their_line(call: str, message: str) -> None:
    [problem] = validate(email("<p>Hi</p>\n{{ " + call + " }}"))
    assert (problem.part, problem.line, problem.kind) == ("html", 2, "argument")
    assert message in problem.message


def test_item_fields_are_checked_in_loops() -> None:
    html = "{% for p in recommendations('up_sell') %}{{ p.nmae }}{% endfor %}"
    [problem] = validate(email(html))
    assert problem.kind == "unknown_variable"
    assert "unknown field p.nmae; did you mean p.name?" in problem.message


def test_a_computed_bad_kind_fails_when_rendering_with_the_reason() -> None:
    source = sms("{% for p in recommendations(contact.first_name) %}{{ p.name }}{% endfor %}")
    compiled = compile_message(source, check=False)
    with pytest.raises(TemplateError, match="unknown kind 'Ada'"):
        compiled.render(build_context({"first_name": "Ada"}, recommendations=Source()))


def test_the_helper_asks_its_source_and_keeps_k_items_with_the_documented_fields() -> None:
    source = Source(n=5)
    text = "{% for p in recommendations('up_sell', 2) %}{{ p.name }}={{ p.price }};{% endfor %}"
    message = compile_message(sms(text)).render(build_context({}, recommendations=source))
    assert message.text == "up_sell 0=10.0;up_sell 1=11.0;"
    assert source.asked == [("up_sell", 2)]
    items = Recommendations(source)()
    assert [set(item) for item in items] == [set(ITEM_FIELDS)] * 3  # "cost" is dropped
    assert items[0]["url"] is None and items[0]["kind"] == "cross_sell"


@given(kind=st.sampled_from(KINDS), k=st.integers(1, MAX_K), n=st.integers(0, 15))
def test_never_more_than_k_items_whatever_the_source_gives(kind: str, k: int, n: int) -> None:
    assert len(Recommendations(Source(n))(kind, k)) == min(k, n)


def test_without_a_source_the_helper_gives_empty_lists_for_if_and_else() -> None:
    text = "{% if recommendations('cross_sell') %}picks{% else %}bestsellers{% endif %}"
    compiled = compile_message(sms(text))
    assert compiled.render(build_context({})).text == "bestsellers"
    assert compiled.render(sparse_context()).text == "bestsellers"
    assert compiled.render(sample_context()).text == "picks"


@pytest.mark.parametrize("kind", KINDS)
def test_the_sample_contact_has_examples_of_every_kind(kind: str) -> None:
    items = sample_context()["recommendations"](kind, 3)  # type: ignore[operator]
    assert items and all(item["name"] and item["reason"] for item in items)
    assert kind == "all" or {item["kind"] for item in items} == {kind}


@pytest.mark.parametrize(
    ("name", "kind", "first"),
    [("cross_sell", "cross_sell", "Trail Runner 2"), ("up_sell", "up_sell", "Trail Runner 2 Pro")],
)
def test_the_cross_sell_and_up_sell_starters_use_the_helper(
    name: str, kind: str, first: str
) -> None:
    starter = starter_templates()[name]
    assert f'recommendations("{kind}"' in starter.html
    compiled = compile_message(starter.source, starter_library())
    picked = compiled.render(sample_context())
    assert first in picked.html
    assert "the usual rate" not in picked.text  # reasons are for marketers, not customers
    source = Source(n=2)
    context = build_context({}, sender=SENDER, links=LINKS, recommendations=source)
    real = compiled.render(context)
    assert f"{kind} 0" in real.html and f"{kind} 1" in real.html
    assert '<a href="None"' not in real.html and 'href=""' not in real.html  # no page: no link
    empty = compiled.render(build_context({}, sender=SENDER, links=LINKS))
    assert f"{kind} 0" not in empty.html and (
        "bestsellers" in empty.html or "premium" in empty.html
    )
