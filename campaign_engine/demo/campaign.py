"""Run the demo's past randomised email campaign, with each member's known true effect."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from campaign_engine.demo.catalog import SEASON_MONTHS, Catalog
from campaign_engine.demo.consents import NOT_SUPPRESSED, OPTED_OUT, UNKNOWN, Consents
from campaign_engine.demo.population import DAY, EMAIL_VALID, SEASONS, Population
from campaign_engine.demo.purchases import Purchases, month_of, place_orders

CAMPAIGN_CODE = "DEMO-EMAIL-OFFER"
CAMPAIGN_NAME = "Demo: past randomised email offer"
STARTED_DAYS_AGO = 60
WINDOW_DAYS = 30
MEMBER_SHARE = 0.5
TREATED_SHARE = 0.5
CODED_SHARE = 0.6  # treated buyers who quote the campaign code at checkout
FIXED_COST = 250.0
COST_PER_EMAIL = 0.03
NEVER = np.inf


@dataclass(frozen=True)
class MemberFeatures:
    """What the true effect depends on, per member, as of the campaign start."""

    age: npt.NDArray[np.float64]
    income: npt.NDArray[np.int64]
    email_unknown: npt.NDArray[np.bool_]
    complaint: npt.NDArray[np.bool_]
    recency_days: npt.NDArray[np.float64]
    orders_365: npt.NDArray[np.int64]
    in_season_share: npt.NDArray[np.float64]


@dataclass(frozen=True)
class CampaignTruth:
    """The campaign's members, assignment, known probabilities and outcomes."""

    start: int
    end: int
    member: npt.NDArray[np.int64]
    treated: npt.NDArray[np.bool_]
    baseline: npt.NDArray[np.float64]
    effect: npt.NDArray[np.float64]
    purchased: npt.NDArray[np.bool_]

    @property
    def cost(self) -> float:
        """Return what sending cost: a fixed fee plus a price per treated contact."""
        return round(FIXED_COST + COST_PER_EMAIL * int(self.treated.sum()), 2)


def baseline_probability(f: MemberFeatures) -> npt.NDArray[np.float64]:
    """Return the chance of buying in the window without the email."""
    by_recency = np.select(
        [f.recency_days <= 60, f.recency_days <= 365, np.isfinite(f.recency_days)],
        [0.12, 0.06, 0.025],
        default=0.01,
    )
    base = np.minimum(by_recency + 0.025 * np.minimum(f.orders_365, 12), 0.8)
    return base * f.in_season_share


def true_effect(f: MemberFeatures) -> npt.NDArray[np.float64]:
    """Return how much the email changes the chance of buying (before clipping to [0, 1])."""
    bought = np.isfinite(f.recency_days)
    effect = np.where(bought, 0.02, 0.01)
    effect = effect + np.where(bought & (f.recency_days > 60) & (f.recency_days <= 365), 0.05, 0)
    effect = effect + np.where(f.recency_days > 365, 0.03, 0.0)
    effect = effect + np.where(f.age < 35, 0.03, 0.0)
    effect = effect - np.where(f.income >= 120_000, 0.02, 0.0)
    # Sure things buy anyway; sleeping dogs are put off by being mailed.
    effect = np.where(f.orders_365 >= 6, 0.0, effect)
    effect = np.where(f.email_unknown & (f.age >= 60), -0.03, effect)
    effect = np.where(f.complaint, -0.06, effect)
    return effect * f.in_season_share


def open_slots(start: int, season: str) -> npt.NDArray[np.int64]:
    """Return the window's 24-hour slots (days after `start`) that lie wholly in `season`."""
    slot = np.arange(WINDOW_DAYS)
    opens = month_of(start + slot * DAY)
    closes = month_of(start + (slot + 1) * DAY - 1)
    months = SEASON_MONTHS[season]
    return slot[np.isin(opens, months) & np.isin(closes, months)]


