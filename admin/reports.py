"""Reports section: a campaign's report page, campaigns compared, channels, the programme."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from admin.pages import MAX_ID
from admin.report_figures import campaign_charts, programme_charts
from admin.sections import roles_for
from admin.security import role_required
from campaign_engine import reporting
from campaign_engine.app import current_runtime
from campaign_engine.db import transaction
from campaign_engine.dispatch.holdout import GlobalHoldout
from campaign_engine.downloads import csv_attachment
from campaign_engine.errors import Conflict
from campaign_engine.models.campaigns import STATUSES, TYPES
from campaign_engine.models.contacts import CHANNELS
from campaign_engine.models.types import utcnow
from campaign_engine.reporting import (
    CampaignQuery,
    ComparisonQuery,
    PeriodQuery,
    parse_query,
)

VIEWERS = roles_for("reports")
MODELS = {"last_touch": "Last touch", "first_touch": "First touch", "linear": "Linear"}
# The comparison table's columns: (row field, heading, how to show it); the CSV has them all.
COLUMNS = (
    ("name", "Campaign", "text"),
    ("channel", "Channel", "text"),
    ("started_at", "Started", "day"),
    ("sent", "Sent", "count"),
    ("open_rate", "Open rate", "percent"),
    ("click_rate", "Click rate", "percent"),
    ("conversion_rate", "Conversion", "percent"),
    ("revenue", "Revenue", "money"),
    ("cost", "Cost", "money"),
    ("attributed_margin_roi", "Attributed ROI (margin)", "percent"),
    ("incremental_roi", "Incremental ROI", "estimate"),
)


def _campaign_report(campaign_id: int) -> reporting.CampaignReport:
    query = parse_query(CampaignQuery, request.args)
    with transaction(current_runtime().sessions) as session:
        return reporting.campaign_report(
            session, campaign_id, model=query.model, include_machine=query.include_machine
        )


@role_required(*VIEWERS)
def campaign_report(campaign_id: int) -> ResponseReturnValue:
    """Show a campaign's report: funnel, days, holdout, both ROIs, breakdowns, customers."""
    report = _campaign_report(campaign_id)
    return render_template(
        "campaign_report.html", report=report, charts=campaign_charts(report), models=MODELS
    )


@role_required(*VIEWERS)
def campaign_report_csv(campaign_id: int) -> ResponseReturnValue:
    """Download a campaign's metrics rows and ROI row as CSV."""
    report = _campaign_report(campaign_id)
    name = f"campaign-{campaign_id}-report-{report.metrics.model}.csv"
    return csv_attachment(reporting.to_csv(report.csv_rows()), name)


def _comparison() -> tuple[ComparisonQuery, list[reporting.ComparisonRow]]:
    query = parse_query(ComparisonQuery, request.args)
    with transaction(current_runtime().sessions) as session:
        return query, reporting.comparison_report(session, query, utcnow())


@role_required(*VIEWERS)
def campaigns_compared() -> ResponseReturnValue:
    """Compare campaigns in a table, filtered and sorted by the query string."""
    query, rows = _comparison()
    return render_template(
        "reports_campaigns.html",
        query=query,
        rows=rows,
        columns=COLUMNS,
        args=request.args.to_dict(),
        statuses=STATUSES,
        types=TYPES,
        channels=CHANNELS,
        models=MODELS,
    )


@role_required(*VIEWERS)
def campaigns_compared_csv() -> ResponseReturnValue:
    """Download the comparison as CSV."""
    _, rows = _comparison()
    return csv_attachment(reporting.to_csv(rows), "campaign-comparison.csv")


def _channels() -> tuple[PeriodQuery, list[reporting.MetricsRow]]:
    query = parse_query(PeriodQuery, request.args, utcnow())
    since, until = query.period
    with transaction(current_runtime().sessions) as session:
        rows = reporting.channel_performance(
            session, since, until, model=query.model, include_machine=query.include_machine
        )
    return query, rows


@role_required(*VIEWERS)
def channels() -> ResponseReturnValue:
    """Show each channel's metrics over a period, across every campaign."""
    query, rows = _channels()
    return render_template(
        "reports_channels.html", query=query, rows=rows, args=request.args.to_dict(), models=MODELS
    )


@role_required(*VIEWERS)
def channels_csv() -> ResponseReturnValue:
    """Download channel performance as CSV."""
    query, rows = _channels()
    since, until = query.period
    return csv_attachment(reporting.to_csv(rows), f"channels-{since:%Y%m%d}-{until:%Y%m%d}.csv")


@role_required(*VIEWERS)
def programme() -> ResponseReturnValue:
    """Show the whole programme against the global holdout over a period."""
    runtime = current_runtime()
    query = parse_query(PeriodQuery, request.args, utcnow())
    since, until = query.period
    holdout = GlobalHoldout.of(runtime.settings.dispatch.rules)
    try:
        with transaction(runtime.sessions) as session:
            summary = reporting.programme_summary(
                session, holdout.percent, holdout.salt, since, until
            )
    except Conflict as off:  # no holdout: say so on the page, with the period form
        return render_template("reports_programme.html", query=query, summary=None, off=off)
    return render_template(
        "reports_programme.html",
        query=query,
        summary=summary,
        charts=programme_charts(summary),
        off=None,
    )


def register(blueprint: Blueprint) -> None:
    """Add the report pages and their CSV downloads to `blueprint`."""
    one = f"/campaigns/<int(max={MAX_ID}):campaign_id>"
    blueprint.add_url_rule(f"{one}/report", "campaign_report", campaign_report)
    blueprint.add_url_rule(f"{one}/report.csv", "campaign_report_csv", campaign_report_csv)
    blueprint.add_url_rule("/reports", "reports", campaigns_compared)
    blueprint.add_url_rule("/reports/campaigns.csv", "reports_csv", campaigns_compared_csv)
    blueprint.add_url_rule("/reports/channels", "reports_channels", channels)
    blueprint.add_url_rule("/reports/channels.csv", "reports_channels_csv", channels_csv)
    blueprint.add_url_rule("/reports/programme", "reports_programme", programme)
