"""Fold individual orders into per-buyer totals, window sums and lifetimes-style histories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from campaign_engine.traits.clv import BuyerHistory

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Moments = npt.NDArray[np.datetime64]


@dataclass(frozen=True)
class Buyers:
    """Per buyer, in ascending contact id: order aggregates up to the end of the as-of day.

    Moments are naive UTC datetime64[us]; days are UTC calendar days counted from 1970-01-01.
    """

    as_of: date
    contact_id: Ints
    first_order_at: Moments
    last_order_at: Moments
    orders_total: Ints
    revenue_total: Floats
    window_orders: Ints
    window_revenue: Floats
    order_days: Ints
    first_day_revenue: Floats

    def __len__(self) -> int:
        return len(self.contact_id)

    @property
    def recency_days(self) -> Ints:
        """Return the days from each buyer's last order day to the as-of day."""
        return _epoch_day(self.as_of) - _days(self.last_order_at)

    def history(self) -> BuyerHistory:
        """Return the histories BG/NBD and Gamma-Gamma take, in days up to the as-of day."""
        first, last = _days(self.first_order_at), _days(self.last_order_at)
        frequency = self.order_days - 1
        repeat_revenue = self.revenue_total - self.first_day_revenue
        # Refunds can make repeat revenue negative; Gamma-Gamma needs order values >= 0.
        repeat_value = np.where(
            frequency > 0, np.maximum(repeat_revenue, 0.0) / np.maximum(frequency, 1), 0.0
        )
        return BuyerHistory(
            frequency=frequency.astype(np.float64),
            recency=(last - first).astype(np.float64),
            age=(_epoch_day(self.as_of) - first).astype(np.float64),
            repeat_value=repeat_value.astype(np.float64),
        )


def fold_orders(
    contact_id: Ints, ordered_at: Moments, revenue: Floats, as_of: date, window_days: int
) -> Buyers:
    """Aggregate orders placed before midnight UTC ending `as_of` per contact; ignore later ones.

    `ordered_at` holds naive UTC datetime64 values; the window is the `window_days` days up to
    that midnight, its first moment included.
    """
    cutoff = np.datetime64(as_of + timedelta(days=1), "us")
    counted = ordered_at < cutoff
    order = np.lexsort((ordered_at[counted], contact_id[counted]))
    who = contact_id[counted][order]
    at = ordered_at[counted][order].astype("datetime64[us]")
    money = revenue[counted][order].astype(np.float64)
    n = len(who)
    if n == 0:
        empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0, np.float64)
        none = np.zeros(0, "datetime64[us]")
        return Buyers(
            as_of, empty_i, none, none, empty_i, empty_f, empty_i, empty_f, empty_i, empty_f
        )
    new_buyer = np.r_[True, who[1:] != who[:-1]]
    starts = np.flatnonzero(new_buyer)
    counts = np.diff(np.r_[starts, n])
    in_window = at >= cutoff - np.timedelta64(window_days, "D")
    day = _days(at)
    first_day = np.repeat(day[starts], counts)
    new_day = new_buyer | np.r_[True, day[1:] != day[:-1]]
    return Buyers(
        as_of=as_of,
        contact_id=who[starts].astype(np.int64),
        first_order_at=at[starts],
        last_order_at=at[starts + counts - 1],
        orders_total=counts.astype(np.int64),
        revenue_total=np.add.reduceat(money, starts),
        window_orders=np.add.reduceat(in_window.astype(np.int64), starts),
        window_revenue=np.add.reduceat(np.where(in_window, money, 0.0), starts),
        order_days=np.add.reduceat(new_day.astype(np.int64), starts),
        first_day_revenue=np.add.reduceat(np.where(day == first_day, money, 0.0), starts),
    )


def _days(moments: Moments) -> Ints:
    """Return UTC calendar days (since 1970-01-01) of naive UTC datetime64 values."""
    return moments.astype("datetime64[D]").astype(np.int64)


def _epoch_day(day: date) -> int:
    """Return `day` as days since 1970-01-01."""
    return (day - date(1970, 1, 1)).days
