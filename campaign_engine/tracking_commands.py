"""The `tracking` commands: attribute orders to campaigns; roll up raw events past retention."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from campaign_engine.db import transaction
from campaign_engine.invocation import Invocation, pass_invocation


@click.group()
def tracking() -> None:
    """Attribute orders to campaigns; roll up old events."""


@tracking.command("attribute")
@click.option(
    "--all", "everything", is_flag=True, help="Recompute every order, not only the new ones."
)
@pass_invocation
def tracking_attribute(inv: Invocation, everything: bool) -> None:
    """Attribute new orders (or, with --all, every order) to campaigns; one commit per batch."""
    from campaign_engine.tracking.attribution import (
        CHUNK,
        attribute_all_orders,
        attribute_new_orders,
    )

    sessions = inv.migrated_runtime.sessions
    if not everything:
        total = 0
        while True:
            with transaction(sessions) as session:
                done = attribute_new_orders(session, datetime.now(UTC))
            total += done
            if done < CHUNK:
                break
        click.echo(f"{total:,} new orders attributed; recent orders rechecked")
        return
    summary = attribute_all_orders(sessions)
    click.echo(
        f"{summary.orders:,} orders recomputed: {summary.attributed:,} credited to a campaign"
        f" ({summary.rows:,} rows)"
    )
    for touch, count in sorted(summary.last_touch.items()):
        click.echo(f"  {count:>10,} by last touch through a {touch}")


@tracking.command("rollup")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    help="Roll up events older than this many days. Default: CE_TRACKING_RETENTION_DAYS.",
)
@pass_invocation
def tracking_rollup(inv: Invocation, days: int | None) -> None:
    """Fold raw events past retention into daily counts and delete them; one commit per batch."""
    from campaign_engine.tracking.rollup import BATCH, roll_up_events

    rt = inv.migrated_runtime
    days = days or rt.settings.tracking.retention_days
    now, total = datetime.now(UTC), 0
    while True:
        with transaction(rt.sessions) as session:
            done = roll_up_events(session, now, days)
        total += done
        if done < BATCH:
            break
    click.echo(f"{total:,} events older than {days} days rolled up into daily counts")
