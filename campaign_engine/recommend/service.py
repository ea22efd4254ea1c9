"""Recommendations from a rule snapshot: cross-sell, up-sell and category gaps, ranked, explained.

Cross-sell: the consequents of rules fired by what the person bought, has in the basket or is
looking at, minus what they already have. Up-sell: the catalogue's premium version of one of
those products, or a pricier product of the same family (or a premium one of the same
category) that the rules say such baskets also hold. Category gap: a category the person
never bought that the category-level rules tie to one they buy ("buys software, never
computers"), offered through its best seller.

Ranking is lift x margin (margin = price - unit cost), or uplift x margin for candidates with
an uplift score, which then come first. Everything here reads the in-memory snapshot only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from campaign_engine.recommend.snapshot import ProductInfo, Rule, RuleSnapshot

KINDS = ("cross_sell", "up_sell", "category_gap")
TIMES = "\u00d7"  # the multiplication sign of "3.2x the usual rate"
MIN_MARGIN = 0.01  # a product sold at cost still ranks (by lift alone), after the profitable


@dataclass(frozen=True)
class Context:
    """What is known of the person: purchases (product id → times), basket, what they view."""

    history: Mapping[int, int] = field(default_factory=dict)
    basket: tuple[int, ...] = ()
    viewing: tuple[int, ...] = ()  # the page's product, or the products a lookup names

    @property
    def present(self) -> set[int]:
        """Return every product the person has, holds or looks at."""
        return set(self.history) | set(self.basket) | set(self.viewing)


@dataclass(frozen=True)
class Recommendation:
    """One product to show, how it ranked, and (worded on demand) why.

    Most candidates are ranked and dropped; only those shown need their sentence, so
    `explain` builds it when `reason` is read.
    """

    product_id: int
    kind: str
    score: float
    explain: Callable[[], str] = field(repr=False, compare=False)
    lift: float | None = None
    confidence: float | None = None
    uplift: float | None = None

    @property
    def reason(self) -> str:
        """Return why this product is recommended, in a sentence."""
        return self.explain()

    def as_dict(self, snapshot: RuleSnapshot) -> dict[str, Any]:
        """Return the JSON shape the API and templates use."""
        p = snapshot.products[self.product_id]
        return {
            "sku": p.sku,
            "name": p.name,
            "category": p.category,
            "price": p.price,
            "kind": self.kind,
            "score": round(self.score, 4),
            "reason": self.reason,
            "lift": None if self.lift is None else round(self.lift, 3),
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "uplift": self.uplift,
        }


def recommend(
    snapshot: RuleSnapshot,
    context: Context,
    kind: str | None,
    k: int,
    uplift: Mapping[str, float] | None = None,
) -> list[Recommendation]:
    """Return the best `k` recommendations of `kind` (None: every kind, each product once)."""
    kinds = KINDS if kind is None else (kind,)
    return rank(snapshot, candidates(snapshot, context, kinds), k, uplift)


def candidates(
    snapshot: RuleSnapshot, context: Context, kinds: Iterable[str] = KINDS
) -> list[Recommendation]:
    """Return every candidate of `kinds`, unranked (a product may come more than once)."""
    kinds = set(kinds)
    found: list[Recommendation] = []
    if "cross_sell" in kinds or "up_sell" in kinds:
        found.extend(r for r in _from_rules(snapshot, context) if r.kind in kinds)
    if "up_sell" in kinds:
        found.extend(_premium(snapshot, context))
    if "category_gap" in kinds:
        found.extend(category_gaps(snapshot, context.history, context.basket))
    return found


def rank(
    snapshot: RuleSnapshot,
    found: Iterable[Recommendation],
    k: int,
    uplift: Mapping[str, float] | None = None,
) -> list[Recommendation]:
    """Keep each product's best candidate; order by uplift x margin, then lift x margin."""
    best: dict[int, Recommendation] = {}
    for rec in found:
        if uplift:
            rec = _with_uplift(snapshot, rec, uplift)
        held = best.get(rec.product_id)
        if held is None or _key(rec) < _key(held):
            best[rec.product_id] = rec
    return sorted(best.values(), key=_key)[:k]


def _key(rec: Recommendation) -> tuple[bool, float, int]:
    return (rec.uplift is None, -rec.score, rec.product_id)


