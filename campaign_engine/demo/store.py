"""Generate the whole demo store in memory from (contacts, seed, today), without a database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import numpy.typing as npt

from campaign_engine.demo.campaign import CampaignTruth, run_campaign
from campaign_engine.demo.catalog import Catalog, build_catalog
from campaign_engine.demo.consents import Consents, generate_consents
from campaign_engine.demo.population import Population, generate_population
from campaign_engine.demo.purchases import Purchases, generate_history
from campaign_engine.demo.web_events import WebEvents, generate_web_events


@dataclass(frozen=True)
class ContactHistory:
    """Each contact's final order count, last order time (-1 if none) and total spend."""

    orders: npt.NDArray[np.int64]
    last_order: npt.NDArray[np.int64]
    spend: npt.NDArray[np.float64]


@dataclass(frozen=True)
class DemoStore:
    """Everything the demo writes, as arrays; times are epoch seconds before `horizon`."""

    horizon: int
    catalog: Catalog
    population: Population
    consents: Consents
    purchases: Purchases
    campaign: CampaignTruth
    events: WebEvents
    history: ContactHistory


def horizon_of(today: date) -> int:
    """Return midnight UTC at the start of `today` in epoch seconds; all data lies before it."""
    return int(datetime(today.year, today.month, today.day, tzinfo=UTC).timestamp())


def _contact_history(purchases: Purchases, catalog: Catalog, n: int) -> ContactHistory:
    revenue, _ = purchases.totals(catalog)
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, purchases.contact, purchases.time)
    return ContactHistory(
        orders=np.bincount(purchases.contact, minlength=n),
        last_order=last,
        spend=np.bincount(purchases.contact, revenue, minlength=n).astype(np.float64),
    )


def generate_store(contacts: int, seed: int, today: date) -> DemoStore:
    """Generate the demo store; the same arguments always give the same store."""
    if contacts < 1:
        raise ValueError("the demo needs at least one contact")
    rng = np.random.default_rng(seed)
    horizon = horizon_of(today)
    catalog = build_catalog()
    population = generate_population(rng, contacts, horizon)
    consents = generate_consents(rng, population, horizon)
    history = generate_history(rng, population, catalog, horizon)
    campaign, purchases = run_campaign(rng, population, consents, history, catalog, horizon)
    events = generate_web_events(rng, population, catalog, horizon)
    return DemoStore(
        horizon=horizon,
        catalog=catalog,
        population=population,
        consents=consents,
        purchases=purchases,
        campaign=campaign,
        events=events,
        history=_contact_history(purchases, catalog, contacts),
    )
