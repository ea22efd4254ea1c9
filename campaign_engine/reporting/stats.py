"""Estimate incremental effects from group sums: Welch differences, normal CIs, incremental ROI.

Pure arithmetic over counts, sums and sums of squares (what one SQL GROUP BY returns), so the
same code serves a 1M-member campaign and a unit test. Intervals are normal-approximation
intervals around the difference of two means with Welch's (unpooled) standard error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import norm  # type: ignore[import-untyped]

from campaign_engine.reporting.rows import ReportRow

CONFIDENCE = 0.95
MIN_HOLDOUT = 100  # fewer held-out contacts than this and the comparison is not reported as firm


@dataclass(frozen=True)
class GroupSums:
    """A per-contact value in one group: how many contacts, its sum and its sum of squares."""

    n: int
    total: float
    squares: float

    @property
    def mean(self) -> float:
        """Return the mean per contact (0 for an empty group)."""
        return self.total / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """Return the sample variance (n - 1 in the denominator; 0 below two contacts)."""
        if self.n < 2:
            return 0.0
        return max(self.squares - self.n * self.mean**2, 0.0) / (self.n - 1)


@dataclass(frozen=True)
class Estimate(ReportRow):
    """A point estimate with its confidence interval and standard error."""

    value: float
    low: float
    high: float
    standard_error: float

    @property
    def half_width(self) -> float:
        """Return half the interval's width."""
        return (self.high - self.low) / 2

    def covers(self, truth: float) -> bool:
        """Return whether the interval holds `truth`."""
        return self.low <= truth <= self.high

    def scaled(self, factor: float) -> Estimate:
        """Return the estimate multiplied by a constant (interval and error likewise)."""
        ends = sorted((self.low * factor, self.high * factor))
        return Estimate(self.value * factor, ends[0], ends[1], self.standard_error * abs(factor))


def z_value(confidence: float = CONFIDENCE) -> float:
    """Return the two-sided standard-normal quantile for `confidence` (1.96 for 95%)."""
    return float(norm.ppf(1 - (1 - confidence) / 2))


def difference_of_means(
    treated: GroupSums, control: GroupSums, confidence: float = CONFIDENCE
) -> Estimate | None:
    """Return treated mean minus control mean with a Welch standard error and a normal CI.

    None when either group has fewer than two contacts: there is no variance to speak of.
    """
    if treated.n < 2 or control.n < 2:
        return None
    difference = treated.mean - control.mean
    error = math.sqrt(treated.variance / treated.n + control.variance / control.n)
    margin = z_value(confidence) * error
    return Estimate(difference, difference - margin, difference + margin, error)


def incremental_total(per_contact: Estimate, treated_n: int) -> Estimate:
    """Return the effect summed over the treated group: treated count x per-contact difference."""
    return per_contact.scaled(treated_n)


def incremental_roi(incremental_margin: Estimate, cost: float) -> Estimate | None:
    """Return (incremental margin - cost) / cost, its interval mapped through the same formula.

    The cost is taken as known exactly, so the interval is the margin's, shifted and scaled.
    None when nothing was spent.
    """
    if cost <= 0:
        return None
    shifted = Estimate(
        incremental_margin.value - cost,
        incremental_margin.low - cost,
        incremental_margin.high - cost,
        incremental_margin.standard_error,
    )
    return shifted.scaled(1 / cost)


def too_small_reason(
    control_n: int, conversion_lift: Estimate | None, treated_rate: float
) -> str | None:
    """Return why a holdout comparison cannot tell an effect apart, or None when it can.

    Too small means: fewer than `MIN_HOLDOUT` held-out contacts, or a 95% interval on the
    conversion-rate difference at least as wide on each side as the treated conversion rate
    itself (the data could not tell "no effect" from "every sale was caused").
    """
    if control_n < MIN_HOLDOUT:
        return f"the holdout has {control_n} contacts; at least {MIN_HOLDOUT} are needed"
    if conversion_lift is None:
        return "a group has fewer than two contacts"
    if conversion_lift.half_width >= treated_rate:
        return (
            f"the conversion-rate difference is uncertain by ±{conversion_lift.half_width:.2%}, "
            f"not less than the treated conversion rate ({treated_rate:.2%})"
        )
    return None


@dataclass(frozen=True)
class OutcomeSums(ReportRow):
    """One group's per-contact outcomes over a window, summed: what the SQL aggregate returns."""

    contacts: int
    buyers: int  # contacts with at least one order (conversion is 0/1, so its squares are buyers)
    revenue: float
    revenue_squares: float
    margin: float
    margin_squares: float

    def conversion(self) -> GroupSums:
        """Return the 0/1 conversion per contact as group sums."""
        return GroupSums(self.contacts, self.buyers, self.buyers)

    def revenue_sums(self) -> GroupSums:
        """Return revenue per contact as group sums."""
        return GroupSums(self.contacts, self.revenue, self.revenue_squares)

    def margin_sums(self) -> GroupSums:
        """Return margin (revenue - cost of goods) per contact as group sums."""
        return GroupSums(self.contacts, self.margin, self.margin_squares)

    @property
    def conversion_rate(self) -> float | None:
        """Return the share of contacts who bought, or None for an empty group."""
        return self.buyers / self.contacts if self.contacts else None


EMPTY = OutcomeSums(0, 0, 0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class IncrementalEffect(ReportRow):
    """Treated versus holdout: per-contact lifts, totals over the treated group and ROI."""

    conversion_lift: Estimate | None  # difference in conversion rate
    revenue_lift: Estimate | None  # difference in revenue per contact
    margin_lift: Estimate | None  # difference in margin per contact
    conversions: Estimate | None  # incremental buyers: treated count x conversion lift
    revenue: Estimate | None
    margin: Estimate | None  # incremental profit before the campaign's cost
    roi: Estimate | None  # (incremental margin - cost) / cost
    too_small: bool
    too_small_reason: str | None


def incremental_effect(
    treated: OutcomeSums, control: OutcomeSums, cost: float, confidence: float = CONFIDENCE
) -> IncrementalEffect:
    """Compare a treated group with its holdout; totals scale to the treated group's size."""
    conversion = difference_of_means(treated.conversion(), control.conversion(), confidence)
    revenue = difference_of_means(treated.revenue_sums(), control.revenue_sums(), confidence)
    margin = difference_of_means(treated.margin_sums(), control.margin_sums(), confidence)
    n = treated.contacts
    margin_total = incremental_total(margin, n) if margin else None
    reason = too_small_reason(control.contacts, conversion, treated.conversion_rate or 0.0)
    return IncrementalEffect(
        conversion_lift=conversion,
        revenue_lift=revenue,
        margin_lift=margin,
        conversions=incremental_total(conversion, n) if conversion else None,
        revenue=incremental_total(revenue, n) if revenue else None,
        margin=margin_total,
        roi=incremental_roi(margin_total, cost) if margin_total else None,
        too_small=reason is not None,
        too_small_reason=reason,
    )


def ratio(numerator: float, denominator: float) -> float | None:
    """Return numerator / denominator, or None when the denominator is zero."""
    return numerator / denominator if denominator else None
