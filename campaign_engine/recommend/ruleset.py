"""Versioned rule sets: mine the orders into a new set, list, show, activate, prune, load.

A refresh mines product-level rules (one basket per order, or per customer over the window)
and category-level rules (one basket per customer), stores them with every item's basket
count as a new version, activates it (unless told not to) and deletes all but the newest
`keep` sets; the active set is never deleted. Services take a Session and never commit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.orm import Session

from campaign_engine.bulk import write_rows
from campaign_engine.errors import InvalidInput, NotFound, Problem
from campaign_engine.models import AssociationRule, Order, Product, RuleSet, RuleSetItem
from campaign_engine.models.recommend import BASKET_UNITS, RULE_LEVELS
from campaign_engine.models.types import utcnow
from campaign_engine.recommend.settings import RecommendSettings
from campaign_engine.recommend.snapshot import ProductInfo, Rule, RuleSnapshot, build_snapshot

MAX_ITEMS_TEXT = 2000
CATEGORY_PER = "customer"  # category rules: one basket per customer, whatever `per` says


@dataclass(frozen=True)
class MinedLevel:
    """The rules and item counts of one level, as plain rows ready to store."""

    baskets: int
    rules: list[dict[str, Any]]
    items: dict[Any, int]


def mining_parameters(settings: RecommendSettings, **overrides: Any) -> dict[str, Any]:
    """Return the thresholds of a refresh: the settings, with any non-None override applied."""
    parameters: dict[str, Any] = {
        "min_support": settings.min_support,
        "min_count": settings.min_count,
        "min_confidence": settings.min_confidence,
        "min_lift": settings.min_lift,
        "category_min_lift": settings.category_min_lift,
        "max_len": settings.max_len,
        "max_rules": settings.max_rules,
    }
    parameters |= {k: v for k, v in overrides.items() if v is not None}
    problems = _threshold_problems(parameters)
    if problems:
        raise InvalidInput("cannot mine with these thresholds", problems)
    return parameters


def _threshold_problems(p: dict[str, Any]) -> list[Problem]:
    problems = []
    support = p["min_support"]
    if isinstance(support, bool) or not isinstance(support, int | float):
        problems.append(Problem("min_support", "must be a count or a fraction"))
    elif isinstance(support, int) and support < 1:
        problems.append(Problem("min_support", "a count of baskets must be 1 or more"))
    elif isinstance(support, float) and not 0 < support <= 1:
        problems.append(Problem("min_support", "a fraction must be above 0 and at most 1"))
    if not 0 <= p["min_confidence"] <= 1:
        problems.append(Problem("min_confidence", "must be from 0 to 1"))
    for name in ("min_lift", "category_min_lift"):
        if not 0 <= p[name] < 1_000:
            problems.append(Problem(name, "must be from 0 (keep every rule) to below 1,000"))
    if not 2 <= p["max_len"] <= 5:
        problems.append(Problem("max_len", "must be from 2 to 5 items per rule"))
    if not 1 <= p["min_count"] <= 1_000_000:
        problems.append(Problem("min_count", "must be from 1 to 1,000,000 baskets"))
    if not 1 <= p["max_rules"] <= 1_000_000:
        problems.append(Problem("max_rules", "must be from 1 to 1,000,000 per level"))
    return problems


def refresh_rule_set(
    session: Session,
    settings: RecommendSettings,
    now: datetime,
    *,
    per: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    activate: bool = True,
    created_by: str = "",
    **thresholds: Any,
) -> RuleSet:
    """Mine the orders in [since, until) into a new rule set; activate it and prune old ones."""
    per = per or settings.per
    if per not in BASKET_UNITS:
        raise InvalidInput("cannot mine", [Problem("per", f"use one of {', '.join(BASKET_UNITS)}")])
    until = until or now
    since = since or until - timedelta(days=settings.window_days)
    if since >= until:
        raise InvalidInput("cannot mine", [Problem("since", "must be before until")])
    parameters = mining_parameters(settings, **thresholds)
    started = time.perf_counter()
    # A category gap ("buys software, never computers") is about customers, not orders.
    per_level = {"product": per, "category": CATEGORY_PER}
    mined = {
        level: mine_level(session, level, per_level[level], since, until, parameters)
        for level in RULE_LEVELS
    }
    if mined["product"].baskets == 0:
        raise InvalidInput(
            "no orders to mine",
            [Problem("since", f"no orders from {since:%Y-%m-%d} to {until:%Y-%m-%d}")],
        )
    rule_set = RuleSet(
        per=per,
        since=since,
        until=until,
        parameters=parameters,
        mined_seconds=round(time.perf_counter() - started, 3),
        created_by=created_by,
        created_at=now,
    )
    save_rule_set(session, rule_set, mined)
    if activate:
        activate_rule_set(session, rule_set.id, now)
    prune_rule_sets(session, settings.keep)
    return rule_set


def refresh_if_due(session: Session, settings: RecommendSettings, now: datetime) -> RuleSet | None:
    """Mine a new active rule set if the newest is older than `refresh_hours` (0: never).

    Nothing to mine (no orders in the window) is not an error here: the next run tries again.
    """
    if settings.refresh_hours <= 0:
        return None
    newest = session.scalar(select(func.max(RuleSet.created_at)))
    if newest is not None and now - newest < timedelta(hours=settings.refresh_hours):
        return None
    if (
        session.scalar(
            select(Order.id)
            .where(Order.ordered_at >= now - timedelta(days=settings.window_days))
            .limit(1)
        )
        is None
    ):
        return None
    return refresh_rule_set(session, settings, now, created_by="scheduler")


def save_rule_set(session: Session, rule_set: RuleSet, mined: dict[str, MinedLevel]) -> RuleSet:
    """Store `rule_set` with the rules and item counts of each level (inactive)."""
    rule_set.baskets = mined["product"].baskets
    rule_set.product_rules = len(mined["product"].rules)
    rule_set.category_rules = len(mined["category"].rules)
    session.add(rule_set)
    session.flush()
    _store(session, rule_set.id, mined)
    return rule_set


def mine_level(
    session: Session,
    level: str,
    per: str,
    since: datetime,
    until: datetime,
    parameters: dict[str, Any],
) -> MinedLevel:
    """Mine one level's baskets with the miner; return plain rule rows and item counts."""
    # Imported on use: pandas and the miner cost time no storefront process should pay.
    from campaign_engine.ml_data_baskets import baskets as basket_matrix
    from campaign_engine.recommend.mining import AssociationRules

    matrix, labels = basket_matrix(session, level=level, per=per, since=since, until=until)
    if matrix.shape[0] == 0:
        return MinedLevel(0, [], {})
    model = AssociationRules(
        min_support=_floored(parameters["min_support"], parameters["min_count"], matrix.shape[0]),
        min_confidence=parameters["min_confidence"],
        min_lift=parameters["category_min_lift" if level == "category" else "min_lift"],
        max_len=parameters["max_len"],
    ).fit(matrix, items=list(labels))
    items = {
        _item(level, label): int(count)
        for label, count in zip(model.items_, model.item_counts_, strict=True)
        if count
    }
    rows = [
        rule_row(
            level,
            sorted(_item(level, a) for a in record["antecedents"]),
            sorted(_item(level, c) for c in record["consequents"]),
            record,
        )
        for record in model.rules_.to_dict("records")
    ]
    rows.sort(key=lambda r: (-r["lift"], -r["confidence"], r["items"]))
    return MinedLevel(int(model.n_baskets_), rows[: parameters["max_rules"]], items)


