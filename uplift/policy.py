"""Turn uplift scores into contact decisions: net value, budgets, best treatment, policy curve."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from uplift.errors import UpliftError

FloatArray = npt.NDArray[np.float64]


def _scores(uplift: Any) -> FloatArray:
    values = np.asarray(uplift, dtype=float)
    if values.ndim != 1:
        raise UpliftError(f"uplift must be one score per row, got shape {values.shape}")
    if not np.isfinite(values).all():
        raise UpliftError("uplift has missing or infinite values")
    return values


def _per_row(values: Any, name: str, n_rows: int) -> FloatArray:
    array = (
        np.broadcast_to(np.asarray(values, dtype=float), (n_rows,))
        if np.ndim(values) == 0
        else np.asarray(values, dtype=float)
    )
    if array.shape != (n_rows,):
        raise UpliftError(
            f"{name} must be a number or one value per row ({n_rows}), got shape {array.shape}"
        )
    return np.asarray(array, dtype=float)


def net_value(uplift: Any, value: Any, cost: Any) -> FloatArray:
    """Return uplift x value - cost per row (the expected profit of contacting the row)."""
    scores = _scores(uplift)
    return scores * _per_row(value, "value", len(scores)) - _per_row(cost, "cost", len(scores))


def contact_mask(uplift: Any, value: Any, cost: Any) -> npt.NDArray[np.bool_]:
    """Return True for rows worth contacting: uplift x value - cost > 0."""
    return net_value(uplift, value, cost) > 0


def select_under_budget(
    uplift: Any,
    value: Any,
    cost: Any,
    *,
    budget: float | None = None,
    max_contacts: int | None = None,
) -> npt.NDArray[np.bool_]:
    """Return the rows to contact: best net value first, only profitable ones, within limits.

    Rows are taken in descending net value (ties in input order); a row whose cost would exceed
    the remaining ``budget`` is skipped and cheaper rows after it may still fit. ``max_contacts``
    caps the count. Rows with net value <= 0 are never contacted.
    """
    net = net_value(uplift, value, cost)
    costs = _per_row(cost, "cost", len(net))
    if budget is not None and budget < 0:
        raise UpliftError(f"budget must not be negative, got {budget}")
    if max_contacts is not None and max_contacts < 0:
        raise UpliftError(f"max_contacts must not be negative, got {max_contacts}")
    order = np.argsort(-net, kind="stable")
    order = order[net[order] > 0]
    if max_contacts is not None:
        order = order[:max_contacts] if budget is None else order
    chosen = np.zeros(len(net), dtype=bool)
    if budget is None:
        chosen[order] = True
        return chosen
    remaining, taken = float(budget), 0
    for row in order:
        if max_contacts is not None and taken >= max_contacts:
            break
        if costs[row] <= remaining:
            chosen[row] = True
            remaining -= costs[row]
            taken += 1
    return chosen


@dataclass(frozen=True)
class TreatmentChoice:
    """Per row: the treatment to send (the control label for no contact) and its net value."""

    treatment: npt.NDArray[np.object_]
    net_value: FloatArray
    uplift: FloatArray


def best_treatment(
    uplift: Any,
    treatments: Sequence[Hashable],
    value: Any,
    cost: Any,
    *,
    control: Hashable = 0,
) -> TreatmentChoice:
    """Choose per row the treatment with the best uplift x value - cost; none if no net gain.

    ``uplift`` has shape (n_rows, n_treatments), columns in ``treatments`` order (as
    ``UpliftClassifier.predict`` returns). ``value`` and ``cost`` are numbers, one per treatment,
    or arrays of shape (n_rows, n_treatments).
    """
    scores = np.asarray(uplift, dtype=float)
    if scores.ndim == 1:
        scores = scores[:, None]
    if scores.ndim != 2 or scores.shape[1] != len(treatments):
        raise UpliftError(
            f"uplift must have one column per treatment ({len(treatments)}), "
            f"got shape {scores.shape}"
        )
    values = np.broadcast_to(np.asarray(value, dtype=float), scores.shape)
    costs = np.broadcast_to(np.asarray(cost, dtype=float), scores.shape)
    net = scores * values - costs
    best = np.argmax(net, axis=1)
    rows = np.arange(len(scores))
    best_net = net[rows, best]
    labels = np.empty(len(scores), dtype=object)
    labels[:] = [treatments[i] for i in best]
    labels[best_net <= 0] = control
    return TreatmentChoice(
        treatment=labels,
        net_value=np.where(best_net > 0, best_net, 0.0),
        uplift=np.where(best_net > 0, scores[rows, best], 0.0),
    )


def policy_curve(uplift: Any, value: Any, cost: Any) -> pd.DataFrame:
    """Return expected incremental conversions and profit at every share contacted.

    Rows are contacted in descending net value (uplift x value - cost). Columns: contacts,
    share, incremental_conversions (sum of predicted uplift of those contacted), cost, profit
    (sum of net value). The first row is nobody contacted.
    """
    scores = _scores(uplift)
    net = net_value(scores, value, cost)
    costs = _per_row(cost, "cost", len(scores))
    order = np.argsort(-net, kind="stable")
    n = len(scores)
    return pd.DataFrame(
        {
            "contacts": np.arange(n + 1),
            "share": np.arange(n + 1) / n if n else np.zeros(1),
            "incremental_conversions": np.concatenate([[0.0], np.cumsum(scores[order])]),
            "cost": np.concatenate([[0.0], np.cumsum(costs[order])]),
            "profit": np.concatenate([[0.0], np.cumsum(net[order])]),
        }
    )


def best_share(curve: pd.DataFrame) -> float:
    """Return the share contacted at which a policy curve's profit peaks (0 if it never pays)."""
    return float(curve["share"].iloc[int(np.argmax(curve["profit"].to_numpy()))])