def _with_uplift(
    snapshot: RuleSnapshot, rec: Recommendation, uplift: Mapping[str, float]
) -> Recommendation:
    product = snapshot.products[rec.product_id]
    score = uplift.get(product.sku, uplift.get(rec.kind))
    if score is None:
        return rec
    return Recommendation(
        rec.product_id,
        rec.kind,
        score * max(product.margin, MIN_MARGIN),
        lambda: (
            f"{rec.reason}; the uplift model expects {score * 100:+.1f} points of purchase"
            " probability from showing it"
        ),
        rec.lift,
        rec.confidence,
        score,
    )


def popular(
    snapshot: RuleSnapshot, category: str | None, k: int, exclude: Iterable[int] = ()
) -> list[Recommendation]:
    """Return the best sellers (of `category`, when given): the non-personal answer."""
    skip = set(exclude)
    ids = snapshot.popular_by_category.get(category, ()) if category else snapshot.popular
    unit = "customers" if snapshot.per == "customer" else "orders"
    found = []
    for pid in ids:
        if pid in skip:
            continue
        support = snapshot.product_support[pid]
        where = f"popular in {_words(category)}" if category else "a best seller"
        found.append(
            Recommendation(pid, "popular", support, _text(f"{where}: in {{}} of {unit}", support))
        )
        if len(found) == k:
            break
    return found


def _from_rules(snapshot: RuleSnapshot, context: Context) -> list[Recommendation]:
    """Turn the fired rules' consequents into cross-sells and up-sells.

    A consequent of the same product family (linked by premium versions) as something the
    person has is an up-sell when it is pricier and is dropped when it is not: a cheaper
    laptop for a laptop owner is no complement. So is a premium-tier consequent pricier than
    something of its category they have. Everything else is a cross-sell.
    """
    present = context.present
    products = snapshot.products
    families: dict[int, list[ProductInfo]] = {}
    categories: dict[str, list[ProductInfo]] = {}
    for pid in present:
        held = products[pid]
        families.setdefault(snapshot.family.get(pid, pid), []).append(held)
        categories.setdefault(held.category, []).append(held)
    found = []
    for rule in snapshot.product_rules.fired(present):
        (consequent,) = rule.consequents
        product = products[consequent]
        if consequent in present or not product.active:
            continue
        kin = families.get(snapshot.family.get(consequent, consequent), ())
        if kin and all(p.price >= product.price for p in kin):
            continue
        lower = [p for p in kin if p.price < product.price]
        if not lower and product.tier == "premium":
            lower = [
                p
                for p in categories.get(product.category, ())
                if p.price < product.price and p.tier != "premium"
            ]
        if not lower:
            reason = partial(_rule_reason, snapshot, rule, context, product, None)
            found.append(_rec(product, "cross_sell", rule, product.margin, reason))
            continue
        base = max(lower, key=lambda p: p.price)
        reason = partial(_rule_reason, snapshot, rule, context, product, base)
        found.append(_rec(product, "up_sell", rule, product.margin - base.margin, reason))
    return found


def _rec(
    product: ProductInfo, kind: str, rule: Rule, margin: float, reason: Callable[[], str]
) -> Recommendation:
    score = rule.lift * max(margin, MIN_MARGIN)
    return Recommendation(product.id, kind, score, reason, rule.lift, rule.confidence)


def _premium(snapshot: RuleSnapshot, context: Context) -> list[Recommendation]:
    present = context.present
    found = []
    for pid in present:
        base = snapshot.products[pid]
        if base.premium_id is None or base.premium_id in present:
            continue
        premium = snapshot.products.get(base.premium_id)
        if premium is None or not premium.active:
            continue
        lift = _pair_lift(snapshot, pid, premium.id)
        gain = max(premium.margin - base.margin, MIN_MARGIN)
        reason = partial(_premium_reason, snapshot, context, base, premium)
        found.append(Recommendation(premium.id, "up_sell", (lift or 1.0) * gain, reason, lift))
    return found


def _premium_reason(
    snapshot: RuleSnapshot, context: Context, base: ProductInfo, premium: ProductInfo
) -> str:
    return (
        f"{_source(snapshot, context, [base.id])}; {premium.name} is its premium version"
        f" ({_money(premium.price - base.price)})"
    )