def _in_season_share(
    population: Population, member: npt.NDArray[np.int64], start: int
) -> npt.NDArray[np.float64]:
    # Seasonal-only buyers can only buy in the part of the window that is in their season.
    share = np.ones(len(member))
    for s, season in enumerate(SEASONS):
        share[population.season[member] == s] = len(open_slots(start, season)) / WINDOW_DAYS
    return share


def _history_features(
    history: Purchases, n: int, start: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    before = history.time < start
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, history.contact[before], history.time[before])
    recency = np.where(last >= 0, (start - last) / DAY, NEVER)
    recent = before & (history.time >= start - 365 * DAY)
    return recency, np.bincount(history.contact[recent], minlength=n)


def member_features(
    population: Population,
    consents: Consents,
    history: Purchases,
    member: npt.NDArray[np.int64],
    start: int,
) -> MemberFeatures:
    """Return the features of `member` (contact positions) as of `start`."""
    recency, orders_365 = _history_features(history, population.size, start)
    return MemberFeatures(
        age=population.age_at(start // DAY)[member],
        income=population.income[member],
        email_unknown=consents.email.state_at(start)[member] == UNKNOWN,
        complaint=population.complaint[member],
        recency_days=recency[member],
        orders_365=orders_365[member],
        in_season_share=_in_season_share(population, member, start),
    )


def eligible_contacts(
    population: Population, consents: Consents, start: int
) -> npt.NDArray[np.int64]:
    """Return the contacts the campaign could email at `start`."""
    suppressed = (consents.suppression != NOT_SUPPRESSED) & (consents.suppressed_at < start)
    ok = (
        (population.created < start)
        & (population.email_kind == EMAIL_VALID)
        & ~population.email_suppressed_by_domain()
        & ~suppressed
        & (consents.email.state_at(start) != OPTED_OUT)
    )
    return np.flatnonzero(ok)


def _purchase_times(
    rng: np.random.Generator, population: Population, buyer: npt.NDArray[np.int64], start: int
) -> npt.NDArray[np.int64]:
    slot = rng.integers(0, WINDOW_DAYS, len(buyer))
    for s, season in enumerate(SEASONS):
        pick = np.flatnonzero(population.season[buyer] == s)
        slots = open_slots(start, season)
        if len(pick):
            slot[pick] = slots[rng.integers(0, len(slots), len(pick))]
    return start + slot * DAY + rng.integers(0, DAY, len(buyer))


def run_campaign(
    rng: np.random.Generator,
    population: Population,
    consents: Consents,
    history: Purchases,
    catalog: Catalog,
    horizon: int,
) -> tuple[CampaignTruth, Purchases]:
    """Assign, treat and observe the campaign; return its truth and the orders it implies."""
    start = (horizon // DAY - STARTED_DAYS_AGO) * DAY + 14 * 3600
    end = start + WINDOW_DAYS * DAY
    eligible = eligible_contacts(population, consents, start)
    member = eligible[rng.random(len(eligible)) < MEMBER_SHARE]
    treated = rng.random(len(member)) < TREATED_SHARE
    features = member_features(population, consents, history, member, start)
    baseline = np.clip(baseline_probability(features), 0.0, 1.0)
    effect = np.clip(baseline + true_effect(features), 0.0, 1.0) - baseline
    purchased = rng.random(len(member)) < baseline + np.where(treated, effect, 0.0)
    truth = CampaignTruth(start, end, member, treated, baseline, effect, purchased)
    # Members' purchases in the window are the campaign's outcome, so they replace history.
    is_member = np.zeros(population.size, dtype=bool)
    is_member[member] = True
    in_window = is_member[history.contact] & (history.time >= start) & (history.time < end)
    buyer = member[purchased]
    time = _purchase_times(rng, population, buyer, start)
    outcome = place_orders(rng, population, catalog, buyer, time)
    coded = treated[purchased] & (rng.random(len(buyer)) < CODED_SHARE)
    outcome = Purchases(outcome.contact, outcome.time, outcome.channel, coded, outcome.lines)
    return truth, history.without(in_window).plus(outcome)
