"""The charts of the report pages, drawn from report rows: which numbers go in which chart."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from admin.charts import (
    Bar,
    BarGroup,
    Series,
    bar_chart,
    funnel_chart,
    grouped_bar_chart,
    series_chart,
)
from admin.charts import percent as as_percent
from campaign_engine.reporting import (
    CampaignReport,
    Estimate,
    GroupFigures,
    MetricsRow,
    ProgrammeSummary,
)

WIDE_BARS = 480
GROUP_LABELS = {
    "treatment": "Treatment",
    "holdout": "Holdout",
    "everyone_else": "Everyone else",
    "global_holdout": "Global holdout",
}


def money(value: float) -> str:
    """Format an amount for a chart axis or label."""
    return f"{value:,.2f}"


def _estimate_bar(label: str, estimate: Estimate | None) -> Bar:
    if estimate is None:
        return Bar(label, None)
    return Bar(label, estimate.value, estimate.low, estimate.high)


def funnel(totals: MetricsRow) -> Markup:
    """Return the delivery funnel: sent, delivered, opened, clicked, purchased."""
    steps = [
        Bar("Sent", totals.sent),
        Bar("Delivered", totals.delivered),
        Bar("Opened", totals.opened),
        Bar("Clicked", totals.clicked),
        Bar("Purchased", totals.purchases),
    ]
    return funnel_chart(steps, title="Delivery funnel: sent, delivered, opened, clicked, purchased")


def group_charts(groups: Sequence[GroupFigures]) -> dict[str, Markup]:
    """Return conversion rate and revenue per contact, group against group, with intervals."""
    named = [(GROUP_LABELS.get(g.group, g.group), g) for g in groups]
    conversion = [_estimate_bar(label, g.conversion_rate) for label, g in named]
    revenue = [_estimate_bar(label, g.revenue_per_contact) for label, g in named]
    versus = " versus ".join(label for label, _ in named)
    return {
        "conversion": bar_chart(
            conversion, title=f"Conversion rate, {versus}, with intervals", fmt=as_percent
        ),
        "revenue_per_contact": bar_chart(
            revenue, title=f"Revenue per contact, {versus}, with intervals", fmt=money
        ),
    }


def roi_chart(report: CampaignReport) -> Markup:
    """Return attributed ROI (revenue and margin) beside incremental ROI with its interval."""
    attributed, incremental = report.roi.attributed, report.roi.incremental
    bars = [
        Bar("Attributed, revenue", attributed.roi),
        Bar("Attributed, margin", attributed.margin_roi),
        _estimate_bar("Incremental, margin", incremental.roi),
    ]
    return bar_chart(
        bars, title="Attributed versus incremental ROI", fmt=as_percent, width=WIDE_BARS
    )


def variant_rates(rows: Sequence[MetricsRow]) -> Markup:
    """Return open, click and conversion rates per variant as grouped bars."""
    groups = [
        BarGroup(
            row.key or "none",
            [
                Bar("Open rate", row.open_rate),
                Bar("Click rate", row.click_rate),
                Bar("Conversion rate", row.conversion_rate),
            ],
        )
        for row in rows
    ]
    return grouped_bar_chart(groups, title="Rates by variant", fmt=as_percent)


def campaign_charts(report: CampaignReport) -> dict[str, Markup]:
    """Return every chart of a campaign's report page, by name."""
    days = [point.day.isoformat() for point in report.daily]
    responses = [
        Series("Opened", [p.opened for p in report.daily]),
        Series("Clicked", [p.clicked for p in report.daily]),
        Series("Purchases", [p.purchases for p in report.daily]),
    ]
    revenue = [Series("Revenue", [p.revenue for p in report.daily])]
    return {
        "funnel": funnel(report.metrics.totals),
        "responses": series_chart(days, responses, title="Daily responses"),
        "revenue": series_chart(
            days, revenue, title="Daily attributed revenue", fmt=money, kind="columns"
        ),
        "roi": roi_chart(report),
        "variants": variant_rates(report.metrics.by_variant),
        **group_charts(report.groups),
    }


def programme_charts(summary: ProgrammeSummary) -> dict[str, Markup]:
    """Return the programme page's charts: everyone else against the global holdout."""
    return group_charts(summary.groups)
