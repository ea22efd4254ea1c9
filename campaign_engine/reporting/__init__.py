"""Metrics and ROI queries: plain frozen rows (`as_dict()`, `csv_row()`), never ORM objects."""

from campaign_engine.reporting.comparison import (
    ComparisonRow,
    campaign_comparison,
    channel_performance,
    find_campaigns,
)
from campaign_engine.reporting.customers import ProductLeads, Retention
from campaign_engine.reporting.metrics import CampaignMetrics, MetricsRow, campaign_metrics
from campaign_engine.reporting.options import (
    CampaignQuery,
    ComparisonQuery,
    DailyQuery,
    PeriodQuery,
    parse_query,
)
from campaign_engine.reporting.programme import ProgrammeReport, programme_report
from campaign_engine.reporting.report import (
    CampaignReport,
    GroupFigures,
    ProgrammeSummary,
    campaign_days,
    campaign_report,
    comparison_report,
    programme_summary,
)
from campaign_engine.reporting.roi import (
    AttributedReturn,
    CampaignRoi,
    IncrementalReturn,
    campaign_roi,
)
from campaign_engine.reporting.rows import ReportRow, to_csv
from campaign_engine.reporting.series import DailyPoint, daily_series
from campaign_engine.reporting.stats import Estimate, OutcomeSums

__all__ = [
    "AttributedReturn",
    "CampaignMetrics",
    "CampaignQuery",
    "CampaignReport",
    "CampaignRoi",
    "ComparisonQuery",
    "ComparisonRow",
    "DailyPoint",
    "DailyQuery",
    "Estimate",
    "GroupFigures",
    "IncrementalReturn",
    "MetricsRow",
    "OutcomeSums",
    "PeriodQuery",
    "ProductLeads",
    "ProgrammeReport",
    "ProgrammeSummary",
    "ReportRow",
    "Retention",
    "campaign_comparison",
    "campaign_days",
    "campaign_metrics",
    "campaign_report",
    "campaign_roi",
    "channel_performance",
    "comparison_report",
    "daily_series",
    "find_campaigns",
    "parse_query",
    "programme_report",
    "programme_summary",
    "to_csv",
]
