"""The active rule set and the catalogue in memory: what a recommendation reads, without SQL.

A `RuleSnapshot` is immutable and built once per rule-set version (and catalogue change) in
each process; `SnapshotCache` checks cheaply, at most every few seconds, whether a new one is
needed, so a request does dictionary lookups instead of queries over the rules.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

Item = Hashable  # a product id (product level) or a category name (category level)


@dataclass(frozen=True, slots=True)
class ProductInfo:
    """What a recommendation needs to know of one product."""

    id: int
    sku: str
    name: str
    category: str
    price: float
    margin: float  # price - unit cost; the price when the cost is unknown
    premium_id: int | None
    active: bool
    tier: str | None = None  # basic, standard or premium


@dataclass(frozen=True, slots=True)
class Rule:
    """antecedents → consequents with its measures (one row of a stored rule set)."""

    antecedents: frozenset[Any]
    consequents: tuple[Any, ...]
    support: float
    confidence: float
    lift: float


@dataclass(frozen=True)
class RuleIndex:
    """Rules by antecedent: single items by key, larger antecedents by their smallest item."""

    single: dict[Any, tuple[Rule, ...]] = field(default_factory=dict)
    multi: dict[Any, tuple[Rule, ...]] = field(default_factory=dict)
    size: int = 0

    @classmethod
    def of(cls, rules: Iterable[Rule]) -> RuleIndex:
        """Index `rules`."""
        single: dict[Any, list[Rule]] = defaultdict(list)
        multi: dict[Any, list[Rule]] = defaultdict(list)
        size = 0
        for rule in rules:
            size += 1
            if len(rule.antecedents) == 1:
                single[next(iter(rule.antecedents))].append(rule)
            else:
                multi[min(rule.antecedents, key=repr)].append(rule)
        return cls(
            {k: tuple(v) for k, v in single.items()},
            {k: tuple(v) for k, v in multi.items()},
            size,
        )

    def fired(self, items: Iterable[Any]) -> list[Rule]:
        """Return every rule whose antecedents all lie in `items`, each once."""
        present = items if isinstance(items, set | frozenset) else set(items)
        found: list[Rule] = []
        for item in present:
            found.extend(self.single.get(item, ()))
            for rule in self.multi.get(item, ()):
                if rule.antecedents <= present:
                    found.append(rule)
        return found


@dataclass(frozen=True)
class RuleSnapshot:
    """One rule set (or none) and the catalogue, indexed for lookups.

    `per` says what a basket was when the rules were mined ("order" or "customer"); reasons
    are worded after it. Popularity lists hold active products only, most bought first.
    """

    version: int | None
    per: str
    baskets: int
    products: dict[int, ProductInfo]
    by_sku: dict[str, int]
    product_rules: RuleIndex
    category_rules: RuleIndex
    product_support: dict[int, float]
    category_support: dict[str, float]
    popular: tuple[int, ...]
    popular_by_category: dict[str, tuple[int, ...]]
    family: dict[int, int] = field(default_factory=dict)
    catalogue_stamp: tuple[Any, ...] = ()

    @cached_property
    def categories(self) -> frozenset[str]:
        """Return every category of the catalogue."""
        return frozenset(p.category for p in self.products.values())


def build_snapshot(
    version: int | None,
    per: str,
    baskets: int,
    products: Sequence[ProductInfo],
    rules: Iterable[tuple[str, Rule]],
    items: Iterable[tuple[str, Any, float]],
    catalogue_stamp: tuple[Any, ...] = (),
) -> RuleSnapshot:
    """Index `rules` ((level, rule) pairs) and `items` ((level, item, support)) over `products`.

    Only rules with a single consequent are kept: they are what a recommendation explains.
    """
    by_id = {p.id: p for p in products}
    product_rules: list[Rule] = []
    category_rules: list[Rule] = []
    for level, rule in rules:
        # One consequent each: a rule X -> {A, B} says nothing of A alone that X -> A does not.
        if len(rule.consequents) != 1:
            continue
        if level == "category":
            category_rules.append(rule)
        elif all(a in by_id for a in rule.antecedents) and rule.consequents[0] in by_id:
            product_rules.append(rule)
    product_support: dict[int, float] = {}
    category_support: dict[str, float] = {}
    for level, item, support in items:
        if level == "product" and item in by_id:
            product_support[int(item)] = support
        elif level == "category":
            category_support[str(item)] = support
    ranked = sorted(
        (pid for pid, p in by_id.items() if p.active and pid in product_support),
        key=lambda pid: (-product_support[pid], pid),
    )
    by_category: dict[str, list[int]] = defaultdict(list)
    for pid in ranked:
        by_category[by_id[pid].category].append(pid)
    return RuleSnapshot(
        version=version,
        per=per,
        baskets=baskets,
        products=by_id,
        by_sku={p.sku: p.id for p in products},
        product_rules=RuleIndex.of(product_rules),
        category_rules=RuleIndex.of(category_rules),
        product_support=product_support,
        category_support=category_support,
        popular=tuple(ranked),
        popular_by_category={c: tuple(ids) for c, ids in by_category.items()},
        family=families(by_id),
        catalogue_stamp=catalogue_stamp,
    )


def families(products: dict[int, ProductInfo]) -> dict[int, int]:
    """Return each product's family: the top of its chain of premium versions.

    Laptop Basic and Laptop 15in both lead to Laptop Pro, so all three are one family: the
    versions of one thing, where a dearer one is an up-sell and a cheaper one no offer at all.
    """
    found: dict[int, int] = {}
    for pid in products:
        seen = [pid]
        top = pid
        while (up := products[top].premium_id) is not None and up in products and up not in seen:
            top = up
            seen.append(up)
        found[pid] = top
    return found


STAMP_SQL = text(
    "SELECT (SELECT id FROM rule_sets WHERE active = :yes),"
    " (SELECT count(*) FROM products), (SELECT max(updated_at) FROM products)"
)


class SnapshotCache:
    """The current snapshot of one database, rebuilt when the active version or catalogue changes.

    `get()` returns at once from memory; every `seconds` one caller checks the database (one
    small query) and, if something changed, loads the new snapshot while other threads keep
    answering from the old one.
    """

    def __init__(self, engine: Engine, seconds: float = 5.0) -> None:
        self.engine = engine
        self.seconds = seconds
        self._snapshot: RuleSnapshot | None = None
        self._stamp: tuple[Any, ...] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def get(self) -> RuleSnapshot:
        """Return the current snapshot, checking for a newer one when the interval has passed."""
        snapshot = self._snapshot
        now = time.monotonic()
        if snapshot is not None and now - self._checked < self.seconds:
            return snapshot
        if snapshot is not None and not self._lock.acquire(blocking=False):
            return snapshot  # another thread is checking; answer from what we have
        if snapshot is None:
            self._lock.acquire()
        try:
            if self._snapshot is not None and time.monotonic() - self._checked < self.seconds:
                return self._snapshot
            self._refresh()
            assert self._snapshot is not None
            return self._snapshot
        finally:
            self._lock.release()

    def invalidate(self) -> None:
        """Check the database on the next `get()`."""
        self._checked = 0.0

    def _refresh(self) -> None:
        from campaign_engine.recommend.ruleset import load_snapshot

        with self.engine.connect() as connection:
            stamp = tuple(connection.execute(STAMP_SQL, {"yes": True}).one())
        if self._snapshot is None or stamp != self._stamp:
            started = time.perf_counter()
            with self.engine.connect() as connection:
                self._snapshot = load_snapshot(connection, stamp[0], stamp)
            log.info(
                "rule set %s loaded in %.3fs", self._snapshot.version, time.perf_counter() - started
            )
            self._stamp = stamp
        self._checked = time.monotonic()
