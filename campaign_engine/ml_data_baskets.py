"""Read baskets from the orders for `recommend/`: a sparse basket matrix and its item labels.

A basket is one order (`per="order"`) or everything one contact bought over the window
(`per="customer"`); its items are products (`level="product"`, labelled by product id) or
their categories (`level="category"`, labelled by name). Only lines with a positive quantity
count, each item once per basket however many lines or units hold it. Orders are those with
`since <= ordered_at < until` (either bound may be left open). Rows follow ascending order id
or contact id; columns ascending product id or category name. Baskets without any line are
not rows: the matrix has one row per basket holding at least one item.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.errors import InvalidInput, Problem
from campaign_engine.models import Order, OrderLine, Product

LEVELS = ("product", "category")
PER = ("order", "customer")
FETCH_ROWS = 50_000


class Baskets(NamedTuple):
    """Rows are baskets, columns items (labels[j] names column j); stored entries are True."""

    matrix: sp.csr_matrix
    labels: list[Any]


def baskets(
    session: Session,
    *,
    level: str = "product",
    per: str = "order",
    since: datetime | None = None,
    until: datetime | None = None,
) -> Baskets:
    """Return the baskets of the orders placed in [since, until) as a 0/1 CSR matrix.

    Raises `InvalidInput` naming `level`, `per`, `since` or `until` when one is unknown,
    naive, or the window is empty.
    """
    problems = _problems(level, per, since, until)
    if problems:
        raise InvalidInput("cannot read baskets", problems)
    key = Order.id if per == "order" else Order.contact_id
    item = OrderLine.product_id if level == "product" else Product.category
    stmt = (
        select(key, item)
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.quantity > 0)
        .distinct()
    )
    if level == "category":
        stmt = stmt.join(Product, Product.id == OrderLine.product_id)
    if since is not None:
        stmt = stmt.where(Order.ordered_at >= since.astimezone(UTC))
    if until is not None:
        stmt = stmt.where(Order.ordered_at < until.astimezone(UTC))
    keys: list[int] = []
    items: list[Any] = []
    result = session.execute(stmt.execution_options(yield_per=FETCH_ROWS))
    for part in result.partitions():
        for basket, thing in part:
            keys.append(basket)
            items.append(thing)
    return _matrix(keys, items)


def _matrix(keys: list[int], items: list[Any]) -> Baskets:
    rows, _ = pd.factorize(np.asarray(keys, dtype=np.int64), sort=True)
    columns, labels = pd.factorize(pd.Series(items, dtype=object), sort=True)
    matrix = sp.csr_matrix(
        (np.ones(len(rows), dtype=bool), (rows, columns)),
        shape=(int(rows.max()) + 1 if len(rows) else 0, len(labels)),
    )
    matrix.sum_duplicates()
    return Baskets(matrix, [_plain(label) for label in labels])


def _plain(label: Any) -> Any:
    return label.item() if isinstance(label, np.generic) else label


def _problems(
    level: str, per: str, since: datetime | None, until: datetime | None
) -> list[Problem]:
    problems = []
    if level not in LEVELS:
        problems.append(Problem("level", f"use one of {', '.join(LEVELS)}"))
    if per not in PER:
        problems.append(Problem("per", f"use one of {', '.join(PER)}"))
    for name, bound in (("since", since), ("until", until)):
        if bound is not None and bound.tzinfo is None:
            problems.append(Problem(name, "must be an aware datetime (with a time zone)"))
    if not problems and since is not None and until is not None and since >= until:
        problems.append(Problem("since", "must be before until"))
    return problems