def _floored(min_support: float | int, min_count: int, baskets: int) -> float | int:
    """Return a fractional support as a count of baskets, never below `min_count`.

    On a small store 0.1% of the baskets is a handful, and rules seen in a handful of baskets
    are noise; an explicit count is taken as it is.
    """
    if isinstance(min_support, int):
        return min_support
    return max(math.ceil(min_support * baskets - 1e-9), min_count)


def _item(level: str, label: Any) -> Any:
    return int(label) if level == "product" else str(label)


def rule_row(
    level: str, antecedents: list[Any], consequents: list[Any], measures: Mapping[Any, Any]
) -> dict[str, Any]:
    """Return one rule as a row to store, with the five measures from `measures`."""
    conviction = float(measures["conviction"])
    return {
        "level": level,
        "antecedents": antecedents,
        "consequents": consequents,
        "items": ("|" + "|".join(str(i) for i in [*antecedents, *consequents]) + "|")[
            :MAX_ITEMS_TEXT
        ],
        "support": float(measures["support"]),
        "confidence": float(measures["confidence"]),
        "lift": float(measures["lift"]),
        "leverage": float(measures["leverage"]),
        "conviction": conviction if math.isfinite(conviction) else None,
    }


def _store(session: Session, rule_set_id: int, mined: dict[str, MinedLevel]) -> None:
    rules = [{"rule_set_id": rule_set_id, **row} for m in mined.values() for row in m.rules]
    write_rows(session, AssociationRule, rules)
    items = []
    for level, m in mined.items():
        for item, count in m.items.items():
            items.append(
                {
                    "rule_set_id": rule_set_id,
                    "level": level,
                    "product_id": item if level == "product" else None,
                    "category": item if level == "category" else None,
                    "baskets": count,
                    "support": count / m.baskets,
                }
            )
    write_rows(session, RuleSetItem, items)


def activate_rule_set(session: Session, rule_set_id: int, now: datetime | None = None) -> RuleSet:
    """Make `rule_set_id` the one active set (the storefront picks it up within seconds)."""
    rule_set = get_rule_set(session, rule_set_id)
    if rule_set.active:
        return rule_set
    session.execute(
        update(RuleSet).where(RuleSet.active.is_(True)).values(active=False),
        execution_options={"synchronize_session": "fetch"},
    )
    session.flush()
    rule_set.active = True
    rule_set.activated_at = now or utcnow()
    session.flush()
    return rule_set


