"""Generate seeded customer-like data with a known per-row treatment effect."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd


@dataclass(frozen=True)
class SyntheticUplift:
    """Features, outcomes, treatment labels (0 control, 1..k) and each row's true effects."""

    X: pd.DataFrame
    y: npt.NDArray[np.int64]
    treatment: npt.NDArray[np.int64]
    effect: npt.NDArray[np.float64]  # shape (n_rows, n_treatments): true uplift per treatment


def make_uplift_data(n_rows: int, *, seed: int, n_treatments: int = 1) -> SyntheticUplift:
    """Return a randomised experiment with persuadables, sure things and sleeping dogs.

    Columns: ``age`` (numeric), ``spend`` (numeric with gaps), ``region`` (string),
    ``channel`` (categorical), ``member`` (boolean). Treatment 1's effect ranges from about
    -0.2 to +0.2 (negative for members outside the north with low ``age``); treatment 2's, when
    asked for, favours the sms channel. Control and treatments are assigned with equal shares.
    """
    rng = np.random.default_rng(seed)
    age = rng.normal(size=n_rows)
    spend = rng.gamma(2.0, 50.0, size=n_rows)
    spend[rng.random(n_rows) < 0.05] = np.nan
    region = rng.choice(["north", "south", "east", "west"], size=n_rows)
    channel = pd.Categorical(rng.choice(["email", "sms", "web"], size=n_rows, p=[0.5, 0.3, 0.2]))
    member = rng.random(n_rows) < 0.3
    X = pd.DataFrame(
        {"age": age, "spend": spend, "region": region, "channel": channel, "member": member}
    )
    spend_filled = np.nan_to_num(spend, nan=100.0)
    base = 0.12 + 0.08 * np.tanh((spend_filled - 100.0) / 60.0) + 0.05 * member
    effects = [0.12 * np.tanh(1.5 * age) + 0.08 * (region == "north") - 0.06 * member]
    if n_treatments >= 2:
        effects.append(0.15 * (np.asarray(channel) == "sms") - 0.05 + 0.05 * np.tanh(age))
    for extra in range(2, n_treatments):
        effects.append(0.05 * np.tanh(age + extra) - 0.02)
    effect = np.column_stack(effects)
    treatment = rng.integers(0, n_treatments + 1, size=n_rows)
    assigned = np.where(treatment > 0, effect[np.arange(n_rows), np.maximum(treatment - 1, 0)], 0.0)
    probability = np.clip(base + assigned, 0.01, 0.99)
    y = (rng.random(n_rows) < probability).astype(np.int64)
    return SyntheticUplift(X=X, y=y, treatment=treatment.astype(np.int64), effect=effect)
