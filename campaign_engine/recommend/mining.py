"""Mine association rules from baskets: the scikit-learn-style `AssociationRules` estimator.

Baskets are a list of item lists (any hashable items) or a scipy.sparse basket matrix (rows
baskets, columns items; a stored non-zero entry means present, so quantities count once).
Frequent itemsets come from FP-growth (`fpgrowth.py`), rules and their metrics from
`rules.py`. See docs/recommendations.md, "Mining rules".
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from numbers import Integral, Real
from typing import Any, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp  # type: ignore[import-untyped]

from campaign_engine.errors import InvalidInput, Problem
from campaign_engine.recommend.fpgrowth import Itemsets, frequent_itemsets
from campaign_engine.recommend.rules import generate_rules, rule_metrics

RULE_COLUMNS = (
    "antecedents",
    "consequents",
    "antecedent_support",
    "consequent_support",
    "support",
    "confidence",
    "lift",
    "leverage",
    "conviction",
    "count",
)
ITEMSET_COLUMNS = ("itemsets", "support", "count")
_PARAMS = ("min_support", "min_confidence", "min_lift", "max_len")


class AssociationRules:
    """Find the rules A → C that hold in enough baskets, often enough, above the base rate.

    min_support: a float in (0, 1] is a share of the baskets (an itemset is frequent when
    count / N >= min_support); an int >= 1 is a number of baskets. Never both: 10 means ten
    baskets, 0.1 means a tenth of them.
    min_confidence: keep rules with confidence >= this (0 to 1).
    min_lift: keep rules with lift >= this (0 keeps all; 1 keeps those above the base rate).
    max_len: the most items in a rule, antecedent and consequent together (2 or more; None
    for no limit).

    Fitted attributes: `rules_` and `itemsets_` (DataFrames), `items_` (the item labels, in
    column order), `item_counts_` (baskets holding each item), `n_baskets_`, `min_count_`
    (min_support as a basket count).
    """

    def __init__(
        self,
        min_support: float | int = 0.01,
        min_confidence: float = 0.1,
        min_lift: float = 0.0,
        max_len: int | None = 3,
    ) -> None:
        self.min_support = min_support
        self.min_confidence = min_confidence
        self.min_lift = min_lift
        self.max_len = max_len

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the constructor parameters (scikit-learn protocol)."""
        return {name: getattr(self, name) for name in _PARAMS}

    def set_params(self, **params: Any) -> Self:
        """Set constructor parameters (scikit-learn protocol); return self."""
        unknown = [name for name in params if name not in _PARAMS]
        if unknown:
            raise InvalidInput(
                "unknown parameters", [Problem(name, "is not a parameter") for name in unknown]
            )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def fit(self, baskets: Any, y: None = None, *, items: Sequence[Hashable] | None = None) -> Self:
        """Mine the frequent itemsets and rules of `baskets`; return self.

        `items` labels the columns of a basket matrix (default: the column numbers); item
        lists are labelled by their own items. Raises `InvalidInput` naming each bad
        parameter, or the baskets when they cannot be read or there are none.
        """
        problems = parameter_problems(self.get_params())
        if problems:
            raise InvalidInput("cannot mine with these parameters", problems)
        matrix, labels = basket_matrix(baskets, items)
        n = matrix.shape[0]
        min_count = basket_count(self.min_support, n)
        found = frequent_itemsets(matrix, min_count, self.max_len)
        self.n_baskets_ = n
        self.min_count_ = min_count
        self.items_ = labels
        self.item_counts_ = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.int64)
        self.itemsets_ = _itemset_frame(found, labels, n)
        self.rules_ = _rule_frame(
            found, labels, n, float(self.min_confidence), float(self.min_lift)
        )
        return self


def parameter_problems(params: dict[str, Any]) -> list[Problem]:
    """Return every problem with these thresholds, each naming its parameter."""
    problems = []
    support = params["min_support"]
    if _is_int(support):
        if support < 1:
            problems.append(Problem("min_support", "a count of baskets must be 1 or more"))
    elif _is_real(support):
        if not 0 < float(support) <= 1:
            problems.append(
                Problem(
                    "min_support",
                    "a share of baskets must be above 0 and at most 1 "
                    "(give an int for a number of baskets)",
                )
            )
    else:
        problems.append(Problem("min_support", "must be a share (0 to 1] or a count (int >= 1)"))
    confidence = params["min_confidence"]
    if not _is_real(confidence) or not 0 <= float(confidence) <= 1:
        problems.append(Problem("min_confidence", "must be a number from 0 to 1"))
    lift = params["min_lift"]
    if not _is_real(lift) or not 0 <= float(lift) < math.inf:
        problems.append(Problem("min_lift", "must be a number from 0 up (1 = the base rate)"))
    max_len = params["max_len"]
    if max_len is not None and (not _is_int(max_len) or max_len < 2):
        problems.append(Problem("max_len", "must be an int of 2 or more, or None for no limit"))
    return problems


