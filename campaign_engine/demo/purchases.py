"""Draw the order history: who buys how often, when (with seasonality), through which channel."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from campaign_engine.demo.baskets import Buyers, Lines, fill_baskets
from campaign_engine.demo.catalog import SEASON_MONTHS, Catalog
from campaign_engine.demo.population import (
    CATEGORY_GAP,
    DAY,
    FREQUENT,
    OCCASIONAL,
    SEASONAL_ONLY,
    SEASONS,
    Population,
)

ORDER_DAYS = 2 * 365
# Orders per buyer over a full two years: a minimum plus a Poisson draw with this mean.
ORDER_COUNTS = {
    OCCASIONAL: (1, 2.2),
    FREQUENT: (2, 9.0),
    SEASONAL_ONLY: (1, 2.0),
    CATEGORY_GAP: (2, 3.0),
}
ORDER_CHANNELS = ("web", "store", "phone")
CHANNEL_WEIGHTS = (0.6, 0.3, 0.1)
# Month multipliers (January first) on how many orders a day brings.
MONTH_VOLUME = (0.9, 0.85, 0.95, 0.95, 1.0, 1.05, 1.1, 1.1, 0.95, 1.0, 1.4, 1.9)
WEEKEND_VOLUME = 1.15


@dataclass(frozen=True)
class Purchases:
    """Orders (contact position, epoch-second time, channel, campaign-coded) and their lines."""

    contact: npt.NDArray[np.int64]
    time: npt.NDArray[np.int64]
    channel: npt.NDArray[np.int64]
    coded: npt.NDArray[np.bool_]
    lines: Lines

    @property
    def size(self) -> int:
        """Return the number of orders."""
        return len(self.contact)

    def without(self, drop: npt.NDArray[np.bool_]) -> Purchases:
        """Return these purchases less the orders flagged in `drop`."""
        keep = ~drop
        renumber = np.cumsum(keep) - 1
        line_keep = keep[self.lines.order]
        lines = self.lines
        return Purchases(
            self.contact[keep],
            self.time[keep],
            self.channel[keep],
            self.coded[keep],
            Lines(
                renumber[lines.order[line_keep]],
                lines.product[line_keep],
                lines.quantity[line_keep],
                lines.number[line_keep],
            ),
        )

    def plus(self, other: Purchases) -> Purchases:
        """Return both sets of orders in time order (order id follows time)."""
        time = np.concatenate([self.time, other.time])
        rank = np.empty(len(time), dtype=np.int64)
        by_time = np.argsort(time, kind="stable")
        rank[by_time] = np.arange(len(time))
        line_order = np.concatenate([self.lines.order, other.lines.order + self.size])
        line_order = rank[line_order]
        by_line = np.lexsort((np.concatenate([self.lines.number, other.lines.number]), line_order))

        def both(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
            return np.concatenate([a, b])

        return Purchases(
            np.concatenate([self.contact, other.contact])[by_time],
            time[by_time],
            np.concatenate([self.channel, other.channel])[by_time],
            np.concatenate([self.coded, other.coded])[by_time],
            Lines(
                line_order[by_line],
                both(self.lines.product, other.lines.product)[by_line],
                both(self.lines.quantity, other.lines.quantity)[by_line],
                both(self.lines.number, other.lines.number)[by_line],
            ),
        )

    def totals(self, catalog: Catalog) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Return each order's revenue and cost."""
        lines = self.lines
        revenue = np.bincount(
            lines.order, lines.quantity * catalog.price[lines.product], minlength=self.size
        )
        cost = np.bincount(
            lines.order, lines.quantity * catalog.unit_cost[lines.product], minlength=self.size
        )
        return np.round(revenue, 2), np.round(cost, 2)


def month_of(time: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Return the calendar month (1-12) of each epoch-second time."""
    return time.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) % 12 + 1


def _day_weights(days: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    trend = np.linspace(0.8, 1.2, len(days))
    weekend = np.where(weekday >= 5, WEEKEND_VOLUME, 1.0)
    return np.asarray(MONTH_VOLUME)[months] * weekend * trend


def _order_counts(
    rng: np.random.Generator, population: Population, start: npt.NDArray[np.int64], horizon: int
) -> npt.NDArray[np.int64]:
    span = (horizon - start) / (ORDER_DAYS * DAY)
    counts = np.zeros(population.size, dtype=np.int64)
    for persona, (minimum, mean) in ORDER_COUNTS.items():
        who = np.flatnonzero(population.persona == persona)
        # Recent sign-ups have had less time to buy, even their guaranteed first orders.
        counts[who] = rng.binomial(minimum, span[who]) + rng.poisson(mean * span[who])
    return counts


def _order_times(
    rng: np.random.Generator,
    population: Population,
    buyer: npt.NDArray[np.int64],
    start: npt.NDArray[np.int64],
    horizon: int,
) -> npt.NDArray[np.int64]:
    first_day = horizon // DAY - ORDER_DAYS
    days = np.arange(first_day, horizon // DAY)
    weights = _day_weights(days)
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1
    # Seasonal-only buyers draw from a calendar with zero weight outside their season.
    calendars = [weights] + [weights * np.isin(months, SEASON_MONTHS[s]) for s in SEASONS]
    which = np.where(population.season[buyer] >= 0, population.season[buyer] + 1, 0)
    day = np.empty(len(buyer), dtype=np.int64)
    start_index = start[buyer] // DAY - first_day
    for c, calendar in enumerate(calendars):
        pick = np.flatnonzero(which == c)
        cumulative = np.r_[0.0, np.cumsum(calendar)]
        low = cumulative[start_index[pick]]
        u = low + rng.random(len(pick)) * (cumulative[-1] - low)
        day[pick] = np.searchsorted(cumulative, u, side="right") - 1
    time = (first_day + day) * DAY + rng.integers(0, DAY, len(buyer))
    return np.asarray(np.maximum(time, population.created[buyer]), dtype=np.int64)


def buyers_of(
    population: Population, contact: npt.NDArray[np.int64], time: npt.NDArray[np.int64]
) -> Buyers:
    """Return the basket inputs for orders by `contact` at `time`."""
    return Buyers(
        month=month_of(time),
        persona=population.persona[contact],
        favourite=population.favourite[contact],
        premium_affinity=population.premium_affinity[contact],
    )


def place_orders(
    rng: np.random.Generator,
    population: Population,
    catalog: Catalog,
    contact: npt.NDArray[np.int64],
    time: npt.NDArray[np.int64],
) -> Purchases:
    """Fill baskets and pick channels for orders by `contact` at `time`."""
    lines = fill_baskets(rng, catalog, buyers_of(population, contact, time))
    channel = rng.choice(len(ORDER_CHANNELS), size=len(contact), p=CHANNEL_WEIGHTS)
    return Purchases(contact, time, channel, np.zeros(len(contact), dtype=bool), lines)


def generate_history(
    rng: np.random.Generator, population: Population, catalog: Catalog, horizon: int
) -> Purchases:
    """Draw every buyer's orders over the two years before `horizon`."""
    start = np.maximum(population.created, horizon - ORDER_DAYS * DAY)
    counts = _order_counts(rng, population, start, horizon)
    buyer = np.repeat(np.arange(population.size), counts)
    time = _order_times(rng, population, buyer, start, horizon)
    by_time = np.argsort(time, kind="stable")
    return place_orders(rng, population, catalog, buyer[by_time], time[by_time])
