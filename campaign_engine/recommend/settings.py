"""Recommendation settings: how rule sets are mined and kept, and how the storefront is served."""

from __future__ import annotations

from dataclasses import dataclass

BASKET_UNITS = ("order", "customer")


@dataclass(frozen=True)
class RecommendSettings:
    """Mining thresholds, refresh cadence, the personalisation holdout and request limits.

    Built by `config.load_settings` from CE_RULES_* and CE_PERSONALISATION_* variables.
    `min_support` is a fraction of baskets when a float and an absolute count when an int; a
    fraction never means fewer than `min_count` baskets.
    """

    per: str = "order"  # one basket per order, or per customer over the window
    window_days: int = 365
    min_support: float | int = 0.001
    min_count: int = 10  # a fractional min_support never means fewer baskets than this
    min_confidence: float = 0.05
    min_lift: float = 1.2
    category_min_lift: float = (
        1.0  # a category bought more often by A's buyers is a gap worth offering
    )
    max_len: int = 3
    max_rules: int = 50_000  # per level; the strongest (by lift, then confidence) are kept
    keep: int = 5  # rule sets kept; older ones are deleted, never the active one
    refresh_hours: int = 24  # 0: the scheduler never mines
    holdout_percent: float = 0.0  # visitors who get the non-personal answer, to measure lift
    holdout_salt: str = "personalisation"
    cache_seconds: float = 5.0  # how often a process checks for a new rule set or catalogue
    key_cache_seconds: float = 5.0  # how long a checked API key is trusted without SQL
    campaign_days: int = 30  # campaign offers sent this recently are shown on the site