def prune_rule_sets(session: Session, keep: int) -> list[int]:
    """Keep `keep` rule sets (the active one and the newest others); return the ids deleted."""
    ids = list(session.scalars(select(RuleSet.id).order_by(RuleSet.id.desc())))
    active = session.scalar(select(RuleSet.id).where(RuleSet.active.is_(True)))
    kept = {active} if active is not None else set()
    for i in ids:
        if len(kept) >= max(keep, 1):
            break
        kept.add(i)
    doomed = [i for i in ids if i not in kept]
    if doomed:
        for model in (AssociationRule, RuleSetItem):
            session.execute(delete(model).where(model.rule_set_id.in_(doomed)))
        session.execute(delete(RuleSet).where(RuleSet.id.in_(doomed)))
    return doomed


def get_rule_set(session: Session, rule_set_id: int) -> RuleSet:
    """Return rule set `rule_set_id` or raise NotFound."""
    rule_set = session.get(RuleSet, rule_set_id)
    if rule_set is None:
        raise NotFound(
            f"no rule set {rule_set_id}; `campaign-engine rules list` shows the stored ones"
        )
    return rule_set


def list_rule_sets(session: Session) -> list[RuleSet]:
    """Return every stored rule set, newest first."""
    return list(session.scalars(select(RuleSet).order_by(RuleSet.id.desc())))


def active_rule_set_id(session: Session) -> int | None:
    """Return the id of the active rule set, if any."""
    return session.scalar(select(RuleSet.id).where(RuleSet.active.is_(True)))


def top_rules(
    session: Session,
    rule_set_id: int,
    level: str = "product",
    limit: int = 20,
    product_id: int | None = None,
    category: str | None = None,
) -> list[AssociationRule]:
    """Return a set's strongest rules (by lift) at `level`, optionally those naming one item."""
    get_rule_set(session, rule_set_id)
    query = select(AssociationRule).where(
        AssociationRule.rule_set_id == rule_set_id, AssociationRule.level == level
    )
    item = product_id if product_id is not None else category
    if item is not None:
        query = query.where(AssociationRule.items.contains(f"|{item}|", autoescape=True))
    order = (AssociationRule.lift.desc(), AssociationRule.confidence.desc(), AssociationRule.id)
    return list(session.scalars(query.order_by(*order).limit(limit)))


def count_rules(session: Session, rule_set_id: int) -> dict[str, int]:
    """Return how many rules a set holds per level."""
    rows = session.execute(
        select(AssociationRule.level, func.count())
        .where(AssociationRule.rule_set_id == rule_set_id)
        .group_by(AssociationRule.level)
    )
    return {str(level): int(n) for level, n in rows}


def load_snapshot(
    connection: Connection, rule_set_id: int | None, stamp: tuple[Any, ...] = ()
) -> RuleSnapshot:
    """Read rule set `rule_set_id` (None: only the catalogue) and the catalogue into memory."""
    products = [
        ProductInfo(
            id=int(row.id),
            sku=row.sku,
            name=row.name,
            category=row.category,
            price=float(row.price),
            margin=float(row.price) - float(row.unit_cost or 0),
            premium_id=row.premium_product_id,
            active=bool(row.active),
            tier=row.tier,
        )
        for row in connection.execute(
            select(
                Product.id,
                Product.sku,
                Product.name,
                Product.category,
                Product.price,
                Product.unit_cost,
                Product.premium_product_id,
                Product.active,
                Product.tier,
            )
        )
    ]
    if rule_set_id is None:
        return build_snapshot(None, "order", 0, products, [], [], stamp)
    head = connection.execute(
        select(RuleSet.per, RuleSet.baskets).where(RuleSet.id == rule_set_id)
    ).one()
    rules = (
        (
            row.level,
            Rule(
                frozenset(_item(row.level, a) for a in row.antecedents),
                tuple(_item(row.level, c) for c in row.consequents),
                row.support,
                row.confidence,
                row.lift,
            ),
        )
        for row in connection.execute(
            select(
                AssociationRule.level,
                AssociationRule.antecedents,
                AssociationRule.consequents,
                AssociationRule.support,
                AssociationRule.confidence,
                AssociationRule.lift,
            ).where(AssociationRule.rule_set_id == rule_set_id)
        )
    )
    items = (
        (row.level, row.product_id if row.level == "product" else row.category, row.support)
        for row in connection.execute(
            select(
                RuleSetItem.level, RuleSetItem.product_id, RuleSetItem.category, RuleSetItem.support
            ).where(RuleSetItem.rule_set_id == rule_set_id)
        )
    )
    return build_snapshot(rule_set_id, head.per, head.baskets, products, rules, items, stamp)
