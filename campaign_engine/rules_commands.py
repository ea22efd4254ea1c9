"""The `rules` commands: mine a new rule set, list the stored ones, show one, activate one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
from sqlalchemy import select

from campaign_engine.db import transaction
from campaign_engine.errors import NotFound
from campaign_engine.invocation import Invocation, pass_invocation
from campaign_engine.models import Product
from campaign_engine.models.recommend import BASKET_UNITS, RULE_LEVELS


def _moment(value: str | None) -> datetime | None:
    """Read a date or an ISO time as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-01-31") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _support(value: str | None) -> float | int | None:
    """Read a minimum support: a whole number is a count of baskets, a decimal a fraction."""
    if value is None:
        return None
    try:
        return int(value) if value.isdigit() else float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither a count nor a fraction") from None


@click.group()
def rules() -> None:
    """Mine association rules into versioned rule sets; list, show and activate them."""


@rules.command("mine")
@click.option("--per", type=click.Choice(BASKET_UNITS), help="Default: CE_RULES_PER (order).")
@click.option("--since", help="First day of the window. Default: CE_RULES_WINDOW_DAYS ago.")
@click.option("--until", help="Day after the window (excluded). Default: now.")
@click.option("--min-support", help="A fraction of baskets (0.001) or a count of baskets (20).")
@click.option("--min-count", type=int, help="Fewest baskets a fractional support may mean.")
@click.option("--min-confidence", type=float)
@click.option("--min-lift", type=float)
@click.option("--category-min-lift", type=float)
@click.option("--max-len", type=int, help="Most items in a rule (2 to 5).")
@click.option("--max-rules", type=int, help="Strongest rules kept per level.")
@click.option("--activate/--no-activate", default=True, show_default=True)
@pass_invocation
def rules_mine(
    inv: Invocation,
    per: str | None,
    since: str | None,
    until: str | None,
    min_support: str | None,
    min_count: int | None,
    min_confidence: float | None,
    min_lift: float | None,
    category_min_lift: float | None,
    max_len: int | None,
    max_rules: int | None,
    activate: bool,
) -> None:
    """Mine product- and category-level rules from the orders into a new rule set."""
    from campaign_engine.recommend.ruleset import refresh_rule_set

    rt = inv.migrated_runtime
    with transaction(rt.sessions) as session:
        rule_set = refresh_rule_set(
            session,
            rt.settings.recommend,
            datetime.now(UTC),
            per=per,
            since=_moment(since),
            until=_moment(until),
            activate=activate,
            created_by="cli",
            min_support=_support(min_support),
            min_count=min_count,
            min_confidence=min_confidence,
            min_lift=min_lift,
            category_min_lift=category_min_lift,
            max_len=max_len,
            max_rules=max_rules,
        )
    state = "active" if rule_set.active else "not active"
    click.echo(
        f"rule set {rule_set.id} ({state}): {rule_set.baskets:,} baskets per {rule_set.per},"
        f" {rule_set.product_rules:,} product rules and {rule_set.category_rules:,} category"
        f" rules in {rule_set.mined_seconds:.1f}s"
    )


@rules.command("list")
@pass_invocation
def rules_list(inv: Invocation) -> None:
    """List rule sets, newest first: id, active, window, baskets, rules, when mined."""
    from campaign_engine.recommend.ruleset import list_rule_sets

    with transaction(inv.migrated_runtime.sessions) as session:
        for s in list_rule_sets(session):
            window = f"{s.since:%Y-%m-%d}..{s.until:%Y-%m-%d}" if s.since and s.until else "-"
            click.echo(
                f"{s.id:>5}  {'active' if s.active else '      '}  per {s.per:8}  {window}"
                f"  {s.baskets:>10,} baskets  {s.product_rules:>7,} product"
                f"  {s.category_rules:>6,} category rules"
                f"  {s.created_at:%Y-%m-%d %H:%M}  {s.created_by}"
            )


@rules.command("show")
@click.argument("rule_set_id", type=int)
@click.option("--level", type=click.Choice(RULE_LEVELS), default="product", show_default=True)
@click.option("--sku", help="Only rules naming this product.")
@click.option("--category", help="Only rules naming this category (category level).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@pass_invocation
def rules_show(
    inv: Invocation,
    rule_set_id: int,
    level: str,
    sku: str | None,
    category: str | None,
    limit: int,
) -> None:
    """Show a rule set's strongest rules by lift, with support, confidence and lift."""
    from campaign_engine.recommend.ruleset import get_rule_set, top_rules

    with transaction(inv.migrated_runtime.sessions) as session:
        rule_set = get_rule_set(session, rule_set_id)
        product_id = None
        if sku is not None:
            product_id = session.scalar(select(Product.id).where(Product.sku == sku))
            if product_id is None:
                raise NotFound(f"no product with SKU {sku!r}")
        found = top_rules(session, rule_set_id, level, limit, product_id, category)
        names = {int(i): str(sku) for i, sku in session.execute(select(Product.id, Product.sku))}
        basket = "one basket per customer" if level == "category" else f"per {rule_set.per}"
        click.echo(f"rule set {rule_set.id}: {level} rules ({basket}) by lift")
        click.echo(f"{'support':>9} {'confidence':>10} {'lift':>7}  rule")
        for rule in found:
            lhs, rhs = _label(rule.antecedents, names), _label(rule.consequents, names)
            click.echo(
                f"{rule.support:>9.4f} {rule.confidence:>10.3f} {rule.lift:>7.2f}  {lhs} -> {rhs}"
            )


def _label(items: list[Any], skus: dict[int, str]) -> str:
    """Name rule items: product ids by SKU, categories as they are."""
    return ", ".join(skus.get(i, str(i)) if isinstance(i, int) else str(i) for i in items)


@rules.command("activate")
@click.argument("rule_set_id", type=int)
@pass_invocation
def rules_activate(inv: Invocation, rule_set_id: int) -> None:
    """Make a stored rule set the active one (web processes pick it up within seconds)."""
    from campaign_engine.recommend.ruleset import activate_rule_set

    with transaction(inv.migrated_runtime.sessions) as session:
        rule_set = activate_rule_set(session, rule_set_id)
    click.echo(f"rule set {rule_set.id} is active")
