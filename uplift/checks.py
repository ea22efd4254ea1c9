"""Validate training inputs and say exactly what is missing before any model is fitted."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from uplift.errors import UpliftError

#: Fewest rows each arm (control and every treatment) must have to fit a model.
MIN_ROWS_PER_ARM = 50


@dataclass(frozen=True)
class Arms:
    """Treatment labels of a training set: the control and the treatments in sorted order."""

    control: Hashable
    treatments: tuple[Hashable, ...]
    codes: npt.NDArray[np.int64]  # 0 for control, i + 1 for treatments[i]


def as_vector(values: Any, name: str, n_rows: int) -> npt.NDArray[Any]:
    """Return values as a 1-D array of n_rows, or raise UpliftError."""
    if values is None:
        raise UpliftError(f"{name} is required")
    array = np.asarray(values)
    if array.ndim != 1:
        raise UpliftError(f"{name} must be one-dimensional, got shape {array.shape}")
    if len(array) != n_rows:
        raise UpliftError(f"{name} has {len(array)} values but X has {n_rows} rows")
    if pd.isna(array).any():
        raise UpliftError(f"{name} has missing values")
    return array


def check_arms(treatment: npt.NDArray[Any], control: Hashable) -> Arms:
    """Split labels into control and treatments; require both and enough rows in each arm."""
    labels = pd.unique(treatment)
    if control not in set(labels.tolist()):
        raise UpliftError(
            f"no holdout: no row has the control label {control!r} in treatment; uplift needs "
            "contacts who were not treated (the campaign's holdout) to compare against"
        )
    treatments = tuple(sorted((v for v in labels.tolist() if v != control), key=str))
    if not treatments:
        raise UpliftError(
            f"no treated rows: every row has the control label {control!r}; uplift needs "
            "treated contacts as well as a holdout"
        )
    codes = np.zeros(len(treatment), dtype=np.int64)
    for i, label in enumerate(treatments):
        codes[treatment == label] = i + 1
    counts = np.bincount(codes, minlength=len(treatments) + 1)
    names = [control, *treatments]
    small = [f"{names[i]!r}: {int(c)} rows" for i, c in enumerate(counts) if c < MIN_ROWS_PER_ARM]
    if small:
        raise UpliftError(
            f"too few rows per arm (at least {MIN_ROWS_PER_ARM} needed in the control and in "
            "each treatment): " + "; ".join(small)
        )
    return Arms(control=control, treatments=treatments, codes=codes)


def check_binary_outcome(y: npt.NDArray[Any], arms: Arms) -> npt.NDArray[np.float64]:
    """Require 0/1 outcomes with both classes present in every arm."""
    values = set(pd.unique(y).tolist())
    if not values <= {0, 1}:  # True and False compare equal to 1 and 0
        shown = sorted(map(str, values))[:5]
        raise UpliftError(f"y must be 0/1 for UpliftClassifier, got values {shown}")
    numbers = y.astype(float)
    if len(set(numbers.tolist())) < 2:
        only = int(numbers[0])
        raise UpliftError(
            f"y has a single outcome class (every row is {only}); uplift needs both converters "
            "(1) and non-converters (0)"
        )
    names = [arms.control, *arms.treatments]
    one_class = []
    for code, name in enumerate(names):
        arm = numbers[arms.codes == code]
        if arm.min() == arm.max():
            one_class.append(f"arm {name!r} (every row is {int(arm[0])})")
    if one_class:
        raise UpliftError(
            "single outcome class within an arm, so its response cannot be modelled: "
            + ", ".join(one_class)
        )
    return numbers


def check_continuous_outcome(y: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Require finite numeric outcomes that vary."""
    try:
        numbers = y.astype(float)
    except (TypeError, ValueError) as exc:
        raise UpliftError("y must be numeric for UpliftRegressor") from exc
    if not np.isfinite(numbers).all():
        raise UpliftError("y has infinite values")
    if numbers.min() == numbers.max():
        raise UpliftError(f"y is constant ({numbers[0]}); there is no outcome to model")
    return numbers


def check_known(name: str, choices: Sequence[str], what: str) -> None:
    """Raise UpliftError naming the valid choices when name is not one of them."""
    if name not in choices:
        raise UpliftError(f"unknown {what} {name!r}; choose one of: " + ", ".join(choices))