def basket_count(min_support: float | int, n_baskets: int) -> int:
    """Return the fewest baskets an itemset needs to be frequent under `min_support`."""
    if _is_int(min_support):
        return int(min_support)
    share = float(min_support)
    # The least count c with c / N >= share, compared as the support itself is computed.
    count = max(math.ceil(share * n_baskets), 1)
    while count > 1 and (count - 1) / n_baskets >= share:
        count -= 1
    while count / n_baskets < share:
        count += 1
    return count


def basket_matrix(
    baskets: Any, items: Sequence[Hashable] | None = None
) -> tuple[sp.csr_matrix, list[Hashable]]:
    """Return `baskets` as a canonical 0/1 CSR matrix and the label of each column."""
    if sp.issparse(baskets):
        return _from_sparse(baskets, items)
    if items is not None:
        raise InvalidInput(
            "cannot read the baskets", [Problem("items", "labels only go with a basket matrix")]
        )
    if isinstance(baskets, str | bytes | np.ndarray | pd.DataFrame) or not isinstance(
        baskets, Iterable
    ):
        raise InvalidInput(
            "cannot read the baskets",
            [Problem("baskets", "give a list of item lists or a scipy.sparse basket matrix")],
        )
    return _from_lists(baskets)


def _from_sparse(
    baskets: Any, items: Sequence[Hashable] | None
) -> tuple[sp.csr_matrix, list[Hashable]]:
    matrix = sp.csr_matrix(baskets)
    n_rows, n_columns = matrix.shape
    problems = []
    if n_rows == 0:
        problems.append(Problem("baskets", "there are no baskets to mine"))
    data = matrix.data
    if data.dtype.kind not in "biuf" or np.isnan(data).any() or (data < 0).any():
        problems.append(Problem("baskets", "entries must be 0 (absent) or positive (present)"))
    labels: list[Hashable] = list(range(n_columns))
    if items is not None:
        labels = items.tolist() if isinstance(items, np.ndarray) else list(items)
        if len(labels) != n_columns:
            problems.append(
                Problem("items", f"{len(labels)} labels for {n_columns} columns of baskets")
            )
        elif len(set(labels)) != len(labels):
            problems.append(Problem("items", "labels must be distinct"))
    if problems:
        raise InvalidInput("cannot read the baskets", problems)
    present = sp.csr_matrix(
        (data != 0, matrix.indices, matrix.indptr), shape=matrix.shape, dtype=bool
    )
    present.eliminate_zeros()
    present.sum_duplicates()
    return present, labels


def _from_lists(baskets: Iterable[Any]) -> tuple[sp.csr_matrix, list[Hashable]]:
    column: dict[Hashable, int] = {}
    indices: list[int] = []
    indptr = [0]
    for number, basket in enumerate(baskets):
        if isinstance(basket, str | bytes) or not isinstance(basket, Iterable):
            raise InvalidInput(
                "cannot read the baskets",
                [Problem(f"baskets[{number}]", "must be a list of items, not a single value")],
            )
        try:
            row = {column.setdefault(item, len(column)) for item in basket}
        except TypeError as error:
            raise InvalidInput(
                "cannot read the baskets",
                [Problem(f"baskets[{number}]", f"items must be hashable ({error})")],
            ) from error
        indices.extend(sorted(row))
        indptr.append(len(indices))
    if len(indptr) == 1:
        raise InvalidInput(
            "cannot read the baskets", [Problem("baskets", "there are no baskets to mine")]
        )
    matrix = sp.csr_matrix(
        (np.ones(len(indices), dtype=bool), np.asarray(indices, dtype=np.int64), indptr),
        shape=(len(indptr) - 1, len(column)),
    )
    return matrix, list(column)


def _itemset_frame(found: list[Itemsets], labels: list[Hashable], n: int) -> pd.DataFrame:
    sets: list[frozenset[Hashable]] = []
    for part in found:
        sets += [frozenset(labels[i] for i in row) for row in part.items.tolist()]
    counts = np.concatenate([p.counts for p in found]) if found else np.zeros(0, np.int64)
    frame = pd.DataFrame({"itemsets": sets, "support": counts / n, "count": counts})
    return frame.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)


def _rule_frame(
    found: list[Itemsets],
    labels: list[Hashable],
    n: int,
    min_confidence: float,
    min_lift: float,
) -> pd.DataFrame:
    rules = generate_rules(found, n, min_confidence, min_lift)
    metrics = rule_metrics(rules.count, rules.antecedent_count, rules.consequent_count, n)
    frame = pd.DataFrame(
        {
            "antecedents": [frozenset(labels[i] for i in a) for a in rules.antecedents],
            "consequents": [frozenset(labels[i] for i in c) for c in rules.consequents],
            **metrics,
            "count": rules.count,
        },
        columns=list(RULE_COLUMNS),
    )
    order = np.lexsort((-frame["support"], -frame["confidence"], -frame["lift"]))
    return frame.iloc[order].reset_index(drop=True)


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool | np.bool_)


def _is_real(value: Any) -> bool:
    return (
        isinstance(value, Real)
        and not isinstance(value, bool | np.bool_)
        and not math.isnan(float(value))
    )
