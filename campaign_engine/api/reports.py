"""Report endpoints: a campaign's metrics and ROI, comparison, channels, programme; JSON and CSV."""

from __future__ import annotations

from flask import Response, jsonify, request

from campaign_engine import reporting
from campaign_engine.api import api_blueprint, requires_scope
from campaign_engine.db import transaction
from campaign_engine.dispatch.holdout import GlobalHoldout
from campaign_engine.downloads import csv_attachment
from campaign_engine.models.types import utcnow
from campaign_engine.reporting import (
    CampaignQuery,
    ComparisonQuery,
    DailyQuery,
    PeriodQuery,
    parse_query,
)
from campaign_engine.web import current_runtime

SCOPE = "read"


def _campaign_report(campaign_id: int) -> reporting.CampaignReport:
    query = parse_query(CampaignQuery, request.args)
    with transaction(current_runtime().sessions) as session:
        return reporting.campaign_report(
            session, campaign_id, model=query.model, include_machine=query.include_machine
        )


@api_blueprint.get("/campaigns/<int:campaign_id>/report")
@requires_scope(SCOPE)
def campaign_report(campaign_id: int) -> Response:
    """Return a campaign's metrics, breakdowns, attributed and incremental ROI, and its days."""
    return jsonify(_campaign_report(campaign_id).as_dict())


@api_blueprint.get("/campaigns/<int:campaign_id>/report.csv")
@requires_scope(SCOPE)
def campaign_report_csv(campaign_id: int) -> Response:
    """Return every metrics row (totals and breakdowns) and the ROI row as CSV."""
    report = _campaign_report(campaign_id)
    name = f"campaign-{campaign_id}-report-{report.metrics.model}.csv"
    return csv_attachment(reporting.to_csv(report.csv_rows()), name)


@api_blueprint.get("/campaigns/<int:campaign_id>/report/daily")
@requires_scope(SCOPE)
def campaign_report_daily(campaign_id: int) -> Response:
    """Return a campaign's gap-free daily series (`?since=&until=&model=&include_machine=`)."""
    query = parse_query(DailyQuery, request.args)
    with transaction(current_runtime().sessions) as session:
        points = reporting.campaign_days(
            session,
            campaign_id,
            since=query.since,
            until=query.until,
            model=query.model,
            include_machine=query.include_machine,
        )
    return jsonify(campaign_id=campaign_id, days=[point.as_dict() for point in points])


def _comparison() -> list[reporting.ComparisonRow]:
    query = parse_query(ComparisonQuery, request.args)
    with transaction(current_runtime().sessions) as session:
        return reporting.comparison_report(session, query, utcnow())


@api_blueprint.get("/reports/campaigns")
@requires_scope(SCOPE)
def campaigns_report() -> Response:
    """Compare campaigns: key metrics and both ROIs per campaign, filtered and sorted."""
    return jsonify(campaigns=[row.as_dict() for row in _comparison()])


@api_blueprint.get("/reports/campaigns.csv")
@requires_scope(SCOPE)
def campaigns_report_csv() -> Response:
    """Compare campaigns as CSV, one row per campaign."""
    return csv_attachment(reporting.to_csv(_comparison()), "campaign-comparison.csv")


def _channels() -> tuple[PeriodQuery, list[reporting.MetricsRow]]:
    query = parse_query(PeriodQuery, request.args, utcnow())
    since, until = query.period
    with transaction(current_runtime().sessions) as session:
        rows = reporting.channel_performance(
            session, since, until, model=query.model, include_machine=query.include_machine
        )
    return query, rows


@api_blueprint.get("/reports/channels")
@requires_scope(SCOPE)
def channels_report() -> Response:
    """Return a metrics row per channel over [since, until), across every campaign."""
    query, rows = _channels()
    return jsonify(
        since=query.since,
        until=query.until,
        model=query.model,
        channels=[row.as_dict() for row in rows],
    )


@api_blueprint.get("/reports/channels.csv")
@requires_scope(SCOPE)
def channels_report_csv() -> Response:
    """Return channel performance as CSV, one row per channel."""
    query, rows = _channels()
    since, until = query.period
    name = f"channels-{since:%Y%m%d}-{until:%Y%m%d}.csv"
    return csv_attachment(reporting.to_csv(rows), name)


@api_blueprint.get("/reports/programme")
@requires_scope(SCOPE)
def programme_report() -> Response:
    """Compare everyone else with the global holdout over [since, until)."""
    runtime = current_runtime()
    since, until = parse_query(PeriodQuery, request.args, utcnow()).period
    holdout = GlobalHoldout.of(runtime.settings.dispatch.rules)
    with transaction(runtime.sessions) as session:
        summary = reporting.programme_summary(session, holdout.percent, holdout.salt, since, until)
    return jsonify(summary.as_dict())
