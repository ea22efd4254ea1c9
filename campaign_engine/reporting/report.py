"""Whole reports for one page or one API answer: a campaign's, the comparison, the programme."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.errors import Conflict
from campaign_engine.models import Campaign
from campaign_engine.reporting.comparison import ComparisonRow, campaign_comparison
from campaign_engine.reporting.metrics import CampaignMetrics, campaign_metrics
from campaign_engine.reporting.options import ComparisonQuery
from campaign_engine.reporting.programme import ProgrammeReport, programme_report
from campaign_engine.reporting.roi import CampaignRoi, campaign_roi
from campaign_engine.reporting.rows import ReportRow, Scalar
from campaign_engine.reporting.scope import campaign_facts
from campaign_engine.reporting.series import DailyPoint, daily_series
from campaign_engine.reporting.stats import CONFIDENCE, Estimate, GroupSums, OutcomeSums, z_value
from campaign_engine.reporting.uplift_check import UpliftCheck, uplift_check

# The ROI row's own name columns repeat the metrics rows' head; the CSV keeps one copy.
ROI_HEAD = ("campaign_id", "code", "name")


def mean_estimate(
    sums: GroupSums, confidence: float = CONFIDENCE, bounds: tuple[float, float] | None = None
) -> Estimate | None:
    """Return a group's mean per contact with a normal interval (None below two contacts).

    `bounds` clips the interval to the values the mean can take (0 to 1 for a rate).
    """
    if sums.n < 2:
        return None
    error = math.sqrt(sums.variance / sums.n)
    low, high = sums.mean - z_value(confidence) * error, sums.mean + z_value(confidence) * error
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return Estimate(sums.mean, low, high, error)


@dataclass(frozen=True)
class GroupFigures(ReportRow):
    """One group's conversion rate and revenue per contact over the window, with intervals."""

    group: str  # treatment or holdout; for the programme, everyone_else or global_holdout
    contacts: int
    buyers: int
    conversion_rate: Estimate | None
    revenue_per_contact: Estimate | None


def group_figures(group: str, sums: OutcomeSums, confidence: float = CONFIDENCE) -> GroupFigures:
    """Return a group's per-contact figures from its outcome sums."""
    return GroupFigures(
        group=group,
        contacts=sums.contacts,
        buyers=sums.buyers,
        conversion_rate=mean_estimate(sums.conversion(), confidence, (0.0, 1.0)),
        revenue_per_contact=mean_estimate(sums.revenue_sums(), confidence),
    )


@dataclass(frozen=True)
class CampaignReport(ReportRow):
    """Everything a campaign's report shows: metrics, both ROIs, the two groups, the days."""

    metrics: CampaignMetrics
    roi: CampaignRoi
    groups: list[GroupFigures]  # treatment, then holdout
    daily: list[DailyPoint]
    uplift: UpliftCheck | None = None  # uplift mode: predicted against realised

    def csv_rows(self) -> list[dict[str, Scalar]]:
        """Return every metrics row (totals and breakdowns), then one row of ROI figures.

        The ROI row has `dimension` "roi"; its columns follow the metrics columns.
        """
        roi = {k: v for k, v in self.roi.csv_row().items() if k not in ROI_HEAD}
        head: dict[str, Scalar] = {
            "campaign_id": self.metrics.campaign_id,
            "code": self.metrics.code,
            "model": self.metrics.model,
            "dimension": "roi",
            "key": None,
        }
        return [*self.metrics.csv_rows(), head | roi]


def campaign_report(
    session: Session,
    campaign_id: int,
    *,
    model: str = "last_touch",
    include_machine: bool = False,
    now: datetime | None = None,
) -> CampaignReport:
    """Return a campaign's full report under one attribution model."""
    metrics = campaign_metrics(session, campaign_id, model=model, include_machine=include_machine)
    roi = campaign_roi(session, campaign_id, model=model, now=now)
    inc = roi.incremental
    targeting = session.scalar(select(Campaign.targeting).where(Campaign.id == campaign_id))
    check = None
    if targeting:
        facts = campaign_facts(session, [campaign_id])[0]
        check = uplift_check(session, facts, str(targeting.get("model")), inc)
    return CampaignReport(
        metrics=metrics,
        roi=roi,
        groups=[
            group_figures("treatment", inc.treated, roi.confidence),
            group_figures("holdout", inc.control, roi.confidence),
        ],
        daily=daily_series(session, campaign_id, model=model, include_machine=include_machine),
        uplift=check,
    )


def campaign_days(
    session: Session,
    campaign_id: int,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    model: str = "last_touch",
    include_machine: bool = False,
) -> list[DailyPoint]:
    """Return a campaign's daily series; NotFound when there is no such campaign."""
    campaign_facts(session, [campaign_id])
    return daily_series(
        session,
        campaign_id,
        since=since,
        until=until,
        model=model,
        include_machine=include_machine,
    )


def _sort_value(row: ComparisonRow, column: str) -> Any:
    value = getattr(row, column)
    return value.value if isinstance(value, Estimate) else value


def comparison_report(
    session: Session, query: ComparisonQuery, now: datetime | None = None
) -> list[ComparisonRow]:
    """Return the campaigns the query's filters find, sorted by its column (blanks last)."""
    rows = campaign_comparison(
        session,
        status=query.status,
        type=query.type,
        channel=query.channel,
        since=query.since,
        until=query.until,
        model=query.model,
        include_machine=query.include_machine,
        now=now,
    )
    if query.sort is None:
        return rows
    column = query.sort
    known = [row for row in rows if _sort_value(row, column) is not None]
    blank = [row for row in rows if _sort_value(row, column) is None]
    known.sort(key=lambda row: _sort_value(row, column), reverse=query.descending)
    return known + blank


@dataclass(frozen=True)
class ProgrammeSummary(ReportRow):
    """The programme against the global holdout, with each side's per-contact figures."""

    programme: ProgrammeReport
    groups: list[GroupFigures]  # everyone_else, then global_holdout


def programme_summary(
    session: Session, percent: float, salt: str, since: datetime, until: datetime
) -> ProgrammeSummary:
    """Compare everyone else with the global holdout over [since, until).

    Conflict when the global holdout is off: there is then nobody to compare with.
    """
    if percent <= 0:
        raise Conflict(
            "the global holdout is off, so the programme cannot be measured: "
            "set CE_GLOBAL_HOLDOUT_PERCENT to hold a share of contacts out of all marketing"
        )
    report = programme_report(session, percent, salt, since, until)
    return ProgrammeSummary(
        programme=report,
        groups=[
            group_figures("everyone_else", report.rest),
            group_figures("global_holdout", report.holdout),
        ],
    )
