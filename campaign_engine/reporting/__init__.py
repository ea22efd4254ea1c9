"""Metrics and ROI queries: plain frozen rows (`as_dict()`, `csv_row()`), never ORM objects."""

from campaign_engine.reporting.comparison import (
    ComparisonRow,
    campaign_comparison,
    channel_performance,
    find_campaigns,
)
from campaign_engine.reporting.customers import ProductLeads, Retention
from campaign_engine.reporting.metrics import CampaignMetrics, MetricsRow, campaign_metrics
from campaign_engine.reporting.programme import ProgrammeReport, programme_report
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
    "CampaignRoi",
    "ComparisonRow",
    "DailyPoint",
    "Estimate",
    "IncrementalReturn",
    "MetricsRow",
    "OutcomeSums",
    "ProductLeads",
    "ProgrammeReport",
    "ReportRow",
    "Retention",
    "campaign_comparison",
    "campaign_metrics",
    "campaign_roi",
    "channel_performance",
    "daily_series",
    "find_campaigns",
    "programme_report",
    "to_csv",
]