def _pair_lift(snapshot: RuleSnapshot, antecedent: int, consequent: int) -> float | None:
    for rule in snapshot.product_rules.single.get(antecedent, ()):
        if consequent in rule.consequents:
            return rule.lift
    return None


def category_gaps(
    snapshot: RuleSnapshot, history: Mapping[int, int], basket: Iterable[int] = ()
) -> list[Recommendation]:
    """Return the best seller of each never-bought category that the bought categories imply.

    Category rules are mined with one basket per customer: a gap is about what someone buys
    over time, not within one order.
    """
    bought: dict[str, int] = {}
    for pid, times in history.items():
        category = snapshot.products[pid].category
        bought[category] = bought.get(category, 0) + times
    if not bought:
        return []
    held = set(bought) | {snapshot.products[pid].category for pid in basket}
    found = []
    # One category on each side: "buys A, never B". Wider rules over customers' whole
    # histories tie together categories that only heavy buyers happen to share.
    fired = (r for c in bought for r in snapshot.category_rules.single.get(c, ()))
    for rule in fired:
        for category in rule.consequents:
            if category in held:
                continue
            pick = next(
                (p for p in snapshot.popular_by_category.get(category, ()) if p not in history),
                None,
            )
            if pick is None:
                continue
            product = snapshot.products[pick]
            reason = partial(_gap_reason, rule, bought, category, product)
            found.append(_rec(product, "category_gap", rule, product.margin, reason))
    return found


def _gap_reason(rule: Rule, bought: dict[str, int], category: str, product: ProductInfo) -> str:
    buys = " and ".join(f"{_words(c)} ({_times(bought[c])})" for c in sorted(rule.antecedents))
    lhs = " and ".join(_words(c) for c in sorted(rule.antecedents))
    share = f"{_percent(rule.confidence)} of {lhs} buyers also buy {_words(category)}"
    return (
        f"buys {buys}, never {_words(category)}; {share},"
        f" {rule.lift:.1f}{TIMES} the usual rate; its best seller is {product.name}"
    )


def _rule_reason(
    snapshot: RuleSnapshot,
    rule: Rule,
    context: Context,
    product: ProductInfo,
    over: ProductInfo | None,
) -> str:
    """Word a fired rule: how they came by the antecedents, the share, the lift (up-sell: +)."""
    lhs = " and ".join(snapshot.products[a].name for a in sorted(rule.antecedents))
    name = product.name
    if snapshot.per == "customer":
        share = f"{_percent(rule.confidence)} of {lhs} buyers also buy {name}"
    else:
        share = f"{_percent(rule.confidence)} of orders with {lhs} also include {name}"
    source = _source(snapshot, context, sorted(rule.antecedents))
    reason = f"{source}; {share}, {rule.lift:.1f}{TIMES} the usual rate"
    if over is not None:
        reason += (
            f"; {name} is the pricier choice in {_words(product.category)}"
            f" ({_money(product.price - over.price)} over {over.name})"
        )
    return reason


def _text(template: str, share: float) -> Callable[[], str]:
    return lambda: template.format(_percent(share))


def _source(snapshot: RuleSnapshot, context: Context, ids: list[int]) -> str:
    """Say how the person came by `ids`: "bought X", "has X in the basket", "is looking at X"."""
    basket = set(context.basket)
    groups: dict[str, list[str]] = {"basket": [], "viewing": [], "bought": []}
    for pid in ids:
        name = snapshot.products[pid].name
        if pid in basket:
            groups["basket"].append(name)
        elif pid in context.viewing:
            groups["viewing"].append(name)
        else:
            groups["bought"].append(name)
    parts = []
    if groups["bought"]:
        parts.append("bought " + " and ".join(groups["bought"]))
    if groups["basket"]:
        parts.append("has " + " and ".join(groups["basket"]) + " in the basket")
    if groups["viewing"]:
        parts.append("is looking at " + " and ".join(groups["viewing"]))
    return "; ".join(parts)


def _percent(share: float) -> str:
    value = share * 100
    return f"{value:.1f}%" if value < 10 else f"{value:.0f}%"


def _money(amount: float) -> str:
    return f"{amount:+,.2f}"


def _times(n: int) -> str:
    return "1 purchase" if n == 1 else f"{n} purchases"


def _words(category: str | None) -> str:
    return (category or "").replace("_", " ")
