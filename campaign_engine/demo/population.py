"""Draw the demo contacts as arrays: demographics, places, personas and reachability."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from campaign_engine.demo.catalog import CATEGORIES, CATEGORY_WEIGHT, SEASONAL_CATEGORIES
from campaign_engine.demo.names import (
    EDUCATION_WEIGHTS,
    EMAIL_DOMAIN_WEIGHTS,
    GENDER_WEIGHTS,
    SOURCE_WEIGHTS,
    SUPPRESSED_DOMAINS,
)
from campaign_engine.demo.places import PLACES

DAY = 86_400
YEAR_DAYS = 365.25
HISTORY_DAYS = 3 * 365
# Seasonal-only buyers have been customers long enough to have lived through their season.
SEASONAL_MIN_AGE_DAYS = 400

PERSONAS = ("prospect", "occasional", "frequent", "seasonal_only", "category_gap")
PERSONA_WEIGHTS = (0.58, 0.31, 0.05, 0.035, 0.025)
PROSPECT, OCCASIONAL, FREQUENT, SEASONAL_ONLY, CATEGORY_GAP = range(len(PERSONAS))
SEASONS = ("winter", "summer")

EMAIL_VALID, EMAIL_MISSING, EMAIL_INVALID = 0, 1, 2
EMAIL_KIND_WEIGHTS = (0.95, 0.03, 0.02)
SUPPRESSED_DOMAIN_SHARE = 0.004
PHONE_SHARE = 0.85
COMPLAINT_SHARE = 0.06
INCOME_MISSING_SHARE = 0.05
EDUCATION_MISSING_SHARE = 0.06


@dataclass(frozen=True)
class Population:
    """Contacts as parallel arrays; contact id = position + 1. Times are epoch seconds."""

    place: npt.NDArray[np.int16]
    gender: npt.NDArray[np.int8]
    name_seed: npt.NDArray[np.int64]
    birth_day: npt.NDArray[np.int64]
    income: npt.NDArray[np.int64]
    education: npt.NDArray[np.int8]
    source: npt.NDArray[np.int8]
    created: npt.NDArray[np.int64]
    persona: npt.NDArray[np.int8]
    season: npt.NDArray[np.int8]
    favourite: npt.NDArray[np.int16]
    premium_affinity: npt.NDArray[np.float64]
    complaint: npt.NDArray[np.bool_]
    email_kind: npt.NDArray[np.int8]
    email_domain: npt.NDArray[np.int8]
    has_phone: npt.NDArray[np.bool_]

    @property
    def size(self) -> int:
        """Return the number of contacts."""
        return len(self.place)

    def age_at(self, day: int) -> npt.NDArray[np.float64]:
        """Return each contact's age in years on epoch day `day`."""
        return (day - self.birth_day) / YEAR_DAYS

    def email_suppressed_by_domain(self) -> npt.NDArray[np.bool_]:
        """Return which contacts' addresses sit on a suppressed domain."""
        on_list = self.email_domain >= len(EMAIL_DOMAIN_WEIGHTS)
        return np.asarray((self.email_kind == EMAIL_VALID) & on_list, dtype=np.bool_)


def _choice(rng: np.random.Generator, weights: tuple[float, ...], n: int) -> npt.NDArray[np.int8]:
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int8)


def _incomes(
    rng: np.random.Generator, age: npt.NDArray[np.float64], education: npt.NDArray[np.int8]
) -> npt.NDArray[np.int64]:
    # Income rises with education and peaks in the early fifties.
    log_income = (
        np.log(52_000.0)
        + 0.18 * (np.maximum(education, 0) - 2)
        - 0.0004 * (age - 52.0) ** 2
        + rng.normal(0.0, 0.45, len(age))
    )
    income: npt.NDArray[np.int64] = (np.round(np.exp(log_income) / 1000.0) * 1000).astype(np.int64)
    income[rng.random(len(age)) < INCOME_MISSING_SHARE] = -1
    return income


def _favourites(
    rng: np.random.Generator, persona: npt.NDArray[np.int8], season: npt.NDArray[np.int8]
) -> npt.NDArray[np.int16]:
    everyday = np.array(
        [0.0 if c in SEASONAL_CATEGORIES else CATEGORY_WEIGHT[c] for c in CATEGORIES]
    )
    favourite = rng.choice(len(CATEGORIES), size=len(persona), p=everyday / everyday.sum())
    seasonal = persona == SEASONAL_ONLY
    favourite[seasonal & (season == 0)] = CATEGORIES.index("ski_gear")
    favourite[seasonal & (season == 1)] = CATEGORIES.index("swimwear")
    favourite[persona == CATEGORY_GAP] = CATEGORIES.index("software")
    return favourite.astype(np.int16)


def _premium_affinity(income: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    # The chance of taking the premium version: 5% for low incomes, up to 40% for high ones.
    known = np.where(income > 0, income, 55_000).astype(np.float64)
    affinity: npt.NDArray[np.float64] = 0.05 + 0.35 / (
        1.0 + np.exp(-(np.log(known) - np.log(90_000.0)) / 0.4)
    )
    return affinity


def _email_domains(rng: np.random.Generator, n: int) -> npt.NDArray[np.int8]:
    domain = _choice(rng, EMAIL_DOMAIN_WEIGHTS, n)
    odd = rng.random(n) < SUPPRESSED_DOMAIN_SHARE
    domain[odd] = len(EMAIL_DOMAIN_WEIGHTS) + rng.integers(0, len(SUPPRESSED_DOMAINS), odd.sum())
    return domain


def generate_population(rng: np.random.Generator, n: int, horizon: int) -> Population:
    """Draw `n` contacts who all joined before `horizon` (epoch seconds)."""
    today = horizon // DAY
    place = _choice(rng, tuple(p.weight for p in PLACES), n).astype(np.int16)
    gender = _choice(rng, GENDER_WEIGHTS, n)
    name_seed = rng.integers(0, 2**31, n)
    age = 18.0 + 67.99 * rng.beta(2.2, 3.0, n)
    birth_day = today - np.floor(age * YEAR_DAYS).astype(np.int64)
    education = _choice(rng, EDUCATION_WEIGHTS, n)
    education[rng.random(n) < EDUCATION_MISSING_SHARE] = -1
    income = _incomes(rng, age, education)
    source = _choice(rng, SOURCE_WEIGHTS, n)
    persona = _choice(rng, PERSONA_WEIGHTS, n)
    season = np.where(persona == SEASONAL_ONLY, rng.integers(0, 2, n), -1).astype(np.int8)
    # Sign-ups grow over time: more recent days are more likely.
    days_ago = HISTORY_DAYS * rng.random(n) ** 1.3
    long_standing = SEASONAL_MIN_AGE_DAYS + (HISTORY_DAYS - SEASONAL_MIN_AGE_DAYS) * rng.random(n)
    days_ago = np.where(persona == SEASONAL_ONLY, long_standing, days_ago)
    created = horizon - 1 - (days_ago * DAY).astype(np.int64)
    buyer = (persona == OCCASIONAL) | (persona == FREQUENT)
    return Population(
        place=place,
        gender=gender,
        name_seed=name_seed,
        birth_day=birth_day,
        income=income,
        education=education,
        source=source,
        created=created,
        persona=persona,
        season=season,
        favourite=_favourites(rng, persona, season),
        premium_affinity=_premium_affinity(income),
        complaint=buyer & (rng.random(n) < COMPLAINT_SHARE),
        email_kind=_choice(rng, EMAIL_KIND_WEIGHTS, n),
        email_domain=_email_domains(rng, n),
        has_phone=rng.random(n) < PHONE_SHARE,
    )
