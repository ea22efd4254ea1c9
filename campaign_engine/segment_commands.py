"""The `segment` and `traits` commands: preview definitions, list and export segments, refresh."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path

import click

from campaign_engine.db import transaction
from campaign_engine.invocation import Invocation, pass_invocation, read_json, stage_progress


@click.group()
def segment() -> None:
    """Preview, list and export segments."""


@segment.command("preview")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sample", default=10, show_default=True, help="How many members to show.")
@pass_invocation
def segment_preview(inv: Invocation, path: Path, sample: int) -> None:
    """Count the segment defined in the JSON file PATH, with its funnel and a sample."""
    from campaign_engine.segments.service import preview_segment

    definition = read_json(path)
    with transaction(inv.migrated_runtime.sessions) as session:
        preview = preview_segment(session, definition, datetime.now(UTC), sample)
    click.echo(f"{preview.count:,} contacts ({preview.seconds:.3f} s)")
    for step in preview.funnel:
        click.echo(f"  {step.cumulative:>10,}  (alone {step.alone:>10,})  {step.label}")
    for row in preview.sample:
        click.echo(f"  {row['external_id']}  {row['email'] or '-'}  {row['city'] or ''}")


@segment.command("list")
@pass_invocation
def segment_list(inv: Invocation) -> None:
    """List saved segments: id, last size, last evaluated, name."""
    from campaign_engine.segments.service import list_segments

    with transaction(inv.migrated_runtime.sessions) as session:
        for row in list_segments(session):
            when = (
                row.last_evaluated_at.isoformat(timespec="seconds")
                if row.last_evaluated_at
                else "-"
            )
            size = f"{row.last_count:,}" if row.last_count is not None else "-"
            click.echo(f"{row.id:>5}  {size:>10}  {when:25}  {row.name}")


@segment.command("export")
@click.argument("segment_id", type=int)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
@click.option("--sort-by", help="e.g. clv, monetary, recency_days, household_income.")
@click.option("--ascending", is_flag=True, help="Sort ascending (default: descending).")
@click.option("--limit", type=int, help="Keep the first N after sorting.")
@click.option("--dedupe-by", type=click.Choice(["email", "phone"]))
@pass_invocation
def segment_export(
    inv: Invocation,
    segment_id: int,
    out: Path | None,
    sort_by: str | None,
    ascending: bool,
    limit: int | None,
    dedupe_by: str | None,
) -> None:
    """Write a segment's current members as CSV."""
    from campaign_engine.segments.target_lists import iter_segment_csv

    with transaction(inv.migrated_runtime.sessions) as session:
        chunks = iter_segment_csv(
            session, segment_id, datetime.now(UTC), sort_by, not ascending, limit, dedupe_by
        )
        if out is None:
            for chunk in chunks:
                sys.stdout.write(chunk)
            return
        with out.open("w", encoding="utf-8", newline="") as handle:
            for chunk in chunks:
                handle.write(chunk)
    click.echo(f"wrote {out}", err=True)


@click.group()
def traits() -> None:
    """Computed traits: RFM, CLV, probability alive, churn risk."""


@traits.command("refresh")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Compute as of the end of this day (UTC). Default: today.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@pass_invocation
def traits_refresh(inv: Invocation, as_of: datetime | None, quiet: bool) -> None:
    """Recompute every buyer's traits now (the scheduler also does this daily)."""
    from campaign_engine.traits.refresh import refresh_traits

    day = as_of.date() if as_of else date.today()
    with (
        click.progressbar(length=1, label="computing traits", file=sys.stderr, hidden=quiet) as bar,
        transaction(inv.migrated_runtime.sessions) as session,
    ):
        summary = refresh_traits(session, day, progress=stage_progress(bar, "writing"))
    click.echo(f"traits: {summary}")


@segment.command("audience")
@click.argument("segment_id", type=int)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write a CSV file.")
@click.option("--sync", "sync_name", help="Send to the social webhook as this audience.")
@click.option("--add", is_flag=True, help="With --sync: add to the audience, not replace it.")
@pass_invocation
def segment_audience(
    inv: Invocation, segment_id: int, out: Path | None, sync_name: str | None, add: bool
) -> None:
    """Export a segment as a custom audience: members opted in to social, SHA-256 hashed."""
    from campaign_engine.audiences import export_segment_audience, sync_segment_audience

    if (out is None) == (sync_name is None):
        raise click.UsageError("give --out FILE or --sync NAME")
    runtime = inv.migrated_runtime
    with transaction(runtime.sessions) as session:
        if out is not None:
            count = export_segment_audience(session, segment_id, out, datetime.now(UTC))
            click.echo(f"{count:,} members written to {out}")
            return
        assert sync_name is not None
        result = sync_segment_audience(
            session,
            segment_id,
            sync_name,
            runtime.settings.channels,
            datetime.now(UTC),
            "add" if add else "replace",
        )
    click.echo(
        f"{result.members:,} members in {result.chunks_sent}/{result.chunks} chunks: "
        f"{result.outcome}{f' ({result.reason})' if result.reason else ''}"
    )
    if result.outcome != "accepted":
        raise SystemExit(1)
