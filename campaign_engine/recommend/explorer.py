"""The rule explorer's queries: rule sets, their rules filtered, sorted and paged, one item's rules.

Rules are read as stored (every consequent size); each comes with the sentence a marketer
reads, worded as the recommendations word it. Text searches name products (SKU, name or
category) or categories and match the side of the rule asked for.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import ColumnElement, Select, String, cast, false, func, or_, select
from sqlalchemy.orm import Session

from campaign_engine.errors import InvalidQuery, NotFound
from campaign_engine.ingest.batch import problems_of
from campaign_engine.models import AssociationRule, Product, RuleSet, RuleSetItem
from campaign_engine.recommend.ruleset import CATEGORY_PER, get_rule_set, list_rule_sets

PAGE_SIZE = 50
ITEM_RULES = 50  # rules shown per side on an item's page
MAX_MATCHES = 200  # products a text search may name; more, and the first ones are used
SORTS = ("lift", "confidence", "support", "leverage")
TIMES = "\u00d7"


class RuleQuery(BaseModel):
    """What the explorer's form asks: level, minimum measures, item searches, sort and page."""

    model_config = ConfigDict(extra="ignore")

    level: Literal["product", "category"] = "product"
    min_support: Annotated[float, Field(ge=0, le=1)] | None = None
    min_confidence: Annotated[float, Field(ge=0, le=1)] | None = None
    min_lift: Annotated[float, Field(ge=0)] | None = None
    antecedent: Annotated[str, Field(max_length=100)] | None = None
    consequent: Annotated[str, Field(max_length=100)] | None = None
    sort: Literal[SORTS] = "lift"  # type: ignore[valid-type]
    order: Literal["asc", "desc"] = "desc"
    page: Annotated[int, Field(ge=1, le=100_000)] = 1

    def args(self, **changes: Any) -> dict[str, Any]:
        """Return the query string of this query with `changes`, leaving out defaults."""
        values = self.model_dump() | changes
        return {k: v for k, v in values.items() if v is not None and v != _DEFAULTS[k]}


_DEFAULTS = RuleQuery().model_dump()


def parse_rule_query(args: Mapping[str, str]) -> RuleQuery:
    """Return the explorer query of `args` (blank values count as absent) or raise InvalidQuery."""
    data = {key: value.strip() for key, value in args.items() if value.strip()}
    try:
        return RuleQuery.model_validate(data)
    except ValidationError as error:
        raise InvalidQuery("the filters have invalid values", problems_of(error)) from None


@dataclass(frozen=True)
class RuleSetRow:
    """One stored rule set as the list shows it."""

    id: int
    active: bool
    per: str
    category_per: str
    since: datetime | None
    until: datetime | None
    baskets: int
    product_rules: int
    category_rules: int
    thresholds: str
    mined_seconds: float
    created_by: str
    created_at: datetime
    activated_at: datetime | None


@dataclass(frozen=True)
class ItemRef:
    """A product or category named by a rule: what to show, and the key of its page."""

    label: str
    key: str | None  # SKU or category; None for a product no longer in the catalogue


@dataclass(frozen=True)
class RuleRow:
    """One rule with its measures and its sentence."""

    id: int
    antecedents: tuple[ItemRef, ...]
    consequents: tuple[ItemRef, ...]
    support: float
    confidence: float
    lift: float
    leverage: float
    conviction: float | None  # None: infinite (confidence 1)
    reason: str


@dataclass(frozen=True)
class RulePage:
    """One page of a rule set's rules, with the query that chose them."""

    rule_set: RuleSetRow
    query: RuleQuery
    rules: list[RuleRow]
    total: int
    notes: list[str]

    @property
    def pages(self) -> int:
        """Return how many pages the matching rules fill."""
        return max(1, math.ceil(self.total / PAGE_SIZE))


@dataclass(frozen=True)
class ItemView:
    """One product's or category's rules in a set: as antecedent and as consequent."""

    rule_set: RuleSetRow
    level: str
    item: ItemRef
    category: str | None  # a product's category
    premium: ItemRef | None  # a product's premium version
    baskets: int
    support: float
    as_antecedent: list[RuleRow]
    as_consequent: list[RuleRow]
    antecedent_total: int
    consequent_total: int


def thresholds_text(parameters: Mapping[str, Any]) -> str:
    """Say a set's mining thresholds in one line."""
    support = parameters.get("min_support")
    if isinstance(support, int):
        parts = [f"support \u2265 {support:,} baskets"]
    else:
        floor = parameters.get("min_count")
        parts = [f"support \u2265 {support:g}" + (f" (\u2265 {floor:,} baskets)" if floor else "")]
    if (confidence := parameters.get("min_confidence")) is not None:
        parts.append(f"confidence \u2265 {confidence:.0%}")
    if (lift := parameters.get("min_lift")) is not None:
        parts.append(f"lift \u2265 {lift:g}")
    if (max_len := parameters.get("max_len")) is not None:
        parts.append(f"up to {max_len} items")
    if (max_rules := parameters.get("max_rules")) is not None:
        parts.append(f"strongest {max_rules:,} kept")
    return " \u00b7 ".join(parts)


