"""Turn demo contacts and products into insert-ready row dicts; chunking shared by all tables."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from campaign_engine.demo.catalog import SEASONAL_CATEGORIES
from campaign_engine.demo.names import (
    EDUCATION_LEVELS,
    EMAIL_DOMAINS,
    FIRST_FEMALE,
    FIRST_MALE,
    GENDERS,
    LAST,
    SOURCES,
    SUPPRESSED_DOMAINS,
)
from campaign_engine.demo.places import PLACES, phone_number, postal_code
from campaign_engine.demo.population import (
    DAY,
    EMAIL_INVALID,
    EMAIL_MISSING,
    PERSONAS,
    SEASONS,
    Population,
)
from campaign_engine.demo.store import DemoStore

Row = dict[str, Any]
LOYALTY_TIERS = ((3000.0, "platinum"), (1000.0, "gold"), (250.0, "silver"), (0.0, "bronze"))
ALL_DOMAINS = EMAIL_DOMAINS + tuple(domain for domain, _ in SUPPRESSED_DOMAINS)
LANGUAGE = {"de": "de", "fr": "fr"}
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class TableRows:
    """The rows of one table: how many, and a function yielding them in chunks."""

    table: str
    total: int
    chunks: Callable[[int], Iterator[list[Row]]]


def aware_times(seconds: npt.NDArray[np.int64]) -> list[datetime]:
    """Return epoch seconds as aware UTC datetimes."""
    at = datetime.fromtimestamp
    return [at(s, UTC) for s in seconds.tolist()]


def spans(total: int, size: int) -> Iterator[slice]:
    """Yield consecutive slices of at most `size` covering `total` items."""
    for low in range(0, total, size):
        yield slice(low, min(low + size, total))


# Population fields copied to plain lists per chunk: row building then avoids numpy scalars.
CONTACT_FIELDS = (
    "place", "gender", "name_seed", "birth_day", "income", "education", "source", "created",
    "persona", "season", "complaint", "email_kind", "email_domain", "has_phone",
)  # fmt: skip


def _email(kind: int, domain: int, i: int, first: str, last: str) -> str | None:
    if kind == EMAIL_MISSING:
        return None
    local = (f"{first}.{last}", f"{first[0]}{last}", first)[i % 3].lower() + str(i + 1)
    host = ALL_DOMAINS[domain]
    if kind == EMAIL_INVALID:
        return (f"{local}@", f"{local}.{host}", f"{local}@{host.split('.')[0]}")[i % 3]
    return f"{local}@{host}"


def _names(place: int, gender: int, seed: int) -> tuple[str, str]:
    language = LANGUAGE.get(PLACES[place].locale[:2], "en")
    female = gender == 0 or (gender > 1 and seed % 2 == 0)
    firsts = (FIRST_FEMALE if female else FIRST_MALE)[language]
    lasts = LAST[language]
    return firsts[seed % len(firsts)], lasts[seed // 1000 % len(lasts)]


def contact_email(population: Population, i: int) -> str | None:
    """Return the email address of the contact at position `i` (None if it has none)."""
    p = population
    first, last = _names(int(p.place[i]), int(p.gender[i]), int(p.name_seed[i]))
    return _email(int(p.email_kind[i]), int(p.email_domain[i]), i, first, last)


def _lifecycle(orders: int, last_order: int, horizon: int) -> str:
    if orders == 0:
        return "prospect"
    if last_order < horizon - 365 * DAY:
        return "lapsed"
    return "customer" if orders == 1 else "repeat_customer"


def _attributes(c: Row, spend: float) -> Row:
    tier = next((name for floor, name in LOYALTY_TIERS if spend > floor), "none")
    attributes: Row = {
        "persona": PERSONAS[c["persona"]],
        "loyalty_tier": tier,
        "loyalty_points": int(spend),
    }
    if c["season"] >= 0:
        attributes["season"] = SEASONS[c["season"]]
    if c["complaint"]:
        attributes["recent_complaint"] = True
    return attributes


def _contact(i: int, c: Row, horizon: int) -> Row:
    place = PLACES[c["place"]]
    first, last = _names(c["place"], c["gender"], c["name_seed"])
    income, education = c["income"], c["education"]
    return {
        "id": i + 1,
        "external_id": f"C{i + 1:07d}",
        "email": _email(c["email_kind"], c["email_domain"], i, first, last),
        "phone": phone_number(place, i + 1) if c["has_phone"] else None,
        "first_name": first,
        "last_name": last,
        "birth_date": date.fromordinal(EPOCH_ORDINAL + c["birth_day"]),
        "gender": GENDERS[c["gender"]],
        "city": place.city,
        "region": place.region,
        "country": place.country,
        "postal_code": postal_code(place, c["name_seed"] // 7),
        "time_zone": place.time_zone,
        "locale": place.locale,
        "household_income": income if income >= 0 else None,
        "education_level": EDUCATION_LEVELS[education] if education >= 0 else None,
        "lifecycle_stage": _lifecycle(c["orders"], c["last_order"], horizon),
        "source": SOURCES[c["source"]],
        "attributes": _attributes(c, c["spend"]),
        "created_at": c["created_at"],
        "updated_at": c["updated_at"],
    }


def contact_rows(store: DemoStore) -> TableRows:
    """Return the contacts, with ids 1..N."""
    population, history = store.population, store.history
    updated = np.maximum(population.created, history.last_order)

    def columns(span: slice) -> dict[str, list[Any]]:
        cols = {name: getattr(population, name)[span].tolist() for name in CONTACT_FIELDS}
        cols["orders"] = history.orders[span].tolist()
        cols["last_order"] = history.last_order[span].tolist()
        cols["spend"] = history.spend[span].tolist()
        cols["created_at"] = aware_times(population.created[span])
        cols["updated_at"] = aware_times(updated[span])
        return cols

    def chunks(size: int) -> Iterator[list[Row]]:
        for span in spans(population.size, size):
            cols = columns(span)
            names = list(cols)
            yield [
                _contact(span.start + j, dict(zip(names, values, strict=True)), store.horizon)
                for j, values in enumerate(zip(*cols.values(), strict=True))
            ]

    return TableRows("contacts", population.size, chunks)


def product_rows(store: DemoStore) -> TableRows:
    """Return the catalogue, premium versions first so every premium link points backwards."""
    catalog = store.catalog
    created = datetime.fromtimestamp(store.horizon - 3 * 365 * DAY, UTC)
    rows = [
        {
            "id": i + 1,
            "sku": spec.sku,
            "name": spec.name,
            "category": spec.category,
            "price": spec.price,
            "unit_cost": float(catalog.unit_cost[i]),
            "tier": spec.tier,
            "premium_product_id": int(catalog.premium[i]) + 1 if catalog.premium[i] >= 0 else None,
            "active": True,
            "attributes": (
                {"season": SEASONAL_CATEGORIES[spec.category]}
                if spec.category in SEASONAL_CATEGORIES
                else {}
            ),
            "created_at": created,
            "updated_at": created,
        }
        for i, spec in enumerate(catalog.specs)
    ]
    rows.sort(key=lambda row: row["premium_product_id"] is not None)
    return TableRows("products", len(rows), lambda size: iter([rows]))
