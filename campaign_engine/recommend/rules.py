"""Turn frequent itemsets into rules A → C with support, confidence, lift, leverage, conviction.

Every metric is a ratio of exact basket counts, divided once in floating point, so it is the
correctly rounded value of its definition (for up to ~67M baskets, where the products of
counts stay below 2**53). With N baskets, n(X) the baskets holding all of X, and AC the items
of A and C together:

    support(A → C)    = n(AC) / N
    confidence(A → C) = n(AC) / n(A)                 = support(AC) / support(A)
    lift(A → C)       = confidence / support(C)      = n(AC)·N / (n(A)·n(C))
    leverage(A → C)   = support(AC) - support(A)·support(C)
    conviction(A → C) = (1 - support(C)) / (1 - confidence), infinite when confidence is 1
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt

from campaign_engine.recommend.fpgrowth import Itemsets

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RuleArrays:
    """Rules as parallel arrays; antecedents and consequents as lists of column tuples."""

    antecedents: list[tuple[int, ...]]
    consequents: list[tuple[int, ...]]
    count: Ints
    antecedent_count: Ints
    consequent_count: Ints

    def __len__(self) -> int:
        return len(self.count)


def rule_metrics(
    count: Ints, antecedent_count: Ints, consequent_count: Ints, n_baskets: int
) -> dict[str, Floats]:
    """Return every metric of rules with these basket counts, out of `n_baskets` baskets."""
    n = np.int64(n_baskets)
    both, a, c = count, antecedent_count, consequent_count
    unsure = a - both  # baskets with A but not C
    with np.errstate(divide="ignore", invalid="ignore"):
        conviction = np.where(unsure > 0, ((n - c) * a) / (n * unsure), np.inf)
    return {
        "antecedent_support": a / n,
        "consequent_support": c / n,
        "support": both / n,
        "confidence": both / a,
        "lift": (both * n) / (a * c),
        "leverage": (both * n - a * c) / (n * n),
        "conviction": conviction.astype(np.float64),
    }


def generate_rules(
    itemsets: list[Itemsets], n_baskets: int, min_confidence: float, min_lift: float
) -> RuleArrays:
    """Return every rule A → C from the frequent itemsets that clears both thresholds.

    Each itemset of two or more items gives one candidate rule per way of splitting it into a
    non-empty antecedent and consequent; their counts are looked up among the smaller itemsets
    (every subset of a frequent itemset is frequent).
    """
    lookups = [_Lookup(s) for s in itemsets]
    antecedents: list[tuple[int, ...]] = []
    consequents: list[tuple[int, ...]] = []
    counts: list[Ints] = []
    a_counts: list[Ints] = []
    c_counts: list[Ints] = []
    n = np.int64(n_baskets)
    for found in itemsets[1:]:
        size = found.items.shape[1]
        for a_size in range(1, size):
            for left in combinations(range(size), a_size):
                right = tuple(p for p in range(size) if p not in left)
                a_items, c_items = found.items[:, left], found.items[:, right]
                a = lookups[a_size - 1].counts_of(a_items)
                c = lookups[size - a_size - 1].counts_of(c_items)
                both = found.counts
                # The thresholds, as the metrics: one correctly rounded division each.
                keep = (both / a >= min_confidence) & ((both * n) / (a * c) >= min_lift)
                antecedents += [tuple(r) for r in a_items[keep].tolist()]
                consequents += [tuple(r) for r in c_items[keep].tolist()]
                counts.append(both[keep])
                a_counts.append(a[keep])
                c_counts.append(c[keep])
    empty = np.zeros(0, np.int64)
    return RuleArrays(
        antecedents,
        consequents,
        np.concatenate(counts) if counts else empty,
        np.concatenate(a_counts) if a_counts else empty,
        np.concatenate(c_counts) if c_counts else empty,
    )


class _Lookup:
    """Finds the basket counts of itemsets of one size by binary search over sorted keys."""

    def __init__(self, itemsets: Itemsets) -> None:
        keys = _keys(itemsets.items)
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]
        self.counts = itemsets.counts[order]

    def counts_of(self, items: Ints) -> Ints:
        keys = _keys(items)
        at = np.searchsorted(self.keys, keys)
        at = np.minimum(at, len(self.keys) - 1)
        if len(keys) and not (self.keys[at] == keys).all():
            raise AssertionError("a subset of a frequent itemset is missing")
        counts: Ints = self.counts[at]
        return counts


def _keys(items: Ints) -> npt.NDArray[np.void]:
    # Big-endian bytes of non-negative ints compare like the ints: one sortable key per row.
    rows = np.ascontiguousarray(items.astype(">i8"))
    return rows.view(f"V{8 * rows.shape[1]}").ravel()