def _row(rule_set: RuleSet) -> RuleSetRow:
    return RuleSetRow(
        id=rule_set.id,
        active=rule_set.active,
        per=rule_set.per,
        category_per=CATEGORY_PER,
        since=rule_set.since,
        until=rule_set.until,
        baskets=rule_set.baskets,
        product_rules=rule_set.product_rules,
        category_rules=rule_set.category_rules,
        thresholds=thresholds_text(rule_set.parameters or {}),
        mined_seconds=rule_set.mined_seconds,
        created_by=rule_set.created_by,
        created_at=rule_set.created_at,
        activated_at=rule_set.activated_at,
    )


def rule_set_rows(session: Session) -> list[RuleSetRow]:
    """Return every stored rule set, newest first."""
    return [_row(s) for s in list_rule_sets(session)]


def rule_set_row(session: Session, rule_set_id: int) -> RuleSetRow:
    """Return one rule set or raise NotFound."""
    return _row(get_rule_set(session, rule_set_id))


def rule_page(session: Session, rule_set_id: int, query: RuleQuery) -> RulePage:
    """Return the rules of a set that match `query`: one page, sorted, with their sentences."""
    rule_set = get_rule_set(session, rule_set_id)
    notes: list[str] = []
    conditions: list[ColumnElement[bool]] = [
        AssociationRule.rule_set_id == rule_set_id,
        AssociationRule.level == query.level,
    ]
    for name in ("support", "confidence", "lift"):
        minimum = getattr(query, f"min_{name}")
        if minimum is not None:
            conditions.append(getattr(AssociationRule, name) >= minimum)
    for side in ("antecedent", "consequent"):
        text = getattr(query, side)
        if text:
            tokens, note = _search(session, rule_set_id, query.level, text)
            if note:
                notes.append(f"{side}: {note}")
            column = (
                AssociationRule.antecedents if side == "antecedent" else AssociationRule.consequents
            )
            conditions.append(_side_has(session, column, tokens))
    total = int(
        session.scalar(select(func.count()).select_from(AssociationRule).where(*conditions)) or 0
    )
    column = getattr(AssociationRule, query.sort)
    order = column.desc() if query.order == "desc" else column.asc()
    found = session.scalars(
        select(AssociationRule)
        .where(*conditions)
        .order_by(order, AssociationRule.id)
        .offset((query.page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    return RulePage(_row(rule_set), query, _rule_rows(session, rule_set, found), total, notes)


def item_view(session: Session, rule_set_id: int, level: str, key: str) -> ItemView:
    """Return a product's (by SKU) or category's rules in a set, strongest first."""
    rule_set = get_rule_set(session, rule_set_id)
    category, premium = None, None
    if level == "product":
        product = session.scalar(select(Product).where(Product.sku == key))
        if product is None:
            raise NotFound(f"no product with SKU {key!r}")
        item: Any = product.id
        ref = ItemRef(product.name, product.sku)
        category = product.category
        if product.premium_product_id is not None:
            better = session.get(Product, product.premium_product_id)
            premium = ItemRef(better.name, better.sku) if better else None
        counted = RuleSetItem.product_id == product.id
    else:
        item, ref = key, ItemRef(_words(key), key)
        counted = RuleSetItem.category == key
    baskets, support = session.execute(
        select(RuleSetItem.baskets, RuleSetItem.support).where(
            RuleSetItem.rule_set_id == rule_set_id, RuleSetItem.level == level, counted
        )
    ).first() or (0, 0.0)
    sides = {}
    for column in (AssociationRule.antecedents, AssociationRule.consequents):
        query = select(AssociationRule).where(
            AssociationRule.rule_set_id == rule_set_id,
            AssociationRule.level == level,
            _side_has(session, column, [item]),
        )
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rules = session.scalars(_strongest(query).limit(ITEM_RULES)).all()
        sides[column.key] = (_rule_rows(session, rule_set, rules), int(total))
    if level == "category" and not baskets and not any(t for _, t in sides.values()):
        raise NotFound(f"no category {key!r} in rule set {rule_set_id}")
    return ItemView(
        rule_set=_row(rule_set),
        level=level,
        item=ref,
        category=category,
        premium=premium,
        baskets=int(baskets),
        support=float(support),
        as_antecedent=sides["antecedents"][0],
        as_consequent=sides["consequents"][0],
        antecedent_total=sides["antecedents"][1],
        consequent_total=sides["consequents"][1],
    )


def _strongest(query: Select[Any]) -> Select[Any]:
    return query.order_by(
        AssociationRule.lift.desc(), AssociationRule.confidence.desc(), AssociationRule.id
    )


def _search(
    session: Session, rule_set_id: int, level: str, text: str
) -> tuple[list[Any], str | None]:
    """Return the items a search names (product ids or categories) and a note for the page."""
    needle = text.strip().lower()
    if level == "category":
        categories = session.scalars(
            select(RuleSetItem.category).where(
                RuleSetItem.rule_set_id == rule_set_id, RuleSetItem.level == "category"
            )
        )
        found = sorted(
            c for c in categories if c and (needle in c.lower() or needle in _words(c).lower())
        )
        return found, None if found else f"no category matches {text!r}"
    ids = list(
        session.scalars(
            select(Product.id)
            .where(
                or_(
                    func.lower(Product.sku).contains(needle, autoescape=True),
                    func.lower(Product.name).contains(needle, autoescape=True),
                    func.lower(Product.category).contains(needle, autoescape=True),
                )
            )
            .order_by(Product.id)
            .limit(MAX_MATCHES + 1)
        )
    )
    if not ids:
        return [], f"no product matches {text!r}"
    if len(ids) > MAX_MATCHES:
        return ids[:MAX_MATCHES], (
            f"more than {MAX_MATCHES} products match {text!r}; the first {MAX_MATCHES} are used,"
            " so narrow the search"
        )
    return ids, None


def _side_has(session: Session, column: Any, items: Iterable[Any]) -> ColumnElement[bool]:
    """Match rules whose `column` (a JSON list of ids or categories) holds any of `items`.

    The list's text is normalised to `,a,b,` (brackets to commas, spaces dropped) on both
    databases, so an item is found as `,item,` and 12 never matches 112.
    """
    text = func.replace(
        func.replace(func.replace(cast(column, String), "[", ","), "]", ","), " ", ""
    )
    ascii_only = (
        session.get_bind().dialect.name == "sqlite"
    )  # SQLite keeps json.dumps's \\u escapes
    tokens = [
        str(i) if isinstance(i, int) else json.dumps(i, ensure_ascii=ascii_only).replace(" ", "")
        for i in items
    ]
    if not tokens:
        return false()
    return or_(*(text.contains(f",{token},", autoescape=True) for token in tokens))


def _rule_rows(
    session: Session, rule_set: RuleSet, rules: Iterable[AssociationRule]
) -> list[RuleRow]:
    rules = list(rules)
    ids = {i for r in rules if r.level == "product" for i in [*r.antecedents, *r.consequents]}
    products = (
        {
            pid: ItemRef(name, sku)
            for pid, name, sku in session.execute(
                select(Product.id, Product.name, Product.sku).where(Product.id.in_(sorted(ids)))
            )
        }
        if ids
        else {}
    )

    def ref(level: str, item: Any) -> ItemRef:
        if level == "category":
            return ItemRef(_words(str(item)), str(item))
        return products.get(int(item), ItemRef(f"product {item}", None))

    rows = []
    for rule in rules:
        lhs = tuple(ref(rule.level, i) for i in rule.antecedents)
        rhs = tuple(ref(rule.level, i) for i in rule.consequents)
        per = rule_set.per if rule.level == "product" else CATEGORY_PER
        rows.append(
            RuleRow(
                id=rule.id,
                antecedents=lhs,
                consequents=rhs,
                support=rule.support,
                confidence=rule.confidence,
                lift=rule.lift,
                leverage=rule.leverage,
                conviction=rule.conviction,
                reason=rule_reason(
                    rule.level,
                    per,
                    [r.label for r in lhs],
                    [r.label for r in rhs],
                    rule.confidence,
                    rule.lift,
                ),
            )
        )
    return rows


def rule_reason(
    level: str,
    per: str,
    antecedents: list[str],
    consequents: list[str],
    confidence: float,
    lift: float,
) -> str:
    """Say what a rule means, as recommendations say it ("bought X; 34% of X buyers ...")."""
    lhs, rhs = " and ".join(antecedents), " and ".join(consequents)
    rate = f"{lift:.1f}{TIMES} the usual rate"
    if level == "category":
        return f"buys {lhs}; {_percent(confidence)} of {lhs} buyers also buy {rhs}, {rate}"
    if per == "customer":
        share = f"{_percent(confidence)} of {lhs} buyers also buy {rhs}"
    else:
        share = f"{_percent(confidence)} of orders with {lhs} also include {rhs}"
    return f"bought {lhs}; {share}, {rate}"


def _percent(share: float) -> str:
    value = share * 100
    return f"{value:.1f}%" if value < 10 else f"{value:.0f}%"


def _words(category: str) -> str:
    return category.replace("_", " ")
