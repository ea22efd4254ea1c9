"""The `recommendations(kind="cross_sell", k=3)` helper of message templates, and its checks.

The helper is a callable in each recipient's context. What it returns comes from a source the
application supplies at render time (per recipient, from its precomputed rules); this module
only checks the arguments, trims the answer to `k` and keeps the documented item fields. With
no source (a contact nothing is known of), it returns an empty list, so templates can write
`{% if recommendations("up_sell") %}`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from difflib import get_close_matches

from jinja2 import nodes

NAME = "recommendations"
KINDS = ("cross_sell", "up_sell", "category_gap", "all")
DEFAULT_KIND = "cross_sell"
DEFAULT_K = 3
MAX_K = 10
ITEM_FIELDS = ("name", "sku", "category", "price", "url", "image_url", "reason", "kind")
SIGNATURE = 'recommendations(kind="cross_sell", k=3)'

# (kind, k) -> items, each a mapping with (some of) the ITEM_FIELDS.
RecommendationSource = Callable[[str, int], Sequence[Mapping[str, object]]]


def argument_problem(kind: object, k: object) -> str | None:
    """Return a sentence saying what is wrong with `kind` and `k`, or None when both are fine."""
    if not isinstance(kind, str) or kind not in KINDS:
        close = get_close_matches(str(kind), KINDS, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else "."
        return f"{NAME}(): unknown kind {kind!r}; use one of {', '.join(KINDS)}{hint}"
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        return f"{NAME}(): k must be a whole number from 1 to {MAX_K}, not {k!r}."
    return None


class Recommendations:
    """One recipient's `recommendations(kind="cross_sell", k=3)`: a list of product dicts.

    Each item has the `ITEM_FIELDS` (absent ones are None). A bad kind or k raises
    ValueError, which rendering reports as a template problem.
    """

    def __init__(self, source: RecommendationSource | None = None) -> None:
        self._source = source

    def __call__(self, kind: str = DEFAULT_KIND, k: int = DEFAULT_K) -> list[dict[str, object]]:
        problem = argument_problem(kind, k)
        if problem:
            raise ValueError(problem)
        if self._source is None:
            return []
        return [
            {field: item.get(field) for field in ITEM_FIELDS} for item in self._source(kind, k)[:k]
        ]

    def __repr__(self) -> str:
        return SIGNATURE


# What previews and validation show: Trail Runner 2 is the same example as `products`.
SAMPLE: dict[str, tuple[dict[str, object], ...]] = {
    "cross_sell": (
        {
            "name": "Trail Runner 2",
            "sku": "TR2-42",
            "category": "running_shoes",
            "price": 129.0,
            "url": "https://shop.example/p/TR2-42",
            "image_url": "https://shop.example/img/TR2-42.jpg",
            "reason": "bought Hydration Vest; 34% of Hydration Vest buyers also buy Trail Runner"
            " 2, 3.2\u00d7 the usual rate",
            "kind": "cross_sell",
        },
        {
            "name": "Merino Crew Socks",
            "sku": "MCS-3P",
            "category": "socks",
            "price": 24.5,
            "url": "https://shop.example/p/MCS-3P",
            "image_url": "https://shop.example/img/MCS-3P.jpg",
            "reason": "bought Hydration Vest; 21% of Hydration Vest buyers also buy Merino Crew"
            " Socks, 2.4\u00d7 the usual rate",
            "kind": "cross_sell",
        },
    ),
    "up_sell": (
        {
            "name": "Trail Runner 2 Pro",
            "sku": "TR2P-42",
            "category": "running_shoes",
            "price": 179.0,
            "url": "https://shop.example/p/TR2P-42",
            "image_url": "https://shop.example/img/TR2P-42.jpg",
            "reason": "bought Trail Runner 2; Trail Runner 2 Pro is its premium version (+50.00)",
            "kind": "up_sell",
        },
    ),
    "category_gap": (
        {
            "name": "Storm Shell Jacket",
            "sku": "SSJ-M",
            "category": "jackets",
            "price": 219.0,
            "url": "https://shop.example/p/SSJ-M",
            "image_url": "https://shop.example/img/SSJ-M.jpg",
            "reason": "buys running shoes (3 purchases), never jackets; 18% of running shoes"
            " buyers also buy jackets, 2.5\u00d7 the usual rate; its best seller is Storm Shell"
            " Jacket",
            "kind": "category_gap",
        },
    ),
}


def _sample_source(kind: str, k: int) -> list[dict[str, object]]:
    if kind == "all":
        return [item for items in SAMPLE.values() for item in items]
    return list(SAMPLE[kind])


def sample_recommendations() -> Recommendations:
    """Return the helper of the sample contact: a few example products of every kind."""
    return Recommendations(_sample_source)


def call_problems(tree: nodes.Template) -> list[tuple[int, str]]:
    """Return (line, sentence) for each call of the helper whose constant arguments are wrong.

    Arguments computed at render time are checked then; a template that assigns the name
    `recommendations` itself is left alone.
    """
    if any(n.name == NAME and n.ctx in ("store", "param") for n in tree.find_all(nodes.Name)):
        return []
    found: list[tuple[int, str]] = []
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == NAME:
            problem = _call_problem(call)
            if problem:
                found.append((call.lineno, problem))
    return found


def _call_problem(call: nodes.Call) -> str | None:
    if call.dyn_args is not None or call.dyn_kwargs is not None:
        return None
    if len(call.args) > 2:
        return f"{NAME}() takes at most two arguments: {SIGNATURE}."
    given: dict[str, nodes.Expr] = dict(zip(("kind", "k"), call.args, strict=False))
    for keyword in call.kwargs:
        if keyword.key not in ("kind", "k"):
            return f"{NAME}() has no argument {keyword.key!r}; it takes kind and k: {SIGNATURE}."
        if keyword.key in given:
            return f"{NAME}() got {keyword.key} twice."
        given[keyword.key] = keyword.value
    # A computed kind or k is checked when rendering; the constant ones here.
    constants = {key: value.value for key, value in given.items() if isinstance(value, nodes.Const)}
    return argument_problem(constants.get("kind", DEFAULT_KIND), constants.get("k", DEFAULT_K))
